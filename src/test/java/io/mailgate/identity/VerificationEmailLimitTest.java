package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.TooManyRequestsException;

/**
 * Verification emails go out from the operator's sender and count toward no tenant's sending limits: each account may
 * have only so many sent (identity.verificationEmailsPerSecond, identity.verificationEmailsPerDay), counted across the
 * nodes; a request beyond them is a 429 that creates nothing, and other accounts' verification emails still go.
 */
class VerificationEmailLimitTest {

  @Test
  void anAccountBeyondItsVerificationEmailsIsRefusedAndOthersAreNot() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.startProduction(relay.url(), c -> c
             .with(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_SECOND, 1.0)
             .with(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_DAY, 3))) {
      Accounts.NewKey a = node.createAccount("verifier-a", true, 100, 1000);
      Accounts.NewKey b = node.createAccount("verifier-b", true, 100, 1000);
      try (SesV2Client sa = node.sesV2(a.accessKeyId(), a.secretAccessKey());
           SesV2Client sb = node.sesV2(b.accessKeyId(), b.secretAccessKey())) {
        // one per second, a bucket of one: the second of two requests in a row is refused, unless a second went by
        // between them (on a slow machine)
        List<String> names = List.of("one", "two", "three", "four");
        int created = 0;
        sa.listEmailIdentities(r -> { }); // the node's first request of this account's (its key looked up) not timed
        long start = System.nanoTime();
        sa.createEmailIdentity(r -> r.emailIdentity("one@a.example"));
        created++;
        try {
          sa.createEmailIdentity(r -> r.emailIdentity("two@a.example"));
          created++;
        } catch (TooManyRequestsException fast) {
          assertTrue(fast.awsErrorDetails().errorMessage()
              .startsWith("Maximum verification email rate exceeded (1.0 per second)"), fast.getMessage());
          assertThrows(NotFoundException.class, () -> sa.getEmailIdentity(r -> r.emailIdentity("two@a.example")),
              "a refused request creates nothing");
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(created <= Math.floor(1 + 1.0 * seconds), created + " created in " + seconds + " s");
        // another account is not held up by this one
        sb.createEmailIdentity(r -> r.emailIdentity("one@b.example"));
        Await.until(() -> relay.received().stream().filter(m -> m.rcptTo().contains("one@b.example")).count(),
            n -> n == 1, Duration.ofSeconds(20));

        while (created < 3) {
          Thread.sleep(1100);
          String address = names.get(created) + "@a.example";
          sa.createEmailIdentity(r -> r.emailIdentity(address));
          created++;
        }
        Thread.sleep(1100);
        TooManyRequestsException daily = assertThrows(TooManyRequestsException.class,
            () -> sa.createEmailIdentity(r -> r.emailIdentity("four@a.example")));
        assertTrue(daily.awsErrorDetails().errorMessage()
            .startsWith("Daily verification email quota exceeded (3 in 24 hours)"), daily.getMessage());
        // asking again for a pending address's email (v1 VerifyEmailIdentity) is counted too: SES v1's Throttling
        try (var v1 = node.sesV1(a.accessKeyId(), a.secretAccessKey())) {
          var again = assertThrows(software.amazon.awssdk.services.ses.model.SesException.class,
              () -> v1.verifyEmailIdentity(r -> r.emailAddress("one@a.example")));
          assertEquals("Throttling", again.awsErrorDetails().errorCode(), again.getMessage());
          assertEquals(400, again.statusCode());
          assertTrue(again.awsErrorDetails().errorMessage().startsWith("Daily verification email quota exceeded"),
              again.getMessage());
        }
        Await.until(() -> relay.received().stream().filter(m -> m.rcptTo().stream()
            .anyMatch(x -> x.endsWith("@a.example"))).count(), n -> n == 3, Duration.ofSeconds(20));
      }
    }
  }

  /**
   * The limit is of emails sent: asking again for a pending address's email within its cooldown (no email goes) gives
   * the count back (a create that finds the identity there is refused before it counts); the day's allowance is left
   * for emails that go.
   */
  @Test
  void askingAgainWithinTheCooldownSpendsNothing() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.startProduction(relay.url(), c -> c
             .with(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_SECOND, 100.0)
             .with(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_DAY, 3))) {
      Accounts.NewKey a = node.createAccount("asker", true, 100, 1000);
      try (SesV2Client sa = node.sesV2(a.accessKeyId(), a.secretAccessKey());
           var v1 = node.sesV1(a.accessKeyId(), a.secretAccessKey())) {
        sa.createEmailIdentity(r -> r.emailIdentity("one@ask.example"));
        for (int i = 0; i < 5; i++) {
          v1.verifyEmailIdentity(r -> r.emailAddress("one@ask.example"));
        }
        assertThrows(software.amazon.awssdk.services.sesv2.model.AlreadyExistsException.class,
            () -> sa.createEmailIdentity(r -> r.emailIdentity("one@ask.example")));
        sa.createEmailIdentity(r -> r.emailIdentity("two@ask.example"));
        sa.createEmailIdentity(r -> r.emailIdentity("three@ask.example"));
        TooManyRequestsException daily = assertThrows(TooManyRequestsException.class,
            () -> sa.createEmailIdentity(r -> r.emailIdentity("four@ask.example")));
        assertTrue(daily.awsErrorDetails().errorMessage().startsWith("Daily verification email quota exceeded"),
            daily.getMessage());
        Await.until(() -> relay.received().stream().filter(m -> m.rcptTo().stream()
            .anyMatch(x -> x.endsWith("@ask.example"))).count(), n -> n == 3, Duration.ofSeconds(20));
      }
    }
  }

  /**
   * A paused account (here by its operator) does not make the node mail strangers through verification emails: its
   * identities are created, PENDING, with no email and none of its allowance spent; asked again once it sends, the
   * email goes.
   */
  @Test
  void aPausedAccountsIdentitiesGetNoVerificationEmail() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.startProduction(relay.url(), c -> c
             .with(MailgateConfig.CACHE_TTL_MILLIS, 200)
             .with(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_DAY, 1))) {
      Accounts.NewKey a = node.createAccount("paused-verifier", true, 100, 1000);
      node.updateAccount(a.accountId(), null, null, null, false);
      try (SesV2Client sa = node.sesV2(a.accessKeyId(), a.secretAccessKey());
           var v1 = node.sesV1(a.accessKeyId(), a.secretAccessKey())) {
        sa.createEmailIdentity(r -> r.emailIdentity("one@stranger.example"));
        sa.createEmailIdentity(r -> r.emailIdentity("two@stranger.example")); // a day's allowance of 1: none taken
        v1.verifyEmailIdentity(r -> r.emailAddress("one@stranger.example"));
        assertEquals(software.amazon.awssdk.services.sesv2.model.VerificationStatus.PENDING,
            sa.getEmailIdentity(r -> r.emailIdentity("one@stranger.example")).verificationStatus());
        // a verification email is queued before the call answers: none is in the queue, none reached the relay
        assertEquals(0, Db.count(node.config().get(MailgateConfig.PG_URL),
            "SELECT count(*) FROM recipients WHERE address LIKE '%@stranger.example'"));
        Thread.sleep(1500);
        assertTrue(relay.received().stream().noneMatch(m -> m.rcptTo().stream()
            .anyMatch(x -> x.endsWith("@stranger.example"))), "nothing goes while it is paused");

        node.updateAccount(a.accountId(), null, null, null, true);
        Thread.sleep(400); // the node's cached account (cache.ttlMillis) has expired
        v1.verifyEmailIdentity(r -> r.emailAddress("one@stranger.example"));
        Await.until(() -> relay.received().stream().filter(m -> m.rcptTo().contains("one@stranger.example")).count(),
            n -> n == 1, Duration.ofSeconds(20));
      }
    }
  }

  /** A verification email that could not be sent does not hold its address: asking again sends one. */
  @Test
  void anAddressWhoseEmailFailedIsNotHeldForTheCooldown() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = TestServices.migratedPool(vertx, url, 2);
      List<String> tries = new CopyOnWriteArrayList<>();
      VerificationMailer failingFirst = (account, address, link) -> {
        tries.add(address);
        return tries.size() == 1 ? Future.failedFuture("the relay is down") : Future.succeededFuture();
      };
      SecretBox secrets = SecretBox.fromBase64(TestNode.MASTER_KEY);
      IdentityService identities = new IdentityService(vertx, new IdentityStore(pool), secrets,
          new VerificationLinks(secrets, Clock.systemUTC(), Duration.ofHours(24)), failingFirst,
          VerificationAllowance.UNLIMITED, "http://127.0.0.1", false);
      Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('111111111111', 'x', 1, 1)");
      Account account = new Account("111111111111", "x", 1, 1, true, true);
      identities.create(account, "held@x.example", null, null, new io.vertx.core.json.JsonArray())
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      identities.verify(account, "held@x.example")
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals(List.of("held@x.example", "held@x.example"), tries, "sent when asked again");
    } finally {
      vertx.close();
    }
  }
}
