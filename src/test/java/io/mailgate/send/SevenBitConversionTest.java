package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.apache.james.mime4j.dom.BinaryBody;
import org.apache.james.mime4j.dom.Body;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.SingleBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.Test;

/**
 * RFC 6152's conversion for servers without 8BITMIME: what comes out is 7-bit (bytes below 128, lines within 76 for
 * what was encoded), mime4j reads the same content from it as from the original, and what needed no conversion keeps
 * its bytes.
 */
class SevenBitConversionTest {
  static final String PLAIN = "Grüße aus Köln, ça va? 東京 The rest of this line is plain ASCII, as in most mail.\r\n"
      + "Second line\r\n";
  static final String HTML = "<p>Grüße — <b>ünïcode</b> in a paragraph of plain ASCII text, as in most mail.</p>\r\n";

  @Test
  void multipartAlternativeTextAndHtmlBecomeQuotedPrintable() throws IOException {
    String head = "From: a@example.com\r\nTo: b@example.org\r\nSubject: alt\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n";
    String plain = "--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    String html = "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n";
    byte[] in = utf8(head + plain + PLAIN + "\r\n" + html + HTML + "\r\n--alt--\r\n");

    byte[] out = SevenBitConversion.convert(in);

    assertSevenBit(out);
    String s = ascii(out);
    assertTrue(s.startsWith(head + "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe aus K=C3=B6ln"), s);
    // the html part had no transfer encoding: one is added after its Content-Type
    assertTrue(s.contains("--alt\r\nContent-Type: text/html; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>Gr=C3=BC=C3=9Fe =E2=80=94"), s);
    assertTrue(s.endsWith("\r\n--alt--\r\n"), s);
    Multipart mp = (Multipart) parse(out).getBody();
    assertEquals(PLAIN, text(mp.getBodyParts().get(0)));
    assertEquals(HTML, text(mp.getBodyParts().get(1)));
  }

  @Test
  void nestedMultipartsAreWalkedAndABase64PartKeepsItsBytes() throws IOException {
    byte[] pdf = new byte[300];
    for (int i = 0; i < pdf.length; i++) {
      pdf[i] = (byte) (i * 7);
    }
    String attachment = "--mix\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n"
        + "Content-Disposition: attachment; filename=a.pdf\r\n\r\n" + Base64.getMimeEncoder().encodeToString(pdf)
        + "\r\n";
    String head = "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mix\r\n"
        + "Content-Transfer-Encoding: 8bit\r\n\r\n";
    String alt = "--mix\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
        + "--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + PLAIN
        + "\r\n--alt\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>plain ascii</p>\r\n--alt--\r\n";
    byte[] in = utf8(head + alt + attachment + "--mix--\r\n");

    byte[] out = SevenBitConversion.convert(in);

    assertSevenBit(out);
    String s = ascii(out);
    // the container's 8bit label becomes 7bit (a multipart cannot be quoted-printable, RFC 2045 6.4)
    assertTrue(s.startsWith(head.replace("Content-Transfer-Encoding: 8bit", "Content-Transfer-Encoding: 7bit")), s);
    assertTrue(s.contains("\r\n--alt\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>plain ascii</p>\r\n"
        + "--alt--\r\n"), "a 7-bit part keeps its bytes: " + s);
    assertTrue(s.endsWith(attachment + "--mix--\r\n"), "the base64 part keeps its bytes: " + s);
    Multipart mixed = (Multipart) parse(out).getBody();
    Multipart alternative = (Multipart) mixed.getBodyParts().get(0).getBody();
    assertEquals(PLAIN, text(alternative.getBodyParts().get(0)));
    assertArrayEquals(pdf, bytes(mixed.getBodyParts().get(1)));
  }

  @Test
  void aForwardedMessageIsConvertedInside() throws IOException {
    String head = "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n";
    String intro = "--m\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n";
    String forwarded = "--m\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "From: x@example.org\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + PLAIN
        + "\r\n--m--\r\n";
    byte[] out = SevenBitConversion.convert(utf8(head + intro + forwarded));

    assertSevenBit(out);
    String s = ascii(out);
    assertTrue(s.contains("--m\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        + "From: x@example.org\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\nGr=C3=BC"), s);
    Multipart mp = (Multipart) parse(out).getBody();
    Message inner = (Message) mp.getBodyParts().get(1).getBody();
    assertEquals("inner", inner.getSubject());
    assertEquals(PLAIN, text(inner));
  }

  @Test
  void longLinesGetSoftBreaksAndTrailingWhitespaceIsEncoded() throws IOException {
    String body = "ä".repeat(40) + " word".repeat(60) + "\r\ntrailing space \r\ntrailing tab\t\r\n"
        + "x".repeat(200) + "ü\r\n";
    byte[] out = SevenBitConversion.convert(utf8(
        "From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body));

    assertSevenBit(out);
    String s = ascii(out);
    assertTrue(s.startsWith("From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n"), s);
    String encoded = s.substring(s.indexOf("\r\n\r\n") + 4);
    for (String line : encoded.split("\r\n", -1)) {
      assertTrue(line.length() <= 76, "RFC 2045 6.7 (5): " + line.length() + " " + line);
      assertFalse(line.endsWith(" ") || line.endsWith("\t"), "RFC 2045 6.7 (3): whitespace ends '" + line + "'");
    }
    assertTrue(encoded.contains("trailing space=20\r\ntrailing tab=09\r\n"), encoded);
    assertTrue(encoded.contains("=\r\n"), "soft line breaks: " + encoded);
    assertEquals(body, text(parse(out)));
  }

  @Test
  void bareCrAndLfAreEncodedAndCrlfStaysAHardBreak() throws IOException {
    byte[] body = utf8("é a\rb\nc\r\nend\r\n");
    byte[] out = SevenBitConversion.convert(concat(utf8("Content-Type: text/plain; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: 8bit\r\nMIME-Version: 1.0\r\n\r\n"), body));

    assertSevenBit(out);
    String s = ascii(out);
    assertTrue(s.endsWith("\r\n\r\n=C3=A9 a=0Db=0Ac\r\nend\r\n"), s);
    assertArrayEquals(body, bytes(parse(out)));
  }

  @Test
  void partsLabelledQuotedPrintableOrBase64WithStray8BitBytesAreEncodedAgain() throws IOException {
    String head = "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n";
    String qp = "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + "caf=C3=A9 and raw café\r\n";
    String b64 = "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + "aGVs\u00e9bG8=\r\n--b--\r\n";
    byte[] out = SevenBitConversion.convert(utf8(head + qp + b64));

    assertSevenBit(out);
    Multipart mp = (Multipart) parse(out).getBody();
    assertEquals("café and raw café", text(mp.getBodyParts().get(0)));
    assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), bytes(mp.getBodyParts().get(1)));
    assertTrue(ascii(out).contains("Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--"), ascii(out));
  }

  @Test
  void aMessageWithoutMimeGetsItsVersionAndEncoding() throws IOException {
    byte[] out = SevenBitConversion.convert(utf8("From: a@example.com\r\nSubject: old\r\n\r\nNaïve text\r\n"));
    assertEquals("From: a@example.com\r\nSubject: old\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        + "MIME-Version: 1.0\r\n\r\nNa=C3=AFve text\r\n", ascii(out));
  }

  @Test
  void eightBitOutsideThePartsIsBlanked() {
    String in = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\nDies ist eine Nachricht "
        + "im MIME-Format, für alte Leser.\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\nEnde für heute\r\n";
    byte[] out = SevenBitConversion.convert(utf8(in));
    assertEquals(in.replace("ü", "??"), ascii(out));
  }

  @Test
  void eightBitHeadersCannotBeConverted() {
    SevenBitConversion.NotConvertible top = assertThrows(SevenBitConversion.NotConvertible.class,
        () -> SevenBitConversion.convert(utf8("From: a@example.com\r\nSubject: Grüße\r\n\r\nbody\r\n")));
    assertEquals("5.6.7", top.status());
    assertTrue(top.getMessage().contains("8-bit headers"), top.getMessage());

    String part = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: "
        + "text/plain\r\n\r\nplain\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        + "filename=\"Übersicht.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n";
    assertEquals("5.6.7", assertThrows(SevenBitConversion.NotConvertible.class,
        () -> SevenBitConversion.convert(utf8(part))).status());
  }

  @Test
  void whatCannotBeWalkedIsNotSent8Bit() {
    String unclosed = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        + "Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nnever closed: é\r\n";
    String uuencoded = "MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n"
        + "\r\nbegin 644 é\r\n";
    for (String in : List.of(unclosed, uuencoded)) {
      SevenBitConversion.NotConvertible e = assertThrows(SevenBitConversion.NotConvertible.class,
          () -> SevenBitConversion.convert(utf8(in)));
      assertEquals("5.6.3", e.status(), in);
    }
  }

  /** Binary content and text that is mostly 8-bit go base64: quoted-printable would triple them and break CRLFs. */
  @Test
  void binaryAndMostlyEightBitPartsBecomeBase64() throws IOException {
    byte[] blob = new byte[256];
    for (int i = 0; i < blob.length; i++) {
      blob[i] = (byte) i; // CR and LF among them: not line breaks
    }
    String cyrillic = "Привет, как дела? Всё хорошо.\r\n";
    String head = "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n";
    byte[] in = concat(utf8(head + "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Transfer-Encoding: 8bit\r\n\r\n" + cyrillic + "\r\n--b\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"),
        blob, utf8("\r\n--b--\r\n"));

    byte[] out = SevenBitConversion.convert(in);

    assertSevenBit(out);
    String s = ascii(out);
    assertTrue(s.contains("charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"), s);
    assertTrue(s.contains("application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"), s);
    Multipart mp = (Multipart) parse(out).getBody();
    assertEquals(cyrillic, text(mp.getBodyParts().get(0)));
    try (InputStream body = ((BinaryBody) mp.getBodyParts().get(1).getBody()).getInputStream()) {
      assertArrayEquals(blob, body.readAllBytes());
    }
  }

  /** The word-at-a-time scan agrees with the byte-by-byte definition, wherever the 8-bit byte is. */
  @Test
  void hasEightBitFindsAHighByteAnywhere() {
    for (int length = 0; length < 40; length++) {
      byte[] m = new byte[length];
      Arrays.fill(m, (byte) 'a');
      assertFalse(SevenBitConversion.hasEightBit(m));
      for (int at = 0; at < length; at++) {
        m[at] = (byte) 0x80;
        assertTrue(SevenBitConversion.hasEightBit(m), length + " " + at);
        m[at] = (byte) 0x7F;
        assertFalse(SevenBitConversion.hasEightBit(m), length + " " + at);
        m[at] = 'a';
      }
    }
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  static void assertSevenBit(byte[] out) {
    for (int i = 0; i < out.length; i++) {
      assertTrue(out[i] > 0, "8-bit or NUL byte at " + i + ": " + ascii(out));
    }
    for (String line : ascii(out).split("\r\n", -1)) {
      assertTrue(line.length() <= 998, line);
      assertFalse(line.contains("\r") || line.contains("\n"), "bare CR or LF: " + line);
    }
  }

  static Message parse(byte[] message) throws IOException {
    return new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(message));
  }

  static String text(Entity e) throws IOException {
    return new String(bytes(e), StandardCharsets.UTF_8);
  }

  static byte[] bytes(Entity e) throws IOException {
    Body body = e.getBody();
    try (InputStream in = body instanceof BinaryBody b ? b.getInputStream() : ((SingleBody) body).getInputStream()) {
      return in.readAllBytes();
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String ascii(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
