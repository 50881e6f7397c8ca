package io.mailgate.send;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * RFC 2047 encoded words for non-ASCII header text. Each word is at most 75 characters and never
 * splits a character's bytes across words. Q encoding is chosen for mostly-ASCII text (readable in
 * raw form), B encoding otherwise.
 */
final class EncodedWords {
  private static final int MAX_WORD = 75;
  private static final byte[] HEX = "0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private EncodedWords() {}

  /** True when {@code s} can be written as-is in an unstructured header. */
  static boolean isPlainAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return !s.contains("=?");
  }

  /**
   * Encodes {@code text} as a list of encoded words in {@code charset}.
   *
   * @param phrase true inside a phrase (display names), where Q encoding must also escape specials
   */
  static List<String> encode(String text, Charset charset, boolean phrase) throws CharacterCodingException {
    return encode(text, charset, phrase, MAX_WORD);
  }

  /**
   * As {@link #encode(String, Charset, boolean)}, with the first word at most {@code firstWordMax}
   * characters, so it fits on the line after the header name.
   */
  static List<String> encode(String text, Charset charset, boolean phrase, int firstWordMax)
      throws CharacterCodingException {
    int nonAscii = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c > 0x7e || c < 0x20) {
        nonAscii++;
      }
    }
    boolean q = nonAscii * 3 < text.length();
    String prefix = "=?" + charset.name() + (q ? "?Q?" : "?B?");
    int overhead = prefix.length() + 2;
    int budget = Math.max(4, Math.min(MAX_WORD, firstWordMax) - overhead);
    CharsetEncoder encoder = charset.newEncoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    List<String> words = new ArrayList<>();
    ByteSink current = new ByteSink(64);
    int currentLen = 0;
    int i = 0;
    while (i < text.length()) {
      int cp = text.codePointAt(i);
      int n = Character.charCount(cp);
      ByteBuffer bytes = encoder.encode(CharBuffer.wrap(text, i, i + n));
      byte[] b = new byte[bytes.remaining()];
      bytes.get(b);
      int len = q ? qLength(b, phrase) : 0;
      int after = q ? currentLen + len : ((current.size() + b.length + 2) / 3) * 4;
      if (after > budget && current.size() > 0) {
        words.add(finish(prefix, current.toByteArray(), q, phrase));
        current = new ByteSink(64);
        currentLen = 0;
        budget = MAX_WORD - overhead;
      }
      current.append(b);
      currentLen += len;
      i += n;
    }
    if (current.size() > 0 || words.isEmpty()) {
      words.add(finish(prefix, current.toByteArray(), q, phrase));
    }
    return words;
  }

  private static int qLength(byte[] b, boolean phrase) {
    int len = 0;
    for (byte x : b) {
      len += qSafe(x, phrase) ? 1 : 3;
    }
    return len;
  }

  private static boolean qSafe(byte x, boolean phrase) {
    if (x == ' ') {
      return true; // written as '_'
    }
    if (x < 0x21 || x > 0x7e || x == '=' || x == '?' || x == '_') {
      return false;
    }
    if (phrase) {
      return (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9')
          || x == '!' || x == '*' || x == '+' || x == '-' || x == '/';
    }
    return true;
  }

  private static String finish(String prefix, byte[] data, boolean q, boolean phrase) {
    StringBuilder sb = new StringBuilder(prefix);
    if (q) {
      for (byte x : data) {
        if (x == ' ') {
          sb.append('_');
        } else if (qSafe(x, phrase)) {
          sb.append((char) x);
        } else {
          sb.append('=').append((char) HEX[(x >> 4) & 0xf]).append((char) HEX[x & 0xf]);
        }
      }
    } else {
      sb.append(Base64.getEncoder().encodeToString(data));
    }
    return sb.append("?=").toString();
  }
}
