package io.mailgate.send;

import io.mailgate.SesException;
import java.nio.charset.Charset;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnsupportedCharsetException;

/** A text or HTML body and the charset it is to be sent in. */
public record TextBody(String data, Charset charset) {

  private static final String ASCII_PROBE = "\r\n =?Az09_-.";

  /** Resolves an SES {@code Charset} field; null or empty means UTF-8. */
  public static Charset charset(String name, String field) {
    if (name == null || name.isBlank()) {
      return StandardCharsets.UTF_8;
    }
    try {
      Charset charset = Charset.forName(name.strip());
      if (!charset.canEncode()) { // a detector such as x-JISAutoDetect: Java reads it but cannot write it
        throw new UnsupportedCharsetException(name);
      }
      // a MIME text charset writes ASCII as ASCII: line breaks are CRLF's bytes (RFC 2046 4.1.1), and encoded words
      // are taken apart by character; UTF-16 or UTF-32 (a BOM, two or four bytes a character) are not
      if (!java.util.Arrays.equals(ASCII_PROBE.getBytes(charset), ASCII_PROBE.getBytes(StandardCharsets.US_ASCII))) {
        throw new UnsupportedCharsetException(name);
      }
      return charset;
    } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
      throw SesException.badRequest("Unsupported charset '" + name + "' in " + field + ".");
    }
  }
}
