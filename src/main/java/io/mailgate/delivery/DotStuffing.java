package io.mailgate.delivery;

import java.util.Arrays;

/** RFC 5321 4.5.2 transparency: a line starting with '.' gets one more; the data ends with CRLF. */
final class DotStuffing {
  private DotStuffing() {}

  static byte[] stuff(byte[] message) {
    int dots = 0;
    for (int i = 0; i < message.length; i++) {
      if (message[i] == '.' && (i == 0 || message[i - 1] == '\n')) {
        dots++;
      }
    }
    boolean endsWithCrlf = message.length >= 2 && message[message.length - 2] == '\r'
        && message[message.length - 1] == '\n';
    if (dots == 0 && endsWithCrlf) {
      return message;
    }
    byte[] out = new byte[message.length + dots + (endsWithCrlf ? 0 : 2)];
    int o = 0;
    for (int i = 0; i < message.length; i++) {
      byte b = message[i];
      if (b == '.' && (i == 0 || message[i - 1] == '\n')) {
        out[o++] = '.';
      }
      out[o++] = b;
    }
    if (!endsWithCrlf) {
      out[o++] = '\r';
      out[o++] = '\n';
    }
    return o == out.length ? out : Arrays.copyOf(out, o);
  }

  /** True when the message has bytes above 127 (BODY=8BITMIME is then declared). */
  static boolean isEightBit(byte[] message) {
    for (byte b : message) {
      if (b < 0) {
        return true;
      }
    }
    return false;
  }
}
