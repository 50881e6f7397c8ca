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
  static String domainArn;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    owner = Tenant.create(node, "identity-owner");
    delegate = Tenant.create(node, "delegate-sender");
    stranger = Tenant.create(node, "stranger");
    owner.v2().createEmailIdentity(r -> r.emailIdentity(DOMAIN)); // start-dev: verified, DKIM too
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
        "arn:aws:ses:eu-west-1:" + owner.id() + ":identity/" + DOMAIN, "arn:aws:ses:us-east-1:1234:identity/" + DOMAIN,
        arn(owner.id(), "other-brand.example"))) {
      assertThrows(BadRequestException.class, () -> delegate.v2().sendEmail(send("news@" + DOMAIN, bad, "bad arn",
          "a@partner.test")), bad);
    }
    assertEquals(0, relay.received().stream().filter(r -> r.text().contains("bad arn")).count());
  }

  @Test
  void theCallersOwnArnWorksAsWithout() {
    delegate.v2().createEmailIdentity(r -> r.emailIdentity("me@delegate-own.example"));
    String subject = "own arn " + UUID.randomUUID();
    delegate.v2().sendEmail(send("me@delegate-own.example", arn(delegate.id(), "me@delegate-own.example"), subject,
        "a@partner.test"));
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
}
