package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Which 8-bit bytes are in a header section (RFC 6532: SMTPUTF8) and which are body content (8BITMIME only), through
 * the MIME structure; and that they are the ones {@link SevenBitConversion} refuses as 8-bit headers.
 */
class EightBitHeadersTest {
  static final String TOP = "From: a@example.com\r\nSubject: cv\r\nMIME-Version: 1.0\r\n";

  static String mixed(String parts) {
    return TOP + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n" + parts + "--b1--\r\n";
  }

  static final String TEXT_PART = "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
      + "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n";
  static final String UTF8_ATTACHMENT = "--b1\r\nContent-Type: application/pdf; name=\"résumé.pdf\"\r\n"
      + "Content-Disposition: attachment; filename=\"résumé.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      + "JVBERi0xLjQK\r\n";

  static boolean anywhere(String message) {
    return EightBitHeaders.anywhere(message.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aPartsHeaderFieldsCountAsTheMessagesOwnDo() {
    assertEquals(true, anywhere(TOP + "Subject: Grüße\r\n\r\nplain\r\n"));
    assertEquals(true, anywhere(mixed(TEXT_PART + UTF8_ATTACHMENT)), "an attachment's UTF-8 filename");
    assertEquals(true, anywhere(mixed(UTF8_ATTACHMENT)), "with nothing else 8-bit");
    // a part of a part of a part
    assertEquals(true, anywhere(mixed("--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n"
        + "--b2\r\nContent-Type: multipart/related; boundary=b3\r\n\r\n--b3\r\nContent-Type: image/png\r\n"
        + "Content-ID: <bild-ü@example.com>\r\n\r\nx\r\n--b3--\r\n--b2--\r\n")));
    // the header section of a forwarded message, and one in a digest (message/rfc822 by default)
    assertEquals(true, anywhere(mixed("--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\n"
        + "Subject: Weitergeleitet: Grüße\r\n\r\nbody\r\n")));
    assertEquals(true, anywhere(mixed("--b1\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
        + "Subject: Grüße\r\n\r\nbody\r\n--d--\r\n")));
    // a multipart without its close delimiter: readers show its last part, header fields and all
    assertEquals(true, anywhere(TOP + "Content-Type: multipart/mixed; boundary=b1\r\n\r\n" + UTF8_ATTACHMENT));
    // a part whose header section never ends is header lines all the same
    assertEquals(true, anywhere(mixed("--b1\r\nContent-Type: text/plain; name=\"ü.txt\"\r\n")));
  }

  @Test
  void bodiesPreamblesAndEpiloguesAreNotHeaderSections() {
    assertEquals(false, anywhere(TOP + "Content-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n"));
    assertEquals(false, anywhere(mixed(TEXT_PART)));
    assertEquals(false, anywhere(TOP + "Content-Type: multipart/mixed; boundary=b1\r\n\r\nPräambel\r\n" + TEXT_PART
        + "--b1--\r\nEpilog ü\r\n"));
    // a part whose body starts with a blank line has no header fields: its first line is body
    assertEquals(false, anywhere(mixed("--b1\r\n\r\nGrüße: not a header\r\n")));
    // a forwarded message's body
    assertEquals(false, anywhere(mixed("--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: plain\r\n\r\nGrüße\r\n")));
    // a message/global part carries an internationalized message inside one that is not (RFC 6532 3.7)
    assertEquals(false, anywhere(mixed("--b1\r\nContent-Type: message/global\r\nContent-Transfer-Encoding: 8bit\r\n"
        + "\r\nSubject: Grüße\r\n\r\nbody\r\n")));
    // a boundary that is no multipart's is body text
    assertEquals(false, anywhere(TOP + "Content-Type: text/plain; boundary=b1\r\n\r\n" + UTF8_ATTACHMENT));
    assertEquals(false, anywhere(mixed("--b1\r\nContent-Type: text/plain\r\n\r\nplain\r\n")));
  }

  /** What is found here is what the 7-bit conversion cannot convert: the server without 8BITMIME gets a 5.6.7. */
  @Test
  void theConversionRefusesThePartsHeaderFieldsFoundHere() {
    SevenBitConversion.NotConvertible e = assertThrows(SevenBitConversion.NotConvertible.class,
        () -> SevenBitConversion.convert(mixed(TEXT_PART + UTF8_ATTACHMENT).getBytes(StandardCharsets.UTF_8)));
    assertEquals("5.6.7", e.status());
  }
}
