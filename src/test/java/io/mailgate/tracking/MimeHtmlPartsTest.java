package io.mailgate.tracking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.Test;

class MimeHtmlPartsTest {
  static final String SHORT = "https://t.test/t/c/abc";
  /** A click-tracking link longer than a 7bit line may be. */
  static final String LONG = "https://t.test/t/c/" + "X".repeat(1500);
  static final UnaryOperator<String> SHORT_LINKS = s -> s.replace("http://example.com", SHORT);
  static final UnaryOperator<String> LONG_LINKS = s -> s.replace("http://example.com", LONG);

  @Test
  void singlePart7bitHtmlIsRewrittenInPlace() throws IOException {
    String head = "From: a@example.com\nTo: b@example.org\nSubject: hi\nMIME-Version: 1.0\n"
        + "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n";
    String body = "<p><a href=\"http://example.com/a\">a</a></p>\n<p>http://example.com/b</p>\n";
    byte[] out = rewrite(bytes(head + body), SHORT_LINKS);
    assertEquals(crlf(head + body).replace("http://example.com", SHORT), string(out));
    assertHtmlParts(out, crlf(body).replace("http://example.com", SHORT));
  }

  /**
   * A message that is one 7bit HTML part, without a MIME-Version, whose line grows past 998 with its links: it becomes
   * quoted-printable, and gets the MIME-Version that makes its new transfer encoding mean anything.
   */
  @Test
  void aWholeMessageMadeQuotedPrintableGetsItsMimeVersion() throws IOException {
    String head = "From: a@example.com\nSubject: hi\nContent-Type: text/html\n\n";
    byte[] out = rewrite(bytes(head + "<a href=\"http://example.com/a\">a</a>\n"), LONG_LINKS);
    String s = string(out);
    assertTrue(s.contains("Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        + "MIME-Version: 1.0\r\n\r\n"), s);
    assertHtmlParts(out, crlf("<a href=\"" + LONG + "/a\">a</a>\n"));
    // one that has it, or a part within a multipart, gets none more
    String declared = "MIME-Version: 1.0\n" + head;
    assertEquals(1, string(rewrite(bytes(declared + "<a href=\"http://example.com/a\">a</a>\n"), LONG_LINKS))
        .split("MIME-Version", -1).length - 1);
  }

  @Test
  void multipartAlternativeRewritesOnlyTheHtml() throws IOException {
    String head = "From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=alt\n\n";
    String plain = "--alt\nContent-Type: text/plain; charset=us-ascii\n\nVisit http://example.com/x\n";
    String html = "--alt\nContent-Type: text/html; charset=us-ascii\n\n<a href=\"http://example.com/x\">x</a>\n";
    String end = "--alt--\n";
    byte[] out = rewrite(bytes(head + plain + html + end), SHORT_LINKS);
    assertEquals(crlf(head + plain + html.replace("http://example.com", SHORT) + end), string(out));
    assertHtmlParts(out, "<a href=\"" + SHORT + "/x\">x</a>");
  }

  @Test
  void nestedMultipartsLeaveAnHtmlAttachmentAlone() throws IOException {
    String head = "From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"mix\"\n\n";
    String alt = "--mix\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n"
        + "--alt\nContent-Type: text/plain\n\nplain http://example.com\n";
    String html = "--alt\nContent-Type: TEXT/HTML; Charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
        + "Content-Disposition: inline\n\n<p>caf\u00e9 http://example.com</p>\n";
    String rest = "--alt--\n\n--mix\nContent-Type: text/html; name=\"page.html\"\n"
        + "Content-Disposition: ATTACHMENT; filename=\"page.html\"\n\n<a href=\"http://example.com\">saved</a>\n--mix--\n";
    byte[] out = rewrite(bytes(head + alt + html + rest), SHORT_LINKS);
    assertEquals(crlf(head + alt + html.replace("http://example.com", SHORT) + rest), string(out));
    assertHtmlParts(out, "<p>caf\u00e9 " + SHORT + "</p>");
  }

  @Test
  void base64StaysBase64() throws IOException {
    String html = "<html><body>" + "<p>Caf\u00e9 <a href=\"http://example.com/p\">link</a></p>\r\n".repeat(5)
        + "</body></html>";
    String encoded = Base64.getMimeEncoder(76, new byte[] {'\r', '\n'})
        .encodeToString(html.getBytes(StandardCharsets.UTF_8));
    String prefix = crlf("From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n"
        + "--b\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n");
    String suffix = crlf("\n\n--b--\n");
    byte[] out = rewrite((prefix + encoded + suffix).getBytes(StandardCharsets.US_ASCII), LONG_LINKS);

    String s = string(out);
    assertTrue(s.startsWith(prefix) && s.endsWith(suffix), s);
    String body = s.substring(prefix.length(), s.length() - suffix.length());
    for (String line : body.split("\r\n")) {
      assertTrue(line.length() <= 76 && line.matches("[A-Za-z0-9+/=]+"), line);
    }
    String expected = html.replace("http://example.com", LONG);
    assertEquals(expected, new String(Base64.getMimeDecoder().decode(body), StandardCharsets.UTF_8));
    assertHtmlParts(out, expected);
  }

  @Test
  void quotedPrintableIsDecodedAndReencodedWithinLineLimits() throws IOException {
    String head = "From: a@example.com\nMIME-Version: 1.0\nContent-Type: text/html; charset=\"utf-8\"\n"
        + "Content-Transfer-Encoding: quoted-printable\n\n";
    String body = "<p>Caf=C3=A9 <a href=3D\"http://example.com/very/long/pa=\nth\">link</a> and a line long enough=\n"
        + " to be broken</p>\n<p>second =3D line</p>\n";
    List<String> seen = new ArrayList<>();
    byte[] out = rewrite(bytes(head + body), s -> {
      seen.add(s);
      return LONG_LINKS.apply(s);
    });
    String decoded = "<p>Caf\u00e9 <a href=\"http://example.com/very/long/path\">link</a> and a line long enough"
        + " to be broken</p>\r\n<p>second = line</p>\r\n";
    assertEquals(List.of(decoded), seen, "the function sees the decoded text, soft breaks joined");

    String s = string(out);
    assertTrue(s.startsWith(crlf(head)), s);
    String encoded = s.substring(crlf(head).length());
    assertTrue(encoded.contains("=3D") && encoded.contains("=C3=A9"), encoded);
    assertLinesAtMost(76, out);
    assertHtmlParts(out, decoded.replace("http://example.com", LONG));
  }

  @Test
  void a7bitPartWithALongLineBecomesQuotedPrintable() throws IOException {
    String head = "From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n";
    String plain = "--b\nContent-Type: text/plain\nContent-Transfer-Encoding: 7bit\n\nsee http://example.com\n";
    String withCte = "--b\nContent-Type: text/html; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n"
        + "Content-ID: <h1@example.com>\n\n";
    String withoutCte = "--b\nContent-Type: text/html;\n charset=utf-8\nContent-ID: <h2@example.com>\n\n";
    String html = "<a href=\"http://example.com/1\">one</a>\n";
    String end = "--b--\n";
    byte[] out = rewrite(bytes(head + plain + withCte + html + withoutCte + html + end), LONG_LINKS);

    String s = string(out);
    assertTrue(s.startsWith(crlf(head + plain)), "other parts and headers unchanged: " + s);
    assertTrue(s.contains(crlf("--b\nContent-Type: text/html; charset=us-ascii\n"
        + "Content-Transfer-Encoding: quoted-printable\nContent-ID: <h1@example.com>\n\n")), s);
    assertTrue(s.contains(crlf("--b\nContent-Type: text/html;\n charset=utf-8\n"
        + "Content-Transfer-Encoding: quoted-printable\nContent-ID: <h2@example.com>\n\n")), s);
    assertTrue(s.endsWith(crlf("\n" + end)), s);
    assertLinesAtMost(76, out);
    String expected = "<a href=\"" + LONG + "/1\">one</a>";
    assertHtmlParts(out, expected, expected);
  }

  @Test
  void bareLineBreaksAddedTo7bitBecomeCrlf() throws IOException {
    String head = "From: a@example.com\nContent-Type: text/html\n\n";
    byte[] out = rewrite(bytes(head + "<p>x</p>\n"), s -> s.replace("</p>", "</p>\n<img src=\"p\">"));
    assertEquals(crlf(head + "<p>x</p>\n<img src=\"p\">\n"), string(out));
  }

  @Test
  void latin1RoundTrips() throws IOException {
    String head = "From: a@example.com\nContent-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n";
    String body = "<p>Caf\u00e9 \u00fcber <a href=\"http://example.com\">x</a></p>\n";
    byte[] in = crlf(head + body).getBytes(StandardCharsets.ISO_8859_1);
    List<String> seen = new ArrayList<>();
    byte[] out = rewrite(in, s -> {
      seen.add(s);
      return s.replace("http://example.com", SHORT + "?n=\u00e9");
    });
    assertEquals(List.of(crlf(body)), seen);
    String expected = crlf(body).replace("http://example.com", SHORT + "?n=\u00e9");
    assertArrayEquals((crlf(head) + expected).getBytes(StandardCharsets.ISO_8859_1), out);
    assertHtmlParts(out, expected);

    assertSame(in, rewrite(in, s -> s.replace("Caf", "\u20ac")), "Latin-1 has no euro sign: untouched");
  }

  /**
   * A part declared us-ascii (or not declared) over 8-bit bytes: read as UTF-8 when they are UTF-8, so that a link's
   * characters are the author's, else as Latin-1, and said to be a guess; either way its bytes come back as they were.
   */
  @Test
  void eightBitBytesUnderAnAsciiLabelAreReadAsUtf8WhenTheyAreUtf8() throws IOException {
    for (String type : new String[] {"text/html", "text/html; charset=us-ascii"}) {
      String head = "From: a@example.com\nContent-Type: " + type + "\nContent-Transfer-Encoding: 8bit\n\n";
      String body = "<p>Caf\u00e9 <a href=\"http://example.com/caf\u00e9\">x</a></p>\n";
      for (java.nio.charset.Charset written : List.of(StandardCharsets.UTF_8, StandardCharsets.ISO_8859_1)) {
        byte[] in = crlf(head + body).getBytes(written);
        List<String> seen = new ArrayList<>();
        List<Boolean> guessed = new ArrayList<>();
        byte[] out = MimeHtmlParts.rewrite(in, (text, charset, charsetGuessed) -> {
          seen.add(text);
          guessed.add(charsetGuessed);
          return text.replace("<p>", "<p>+");
        });
        assertEquals(List.of(crlf(body)), seen, type + " " + written);
        assertEquals(List.of(written.equals(StandardCharsets.ISO_8859_1)), guessed, type + " " + written);
        assertArrayEquals(crlf(head + body.replace("<p>", "<p>+")).getBytes(written), out, type + " " + written);
      }
    }
    byte[] ascii = bytes("Content-Type: text/html; charset=us-ascii\n\n<p>x</p>\n");
    assertSame(ascii, rewrite(ascii, s -> s.replace("x", "\u00e9")), "an ASCII part takes no 8-bit character");
  }

  @Test
  void forwardedMessagesAreNotTracked() throws IOException {
    String head = "From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n\n";
    String outer = "--m\nContent-Type: text/html\n\n<a href=\"http://example.com\">outer</a>\n";
    String forwarded = "--m\nContent-Type: message/rfc822\n\nFrom: x@example.org\nContent-Type: text/html\n\n"
        + "<a href=\"http://example.com\">forwarded</a>\n"
        + "--m\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nFrom: y@example.org\nContent-Type: text/html\n\n"
        + "<a href=\"http://example.com\">digested</a>\n"
        + "--d\nContent-Type: text/html\n\n<a href=\"http://example.com\">in digest</a>\n--d--\n--m--\n";
    byte[] out = rewrite(bytes(head + outer + forwarded), SHORT_LINKS);
    String digestHtml = "<a href=\"http://example.com\">in digest</a>";
    assertEquals(crlf(head + outer.replace("http://example.com", SHORT)
        + forwarded.replace(digestHtml, digestHtml.replace("http://example.com", SHORT))), string(out));
    assertHtmlParts(out, "<a href=\"" + SHORT + "\">outer</a>", "<a href=\"" + SHORT + "\">in digest</a>");
  }

  @Test
  void nothingChangedReturnsTheSameArray() {
    byte[] plain = bytes("From: a@example.com\n\n<a href=\"http://example.com\">plain text by default</a>\n");
    assertSame(plain, rewrite(plain, LONG_LINKS));
    byte[] html = bytes("From: a@example.com\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n"
        + "<p>no links, a soft=\n break</p>\n");
    assertSame(html, rewrite(html, LONG_LINKS));
    assertSame(html, rewrite(html, s -> s));
    assertSame(html, rewrite(html, s -> new String(s.toCharArray())), "an equal text changes nothing");
    assertNotSame(html, rewrite(html, s -> s + "<img>"));
  }

  @Test
  void whatCannotBeParsedIsLeftAlone() {
    String link = "<a href=\"http://example.com\">x</a>\n";
    List<String> malformed = List.of(
        // no close delimiter
        "Content-Type: multipart/alternative; boundary=alt\n\n--alt\nContent-Type: text/html\n\n" + link
            + "--alt\nContent-Type: text/plain\n\ncut off",
        // no boundary parameter
        "Content-Type: multipart/alternative\n\n--alt\nContent-Type: text/html\n\n" + link + "--alt--\n",
        // header block not terminated
        "From: a@example.com\nContent-Type: text/html\n",
        "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/html\n" + link + "--m--\n",
        // a malformed header line in the part
        "Content-Type: multipart/mixed; boundary=m\n\n--m\nnot a header\nContent-Type: text/html\n\n" + link + "--m--\n",
        // charsets not known, or not matching the bytes
        "Content-Type: text/html; charset=x-no-such-charset\n\n" + link,
        "Content-Type: text/html; charset=utf-8\n\n\u00ff" + link,
        // an encoding not known
        "Content-Type: text/html\nContent-Transfer-Encoding: x-uuencode\n\n" + link);
    for (String m : malformed) {
      byte[] in = crlf(m).getBytes(StandardCharsets.ISO_8859_1);
      assertSame(in, rewrite(in, LONG_LINKS), m);
    }
  }

  @Test
  void aRewriteThatWouldWriteADelimiterIsDropped() {
    byte[] in = bytes("Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/html\n\n<p>x</p>\n--m--\n");
    assertSame(in, rewrite(in, s -> s.replace("<p>", "--m\n<p>")));
    byte[] ambiguous = bytes("Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/html\n\n"
        + "<p>http://example.com</p>\n--mX\n<p>x</p>\n--m--\n");
    assertSame(ambiguous, rewrite(ambiguous, LONG_LINKS), "--mX is a delimiter to some parsers");
  }

  @Test
  void nestingIsFollowedTo16Levels() throws IOException {
    byte[] shallow = nested(10);
    byte[] out = rewrite(shallow, SHORT_LINKS);
    assertEquals(string(shallow).replace("http://example.com", SHORT), string(out));
    byte[] deep = nested(17);
    assertSame(deep, rewrite(deep, SHORT_LINKS));
  }

  @Test
  void signedAndEncryptedMultipartsAreTheSendersAndLeftAlone() throws IOException {
    for (String type : new String[] {"signed; protocol=\"application/pkcs7-signature\"", "encrypted"}) {
      byte[] signed = bytes("Content-Type: multipart/" + type + "; boundary=s\n\n--s\nContent-Type: text/html\n\n"
          + "<a href=\"http://example.com\">x</a>\n--s\nContent-Type: application/pkcs7-signature\n\nMIAG\n--s--\n");
      assertSame(signed, rewrite(signed, SHORT_LINKS), type);
    }
  }

  @Test
  void quotedBoundaryAndWhitespaceAfterDelimiters() throws IOException {
    String head = "From: a@example.com\nContent-Type: multipart/alternative;\n\tboundary=\"=_a;b c\"; x=y\n\n";
    String parts = "--=_a;b c \t\nContent-Type: text/plain\n\nhttp://example.com\n"
        + "--=_a;b c  \nContent-Type: text/html\n\n<a href=\"http://example.com\">x</a>\n--=_a;b c--  \n";
    byte[] out = rewrite(bytes(head + parts), SHORT_LINKS);
    String html = "<a href=\"http://example.com\">x</a>";
    assertEquals(crlf(head + parts.replace(html, html.replace("http://example.com", SHORT))), string(out));
    assertHtmlParts(out, html.replace("http://example.com", SHORT));
  }

  @Test
  void preambleAndEpilogueAreKept() throws IOException {
    String head = "From: a@example.com\nContent-Type: multipart/alternative; boundary=b\n\n";
    String preamble = "This is a MIME message, see http://example.com\n\n";
    String html = "--b\nContent-Type: text/html\n\n<a href=\"http://example.com\">x</a>\n";
    String epilogue = "--b--\nEpilogue http://example.com\n--b\nContent-Type: text/html\n\nhttp://example.com\n";
    byte[] out = rewrite(bytes(head + preamble + html + epilogue), SHORT_LINKS);
    assertEquals(crlf(head + preamble + html.replace("http://example.com", SHORT) + epilogue), string(out));
    assertHtmlParts(out, "<a href=\"" + SHORT + "\">x</a>");
  }

  @Test
  void neverThrowsOnTruncatedOrDamagedMessages() {
    byte[] whole = bytes("From: a@example.com\nContent-Type: multipart/mixed; boundary=\"m\"\n\n--m\n"
        + "Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/html; charset=utf-8\n"
        + "Content-Transfer-Encoding: quoted-printable\n\n<a href=3D\"http://example.com\">x</a>=\n\n--a\n"
        + "Content-Type: text/html\nContent-Transfer-Encoding: base64\n\n"
        + Base64.getEncoder().encodeToString(bytes("<a href=\"http://example.com\">y</a>")) + "\n--a--\n--m--\n");
    for (int i = 0; i <= whole.length; i++) {
      rewrite(Arrays.copyOf(whole, i), LONG_LINKS);
    }
    String meaningful = "\r\n-=\"; :aAbm";
    Random random = new Random(42);
    for (int i = 0; i < 2000; i++) {
      byte[] damaged = whole.clone();
      for (int j = 0; j < 3; j++) {
        damaged[random.nextInt(damaged.length)] = (byte) meaningful.charAt(random.nextInt(meaningful.length()));
      }
      rewrite(damaged, LONG_LINKS);
    }
    assertNotSame(whole, rewrite(whole, LONG_LINKS));
  }

  @Test
  void aFortyMegabyteMessageTakesLinearTime() {
    ByteArrayOutputStream msg = new ByteArrayOutputStream(42 << 20);
    msg.writeBytes(bytes("From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n\n--m\n"
        + "Content-Type: text/html\n\n<a href=\"http://example.com\">x</a>\n--m\n"
        + "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"));
    int attachmentStart = msg.size();
    byte[] random = new byte[28 << 20];
    new Random(1).nextBytes(random);
    msg.writeBytes(Base64.getMimeEncoder(76, new byte[] {'\r', '\n'}).encode(random));
    int attachmentEnd = msg.size();
    msg.writeBytes(bytes("\n--m--\n"));
    byte[] in = msg.toByteArray();

    long start = System.nanoTime();
    byte[] out = rewrite(in, LONG_LINKS);
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(millis < 10_000, millis + " ms");
    int grown = out.length - in.length;
    assertTrue(grown > 1500, "the HTML part was rewritten");
    assertTrue(Arrays.equals(in, attachmentStart, attachmentEnd, out, attachmentStart + grown, attachmentEnd + grown));
  }

  /** {@code depth} multiparts, each in the one before, with an HTML part innermost. */
  private static byte[] nested(int depth) {
    StringBuilder sb = new StringBuilder("From: a@example.com\n");
    for (int i = 0; i < depth; i++) {
      sb.append("Content-Type: multipart/mixed; boundary=b").append(i).append("\n\n--b").append(i).append('\n');
    }
    sb.append("Content-Type: text/html\n\n<a href=\"http://example.com\">x</a>\n");
    for (int i = depth - 1; i >= 0; i--) {
      sb.append("--b").append(i).append("--\n");
    }
    return bytes(sb.toString());
  }

  /** Parses {@code message} with mime4j and checks the decoded text of its HTML parts, in order. */
  private static void assertHtmlParts(byte[] message, String... expected) throws IOException {
    Message m = new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(message));
    List<String> found = new ArrayList<>();
    collectHtml(m, found);
    assertEquals(List.of(expected), found);
  }

  private static void collectHtml(Entity e, List<String> found) throws IOException {
    if (e.getBody() instanceof Multipart mp) {
      for (Entity part : mp.getBodyParts()) {
        collectHtml(part, found);
      }
    } else if (e.getBody() instanceof TextBody body && e.getMimeType().equals("text/html")
        && !"attachment".equals(e.getDispositionType())) {
      try (InputStream in = body.getInputStream()) {
        found.add(new String(in.readAllBytes(), e.getCharset() == null ? "US-ASCII" : e.getCharset()));
      }
    }
  }

  private static void assertLinesAtMost(int max, byte[] message) {
    for (String line : string(message).split("\r\n")) {
      assertTrue(line.length() <= max, line.length() + ": " + line);
    }
  }

  private static String crlf(String s) {
    return s.replace("\n", "\r\n");
  }

  /** {@link MimeHtmlParts#rewrite} with a function of the part's text alone. */
  private static byte[] rewrite(byte[] message, UnaryOperator<String> f) {
    return MimeHtmlParts.rewrite(message, (text, charset, charsetGuessed) -> f.apply(text));
  }

  private static byte[] bytes(String s) {
    return crlf(s).getBytes(StandardCharsets.UTF_8);
  }

  private static String string(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
