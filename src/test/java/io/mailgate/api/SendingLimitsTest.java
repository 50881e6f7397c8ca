package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesError;
import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.SesV2Exception;
import software.amazon.awssdk.services.sesv2.model.TooManyRequestsException;

/** MaxSendRate and Max24HourSend: refused sends get 429 and are not stored. */
class SendingLimitsTest {

  static String send(SesV2Client ses, int recipients) {
    List<String> to = new ArrayList<>();
    for (int i = 0; i < recipients; i++) {
      to.add("r" + i + "@example.org");
    }
    return ses.sendEmail(r -> r.fromEmailAddress("a@example.com").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b")))))).messageId();
  }

  @Test
  void overRateIsRefusedAndNotStored() throws IOException {
    double rate = 2.0; // the bucket holds one second's worth: 2
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DEV_MAX_SEND_RATE, rate));
         SesV2Client ses = node.sesV2()) {
      int accepted = 0;
      int refused = 0;
      long start = System.nanoTime();
      for (int i = 0; i < 20; i++) {
        try {
          send(ses, 1);
          accepted++;
        } catch (TooManyRequestsException e) {
          assertEquals(429, e.statusCode());
          assertEquals("Maximum sending rate exceeded.", e.awsErrorDetails().errorMessage());
          refused++;
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      // a full bucket, plus what refilled while the 20 requests ran, however slowly they ran; all 20 pass this only
      // if they took 9 s, and then refused > 0 fails
      assertTrue(accepted >= rate && accepted <= Math.floor(rate + rate * seconds),
          "accepted " + accepted + " in " + seconds + " s");
      assertTrue(refused > 0, "refused none in " + seconds + " s");
      String pg = node.config().get(MailgateConfig.PG_URL);
      assertEquals(accepted, Db.count(pg, "SELECT count(*) FROM messages"));
      assertEquals(accepted, Db.count(pg, "SELECT count(*) FROM recipients"));
    }
  }

  @Test
  void eachRecipientCountsAndTheDailyQuotaHolds() throws IOException {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DEV_MAX_24_HOUR_SEND, 5L));
         SesV2Client ses = node.sesV2()) {
      send(ses, 3);
      send(ses, 2);
      TooManyRequestsException e = org.junit.jupiter.api.Assertions.assertThrows(TooManyRequestsException.class,
          () -> send(ses, 1));
      assertEquals("Daily message quota exceeded.", e.awsErrorDetails().errorMessage());
      assertEquals(2, Db.count(node.config().get(MailgateConfig.PG_URL), "SELECT count(*) FROM messages"));
    }
  }

  @Test
  void theDailyQuotaOutlivesARedisThatLostEverything() throws Exception {
    Assumptions.assumeTrue(TestServices.embedded().hasRedis(), "needs the embedded Redis to restart it");
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DEV_MAX_24_HOUR_SEND, 6L));
         SesV2Client ses = node.sesV2()) {
      send(ses, 3);
      // the mailbox simulator counts for the rate only, before and after
      ses.sendEmail(r -> r.fromEmailAddress("a@example.com")
          .destination(d -> d.toAddresses("success@simulator.amazonses.com"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b"))))));
      assertEquals(3, ses.getAccount(r -> { }).sendQuota().sentLast24Hours());
      // the embedded Redis keeps nothing on disk: restarted, it holds no count of any account
      TestServices.embedded().stopRedis();
      TestServices.embedded().restartRedis();
      io.mailgate.testing.Await.until(() -> {
        try {
          // left out while the node's connections to Redis are coming back and the counts are read again
          return Double.valueOf(3.0).equals(ses.getAccount(r -> { }).sendQuota().sentLast24Hours());
        } catch (SesV2Exception e) {
          return false;
        }
      }, java.time.Duration.ofSeconds(20));
      send(ses, 2);
      send(ses, 1);
      TooManyRequestsException e = org.junit.jupiter.api.Assertions.assertThrows(TooManyRequestsException.class,
          () -> send(ses, 1));
      assertEquals("Daily message quota exceeded.", e.awsErrorDetails().errorMessage());
      assertEquals(6.0, ses.getAccount(r -> { }).sendQuota().sentLast24Hours());
    }
  }

  @Test
  void withoutRedisSendsAreRefusedRetryablyAndRecover() throws Exception {
    Assumptions.assumeTrue(TestServices.embedded().hasRedis(), "needs the embedded Redis to stop it");
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url());
         SesV2Client ses = node.sesV2()) {
      send(ses, 1);
      String pg = node.config().get(MailgateConfig.PG_URL);
      TestServices.embedded().stopRedis();
      try {
        SesV2Exception e = org.junit.jupiter.api.Assertions.assertThrows(SesV2Exception.class, () -> send(ses, 1));
        assertEquals(503, e.statusCode());
        assertEquals(SesError.SERVICE_UNAVAILABLE.v2Type, e.awsErrorDetails().errorCode());
        assertTrue(e.awsErrorDetails().errorMessage().startsWith("Sending limits cannot be checked right now"),
            e.awsErrorDetails().errorMessage());
        assertEquals(1, Db.count(pg, "SELECT count(*) FROM messages")); // the first send's only
        // whether the account may send is PostgreSQL's: GetAccount answers without the count, v1's
        // GetAccountSendingEnabled answers; GetSendQuota, all about the count, is the retryable 503
        var account = ses.getAccount(b -> { });
        assertTrue(account.sendingEnabled());
        assertTrue(account.sendQuota().max24HourSend() != null && account.sendQuota().maxSendRate() != null);
        assertEquals(null, account.sendQuota().sentLast24Hours());
        try (var v1 = node.sesV1()) {
          assertTrue(v1.getAccountSendingEnabled(b -> { }).enabled());
          var quota = org.junit.jupiter.api.Assertions.assertThrows(
              software.amazon.awssdk.services.ses.model.SesException.class, () -> v1.getSendQuota(b -> { }));
          assertEquals(503, quota.statusCode());
        }
      } finally {
        TestServices.embedded().restartRedis();
      }
      io.mailgate.testing.Await.until(() -> {
        try {
          send(ses, 1);
          return true;
        } catch (SesV2Exception e) {
          return false;
        }
      }, java.time.Duration.ofSeconds(20));
      assertEquals(2, Db.count(pg, "SELECT count(*) FROM messages"));
    }
  }
}
