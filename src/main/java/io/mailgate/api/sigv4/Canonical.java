package io.mailgate.api.sigv4;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The encoding rules of a SigV4 canonical request, written for the hot path: no regexes, no URLDecoder. */
final class Canonical {

  private static final char[] HEX_UPPER = "0123456789ABCDEF".toCharArray();
  private static final boolean[] UNRESERVED = new boolean[128];

  static {
    for (char c = 'A'; c <= 'Z'; c++) UNRESERVED[c] = true;
    for (char c = 'a'; c <= 'z'; c++) UNRESERVED[c] = true;
    for (char c = '0'; c <= '9'; c++) UNRESERVED[c] = true;
    UNRESERVED['-'] = UNRESERVED['_'] = UNRESERVED['.'] = UNRESERVED['~'] = true;
  }

  private Canonical() {}

  /** One {@code key=value} pair of a query string, both still encoded as received. */
  record QueryParam(String rawKey, String rawValue) {}

  /**
   * The canonical URI of a non-S3 service: the path as received, URI-encoded once more (so {@code %40} becomes
   * {@code %2540}), with dot segments removed and an empty path read as {@code /}.
   */
  static void appendCanonicalUri(StringBuilder out, String rawPath) {
    if (rawPath.isEmpty()) {
      out.append('/');
      return;
    }
    String path = hasDotSegment(rawPath) ? removeDotSegments(rawPath) : rawPath;
    if (path.isEmpty() || path.charAt(0) != '/') out.append('/');
    encode(out, path, true);
  }

  /**
   * The canonical URI of S3: the path exactly as received (the client signed the key as it encoded it, once), an
   * empty path read as {@code /}.
   */
  static void appendS3CanonicalUri(StringBuilder out, String rawPath) {
    out.append(rawPath.isEmpty() ? "/" : rawPath);
  }

  /** Splits a raw query string on {@code &}; a parameter without {@code =} has an empty value. */
  static List<QueryParam> parseQuery(String rawQuery) {
    if (rawQuery == null || rawQuery.isEmpty()) return List.of();
    List<QueryParam> params = new ArrayList<>(8);
    int start = 0;
    int len = rawQuery.length();
    while (start <= len) {
      int amp = rawQuery.indexOf('&', start);
      int end = amp < 0 ? len : amp;
      if (end > start) {
        int eq = rawQuery.indexOf('=', start);
        if (eq < 0 || eq > end) {
          params.add(new QueryParam(rawQuery.substring(start, end), ""));
        } else {
          params.add(new QueryParam(rawQuery.substring(start, eq), rawQuery.substring(eq + 1, end)));
        }
      }
      if (amp < 0) break;
      start = amp + 1;
    }
    return params;
  }

  /**
   * The canonical query string: every key and value re-encoded to RFC 3986 form, sorted by key then value.
   *
   * @param excludeKey a raw key to leave out ({@code X-Amz-Signature} for presigned URLs), or null
   */
  static void appendCanonicalQuery(StringBuilder out, List<QueryParam> params, String excludeKey) {
    int n = params.size();
    if (n == 0) return;
    String[] keys = new String[n];
    String[] values = new String[n];
    Integer[] order = new Integer[n];
    int count = 0;
    for (QueryParam p : params) {
      if (excludeKey != null && excludeKey.equals(p.rawKey())) continue;
      keys[count] = normalize(p.rawKey());
      values[count] = normalize(p.rawValue());
      order[count] = count;
      count++;
    }
    if (count > 1) {
      Arrays.sort(order, 0, count, (a, b) -> {
        int c = keys[a].compareTo(keys[b]);
        return c != 0 ? c : values[a].compareTo(values[b]);
      });
    }
    for (int i = 0; i < count; i++) {
      if (i > 0) out.append('&');
      int k = order[i];
      out.append(keys[k]).append('=').append(values[k]);
    }
  }

  /**
   * Appends a header value trimmed, with each run of whitespace collapsed to one space.
   *
   * @return true when the value holds a char above U+00FF, so the request must be encoded as UTF-8
   */
  static boolean appendTrimmedHeaderValue(StringBuilder out, String value) {
    boolean wide = false;
    int len = value.length();
    int i = 0;
    while (i < len && isWhitespace(value.charAt(i))) i++;
    boolean pendingSpace = false;
    for (; i < len; i++) {
      char c = value.charAt(i);
      if (isWhitespace(c)) {
        pendingSpace = true;
        continue;
      }
      if (pendingSpace) {
        out.append(' ');
        pendingSpace = false;
      }
      if (c > 0xFF) wide = true;
      out.append(c);
    }
    return wide;
  }

  /** Percent-decodes a query component (UTF-8); {@code +} stays a plus sign, as SigV4 clients never send it. */
  static String decode(String s) {
    int pct = s.indexOf('%');
    if (pct < 0) return s;
    byte[] buf = new byte[s.length() * 3]; // worst case: every char a 3-byte UTF-8 sequence
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%' && i + 2 < s.length() && hexValue(s.charAt(i + 1)) >= 0 && hexValue(s.charAt(i + 2)) >= 0) {
        buf[n++] = (byte) (hexValue(s.charAt(i + 1)) << 4 | hexValue(s.charAt(i + 2)));
        i += 2;
      } else if (c < 0x80) {
        buf[n++] = (byte) c;
      } else {
        int end = Character.isHighSurrogate(c) && i + 1 < s.length() ? i + 2 : i + 1;
        byte[] utf8 = s.substring(i, end).getBytes(StandardCharsets.UTF_8);
        System.arraycopy(utf8, 0, buf, n, utf8.length);
        n += utf8.length;
        i = end - 1;
      }
    }
    return new String(buf, 0, n, StandardCharsets.UTF_8);
  }

  /** Brings an already-encoded component to RFC 3986 form; the common all-unreserved case returns it as is. */
  static String normalize(String raw) {
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c >= 128 || !UNRESERVED[c]) {
        StringBuilder sb = new StringBuilder(raw.length() + 16);
        encode(sb, decode(raw), false);
        return sb.toString();
      }
    }
    return raw;
  }

  /** RFC 3986 percent-encoding of {@code s}'s UTF-8 bytes, leaving unreserved chars (and {@code /} if asked). */
  static void encode(StringBuilder out, String s, boolean keepSlash) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 128) {
        if (UNRESERVED[c] || (keepSlash && c == '/')) {
          out.append(c);
        } else {
          appendPercent(out, c);
        }
      } else {
        int end = i + 1;
        if (Character.isHighSurrogate(c) && end < s.length()) end++;
        for (byte b : s.substring(i, end).getBytes(StandardCharsets.UTF_8)) appendPercent(out, b & 0xFF);
        i = end - 1;
      }
    }
  }

  private static void appendPercent(StringBuilder out, int b) {
    out.append('%').append(HEX_UPPER[b >>> 4]).append(HEX_UPPER[b & 0xF]);
  }

  static int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  static boolean isWhitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0B;
  }

  private static boolean hasDotSegment(String path) {
    return path.contains("/./") || path.contains("/../") || path.endsWith("/.") || path.endsWith("/..");
  }

  /** RFC 3986 section 5.2.4, for the rare client that sends {@code .} or {@code ..} segments. */
  static String removeDotSegments(String path) {
    List<String> segments = new ArrayList<>();
    int start = 1;
    boolean trailingSlash = false;
    while (start <= path.length()) {
      int slash = path.indexOf('/', start);
      int end = slash < 0 ? path.length() : slash;
      String seg = path.substring(start, end);
      boolean last = slash < 0;
      if (seg.equals(".")) {
        trailingSlash = last;
      } else if (seg.equals("..")) {
        if (!segments.isEmpty()) segments.remove(segments.size() - 1);
        trailingSlash = last;
      } else {
        segments.add(seg);
        trailingSlash = false;
      }
      if (last) break;
      start = slash + 1;
    }
    StringBuilder sb = new StringBuilder(path.length());
    for (String seg : segments) sb.append('/').append(seg);
    if (trailingSlash || sb.length() == 0) sb.append('/');
    return sb.toString();
  }
}
