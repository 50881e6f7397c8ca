package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.james.mime4j.dom.BinaryBody;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.dom.address.Mailbox;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AttachmentContentDisposition;
import software.amazon.awssdk.services.sesv2.model.SendEmailResponse;

/**
 * SendEmail end to end through the real AWS SDK: what arrives at the relay over SMTP (envelope,
 * headers, MIME parts re-parsed with mime4j) and what the message's status says.
 */
class SendEmailTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer()
        .onRcpt(rcpt -> rcpt.startsWith("nobody@") ? "550 5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown"
            : rcpt.startsWith("nul@") ? "550 5.1.1 No\u0000 such\u0001 user\u007f" : "250 2.1.5 Ok");
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    ses.createConfigurationSet(r -> r.configurationSetName("transactional"));
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  private static RecordingSmtpServer.Received awaitReceived(String rcpt, String subjectFragment) {
    return Await.until(() -> relay.received().stream()
            .filter(r -> r.rcptTo().contains(rcpt) && r.text().contains(subjectFragment)).findFirst().orElse(null),
        r -> r != null, Duration.ofSeconds(20));
  }

  private static Message parse(byte[] data) throws IOException {
    return new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(data));
  }

  private static String text(Entity e) throws IOException {
    TextBody body = (TextBody) e.getBody();
    try (InputStream in = body.getInputStream()) {
      return new String(in.readAllBytes(), e.getCharset() == null ? "US-ASCII" : e.getCharset());
    }
  }

  @Test
  void simpleTextIsDeliveredWithAWellFormedMessage() throws IOException {
    SendEmailResponse resp = ses.sendEmail(r -> r
        .fromEmailAddress("Sender <sender@example.com>")
        .destination(d -> d.toAddresses("alice@example.org"))
        .replyToAddresses("replies@example.com")
        .emailTags(t -> t.name("campaign").value("welcome"))
        .configurationSetName("transactional")
        .content(c -> c.simple(m -> m
            .subject(s -> s.data("Plain hello"))
            .body(b -> b.text(t -> t.data("Hello Alice,\nthis is plain text.\n"))))));
    String id = resp.messageId();
    assertTrue(id.matches("0100[0-9a-f]{12}-[0-9a-f-]{36}-000000"), id);

    RecordingSmtpServer.Received got = awaitReceived("alice@example.org", "Plain hello");
    assertEquals("sender@example.com", got.mailFrom());
    assertEquals(List.of("alice@example.org"), got.rcptTo());
    Message m = parse(got.data());
    assertEquals("Plain hello", m.getSubject());
    assertEquals("sender@example.com", m.getFrom().get(0).getAddress());
    assertEquals("Sender", m.getFrom().get(0).getName());
    assertEquals("alice@example.org", ((Mailbox) m.getTo().get(0)).getAddress());
    assertEquals("replies@example.com", ((Mailbox) m.getReplyTo().get(0)).getAddress());
    assertEquals("<" + id + "@email.mailgate.local>", m.getHeader().getField("Message-ID").getBody().strip());
    assertNotNull(m.getDate());
    assertEquals("1.0", m.getHeader().getField("MIME-Version").getBody().strip());
    assertEquals("text/plain", m.getMimeType());
    assertEquals("Hello Alice,\r\nthis is plain text.\r\n", text(m));
    assertWireFormat(got.data());

    JsonObject status = node.awaitOutcomes(id, 1);
    assertEquals("DELIVERED", status.getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    JsonArray events = status.getJsonArray("Events");
    assertEquals("Send", events.getJsonObject(0).getString("eventType"));
    JsonObject delivery = events.getJsonObject(1);
    assertEquals("Delivery", delivery.getString("eventType"));
    assertEquals(List.of("alice@example.org"), delivery.getJsonObject("delivery").getJsonArray("recipients").getList());
    assertTrue(delivery.getJsonObject("delivery").getString("smtpResponse").startsWith("250 2.0.0"));
    JsonObject mail = delivery.getJsonObject("mail");
    assertEquals(id, mail.getString("messageId"));
    assertEquals("sender@example.com", mail.getString("source"));
    assertEquals("000000000000", mail.getString("sendingAccountId"));
    assertEquals(List.of("alice@example.org"), mail.getJsonArray("destination").getList());
    assertEquals("Plain hello", mail.getJsonObject("commonHeaders").getString("subject"));
    assertEquals(id, mail.getJsonObject("commonHeaders").getString("messageId"), "the SES message ID, as SES has it");
    for (String t : List.of(mail.getString("timestamp"), delivery.getJsonObject("delivery").getString("timestamp"))) {
      assertTrue(t.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"), "SES's timestamps: " + t);
    }
    assertEquals(List.of("transactional"), mail.getJsonObject("tags").getJsonArray("ses:configuration-set").getList());
    assertEquals(List.of("welcome"), mail.getJsonObject("tags").getJsonArray("campaign").getList());
  }

  @Test
  void htmlTextAttachmentAndNonAsciiSubject() throws IOException {
    String subject = "Grüße aus Köln — 東京からこんにちは, a subject long enough to need folding across several lines";
    byte[] pdf = new byte[3000];
    for (int i = 0; i < pdf.length; i++) {
      pdf[i] = (byte) (i * 31);
    }
    byte[] logo = "PNG-bytes".getBytes(StandardCharsets.US_ASCII);
    String id = ses.sendEmail(r -> r
        .fromEmailAddress("José Núñez <jose@example.com>")
        .destination(d -> d.toAddresses("bob@example.org").ccAddresses("carol@example.org"))
        .content(c -> c.simple(m -> m
            .subject(s -> s.data(subject).charset("UTF-8"))
            .body(b -> b.text(t -> t.data("Grüße in text")).html(h -> h.data("<p>Grüße in <b>HTML</b> <img src=\"cid:logo\"></p>")))
            .attachments(a -> a.fileName("report.pdf").contentType("application/pdf").rawContent(SdkBytes.fromByteArray(pdf)),
                a -> a.fileName("logo.png").contentType("image/png").contentDisposition(AttachmentContentDisposition.INLINE)
                    .contentId("logo").rawContent(SdkBytes.fromByteArray(logo))))))
        .messageId();

    RecordingSmtpServer.Received toBob = awaitReceived("bob@example.org", "Subject:");
    awaitReceived("carol@example.org", "Subject:");
    assertWireFormat(toBob.data());
    Message m = parse(toBob.data());
    assertEquals(subject, m.getSubject());
    assertEquals("José Núñez", m.getFrom().get(0).getName());
    assertEquals("multipart/mixed", m.getMimeType());
    List<Entity> parts = ((Multipart) m.getBody()).getBodyParts();
    assertEquals(2, parts.size());
    assertEquals("multipart/alternative", parts.get(0).getMimeType());
    List<Entity> alternatives = ((Multipart) parts.get(0).getBody()).getBodyParts();
    assertEquals("text/plain", alternatives.get(0).getMimeType());
    assertEquals("Grüße in text", text(alternatives.get(0)));
    assertEquals("multipart/related", alternatives.get(1).getMimeType());
    List<Entity> related = ((Multipart) alternatives.get(1).getBody()).getBodyParts();
    assertEquals("text/html", related.get(0).getMimeType());
    assertTrue(text(related.get(0)).contains("Grüße in <b>HTML</b>"));
    assertEquals("image/png", related.get(1).getMimeType());
    assertEquals("inline", related.get(1).getDispositionType());
    assertEquals("<logo>", related.get(1).getHeader().getField("Content-ID").getBody().strip());
    Entity attachment = parts.get(1);
    assertEquals("application/pdf", attachment.getMimeType());
    assertEquals("attachment", attachment.getDispositionType());
    assertEquals("report.pdf", attachment.getFilename());
    assertArrayEquals(pdf, bytes((BinaryBody) attachment.getBody()));

    JsonObject status = node.awaitOutcomes(id, 2);
    assertEquals(2, status.getJsonArray("Recipients").size());
    assertEquals(subject, status.getJsonArray("Events").getJsonObject(0).getJsonObject("mail")
        .getJsonObject("commonHeaders").getString("subject"));
  }

  private static byte[] bytes(BinaryBody body) throws IOException {
    try (InputStream in = body.getInputStream()) {
      return in.readAllBytes();
    }
  }

  /**
   * A send naming an EndpointId (SES multi-region endpoints) is signed with SigV4a by the SDK: taken like any other,
   * with only the endpoint changed (Mailgate is every region; the EndpointId names nothing here).
   */
  @Test
  void aSendNamingAnEndpointIdIsSignedWithSigV4aAndAccepted() {
    String id = ses.sendEmail(r -> r.endpointId("abc123.def456").fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("multi-region@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Through an endpoint id"))
            .body(b -> b.text(t -> t.data("x")))))).messageId();
    assertNotNull(id);
    awaitReceived("multi-region@example.org", "Through an endpoint id");
  }

  @Test
  void rawMessageIsSentAsGivenWithoutItsBccHeader() throws IOException {
    String raw = "From: Raw Sender <raw@example.com>\n"
        + "To: dave@example.org\n"
        + "Bcc: hidden@example.org\n"
        + "Subject: Raw message\n"
        + "X-Custom: kept as is\n"
        + "Content-Type: text/plain; charset=us-ascii\n"
        + "\n"
        + "Line one\n"
        + ".line starting with a dot\n"
        + "last line without newline";
    String id = ses.sendEmail(r -> r.content(c -> c.raw(x -> x.data(SdkBytes.fromUtf8String(raw))))).messageId();
    // base64 broken into lines of 76 by a hand-written client is read as the SDK's one line
    String wrapped = java.util.Base64.getMimeEncoder().encodeToString(raw.replace("Raw message", "Wrapped raw")
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertTrue(wrapped.contains("\r\n"), wrapped);
    HttpResponse<String> sent = node.signed("POST", "/v2/email/outbound-emails", new JsonObject().put("Content",
        new JsonObject().put("Raw", new JsonObject().put("Data", wrapped))).encode(),
        Map.of("Content-Type", "application/json"));
    assertEquals(200, sent.statusCode(), sent.body());
    assertEquals("Line one\r\n.line starting with a dot\r\nlast line without newline\r\n",
        text(parse(awaitReceived("dave@example.org", "Wrapped raw").data())));

    RecordingSmtpServer.Received toDave = awaitReceived("dave@example.org", "Raw message");
    RecordingSmtpServer.Received toHidden = awaitReceived("hidden@example.org", "Raw message");
    assertEquals("raw@example.com", toDave.mailFrom());
    assertFalse(toDave.text().contains("Bcc:"), toDave.text());
    assertFalse(toHidden.text().contains("hidden@example.org"), "Bcc must not be visible to anyone");
    Message m = parse(toDave.data());
    assertEquals("Raw message", m.getSubject());
    assertEquals("kept as is", m.getHeader().getField("X-Custom").getBody().strip());
    assertNotNull(m.getHeader().getField("Message-ID"), "a Message-ID is added when missing");
    assertNotNull(m.getHeader().getField("Date"), "a Date is added when missing");
    assertEquals("Line one\r\n.line starting with a dot\r\nlast line without newline\r\n", text(m));
    assertWireFormat(toDave.data());

    JsonObject status = node.awaitOutcomes(id, 2);
    assertEquals(List.of("dave@example.org", "hidden@example.org"),
        status.getJsonArray("Recipients").stream().map(o -> ((JsonObject) o).getString("Address")).toList());
  }

  @Test
  void rawRecipientsFromDestinationOverrideHeaders() {
    String raw = "From: raw@example.com\r\nTo: header-only@example.org\r\nSubject: Raw with destination\r\n\r\nBody\r\n";
    String id = ses.sendEmail(r -> r.destination(d -> d.toAddresses("erin@example.org"))
        .content(c -> c.raw(x -> x.data(SdkBytes.fromUtf8String(raw))))).messageId();
    awaitReceived("erin@example.org", "Raw with destination");
    JsonObject status = node.awaitOutcomes(id, 1);
    assertEquals(1, status.getJsonArray("Recipients").size());
    assertEquals("erin@example.org", status.getJsonArray("Recipients").getJsonObject(0).getString("Address"));
  }

  @Test
  void oneRecipientBouncesAndTheOtherIsDelivered() {
    String id = ses.sendEmail(r -> r
        .fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("nobody@example.org", "frank@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Mixed outcome")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    JsonObject status = node.awaitOutcomes(id, 2);
    JsonObject bounce = null;
    JsonObject delivery = null;
    for (Object o : status.getJsonArray("Events")) {
      JsonObject e = (JsonObject) o;
      if (e.getString("eventType").equals("Bounce")) {
        bounce = e;
      } else if (e.getString("eventType").equals("Delivery")) {
        delivery = e;
      }
    }
    assertNotNull(bounce);
    assertNotNull(delivery);
    assertEquals("Permanent", bounce.getJsonObject("bounce").getString("bounceType"));
    JsonObject bounced = bounce.getJsonObject("bounce").getJsonArray("bouncedRecipients").getJsonObject(0);
    assertEquals("nobody@example.org", bounced.getString("emailAddress"));
    assertEquals("5.1.1", bounced.getString("status"));
    assertTrue(bounced.getString("diagnosticCode").contains("550 5.1.1"), bounced.encode());
    assertEquals(List.of("frank@example.org"), delivery.getJsonObject("delivery").getJsonArray("recipients").getList());
    JsonArray recipients = status.getJsonArray("Recipients");
    assertEquals("BOUNCED", recipients.getJsonObject(0).getString("Status"));
    assertEquals(550, recipients.getJsonObject(0).getInteger("SmtpCode"));
    assertEquals("DELIVERED", recipients.getJsonObject(1).getString("Status"));
  }

  /**
   * PostgreSQL takes no NUL in text or jsonb: a server's reply with one would fail the whole batch of outcomes it was
   * written with (its other recipients delivered again later), and this recipient would never get an outcome.
   */
  @Test
  void aReplyWithControlCharactersIsRecordedWithoutThem() {
    String id = ses.sendEmail(r -> r
        .fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("nul@example.org", "grace@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("NUL in a reply")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    JsonObject status = node.awaitOutcomes(id, 2);
    JsonArray recipients = status.getJsonArray("Recipients");
    assertEquals("BOUNCED", recipients.getJsonObject(0).getString("Status"));
    assertEquals("DELIVERED", recipients.getJsonObject(1).getString("Status"));
    JsonObject bounce = status.getJsonArray("Events").stream().map(JsonObject.class::cast)
        .filter(e -> e.getString("eventType").equals("Bounce")).findFirst().orElseThrow();
    assertEquals("smtp; 550 5.1.1 No such user",
        bounce.getJsonObject("bounce").getJsonArray("bouncedRecipients").getJsonObject(0).getString("diagnosticCode"));
  }

  /**
   * SES answers every request with {@code x-amzn-RequestId}, success or not; the SDKs report it (the Java SDK's
   * {@code responseMetadata().requestId()}, boto3's {@code ResponseMetadata.RequestId}) and applications log it.
   */
  @Test
  void everyAnswerNamesItsRequestId() {
    SendEmailResponse sent = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("request-id@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Request id")).body(b -> b.text(t -> t.data("x"))))));
    String sendId = sent.responseMetadata().requestId();
    String accountId = ses.getAccount(r -> { }).responseMetadata().requestId();
    for (String id : List.of(sendId, accountId)) { // the SDK says "UNKNOWN" when there is none
      assertTrue(id.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), id);
    }
    assertFalse(sendId.equals(accountId), "one id per request");
    awaitReceived("request-id@example.org", "Request id");
  }

  /** CRLF everywhere, no line over 998 octets, headers 7-bit. */
  static void assertWireFormat(byte[] data) {
    int lineLen = 0;
    boolean inHeaders = true;
    for (int i = 0; i < data.length; i++) {
      byte b = data[i];
      if (b == '\n') {
        assertTrue(i > 0 && data[i - 1] == '\r', "bare LF at " + i);
        if (lineLen == 1) {
          inHeaders = false;
        }
        lineLen = 0;
        continue;
      }
      if (b == '\r') {
        assertTrue(i + 1 < data.length && data[i + 1] == '\n', "bare CR at " + i);
      }
      if (inHeaders) {
        assertTrue(b > 0, "8-bit byte in headers at " + i);
      }
      lineLen++;
      assertTrue(lineLen <= 999, "line longer than 998 octets at " + i);
    }
  }
}
