package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.metrics.Metrics;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.SmtpClient;
import io.mailgate.testing.TestServices;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.Verification;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.SendingPausedException;

/** Bounce rate over the thresholds: a warning, then sending paused until an admin resumes it. */
class ReputationTest {

  /** A relay that refuses recipients whose address starts with "dead" with a 550 user unknown. */
  static RecordingSmtpServer deadRelay() throws IOException {
    return new RecordingSmtpServer()
        .onRcpt(r -> r.startsWith("dead") ? "550 5.1.1 <" + r + ">: User unknown" : "250 Ok");
  }

  /** A production node judging reputation every second, once 20 recipients are in the window. */
  static TestNode reputationNode(RecordingSmtpServer relay) {
    return TestNode.startProduction(relay.url(), c -> c
        .with(MailgateConfig.REPUTATION_MIN_VOLUME, 20)
        .with(MailgateConfig.REPUTATION_COMPLAINT_MIN_VOLUME, 20)
        .with(MailgateConfig.REPUTATION_CHECK_INTERVAL_SECONDS, 1));
  }

  /** The sender verified, then 19 good + 1 bad = 5%: at the 5% warning (it counts), under the 10% shutdown. */
  static void fivePercentHardBounces(SesV2Client ses, RecordingSmtpServer relay) {
    Verification.verifiedAddress(ses, relay, "bulk@rep.example");
    for (int i = 0; i < 19; i++) {
      send(ses, "good" + i + "@example.org");
    }
    send(ses, "dead1@example.org");
  }

  static void send(SesV2Client ses, String to) {
    ses.sendEmail(r -> r.fromEmailAddress("bulk@rep.example").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("x"))))));
  }

  /**
   * Two nodes checking every second, half a second apart, compute once a second between them, not each; an account
   * whose figures do not change is not rewritten at every check, only once what it shows is five minutes old, or when
   * its status changes.
   */
  @Test
  void oneNodeChecksPerIntervalAndWritesOnlyWhatChanged() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      TestServices.migratedPool(vertx, url, 1).close();
      Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
      Db.execute(url, "INSERT INTO reputation_buckets (account_id, bucket, sent) "
          + "VALUES ('a1', now() - interval '1 hour', 500)");
      // every write of an account row, counted
      Db.execute(url, "CREATE TABLE account_writes (at timestamptz)");
      Db.execute(url, "CREATE FUNCTION account_written() RETURNS trigger LANGUAGE plpgsql AS "
          + "$$ BEGIN INSERT INTO account_writes VALUES (now()); RETURN NEW; END $$");
      Db.execute(url, "CREATE TRIGGER account_written AFTER UPDATE ON accounts FOR EACH ROW "
          + "EXECUTE FUNCTION account_written()");
      MailgateConfig config = MailgateConfig.defaults().with(MailgateConfig.PG_URL, url)
          .with(MailgateConfig.REPUTATION_CHECK_INTERVAL_SECONDS, 1)
          .with(MailgateConfig.REPUTATION_COMPLAINT_MIN_VOLUME, 200);
      vertx.deployVerticle(new ReputationVerticle(config, Clock.systemUTC())).await(10, TimeUnit.SECONDS);
      Thread.sleep(500);
      vertx.deployVerticle(new ReputationVerticle(config, Clock.systemUTC())).await(10, TimeUnit.SECONDS);
      Thread.sleep(6_000);
      long checks = checks(vertx);
      assertTrue(checks >= 3 && checks <= 8, "checks in 6 s: " + checks);
      assertEquals(1, Db.count(url, "SELECT count(*) FROM account_writes"), "the first check's only");

      // what the account shows was checked five minutes ago: written again, though nothing changed
      Db.execute(url, "UPDATE accounts SET reputation = jsonb_set(reputation, '{CheckedAt}', "
          + "to_jsonb((now() - interval '301 seconds')::text)) WHERE id = 'a1'");
      Await.until(() -> Db.count(url, "SELECT count(*) FROM account_writes"), n -> n == 3, Duration.ofSeconds(10));
      assertEquals(1, Db.count(url, "SELECT count(*) FROM accounts WHERE id = 'a1' "
          + "AND (reputation->>'CheckedAt')::timestamptz > now() - interval '1 minute'"));
      // and a status that changes is written at once
      Db.execute(url, "UPDATE reputation_buckets SET complaints = 10");
      Await.until(() -> Db.string(url, "SELECT enforcement_status FROM accounts WHERE id = 'a1'"), "SHUTDOWN"::equals,
          Duration.ofSeconds(10));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /**
   * Waits for two more of the node's reputation checks (one a second): the second began after this was called, so a
   * status it leaves unchanged was decided on what the test wrote before.
   */
  private static void checkedAgain(TestNode node) {
    long before = node.metric("mailgate_reputation_checks_total");
    assertTrue(before >= 0, "the node counts its reputation checks");
    Await.until(() -> node.metric("mailgate_reputation_checks_total"), n -> n >= before + 2, Duration.ofSeconds(20));
  }

  private static long checks(Vertx vertx) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\nmailgate_reputation_checks_total (\\d+)\n")
        .matcher(Metrics.of(vertx).render(new Metrics.Gauges(0, 0, 0, 0, 0)));
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /** A window with a complaint and nothing sent is no rate (1/0 was Infinity: SHUTDOWN), whatever minVolume says. */
  @Test
  void nothingSentIsNoRate() {
    ReputationVerticle verticle = new ReputationVerticle(MailgateConfig.defaults()
        .with(MailgateConfig.REPUTATION_MIN_VOLUME, 0).with(MailgateConfig.REPUTATION_COMPLAINT_MIN_VOLUME, 0),
        java.time.Clock.systemUTC());
    assertEquals("HEALTHY", verticle.assess("a", 0, 0, 1, "HEALTHY", "-infinity", 0).next());
    assertEquals("HEALTHY", verticle.assess("a", 0, 1, 0, "HEALTHY", "-infinity", 0).next());
    assertEquals("SHUTDOWN", verticle.assess("a", 1, 0, 1, "HEALTHY", "-infinity", 0).next());
  }

  /**
   * The complaint rate is judged on a volume of its own (reputation.complaintMinVolume, 1,000): at SES's 0.1% and 0.5%,
   * two complaints in 250 sends paused an account. The bounce rate still acts from reputation.minVolume.
   */
  @Test
  void complaintsAreJudgedOnAVolumeOfTheirOwn() {
    ReputationVerticle verticle = new ReputationVerticle(MailgateConfig.defaults(), java.time.Clock.systemUTC());
    assertEquals("HEALTHY", verticle.assess("a", 250, 0, 2, "HEALTHY", "-infinity", 200).next());
    assertEquals("HEALTHY", verticle.assess("a", 999, 0, 9, "HEALTHY", "-infinity", 200).next());
    assertEquals("SHUTDOWN", verticle.assess("a", 1000, 0, 6, "HEALTHY", "-infinity", 200).next());
    assertEquals("PROBATION", verticle.assess("a", 1000, 0, 2, "HEALTHY", "-infinity", 200).next());
    assertEquals("SHUTDOWN", verticle.assess("a", 250, 30, 2, "HEALTHY", "-infinity", 200).next(), "bounces: 12%");
    // too few sends to judge complaints neither raise a status nor lift one: a probation stays while they are there
    assertEquals("PROBATION", verticle.assess("a", 500, 0, 100, "PROBATION", "-infinity", 200).next());
    assertEquals("HEALTHY", verticle.assess("a", 500, 0, 0, "PROBATION", "-infinity", 200).next());
  }

  /**
   * An account sending a little every day is judged on a representative volume, not on its last day alone (which never
   * held reputation.minVolume): 10 sends a day, 4 of each day's to dead addresses, paused it never.
   */
  @Test
  void aSmallSenderIsJudgedOnItsLastDaysTogether() throws Exception {
    try (RecordingSmtpServer relay = deadRelay(); TestNode node = reputationNode(relay)) {
      Accounts.NewKey key = node.createAccount("trickle", true, 1000, 100_000);
      Accounts.NewKey other = node.createAccount("trickle-other", true, 1000, 100_000);
      String pg = node.config().get(MailgateConfig.PG_URL);
      for (String[] k : new String[][] {{key.accountId(), "4"}, {other.accountId(), "0"}}) {
        for (int hoursAgo : new int[] {2, 30, 54, 200}) {
          io.mailgate.testing.Db.execute(pg, "INSERT INTO reputation_buckets (account_id, bucket, sent, hard_bounces) "
              + "VALUES ('" + k[0] + "', to_timestamp(floor(extract(epoch FROM now() - interval '" + hoursAgo
              + " hours') / 300) * 300), 10, " + k[1] + ")");
        }
      }
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey());
           SesV2Client quiet = node.sesV2(other.accessKeyId(), other.secretAccessKey())) {
        Await.until(() -> "SHUTDOWN".equals(ses.getAccount(r -> { }).enforcementStatus()), Duration.ofSeconds(20));
        JsonObject reputation = new JsonObject(node.signed("GET", "/_mailgate/reputation", null, Map.of(),
            key.accessKeyId(), key.secretAccessKey()).body());
        // the last day's 10, and the day before's, which reached the volume (20): not the older ones
        assertEquals(20, reputation.getInteger("Sent"), reputation.encode());
        assertEquals(8, reputation.getInteger("HardBounces"), reputation.encode());
        assertEquals("HEALTHY", quiet.getAccount(r -> { }).enforcementStatus());
        // the operator's alert: one account paused, none warned
        Await.until(() -> node.metric("mailgate_reputation_transitions_total{scope=\"account\",to=\"SHUTDOWN\"}")
            == 1, Duration.ofSeconds(10));
        assertEquals(-1, node.metric("mailgate_reputation_transitions_total{scope=\"account\",to=\"PROBATION\"}"));
      }
    }
  }

  /** SES's thresholds include their rates: 5% of bounces puts an account under review, 10% pauses it (0.1%, 0.5%). */
  @Test
  void aRateAtAThresholdActs() {
    ReputationVerticle verticle = new ReputationVerticle(MailgateConfig.defaults(), java.time.Clock.systemUTC());
    assertEquals("HEALTHY", verticle.assess("a", 1000, 49, 0, "HEALTHY", "-infinity", 200).next());
    assertEquals("PROBATION", verticle.assess("a", 1000, 50, 0, "HEALTHY", "-infinity", 200).next());
    assertEquals("PROBATION", verticle.assess("a", 1000, 99, 0, "HEALTHY", "-infinity", 200).next());
    assertEquals("SHUTDOWN", verticle.assess("a", 200, 20, 0, "HEALTHY", "-infinity", 200).next());
    assertEquals("HEALTHY", verticle.assess("a", 2000, 0, 1, "HEALTHY", "-infinity", 200).next());
    assertEquals("PROBATION", verticle.assess("a", 1000, 0, 1, "HEALTHY", "-infinity", 200).next());
    assertEquals("SHUTDOWN", verticle.assess("a", 1000, 0, 5, "HEALTHY", "-infinity", 200).next());
  }

  /**
   * PROBATION ends once the window holds no hard bounce and no complaint, however little the account sends then (too
   * little to judge a rate kept it on probation for good); with a bounce still in the window it stays.
   */
  @Test
  void probationEndsOnceNothingThatCausedItIsLeftInTheWindow() throws Exception {
    try (RecordingSmtpServer relay = deadRelay(); TestNode node = reputationNode(relay)) {
      Accounts.NewKey key = node.createAccount("probation", true, 1000, 100_000);
      String pg = node.config().get(MailgateConfig.PG_URL);
      String aDayLater = "UPDATE reputation_buckets SET bucket = bucket - interval '2 days' WHERE account_id = '"
          + key.accountId() + "'";
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        fivePercentHardBounces(ses, relay);
        Await.until(() -> "PROBATION".equals(ses.getAccount(r -> { }).enforcementStatus()), Duration.ofSeconds(20));

        // two days on, the last day holds one new send, which bounced: the window reaches back for a representative
        // volume, to the sends of two days ago, and their bounce is in it too (2 in 21)
        io.mailgate.testing.Db.execute(pg, aDayLater);
        send(ses, "dead2@example.org");
        Await.until(() -> io.mailgate.testing.Db.count(pg, "SELECT coalesce(sum(hard_bounces), 0) FROM "
            + "reputation_buckets WHERE bucket > now() - interval '1 day' AND account_id = '" + key.accountId() + "'")
            == 1, Duration.ofSeconds(20));
        checkedAgain(node);
        assertEquals("PROBATION", ses.getAccount(r -> { }).enforcementStatus());

        // a week and more on: nothing in the window, however far back it reaches (reputation.maxWindowDays)
        io.mailgate.testing.Db.execute(pg, aDayLater.replace("'2 days'", "'8 days'"));
        Await.until(() -> "HEALTHY".equals(ses.getAccount(r -> { }).enforcementStatus()), Duration.ofSeconds(20));
        assertTrue(ses.getAccount(r -> { }).sendingEnabled());
      }
    }
  }

  /**
   * Late feedback counts with the sends it is about. An account sent a large newsletter two days ago and little since:
   * three complaints about the newsletter arriving now are not set against today's 300 sends (1%, over the 0.5%
   * shutdown), they count in the newsletter's bucket, outside the window.
   */
  @Test
  void lateComplaintsCountWithTheSendsTheyAreAbout() throws Exception {
    try (RecordingSmtpServer relay = deadRelay(); TestNode node = TestNode.startProduction(relay.url(), c -> c
        .with(MailgateConfig.REPUTATION_MIN_VOLUME, 20)
        .with(MailgateConfig.REPUTATION_COMPLAINT_MIN_VOLUME, 20)
        .with(MailgateConfig.REPUTATION_CHECK_INTERVAL_SECONDS, 1)
        .with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.rep.test"))) {
      Accounts.NewKey key = node.createAccount("newsletter", true, 1000, 200_000);
      String account = "'" + key.accountId() + "'";
      String pg = node.config().get(MailgateConfig.PG_URL);
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        Verification.verifiedAddress(ses, relay, "bulk@rep.example");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          String to = "reader" + i + "@example.org";
          ids.add(ses.sendEmail(r -> r.fromEmailAddress("bulk@rep.example").destination(d -> d.toAddresses(to))
              .content(c -> c.simple(m -> m.subject(s -> s.data("news")).body(b -> b.text(t -> t.data("x"))))))
              .messageId());
        }
        for (String id : ids) {
          node.awaitOutcomes(id, 1, key.accessKeyId(), key.secretAccessKey());
        }
        // the three were part of a newsletter of 100,000 delivered two days ago; today 300 were sent
        String in = "('" + String.join("', '", ids) + "')";
        Db.execute(pg, "UPDATE messages SET created_at = created_at - interval '2 days' WHERE id IN " + in);
        Db.execute(pg, "UPDATE recipients SET delivered_at = delivered_at - interval '2 days' WHERE message_id IN " + in);
        Db.execute(pg, "DELETE FROM reputation_buckets WHERE account_id = " + account);
        Db.execute(pg, "INSERT INTO reputation_buckets (account_id, bucket, sent) VALUES (" + account
            + ", to_timestamp(floor(extract(epoch FROM now() - interval '2 days') / 300) * 300), 100000), (" + account
            + ", to_timestamp(floor(extract(epoch FROM now()) / 300) * 300), 300)");

        int inbound = node.config().get(MailgateConfig.SMTP_INBOUND_PORT);
        for (int i = 0; i < 3; i++) {
          String to = "reader" + i + "@example.org";
          SmtpClient.send(inbound, "", List.of("fbl@bounces.rep.test"), InboundFeedbackTest.arf("abuse", to, to,
              ids.get(i)));
        }
        Await.until(() -> Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Complaint' AND account_id = "
            + account), n -> n == 3, Duration.ofSeconds(20));
        checkedAgain(node);
        JsonObject reputation = new JsonObject(node.signed("GET", "/_mailgate/reputation", null, Map.of(),
            key.accessKeyId(), key.secretAccessKey()).body());
        assertEquals("HEALTHY", reputation.getString("EnforcementStatus"), reputation.encode());
        assertEquals(300, reputation.getInteger("Sent"), reputation.encode());
        assertEquals(0, reputation.getInteger("Complaints"), reputation.encode());
        assertEquals(3, Db.count(pg, "SELECT coalesce(sum(complaints), 0) FROM reputation_buckets WHERE account_id = "
            + account + " AND bucket < now() - interval '1 day'"), "counted with the newsletter");
        assertTrue(ses.getAccount(r -> { }).sendingEnabled());
      }
    }
  }

  @Test
  void tooManyHardBouncesPauseSending() throws Exception {
    try (RecordingSmtpServer relay = deadRelay(); TestNode node = reputationNode(relay)) {
      Accounts.NewKey key = node.createAccount("sloppy", true, 1000, 100_000);
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        fivePercentHardBounces(ses, relay);
        Await.until(() -> "PROBATION".equals(ses.getAccount(r -> { }).enforcementStatus()), Duration.ofSeconds(20));
        JsonObject reputation = new JsonObject(node.signed("GET", "/_mailgate/reputation", null, Map.of(),
            key.accessKeyId(), key.secretAccessKey()).body());
        assertEquals(20, reputation.getInteger("Sent"));
        assertEquals(1, reputation.getInteger("HardBounces"));
        assertEquals(0.05, reputation.getDouble("BounceRate"), 1e-9);
        assertTrue(ses.getAccount(r -> { }).sendingEnabled());

        for (int i = 2; i < 6; i++) {
          send(ses, "dead" + i + "@example.org");
        }
        Await.until(() -> "SHUTDOWN".equals(ses.getAccount(r -> { }).enforcementStatus()), Duration.ofSeconds(20));
        SendingPausedException paused = Await.until(() -> {
          try {
            send(ses, "good@example.org");
            return null;
          } catch (SendingPausedException e) {
            return e;
          }
        }, e -> e != null, Duration.ofSeconds(10));
        assertEquals(400, paused.statusCode());

        // the admin resumes it: a fresh window
        node.updateAccount(key.accountId(), null, null, null, true);
        Await.until(() -> {
          try {
            send(ses, "good-again@example.org");
            return true;
          } catch (SendingPausedException e) {
            return false;
          }
        }, Duration.ofSeconds(10));
        assertEquals("HEALTHY", ses.getAccount(r -> { }).enforcementStatus());
        // and it stays resumed: the checks after the resume do not judge the bounces before it again
        long until = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < until) {
          assertEquals("HEALTHY", ses.getAccount(r -> { }).enforcementStatus());
          assertTrue(ses.getAccount(r -> { }).sendingEnabled());
          Thread.sleep(250);
        }
        // what is sent after the resume counts, in the resume's own 5-minute bucket too: 3 hard bounces in 20
        for (int i = 0; i < 16; i++) {
          send(ses, "good-after" + i + "@example.org");
        }
        for (int i = 0; i < 3; i++) {
          send(ses, "dead-after" + i + "@example.org");
        }
        Await.until(() -> "SHUTDOWN".equals(ses.getAccount(r -> { }).enforcementStatus()), Duration.ofSeconds(20));
        reputation = new JsonObject(node.signed("GET", "/_mailgate/reputation", null, Map.of(),
            key.accessKeyId(), key.secretAccessKey()).body());
        // good-again and these 19 (and any send accepted just before the pause whose delivery came after the resume)
        assertTrue(reputation.getInteger("Sent") >= 20, reputation.encode());
        assertEquals(3, reputation.getInteger("HardBounces"), reputation.encode());
      }
    }
  }
}
