package io.mailgate.send;

import io.mailgate.SesException;
import java.nio.charset.Charset;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnsupportedCharsetException;

/** A text or HTML body and the charset it is to be sent in. */
public record TextBody(String data, Charset charset) {

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
      return charset;
    } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
      throw SesException.badRequest("Unsupported charset '" + name + "' in " + field + ".");
    }
  }
}
