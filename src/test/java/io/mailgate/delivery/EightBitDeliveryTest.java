package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.metrics.Metrics;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.Jdkim;
import io.mailgate.testing.RawSends;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.SingleBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;

/**
 * RFC 6152 end to end: one raw 8-bit message to a server that offers 8BITMIME and to one that does not (direct
 * delivery, each domain's MX a server of the test). The first gets it byte for byte with BODY=8BITMIME; the second
 * gets it in 7 bits, without BODY=8BITMIME, and reads the same text from it. A message with 8-bit header fields is
 * not sent to the second at all, and is declared SMTPUTF8 (RFC 6531) to a third that offers it. A message Mailgate DKIM-signs is made 7-bit before it is signed (RFC 6376 5.3):
 * both servers get the same bytes, and the signature verifies at both.
 */
class EightBitDeliveryTest {
  static final String TEXT = "Grüße aus Köln — ça va? 東京\r\n.\r\n.dot line ö\r\n" + "lang ".repeat(30) + "ü \r\n";
  static final String HTML = "<p>Grüße <b>ünïcode</b></p>\r\n";

  static FakeDnsServer dns;
  static RecordingSmtpServer modern;
  static RecordingSmtpServer old;
  /** Offers SMTPUTF8 too. */
  static RecordingSmtpServer intl;
  static TestNode node;
  static SesV2Client ses;
  /** signed.example's DKIM key record, in place of DNS for jDKIM. */
  static Map<String, String> dkim;

  @BeforeAll
  static void start() throws IOException {
    int port = EmbeddedServices.freePort();
    modern = new RecordingSmtpServer(InetAddress.getByName("127.0.0.21"), port);
    old = new RecordingSmtpServer(InetAddress.getByName("127.0.0.22"), port)
        .extensions("PIPELINING\r\n250-SIZE 52428800\r\n250 ENHANCEDSTATUSCODES");
    intl = new RecordingSmtpServer(InetAddress.getByName("127.0.0.23"), port)
        .extensions("PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES");
    dns = FakeDnsServer.start().defaultTtl(1).soa(1, 1);
    dns.mx("modern.example", 10, "mx.modern.example").a("mx.modern.example", "127.0.0.21");
    dns.mx("old.example", 10, "mx.old.example").a("mx.old.example", "127.0.0.22");
    dns.mx("intl.example", 10, "mx.intl.example").a("mx.intl.example", "127.0.0.23");
    node = TestNode.start("", c -> c
        .with(MailgateConfig.DELIVERY_MODE, "direct")
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
        .with(MailgateConfig.SEND_MAX_MESSAGE_BYTES, 300_000));
    ses = node.sesV2();
    ses.createEmailIdentity(r -> r.emailIdentity("signed.example"));
    dkim = Map.ofEntries(Jdkim.publishedKey(node, "signed.example"));
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    modern.close();
    old.close();
    intl.close();
    dns.close();
  }

  static String sendRaw(byte[] raw) {
    return ses.sendEmail(r -> r.destination(d -> d.toAddresses("a@modern.example", "b@old.example"))
        .content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(raw))))).messageId();
  }

  static JsonObject awaitFinal(String id) {
    return Await.until(() -> node.message(id), m -> m.getJsonArray("Recipients").stream()
        .noneMatch(r -> ((JsonObject) r).getString("Status").equals("QUEUED")), Duration.ofSeconds(30));
  }

  /** What {@code server} received of the message {@code id} (its Message-ID is ours, as in SES). */
  static RecordingSmtpServer.Received received(RecordingSmtpServer server, String id) {
    return server.received().stream().filter(r -> r.text().contains("<" + id + "@")).findFirst().orElseThrow();
  }

  @Test
  void convertedForTheServerWithout8BitMimeAndSentAsItIsToTheOther() throws IOException {
    String raw = "From: sender@example.com\r\nTo: a@modern.example, b@old.example\r\nSubject: eight bit\r\n"
        + "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <eight-bit-e2e@example.com>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
        + "--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + TEXT
        + "\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + HTML
        + "\r\n--b1--\r\n";
    byte[] bytes = raw.getBytes(StandardCharsets.UTF_8);
    long convertedBefore = conversions("converted");
    long refusedBefore = conversions("refused");
    String id = sendRaw(bytes);
    JsonObject status = awaitFinal(id);
    for (Object r : status.getJsonArray("Recipients")) {
      assertEquals("DELIVERED", ((JsonObject) r).getString("Status"), status.encode());
    }

    RecordingSmtpServer.Received asIs = received(modern, id);
    assertArrayEquals(RawSends.asSent(bytes, id, asIs.data()), asIs.data(),
        "an unsigned message is kept as its sender wrote it (its Message-ID and Date SES's): " + asIs.text());
    assertTrue(asIs.mailParams().contains("BODY=8BITMIME"), asIs.mailParams());
    raw = RawSends.asSent(raw, id, asIs.data());

    RecordingSmtpServer.Received converted = received(old, id);
    assertFalse(converted.mailParams().contains("BODY"), converted.mailParams());
    for (byte b : converted.data()) {
      assertTrue(b > 0, "an 8-bit byte went to a server without 8BITMIME: " + converted.text());
    }
    String text = new String(converted.data(), StandardCharsets.US_ASCII);
    assertTrue(text.startsWith(raw.substring(0, raw.indexOf("--b1\r\n"))), "headers as they were: " + text);
    assertTrue(text.contains("Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe"), text);
    Message m = new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(converted.data()));
    Multipart mp = (Multipart) m.getBody();
    assertEquals(TEXT, decoded(mp.getBodyParts().get(0).getBody()));
    assertEquals(HTML, decoded(mp.getBodyParts().get(1).getBody()));
    // the node's counters count every test's attempts: this message's conversion is the one it added
    assertEquals(convertedBefore + 1, conversions("converted"), metrics());
    assertEquals(refusedBefore, conversions("refused"), metrics());
  }

  @Test
  void aSignedMessageIsConvertedBeforeSigningAndVerifiesAtBothServers() throws IOException {
    String raw = "From: news@signed.example\r\nTo: a@modern.example, b@old.example\r\nSubject: signed eight bit\r\n"
        + "Message-ID: <eight-bit-signed@signed.example>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + TEXT;
    String id = sendRaw(raw.getBytes(StandardCharsets.UTF_8));
    JsonObject status = awaitFinal(id);
    for (Object r : status.getJsonArray("Recipients")) {
      assertEquals("DELIVERED", ((JsonObject) r).getString("Status"), status.encode());
    }

    RecordingSmtpServer.Received withMime = received(modern, id);
    RecordingSmtpServer.Received without = received(old, id);
    assertNull(Jdkim.verify(without.data(), dkim));
    assertNull(Jdkim.verify(withMime.data(), dkim));
    assertArrayEquals(withMime.data(), without.data(), "one signed form for every recipient");
    for (byte b : without.data()) {
      assertTrue(b > 0, "8-bit byte in what was signed: " + without.text());
    }
    assertFalse(withMime.mailParams().contains("BODY"), withMime.mailParams());
    assertTrue(without.text().contains("Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe"),
        without.text());
    Message m = new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(without.data()));
    assertEquals(TEXT, decoded(m.getBody()));
  }

  /**
   * 8-bit header fields (RFC 6532) cannot be converted: the message is signed as it is, and the servers with 8BITMIME
   * get it 8-bit and verifiable. The one that offers SMTPUTF8 gets it declared so (RFC 6531 3.4); the one that does not
   * gets it all the same, with BODY=8BITMIME, as Postfix sends a message whose sender did not ask for SMTPUTF8
   * (README, Delivery). A message whose 8-bit bytes are only in its body is not declared SMTPUTF8.
   */
  @Test
  void aSignedMessageWith8BitHeadersIsSignedAsItIsAndDeclaredSmtpUtf8WhereOffered() {
    String raw = "From: news@signed.example\r\nTo: a@modern.example, c@intl.example\r\nSubject: Grüße\r\n"
        + "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <eight-bit-headers-signed@signed.example>\r\n\r\n"
        + "Grüße\r\n";
    byte[] bytes = raw.getBytes(StandardCharsets.UTF_8);
    String id = ses.sendEmail(r -> r.destination(d -> d.toAddresses("a@modern.example", "c@intl.example"))
        .content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(bytes))))).messageId();
    for (Object r : awaitFinal(id).getJsonArray("Recipients")) {
      assertEquals("DELIVERED", ((JsonObject) r).getString("Status"));
    }

    RecordingSmtpServer.Received declared = received(intl, id);
    assertTrue(declared.mailParams().endsWith(" BODY=8BITMIME SMTPUTF8"), declared.mailParams());
    RecordingSmtpServer.Received got = received(modern, id);
    assertTrue(got.mailParams().endsWith(" BODY=8BITMIME"), "not offered, not declared: " + got.mailParams());
    assertArrayEquals(got.data(), declared.data());
    String text = new String(got.data(), StandardCharsets.UTF_8);
    assertTrue(text.startsWith("DKIM-Signature:") && text.endsWith(RawSends.asSent(raw, id, got.data())), text);
    assertNull(Jdkim.verify(got.data(), dkim));

    String bodyOnly = "From: sender@example.com\r\nTo: c@intl.example\r\nSubject: plain\r\n"
        + "Message-ID: <eight-bit-body-intl@example.com>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n";
    String other = ses.sendEmail(r -> r.destination(d -> d.toAddresses("c@intl.example"))
        .content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(bodyOnly.getBytes(StandardCharsets.UTF_8))))))
        .messageId();
    assertEquals("DELIVERED", awaitFinal(other).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    String params = received(intl, other).mailParams();
    assertTrue(params.contains("BODY=8BITMIME") && !params.contains("SMTPUTF8"), params);
  }

  /**
   * UTF-8 only in a MIME part's header fields (an attachment's filename, RFC 6532 as a mail program writes it) makes
   * the message an internationalized one as UTF-8 in its own would: the server that offers SMTPUTF8 gets it declared;
   * the one with 8BITMIME alone gets it as it is, with BODY=8BITMIME; the one without 8BITMIME gets nothing and the
   * recipient bounces 5.6.7, as for a Subject in UTF-8.
   */
  @Test
  void utf8InAPartsHeaderFieldsIsDeclaredSmtpUtf8AsInTheMessagesOwn() {
    String raw = "From: sender@example.com\r\nTo: c@intl.example\r\nSubject: CV\r\n"
        + "Message-ID: <part-headers-utf8@example.com>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        + "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nMy CV is attached.\r\n"
        + "--b1\r\nContent-Type: application/pdf; name=\"résumé.pdf\"\r\n"
        + "Content-Disposition: attachment; filename=\"résumé.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + "JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n--b1--\r\n";
    byte[] bytes = raw.getBytes(StandardCharsets.UTF_8);
    long refusedBefore = conversions("refused");
    String id = ses.sendEmail(r -> r.destination(d -> d.toAddresses("c@intl.example", "a@modern.example",
        "b@old.example")).content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(bytes))))).messageId();
    JsonObject status = awaitFinal(id);

    RecordingSmtpServer.Received declared = received(intl, id);
    assertTrue(declared.mailParams().endsWith(" BODY=8BITMIME SMTPUTF8"), declared.mailParams());
    RecordingSmtpServer.Received got = received(modern, id);
    assertTrue(got.mailParams().endsWith(" BODY=8BITMIME"), "not offered, not declared: " + got.mailParams());
    assertArrayEquals(RawSends.asSent(bytes, id, got.data()), got.data(), "as its sender wrote it: " + got.text());
    assertArrayEquals(got.data(), declared.data());
    for (Object o : status.getJsonArray("Recipients")) {
      JsonObject r = (JsonObject) o;
      assertEquals(r.getString("Address").equals("b@old.example") ? "BOUNCED" : "DELIVERED", r.getString("Status"),
          status.encode());
    }
    String bounce = status.getJsonArray("Events").stream().map(o -> ((JsonObject) o))
        .filter(e -> e.getString("eventType").equals("Bounce")).findFirst().orElseThrow().encode();
    assertTrue(bounce.contains("554 5.6.7 Message has 8-bit headers"), bounce);
    assertEquals(refusedBefore + 1, conversions("refused"), metrics());
  }

  /**
   * A message its sender signed already keeps its 8-bit body: converting it would break the sender's signature at
   * every server. Ours then verifies at the server with 8BITMIME, which gets the body as it was written.
   */
  @Test
  void aMessageItsSenderSignedKeepsIts8BitBody() {
    String raw = "DKIM-Signature: v=1; a=rsa-sha256; d=signed.example; s=own; h=from; bh=AAAA; b=AAAA\r\n"
        + "From: news@signed.example\r\nTo: a@modern.example\r\nSubject: sender signed\r\n"
        + "Message-ID: <eight-bit-sender-signed@signed.example>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + TEXT;
    byte[] bytes = raw.getBytes(StandardCharsets.UTF_8);
    String id = ses.sendEmail(r -> r.destination(d -> d.toAddresses("a@modern.example"))
        .content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(bytes))))).messageId();
    assertEquals("DELIVERED", awaitFinal(id).getJsonArray("Recipients").getJsonObject(0).getString("Status"));

    RecordingSmtpServer.Received got = received(modern, id);
    assertTrue(got.mailParams().contains("BODY=8BITMIME"), got.mailParams());
    String text = new String(got.data(), StandardCharsets.UTF_8);
    String sent = RawSends.asSent(raw, id, got.data());
    assertTrue(text.endsWith(sent.substring(sent.indexOf("From:"))), text);
    assertNull(Jdkim.verify(got.data(), dkim));
  }

  /**
   * Conversion can make a message larger (base64 for mostly 8-bit text): one it takes past send.maxMessageBytes is
   * refused like any other too large (400). This one is over 256 KB, converted on a worker thread.
   */
  @Test
  void aSignedMessageThatConversionMakesTooLargeIsRefused() {
    String raw = "From: news@signed.example\r\nTo: a@modern.example\r\nSubject: large\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + ("ü".repeat(38) + "\r\n").repeat(3_500);
    byte[] bytes = raw.getBytes(StandardCharsets.UTF_8);
    assertTrue(bytes.length > 256 * 1024 && bytes.length < 300_000, "size " + bytes.length);
    BadRequestException e = assertThrows(BadRequestException.class, () -> ses.sendEmail(r -> r
        .destination(d -> d.toAddresses("a@modern.example"))
        .content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(bytes))))));
    assertTrue(e.awsErrorDetails().errorMessage().startsWith("Message length is more than 300000 bytes long"),
        e.awsErrorDetails().errorMessage());
  }

  /**
   * Raw UTF-8 in a header field is RFC 6532's, for SMTPUTF8 servers; no conversion of the body helps. The server
   * without 8BITMIME gets nothing (not even MAIL FROM), and the recipient bounces 5.6.7, as a matter of content: not
   * Permanent, so the address is not suppressed.
   */
  @Test
  void eightBitHeadersBounceForTheServerWithout8BitMime() {
    String raw = "From: sender@example.com\r\nTo: a@modern.example, b@old.example\r\nSubject: Grüße\r\n"
        + "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <eight-bit-headers@example.com>\r\n\r\nbody\r\n";
    long mailsBefore = old.commands().stream().filter(c -> c.startsWith("MAIL")).count();
    long convertedBefore = conversions("converted");
    long refusedBefore = conversions("refused");
    String id = sendRaw(raw.getBytes(StandardCharsets.UTF_8));
    JsonObject status = awaitFinal(id);

    assertTrue(received(modern, id).mailParams().contains("BODY=8BITMIME"));
    assertEquals(mailsBefore, old.commands().stream().filter(c -> c.startsWith("MAIL")).count(), old.commands()
        .toString());
    JsonObject bounce = null;
    for (Object o : status.getJsonArray("Events")) {
      if (((JsonObject) o).getString("eventType").equals("Bounce")) {
        bounce = ((JsonObject) o).getJsonObject("bounce");
      }
    }
    assertTrue(bounce != null, status.encode());
    assertEquals("Transient", bounce.getString("bounceType"), bounce.encode());
    assertEquals("ContentRejected", bounce.getString("bounceSubType"), bounce.encode());
    JsonObject recipient = bounce.getJsonArray("bouncedRecipients").getJsonObject(0);
    assertEquals("b@old.example", recipient.getString("emailAddress"));
    assertTrue(recipient.getString("diagnosticCode").contains("554 5.6.7"), recipient.encode());
    assertTrue(recipient.getString("diagnosticCode").contains("8-bit headers"), recipient.encode());
    assertEquals(refusedBefore + 1, conversions("refused"), metrics());
    assertEquals(convertedBefore, conversions("converted"), metrics());
  }

  static String metrics() {
    return Metrics.of(node.vertx()).render(new Metrics.Gauges(0, 0, 0, 0, 0));
  }

  /** The node's mailgate_delivery_8bit_conversions_total with {@code result} so far (every test's attempts). */
  static long conversions(String result) {
    String sample = "mailgate_delivery_8bit_conversions_total{result=\"" + result + "\"} ";
    for (String line : metrics().split("\n")) {
      if (line.startsWith(sample)) {
        return Long.parseLong(line.substring(sample.length()).strip());
      }
    }
    throw new AssertionError("no " + sample + "in " + metrics());
  }

  static String decoded(org.apache.james.mime4j.dom.Body body) throws IOException {
    try (InputStream in = ((SingleBody) body).getInputStream()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
