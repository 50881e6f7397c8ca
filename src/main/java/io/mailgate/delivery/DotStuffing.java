package io.mailgate.delivery;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * RFC 5321 4.5.2 transparency: a line starting with '.' gets one more; the data ends with CRLF. The
 * same pass finds whether the message has 8-bit bytes (BODY=8BITMIME is then declared, or the message converted to 7
 * bits for a server without 8BITMIME), and where the first is: one before the end of the header section makes the
 * message an internationalized one (RFC 6532 header fields: SMTPUTF8 is declared to a server that offers it).
 *
 * <p>Runs for every message delivered, so it reads eight bytes at a time (SWAR): most messages
 * have no line that starts with a dot and go out as they are, without a copy.
 */
final class DotStuffing {
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGH_BITS = 0x8080808080808080L;
  private static final long LOW_BITS = 0x7F7F7F7F7F7F7F7FL;

  /** The bytes to send after DATA (stuffed, ending in CRLF), whether any is above 127, and one in the headers. */
  record Prepared(byte[] data, boolean eightBit, boolean eightBitHeaders) {}

  private DotStuffing() {}

  static Prepared prepare(byte[] message) {
    int n = message.length;
    int firstEightBit = -1;
    int dots = n > 0 && message[0] == '.' ? 1 : 0;
    long lfEndedWord = 0; // 1 when the last byte of the previous word was LF
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      long w = (long) LONGS.get(message, i);
      if (firstEightBit < 0 && (w & HIGH_BITS) != 0) {
        firstEightBit = i + Long.numberOfTrailingZeros(w & HIGH_BITS) / 8; // little-endian: the lowest is the first
      }
      long lf = equalBytes(w, '\n');
      long dot = equalBytes(w, '.');
      if (dot != 0) {
        // 0x80 in each byte that follows an LF, in this word or (byte 0) at the end of the last
        dots += Long.bitCount(((lf << 8) | (lfEndedWord << 7)) & dot);
      }
      lfEndedWord = lf >>> 63;
    }
    for (; i < n; i++) {
      byte b = message[i];
      if (firstEightBit < 0 && b < 0) {
        firstEightBit = i;
      }
      if (b == '.' && i > 0 && message[i - 1] == '\n') {
        dots++;
      }
    }
    boolean eightBit = firstEightBit >= 0;
    boolean eightBitHeaders = eightBit && !blankLineBefore(message, firstEightBit);
    boolean endsWithCrlf = n >= 2 && message[n - 2] == '\r' && message[n - 1] == '\n';
    if (dots == 0 && endsWithCrlf) {
      return new Prepared(message, eightBit, eightBitHeaders);
    }
    byte[] out = new byte[n + dots + (endsWithCrlf ? 0 : 2)];
    int o = 0;
    for (int j = 0; j < n; j++) {
      byte b = message[j];
      if (b == '.' && (j == 0 || message[j - 1] == '\n')) {
        out[o++] = '.';
      }
      out[o++] = b;
    }
    if (!endsWithCrlf) {
      out[o++] = '\r';
      out[o++] = '\n';
    }
    return new Prepared(o == out.length ? out : Arrays.copyOf(out, o), eightBit, eightBitHeaders);
  }

  /**
   * Whether the header section ends (an empty line, CRLF or a bare LF) before {@code end}: only the bytes before the
   * first 8-bit one are looked at, which for a message with 8-bit headers is part of its header section.
   */
  private static boolean blankLineBefore(byte[] message, int end) {
    if (end > 0 && (message[0] == '\n' || message[0] == '\r' && end > 1 && message[1] == '\n')) {
      return true; // no header fields at all
    }
    for (int i = 0; i + 1 < end; i++) {
      if (message[i] == '\n' && (message[i + 1] == '\n' || message[i + 1] == '\r' && i + 2 < end
          && message[i + 2] == '\n')) {
        return true;
      }
    }
    return false;
  }

  /** 0x80 in each byte of {@code w} equal to {@code c}, 0 in every other bit (exact, no false hits). */
  private static long equalBytes(long w, char c) {
    long t = w ^ (ONES * c);
    return ~(((t & LOW_BITS) + LOW_BITS) | t | LOW_BITS);
  }
}
