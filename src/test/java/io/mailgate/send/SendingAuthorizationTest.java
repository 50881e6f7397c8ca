package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.Jdkim;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.Tenant;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import io.mailgate.events.WebhookSigner;
import io.mailgate.identity.SecretBox;
import com.standardwebhooks.Webhook;
import io.vertx.core.json.JsonObject;
import software.amazon.awssdk.services.ses.model.NotificationType;
import software.amazon.awssdk.services.sesv2.model.EventType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.MessageRejectedException;
import software.amazon.awssdk.services.sesv2.model.SendEmailRequest;
import software.amazon.awssdk.services.sesv2.model.SesV2Exception;

/**
 * Sending authorization end to end through the AWS SDKs: a delegate account sends from an identity another account
 * owns, as far as the owner's policies allow, and no further.
 */
class SendingAuthorizationTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static Tenant owner;
  static Tenant delegate;
  static Tenant stranger;
  static final String DOMAIN = "owner-brand.example";
  /** An address of the delegate's own. */
  static final String OWN = "me@delegate-own.example";
  static String domainArn;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    // no sender is verified by its first use here: an address a delegate may not use stays refused
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DEV_AUTO_VERIFY_SENDERS, false));
    owner = Tenant.create(node, "identity-owner");
    delegate = Tenant.create(node, "delegate-sender");
    stranger = Tenant.create(node, "stranger");
    owner.v2().createEmailIdentity(r -> r.emailIdentity(DOMAIN)); // start-dev: verified, DKIM too
    delegate.v2().createEmailIdentity(r -> r.emailIdentity(OWN));
    domainArn = arn(owner.id(), DOMAIN);
  }

  @AfterAll
  static void stop() throws IOException {
    owner.close();
    delegate.close();
    stranger.close();
    node.close();
    relay.close();
  }

  static String arn(String account, String identity) {
    return "arn:aws:ses:us-east-1:" + account + ":identity/" + identity;
  }

  /** Puts the identity's only policy: statements allowing (or denying) the delegate, with conditions. */
  static void policy(String identity, String... statements) {
    Map<String, String> existing = owner.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)).policies();
    for (String name : existing.keySet()) {
      owner.v2().deleteEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName(name));
    }
    String doc = "{\"Version\":\"2012-10-17\",\"Statement\":[" + String.join(",", statements) + "]}";
    owner.v2().createEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("delegates").policy(doc));
  }

  static String statement(String effect, String identity, String condition) {
    return "{\"Effect\":\"" + effect + "\",\"Principal\":{\"AWS\":[\"arn:aws:iam::" + delegate.id() + ":root\"]},"
        + "\"Action\":[\"ses:SendEmail\",\"ses:SendRawEmail\"],\"Resource\":\"" + arn(owner.id(), identity) + "\""
        + (condition == null ? "" : ",\"Condition\":" + condition) + "}";
  }

  static SendEmailRequest send(String from, String fromArn, String subject, String... to) {
    return SendEmailRequest.builder().fromEmailAddress(from).fromEmailAddressIdentityArn(fromArn)
        .destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data(subject)).body(b -> b.text(t -> t.data("hello")))))
        .build();
  }

  static RecordingSmtpServer.Received awaitReceived(String subject) {
    return Await.until(() -> relay.received().stream().filter(r -> r.text().contains(subject)).findFirst()
        .orElse(null), r -> r != null, Duration.ofSeconds(20));
  }

  static void assertDenied(Tenant sender, SendEmailRequest request) {
    SesV2Exception e = assertThrows(SesV2Exception.class, () -> sender.v2().sendEmail(request));
    assertEquals(403, e.statusCode());
    assertEquals("AccessDeniedException", e.awsErrorDetails().errorCode());
    assertTrue(e.getMessage().contains("is not authorized to perform `ses:SendEmail' on resource `"
        + request.fromEmailAddressIdentityArn() + "'"), e.getMessage());
  }

  @Test
  void aDelegateSendsAsFarAsThePolicyAllows() throws Exception {
    String subject = "delegated " + UUID.randomUUID();
    SendEmailRequest request = send("News <news@" + DOMAIN + ">", domainArn, subject, "reader@elsewhere.test");
    policy(DOMAIN, statement("Deny", DOMAIN, "{\"StringEquals\":{\"ses:FromAddress\":\"ceo@" + DOMAIN + "\"}}"));
    assertDenied(delegate, request); // no Allow at all

    policy(DOMAIN, statement("Allow", DOMAIN, null));
    String id = delegate.v2().sendEmail(request).messageId();
    RecordingSmtpServer.Received got = awaitReceived(subject);
    assertEquals(List.of("reader@elsewhere.test"), got.rcptTo());
    // signed with the owner's key for the domain: the published record verifies it
    String dkim = owner.v2().getEmailIdentity(r -> r.emailIdentity(DOMAIN)).dkimAttributes().tokens().get(0);
    String record = "v=DKIM1; k=rsa; p=" + Db.string(node.config().get(MailgateConfig.PG_URL), "SELECT "
        + "dkim_public_key FROM identities WHERE account_id = '" + owner.id() + "' AND identity = '" + DOMAIN + "'");
    assertNull(Jdkim.verify(got.data(), Map.of(dkim + "._domainkey." + DOMAIN, record)));
    // the message is the delegate's: its status is the delegate's to read, not the owner's
    assertEquals(id, node.message(id, delegate.key().accessKeyId(), delegate.key().secretAccessKey())
        .getString("MessageId"));

    // the same ARN does nothing for an account the policy does not name
    assertDenied(stranger, send("news@" + DOMAIN, domainArn, subject, "reader@elsewhere.test"));
    // an explicit Deny wins over the Allow
    policy(DOMAIN, statement("Allow", DOMAIN, null), statement("Deny", DOMAIN, null));
    assertDenied(delegate, request);
  }

  @Test
  void conditionsOnSenderRecipientsAndTime() {
    policy(DOMAIN, statement("Allow", DOMAIN, "{\"StringLike\":{\"ses:FromAddress\":\"news@" + DOMAIN + "\","
        + "\"ses:Recipients\":\"*@partner.test\"},\"DateLessThan\":{\"aws:CurrentTime\":\"2999-01-01T00:00:00Z\"}}"));
    delegate.v2().sendEmail(send("news@" + DOMAIN, domainArn, "cond ok " + UUID.randomUUID(), "a@partner.test",
        "b@PARTNER.test"));
    assertDenied(delegate, send("billing@" + DOMAIN, domainArn, "cond from", "a@partner.test"));
    assertDenied(delegate, send("news@" + DOMAIN, domainArn, "cond rcpt", "a@partner.test", "c@other.test"));

    policy(DOMAIN, statement("Allow", DOMAIN, "{\"DateLessThan\":{\"aws:CurrentTime\":\"2020-01-01T00:00:00Z\"}}"));
    assertDenied(delegate, send("news@" + DOMAIN, domainArn, "cond expired", "a@partner.test"));
  }

  /**
   * A day alone is a date (IAM takes it); a policy stored before unevaluable conditions were refused still reads: its
   * other statements count, and its unevaluable Deny denies.
   */
  @Test
  void dayDatesAndPoliciesStoredWithConditionsMailgateCannotEvaluate() {
    String legacy = "legacy-brand.example";
    owner.v2().createEmailIdentity(r -> r.emailIdentity(legacy));
    String legacyArn = arn(owner.id(), legacy);
    policy(legacy, statement("Allow", legacy, "{\"DateLessThan\":{\"aws:CurrentTime\":\"2999-01-01\"}}"));
    delegate.v2().sendEmail(send("news@" + legacy, legacyArn, "day ok " + UUID.randomUUID(), "a@partner.test"));

    String pg = node.config().get(MailgateConfig.PG_URL);
    String sourceIp = "{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}";
    Db.execute(pg, "UPDATE identity_policies SET policy = ? WHERE account_id = ? AND identity = ?",
        "{\"Statement\":[" + statement("Allow", legacy, sourceIp) + "," + statement("Allow", legacy, null) + "]}",
        owner.id(), legacy);
    delegate.v2().sendEmail(send("news@" + legacy, legacyArn, "legacy ok " + UUID.randomUUID(), "a@partner.test"));
    Db.execute(pg, "UPDATE identity_policies SET policy = ? WHERE account_id = ? AND identity = ?",
        "{\"Statement\":[" + statement("Allow", legacy, null) + "," + statement("Deny", legacy, sourceIp) + "]}",
        owner.id(), legacy);
    assertDenied(delegate, send("news@" + legacy, legacyArn, "legacy deny", "a@partner.test"));
  }

  @Test
  void theFeedbackAddressArnAndBulkSends() {
    policy(DOMAIN, statement("Allow", DOMAIN, "{\"StringEquals\":{\"ses:FeedbackAddress\":\"bounces@" + DOMAIN
        + "\"}}"), statement("Allow", DOMAIN, null).replace("\"ses:SendEmail\",", "\"ses:SendBulkEmail\","));
    String subject = "feedback arn " + UUID.randomUUID();
    delegate.v2().sendEmail(send("news@" + DOMAIN, domainArn, subject, "a@partner.test").toBuilder()
        .feedbackForwardingEmailAddress("bounces@" + DOMAIN).feedbackForwardingEmailAddressIdentityArn(domainArn)
        .build());
    awaitReceived(subject);
    // the condition names the Return-Path: without one, the From address is the feedback address
    assertDenied(delegate, send("news@" + DOMAIN, domainArn, subject, "a@partner.test"));

    // SendBulkEmail is checked as ses:SendBulkEmail, entry by entry, with the delegate's own template
    delegate.v2().createEmailTemplate(r -> r.templateName("partner-news").templateContent(t -> t
        .subject("bulk {{n}}").text("hello {{n}}")));
    java.util.function.Function<String, List<software.amazon.awssdk.services.sesv2.model.BulkEmailEntryResult>> bulk =
        n -> delegate.v2().sendBulkEmail(r -> r.fromEmailAddress("news@" + DOMAIN).fromEmailAddressIdentityArn(domainArn)
            .defaultContent(c -> c.template(t -> t.templateName("partner-news").templateData("{\"n\":\"" + n + "\"}")))
            .bulkEmailEntries(e -> e.destination(d -> d.toAddresses("bulk@partner.test")))).bulkEmailEntryResults();
    String n = UUID.randomUUID().toString();
    assertEquals("SUCCESS", bulk.apply(n).get(0).statusAsString());
    awaitReceived("bulk " + n);
    policy(DOMAIN, statement("Allow", DOMAIN, null));
    software.amazon.awssdk.services.sesv2.model.BulkEmailEntryResult refused = bulk.apply("refused").get(0);
    assertEquals("MESSAGE_REJECTED", refused.statusAsString());
    assertTrue(refused.error().contains("ses:SendBulkEmail"), refused.error());
  }

  @Test
  void arnsThatCannotBeUsedAreBadRequests() {
    policy(DOMAIN, statement("Allow", DOMAIN, null));
    for (String bad : List.of("not-an-arn", "arn:aws:ses:us-east-1:" + owner.id() + ":template/x",
        "arn:aws-cn:ses:us-east-1:" + owner.id() + ":identity/" + DOMAIN,
        "arn:foo:ses:us-east-1:" + owner.id() + ":identity/" + DOMAIN,
        "arn:aws:ses:eu-west-1:" + owner.id() + ":identity/" + DOMAIN, "arn:aws:ses:us-east-1:1234:identity/" + DOMAIN,
        arn(owner.id(), "other-brand.example"))) {
      assertThrows(BadRequestException.class, () -> delegate.v2().sendEmail(send("news@" + DOMAIN, bad, "bad arn",
          "a@partner.test")), bad);
    }
    neverSent("bad arn");
  }

  @Test
  void theCallersOwnArnWorksAsWithout() {
    String subject = "own arn " + UUID.randomUUID();
    delegate.v2().sendEmail(send(OWN, arn(delegate.id(), OWN), subject, "a@partner.test"));
    awaitReceived(subject);
  }

  @Test
  void v1SendRawEmailWithTheFromArnHeader() {
    String identity = "raw@" + DOMAIN;
    owner.v2().createEmailIdentity(r -> r.emailIdentity(identity));
    policy(identity, statement("Allow", identity, null));
    String subject = "raw delegated " + UUID.randomUUID();
    String raw = "X-SES-FROM-ARN: " + arn(owner.id(), identity) + "\r\nFrom: " + identity + "\r\nTo: a@partner.test"
        + "\r\nSubject: " + subject + "\r\n\r\nbody\r\n";
    delegate.v1().sendRawEmail(r -> r.rawMessage(m -> m.data(SdkBytes.fromString(raw, StandardCharsets.UTF_8))));
    RecordingSmtpServer.Received got = awaitReceived(subject);
    assertFalse(got.text().toUpperCase().contains("X-SES-FROM-ARN"), got.text());

    // without a policy for the caller: AccessDenied, v1's way
    software.amazon.awssdk.services.ses.model.SesException e = assertThrows(
        software.amazon.awssdk.services.ses.model.SesException.class, () -> stranger.v1().sendRawEmail(r -> r
            .rawMessage(m -> m.data(SdkBytes.fromString(raw, StandardCharsets.UTF_8)))));
    assertEquals("AccessDenied", e.awsErrorDetails().errorCode());
    assertTrue(e.getMessage().contains("ses:SendRawEmail"), e.getMessage());
    software.amazon.awssdk.services.ses.model.SesException viaParameter = assertThrows(
        software.amazon.awssdk.services.ses.model.SesException.class, () -> stranger.v1().sendEmail(r -> r
            .source(identity).sourceArn(arn(owner.id(), identity)).destination(d -> d.toAddresses("a@partner.test"))
            .message(m -> m.subject(s -> s.data("x")).body(b -> b.text(t -> t.data("x"))))));
    assertEquals("AccessDenied", viaParameter.awsErrorDetails().errorCode());
  }

  /**
   * SES v2: for Raw content, FromEmailAddressIdentityArn takes the place of both the X-SES-SOURCE-ARN and the
   * X-SES-FROM-ARN headers; a stale header naming another identity was refused.
   */
  @Test
  void v2RawsFromArnParameterTakesThePlaceOfTheFromArnHeader() {
    String identity = "raw-v2@" + DOMAIN;
    owner.v2().createEmailIdentity(r -> r.emailIdentity(identity));
    policy(identity, statement("Allow", identity, null));
    String subject = "raw v2 delegated " + UUID.randomUUID();
    byte[] message = raw("X-SES-FROM-ARN: " + arn(owner.id(), "stale@" + DOMAIN) + "\r\nFrom: " + identity + "\r\n",
        subject);
    delegate.v2().sendEmail(r -> r.fromEmailAddressIdentityArn(arn(owner.id(), identity))
        .content(c -> c.raw(m -> m.data(SdkBytes.fromByteArray(message)))));
    RecordingSmtpServer.Received got = awaitReceived(subject);
    assertFalse(got.text().toUpperCase().contains("X-SES-FROM-ARN"), got.text());
  }

  static byte[] raw(String headers, String subject) {
    return (headers + "To: a@partner.test\r\nSubject: " + subject + "\r\n\r\nbody\r\n").getBytes(StandardCharsets.UTF_8);
  }

  /** v1 SendRawEmail's error code for what the delegate sends, or null when it was accepted. */
  static String v1Raw(String source, String sourceArn, String fromArn, byte[] message) {
    try {
      delegate.v1().sendRawEmail(r -> r.source(source).sourceArn(sourceArn).fromArn(fromArn)
          .rawMessage(m -> m.data(SdkBytes.fromByteArray(message))));
      return null;
    } catch (software.amazon.awssdk.services.ses.model.SesException e) {
      return e.awsErrorDetails().errorCode();
    }
  }

  /** v2 SendEmail (Raw) from the delegate's own address with the owner's bounces@ as Return-Path: its error code. */
  static String v2RawWithOwnersReturnPath(byte[] message) {
    try {
      delegate.v2().sendEmail(r -> r.fromEmailAddress(OWN).feedbackForwardingEmailAddress("bounces@" + DOMAIN)
          .feedbackForwardingEmailAddressIdentityArn(domainArn).content(c -> c.raw(m -> m.data(
              SdkBytes.fromByteArray(message)))));
      return null;
    } catch (SesV2Exception e) {
      return e.awsErrorDetails().errorCode();
    }
  }

  /**
   * Each ARN covers the address of the part it is named for (SES: SourceArn the Source, FromArn the From header,
   * ReturnPathArn the Return-Path), and that address is what its policy is asked about: a From header is not
   * authorized by asking about the Source.
   */
  @Test
  void theFromHeaderIsAuthorizedForItselfNotForTheSource() {
    policy(DOMAIN, statement("Allow", DOMAIN, "{\"StringEquals\":{\"ses:FromAddress\":\"news@" + DOMAIN + "\"}}"),
        statement("Deny", DOMAIN, "{\"StringEquals\":{\"ses:FromAddress\":\"ceo@" + DOMAIN + "\"}}"));
    String ceo = "ceo header " + UUID.randomUUID();
    assertEquals("AccessDenied", v1Raw("news@" + DOMAIN, domainArn, domainArn,
        raw("From: \"The CEO\" <ceo@" + DOMAIN + ">\r\n", ceo)));
    String news = "news header " + UUID.randomUUID();
    assertNull(v1Raw("news@" + DOMAIN, domainArn, domainArn, raw("From: News <news@" + DOMAIN + ">\r\n", news)));
    awaitReceived(news);

    // the caller's own Source does not let a denied From header through
    policy(DOMAIN, statement("Allow", DOMAIN, null),
        statement("Deny", DOMAIN, "{\"StringEquals\":{\"ses:FromAddress\":\"ceo@" + DOMAIN + "\"}}"));
    assertEquals("AccessDenied", v1Raw(OWN, null, null, raw("X-SES-FROM-ARN: " + domainArn + "\r\nFrom: ceo@" + DOMAIN
        + "\r\n", ceo)));

    // a Deny is tested against every sender address of the message, not only the ones its identity is named for
    policy(DOMAIN, statement("Allow", DOMAIN, null),
        statement("Deny", DOMAIN, "{\"StringLike\":{\"ses:FromDisplayName\":\"*CEO*\"}}"));
    assertEquals("AccessDenied", v1Raw("news@" + DOMAIN, domainArn, null, raw("From: \"The CEO\" <" + OWN + ">\r\n",
        ceo)));
    neverSent(ceo);
  }

  /** An address named as the Return-Path may be that, not a From or Sender address. */
  @Test
  void aReturnPathArnDoesNotAuthorizeTheSameAddressAsFrom() {
    policy(DOMAIN, statement("Allow", DOMAIN, "{\"StringLike\":{\"ses:FromAddress\":\"*@delegate-own.example\"},"
        + "\"StringEquals\":{\"ses:FeedbackAddress\":\"bounces@" + DOMAIN + "\"}}"));
    String ok = "own from owner return path " + UUID.randomUUID();
    assertNull(v2RawWithOwnersReturnPath(raw("From: " + OWN + "\r\n", ok)));
    awaitReceived(ok);
    String spoof = "return path as from " + UUID.randomUUID();
    assertEquals("MessageRejected", v2RawWithOwnersReturnPath(raw("From: \"Owner Billing\" <bounces@" + DOMAIN
        + ">\r\n", spoof)));
    assertEquals("MessageRejected", v2RawWithOwnersReturnPath(raw("From: " + OWN + ", bounces@" + DOMAIN + "\r\n",
        spoof)));
    assertEquals("MessageRejected", v2RawWithOwnersReturnPath(raw("From: " + OWN + "\r\nSender: bounces@" + DOMAIN
        + "\r\n", spoof)));
    neverSent(spoof);
  }

  /** Beside a delegated From, a Sender or a further From mailbox is still the caller's to have verified. */
  @Test
  void otherSendersOfADelegatedMessageAreTheCallersOwn() {
    policy(DOMAIN, statement("Allow", DOMAIN, null));
    String subject = "other senders " + UUID.randomUUID();
    assertNull(v1Raw("news@" + DOMAIN, domainArn, null, raw("From: news@" + DOMAIN + "\r\nSender: " + OWN + "\r\n",
        subject)));
    awaitReceived(subject);
    String refused = "other senders refused " + UUID.randomUUID();
    assertEquals("MessageRejected", v1Raw("news@" + DOMAIN, domainArn, null, raw("From: news@" + DOMAIN
        + "\r\nSender: someone@unowned.test\r\n", refused)));
    assertEquals("MessageRejected", v1Raw("news@" + DOMAIN, domainArn, null, raw("From: news@" + DOMAIN
        + ", someone@unowned.test\r\n", refused)));
    neverSent(refused);
  }

  /** The owner must have verified the identity: a pending one lets no delegate send, whatever its policies say. */
  @Test
  void anIdentityItsOwnerHasNotVerifiedIsRefused() {
    String pending = "pending-brand.example";
    owner.v2().createEmailIdentity(r -> r.emailIdentity(pending));
    policy(pending, statement("Allow", pending, null));
    Db.execute(node.config().get(MailgateConfig.PG_URL), "UPDATE identities SET verification_status = 'PENDING' "
        + "WHERE account_id = '" + owner.id() + "' AND identity = '" + pending + "'");
    assertDenied(delegate, send("news@" + pending, arn(owner.id(), pending), "pending owner", "a@partner.test"));
  }

  /** A bulk send's Return-Path reaches each entry, and its policy's ses:FeedbackAddress, in v2 and v1. */
  @Test
  void bulkSendsCarryTheirReturnPath() {
    String statements = statement("Allow", DOMAIN, "{\"StringEquals\":{\"ses:FeedbackAddress\":\"bounces@" + DOMAIN
        + "\"}}").replace("[\"ses:SendEmail\",\"ses:SendRawEmail\"]", "[\"ses:SendBulkEmail\",\"ses:SendBulkTemplatedEmail\"]");
    policy(DOMAIN, statements);
    delegate.v2().createEmailTemplate(r -> r.templateName("bulk-feedback").templateContent(t -> t
        .subject("bulk feedback {{n}}").text("hello {{n}}")));
    String n = UUID.randomUUID().toString();
    assertEquals("SUCCESS", delegate.v2().sendBulkEmail(r -> r.fromEmailAddress("news@" + DOMAIN)
        .fromEmailAddressIdentityArn(domainArn).feedbackForwardingEmailAddress("bounces@" + DOMAIN)
        .feedbackForwardingEmailAddressIdentityArn(domainArn)
        .defaultContent(c -> c.template(t -> t.templateName("bulk-feedback").templateData("{\"n\":\"" + n + "\"}")))
        .bulkEmailEntries(e -> e.destination(d -> d.toAddresses("bulk@partner.test")))).bulkEmailEntryResults()
        .get(0).statusAsString());
    awaitReceived("bulk feedback " + n);
    String v1 = UUID.randomUUID().toString();
    assertEquals("Success", delegate.v1().sendBulkTemplatedEmail(r -> r.source("news@" + DOMAIN).sourceArn(domainArn)
        .returnPath("bounces@" + DOMAIN).returnPathArn(domainArn).template("bulk-feedback")
        .defaultTemplateData("{\"n\":\"" + v1 + "\"}")
        .destinations(d -> d.destination(x -> x.toAddresses("bulk@partner.test")))).status().get(0).statusAsString());
    awaitReceived("bulk feedback " + v1);
  }

  @Test
  void theIdentityOwnersTopicsHearOfADelegatesBouncesAndDeliveries() throws Exception {
    try (WebhookReceiver webhook = new WebhookReceiver()) {
      String identity = "notified." + DOMAIN;
      owner.v2().createEmailIdentity(r -> r.emailIdentity(identity));
      String identityArn = arn(owner.id(), identity);
      for (NotificationType type : new NotificationType[] {NotificationType.BOUNCE, NotificationType.DELIVERY}) {
        owner.v1().setIdentityNotificationTopic(r -> r.identity(identity).notificationType(type)
            .snsTopic(webhook.url("/owner-" + type)));
      }
      // the delegate's own configuration set, whose events are the delegate's
      delegate.v2().createConfigurationSet(r -> r.configurationSetName("delegate-events"));
      delegate.v2().createConfigurationSetEventDestination(r -> r.configurationSetName("delegate-events")
          .eventDestinationName("hooks").eventDestination(d -> d.enabled(true)
              .matchingEventTypes(EventType.BOUNCE).snsDestination(x -> x.topicArn(webhook.url("/delegate-events")))));
      policy(identity, statement("Allow", identity, null));

      String bounced = delegate.v2().sendEmail(send("news@" + identity, identityArn, "b",
          "bounce@simulator.amazonses.com").toBuilder().configurationSetName("delegate-events").build()).messageId();
      String delivered = delegate.v2().sendEmail(send("news@" + identity, identityArn, "d",
          "success@simulator.amazonses.com")).messageId();

      JsonObject bounce = Await.until(() -> webhook.posts("/owner-Bounce", bounced), p -> !p.isEmpty(),
          Duration.ofSeconds(20)).get(0).json();
      assertEquals("Bounce", bounce.getString("notificationType"));
      JsonObject mail = bounce.getJsonObject("mail");
      // SES: the identity's ARN (the owner's), and the account that sent
      assertEquals(identityArn, mail.getString("sourceArn"));
      assertEquals(delegate.id(), mail.getString("sendingAccountId"));
      assertFalse(mail.containsKey("callerIdentity"), "the delegate's access key is not for the owner: " + mail);
      new Webhook(new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY)).secret(owner.id()))
          .verify(webhook.posts("/owner-Bounce", bounced).get(0).body(),
              webhook.posts("/owner-Bounce", bounced).get(0).headers()); // the owner's topic: signed with its secret
      JsonObject event = Await.until(() -> webhook.posts("/delegate-events", bounced), p -> !p.isEmpty(),
          Duration.ofSeconds(20)).get(0).json();
      assertEquals("Bounce", event.getString("eventType"));
      assertEquals(identityArn, event.getJsonObject("mail").getString("sourceArn"));

      JsonObject delivery = Await.until(() -> webhook.posts("/owner-Delivery", delivered), p -> !p.isEmpty(),
          Duration.ofSeconds(20)).get(0).json();
      assertEquals("Delivery", delivery.getString("notificationType"));
      assertTrue(webhook.posts("/owner-Delivery", bounced).isEmpty(), "a topic gets only its own type");
      // the status API, the delegate's to read, names the same identity
      assertEquals(identityArn, node.message(delivered, delegate.key().accessKeyId(),
          delegate.key().secretAccessKey()).getJsonArray("Events").getJsonObject(0).getJsonObject("mail")
          .getString("sourceArn"));

      // an address identity whose domain is not one of the owner's: the ARN named is the address's
      String desk = "desk@solo-owner.example";
      owner.v2().createEmailIdentity(r -> r.emailIdentity(desk));
      policy(desk, statement("Allow", desk, null));
      String fromDesk = delegate.v2().sendEmail(send(desk, arn(owner.id(), desk), "desk",
          "bounce@simulator.amazonses.com").toBuilder().configurationSetName("delegate-events").build()).messageId();
      assertEquals(arn(owner.id(), desk), Await.until(() -> webhook.posts("/delegate-events", fromDesk),
          p -> !p.isEmpty(), Duration.ofSeconds(20)).get(0).json().getJsonObject("mail").getString("sourceArn"));
    }
  }

  @Test
  void anOwnerInTheSandboxLetsDelegatesSendOnlyToItsVerifiedAddresses() {
    policy(DOMAIN, statement("Allow", DOMAIN, null));
    delegate.v2().createEmailTemplate(r -> r.templateName("sandboxed-owner").templateContent(t -> t
        .subject("{{s}}").text("hello")));
    node.updateAccount(owner.id(), null, null, false, null);
    try {
      String subject = "sandboxed owner " + UUID.randomUUID();
      MessageRejectedException e = assertThrows(MessageRejectedException.class, () -> delegate.v2().sendEmail(
          send("news@" + DOMAIN, domainArn, subject, "reader@elsewhere.test")));
      assertTrue(e.getMessage().contains("identity owner's account is in the sandbox"), e.getMessage());
      assertFalse(e.getMessage().contains("reader@elsewhere.test"), "which addresses the owner verified is the "
          + "owner's: " + e.getMessage());
      // a Return-Path from the owner's identity alone sends nothing from it: the delegate's own sandbox rules
      String own = "own " + UUID.randomUUID();
      delegate.v2().sendEmail(send(OWN, null, own, "reader@elsewhere.test").toBuilder()
          .feedbackForwardingEmailAddress("bounces@" + DOMAIN).feedbackForwardingEmailAddressIdentityArn(domainArn)
          .build());
      awaitReceived(own);
      // the simulator, and an address the owner verified, as the owner's own sends in the sandbox
      delegate.v2().sendEmail(send("news@" + DOMAIN, domainArn, subject, "success@simulator.amazonses.com"));
      owner.v2().createEmailIdentity(r -> r.emailIdentity("verified-reader@partner.test"));
      delegate.v2().sendEmail(send("news@" + DOMAIN, domainArn, subject, "verified-reader@partner.test"));
      assertEquals(List.of("verified-reader@partner.test"), awaitReceived(subject).rcptTo());

      // a bulk send is decided entry by entry: the owner's verified address goes, the other entry is refused
      policy(DOMAIN, statement("Allow", DOMAIN, null).replace("\"ses:SendEmail\",",
          "\"ses:SendEmail\",\"ses:SendBulkEmail\","));
      String bulkSubject = "sandboxed owner bulk " + UUID.randomUUID();
      List<software.amazon.awssdk.services.sesv2.model.BulkEmailEntryResult> results = delegate.v2().sendBulkEmail(r -> r
          .fromEmailAddress("news@" + DOMAIN).fromEmailAddressIdentityArn(domainArn)
          .defaultContent(c -> c.template(t -> t.templateName("sandboxed-owner")
              .templateData("{\"s\":\"" + bulkSubject + "\"}")))
          .bulkEmailEntries(one -> one.destination(d -> d.toAddresses("reader@elsewhere.test")),
              other -> other.destination(d -> d.toAddresses("verified-reader@partner.test")))).bulkEmailEntryResults();
      assertEquals("MESSAGE_REJECTED", results.get(0).statusAsString());
      assertTrue(results.get(0).error().contains("identity owner's account is in the sandbox"),
          results.get(0).error());
      assertEquals("SUCCESS", results.get(1).statusAsString());
      assertEquals(List.of("verified-reader@partner.test"), awaitReceived(bulkSubject).rcptTo());
    } finally {
      delegate.v2().deleteEmailTemplate(r -> r.templateName("sandboxed-owner"));
      node.updateAccount(owner.id(), null, null, true, null);
      owner.v2().deleteEmailIdentity(r -> r.emailIdentity("verified-reader@partner.test"));
    }
    // out of the sandbox, at once: the owner's status is read at each delegated send
    delegate.v2().sendEmail(send("news@" + DOMAIN, domainArn, "after " + UUID.randomUUID(), "reader@elsewhere.test"));
  }

  /** Nothing holding {@code text} was stored, let alone sent: a refused send changes nothing. */
  private static void neverSent(String text) {
    assertEquals(0, Db.count(node.config().get(MailgateConfig.PG_URL), "SELECT count(*) FROM messages WHERE "
        + "position(convert_to('" + text.replace("'", "''") + "', 'UTF8') in content) > 0"), text);
    assertEquals(0, relay.received().stream().filter(r -> r.text().contains(text)).count(), text);
  }
}
