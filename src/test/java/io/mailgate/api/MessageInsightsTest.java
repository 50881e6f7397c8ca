package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.send.MessageIds;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BounceType;
import software.amazon.awssdk.services.sesv2.model.EmailInsights;
import software.amazon.awssdk.services.sesv2.model.EventType;
import software.amazon.awssdk.services.sesv2.model.GetMessageInsightsResponse;
import software.amazon.awssdk.services.sesv2.model.InsightsEvent;
import software.amazon.awssdk.services.sesv2.model.MessageTag;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/** SES v2 GetMessageInsights through the AWS SDK: one recipient delivered, one bounced, and what is not found. */
class MessageInsightsTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer()
        .onRcpt(rcpt -> rcpt.startsWith("nobody@") ? "550 5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown"
            : "250 2.1.5 Ok");
    node = TestNode.start(relay.url());
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  /** A message to {@code nobody} (refused: a permanent bounce, and then suppressed) and to a Gmail reader. */
  private static String sendToTwo(String nobody) {
    String id = ses.sendEmail(r -> r
        .fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses(nobody, "reader@gmail.com"))
        .emailTags(MessageTag.builder().name("campaign").value("spring").build())
        .content(c -> c.simple(m -> m.subject(s -> s.data("Grüße, insights")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    node.awaitOutcomes(id, 2);
    return id;
  }

  @Test
  void eachRecipientHasItsEventsInTimeOrder() {
    String id = sendToTwo("nobody@example.org");
    GetMessageInsightsResponse insights = ses.getMessageInsights(r -> r.messageId(id));

    assertEquals(id, insights.messageId());
    assertEquals("sender@example.com", insights.fromEmailAddress());
    assertEquals("Grüße, insights", insights.subject(), "the encoded words decoded");
    Map<String, String> tags = insights.emailTags().stream()
        .collect(Collectors.toMap(MessageTag::name, MessageTag::value));
    assertEquals("spring", tags.get("campaign"));
    assertEquals("example.com", tags.get("ses:from-domain"), "SES's auto-tags too: " + tags);
    assertEquals("SendEmail", tags.get("ses:operation"));
    assertEquals("127.0.0.1", tags.get("ses:source-ip"));
    assertEquals(null, tags.get("ses:configuration-set"), "sent without one");
    Map<String, EmailInsights> byDestination = insights.insights().stream()
        .collect(Collectors.toMap(EmailInsights::destination, Function.identity()));
    assertEquals(2, insights.insights().size());

    EmailInsights delivered = byDestination.get("reader@gmail.com");
    assertEquals("Gmail", delivered.isp());
    assertEquals(List.of(EventType.SEND, EventType.DELIVERY), delivered.events().stream().map(InsightsEvent::type).toList());
    assertInOrder(delivered.events());
    assertNull(delivered.events().get(1).details(), "a Delivery has no details");

    EmailInsights bounced = byDestination.get("nobody@example.org");
    assertNull(bounced.isp(), "a domain the table does not know has no Isp");
    assertEquals(List.of(EventType.SEND, EventType.BOUNCE), bounced.events().stream().map(InsightsEvent::type).toList());
    assertInOrder(bounced.events());
    InsightsEvent bounce = bounced.events().get(1);
    assertEquals(BounceType.PERMANENT, bounce.details().bounce().bounceType());
    JsonObject status = node.message(id);
    JsonObject stored = status.getJsonArray("Events").stream().map(JsonObject.class::cast)
        .filter(e -> e.getString("eventType").equals("Bounce")).findFirst().orElseThrow().getJsonObject("bounce");
    assertEquals(stored.getString("bounceSubType"), bounce.details().bounce().bounceSubType());
    assertTrue(bounce.details().bounce().diagnosticCode().contains("550 5.1.1"), bounce.details().bounce().diagnosticCode());

    // Timestamps are epoch seconds: the Send is when the message was accepted, to the millisecond
    Instant accepted = Instant.parse(status.getString("Timestamp"));
    assertEquals(accepted.toEpochMilli(), delivered.events().get(0).timestamp().toEpochMilli());
    assertEquals(accepted.toEpochMilli(), bounced.events().get(0).timestamp().toEpochMilli());
  }

  private static void assertInOrder(List<InsightsEvent> events) {
    for (int i = 1; i < events.size(); i++) {
      assertTrue(!events.get(i).timestamp().isBefore(events.get(i - 1).timestamp()), events.toString());
    }
  }

  /**
   * Each message carries the SES operation it was sent with (its events' ses:operation tag): a template's stays
   * SendTemplatedEmail once rendered, a bulk send's entries are SendBulkTemplatedEmail whichever API sent them.
   */
  @Test
  void eachMessageIsTaggedWithTheOperationItWasSentWith() {
    ses.createEmailTemplate(r -> r.templateName("operation-tag")
        .templateContent(c -> c.subject("Hi {{name}}").text("Hello {{name}}")));
    byte[] raw = "From: sender@example.com\r\nTo: reader@example.org\r\nSubject: raw\r\n\r\nx\r\n"
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    String rawId = ses.sendEmail(r -> r.destination(d -> d.toAddresses("reader@example.org"))
        .content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes.fromByteArray(raw))))).messageId();
    String templated = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("reader@example.org"))
        .content(c -> c.template(t -> t.templateName("operation-tag").templateData("{\"name\":\"Ann\"}"))))
        .messageId();
    String bulk = ses.sendBulkEmail(r -> r.fromEmailAddress("sender@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("operation-tag").templateData("{\"name\":\"Bo\"}")))
        .bulkEmailEntries(e -> e.destination(d -> d.toAddresses("reader@example.org"))))
        .bulkEmailEntryResults().get(0).messageId();
    String v1Bulk;
    String v1Raw;
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1()) {
      v1Bulk = v1.sendBulkTemplatedEmail(r -> r.source("sender@example.com").template("operation-tag")
          .defaultTemplateData("{\"name\":\"Cy\"}")
          .destinations(d -> d.destination(t -> t.toAddresses("reader@example.org")))).status().get(0).messageId();
      v1Raw = v1.sendRawEmail(r -> r.rawMessage(m -> m.data(software.amazon.awssdk.core.SdkBytes.fromByteArray(raw))))
          .messageId();
    }
    Map<String, String> expected = Map.of(rawId, "SendRawEmail", templated, "SendTemplatedEmail",
        bulk, "SendBulkTemplatedEmail", v1Bulk, "SendBulkTemplatedEmail", v1Raw, "SendRawEmail");
    expected.forEach((id, operation) -> {
      Map<String, String> tags = ses.getMessageInsights(r -> r.messageId(id)).emailTags().stream()
          .collect(Collectors.toMap(MessageTag::name, MessageTag::value));
      assertEquals(operation, tags.get("ses:operation"), id + ": " + tags);
      JsonObject send = node.message(id).getJsonArray("Events").getJsonObject(0);
      assertEquals(operation, send.getJsonObject("mail").getJsonObject("tags").getJsonArray("ses:operation")
          .getString(0), send.encode());
    });
  }

  @Test
  void anUnknownOrMalformedIdIsNotFound() {
    String unknown = MessageIds.next(Instant.now());
    assertThrows(NotFoundException.class, () -> ses.getMessageInsights(r -> r.messageId(unknown)));
    assertThrows(NotFoundException.class, () -> ses.getMessageInsights(r -> r.messageId("not-a-message-id")));
    // the database refuses a NUL in text: without the shape check this is a BadRequest
    assertThrows(NotFoundException.class, () -> ses.getMessageInsights(r -> r.messageId(unknown + "\u0000")));
  }

  @Test
  void anotherAccountsMessageIsNotFound() {
    String id = sendToTwo("nobody-else@example.org");
    Accounts.NewKey other = node.createAccount("insights-other", true, 100, 10_000);
    try (SesV2Client otherSes = node.sesV2(other.accessKeyId(), other.secretAccessKey())) {
      assertThrows(NotFoundException.class, () -> otherSes.getMessageInsights(r -> r.messageId(id)));
    }
  }
}
