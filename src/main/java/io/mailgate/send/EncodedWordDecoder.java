package io.mailgate.send;

import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;

/**
 * RFC 2047 encoded words in header values, found in one pass. mime4j's decoder looks for each {@code =?}'s closing
 * {@code ?=} through the rest of the value: a value of {@code =?} that never close (a Subject or From of a few hundred
 * kilobytes, which a header section may hold) took seconds, quadratic in its length, on whatever thread read it. Here
 * a word is {@code =?charset?encoding?text?=} with no {@code ?} in its text (RFC 2047 5: a {@code ?} in it must be
 * encoded), so each {@code =?} is given up at the next {@code ?} that does not close it, and mime4j decodes each word
 * found alone.
 */
public final class EncodedWordDecoder {
  private EncodedWordDecoder() {}

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
   * {@code value} with every {@code =?} that does not begin an encoded word written {@code = ?}: what mime4j's address
   * parser is given, as it decodes display names with its own decoder. Only text that is not an encoded word changes,
   * and addresses never hold one.
   */
  public static String forAddressParsing(String value) {
    int i = value.indexOf("=?");
    if (i < 0) {
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

  /**
   * The end of the encoded word that {@code =?} at {@code start} begins, or -1: a charset (optionally
   * {@code *language}) without white space, {@code B} or {@code Q}, and a text up to the next {@code ?}, which must
   * be followed by {@code =}. Each scan stops at the value's next {@code ?} or so, hence linear over all of them.
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
    if (k == j + 3 || k + 1 >= n || s.charAt(k + 1) != '=') {
      return -1;
    }
    return k + 2;
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
