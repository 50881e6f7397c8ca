package io.mailgate.send;

import io.mailgate.SesException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes header fields to RFC 5322: non-ASCII text as RFC 2047 encoded words, lines folded at
 * whitespace to stay within 78 characters where possible and never beyond 998.
 */
final class HeaderWriter {
  private static final int SOFT_LIMIT = 78;
  private static final int HARD_LIMIT = 998;

  private final ByteSink out;

  HeaderWriter(ByteSink out) {
    this.out = out;
  }

  /** A header whose value we produced ourselves and know to be safe ASCII (Date, Message-ID...). */
  void raw(String name, String value) {
    out.ascii(name).ascii(": ").ascii(value).crlf();
  }

  /** Free text (Subject, custom headers): encoded when it is not plain ASCII. */
  void unstructured(String name, String value, Charset charset) {
    List<String> tokens;
    if (EncodedWords.isPlainAscii(value) && fitsWhenFolded(value)) {
      tokens = splitWords(value);
    } else {
      tokens = encode(value, charset, false, name, firstWordMax(name));
    }
    fold(name, tokens);
  }

  /**
   * A custom header's printable-ASCII value as given (an encoded word of the caller's is theirs to write), folded at
   * its spaces where it can be, else on one line: a name and value of 996 together fit in 998.
   */
  void asGiven(String name, String value) {
    if (!value.isEmpty() && fitsWhenFolded(value)) {
      fold(name, splitWords(value));
    } else {
      raw(name, value);
    }
  }

  void addressList(String name, List<Mailbox> mailboxes) {
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < mailboxes.size(); i++) {
      Mailbox m = mailboxes.get(i);
      if (m.displayName() != null) {
        tokens.addAll(phrase(m.displayName(), name, i == 0 ? firstWordMax(name) : SOFT_LIMIT - 1));
      }
      String addr = m.displayName() == null ? m.address() : "<" + m.address() + ">";
      tokens.add(i + 1 < mailboxes.size() ? addr + "," : addr);
    }
    fold(name, tokens);
  }

  /** Room for the first word on the line that starts with "Name: ". */
  private static int firstWordMax(String name) {
    return Math.max(30, SOFT_LIMIT - name.length() - 2);
  }

  private static List<String> phrase(String displayName, String headerName, int firstWordMax) {
    boolean atoms = true;
    for (int i = 0; i < displayName.length(); i++) {
      char c = displayName.charAt(i);
      if (c > 0x7e || c < 0x20) {
        return encode(displayName, StandardCharsets.UTF_8, true, headerName, firstWordMax);
      }
      if (c != ' ' && !MailboxParser.isAtext(c)) {
        atoms = false;
      }
    }
    if (displayName.contains("=?") || displayName.length() > 500) {
      return encode(displayName, StandardCharsets.UTF_8, true, headerName, firstWordMax);
    }
    if (atoms) {
      return splitWords(displayName);
    }
    String quoted = quote(displayName);
    // a quoted string is one token, never folded: escaped quotes and backslashes can double the name, and the line
    // must stay within 998 octets (RFC 5322 2.1.1) with the header's name and the address after it
    return quoted.length() > 500 ? encode(displayName, StandardCharsets.UTF_8, true, headerName, firstWordMax)
        : List.of(quoted);
  }

  /** An RFC 5322 quoted-string: the text in double quotes, with '"' and '\\' escaped. */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\');
      }
      sb.append(c);
    }
    return sb.append('"').toString();
  }

  private static List<String> encode(String value, Charset charset, boolean phrase, String headerName,
      int firstWordMax) {
    try {
      return EncodedWords.encode(value, charset, phrase, firstWordMax);
    } catch (CharacterCodingException e) {
      throw SesException.badRequest("The " + headerName + " cannot be encoded in charset " + charset.name() + ".");
    }
  }

  /**
   * Whether every token of {@link #splitWords} (a word with the spaces before it) fits on a line, and no folded line
   * would hold only spaces (trailing spaces would be such a token: RFC 5322 section 3.2.2 allows that line only in
   * the obsolete syntax). Otherwise the value is written as encoded words.
   */
  private static boolean fitsWhenFolded(String value) {
    if (value.endsWith(" ")) {
      return false;
    }
    int run = 0;
    for (int i = 0; i < value.length(); i++) {
      boolean boundary = value.charAt(i) == ' ' && i > 0 && value.charAt(i - 1) != ' ';
      run = boundary ? 1 : run + 1;
      if (run > HARD_LIMIT - 100) {
        return false;
      }
    }
    return true;
  }

  private static List<String> splitWords(String value) {
    List<String> words = new ArrayList<>();
    int start = 0;
    // keep runs of spaces inside the following word so the text survives unfolding unchanged
    for (int i = 1; i <= value.length(); i++) {
      if (i == value.length() || (value.charAt(i) == ' ' && value.charAt(i - 1) != ' ')) {
        words.add(value.substring(start, i));
        start = i;
      }
    }
    return words;
  }

  /**
   * Writes {@code name: } and the tokens. Tokens from {@link #splitWords} carry their own leading
   * space; other tokens are joined with one space. A fold is CRLF followed by the token's space.
   */
  private void fold(String name, List<String> tokens) {
    out.ascii(name).ascii(":");
    int col = name.length() + 1;
    boolean first = true;
    for (String t : tokens) {
      String token = t.startsWith(" ") ? t : " " + t;
      // a first token that does not fit after the name goes on its own line ("Subject:" CRLF SP ...)
      if (!first && col + token.length() > SOFT_LIMIT) {
        out.crlf();
        col = 0;
      }
      out.ascii(token);
      col += token.length();
      first = false;
    }
    out.crlf();
  }
}
