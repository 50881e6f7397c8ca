package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import com.standardwebhooks.Webhook;
import com.standardwebhooks.exceptions.WebhookVerificationException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.SecretBox;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AlreadyExistsException;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.EventDestination;
import software.amazon.awssdk.services.sesv2.model.EventType;
import software.amazon.awssdk.services.sesv2.model.LimitExceededException;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/**
 * Event publishing end to end: event destinations created through the AWS SDK, messages sent and delivered or bounced
 * by a real SMTP conversation, and the events received by a real HTTP server, their signatures checked by the
 * Standard Webhooks reference library.
 */
class EventPublishingTest {
  static RecordingSmtpServer relay;
  static WebhookReceiver webhook;
  static TestNode node;
  static SesV2Client ses;
  static String secret;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer().onRcpt(r -> r.startsWith("dead") ? "550 5.1.1 User unknown"
        : r.startsWith("later") ? "452 4.2.2 Mailbox full" : "250 Ok");
    webhook = new WebhookReceiver();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    secret = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY))
        .secret(node.config().get(MailgateConfig.DEV_ACCOUNT_ID));
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    webhook.close();
  }

  static void destination(String set, String name, String path, boolean enabled, EventType... types) {
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName(set).eventDestinationName(name)
        .eventDestination(d -> d.enabled(enabled).matchingEventTypes(types)
            .snsDestination(s -> s.topicArn(webhook.url(path)))));
  }

  static String send(String set, String... to) {
    return ses.sendEmail(r -> r.fromEmailAddress("events@example.com").destination(d -> d.toAddresses(to))
        .configurationSetName(set).emailTags(t -> t.name("campaign").value("spring"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Your receipt")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
  }

  @Test
  void sendDeliveryAndBounceArePostedInSesJsonAndSigned() throws Exception {
    ses.createConfigurationSet(r -> r.configurationSetName("receipts"));
    String before = send("receipts", "ok-0@example.com"); // the set is known (and cached) on the node before
    String pg = node.config().get(MailgateConfig.PG_URL);
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM recipients WHERE state = 'delivered' AND message_id = '"
        + before + "'") == 1, Duration.ofSeconds(20));
    destination("receipts", "all", "/receipts", true, EventType.SEND, EventType.DELIVERY, EventType.BOUNCE);
    String id = send("receipts", "ok-1@example.com", "dead-1@example.com"); // right after: its events are not missed

    List<WebhookReceiver.Post> posts = Await.until(() -> webhook.posts("/receipts", id), p -> p.size() >= 3,
        Duration.ofSeconds(20));
    Map<String, JsonObject> byType = new HashMap<>();
    for (WebhookReceiver.Post p : posts) {
      new Webhook(secret).verify(p.body(), p.headers()); // throws when the signature is wrong
      // the outbox row's id comes back in a new database: the message's is in the webhook id too
      assertTrue(p.headers().get("webhook-id").get(0).matches("evt_\\d+_" + id), p.headers().toString());
      JsonObject event = p.json();
      byType.put(event.getString("eventType"), event);
      JsonObject mail = event.getJsonObject("mail");
      assertEquals(id, mail.getString("messageId"));
      assertEquals("events@example.com", mail.getString("source"));
      // the identity the message was sent from (start-dev verified the address), not the From domain's
      assertEquals("arn:aws:ses:us-east-1:" + node.config().get(MailgateConfig.DEV_ACCOUNT_ID)
          + ":identity/events@example.com", mail.getString("sourceArn"));
      assertEquals(new JsonArray().add("ok-1@example.com").add("dead-1@example.com"), mail.getJsonArray("destination"));
      assertEquals(new JsonArray().add("receipts"), mail.getJsonObject("tags").getJsonArray("ses:configuration-set"));
      assertEquals(new JsonArray().add("spring"), mail.getJsonObject("tags").getJsonArray("campaign"));
      assertEquals(new JsonArray().add("SendEmail"), mail.getJsonObject("tags").getJsonArray("ses:operation"));
      assertEquals("Your receipt", mail.getJsonObject("commonHeaders").getString("subject"));
    }
    assertEquals(3, posts.size(), "one event each: " + byType.keySet());
    assertTrue(byType.get("Send").containsKey("send"));
    JsonObject delivery = byType.get("Delivery").getJsonObject("delivery");
    assertEquals(new JsonArray().add("ok-1@example.com"), delivery.getJsonArray("recipients"));
    assertTrue(delivery.getString("smtpResponse").startsWith("250"), delivery.encode());
    JsonObject bounce = byType.get("Bounce").getJsonObject("bounce");
    assertEquals("Permanent", bounce.getString("bounceType"));
    // the relay is on this machine, in plain text: a loopback source address is not tagged, nor a TLS protocol (and a
    // Bounce or a Send never tags a connection, as SES's)
    for (JsonObject event : byType.values()) {
      JsonObject tags = event.getJsonObject("mail").getJsonObject("tags");
      assertFalse(tags.containsKey("ses:outgoing-ip") || tags.containsKey("ses:outgoing-tls-version"), tags.encode());
    }
    assertEquals("dead-1@example.com", bounce.getJsonArray("bouncedRecipients").getJsonObject(0)
        .getString("emailAddress"));

    // another account's secret, or a changed body, does not verify
    WebhookReceiver.Post send = posts.stream().filter(p -> p.json().getString("eventType").equals("Send")).findFirst()
        .orElseThrow();
    String other = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY)).secret("111111111111");
    assertThrows(WebhookVerificationException.class, () -> new Webhook(other).verify(send.body(), send.headers()));
    assertThrows(WebhookVerificationException.class,
        () -> new Webhook(secret).verify(send.body().replace("Send", "Sent"), send.headers()));
    // the destination's own secret verifies it too; another destination's, of the same account, does not: a receiver
    // given its own cannot forge a post another accepts
    WebhookSigner signer = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY));
    String account = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
    String own = signer.secret(account, 0, webhook.url("/receipts"));
    assertFalse(own.equals(secret));
    for (WebhookReceiver.Post p : posts) {
      new Webhook(own).verify(p.body(), p.headers());
      assertEquals(2, p.headers().get("webhook-signature").get(0).split(" ").length, p.headers().toString());
    }
    for (String another : List.of(webhook.url("/other"), webhook.url("/receipts") + "?x", "sns+" + webhook.url(
        "/receipts"))) {
      assertThrows(WebhookVerificationException.class, () -> new Webhook(signer.secret(account, 0, another))
          .verify(send.body(), send.headers()), another);
    }
    assertThrows(WebhookVerificationException.class, () -> new Webhook(signer.secret("111111111111", 0,
        webhook.url("/receipts"))).verify(send.body(), send.headers()));
    // published events leave the outbox
    Await.until(() -> outboxRows() == 0, Duration.ofSeconds(10));
    assertTrue(webhook.posts("/receipts", before).isEmpty(), "sent and delivered before the destination existed");
  }

  /**
   * An sns+http(s) URL takes what SNS posts, for endpoints written for SES through SNS (django-ses, listmonk): a
   * Notification whose Message is the event, the same MessageId on every attempt, signed as every post is.
   */
  @Test
  void anSnsEndpointGetsEachEventAsTheMessageOfAnSnsNotification() throws Exception {
    ses.createConfigurationSet(r -> r.configurationSetName("sns-shaped"));
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName("sns-shaped").eventDestinationName("sns")
        .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND, EventType.DELIVERY)
            .snsDestination(s -> s.topicArn("sns+" + webhook.url("/sns")))));
    webhook.failFirst("/sns", 1);
    String id = send("sns-shaped", "ok-sns@example.com");
    List<WebhookReceiver.Post> posts = Await.until(() -> webhook.posts("/sns"), p -> p.size() >= 3,
        Duration.ofSeconds(30));
    String account = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
    Map<String, JsonObject> byType = new HashMap<>();
    Map<String, java.util.Set<String>> idsByType = new HashMap<>();
    for (WebhookReceiver.Post p : posts) {
      new Webhook(secret).verify(p.body(), p.headers()); // the envelope is what is signed
      JsonObject envelope = p.json();
      assertEquals("Notification", envelope.getString("Type"));
      assertEquals("arn:aws:sns:us-east-1:" + account + ":mailgate", envelope.getString("TopicArn"));
      java.util.UUID.fromString(envelope.getString("MessageId"));
      assertTrue(envelope.getString("Timestamp").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"),
          envelope.getString("Timestamp"));
      assertEquals("Notification", p.headers().get("x-amz-sns-message-type").get(0));
      assertEquals(envelope.getString("MessageId"), p.headers().get("x-amz-sns-message-id").get(0));
      assertTrue(p.headers().get("content-type").get(0).startsWith("text/plain"), p.headers().toString());
      JsonObject event = new JsonObject(envelope.getString("Message"));
      assertEquals(id, event.getJsonObject("mail").getString("messageId"));
      byType.put(event.getString("eventType"), event);
      idsByType.computeIfAbsent(event.getString("eventType"), k -> new java.util.HashSet<>())
          .add(envelope.getString("MessageId"));
    }
    assertEquals(java.util.Set.of("Send", "Delivery"), byType.keySet());
    assertEquals(List.of(1, 1), List.of(idsByType.get("Send").size(), idsByType.get("Delivery").size()),
        "a post tried again carries the same MessageId: " + idsByType);
    assertTrue(!idsByType.get("Send").equals(idsByType.get("Delivery")));
    assertThrows(BadRequestException.class, () -> ses.createConfigurationSetEventDestination(r -> r
        .configurationSetName("sns-shaped").eventDestinationName("ftp").eventDestination(d -> d.enabled(true)
            .matchingEventTypes(EventType.SEND).snsDestination(s -> s.topicArn("sns+ftp://hooks.example.com/x")))));
  }

  @Test
  void complaintsFromFeedbackAndDeliveryDelaysArePostedToo() throws Exception {
    ses.createConfigurationSet(r -> r.configurationSetName("feedback"));
    destination("feedback", "hook", "/feedback", true, EventType.COMPLAINT, EventType.DELIVERY_DELAY);
    // the mailbox simulator's complaint comes back as an ARF report, through the feedback path
    String complained = send("feedback", "complaint@simulator.amazonses.com");
    String delayed = send("feedback", "later-1@example.com");
    WebhookReceiver.Post complaint = Await.until(() -> webhook.posts("/feedback", complained), p -> !p.isEmpty(),
        Duration.ofSeconds(20)).get(0);
    new Webhook(secret).verify(complaint.body(), complaint.headers());
    assertEquals("Complaint", complaint.json().getString("eventType"));
    assertEquals("complaint@simulator.amazonses.com", complaint.json().getJsonObject("complaint")
        .getJsonArray("complainedRecipients").getJsonObject(0).getString("emailAddress"));
    WebhookReceiver.Post delay = Await.until(() -> webhook.posts("/feedback", delayed), p -> !p.isEmpty(),
        Duration.ofSeconds(20)).get(0);
    assertEquals("DeliveryDelay", delay.json().getString("eventType"));
    JsonObject detail = delay.json().getJsonObject("deliveryDelay");
    assertEquals("later-1@example.com", detail.getJsonArray("delayedRecipients").getJsonObject(0)
        .getString("emailAddress"));
    assertEquals("MailboxFull", detail.getString("delayType"));
  }

  @Test
  void onlyTheMatchingTypesOfEnabledDestinationsArePosted() {
    ses.createConfigurationSet(r -> r.configurationSetName("narrow"));
    destination("narrow", "bounces", "/narrow-bounces", true, EventType.BOUNCE);
    destination("narrow", "off", "/narrow-off", false, EventType.SEND, EventType.DELIVERY, EventType.BOUNCE);
    String id = send("narrow", "ok-2@example.com", "dead-2@example.com");
    List<WebhookReceiver.Post> posts = Await.until(() -> webhook.posts("/narrow-bounces", id), p -> !p.isEmpty(),
        Duration.ofSeconds(20));
    assertEquals("Bounce", posts.get(0).json().getString("eventType"));
    // a message without the set: nothing, though its recipient is delivered
    String plain = send(null, "ok-3@example.com");
    String pg = node.config().get(MailgateConfig.PG_URL);
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM recipients WHERE state = 'delivered' AND message_id IN ('"
        + plain + "', '" + id + "')") == 2, Duration.ofSeconds(20));
    Await.until(() -> outboxRows() == 0, Duration.ofSeconds(10));
    assertEquals(1, webhook.posts("/narrow-bounces", id).size());
    assertTrue(webhook.posts("/narrow-off", id).isEmpty());
    assertTrue(webhook.posts("/narrow-bounces", plain).isEmpty());
  }

  @Test
  void aWebhookThatFailsGetsTheSameEventAgainUntilItTakesIt() {
    ses.createConfigurationSet(r -> r.configurationSetName("flaky"));
    webhook.failFirst("/flaky", 2);
    destination("flaky", "hook", "/flaky", true, EventType.SEND);
    String id = send("flaky", "ok-4@example.com");
    List<WebhookReceiver.Post> posts = Await.until(() -> webhook.posts("/flaky", id), p -> p.size() >= 3,
        Duration.ofSeconds(30));
    Await.until(() -> outboxRows() == 0, Duration.ofSeconds(10));
    assertEquals(3, webhook.posts("/flaky", id).size(), "refused twice (503), taken the third time, then no more");
    String first = posts.get(0).headers().get("webhook-id").get(0);
    for (WebhookReceiver.Post p : posts) {
      assertEquals(first, p.headers().get("webhook-id").get(0), "the same id on each attempt");
    }
  }

  @Test
  void aRotatedSecretSignsAlongsideThePreviousOneUntilItsGraceEnds() throws Exception {
    io.mailgate.identity.Accounts.NewKey tenant = node.createAccount("rotating", true, 100, 10_000);
    WebhookSigner signer = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY));
    try (SesV2Client client = node.sesV2(tenant.accessKeyId(), tenant.secretAccessKey())) {
      client.createConfigurationSet(r -> r.configurationSetName("rotating"));
      client.createConfigurationSetEventDestination(r -> r.configurationSetName("rotating").eventDestinationName("h")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
              .snsDestination(sns -> sns.topicArn(webhook.url("/rotating")))));
      java.util.function.Supplier<WebhookReceiver.Post> sendOne = () -> {
        String id = client.sendEmail(r -> r.fromEmailAddress("events@example.com")
            .destination(d -> d.toAddresses("ok-rot@example.com")).configurationSetName("rotating")
            .content(c -> c.simple(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("x"))))))
            .messageId();
        return Await.until(() -> webhook.posts("/rotating", id), p -> !p.isEmpty(), Duration.ofSeconds(20)).get(0);
      };
      String first = signer.secret(tenant.accountId());
      WebhookReceiver.Post before = sendOne.get();
      new Webhook(first).verify(before.body(), before.headers());

      var rotated = node.withAccounts(a -> a.rotateWebhookSecret(tenant.accountId(), 1, false));
      assertEquals(1, rotated.generation());
      String second = signer.secret(tenant.accountId(), 1);
      assertFalse(second.equals(first));
      WebhookReceiver.Post during = sendOne.get();
      // the account's and the destination's, of either generation
      assertEquals(4, during.headers().get("webhook-signature").get(0).split(" ").length,
          during.headers().toString());
      new Webhook(second).verify(during.body(), during.headers());
      new Webhook(first).verify(during.body(), during.headers()); // a receiver not yet changed over
      String url = webhook.url("/rotating");
      new Webhook(signer.secret(tenant.accountId(), 1, url)).verify(during.body(), during.headers());
      new Webhook(signer.secret(tenant.accountId(), 0, url)).verify(during.body(), during.headers());
      assertThrows(WebhookVerificationException.class, () -> new Webhook(signer.secret(tenant.accountId(), 2))
          .verify(during.body(), during.headers()));
      assertThrows(WebhookVerificationException.class, () -> new Webhook(signer.secret(tenant.accountId(), 2, url))
          .verify(during.body(), during.headers()));

      // the grace over, the previous secret no longer verifies
      String pg = node.config().get(MailgateConfig.PG_URL);
      Db.execute(pg, "UPDATE accounts SET webhook_previous_until = now() - interval '1 second' WHERE id = '"
          + tenant.accountId() + "'");
      WebhookReceiver.Post after = sendOne.get();
      new Webhook(second).verify(after.body(), after.headers());
      new Webhook(signer.secret(tenant.accountId(), 1, url)).verify(after.body(), after.headers());
      assertThrows(WebhookVerificationException.class, () -> new Webhook(first).verify(after.body(), after.headers()));
      assertThrows(WebhookVerificationException.class, () -> new Webhook(signer.secret(tenant.accountId(), 0, url))
          .verify(after.body(), after.headers()));
    }
  }

  @Test
  void sesV1ManagesTheSameDestinations() {
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1()) {
      v1.createConfigurationSet(r -> r.configurationSet(c -> c.name("v1-set")));
      v1.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
          .name("hook").enabled(true).snsDestination(sns -> sns.topicARN(webhook.url("/v1-set")))
          .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND,
              software.amazon.awssdk.services.ses.model.EventType.RENDERING_FAILURE)));
      var described = v1.describeConfigurationSet(r -> r.configurationSetName("v1-set")
          .configurationSetAttributeNamesWithStrings("eventDestinations")).eventDestinations();
      assertEquals(1, described.size());
      assertEquals("hook", described.get(0).name());
      assertTrue(described.get(0).enabled());
      assertEquals(List.of("send", "renderingFailure"), described.get(0).matchingEventTypesAsStrings());
      assertEquals(webhook.url("/v1-set"), described.get(0).snsDestination().topicARN());
      // the same destination through v2, and its events posted
      assertEquals(List.of(EventType.SEND, EventType.RENDERING_FAILURE), ses.getConfigurationSetEventDestinations(r -> r
          .configurationSetName("v1-set")).eventDestinations().get(0).matchingEventTypes());
      String id = send("v1-set", "ok-v1@example.com");
      assertEquals("Send", Await.until(() -> webhook.posts("/v1-set", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
          .get(0).json().getString("eventType"));

      assertThrows(software.amazon.awssdk.services.ses.model.EventDestinationAlreadyExistsException.class,
          () -> v1.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("hook").snsDestination(sns -> sns.topicARN(webhook.url("/x")))
              .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND))));
      // refused, nothing stored: an SNS topic, a Firehose stream, a CloudWatch destination (each with v1's code for
      // its kind of destination, which the SDK throws as an exception of its own), an unknown type, a set that does
      // not exist
      var arn = assertThrows(software.amazon.awssdk.services.ses.model.InvalidSnsDestinationException.class,
          () -> v1.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("arn").snsDestination(sns -> sns.topicARN("arn:aws:sns:us-east-1:123456789012:t"))
              .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND))));
      assertV1Error(arn, "InvalidSNSDestination", "SNSDestination.TopicARN 'arn:aws:sns:us-east-1:123456789012:t' "
          + "is an ARN");
      var notHttp = assertThrows(software.amazon.awssdk.services.ses.model.InvalidSnsDestinationException.class,
          () -> v1.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("ftp").snsDestination(sns -> sns.topicARN("ftp://hooks.example.com/x"))
              .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND))));
      assertV1Error(notHttp, "InvalidSNSDestination", "SNSDestination.TopicARN 'ftp://hooks.example.com/x' must be");
      var firehose = assertThrows(software.amazon.awssdk.services.ses.model.InvalidFirehoseDestinationException.class,
          () -> v1.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("firehose").kinesisFirehoseDestination(f -> f.deliveryStreamARN("arn:x").iamRoleARN("arn:y"))
              .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND))));
      assertV1Error(firehose, "InvalidFirehoseDestination",
          "KinesisFirehoseDestination is an AWS service Mailgate cannot publish to");
      var cloudWatch = assertThrows(
          software.amazon.awssdk.services.ses.model.InvalidCloudWatchDestinationException.class,
          () -> v1.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("metrics").cloudWatchDestination(c -> c.dimensionConfigurations(dc -> dc.dimensionName("campaign")
                  .dimensionValueSource(software.amazon.awssdk.services.ses.model.DimensionValueSource.MESSAGE_TAG)
                  .defaultDimensionValue("none")))
              .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND))));
      assertV1Error(cloudWatch, "InvalidCloudWatchDestination",
          "CloudWatchDestination is an AWS service Mailgate cannot publish to");
      software.amazon.awssdk.services.ses.model.SesException odd = assertThrows(
          software.amazon.awssdk.services.ses.model.SesException.class,
          () -> v1.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("odd").snsDestination(sns -> sns.topicARN(webhook.url("/x")))
              .matchingEventTypesWithStrings("SEND"))));
      assertInvalidParameter(odd, "EventDestination.MatchingEventTypes: 'SEND' is not an event type");
      software.amazon.awssdk.services.ses.model.SesException delays = assertThrows(
          software.amazon.awssdk.services.ses.model.SesException.class, // v2 only, as in SES
          () -> v1.createConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("delays").snsDestination(sns -> sns.topicARN(webhook.url("/x")))
              .matchingEventTypesWithStrings("deliveryDelay"))));
      assertInvalidParameter(delays, "EventDestination.MatchingEventTypes: 'deliveryDelay' is not an event type");
      assertThrows(software.amazon.awssdk.services.ses.model.ConfigurationSetDoesNotExistException.class,
          () -> v1.createConfigurationSetEventDestination(r -> r.configurationSetName("no-such-set").eventDestination(
              d -> d.name("h").snsDestination(sns -> sns.topicARN(webhook.url("/x")))
                  .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND))));
      assertEquals(1, ses.getConfigurationSetEventDestinations(r -> r.configurationSetName("v1-set"))
          .eventDestinations().size());
      // an update is checked as a creation is, and refused the same way
      var updateArn = assertThrows(software.amazon.awssdk.services.ses.model.InvalidSnsDestinationException.class,
          () -> v1.updateConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("hook").snsDestination(sns -> sns.topicARN("arn:aws:sns:us-east-1:123456789012:t"))
              .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND))));
      assertV1Error(updateArn, "InvalidSNSDestination", "SNSDestination.TopicARN");
      assertThrows(software.amazon.awssdk.services.ses.model.InvalidFirehoseDestinationException.class,
          () -> v1.updateConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
              .name("hook").kinesisFirehoseDestination(f -> f.deliveryStreamARN("arn:x").iamRoleARN("arn:y"))
              .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.SEND))));
      assertEquals(webhook.url("/v1-set"), ses.getConfigurationSetEventDestinations(r -> r
          .configurationSetName("v1-set")).eventDestinations().get(0).snsDestination().topicArn());

      // an update replaces the definition: Enabled left out is false
      v1.updateConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestination(d -> d
          .name("hook").snsDestination(sns -> sns.topicARN(webhook.url("/v1-set-2")))
          .matchingEventTypes(software.amazon.awssdk.services.ses.model.EventType.BOUNCE)));
      var updated = v1.describeConfigurationSet(r -> r.configurationSetName("v1-set")
          .configurationSetAttributeNamesWithStrings("eventDestinations")).eventDestinations().get(0);
      assertFalse(updated.enabled());
      assertEquals(List.of("bounce"), updated.matchingEventTypesAsStrings());
      assertEquals(webhook.url("/v1-set-2"), updated.snsDestination().topicARN());

      v1.deleteConfigurationSetEventDestination(r -> r.configurationSetName("v1-set").eventDestinationName("hook"));
      assertTrue(v1.describeConfigurationSet(r -> r.configurationSetName("v1-set")
          .configurationSetAttributeNamesWithStrings("eventDestinations")).eventDestinations().isEmpty());
      assertThrows(software.amazon.awssdk.services.ses.model.EventDestinationDoesNotExistException.class,
          () -> v1.deleteConfigurationSetEventDestination(r -> r.configurationSetName("v1-set")
              .eventDestinationName("hook")));
    }
  }

  @Test
  void destinationsAreListedUpdatedAndDeleted() {
    ses.createConfigurationSet(r -> r.configurationSetName("crud"));
    destination("crud", "a", "/crud?token=x", true, EventType.SEND, EventType.DELIVERY_DELAY);
    List<EventDestination> listed = ses.getConfigurationSetEventDestinations(r -> r.configurationSetName("crud"))
        .eventDestinations();
    assertEquals(1, listed.size());
    assertEquals("a", listed.get(0).name());
    assertTrue(listed.get(0).enabled());
    assertEquals(List.of(EventType.SEND, EventType.DELIVERY_DELAY), listed.get(0).matchingEventTypes());
    assertEquals(webhook.url("/crud?token=x"), listed.get(0).snsDestination().topicArn());

    // as in SES, an update replaces the definition: Enabled left out is false (Go's SDK sends it only when true)
    ses.updateConfigurationSetEventDestination(r -> r.configurationSetName("crud").eventDestinationName("a")
        .eventDestination(d -> d.matchingEventTypes(EventType.BOUNCE)));
    EventDestination updated = ses.getConfigurationSetEventDestinations(r -> r.configurationSetName("crud"))
        .eventDestinations().get(0);
    assertFalse(updated.enabled());
    assertEquals(List.of(EventType.BOUNCE), updated.matchingEventTypes());
    assertEquals(webhook.url("/crud?token=x"), updated.snsDestination().topicArn(), "left out: kept");
    ses.updateConfigurationSetEventDestination(r -> r.configurationSetName("crud").eventDestinationName("a")
        .eventDestination(d -> d.enabled(true).snsDestination(s -> s.topicArn(webhook.url("/crud2")))));
    updated = ses.getConfigurationSetEventDestinations(r -> r.configurationSetName("crud")).eventDestinations().get(0);
    assertTrue(updated.enabled());
    assertEquals(webhook.url("/crud2"), updated.snsDestination().topicArn());

    ses.deleteConfigurationSetEventDestination(r -> r.configurationSetName("crud").eventDestinationName("a"));
    assertTrue(ses.getConfigurationSetEventDestinations(r -> r.configurationSetName("crud")).eventDestinations()
        .isEmpty());
    assertThrows(NotFoundException.class, () -> ses.deleteConfigurationSetEventDestination(r -> r
        .configurationSetName("crud").eventDestinationName("a")));
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSetEventDestinations(r -> r
        .configurationSetName("no-such-set")));
  }

  /**
   * Events waiting for a destination whose types were changed since are not posted when it no longer takes their
   * type, not even to the URL it was given at the same time; those of a type it still takes go there.
   */
  @Test
  void eventsOfATypeTakenOutAreDroppedNotPostedToTheNewUrl() throws Exception {
    ses.createConfigurationSet(r -> r.configurationSetName("retyped"));
    webhook.failFirst("/retyped-old", 1_000_000);
    try {
      destination("retyped", "d", "/retyped-old", true, EventType.SEND, EventType.DELIVERY);
      String id = send("retyped", "someone@example.org");
      // both events fail at the old URL (which never takes one), and wait for their retry
      Await.until(() -> webhook.posts("/retyped-old", id).stream().map(p -> p.json().getString("eventType"))
          .collect(java.util.stream.Collectors.toSet()).containsAll(List.of("Send", "Delivery")),
          Duration.ofSeconds(20));
      ses.updateConfigurationSetEventDestination(r -> r.configurationSetName("retyped").eventDestinationName("d")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
              .snsDestination(s -> s.topicArn(webhook.url("/retyped-new")))));
      // after the retries' backoff, or the pause of a destination that failed three times (30 s)
      Await.until(() -> !webhook.posts("/retyped-new", id).isEmpty(), Duration.ofSeconds(60));
      String pg = node.config().get(MailgateConfig.PG_URL);
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM event_outbox WHERE message_id = '" + id + "'") == 0,
          Duration.ofSeconds(60));
      assertEquals(List.of("Send"), webhook.posts("/retyped-new", id).stream()
          .map(p -> p.json().getString("eventType")).toList(), "the Delivery event is dropped, not posted");
    } finally {
      webhook.failFirst("/retyped-old", 0);
    }
  }

  @Test
  void badDefinitionsAreRefusedAndChangeNothing() {
    ses.createConfigurationSet(r -> r.configurationSetName("strict"));
    destination("strict", "taken", "/strict", true, EventType.SEND);
    Map<String, Runnable> bad = new java.util.LinkedHashMap<>();
    bad.put("an SNS topic ARN", () -> create("strict", "x", d -> d.enabled(true).matchingEventTypes(EventType.SEND)
        .snsDestination(s -> s.topicArn("arn:aws:sns:us-east-1:123456789012:ses-events"))));
    bad.put("not http", () -> create("strict", "x", d -> d.enabled(true).matchingEventTypes(EventType.SEND)
        .snsDestination(s -> s.topicArn("ftp://hooks.example.com/x"))));
    bad.put("CR LF in the URL", () -> create("strict", "x", d -> d.enabled(true).matchingEventTypes(EventType.SEND)
        .snsDestination(s -> s.topicArn("https://hooks.example.com/x\r\nX-Injected: 1"))));
    bad.put("credentials in the URL", () -> create("strict", "x", d -> d.enabled(true)
        .matchingEventTypes(EventType.SEND).snsDestination(s -> s.topicArn("https://u:p@hooks.example.com/x"))));
    bad.put("an unknown event type", () -> create("strict", "x", d -> d.enabled(true)
        .matchingEventTypesWithStrings("SEND", "OPENED").snsDestination(s -> s.topicArn("https://h.example.com/"))));
    bad.put("no event type", () -> create("strict", "x", d -> d.enabled(true).matchingEventTypes(List.of())
        .snsDestination(s -> s.topicArn("https://h.example.com/"))));
    bad.put("Firehose", () -> create("strict", "x", d -> d.enabled(true).matchingEventTypes(EventType.SEND)
        .kinesisFirehoseDestination(f -> f.deliveryStreamArn("arn:aws:firehose:us-east-1:1:deliverystream/x")
            .iamRoleArn("arn:aws:iam::1:role/x"))));
    bad.put("CloudWatch", () -> create("strict", "x", d -> d.enabled(true).matchingEventTypes(EventType.SEND)
        .cloudWatchDestination(c -> c.dimensionConfigurations(dc -> dc.dimensionName("campaign")
            .dimensionValueSource(software.amazon.awssdk.services.sesv2.model.DimensionValueSource.MESSAGE_TAG)
            .defaultDimensionValue("none")))));
    bad.put("no destination", () -> create("strict", "x", d -> d.enabled(true).matchingEventTypes(EventType.SEND)));
    bad.put("port 70000", () -> create("strict", "x", d -> d.enabled(true).matchingEventTypes(EventType.SEND)
        .snsDestination(s -> s.topicArn("https://h.example.com:70000/"))));
    bad.put("a bad name", () -> create("strict", "x y", d -> d.enabled(true).matchingEventTypes(EventType.SEND)
        .snsDestination(s -> s.topicArn("https://h.example.com/"))));
    for (Map.Entry<String, Runnable> e : bad.entrySet()) {
      assertThrows(BadRequestException.class, e.getValue()::run, e.getKey());
    }
    assertThrows(AlreadyExistsException.class, () -> destination("strict", "taken", "/strict", true, EventType.SEND));
    assertThrows(NotFoundException.class, () -> destination("no-such-set", "x", "/x", true, EventType.SEND));
    assertThrows(BadRequestException.class, () -> ses.updateConfigurationSetEventDestination(r -> r
        .configurationSetName("strict").eventDestinationName("taken").eventDestination(d -> d
            .snsDestination(s -> s.topicArn("arn:aws:sns:us-east-1:123456789012:t")))));
    assertThrows(NotFoundException.class, () -> ses.updateConfigurationSetEventDestination(r -> r
        .configurationSetName("strict").eventDestinationName("missing").eventDestination(d -> d.enabled(false))));
    List<EventDestination> listed = ses.getConfigurationSetEventDestinations(r -> r.configurationSetName("strict"))
        .eventDestinations();
    assertEquals(1, listed.size());
    assertEquals(webhook.url("/strict"), listed.get(0).snsDestination().topicArn());
    // ten per configuration set, as in SES
    for (int i = 1; i < 10; i++) {
      destination("strict", "d" + i, "/strict", true, EventType.SEND);
    }
    assertThrows(LimitExceededException.class, () -> destination("strict", "d10", "/strict", true, EventType.SEND));
  }

  @Test
  void eventsOfADeletedConfigurationSetAreNotPosted() throws InterruptedException {
    ses.createConfigurationSet(r -> r.configurationSetName("gone"));
    webhook.failFirst("/gone", 1000);
    destination("gone", "hook", "/gone", true, EventType.SEND);
    String id = send("gone", "ok-5@example.com");
    Await.until(() -> webhook.posts("/gone", id).size() >= 1, Duration.ofSeconds(20));
    ses.deleteConfigurationSet(r -> r.configurationSetName("gone"));
    int posted = webhook.posts("/gone", id).size();
    // its event, waiting for a retry, is dropped when due, not posted again (one post may have been under way)
    Await.until(() -> Db.count(node.config().get(MailgateConfig.PG_URL),
        "SELECT count(*) FROM event_outbox WHERE message_id = '" + id + "'") == 0, Duration.ofSeconds(20));
    Thread.sleep(3000);
    assertTrue(webhook.posts("/gone", id).size() <= posted + 1, webhook.posts("/gone", id).size() + " posts, "
        + posted + " before the delete");
  }

  @Test
  void aNodeThatKeepsToPublicAddressesDoesNotPostIntoItsOwnNetwork() {
    try (TestNode strict = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_ALLOW_PRIVATE_ADDRESSES,
        false)); SesV2Client client = strict.sesV2()) {
      client.createConfigurationSet(r -> r.configurationSetName("ssrf"));
      // an address literal is refused at once; a name is checked each time it is resolved
      assertThrows(BadRequestException.class, () -> client.createConfigurationSetEventDestination(r -> r
          .configurationSetName("ssrf").eventDestinationName("literal").eventDestination(d -> d.enabled(true)
              .matchingEventTypes(EventType.SEND).snsDestination(s -> s.topicArn(webhook.url("/ssrf"))))));
      String byName = webhook.url("/ssrf").replace("127.0.0.1", "localhost");
      client.createConfigurationSetEventDestination(r -> r.configurationSetName("ssrf").eventDestinationName("name")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
              .snsDestination(s -> s.topicArn(byName))));
      client.sendEmail(r -> r.fromEmailAddress("events@example.com").destination(d -> d.toAddresses("ok-6@example.com"))
          .configurationSetName("ssrf").content(c -> c.simple(m -> m.subject(s -> s.data("s"))
              .body(b -> b.text(t -> t.data("x"))))));
      String pg = strict.config().get(MailgateConfig.PG_URL);
      String error = Await.until(() -> Db.string(pg, "SELECT coalesce(max(last_error), '') FROM event_outbox"),
          e -> !e.isEmpty(), Duration.ofSeconds(20));
      assertTrue(error.contains("private address"), error);
      assertTrue(webhook.posts("/ssrf").isEmpty(), "nothing reached the webhook");
    }
  }

  /**
   * A name whose only record is an AAAA of {@code ::ffff:127.0.0.1}: a lookup answers it as an Inet6Address (not
   * turned into IPv4), which must be refused as the loopback address it is.
   */
  @Test
  void aNameAtAnIpv4MappedLoopbackAddressIsRefused() throws Exception {
    EventPublisherVerticle.HostLookup system = EventPublisherVerticle.hostLookup;
    byte[] mapped = new byte[16];
    mapped[10] = (byte) 0xff;
    mapped[11] = (byte) 0xff;
    mapped[12] = 127;
    mapped[15] = 1;
    EventPublisherVerticle.hostLookup = host -> host.equals("mapped.test")
        ? new java.net.InetAddress[] {java.net.Inet6Address.getByAddress(host, mapped, -1)} : system.addresses(host);
    try (TestNode strict = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_ALLOW_PRIVATE_ADDRESSES,
        false)); SesV2Client client = strict.sesV2()) {
      client.createConfigurationSet(r -> r.configurationSetName("mapped"));
      String byName = webhook.url("/mapped").replace("127.0.0.1", "mapped.test");
      client.createConfigurationSetEventDestination(r -> r.configurationSetName("mapped").eventDestinationName("name")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
              .snsDestination(s -> s.topicArn(byName))));
      client.sendEmail(r -> r.fromEmailAddress("events@example.com").destination(d -> d.toAddresses("ok-6@example.com"))
          .configurationSetName("mapped").content(c -> c.simple(m -> m.subject(s -> s.data("s"))
              .body(b -> b.text(t -> t.data("x"))))));
      String pg = strict.config().get(MailgateConfig.PG_URL);
      String error = Await.until(() -> Db.string(pg, "SELECT coalesce(max(last_error), '') FROM event_outbox"),
          e -> !e.isEmpty(), Duration.ofSeconds(20));
      assertTrue(error.contains("private address"), error);
      assertTrue(webhook.posts("/mapped").isEmpty(), "nothing reached the webhook");
    } finally {
      EventPublisherVerticle.hostLookup = system;
    }
  }

  /**
   * A webhook named by a host name: looked up once for many posts (then kept as long as the JVM keeps a lookup), not
   * once per post on a resolver thread.
   */
  @Test
  void aWebhookHostNameIsLookedUpOnceForManyPosts() throws Exception {
    long began = System.nanoTime();
    try (TestNode own = TestNode.start(relay.url()); SesV2Client client = own.sesV2()) {
      client.createConfigurationSet(r -> r.configurationSetName("by-name"));
      String byName = webhook.url("/by-name").replace("127.0.0.1", "localhost");
      client.createConfigurationSetEventDestination(r -> r.configurationSetName("by-name").eventDestinationName("n")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND, EventType.DELIVERY)
              .snsDestination(s -> s.topicArn(byName))));
      for (int i = 0; i < 4; i++) {
        String id = client.sendEmail(r -> r.fromEmailAddress("events@example.com")
            .destination(d -> d.toAddresses("ok-9@example.com")).configurationSetName("by-name")
            .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("x")))))).messageId();
        Await.until(() -> webhook.posts("/by-name", id), p -> p.size() == 2, Duration.ofSeconds(20));
      }
      String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
          own.endpoint().resolve("/_mailgate/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
          .body();
      // eight posts, one after another: one lookup, and one more for each time the name's lookup expired on a slow
      // machine (30 s unless this JVM is set otherwise)
      long ttlNanos = EventPublisherVerticle.hostTtlMillis(
          java.security.Security.getProperty("networkaddress.cache.ttl"), System.getProperty("sun.net.inetaddr.ttl"))
          * 1_000_000L;
      long windows = 1 + (System.nanoTime() - began) / Math.max(1, ttlNanos);
      java.util.regex.Matcher lookups = java.util.regex.Pattern
          .compile("\nmailgate_webhook_host_lookups_total (\\d+)\n").matcher(metrics);
      assertTrue(lookups.find(), metrics);
      long n = Long.parseLong(lookups.group(1));
      assertTrue(n >= 1 && n <= windows, n + " lookups in " + windows + " lookup lifetimes");
    }
  }

  @Test
  void aLookupIsKeptAsLongAsTheJvmKeepsOne() {
    assertEquals(30_000L, EventPublisherVerticle.hostTtlMillis(null, null));
    assertEquals(30_000L, EventPublisherVerticle.hostTtlMillis("thirty", null));
    assertEquals(10_000L, EventPublisherVerticle.hostTtlMillis(" 10 ", null));
    assertEquals(0L, EventPublisherVerticle.hostTtlMillis("0", null));
    assertEquals(3_600_000L, EventPublisherVerticle.hostTtlMillis("-1", null));
    assertEquals(3_600_000L, EventPublisherVerticle.hostTtlMillis("86400", null));
    // the system property only when the security property is not set, as the JVM reads them
    assertEquals(0L, EventPublisherVerticle.hostTtlMillis(null, "0"));
    assertEquals(5_000L, EventPublisherVerticle.hostTtlMillis("5", "0"));
    assertEquals(0L, EventPublisherVerticle.hostTtlMillis("never", "0"));
  }

  /**
   * A webhook that never answers: each post ends at events.timeoutSeconds, and after three failures in a row the
   * destination's other events are put off instead of taking the node's posts; another destination's events are
   * posted meanwhile.
   */
  @Test
  void aWebhookThatNeverAnswersTimesOutAndDoesNotHoldUpOthers() throws Exception {
    try (TestNode slow = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_TIMEOUT_SECONDS, 1)
        .with(MailgateConfig.EVENTS_CONCURRENCY, 4)); SesV2Client client = slow.sesV2()) {
      webhook.hang("/hang");
      for (String set : new String[] {"hanging", "healthy"}) {
        client.createConfigurationSet(r -> r.configurationSetName(set));
        client.createConfigurationSetEventDestination(r -> r.configurationSetName(set).eventDestinationName("hook")
            .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
                .snsDestination(s -> s.topicArn(webhook.url(set.equals("hanging") ? "/hang" : "/healthy")))));
      }
      for (int i = 0; i < 8; i++) {
        client.sendEmail(r -> r.fromEmailAddress("events@example.com").destination(d -> d.toAddresses("ok-7@example.com"))
            .configurationSetName("hanging").content(c -> c.simple(m -> m.subject(s -> s.data("s"))
                .body(b -> b.text(t -> t.data("x"))))));
      }
      String pg = slow.config().get(MailgateConfig.PG_URL);
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM event_outbox WHERE last_error LIKE 'no answer within 1 s%'")
          >= 3, Duration.ofSeconds(20));
      String healthy = client.sendEmail(r -> r.fromEmailAddress("events@example.com")
          .destination(d -> d.toAddresses("ok-8@example.com")).configurationSetName("healthy")
          .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("x")))))).messageId();
      Await.until(() -> webhook.posts("/healthy", healthy).size() == 1, Duration.ofSeconds(10));
      long hung = webhook.posts("/hang").size();
      Thread.sleep(6000); // retries would come after 1, 3 s ...: the destination's events are put off instead
      long later = webhook.posts("/hang").size();
      assertTrue(later - hung <= 1, "posts to the hanging webhook: " + hung + ", then " + later);
      assertTrue(hung <= 8, hung + " posts for 8 events");
    } finally {
      webhook.release("/hang");
    }
  }

  /**
   * A webhook that answers 200 but slowly, with a backlog: another destination's event is claimed past that backlog
   * and posted at once, not after it.
   */
  @Test
  void aSlowWebhooksBacklogDoesNotHoldUpAnotherDestination() throws Exception {
    try (TestNode node2 = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 4));
         SesV2Client client = node2.sesV2()) {
      webhook.delay("/slow", 500);
      for (String set : new String[] {"slowset", "quickset"}) {
        client.createConfigurationSet(r -> r.configurationSetName(set));
        client.createConfigurationSetEventDestination(r -> r.configurationSetName(set).eventDestinationName("hook")
            .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
                .snsDestination(s -> s.topicArn(webhook.url(set.equals("slowset") ? "/slow" : "/quick")))));
      }
      for (int i = 0; i < 80; i++) { // two posts at a time at 500 ms each: 20 s of backlog
        client.sendEmail(r -> r.fromEmailAddress("events@example.com").destination(d -> d.toAddresses("ok-9@example.com"))
            .configurationSetName("slowset").content(c -> c.simple(m -> m.subject(s -> s.data("s"))
                .body(b -> b.text(t -> t.data("x"))))));
      }
      Await.until(() -> webhook.posts("/slow").size() >= 2,
          Duration.ofSeconds(10));
      long sent = System.nanoTime();
      String quick = client.sendEmail(r -> r.fromEmailAddress("events@example.com")
          .destination(d -> d.toAddresses("ok-10@example.com")).configurationSetName("quickset")
          .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("x")))))).messageId();
      Await.until(() -> webhook.posts("/quick", quick).size() == 1, Duration.ofSeconds(30));
      long waited = (System.nanoTime() - sent) / 1_000_000;
      long slowDone = webhook.posts("/slow").size();
      assertTrue(waited < 5000 && slowDone < 60, "the quick webhook's event came " + waited + " ms after its send, when "
          + slowDone + " of the slow webhook's 80 were posted");
    } finally {
      webhook.delay("/slow", 0);
    }
  }

  static void create(String set, String name,
      java.util.function.Consumer<software.amazon.awssdk.services.sesv2.model.EventDestinationDefinition.Builder> d) {
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName(set).eventDestinationName(name)
        .eventDestination(d));
  }

  /** SES v1's refusal of a bad parameter: 400 InvalidParameterValue, with a message that says what is wrong. */
  static void assertInvalidParameter(software.amazon.awssdk.services.ses.model.SesException e, String message) {
    assertV1Error(e, "InvalidParameterValue", message);
  }

  static void assertV1Error(software.amazon.awssdk.services.ses.model.SesException e, String code, String message) {
    assertEquals(400, e.statusCode(), e.getMessage());
    assertEquals(code, e.awsErrorDetails().errorCode(), e.getMessage());
    assertTrue(e.awsErrorDetails().errorMessage().startsWith(message), e.getMessage());
  }

  static long outboxRows() {
    return Db.count(node.config().get(MailgateConfig.PG_URL), "SELECT count(*) FROM event_outbox");
  }

  /** An HTTP server that records each POST and answers 200, or 503 to the first few of a path. */
}
