package io.mailgate.api.s3;

import java.util.Optional;

/**
 * The one byte range a GetObject asks for ({@code Range: bytes=first-last}, {@code bytes=first-} or
 * {@code bytes=-suffixLength}, RFC 9110 section 14.1.2).
 *
 * @param from the first byte's offset; negative for the last {@code -from} bytes of the object
 * @param to the last byte's offset, {@link Long#MAX_VALUE} for "to the end" (and for a suffix)
 */
record ByteRange(long from, long to) {

  /**
   * The range of a {@code Range} header, or empty for none. A header this does not read (several ranges, another
   * unit, a malformed one, an empty suffix) is ignored and the whole object answered, as RFC 9110 allows and as S3
   * does with several ranges.
   */
  static Optional<ByteRange> parse(String header) {
    if (header == null) {
      return Optional.empty();
    }
    String h = header.strip();
    if (!h.regionMatches(true, 0, "bytes=", 0, 6) || h.indexOf(',') >= 0) {
      return Optional.empty();
    }
    String spec = h.substring(6).strip();
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return Optional.empty();
    }
    long first = digits(spec.substring(0, dash).strip());
    long last = digits(spec.substring(dash + 1).strip());
    if (dash == 0) {
      return last > 0 ? Optional.of(new ByteRange(-last, Long.MAX_VALUE)) : Optional.empty();
    }
    if (first < 0 || (dash < spec.length() - 1 && (last < 0 || last < first))) {
      return Optional.empty();
    }
    return Optional.of(new ByteRange(first, dash == spec.length() - 1 ? Long.MAX_VALUE : last));
  }

  /** Whether an object of {@code size} bytes holds any byte of the range (else 416). */
  boolean satisfiable(long size) {
    return from < 0 ? size > 0 : from < size;
  }

  /** The offset of the first byte answered, for a satisfiable range. */
  long first(long size) {
    return from < 0 ? Math.max(size + from, 0) : from;
  }

  /** The offset of the last byte answered, for a satisfiable range. */
  long last(long size) {
    return from < 0 ? size - 1 : Math.min(to, size - 1);
  }

  /** A non-negative decimal number, or -1 (empty, not digits, or too long to be an offset). */
  private static long digits(String s) {
    if (s.isEmpty() || s.length() > 18) {
      return -1;
    }
    long v = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }
}
