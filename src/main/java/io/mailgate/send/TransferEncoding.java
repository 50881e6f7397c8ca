package io.mailgate.send;

import java.util.Base64;

/**
 * Content-Transfer-Encodings (RFC 2045) and the rule that picks one for a body: 7bit when the
 * bytes are already safe, quoted-printable for mostly-ASCII text, base64 otherwise.
 */
public enum TransferEncoding {
  SEVEN_BIT("7bit"),
  QUOTED_PRINTABLE("quoted-printable"),
  BASE64("base64");

  private static final byte[] HEX = "0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final int QP_LINE = 76;
  private static final int BASE64_LINE = 76;

  public final String headerValue;

  TransferEncoding(String headerValue) {
    this.headerValue = headerValue;
  }

  /** The encoding for text whose line breaks are already CRLF. */
  static TransferEncoding forText(byte[] data) {
    if (isSevenBitSafe(data)) {
      return SEVEN_BIT;
    }
    int high = 0;
    for (byte b : data) {
      if (b < 0) {
        high++;
      }
    }
    return high * 4 > data.length ? BASE64 : QUOTED_PRINTABLE;
  }

  /** ASCII without NUL, CR and LF only as CRLF pairs, and no line over 998 octets. */
  static boolean isSevenBitSafe(byte[] data) {
    int lineLen = 0;
    for (int i = 0; i < data.length; i++) {
      byte b = data[i];
      if (b <= 0) {
        return false; // 8-bit or NUL
      }
      if (b == '\r') {
        if (i + 1 >= data.length || data[i + 1] != '\n') {
          return false;
        }
        i++;
        lineLen = 0;
        continue;
      }
      if (b == '\n') {
        return false;
      }
      if (++lineLen > 998) {
        return false;
      }
    }
    return true;
  }

  /**
   * Writes {@code data} encoded. The output ends where the data ends: a final line break is there
   * only when the data has one (a multipart delimiter supplies its own leading CRLF).
   */
  void encode(byte[] data, ByteSink out) {
    encode(data, out, true);
  }

  /**
   * {@link #encode(byte[], ByteSink)} for data that is text, or not: quoted-printable writes a CRLF of text as a line
   * break, and one of other data as =0D=0A (RFC 2045 6.7 (4): a reader may make a line break its platform's newline).
   */
  void encode(byte[] data, ByteSink out, boolean text) {
    switch (this) {
      case SEVEN_BIT -> out.append(data);
      case BASE64 -> base64(data, out);
      case QUOTED_PRINTABLE -> quotedPrintable(data, out, text);
    }
  }

  /** {@code data} as base64 in lines of 76, CRLF between them (none after the last). */
  public static byte[] base64(byte[] data) {
    ByteSink out = new ByteSink(data.length / 3 * 4 + data.length / 38 + 16);
    base64(data, out);
    return out.toByteArray();
  }

  private static void base64(byte[] data, ByteSink out) {
    byte[] encoded = Base64.getEncoder().encode(data);
    for (int i = 0; i < encoded.length; i += BASE64_LINE) {
      if (i > 0) {
        out.crlf();
      }
      out.append(encoded, i, Math.min(BASE64_LINE, encoded.length - i));
    }
  }

  /** {@code data} as quoted-printable (see {@link #quotedPrintable(byte[], ByteSink)}). */
  public static byte[] quotedPrintable(byte[] data) {
    ByteSink out = new ByteSink(data.length + data.length / 8 + 16);
    quotedPrintable(data, out, true);
    return out.toByteArray();
  }

  /**
   * Quoted-printable with soft breaks keeping lines within 76, and CRLF as hard line breaks when {@code lineBreaks}
   * (encoded as =0D=0A otherwise).
   */
  private static void quotedPrintable(byte[] data, ByteSink out, boolean lineBreaks) {
    int col = 0;
    for (int i = 0; i < data.length; i++) {
      int b = data[i] & 0xff;
      if (lineBreaks && b == '\r' && i + 1 < data.length && data[i + 1] == '\n') {
        out.crlf();
        col = 0;
        i++;
        continue;
      }
      boolean endOfLine = i + 1 == data.length
          || (lineBreaks && data[i + 1] == '\r' && i + 2 < data.length && data[i + 2] == '\n');
      boolean literal = (b >= 33 && b <= 126 && b != '=') || ((b == ' ' || b == '\t') && !endOfLine);
      int width = literal ? 1 : 3;
      // keep room for a soft break '=' unless this is the last character of the line
      if (col + width > (endOfLine ? QP_LINE : QP_LINE - 1)) {
        out.append((byte) '=').crlf();
        col = 0;
      }
      if (literal) {
        out.append((byte) b);
      } else {
        out.append((byte) '=').append(HEX[b >> 4]).append(HEX[b & 0xf]);
      }
      col += width;
    }
  }

  /**
   * Decodes quoted-printable bytes [start, end) of {@code data} (RFC 2045 6.7), leniently as readers do: an '=' not
   * followed by two hex digits or a line break stays as it is, whitespace at the end of a line (added in transport) is
   * dropped, and any other byte, 8-bit ones included, stands for itself.
   */
  public static byte[] decodeQuotedPrintable(byte[] data, int start, int end) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(end - start);
    for (int i = start; i < end; i++) {
      byte b = data[i];
      if (b == '=') {
        int hi = i + 2 < end ? Character.digit(data[i + 1], 16) : -1;
        int lo = i + 2 < end ? Character.digit(data[i + 2], 16) : -1;
        if (hi >= 0 && lo >= 0) {
          out.write(hi << 4 | lo);
          i += 2;
          continue;
        }
        int j = skipBlanks(data, i + 1, end);
        if (j == end) {
          break; // soft line break at the very end
        }
        if (j + 1 < end && data[j] == '\r' && data[j + 1] == '\n') {
          i = j + 1; // soft line break
          continue;
        }
        out.write(b);
      } else if (b == ' ' || b == '\t') {
        int j = skipBlanks(data, i, end);
        if (j == end || (j + 1 < end && data[j] == '\r' && data[j + 1] == '\n')) {
          i = j - 1; // trailing whitespace
        } else {
          out.write(data, i, j - i);
          i = j - 1;
        }
      } else {
        out.write(b);
      }
    }
    return out.toByteArray();
  }

  private static int skipBlanks(byte[] data, int from, int end) {
    while (from < end && (data[from] == ' ' || data[from] == '\t')) {
      from++;
    }
    return from;
  }
}
