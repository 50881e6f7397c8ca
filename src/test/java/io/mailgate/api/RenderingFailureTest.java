package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.standardwebhooks.Webhook;
import io.mailgate.config.MailgateConfig;
import io.mailgate.events.WebhookSigner;
import io.mailgate.identity.Accounts;
import io.mailgate.identity.SecretBox;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.BulkEmailEntry;
import software.amazon.awssdk.services.sesv2.model.BulkEmailEntryResult;
import software.amazon.awssdk.services.sesv2.model.BulkEmailStatus;
import software.amazon.awssdk.services.sesv2.model.EventType;
import software.amazon.awssdk.services.sesv2.model.MessageRejectedException;
import software.amazon.awssdk.services.sesv2.model.ReplacementEmailContent;

/**
 * A templated send whose data lacks an attribute the template prints, as SES takes it: accepted with a MessageId,
 * never delivered, published as a Rendering Failure event (and no Send), through the SES v2 and v1 APIs and bulk sends;
 * checked first like any send; refused with a 400 when {@code send.renderingFailureEvents} is off.
 */
class RenderingFailureTest {
  static RecordingSmtpServer relay;
  static WebhookReceiver webhook;
  static TestNode node;
  static SesV2Client ses;
  static String pg;

  @BeforeAll
  static void start() throws java.io.IOException {
    relay = new RecordingSmtpServer();
    webhook = new WebhookReceiver();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    pg = node.config().get(MailgateConfig.PG_URL);
    ses.createEmailTemplate(r -> r.templateName("greeting").templateContent(c -> c.subject("Hello {{name}}")
        .text("Dear {{name}}, your code is {{code}}.")));
    ses.createConfigurationSet(r -> r.configurationSetName("failures"));
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName("failures").eventDestinationName("hook")
        .eventDestination(d -> d.enabled(true)
            .matchingEventTypes(EventType.SEND, EventType.DELIVERY, EventType.RENDERING_FAILURE)
            .snsDestination(s -> s.topicArn(webhook.url("/failures")))));
  }

  @AfterAll
  static void stop() throws java.io.IOException {
    ses.close();
    node.close();
    relay.close();
    webhook.close();
  }

  private static String send(String to, String data) {
    return ses.sendEmail(r -> r.fromEmailAddress("app@example.com").destination(d -> d.toAddresses(to))
        .configurationSetName("failures").emailTags(t -> t.name("flow").value("signup"))
        .content(c -> c.template(t -> t.templateName("greeting").templateData(data)))).messageId();
  }

  @Test
  void aMissingAttributeIsAcceptedNotDeliveredAndPublishedAsARenderingFailure() throws Exception {
    long sentBefore = ses.getAccount(r -> { }).sendQuota().sentLast24Hours().longValue();
    String failed = send("rf-1@example.org", "{\"name\":\"Ann\"}"); // no code
    String fine = send("rf-2@example.org", "{\"name\":\"Bo\",\"code\":\"42\"}");
    assertNotNull(failed);

    List<WebhookReceiver.Post> posts = Await.until(() -> webhook.posts("/failures", failed), p -> !p.isEmpty(),
        Duration.ofSeconds(20));
    // the good message's Send and Delivery arriving means the failure's events, had there been more, are in too
    Await.until(() -> webhook.posts("/failures", fine), p -> p.size() >= 2, Duration.ofSeconds(20));
    Thread.sleep(500);
    posts = webhook.posts("/failures", failed);
    assertEquals(1, posts.size(), "a Rendering Failure and nothing else (no Send): " + posts);
    String secret = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY))
        .secret(node.config().get(MailgateConfig.DEV_ACCOUNT_ID));
    new Webhook(secret).verify(posts.get(0).body(), posts.get(0).headers());
    JsonObject event = posts.get(0).json();
    assertEquals("Rendering Failure", event.getString("eventType"));
    assertEquals(new JsonObject().put("errorMessage", "Attribute 'code' is not present in the rendering data.")
        .put("templateName", "greeting"), event.getJsonObject("failure"));
    JsonObject mail = event.getJsonObject("mail");
    assertEquals(failed, mail.getString("messageId"));
    assertEquals("app@example.com", mail.getString("source"));
    assertEquals(new JsonArray().add("rf-1@example.org"), mail.getJsonArray("destination"));
    assertEquals(false, mail.getBoolean("headersTruncated"));
    assertFalse(mail.containsKey("headers") || mail.containsKey("commonHeaders"), "nothing was built: " + mail);
    assertEquals(new JsonArray().add("failures"), mail.getJsonObject("tags").getJsonArray("ses:configuration-set"));
    assertEquals(new JsonArray().add("signup"), mail.getJsonObject("tags").getJsonArray("flow"));

    // never delivered, never queued; the status and the insights tell why
    Await.until(() -> relay.received().stream().anyMatch(m -> m.rcptTo().contains("rf-2@example.org")),
        Duration.ofSeconds(20));
    assertFalse(relay.received().stream().anyMatch(m -> m.rcptTo().contains("rf-1@example.org")));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM recipients WHERE message_id = '" + failed
        + "' AND state <> 'rendering_failed'"));
    JsonObject status = node.message(failed);
    assertEquals("RENDERING_FAILED", status.getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    JsonArray events = status.getJsonArray("Events");
    assertEquals(1, events.size(), events.encode());
    assertEquals("Rendering Failure", events.getJsonObject(0).getString("eventType"));
    var insights = ses.getMessageInsights(r -> r.messageId(failed)).insights();
    assertEquals(List.of("RENDERING_FAILURE"), insights.get(0).events().stream().map(e -> e.typeAsString()).toList());
    // it counts toward the sending rate, not toward the 24-hour quota: only the good one was sent
    assertEquals(sentBefore + 1, ses.getAccount(r -> { }).sendQuota().sentLast24Hours().longValue());
  }

  @Test
  void bulkEntriesThatCannotBeRenderedAreAcceptedAlone() {
    List<BulkEmailEntryResult> results = ses.sendBulkEmail(r -> r.fromEmailAddress("app@example.com")
        .configurationSetName("failures")
        .defaultContent(c -> c.template(t -> t.templateName("greeting").templateData("{\"name\":\"D\",\"code\":\"1\"}")))
        .bulkEmailEntries(entry("bulk-ok@example.org", null), entry("bulk-bad@example.org", "{\"name\":\"X\"}")))
        .bulkEmailEntryResults();
    assertEquals(BulkEmailStatus.SUCCESS, results.get(0).status(), results.get(0).error());
    assertEquals(BulkEmailStatus.SUCCESS, results.get(1).status(), results.get(1).error());
    String bad = results.get(1).messageId();
    JsonObject event = Await.until(() -> webhook.posts("/failures", bad), p -> !p.isEmpty(), Duration.ofSeconds(20))
        .get(0).json();
    assertEquals("Attribute 'code' is not present in the rendering data.",
        event.getJsonObject("failure").getString("errorMessage"));
    Await.until(() -> relay.received().stream().anyMatch(m -> m.rcptTo().contains("bulk-ok@example.org")),
        Duration.ofSeconds(20));
    assertEquals("RENDERING_FAILED", node.message(bad).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
  }

  @Test
  void v1SendTemplatedEmailIsAcceptedToo() {
    try (var v1 = node.sesV1()) {
      String id = v1.sendTemplatedEmail(r -> r.source("app@example.com").destination(d -> d.toAddresses("v1@example.org"))
          .configurationSetName("failures").template("greeting").templateData("{}")).messageId();
      JsonObject event = Await.until(() -> webhook.posts("/failures", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
          .get(0).json();
      assertEquals("Attribute 'name' is not present in the rendering data.",
          event.getJsonObject("failure").getString("errorMessage"));
    }
  }

  /** A send that cannot be rendered is checked like any other first: a sandbox account's unverified recipient. */
  @Test
  void aFailureIsCheckedAsAnySendAndNothingIsStoredWhenRefused() {
    Accounts.NewKey sandbox = node.createAccount("rf-sandbox", false, 100, 1000);
    try (SesV2Client s = node.sesV2(sandbox.accessKeyId(), sandbox.secretAccessKey())) {
      s.createEmailTemplate(r -> r.templateName("greeting").templateContent(c -> c.subject("Hi {{name}}").text("t")));
      long before = Db.count(pg, "SELECT count(*) FROM messages");
      assertThrows(MessageRejectedException.class, () -> s.sendEmail(r -> r.fromEmailAddress("app@example.com")
          .destination(d -> d.toAddresses("stranger@example.org"))
          .content(c -> c.template(t -> t.templateName("greeting").templateData("{}")))));
      // malformed data is no rendering failure: a 400 at once
      assertThrows(BadRequestException.class, () -> ses.sendEmail(r -> r.fromEmailAddress("app@example.com")
          .destination(d -> d.toAddresses("rf-3@example.org"))
          .content(c -> c.template(t -> t.templateName("greeting").templateData("[1]")))));
      assertEquals(before, Db.count(pg, "SELECT count(*) FROM messages"));
    }
  }

  /** {@code send.renderingFailureEvents} off: the caller's 400 at once, naming the attribute, and nothing stored. */
  @Test
  void turnedOffAMissingAttributeIsA400() {
    TestNode strict = TestNode.start(relay.url(), c -> c.with(MailgateConfig.SEND_RENDERING_FAILURE_EVENTS, false));
    try (SesV2Client s = strict.sesV2()) {
      s.createEmailTemplate(r -> r.templateName("greeting").templateContent(c -> c.subject("Hi {{name}}").text("t")));
      BadRequestException e = assertThrows(BadRequestException.class, () -> s.sendEmail(r -> r
          .fromEmailAddress("app@example.com").destination(d -> d.toAddresses("strict@example.org"))
          .content(c -> c.template(t -> t.templateName("greeting").templateData("{}")))));
      assertTrue(e.getMessage().contains("Attribute 'name' is not present"), e.getMessage());
      List<BulkEmailEntryResult> bulk = s.sendBulkEmail(r -> r.fromEmailAddress("app@example.com")
          .defaultContent(c -> c.template(t -> t.templateName("greeting").templateData("{}")))
          .bulkEmailEntries(entry("strict-bulk@example.org", null))).bulkEmailEntryResults();
      assertEquals(BulkEmailStatus.INVALID_PARAMETER, bulk.get(0).status());
      assertEquals(0, Db.count(strict.config().get(MailgateConfig.PG_URL), "SELECT count(*) FROM messages"));
    } finally {
      strict.close();
    }
  }

  private static BulkEmailEntry entry(String to, String data) {
    return BulkEmailEntry.builder().destination(d -> d.toAddresses(to))
        .replacementEmailContent(data == null ? null : ReplacementEmailContent.builder()
            .replacementTemplate(t -> t.replacementTemplateData(data)).build())
        .build();
  }
}
