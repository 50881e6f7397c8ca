package io.mailgate.send;

import java.util.Arrays;

/** A growable byte array for building messages without intermediate Strings or stream overhead. */
final class ByteSink {
  private byte[] buf;
  private int size;

  ByteSink(int capacity) {
    buf = new byte[Math.max(64, capacity)];
  }

  private void ensure(int extra) {
    if (size + extra > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + extra));
    }
  }

  ByteSink append(byte b) {
    ensure(1);
    buf[size++] = b;
    return this;
  }

  ByteSink append(byte[] bytes) {
    return append(bytes, 0, bytes.length);
  }

  ByteSink append(byte[] bytes, int off, int len) {
    ensure(len);
    System.arraycopy(bytes, off, buf, size, len);
    size += len;
    return this;
  }

  /**
   * Appends a string known to be 7-bit ASCII. One that is not is a bug of its caller, and fails here: written byte
   * for byte, U+010D would be a CR, a line break inside a header.
   */
  ByteSink ascii(CharSequence s) {
    int n = s.length();
    ensure(n);
    int all = 0;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      all |= c;
      buf[size + i] = (byte) c;
    }
    if (all > 0x7f) {
      throw new IllegalArgumentException("not ASCII: " + s);
    }
    size += n;
    return this;
  }

  ByteSink crlf() {
    ensure(2);
    buf[size++] = '\r';
    buf[size++] = '\n';
    return this;
  }

  boolean endsWithCrlf() {
    return size >= 2 && buf[size - 2] == '\r' && buf[size - 1] == '\n';
  }

  int size() {
    return size;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(buf, size);
  }
}
