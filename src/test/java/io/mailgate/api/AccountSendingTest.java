package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.AdminTest;
import io.mailgate.config.MailgateConfig;
import io.mailgate.feedback.InboundFeedbackTest;
import io.mailgate.identity.Accounts;
import io.mailgate.store.Database;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.SmtpClient;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.GetAccountResponse;
import software.amazon.awssdk.services.sesv2.model.SendingPausedException;

/**
 * PutAccountSendingAttributes: an account's owner pauses and resumes its sending, but not out of a shutdown nor out of
 * an operator's pause.
 */
class AccountSendingTest {

  static String send(SesV2Client ses) {
    return ses.sendEmail(r -> r.fromEmailAddress("owner@example.com").destination(d -> d.toAddresses("a@x.test"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b")))))).messageId();
  }

  /** Whether a send is refused because the account's sending is paused. */
  static boolean refused(SesV2Client ses) {
    try {
      send(ses);
      return false;
    } catch (SendingPausedException e) {
      assertTrue(e.getMessage().contains("Sending is paused for this account"), e.getMessage());
      return true;
    }
  }

  @Test
  void theOwnerPausesAndResumesButCannotUndoAShutdown() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url())) {
      Accounts.NewKey key = node.createAccount("owner", true, 10, 1000);
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        send(ses);
        ses.putAccountSendingAttributes(r -> r.sendingEnabled(false));
        assertFalse(ses.getAccount(r -> { }).sendingEnabled());
        // every API instance and node sees it within cache.ttlMillis (300 ms here)
        Await.until(() -> refused(ses), Duration.ofSeconds(5));
        ses.putAccountSendingAttributes(r -> r.sendingEnabled(true));
        assertTrue(ses.getAccount(r -> { }).sendingEnabled());
        Await.until(() -> !refused(ses), Duration.ofSeconds(5));

        // the same through SES v1's UpdateAccountSendingEnabled / GetAccountSendingEnabled
        try (SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
          v1.updateAccountSendingEnabled(r -> r.enabled(false));
          assertFalse(v1.getAccountSendingEnabled().enabled());
          Await.until(() -> refused(ses), Duration.ofSeconds(5));
          v1.updateAccountSendingEnabled(r -> r.enabled(true));
          assertTrue(v1.getAccountSendingEnabled().enabled());
          Await.until(() -> !refused(ses), Duration.ofSeconds(5));
        }

        // reputation enforcement shut it down (its status alone, as ReputationVerticle writes it): the owner cannot
        // resume it (SES), and the refusal changes nothing
        Pool pool = Database.pool(node.vertx(), node.config(), 1);
        try {
          pool.preparedQuery("UPDATE accounts SET enforcement_status = 'SHUTDOWN' WHERE id = $1")
              .execute(Tuple.of(key.accountId()))
              .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } finally {
          pool.close();
        }
        // SES documents only BadRequest and TooManyRequests for the operation: a BadRequest that says who can resume it
        BadRequestException refused = assertThrows(BadRequestException.class,
            () -> ses.putAccountSendingAttributes(r -> r.sendingEnabled(true)));
        String message = refused.awsErrorDetails().errorMessage();
        assertTrue(message.contains("shut down by Mailgate's reputation enforcement"), message);
        assertTrue(message.contains("Only an operator can: mailgate admin account set " + key.accountId()
            + " --sending true"), message);
        try (SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
          software.amazon.awssdk.services.ses.model.SesException v1Refused = assertThrows(
              software.amazon.awssdk.services.ses.model.SesException.class,
              () -> v1.updateAccountSendingEnabled(r -> r.enabled(true)));
          assertEquals("InvalidParameterValue", v1Refused.awsErrorDetails().errorCode());
        }
        assertFalse(ses.getAccount(r -> { }).sendingEnabled());
        assertEquals("SHUTDOWN", ses.getAccount(r -> { }).enforcementStatus());
        assertTrue(refusedAfresh(node, key.accountId()));
        try (SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
          assertFalse(v1.getAccountSendingEnabled().enabled());
        }
        assertEquals("PAUSED (reputation)", sendingListed(node, key.accountId()));
        ses.putAccountSendingAttributes(r -> r.sendingEnabled(false)); // pausing it more is allowed, and recorded
        assertEquals("PAUSED (reputation, owner)", sendingListed(node, key.accountId()));
      }
    }
  }

  /** {@code mailgate admin} run against the node's database, as an operator runs it; it must succeed: its output. */
  static String admin(TestNode node, String... args) {
    AdminTest.Run run = AdminTest.admin(node.config(), args);
    assertEquals(0, run.code(), run.err());
    return run.out().strip();
  }

  /** What a test does with a node, an account of its own on it (production, 10/s) and the account's v2 client. */
  interface OnAccount {
    void run(TestNode node, Accounts.NewKey key, SesV2Client ses) throws Exception;
  }

  static void onAnAccount(String name, OnAccount test) throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url())) {
      Accounts.NewKey key = node.createAccount(name, true, 10, 1000);
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        test.run(node, key, ses);
      }
    }
  }

  /** {@code mailgate admin account set <id> --sending true|false}: what it printed. */
  static String operatorSets(TestNode node, String accountId, boolean sending) {
    return admin(node, "account", "set", accountId, "--sending", Boolean.toString(sending));
  }

  /** The account's SENDING in {@code mailgate admin account list}. */
  static String sendingListed(TestNode node, String accountId) {
    String list = admin(node, "account", "list");
    return list.lines().filter(l -> l.startsWith(accountId)).findFirst()
        .map(l -> l.substring(l.indexOf(l.contains("PAUSED") ? "PAUSED" : "enabled"))).orElseThrow(() ->
            new AssertionError(list));
  }

  /**
   * Whether a send is refused as SES refuses a paused account's, read afresh: through a key created now, which no node
   * has cached, so what the send path decides is what the account's row says now.
   */
  static boolean refusedAfresh(TestNode node, String accountId) {
    Accounts.NewKey created = node.withAccounts(a -> a.createKey(accountId));
    try (SesV2Client fresh = node.sesV2(created.accessKeyId(), created.secretAccessKey())) {
      return refused(fresh);
    }
  }

  /** Whether the owner's call to resume is refused for an operator's pause, saying so and who can lift it. */
  static void refusedForTheOperatorsPause(BadRequestException refused, String accountId) {
    String message = refused.awsErrorDetails().errorMessage();
    assertTrue(message.contains("paused by an operator"), message);
    assertTrue(message.contains("Only an operator can: mailgate admin account set " + accountId + " --sending true"),
        message);
  }

  /**
   * A pause the operator imposes ({@code admin account set --sending false}) is SES's pause imposed by AWS: the owner
   * can neither lift it with v2 nor v1 (a BadRequest that changes nothing), GetAccount shows it SHUTDOWN as a reputation
   * shutdown is, and only the operator's {@code --sending true} lifts it. The owner's own choice is kept apart: it can
   * pause meanwhile, and that pause outlasts the operator's, the owner's to lift.
   */
  @Test
  void onlyTheOperatorLiftsTheOperatorsPause() throws Exception {
    onAnAccount("abusive", (node, key, ses) -> {
      String id = key.accountId();
      String pg = node.config().get(MailgateConfig.PG_URL);
      send(ses);
      assertEquals("account " + id + " updated; sending PAUSED (operator)",
          operatorSets(node, id, false));
      // the owner's choice is as it was: the operator's pause is its own
      assertEquals("true true", Db.string(pg, "SELECT sending_enabled || ' ' || paused_by_operator FROM accounts "
          + "WHERE id = '" + id + "'"));
      GetAccountResponse paused = ses.getAccount(r -> { });
      assertFalse(paused.sendingEnabled());
      assertEquals("SHUTDOWN", paused.enforcementStatus());
      Await.until(() -> refused(ses), Duration.ofSeconds(5));

      refusedForTheOperatorsPause(assertThrows(BadRequestException.class,
          () -> ses.putAccountSendingAttributes(r -> r.sendingEnabled(true))), id);
      try (SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
        software.amazon.awssdk.services.ses.model.SesException v1Refused = assertThrows(
            software.amazon.awssdk.services.ses.model.SesException.class,
            () -> v1.updateAccountSendingEnabled(r -> r.enabled(true)));
        assertEquals("InvalidParameterValue", v1Refused.awsErrorDetails().errorCode());
        assertTrue(v1Refused.awsErrorDetails().errorMessage().contains("paused by an operator"),
            v1Refused.awsErrorDetails().errorMessage());
        assertFalse(v1.getAccountSendingEnabled().enabled());
      }
      assertEquals("PAUSED (operator)", sendingListed(node, id));

      // the owner pauses too: recorded, though the operator's pause holds
      ses.putAccountSendingAttributes(r -> r.sendingEnabled(false));
      assertEquals("PAUSED (operator, owner)", sendingListed(node, id));
      refusedForTheOperatorsPause(assertThrows(BadRequestException.class,
          () -> ses.putAccountSendingAttributes(r -> r.sendingEnabled(true))), id);
      GetAccountResponse after = ses.getAccount(r -> { }); // the refusals changed nothing
      assertFalse(after.sendingEnabled());
      assertEquals("SHUTDOWN", after.enforcementStatus());
      assertTrue(refused(ses));

      // the operator lifts its pause: the owner's still holds, and the operator is told so
      assertEquals("account " + id + " updated; sending PAUSED (owner)",
          operatorSets(node, id, true));
      GetAccountResponse ownersPause = ses.getAccount(r -> { });
      assertFalse(ownersPause.sendingEnabled());
      assertEquals("HEALTHY", ownersPause.enforcementStatus());
      assertTrue(refusedAfresh(node, id));
      try (SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
        assertFalse(v1.getAccountSendingEnabled().enabled());
      }
      assertEquals("PAUSED (owner)", sendingListed(node, id));

      // the owner's pause is the owner's to lift
      ses.putAccountSendingAttributes(r -> r.sendingEnabled(true));
      assertTrue(ses.getAccount(r -> { }).sendingEnabled());
      Await.until(() -> !refused(ses), Duration.ofSeconds(5));
      assertEquals("enabled", sendingListed(node, id));
    });
  }

  /**
   * The operator's pause of an account its owner never paused: lifted, the account sends again at once, and the
   * operator's {@code --sending true} of an account paused before Mailgate recorded who paused (only its owner's choice
   * false) resumes it, as it always did.
   */
  @Test
  void theOperatorsResumeLiftsItsOwnPauseOrOneMadeBeforeItWasRecorded() throws Exception {
    onAnAccount("lifted", (node, key, ses) -> {
      String id = key.accountId();
      operatorSets(node, id, false);
      Await.until(() -> refused(ses), Duration.ofSeconds(5));
      assertEquals("account " + id + " updated; sending enabled", operatorSets(node, id, true));
      assertTrue(ses.getAccount(r -> { }).sendingEnabled());
      Await.until(() -> !refused(ses), Duration.ofSeconds(5));

      // paused before V33: nothing recorded who paused it
      Db.execute(node.config().get(MailgateConfig.PG_URL), "UPDATE accounts SET sending_enabled = false, "
          + "paused_by_operator = false WHERE id = '" + id + "'");
      assertTrue(refusedAfresh(node, id));
      assertEquals("account " + id + " updated; sending enabled", operatorSets(node, id, true));
      assertTrue(ses.getAccount(r -> { }).sendingEnabled());
      assertFalse(refusedAfresh(node, id));
      Await.until(() -> !refused(ses), Duration.ofSeconds(5));
    });
  }

  /**
   * A reputation shutdown is a pause of its own, apart from the owner's. The owner pauses its account; a late complaint
   * about what it sent before makes the reputation check shut it down; the operator lifts the shutdown
   * ({@code --sending true}): the owner's pause still holds, and the account does not send until its owner resumes it.
   * Another account that only the shutdown paused sends again once the operator lifts it.
   */
  @Test
  void liftingAShutdownLeavesTheOwnersPause() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.REPUTATION_MIN_VOLUME, 20)
             .with(MailgateConfig.REPUTATION_COMPLAINT_MIN_VOLUME, 20)
             .with(MailgateConfig.REPUTATION_CHECK_INTERVAL_SECONDS, 1)
             .with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.pause.test"))) {
      Accounts.NewKey owners = node.createAccount("paused-by-its-owner", true, 1000, 100_000);
      Accounts.NewKey alone = node.createAccount("shut-down-only", true, 1000, 100_000);
      try (SesV2Client paused = node.sesV2(owners.accessKeyId(), owners.secretAccessKey());
           SesV2Client shut = node.sesV2(alone.accessKeyId(), alone.secretAccessKey())) {
        String pausedsFirst = twentyDeliveredAndJudged(node, owners, paused);
        String shutsFirst = twentyDeliveredAndJudged(node, alone, shut);
        paused.putAccountSendingAttributes(r -> r.sendingEnabled(false));

        // late: one complaint in 20 (5%, over the 0.5% shutdown) about what each sent before
        for (String id : List.of(pausedsFirst, shutsFirst)) {
          SmtpClient.send(node.config().get(MailgateConfig.SMTP_INBOUND_PORT), "", List.of(
              "fbl@bounces.pause.test"), InboundFeedbackTest.arf("abuse", "a@x.test", "a@x.test", id));
        }
        Await.until(() -> "SHUTDOWN".equals(paused.getAccount(r -> { }).enforcementStatus())
            && "SHUTDOWN".equals(shut.getAccount(r -> { }).enforcementStatus()), Duration.ofSeconds(20));
        assertEquals("PAUSED (reputation, owner)", sendingListed(node, owners.accountId()));
        assertEquals("PAUSED (reputation)", sendingListed(node, alone.accountId()));

        // the operator lifts the shutdowns: the owner's pause still holds, and the operator is told so
        assertEquals("account " + owners.accountId() + " updated; sending PAUSED (owner)",
            operatorSets(node, owners.accountId(), true));
        GetAccountResponse ownersPause = paused.getAccount(r -> { });
        assertFalse(ownersPause.sendingEnabled());
        assertEquals("HEALTHY", ownersPause.enforcementStatus());
        assertTrue(refusedAfresh(node, owners.accountId()), "it sends, though its owner never resumed it");
        try (SesClient v1 = node.sesV1(owners.accessKeyId(), owners.secretAccessKey())) {
          assertFalse(v1.getAccountSendingEnabled().enabled());
        }
        assertEquals("account " + alone.accountId() + " updated; sending enabled",
            operatorSets(node, alone.accountId(), true));
        assertTrue(shut.getAccount(r -> { }).sendingEnabled());
        assertFalse(refusedAfresh(node, alone.accountId()));

        // the owner's pause is the owner's to lift
        paused.putAccountSendingAttributes(r -> r.sendingEnabled(true));
        assertTrue(paused.getAccount(r -> { }).sendingEnabled());
        assertFalse(refusedAfresh(node, owners.accountId()));
        assertEquals("enabled", sendingListed(node, owners.accountId()));
      }
    }
  }

  /**
   * Twenty messages of the account, delivered and judged by the reputation check (its figures show them, HEALTHY): the
   * id of the first.
   */
  private static String twentyDeliveredAndJudged(TestNode node, Accounts.NewKey key, SesV2Client ses) {
    String first = send(ses);
    for (int i = 1; i < 20; i++) {
      send(ses);
    }
    Await.until(() -> new JsonObject(node.signed("GET", "/_mailgate/reputation", null, Map.of(), key.accessKeyId(),
            key.secretAccessKey()).body()), r -> r.getInteger("Sent", 0) == 20
            && "HEALTHY".equals(r.getString("EnforcementStatus")), Duration.ofSeconds(20));
    return first;
  }

  /**
   * The owner's resume and an operator's pause racing: the resume that arrives while the pause is being written (its
   * transaction holds the row) waits for it, sees it once committed, and is refused; the account stays paused.
   */
  @Test
  void anOwnersResumeRacingAnOperatorsPauseLeavesItPaused() throws Exception {
    onAnAccount("racing", (node, key, ses) -> {
      String pg = node.config().get(MailgateConfig.PG_URL);
      String id = key.accountId();
      ses.putAccountSendingAttributes(r -> r.sendingEnabled(false)); // the owner paused; it is about to resume
      CompletableFuture<BadRequestException> resume;
      try (java.sql.Connection operator = Db.connect(pg); java.sql.Statement st = operator.createStatement()) {
        operator.setAutoCommit(false);
        // what admin account set --sending false writes, in a transaction not committed yet
        st.executeUpdate("UPDATE accounts SET paused_by_operator = true WHERE id = '" + id + "'");
        resume = CompletableFuture.supplyAsync(() -> assertThrows(BadRequestException.class,
            () -> ses.putAccountSendingAttributes(r -> r.sendingEnabled(true))));
        Await.until(() -> Db.count(pg, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            + "AND query LIKE 'UPDATE accounts SET sending_enabled%'"), n -> n > 0, Duration.ofSeconds(20));
        operator.commit();
      }
      refusedForTheOperatorsPause(resume.get(20, TimeUnit.SECONDS), id);
      assertEquals("false true", Db.string(pg, "SELECT sending_enabled || ' ' || paused_by_operator FROM accounts "
          + "WHERE id = '" + id + "'"));
      assertFalse(ses.getAccount(r -> { }).sendingEnabled());
    });
  }
}
