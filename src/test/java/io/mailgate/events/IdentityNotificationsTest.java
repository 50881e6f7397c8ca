package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.standardwebhooks.Webhook;
import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.SecretBox;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.Tenant;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.model.NotificationType;
import software.amazon.awssdk.services.sesv2.model.EventType;

/**
 * Identity notifications end to end: topics set through SES v1 with the AWS SDK, messages sent to the mailbox
 * simulator, and the notifications received by a real HTTP server in SES's notification format, signed as events are.
 */
class IdentityNotificationsTest {
  static WebhookReceiver webhook;
  static TestNode node;
  static String pg;

  static String secret(Tenant t) {
    return new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY)).secret(t.id());
  }

  static void topic(Tenant t, String identity, NotificationType type, String path) {
    t.v1().setIdentityNotificationTopic(r -> r.identity(identity).notificationType(type)
        .snsTopic(webhook.url(path)));
  }

  static String send(Tenant t, String from, String to, String configurationSet) {
    return t.v1().sendEmail(r -> r.source(from).destination(d -> d.toAddresses(to))
        .configurationSetName(configurationSet)
        .message(m -> m.subject(s -> s.data("Your order")).body(b -> b.text(x -> x.data("Thanks.")))))
        .messageId();
  }

  @BeforeAll
  static void start() throws IOException {
    webhook = new WebhookReceiver();
    node = TestNode.start("");
    pg = node.config().get(MailgateConfig.PG_URL);
  }

  @AfterAll
  static void stop() {
    node.close();
    webhook.close();
  }

  /** The posts to {@code path} about message {@code id}, once everything owed about it has been posted. */
  static List<WebhookReceiver.Post> postsOnceDone(String path, String id, int atLeast) {
    Await.until(() -> webhook.posts(path, id), p -> p.size() >= atLeast, Duration.ofSeconds(20));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM event_outbox WHERE message_id = '" + id + "'") == 0,
        Duration.ofSeconds(20));
    return webhook.posts(path, id);
  }

  static void delivered(String id) {
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM recipients WHERE message_id = '" + id
        + "' AND state <> 'queued'") == 1, Duration.ofSeconds(20));
  }

  @Test
  void aBounceIsPostedToTheSendersBounceTopicInSesNotificationFormat() throws Exception {
    try (Tenant t = Tenant.create(node, "notify-bounce")) {
      t.v1().verifyDomainIdentity(r -> r.domain("bounce.example"));
      topic(t, "bounce.example", NotificationType.BOUNCE, "/bounces");
      String id = send(t, "Shop <orders@bounce.example>", "bounce@simulator.amazonses.com", null);

      List<WebhookReceiver.Post> posts = postsOnceDone("/bounces", id, 1);
      assertEquals(1, posts.size(), "one notification for one bounce");
      new Webhook(secret(t)).verify(posts.get(0).body(), posts.get(0).headers()); // signed as events are
      new Webhook(new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY)).secret(t.id(), 0,
          webhook.url("/bounces"))).verify(posts.get(0).body(), posts.get(0).headers()); // the topic's own too
      JsonObject n = posts.get(0).json();
      assertEquals("Bounce", n.getString("notificationType"));
      assertNull(n.getValue("eventType"), "the notification format, not the event format");
      JsonObject bounce = n.getJsonObject("bounce");
      assertEquals("Permanent", bounce.getString("bounceType"));
      assertEquals("bounce@simulator.amazonses.com", bounce.getJsonArray("bouncedRecipients").getJsonObject(0)
          .getString("emailAddress"));
      JsonObject mail = n.getJsonObject("mail");
      assertEquals(id, mail.getString("messageId"));
      assertEquals("orders@bounce.example", mail.getString("source"));
      assertEquals("arn:aws:ses:" + node.config().get(MailgateConfig.REGION) + ":" + t.id()
          + ":identity/bounce.example", mail.getString("sourceArn"));
      assertEquals(t.id(), mail.getString("sendingAccountId"));
      assertEquals(t.key().accessKeyId(), mail.getString("callerIdentity"));
      assertTrue(mail.containsKey("sourceIp"), mail.encode());
      assertEquals(new JsonArray().add("bounce@simulator.amazonses.com"), mail.getJsonArray("destination"));
      assertTrue(mail.getString("timestamp").endsWith("Z"), mail.getString("timestamp"));
      assertFalse(mail.containsKey("headers") || mail.containsKey("commonHeaders")
          || mail.containsKey("headersTruncated"), "no headers unless asked for: " + mail.encode());
      assertFalse(mail.containsKey("tags"), "notifications have no tags");

      // the headers, once the identity has them included in its bounce notifications
      t.v1().setIdentityHeadersInNotificationsEnabled(r -> r.identity("bounce.example")
          .notificationType(NotificationType.BOUNCE).enabled(true));
      String second = send(t, "orders@bounce.example", "bounce+2@simulator.amazonses.com", null);
      JsonObject withHeaders = postsOnceDone("/bounces", second, 1).get(0).json().getJsonObject("mail");
      assertEquals(Boolean.FALSE, withHeaders.getBoolean("headersTruncated"), withHeaders.encode());
      assertEquals("Your order", withHeaders.getJsonObject("commonHeaders").getString("subject"));
      assertTrue(withHeaders.getJsonArray("headers").stream().anyMatch(h -> ((JsonObject) h).getString("name")
          .equals("Subject")), withHeaders.encode());

      // a raw message's own Message-ID and Date, which the sent copy has Mailgate's in place of, are what its
      // notification shows: in headers, and as commonHeaders' messageId and date (SES: the original message's)
      String raw = "From: orders@bounce.example\r\nTo: bounce+3@simulator.amazonses.com\r\nSubject: raw\r\n"
          + "Message-ID: <custom-1@app.example>\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n";
      String third = t.v1().sendRawEmail(r -> r.rawMessage(m -> m.data(software.amazon.awssdk.core.SdkBytes
          .fromUtf8String(raw)))).messageId();
      JsonObject original = postsOnceDone("/bounces", third, 1).get(0).json().getJsonObject("mail");
      assertEquals(third, original.getString("messageId"));
      JsonObject common = original.getJsonObject("commonHeaders");
      assertEquals("<custom-1@app.example>", common.getString("messageId"), original.encode());
      assertEquals("Mon, 01 Jan 2024 00:00:00 +0000", common.getString("date").strip(), original.encode());
      List<String> shown = original.getJsonArray("headers").stream().map(h -> (JsonObject) h)
          .filter(h -> h.getString("name").equals("Message-ID") || h.getString("name").equals("Date"))
          .map(h -> h.getString("value").strip()).toList();
      assertEquals(List.of("<custom-1@app.example>", "Mon, 01 Jan 2024 00:00:00 +0000"), shown, original.encode());
      // an event's mail object shows them in its headers too, its commonHeaders.messageId the SES message ID
      JsonObject event = node.message(third, t.key().accessKeyId(), t.key().secretAccessKey()).getJsonArray("Events")
          .getJsonObject(0).getJsonObject("mail");
      assertEquals(third, event.getJsonObject("commonHeaders").getString("messageId"));
      assertTrue(event.getJsonArray("headers").stream().anyMatch(h -> ((JsonObject) h).getString("value").strip()
          .equals("<custom-1@app.example>")), event.encode());
      String sentCopy = Db.string(pg, "SELECT convert_from(content, 'UTF8') FROM messages WHERE id = '" + third + "'");
      assertTrue(sentCopy.contains("Message-ID: <" + third + "@") && !sentCopy.contains("custom-1@app.example"),
          "the sent copy has Mailgate's: " + sentCopy);
    }
  }

  @Test
  void deliveriesGoToTheAddressIdentityWhenItIsOneAndToItsDomainOtherwise() {
    try (Tenant t = Tenant.create(node, "notify-delivery")) {
      t.v1().verifyDomainIdentity(r -> r.domain("deliver.example"));
      t.v1().verifyEmailIdentity(r -> r.emailAddress("ops@deliver.example"));
      topic(t, "deliver.example", NotificationType.DELIVERY, "/domain-deliveries");
      topic(t, "ops@deliver.example", NotificationType.DELIVERY, "/ops-deliveries");
      topic(t, "deliver.example", NotificationType.BOUNCE, "/domain-bounces");

      String fromOps = send(t, "ops@deliver.example", "success@simulator.amazonses.com", null);
      String fromOther = send(t, "news@deliver.example", "success@simulator.amazonses.com", null);
      JsonObject delivery = postsOnceDone("/ops-deliveries", fromOps, 1).get(0).json();
      assertEquals("Delivery", delivery.getString("notificationType"));
      assertEquals(new JsonArray().add("success@simulator.amazonses.com"), delivery.getJsonObject("delivery")
          .getJsonArray("recipients"));
      assertTrue(delivery.getJsonObject("delivery").getString("smtpResponse").startsWith("250"), delivery.encode());
      assertTrue(delivery.getJsonObject("mail").getString("sourceArn").endsWith(":identity/ops@deliver.example"));
      assertEquals(1, postsOnceDone("/domain-deliveries", fromOther, 1).size());
      assertTrue(webhook.posts("/domain-deliveries", fromOps).isEmpty(),
          "an address that is an identity of its own uses its own settings, not its domain's");
      assertTrue(webhook.posts("/ops-deliveries", fromOther).isEmpty());
      assertTrue(webhook.posts("/domain-bounces", fromOther).isEmpty(), "a topic gets only its own type");

      // a cleared topic gets nothing more
      t.v1().setIdentityNotificationTopic(r -> r.identity("deliver.example")
          .notificationType(NotificationType.DELIVERY));
      String after = send(t, "news@deliver.example", "success@simulator.amazonses.com", null);
      delivered(after);
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM event_outbox WHERE message_id = '" + after + "'") == 0,
          Duration.ofSeconds(20));
      assertTrue(webhook.posts("/domain-deliveries", after).isEmpty());
    }
  }

  @Test
  void aSubdomainsAddressesUseTheNotificationsOfTheDomainThatCoversThem() {
    try (Tenant t = Tenant.create(node, "notify-subdomain")) {
      t.v1().verifyDomainIdentity(r -> r.domain("parent-topic.example"));
      topic(t, "parent-topic.example", NotificationType.DELIVERY, "/parent-deliveries");
      String id = send(t, "news@mail.parent-topic.example", "success@simulator.amazonses.com", null);
      JsonObject delivery = postsOnceDone("/parent-deliveries", id, 1).get(0).json();
      assertEquals("Delivery", delivery.getString("notificationType"));
      assertTrue(delivery.getJsonObject("mail").getString("sourceArn").endsWith(":identity/parent-topic.example"),
          delivery.encode());
      // a verified subdomain of its own is more specific: its settings (no topic) apply
      t.v1().verifyDomainIdentity(r -> r.domain("mail.parent-topic.example"));
      String own = send(t, "news@mail.parent-topic.example", "success@simulator.amazonses.com", null);
      delivered(own);
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM event_outbox WHERE message_id = '" + own + "'") == 0,
          Duration.ofSeconds(20));
      assertTrue(webhook.posts("/parent-deliveries", own).isEmpty());
    }
  }

  @Test
  void complaintsFromFeedbackAndConfigurationSetEventsGoTogether() {
    try (Tenant t = Tenant.create(node, "notify-both")) {
      t.v1().verifyDomainIdentity(r -> r.domain("both.example"));
      topic(t, "both.example", NotificationType.COMPLAINT, "/both-complaints");
      topic(t, "both.example", NotificationType.BOUNCE, "/both-bounces");
      t.v2().createConfigurationSet(r -> r.configurationSetName("both"));
      t.v2().createConfigurationSetEventDestination(r -> r.configurationSetName("both").eventDestinationName("all")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.BOUNCE, EventType.COMPLAINT)
              .snsDestination(s -> s.topicArn(webhook.url("/both-events")))));

      // a bounce of a message sent with the set: the set's event and the identity's notification, each once
      String bounced = send(t, "app@both.example", "bounce@simulator.amazonses.com", "both");
      List<WebhookReceiver.Post> notified = postsOnceDone("/both-bounces", bounced, 1);
      List<WebhookReceiver.Post> events = postsOnceDone("/both-events", bounced, 1);
      assertEquals(1, notified.size());
      assertEquals("Bounce", notified.get(0).json().getString("notificationType"));
      assertEquals(1, events.size());
      assertEquals("Bounce", events.get(0).json().getString("eventType"));

      // the simulator's complaint comes back as an ARF report, through the feedback path
      String complained = send(t, "app@both.example", "complaint@simulator.amazonses.com", null);
      JsonObject complaint = postsOnceDone("/both-complaints", complained, 1).get(0).json();
      assertEquals("Complaint", complaint.getString("notificationType"));
      assertEquals("complaint@simulator.amazonses.com", complaint.getJsonObject("complaint")
          .getJsonArray("complainedRecipients").getJsonObject(0).getString("emailAddress"));
      assertTrue(webhook.posts("/both-events", complained).isEmpty(), "sent without the set: no event");
    }
  }
}
