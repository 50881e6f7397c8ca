package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.mailgate.testing.Verification;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.GetAccountResponse;
import software.amazon.awssdk.services.sesv2.model.MessageRejectedException;
import software.amazon.awssdk.services.sesv2.model.SendingPausedException;
import software.amazon.awssdk.services.sesv2.model.TooManyRequestsException;

/** Sandbox, verified senders, quotas and GetAccount, as SES enforces them, through the SDK. */
class SendingRulesTest {
  static RecordingSmtpServer relay;
  static TestNode node;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.startProduction(relay.url(), c -> c.with(MailgateConfig.SEND_MAX_MESSAGE_BYTES, 200_000));
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
  }

  static String send(SesV2Client ses, String from, String... to) {
    return ses.sendEmail(r -> r.fromEmailAddress(from).destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("hello")).body(x -> x.text(t -> t.data("body")))))).messageId();
  }

  /** Retries while the sandbox's 1 message per second is what stops it. */
  static String sendPaced(SesV2Client ses, String from, String... to) {
    return Await.until(() -> {
      try {
        return send(ses, from, to);
      } catch (TooManyRequestsException e) {
        return null;
      }
    }, id -> id != null, Duration.ofSeconds(10));
  }

  @Test
  void sandboxAllowsOnlyVerifiedRecipientsAndTheSimulator() {
    Accounts.NewKey key = node.createAccount("sandboxed", false, 14, 50_000);
    try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
      GetAccountResponse account = ses.getAccount(r -> { });
      assertFalse(account.productionAccessEnabled());
      assertEquals(200.0, account.sendQuota().max24HourSend());
      assertEquals(1.0, account.sendQuota().maxSendRate());
      assertTrue(account.sendingEnabled());
      assertEquals("HEALTHY", account.enforcementStatus());

      Verification.verifiedAddress(ses, relay, "sender@sandbox.example");
      MessageRejectedException stranger = assertThrows(MessageRejectedException.class,
          () -> send(ses, "sender@sandbox.example", "success@simulator.amazonses.com", "stranger@example.org"));
      assertEquals("Email address is not verified. The following identities failed the check in region US-EAST-1: "
          + "stranger@example.org", stranger.awsErrorDetails().errorMessage());

      assertNotNull(sendPaced(ses, "sender@sandbox.example", "success@simulator.amazonses.com",
          "bounce+label@simulator.amazonses.com"));
      Verification.verifiedAddress(ses, relay, "friend@sandbox.example");
      assertNotNull(sendPaced(ses, "sender@sandbox.example", "friend@sandbox.example"));

      // 1 per second in the sandbox
      sendPaced(ses, "sender@sandbox.example", "friend@sandbox.example");
      TooManyRequestsException fast = assertThrows(TooManyRequestsException.class,
          () -> send(ses, "sender@sandbox.example", "friend@sandbox.example"));
      assertEquals("Maximum sending rate exceeded.", fast.awsErrorDetails().errorMessage());

      // simulator recipients count for the rate, not for the quota; real ones for both
      double sent = ses.getAccount(r -> { }).sendQuota().sentLast24Hours();
      assertEquals(2.0, sent, "two messages to friend@ count; the simulator ones do not");

      // the admin moves it out of the sandbox: SES's default production limits, any recipient
      node.updateAccount(key.accountId(), null, null, true, null);
      GetAccountResponse production = ses.getAccount(r -> { });
      assertTrue(production.productionAccessEnabled());
      assertEquals(50_000.0, production.sendQuota().max24HourSend());
      assertEquals(14.0, production.sendQuota().maxSendRate());
      assertNotNull(Await.until(() -> {
        try {
          return send(ses, "sender@sandbox.example", "stranger@example.org");
        } catch (MessageRejectedException | TooManyRequestsException e) {
          return null;
        }
      }, id -> id != null, Duration.ofSeconds(10)));
    }
  }

  @Test
  void senderMustBeAVerifiedAddressOrDomain() {
    Accounts.NewKey key = node.createAccount("prod", true, 100, 1000);
    try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
      MessageRejectedException e = assertThrows(MessageRejectedException.class,
          () -> send(ses, "Someone <someone@unverified.example>", "x@example.org"));
      assertEquals("Email address is not verified. The following identities failed the check in region US-EAST-1: "
          + "someone@unverified.example", e.awsErrorDetails().errorMessage());
      Verification.verifiedAddress(ses, relay, "someone@unverified.example");
      assertNotNull(send(ses, "Someone <someone@unverified.example>", "x@example.org"));
      // a different address of the same, unverified, domain is still refused
      assertThrows(MessageRejectedException.class, () -> send(ses, "other@unverified.example", "x@example.org"));
      assertEquals(1, Db.count(node.config().get(MailgateConfig.PG_URL),
          "SELECT count(*) FROM messages WHERE account_id = '" + key.accountId() + "'"));
    }
  }

  /**
   * A send the limits counted but that was then not accepted (here: past the size limit once its links are tracked, a
   * 400 after the count) gives its count back: SES counts sent mail, and a retried 503 must not spend the quota.
   */
  @Test
  void aSendRefusedAfterItsCountGivesTheCountBack() {
    Accounts.NewKey key = node.createAccount("refunded", true, 100, 1);
    try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
      Verification.verifiedAddress(ses, relay, "r@refund.example");
      ses.createConfigurationSet(r -> r.configurationSetName("clicks"));
      ses.createConfigurationSetEventDestination(r -> r.configurationSetName("clicks").eventDestinationName("hook")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(
              software.amazon.awssdk.services.sesv2.model.EventType.CLICK)
              .snsDestination(x -> x.topicArn("http://127.0.0.1:9/hook"))));
      // about 170 KB; its 500 tracked links (the most tracked) grow it past 200 KB
      String links = "<a href=\"https://shop.example/p\">p</a>\n".repeat(500) + "<p>" + "x".repeat(150_000) + "</p>";
      for (int i = 0; i < 3; i++) {
        var tooLarge = assertThrows(software.amazon.awssdk.services.sesv2.model.BadRequestException.class,
            () -> ses.sendEmail(r -> r.fromEmailAddress("r@refund.example").configurationSetName("clicks")
                .destination(d -> d.toAddresses("x@example.org"))
                .content(c -> c.simple(m -> m.subject(x -> x.data("big")).body(b -> b.html(h -> h.data(links)))))));
        assertTrue(tooLarge.getMessage().contains("Message length is more than 200000"), tooLarge.getMessage());
      }
      assertEquals(0.0, ses.getAccount(r -> { }).sendQuota().sentLast24Hours(), "nothing was sent");
      assertNotNull(send(ses, "r@refund.example", "x@example.org"), "the quota of 1 is still there");
      assertThrows(TooManyRequestsException.class, () -> send(ses, "r@refund.example", "y@example.org"));
    }
  }

  @Test
  void pausedAccountCannotSend() {
    Accounts.NewKey key = node.createAccount("pausable", true, 100, 1000);
    try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
      Verification.verifiedAddress(ses, relay, "p@pause.example");
      send(ses, "p@pause.example", "x@example.org");
      node.updateAccount(key.accountId(), null, null, null, false);
      SendingPausedException paused = Await.until(() -> {
        try {
          send(ses, "p@pause.example", "x@example.org");
          return null;
        } catch (SendingPausedException ex) {
          return ex;
        }
      }, ex -> ex != null, Duration.ofSeconds(10));
      assertEquals(400, paused.statusCode());
      assertFalse(ses.getAccount(r -> { }).sendingEnabled());
      node.updateAccount(key.accountId(), null, null, null, true);
    }
  }

  @Test
  void twoNodesSharingRedisNeverExceedTheQuotaTogether() throws Exception {
    String pg = TestServices.freshDatabase();
    String prefix = TestServices.uniquePrefix();
    try (TestNode one = TestNode.start(pg, prefix, relay.url(), c -> c, false);
         TestNode two = TestNode.start(pg, prefix, relay.url(), c -> c, false)) {
      Accounts.NewKey key = one.createAccount("shared", true, 10_000, 25);
      try (SesV2Client viaOne = one.sesV2(key.accessKeyId(), key.secretAccessKey());
           SesV2Client viaTwo = two.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        Verification.verifiedAddress(viaOne, relay, "q@quota.example");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
          SesV2Client ses = i % 2 == 0 ? viaOne : viaTwo;
          results.add(pool.submit(() -> {
            try {
              send(ses, "q@quota.example", "r@example.org");
              return true;
            } catch (TooManyRequestsException e) {
              assertEquals("Daily message quota exceeded.", e.awsErrorDetails().errorMessage());
              return false;
            }
          }));
        }
        int accepted = 0;
        for (Future<Boolean> f : results) {
          accepted += f.get() ? 1 : 0;
        }
        pool.shutdown();
        assertEquals(25, accepted);
        assertEquals(25, Db.count(pg, "SELECT count(*) FROM messages WHERE account_id = '" + key.accountId() + "'"));
        assertEquals(25.0, viaTwo.getAccount(r -> { }).sendQuota().sentLast24Hours());
      }
    }
  }
}
