package io.mailgate.send.dkim;

import java.security.MessageDigest;

/**
 * DKIM "relaxed" canonicalization (RFC 6376 section 3.4.2 and 3.4.4), working on the message bytes directly: no
 * Strings, no charset decoding, so 8-bit bodies and headers pass through unchanged. A bare LF counts as a line end,
 * since the SMTP client transmits it as CRLF.
 */
final class RelaxedCanonicalizer {

  private RelaxedCanonicalizer() {}

  /** A growable byte buffer, reused per thread. */
  static final class Bytes {
    byte[] buf;
    int size;

    Bytes(int capacity) {
      buf = new byte[capacity];
    }

    void write(int b) {
      if (size == buf.length) grow(1);
      buf[size++] = (byte) b;
    }

    void write(byte[] src, int off, int len) {
      if (size + len > buf.length) grow(len);
      System.arraycopy(src, off, buf, size, len);
      size += len;
    }

    void reset() {
      size = 0;
    }

    private void grow(int extra) {
      byte[] bigger = new byte[Math.max(buf.length * 2, size + extra)];
      System.arraycopy(buf, 0, bigger, 0, size);
      buf = bigger;
    }
  }

  /**
   * Feeds the relaxed canonical body {@code m[from, to)} to {@code digest} in one pass: whitespace runs become one
   * space, trailing whitespace and trailing empty lines go, and a non-empty body ends with exactly one CRLF.
   *
   * @param scratch staging buffer, so the digest sees a few large updates instead of one per line
   */
  static void digestBody(byte[] m, int from, int to, MessageDigest digest, byte[] scratch) {
    int n = 0;
    int cap = scratch.length - 2; // room for a CRLF after any byte
    int pendingEmptyLines = 0;
    int i = from;
    while (i < to) {
      int nl = i;
      while (nl < to && m[nl] != '\n') nl++;
      int end = nl;
      if (nl < to && end > i && m[end - 1] == '\r') end--;
      while (end > i && (m[end - 1] == ' ' || m[end - 1] == '\t')) end--;
      if (end == i) {
        pendingEmptyLines++; // kept only if a non-empty line follows
      } else {
        for (; pendingEmptyLines > 0; pendingEmptyLines--) {
          if (n >= cap) n = flush(digest, scratch, n);
          scratch[n++] = '\r';
          scratch[n++] = '\n';
        }
        int j = i;
        while (j < end) {
          // Copy the longest stretch that needs no change: anything but a tab or two whitespace bytes in a row.
          int k = j;
          while (k < end) {
            byte b = m[k];
            if (b == '\t' || (b == ' ' && (m[k + 1] == ' ' || m[k + 1] == '\t'))) break;
            k++;
          }
          int len = k - j;
          if (n + len > cap) {
            n = flush(digest, scratch, n);
            if (len > cap) {
              digest.update(m, j, len);
              len = 0;
            }
          }
          System.arraycopy(m, j, scratch, n, len);
          n += len;
          if (k < end) { // a whitespace run to collapse; never at the end, trailing whitespace is gone
            if (n >= cap) n = flush(digest, scratch, n);
            scratch[n++] = ' ';
            k++;
            while (k < end && (m[k] == ' ' || m[k] == '\t')) k++;
          }
          j = k;
        }
        if (n >= cap) n = flush(digest, scratch, n);
        scratch[n++] = '\r';
        scratch[n++] = '\n';
      }
      i = nl + 1;
    }
    flush(digest, scratch, n);
  }

  private static int flush(MessageDigest digest, byte[] scratch, int n) {
    if (n > 0) digest.update(scratch, 0, n);
    return 0;
  }

  /**
   * Appends the relaxed form of one header field, without its CRLF: name lower-cased, no whitespace around the
   * colon, the value unfolded with whitespace runs reduced to one space and trimmed.
   *
   * @param start first byte of the field name
   * @param colon index of the colon ending the name
   * @param end end of the field's last line, before its CRLF
   */
  static void appendHeader(Bytes out, byte[] m, int start, int colon, int end) {
    int nameEnd = colon;
    while (nameEnd > start && (m[nameEnd - 1] == ' ' || m[nameEnd - 1] == '\t')) nameEnd--;
    for (int k = start; k < nameEnd; k++) {
      byte b = m[k];
      out.write(b >= 'A' && b <= 'Z' ? b + 32 : b);
    }
    out.write(':');
    boolean started = false;
    boolean pendingSpace = false;
    for (int k = colon + 1; k < end; k++) {
      byte b = m[k];
      if (b == '\r' || b == '\n') continue; // unfold
      if (b == ' ' || b == '\t') {
        pendingSpace = started;
        continue;
      }
      if (pendingSpace) {
        out.write(' ');
        pendingSpace = false;
      }
      out.write(b);
      started = true;
    }
  }
}
