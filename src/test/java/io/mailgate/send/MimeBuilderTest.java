package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesError;
import io.mailgate.SesException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import org.apache.james.mime4j.dom.BinaryBody;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.Test;

class MimeBuilderTest {
  static final ZonedDateTime DATE = ZonedDateTime.of(2026, 11, 28, 10, 0, 0, 0, ZoneOffset.UTC);

  static byte[] build(SimpleContent content, List<Mailbox> to) {
    return MimeBuilder.build(new MimeBuilder.Headers(MailboxParser.parse("Sender <s@example.com>"), to, List.of(),
        List.of(), "id-1@example.com", DATE), content);
  }

  static SimpleContent text(String subject, String body) {
    return new SimpleContent(subject, StandardCharsets.UTF_8, new TextBody(body, StandardCharsets.UTF_8), null,
        List.of(), List.of());
  }

  static Message parse(byte[] b) throws IOException {
    return new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(b));
  }

  static String body(Entity e) throws IOException {
    try (InputStream in = ((org.apache.james.mime4j.dom.TextBody) e.getBody()).getInputStream()) {
      return new String(in.readAllBytes(), Charset.forName(e.getCharset()));
    }
  }

  static void assertLinesWithin(byte[] msg, int max) {
    String[] lines = new String(msg, StandardCharsets.ISO_8859_1).split("\r\n", -1);
    for (String l : lines) {
      assertTrue(l.length() <= max, "line of " + l.length() + ": " + l);
      assertTrue(l.indexOf('\n') < 0 && l.indexOf('\r') < 0, "bare line break in: " + l);
    }
  }

  @Test
  void theDateIsFormattedForEachSecondAndOffset() {
    ZonedDateTime t = ZonedDateTime.of(2026, 11, 28, 23, 59, 59, 100_000_000, ZoneOffset.UTC);
    assertEquals("Sat, 28 Nov 2026 23:59:59 +0000", MimeBuilder.rfc5322Date(t));
    assertEquals("Sat, 28 Nov 2026 23:59:59 +0000", MimeBuilder.rfc5322Date(t.plusNanos(800_000_000)));
    assertEquals("Sun, 29 Nov 2026 00:00:00 +0000", MimeBuilder.rfc5322Date(t.plusSeconds(1)));
    // the same instant seen from another offset is the same second, written differently
    assertEquals("Sun, 29 Nov 2026 01:00:00 +0100",
        MimeBuilder.rfc5322Date(t.plusSeconds(1).withZoneSameInstant(ZoneOffset.ofHours(1))));
    assertEquals("Sat, 28 Nov 2026 23:59:59 +0000", MimeBuilder.rfc5322Date(t));
  }

  @Test
  void headersAreRfc5322() throws IOException {
    byte[] msg = build(text("Hi", "Body"), List.of(MailboxParser.parse("\"Doe, J.\" <j@example.org>")));
    String s = new String(msg, StandardCharsets.US_ASCII);
    assertTrue(s.startsWith("Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nFrom: Sender <s@example.com>\r\n"), s);
    assertTrue(s.contains("\r\nTo: \"Doe, J.\" <j@example.org>\r\n"), s);
    assertTrue(s.contains("\r\nMessage-ID: <id-1@example.com>\r\nMIME-Version: 1.0\r\n"), s);
    assertTrue(s.endsWith("\r\n\r\nBody\r\n"), s);
    assertEquals("Doe, J.", ((org.apache.james.mime4j.dom.address.Mailbox) parse(msg).getTo().get(0)).getName());
  }

  @Test
  void longAndNonAsciiHeaderTextIsEncodedAndFolded() throws IOException {
    String subject = "Ünïcödé ".repeat(30) + "end";
    String ascii = "word ".repeat(60) + "end";
    SimpleContent c = new SimpleContent(subject, StandardCharsets.UTF_8, new TextBody("x", StandardCharsets.UTF_8),
        null, List.of(new MessageHeader("X-Long", ascii)), List.of());
    byte[] msg = build(c, List.of(MailboxParser.parse("Zoë Ünïcödé-Person <z@example.org>")));
    assertLinesWithin(msg, 78);
    Message m = parse(msg);
    assertEquals(subject, m.getSubject());
    assertEquals(ascii, m.getHeader().getField("X-Long").getBody().replace("\r\n", "").strip());
    assertEquals("Zoë Ünïcödé-Person", ((org.apache.james.mime4j.dom.address.Mailbox) m.getTo().get(0)).getName());
  }

  /**
   * SES's limits on a custom header: a value of 1 to 995 characters, the name and value together at most 996, so the
   * longest header allowed is one line of 998 octets, written unfolded and read back whole.
   */
  @Test
  void customHeaderLengthsAreSesLimits() throws IOException {
    String longest = "v".repeat(995);
    SimpleContent c = new SimpleContent("s", StandardCharsets.UTF_8, new TextBody("x", StandardCharsets.UTF_8), null,
        List.of(new MessageHeader("X", longest)), List.of());
    byte[] msg = build(c, List.of(MailboxParser.parse("a@example.org")));
    assertLinesWithin(msg, 998);
    assertTrue(new String(msg, StandardCharsets.US_ASCII).contains("\r\nX: " + longest + "\r\n"));
    new MessageHeader("X-Name", "v".repeat(990)); // 996 together
    SesException tooLong = assertThrows(SesException.class, () -> new MessageHeader("X", "v".repeat(996)));
    assertTrue(tooLong.getMessage().contains("longer than 995"), tooLong.getMessage());
    SesException together = assertThrows(SesException.class, () -> new MessageHeader("X-Name", "v".repeat(991)));
    assertTrue(together.getMessage().contains("together are longer than 996"), together.getMessage());
    SesException empty = assertThrows(SesException.class, () -> new MessageHeader("X-Empty", ""));
    assertTrue(empty.getMessage().contains("empty value"), empty.getMessage());
  }

  /** A display name of escaped quotes would double when quoted: encoded instead, within 998, read back the same. */
  @Test
  void aDisplayNameThatQuotingWouldDoubleStaysWithin998() throws IOException {
    String name = "\"".repeat(499) + "x";
    byte[] msg = build(text("s", "b"), List.of(new Mailbox(name, "a", "example.org")));
    assertLinesWithin(msg, 998);
    assertEquals(name, ((org.apache.james.mime4j.dom.address.Mailbox) parse(msg).getTo().get(0)).getName());
  }

  @Test
  void unbreakableAsciiHeaderStillStaysWithin998() throws IOException {
    String token = "x".repeat(1500);
    byte[] msg = build(text(token, "b"), List.of(MailboxParser.parse("a@example.org")));
    assertLinesWithin(msg, 998);
    assertEquals(token, parse(msg).getSubject());
  }

  @Test
  void bodiesPickTheirTransferEncoding() throws IOException {
    String longLine = "y".repeat(2000);
    byte[] msg = build(text("s", "short ascii\n" + longLine + "\nend with space \n"), List.of(MailboxParser.parse("a@example.org")));
    assertLinesWithin(msg, 998);
    Message m = parse(msg);
    assertEquals("quoted-printable", m.getContentTransferEncoding());
    assertEquals("short ascii\r\n" + longLine + "\r\nend with space \r\n", body(m));

    byte[] cjk = build(text("s", "東京からこんにちは。".repeat(20)), List.of(MailboxParser.parse("a@example.org")));
    assertEquals("base64", parse(cjk).getContentTransferEncoding());
    assertEquals("東京からこんにちは。".repeat(20), body(parse(cjk)));

    byte[] plain = build(text("s", "just ascii\r\n"), List.of(MailboxParser.parse("a@example.org")));
    assertEquals("7bit", parse(plain).getContentTransferEncoding());
  }

  @Test
  void everyLineBreakBecomesCrlfInEveryCharset() {
    String mixed = "a\nb\r\nc\rd\r\r\ne\n\nü\r";
    byte[] expected = "a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\nü\r\n".getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(expected, MimeBuilder.encodeText(mixed, StandardCharsets.UTF_8, "Text body"));
    assertArrayEquals("a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\nü\r\n".getBytes(StandardCharsets.ISO_8859_1),
        MimeBuilder.encodeText(mixed, StandardCharsets.ISO_8859_1, "Text body"));
    // ASCII with LF only (the fast path), at the start, the end, doubled, and none at all
    assertArrayEquals("\r\na\r\n\r\nb\r\n".getBytes(StandardCharsets.US_ASCII),
        MimeBuilder.encodeText("\na\n\nb\n", StandardCharsets.UTF_8, "Text body"));
    assertArrayEquals("plain".getBytes(StandardCharsets.US_ASCII),
        MimeBuilder.encodeText("plain", StandardCharsets.UTF_8, "Text body"));
    byte[] clean = "x\r\ny".getBytes(StandardCharsets.UTF_8);
    assertSame(clean, MimeBuilder.crlf(clean), "already CRLF: no copy");
    assertArrayEquals(new byte[0], MimeBuilder.crlf(new byte[0]));
    assertArrayEquals("\r\n".getBytes(StandardCharsets.US_ASCII), MimeBuilder.crlf(new byte[] {'\r'}));
  }

  @Test
  void theTextShortcutTo7bitAgreesWithTheByteScan() {
    String[] texts = {"", "plain", "a\nb\n", "x".repeat(998) + "\n" + "y".repeat(998), "x".repeat(999),
        "a\n" + "x".repeat(999) + "\nb", "café\n", "nul\0here", "cr\r\nlf", "emoji \uD83D\uDE00", "lone \uD800 half",
        "\n\n\n"};
    for (String t : texts) {
      byte[] data = MimeBuilder.encodeText(t, StandardCharsets.UTF_8, "Text body");
      boolean bytes = TransferEncoding.forText(data) == TransferEncoding.SEVEN_BIT;
      if (MimeBuilder.sevenBitAscii(t, StandardCharsets.UTF_8, data)) {
        assertTrue(bytes, "the shortcut said 7bit for " + t);
      } else if (t.indexOf('\r') < 0 && t.indexOf(0) < 0) {
        assertEquals(bytes, false, "the shortcut missed a 7bit text without CR or NUL: " + t);
      }
    }
    assertTrue(MimeBuilder.sevenBitAscii("a\nb", StandardCharsets.UTF_8, "a\r\nb".getBytes(StandardCharsets.US_ASCII)));
    assertTrue(!MimeBuilder.sevenBitAscii("x".repeat(999), StandardCharsets.UTF_8, "x".repeat(999).getBytes()));
  }

  @Test
  void otherCharsetsAndUnmappableText() throws IOException {
    Charset latin1 = StandardCharsets.ISO_8859_1;
    SimpleContent c = new SimpleContent("Café", latin1, new TextBody("Crème brûlée", latin1), null, List.of(), List.of());
    Message m = parse(build(c, List.of(MailboxParser.parse("a@example.org"))));
    assertEquals("ISO-8859-1", m.getCharset());
    assertEquals("Café", m.getSubject());
    assertEquals("Crème brûlée\r\n", body(m));

    SimpleContent bad = new SimpleContent("s", latin1, new TextBody("東京", latin1), null, List.of(), List.of());
    SesException e = assertThrows(SesException.class, () -> build(bad, List.of(MailboxParser.parse("a@example.org"))));
    assertEquals(SesError.BAD_REQUEST, e.error());
  }

  @Test
  void attachmentsWithUnicodeNamesAndEncodings() throws IOException {
    byte[] bin = new byte[1000];
    for (int i = 0; i < bin.length; i++) {
      bin[i] = (byte) i;
    }
    String longName = "résumé-" + "ü".repeat(120) + ".pdf";
    SimpleContent c = new SimpleContent("s", StandardCharsets.UTF_8, new TextBody("t", StandardCharsets.UTF_8), null,
        List.of(), List.of(
            new Attachment(bin, longName, null, false, null, null, TransferEncoding.BASE64),
            new Attachment("a=b\r\nc".getBytes(StandardCharsets.US_ASCII), "notes.txt", "text/plain", false, null,
                "Notes", TransferEncoding.QUOTED_PRINTABLE)));
    byte[] msg = build(c, List.of(MailboxParser.parse("a@example.org")));
    assertLinesWithin(msg, 998);
    List<Entity> parts = ((Multipart) parse(msg).getBody()).getBodyParts();
    assertEquals(3, parts.size());
    assertEquals(longName, parts.get(1).getFilename());
    assertEquals("application/pdf", parts.get(1).getMimeType());
    try (InputStream in = ((BinaryBody) parts.get(1).getBody()).getInputStream()) {
      assertArrayEquals(bin, in.readAllBytes());
    }
    assertEquals("quoted-printable", parts.get(2).getContentTransferEncoding());
    assertEquals("a=b\r\nc", body(parts.get(2)));
  }

  /**
   * A boundary is never one a 7bit body has delimiter lines of, nor one the message used already: a caller who guessed
   * the next boundary and wrote its delimiters in the text would otherwise add parts (an .exe) of their own.
   */
  @Test
  void aBoundaryInABodyIsNotUsed() throws IOException {
    String text = "hi\n--=_evil\nContent-Type: application/x-msdownload; name=\"evil.exe\"\n\nTVqQ\n--=_evil--\n";
    SimpleContent c = new SimpleContent("s", StandardCharsets.UTF_8, new TextBody(text, StandardCharsets.UTF_8),
        new TextBody("<p>hi</p>", StandardCharsets.UTF_8), List.of(), List.of(new Attachment(
            "a\r\n--=_evil\r\n".getBytes(StandardCharsets.US_ASCII), "a.txt", "text/plain", false, null, null,
            TransferEncoding.SEVEN_BIT)));
    java.util.Iterator<String> tried = List.of("=_evil", "=_ok1", "=_ok1", "=_ok2").iterator();
    byte[] msg = MimeBuilder.build(new MimeBuilder.Headers(MailboxParser.parse("s@example.com"),
        List.of(MailboxParser.parse("a@example.org")), List.of(), List.of(), "id-1@example.com", DATE), c,
        tried::next);
    String s = new String(msg, StandardCharsets.US_ASCII);
    assertTrue(s.contains("multipart/mixed; boundary=\"=_ok1\""), s);
    assertTrue(s.contains("multipart/alternative; boundary=\"=_ok2\""), s);
    Message m = parse(msg);
    List<Entity> parts = ((Multipart) m.getBody()).getBodyParts();
    assertEquals(2, parts.size(), s);
    List<Entity> alternative = ((Multipart) parts.get(0).getBody()).getBodyParts();
    assertEquals(2, alternative.size(), s);
    assertEquals(text.replace("\n", "\r\n"), body(alternative.get(0)));
    assertEquals("a.txt", parts.get(1).getFilename());
  }

  /**
   * Quoted-printable data that is not text has its CR and LF encoded, not written as line breaks (RFC 2045 6.7 (4)): a
   * reader may turn a line break into its own newline, and the file would change.
   */
  @Test
  void quotedPrintableBinaryDataKeepsItsLineBreakBytes() throws IOException {
    byte[] data = {'a', '\r', '\n', 0, ' ', '\r', '\n', 'b'};
    SimpleContent c = new SimpleContent("s", StandardCharsets.UTF_8, new TextBody("t", StandardCharsets.UTF_8), null,
        List.of(), List.of(new Attachment(data, "a.bin", "application/octet-stream", false, null, null,
            TransferEncoding.QUOTED_PRINTABLE)));
    byte[] msg = build(c, List.of(MailboxParser.parse("a@example.org")));
    String s = new String(msg, StandardCharsets.US_ASCII);
    assertTrue(s.contains("\r\n\r\na=0D=0A=00 =0D=0Ab\r\n--"), s);
    Entity part = ((Multipart) parse(msg).getBody()).getBodyParts().get(1);
    try (InputStream in = ((BinaryBody) part.getBody()).getInputStream()) {
      assertArrayEquals(data, in.readAllBytes());
    }
  }

  /**
   * A custom header's value is SES's printable ASCII, written as given: an encoded word the caller made is not encoded
   * again, a trailing space stays; a field a message has once may be given once.
   */
  @Test
  void customHeadersAreWrittenAsGiven() throws IOException {
    SimpleContent c = new SimpleContent("s", StandardCharsets.UTF_8, new TextBody("x", StandardCharsets.UTF_8), null,
        List.of(new MessageHeader("X-Name", "=?UTF-8?B?w7Y=?="), new MessageHeader("X-Spaced", "a b "),
            new MessageHeader("In-Reply-To", "<parent@example.com>")), List.of());
    String s = new String(build(c, List.of(MailboxParser.parse("a@example.org"))), StandardCharsets.US_ASCII);
    assertTrue(s.contains("\r\nX-Name: =?UTF-8?B?w7Y=?=\r\n"), s);
    assertTrue(s.contains("\r\nX-Spaced: a b \r\n"), s);
    assertTrue(s.contains("\r\nIn-Reply-To: <parent@example.com>\r\n"), s);
    assertEquals("ö", org.apache.james.mime4j.codec.DecoderUtil.decodeEncodedWords(parse(s.getBytes(
        StandardCharsets.US_ASCII)).getHeader().getField("X-Name").getBody(),
        org.apache.james.mime4j.codec.DecodeMonitor.SILENT), "a reader decodes the caller's word once");
    SesException nonAscii = assertThrows(SesException.class, () -> new MessageHeader("Sender", "Jöhn <j@example.com>"));
    assertTrue(nonAscii.getMessage().contains("printable ASCII"), nonAscii.getMessage());
    assertThrows(SesException.class, () -> new MessageHeader("X-Tab", "a\tb"));
    SesException twice = assertThrows(SesException.class, () -> new SimpleContent("s", StandardCharsets.UTF_8,
        new TextBody("x", StandardCharsets.UTF_8), null, List.of(new MessageHeader("In-Reply-To", "<a@b>"),
            new MessageHeader("in-reply-to", "<c@d>")), List.of()));
    assertTrue(twice.getMessage().contains("only once"), twice.getMessage());
    // X- fields may repeat
    new SimpleContent("s", StandardCharsets.UTF_8, new TextBody("x", StandardCharsets.UTF_8), null,
        List.of(new MessageHeader("X-Tag", "a"), new MessageHeader("X-Tag", "b")), List.of());
  }

  /**
   * A Sender header is written as the one mailbox that was checked, not as given: an unquoted display name that holds
   * an address and a comma read as a list whose first address was never verified.
   */
  @Test
  void theSenderHeaderIsWrittenAsTheMailboxChecked() throws IOException {
    SimpleContent c = new SimpleContent("s", StandardCharsets.UTF_8, new TextBody("x", StandardCharsets.UTF_8), null,
        List.of(new MessageHeader("Sender", "ceo@bank.example, <me@verified.example>")), List.of());
    byte[] msg = build(c, List.of(MailboxParser.parse("a@example.org")));
    org.apache.james.mime4j.dom.address.Mailbox sender = parse(msg).getSender();
    assertEquals("me@verified.example", sender.getAddress());
    assertEquals("ceo@bank.example,", sender.getName());
    String s = new String(msg, StandardCharsets.US_ASCII);
    assertTrue(s.contains("\r\nSender: \"ceo@bank.example,\" <me@verified.example>\r\n"), s);
  }

  /** The least size said of a message is never more than the message built: what is refused by it would be anyway. */
  @Test
  void theLeastSizeIsNoMoreThanTheMessage() {
    List<SimpleContent> contents = List.of(text("s", "b"), text("Grüße aus Köln", "body"),
        new SimpleContent("s", StandardCharsets.UTF_8, new TextBody("t", StandardCharsets.UTF_8), null,
            List.of(new MessageHeader("X-A", "b")),
            java.util.Collections.nCopies(50, new Attachment(new byte[0], "a", "a/b", false, null, null,
                TransferEncoding.SEVEN_BIT))),
        new SimpleContent("s", StandardCharsets.UTF_8, null, new TextBody("<p>h</p>", StandardCharsets.UTF_8),
            List.of(), List.of(new Attachment(new byte[] {1}, "a", null, true, "c", null, null))));
    for (SimpleContent c : contents) {
      long least = MimeBuilder.leastSize(c);
      int built = build(c, List.of(MailboxParser.parse("a@example.org"))).length;
      assertTrue(least <= built, least + " > " + built);
    }
  }

  /** RFC 2387 3.1: multipart/related names its root's type. */
  @Test
  void relatedPartsNameTheirRootsType() {
    SimpleContent c = new SimpleContent("s", StandardCharsets.UTF_8, null,
        new TextBody("<img src=\"cid:logo\">", StandardCharsets.UTF_8), List.of(),
        List.of(new Attachment(new byte[] {1, 2}, "logo.png", "image/png", true, "logo", null, null)));
    String s = new String(build(c, List.of(MailboxParser.parse("a@example.org"))), StandardCharsets.US_ASCII);
    assertTrue(s.contains("Content-Type: multipart/related; type=\"text/html\"; boundary="), s);
  }

  /** A MIME text charset writes ASCII as ASCII: UTF-16 and UTF-32 are not (RFC 2046 4.1.1). */
  @Test
  void charsetsThatDoNotWriteAsciiAsAsciiAreRefused() {
    for (String charset : List.of("UTF-16", "UTF-16LE", "UTF-32")) {
      SesException e = assertThrows(SesException.class, () -> TextBody.charset(charset, "Body.Text.Charset"), charset);
      assertTrue(e.getMessage().contains("Unsupported charset"), e.getMessage());
    }
    assertEquals(StandardCharsets.ISO_8859_1, TextBody.charset("ISO-8859-1", "Body.Text.Charset"));
    assertEquals("Shift_JIS", TextBody.charset("Shift_JIS", "Body.Text.Charset").name());
  }

  @Test
  void contentRulesAreEnforced() {
    assertThrows(SesException.class, () -> new MessageHeader("Subject", "x"));
    assertThrows(SesException.class, () -> new MessageHeader("X-Bad:Name", "x"));
    assertThrows(SesException.class, () -> new MessageHeader("X-Inject", "a\r\nBcc: b@example.org"));
    assertThrows(SesException.class, () -> text("bad\nsubject", "b"));
    assertThrows(SesException.class, () -> new SimpleContent("s", StandardCharsets.UTF_8, null, null, null, null));
    SesException exe = assertThrows(SesException.class,
        () -> new Attachment(new byte[1], "virus.exe", null, false, null, null, null));
    assertEquals(SesError.MESSAGE_REJECTED, exe.error());
    assertThrows(SesException.class, () -> new Attachment(new byte[1], "a\r\n.txt", null, false, null, null, null));
    assertThrows(SesException.class, () -> new Attachment(new byte[] {(byte) 0xff}, "b.bin", null, false, null, null,
        TransferEncoding.SEVEN_BIT));
    assertThrows(SesException.class, () -> new Attachment(new byte[1], "a.txt", "text/plain; x=\"y\"", false, null,
        null, null));
    // SES's 78 characters for a ContentType and a ContentId
    new Attachment(new byte[1], "a.bin", "application/" + "x".repeat(66), true, "c".repeat(78), null, null);
    assertThrows(SesException.class, () -> new Attachment(new byte[1], "a.bin", "application/" + "x".repeat(67),
        false, null, null, null));
    assertThrows(SesException.class, () -> new Attachment(new byte[1], "a.bin", null, true, "c".repeat(79), null,
        null));
    // review findings: each of these gave a broken message or a 500
    assertThrows(SesException.class, () -> new Attachment(new byte[1], "a\ud800.pdf", null, false, null, null, null));
    assertThrows(SesException.class, () -> new Attachment(new byte[1], "m.eml", "message/rfc822", false, null, null,
        null), "a composite type cannot be a base64 leaf");
    assertThrows(SesException.class, () -> new Attachment(new byte[1], "m.bin", "Multipart/Mixed", false, null, null,
        null));
    assertEquals("application/octet-stream", new Attachment(new byte[1], "mail.eml", null, false, null, null, null)
        .contentType(), "an .eml is attached as a file");
    assertThrows(SesException.class, () -> text("x".repeat(SimpleContent.MAX_SUBJECT_CHARS + 1), "b"));
  }

  /** A quote in a non-ASCII file name would end name="..." early and let the rest of the name add parameters. */
  @Test
  void aQuoteInANonAsciiFileNameStaysInsideTheParameter() throws IOException {
    String name = "Résumé \"final\"; boundary=\"x\".pdf";
    SimpleContent c = new SimpleContent("s", StandardCharsets.UTF_8, new TextBody("t", StandardCharsets.UTF_8), null,
        List.of(), List.of(new Attachment(new byte[] {1, 2, 3}, name, "application/pdf", false, null, null, null)));
    byte[] msg = build(c, List.of(MailboxParser.parse("a@example.org")));
    Entity part = ((Multipart) parse(msg).getBody()).getBodyParts().get(1);
    assertEquals("application/pdf", part.getMimeType());
    String nameParameter = ((org.apache.james.mime4j.dom.field.ContentTypeField) part.getHeader()
        .getField("Content-Type")).getParameter("name");
    assertEquals(name, org.apache.james.mime4j.codec.DecoderUtil.decodeEncodedWords(nameParameter,
        org.apache.james.mime4j.codec.DecodeMonitor.SILENT), new String(msg, StandardCharsets.ISO_8859_1));
    assertEquals(name, part.getFilename());
  }

  /** Spaces between words, or after the last, must not make a line over 998 octets or a line of only spaces. */
  @Test
  void longRunsOfSpacesInAHeaderAreEncoded() throws IOException {
    for (String subject : List.of("x" + " ".repeat(1000) + "y", "abc" + " ".repeat(100))) {
      byte[] msg = build(text(subject, "b"), List.of(MailboxParser.parse("a@example.org")));
      assertLinesWithin(msg, 998);
      for (String line : new String(msg, StandardCharsets.ISO_8859_1).split("\r\n\r\n")[0].split("\r\n")) {
        assertTrue(!line.isBlank(), "a header line of only spaces");
      }
      assertEquals(subject, parse(msg).getSubject());
    }
  }
}
