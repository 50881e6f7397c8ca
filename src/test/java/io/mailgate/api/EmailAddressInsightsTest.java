package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.EmailAddressInsightsConfidenceVerdict;
import software.amazon.awssdk.services.sesv2.model.EmailAddressInsightsMailboxEvaluations;
import software.amazon.awssdk.services.sesv2.model.MailboxValidation;
import software.amazon.awssdk.services.sesv2.model.SuppressionListReason;

/** GetEmailAddressInsights through the AWS SDK, DNS answered by a fake server that fails as real ones do. */
class EmailAddressInsightsTest {
  static final EmailAddressInsightsConfidenceVerdict HIGH = EmailAddressInsightsConfidenceVerdict.HIGH;
  static final EmailAddressInsightsConfidenceVerdict MEDIUM = EmailAddressInsightsConfidenceVerdict.MEDIUM;
  static final EmailAddressInsightsConfidenceVerdict LOW = EmailAddressInsightsConfidenceVerdict.LOW;

  static RecordingSmtpServer relay;
  static FakeDnsServer dns;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    dns = FakeDnsServer.start()
        .mx("mail.example", 10, "mx.mail.example").a("mx.mail.example", "192.0.2.10")
        .a("nomx.example", "192.0.2.11")
        .nullMx("nullmx.example")
        .mx("mailinator.com", 10, "mx.mailinator.com").a("mx.mailinator.com", "192.0.2.12")
        .mx("broken.example", 10, "mx.broken.example").a("mx.broken.example", "192.0.2.13")
        .fail("broken.example", FakeDnsServer.Failure.SERVFAIL);
    // the tests below ask at their own pace; the limit has its test, on a node of its own
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.VALIDATION_INSIGHTS_PER_SECOND, 0.0));
    ses = node.sesV2();
  }

  /**
   * Each call may look up a domain through the resolver delivery uses: an account gets validation.insightsPerSecond
   * calls a second, then 429s, without a lookup; another account is not held back by it.
   */
  @Test
  void callsBeyondTheAccountsRateAreThrottled() {
    try (TestNode limited = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DNS_SERVERS, dns.hostPort())
            .with(MailgateConfig.VALIDATION_INSIGHTS_PER_SECOND, 2.0));
         SesV2Client client = limited.sesV2()) {
      client.getEmailAddressInsights(r -> r.emailAddress("warm@mail.example")); // the client and the node warmed
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(20);
      int throttled = 0;
      long start = System.nanoTime();
      try {
        java.util.List<java.util.concurrent.Future<Boolean>> calls = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
          int n = i;
          calls.add(pool.submit(() -> {
            try {
              client.getEmailAddressInsights(r -> r.emailAddress("user" + n + "@mail.example"));
              return false;
            } catch (software.amazon.awssdk.services.sesv2.model.TooManyRequestsException e) {
              assertTrue(e.getMessage().contains("GetEmailAddressInsights rate exceeded"), e.getMessage());
              return true;
            }
          }));
        }
        for (java.util.concurrent.Future<Boolean> c : calls) {
          throttled += c.get() ? 1 : 0;
        }
      } catch (Exception e) {
        throw new AssertionError(e);
      } finally {
        pool.shutdown();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      // at 2 a second, at most the bucket's 2 and what it refilled meanwhile went through
      long allowed = 20 - throttled;
      assertTrue(allowed <= 3 + (long) Math.ceil(2 * seconds), allowed + " of 20 calls at once allowed in "
          + seconds + " s at 2 a second");
      io.mailgate.identity.Accounts.NewKey other = limited.createAccount("insights-other", true, 10, 1000);
      try (SesV2Client theirs = limited.sesV2(other.accessKeyId(), other.secretAccessKey())) {
        assertEquals(HIGH, theirs.getEmailAddressInsights(r -> r.emailAddress("jane@mail.example"))
            .mailboxValidation().isValid().confidenceVerdict(), "another account has its own rate");
      }
    }
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    dns.close();
  }

  static MailboxValidation insights(String address) {
    return ses.getEmailAddressInsights(r -> r.emailAddress(address)).mailboxValidation();
  }

  static void assertVerdicts(MailboxValidation v, EmailAddressInsightsConfidenceVerdict valid,
      EmailAddressInsightsConfidenceVerdict dnsRecords, EmailAddressInsightsConfidenceVerdict mailbox,
      EmailAddressInsightsConfidenceVerdict role, EmailAddressInsightsConfidenceVerdict disposable,
      EmailAddressInsightsConfidenceVerdict random) {
    EmailAddressInsightsMailboxEvaluations e = v.evaluations();
    String all = v.toString();
    assertEquals(valid, v.isValid().confidenceVerdict(), all);
    assertEquals(HIGH, e.hasValidSyntax().confidenceVerdict(), all);
    assertEquals(dnsRecords, e.hasValidDnsRecords().confidenceVerdict(), all);
    assertEquals(mailbox, e.mailboxExists().confidenceVerdict(), all);
    assertEquals(role, e.isRoleAddress().confidenceVerdict(), all);
    assertEquals(disposable, e.isDisposable().confidenceVerdict(), all);
    assertEquals(random, e.isRandomInput().confidenceVerdict(), all);
  }

  @Test
  void aPersonAtADomainWithAnMxIsHigh() {
    assertVerdicts(insights("jane.doe@mail.example"), HIGH, HIGH, MEDIUM, LOW, LOW, LOW);
    // the domain's case and a +tag change nothing
    assertVerdicts(insights("Jane.Doe+news@MAIL.example"), HIGH, HIGH, MEDIUM, LOW, LOW, LOW);
  }

  @Test
  void whatDnsSaysOfTheDomain() {
    // no MX: mail would go to the domain's address (RFC 5321 5.1), which many senders' mail never reaches
    assertVerdicts(insights("jane@nomx.example"), MEDIUM, MEDIUM, MEDIUM, LOW, LOW, LOW);
    // null MX (RFC 7505) and a domain that does not exist take no mail: neither does any mailbox there
    assertVerdicts(insights("jane@nullmx.example"), LOW, LOW, LOW, LOW, LOW, LOW);
    assertVerdicts(insights("jane@nxdomain.example"), LOW, LOW, LOW, LOW, LOW, LOW);
    // a server failure says nothing either way
    assertVerdicts(insights("jane@broken.example"), MEDIUM, MEDIUM, MEDIUM, LOW, LOW, LOW);
  }

  @Test
  void rolesDisposablesAndRandomInput() {
    assertVerdicts(insights("postmaster@mail.example"), MEDIUM, HIGH, MEDIUM, HIGH, LOW, LOW);
    assertVerdicts(insights("jane@mailinator.com"), LOW, HIGH, MEDIUM, LOW, HIGH, LOW);
    assertVerdicts(insights("xkqzvbnmt@mail.example"), MEDIUM, HIGH, MEDIUM, LOW, LOW, HIGH);
  }

  @Test
  void whatTheSuppressionListsKnowOfTheMailbox() {
    ses.putSuppressedDestination(r -> r.emailAddress("gone@mail.example").reason(SuppressionListReason.BOUNCE));
    ses.putSuppressedDestination(r -> r.emailAddress("grumpy@mail.example").reason(SuppressionListReason.COMPLAINT));
    Db.execute(node.config().get(MailgateConfig.PG_URL), "INSERT INTO global_suppression (email, last_bounce) VALUES ('bounced@mail.example', "
        + "now()) ON CONFLICT DO NOTHING");
    assertVerdicts(insights("gone@mail.example"), LOW, HIGH, LOW, LOW, LOW, LOW);
    // a complaint came from a mailbox that took the mail
    assertVerdicts(insights("Grumpy@mail.example"), HIGH, HIGH, HIGH, LOW, LOW, LOW);
    assertVerdicts(insights("bounced@mail.example"), LOW, HIGH, LOW, LOW, LOW, LOW);
    // another account's list is not this account's
    var other = node.createAccount("validation-other", true, 10, 1000);
    try (SesV2Client theirs = node.sesV2(other.accessKeyId(), other.secretAccessKey())) {
      assertEquals(MEDIUM, theirs.getEmailAddressInsights(r -> r.emailAddress("gone@mail.example"))
          .mailboxValidation().evaluations().mailboxExists().confidenceVerdict());
    }
  }

  @Test
  void theMailboxSimulatorAnswersAsItDelivers() {
    assertVerdicts(insights("success@simulator.amazonses.com"), HIGH, HIGH, HIGH, LOW, LOW, LOW);
    assertVerdicts(insights("bounce+x@simulator.amazonses.com"), LOW, HIGH, LOW, LOW, LOW, LOW);
    assertVerdicts(insights("suppressionlist@simulator.amazonses.com"), LOW, HIGH, LOW, LOW, LOW, LOW);
  }

  @Test
  void anInvalidAddressIsALowVerdictNotAnError() {
    for (String bad : new String[] {"no-at-sign", "user@", "jane@mail.example\r\nBcc: x@evil.test",
        "Jane <jane@mail.example>", "x".repeat(65) + "@mail.example"}) {
      MailboxValidation v = insights(bad);
      assertEquals(LOW, v.isValid().confidenceVerdict(), bad);
      assertEquals(LOW, v.evaluations().hasValidSyntax().confidenceVerdict(), bad);
      assertNull(v.evaluations().hasValidDnsRecords(), bad);
    }
  }

  @Test
  void badRequestsAreSesShaped() throws Exception {
    String[][] cases = {
        {"{}", "Missing required field EmailAddress"},
        {"{\"EmailAddress\": 5}", "expected a string"},
        {"{\"EmailAddress\": \"\"}", "must not be empty"},
        {"{\"EmailAddress\": \"" + "a".repeat(1025) + "\"}", "longer than 1024"},
        {"{\"EmailAddress\": \"jane@mail.example\"", "Malformed JSON"},
    };
    for (String[] c : cases) {
      HttpResponse<String> r = node.signed("POST", "/v2/email/email-address-insights/", c[0], Map.of());
      assertEquals(400, r.statusCode(), c[0]);
      assertEquals("BadRequestException", r.headers().firstValue("x-amzn-ErrorType").orElse(""), c[0]);
      assertTrue(new JsonObject(r.body()).getString("message").contains(c[1]), r.body());
    }
  }
}
