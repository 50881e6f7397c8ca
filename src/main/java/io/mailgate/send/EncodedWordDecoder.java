package io.mailgate.send;

import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;

/**
 * RFC 2047 encoded words in header values, found in one pass. mime4j's decoder looks for each {@code =?}'s closing
 * {@code ?=} through the rest of the value: a value of {@code =?} that never close (a Subject or From of a few hundred
 * kilobytes, which a header section may hold) took seconds, quadratic in its length, on whatever thread read it. Here
 * a word is {@code =?charset?encoding?text?=} with no {@code ?} in its text but a last one (RFC 2047 5: a {@code ?}
 * in it must be encoded; "Are_you_coming??=" is a sender's slip), so each {@code =?} is given up at the next
 * {@code ?} that does not close it; and its charset is one Java has, or it is no word: mime4j looks each one up by
 * an exception, tens of microseconds a word, which a megabyte of made-up words would spend by the second. mime4j then
 * decodes each word found alone.
 */
public final class EncodedWordDecoder {
  private EncodedWordDecoder() {}

  /**
   * How many {@code =?} that begin no word a value may hold and go to mime4j's address parser as it is: its decoder's
   * cost is their number times the value's length, and a few are an address's own ({@code a=?b@example.com}).
   */
  static final int MAX_OPEN = 64;

  /**
   * {@code value} with its encoded words decoded, and the white space between two adjacent ones dropped (RFC 2047
   * 6.2); a word that cannot be decoded (an unknown charset) stays as written, as mime4j leaves it.
   */
  public static String decode(String value) {
    int from = value.indexOf("=?");
    if (from < 0) {
      return value;
    }
    StringBuilder out = null;
    int copied = 0; // value[copied, ...) is not in out yet
    int lastDecodedEnd = -1;
    for (int i = from; i >= 0; i = value.indexOf("=?", i)) {
      int end = wordEnd(value, i);
      if (end < 0) {
        i += 2;
        continue;
      }
      String word = value.substring(i, end);
      String decoded = DecoderUtil.decodeEncodedWords(word, DecodeMonitor.SILENT);
      if (decoded.equals(word)) {
        i = end;
        lastDecodedEnd = -1;
        continue;
      }
      if (out == null) {
        out = new StringBuilder(value.length());
      }
      if (lastDecodedEnd != copied || !blank(value, copied, i)) {
        out.append(value, copied, i);
      }
      out.append(decoded);
      copied = end;
      lastDecodedEnd = end;
      i = end;
    }
    if (out == null) {
      return value;
    }
    return out.append(value, copied, value.length()).toString();
  }

  /**
   * What mime4j's address parser is given, as it decodes display names with its own decoder: {@code value} as it is
   * when it holds at most {@link #MAX_OPEN} {@code =?} that begin no encoded word (an address may hold a few of its
   * own, {@code a=?b@example.com}), else with each of those written {@code = ?}. Encoded words never change.
   */
  public static String forAddressParsing(String value) {
    int i = value.indexOf("=?");
    if (i < 0 || openCount(value, i) <= MAX_OPEN) {
      return value;
    }
    StringBuilder out = null;
    int copied = 0;
    for (; i >= 0; i = value.indexOf("=?", i)) {
      int end = wordEnd(value, i);
      if (end >= 0) {
        i = end;
        continue;
      }
      if (out == null) {
        out = new StringBuilder(value.length() + 16);
      }
      out.append(value, copied, i + 1).append(' ');
      copied = i + 1;
      i += 2;
    }
    return out == null ? value : out.append(value, copied, value.length()).toString();
  }

  /** How many {@code =?} from {@code from} on begin no word (counted up to one past {@link #MAX_OPEN}). */
  private static int openCount(String value, int from) {
    int open = 0;
    for (int i = from; i >= 0 && open <= MAX_OPEN; i = value.indexOf("=?", i)) {
      int end = wordEnd(value, i);
      if (end >= 0) {
        i = end;
      } else {
        open++;
        i += 2;
      }
    }
    return open;
  }

  /**
   * The end of the encoded word that {@code =?} at {@code start} begins, or -1: a charset Java has (optionally
   * {@code *language}) without white space, {@code B} or {@code Q}, and a text up to the next {@code ?}, which must
   * be followed by {@code =} (or by {@code ?=}: a last {@code ?} not encoded). Each scan stops at the value's next
   * {@code ?} or so, hence linear over all of them.
   */
  static int wordEnd(String s, int start) {
    int n = s.length();
    int j = start + 2;
    while (j < n && s.charAt(j) != '?' && !Character.isWhitespace(s.charAt(j))) {
      j++;
    }
    if (j == start + 2 || j + 2 >= n || s.charAt(j) != '?' || s.charAt(j + 2) != '?') {
      return -1;
    }
    char encoding = s.charAt(j + 1);
    if (encoding != 'B' && encoding != 'b' && encoding != 'Q' && encoding != 'q') {
      return -1;
    }
    int k = j + 3;
    while (k < n && s.charAt(k) != '?') {
      k++;
    }
    int end;
    if (k + 1 < n && s.charAt(k + 1) == '=') {
      end = k + 2;
    } else if (k + 2 < n && s.charAt(k + 1) == '?' && s.charAt(k + 2) == '=') {
      end = k + 3;
    } else {
      return -1;
    }
    return supported(s, start + 2, j) ? end : -1;
  }

  /** Whether {@code s[from, to)} (a charset, maybe with {@code *language}) names a charset Java has. */
  private static boolean supported(String s, int from, int to) {
    int star = s.indexOf('*', from);
    if (star >= 0 && star < to) {
      to = star;
    }
    return to > from && to - from <= 64 && Names.KNOWN.contains(s.substring(from, to).toLowerCase(java.util.Locale.ROOT));
  }

  /**
   * The names and aliases of the charsets Java has, lower case, read once: looking up one it does not have goes
   * through every charset provider (about 100 microseconds, a megabyte of made-up names some seconds).
   */
  private static final class Names {
    // read on first use: MailgateNode's start warms it on the starting thread (about 50 ms, not on an event loop)
    static final java.util.Set<String> KNOWN = known();

    private static java.util.Set<String> known() {
      java.util.Set<String> names = new java.util.HashSet<>();
      for (java.nio.charset.Charset c : java.nio.charset.Charset.availableCharsets().values()) {
        names.add(c.name().toLowerCase(java.util.Locale.ROOT));
        for (String alias : c.aliases()) {
          names.add(alias.toLowerCase(java.util.Locale.ROOT));
        }
      }
      return java.util.Set.copyOf(names);
    }
  }

  private static boolean blank(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        return false;
      }
    }
    return true;
  }
}
