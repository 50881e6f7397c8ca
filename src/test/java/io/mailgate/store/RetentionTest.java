package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.send.MessageIds;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Retention on a database holding messages, feedback and counters on either side of the cutoff. */
class RetentionTest {
  private static final Instant NOW = Instant.now();
  private static final Instant CUTOFF = NOW.minus(Duration.ofDays(30));

  private String url;
  private int serial;
  private String oldDone;
  private String oldQueued;
  private String newDone;
  private String oldOtherAccount;
  private Vertx vertx;
  private Pool pool;

  @BeforeEach
  void setUp() {
    url = TestServices.freshDatabase();
    vertx = Vertx.vertx();
    pool = TestServices.migratedPool(vertx, url, 2);
    for (String account : new String[] {"a1", "a2"}) {
      Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('" + account + "', '"
          + account + "', 14, 50000)");
    }
    oldDone = message("a1", 40, "delivered", "bounced");
    oldQueued = message("a1", 40, "delivered", "queued");
    newDone = message("a1", 1, "delivered");
    oldOtherAccount = message("a2", 35, "delivered");
    for (int i = 0; i < 25; i++) { // so a batch of 10 takes three transactions
      message("a2", 31, "delivered");
    }
    Db.execute(url, "INSERT INTO inbound_feedback (received_at, kind, attributed, content) VALUES "
        + "(now() - interval '40 days', 'DSN', false, 'x'), (now() - interval '1 day', 'ARF', false, 'x')");
    Db.execute(url, "INSERT INTO reputation_buckets (account_id, bucket, sent) VALUES "
        + "('a1', now() - interval '40 days', 5), ('a1', now() - interval '1 hour', 7)");
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** A message accepted {@code daysOld} days ago with one recipient in each of {@code states}, and an event for each; its id. */
  private String message(String account, int daysOld, String... states) {
    Instant at = NOW.minus(Duration.ofDays(daysOld)).plusMillis(serial++);
    String id = MessageIds.next(at);
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) VALUES ('"
        + id + "', '" + account + "', 's@example.com', 's@example.com', 'x', 1, '" + at + "')");
    for (int i = 0; i < states.length; i++) {
      Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at) "
          + "VALUES ('" + id + "', " + i + ", 'r" + i + "@example.org', '" + states[i] + "', now(), now())");
      Db.execute(url, "INSERT INTO events (message_id, account_id, type, recipient, detail, created_at) VALUES ('"
          + id + "', '" + account + "', 'Bounce', 'r" + i + "@example.org', '{}', now())");
    }
    Db.execute(url, "INSERT INTO tracking_counts (message_id, type, n) VALUES ('" + id + "', 'Open', 3)");
    return id;
  }

  private String in(String... ids) {
    return "('" + String.join("', '", ids) + "')";
  }

  private long count(String sql) {
    return Db.count(url, sql);
  }

  @Test
  void receivedMailGoesAfterItsOwnRetentionInBatches() throws Exception {
    for (int i = 0; i < 23; i++) {
      Db.execute(url, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at) "
          + "VALUES ('a1', 'inbox', 'old/" + i + "', 'm" + i + "', 'x', now() - interval '40 days')");
    }
    Db.execute(url, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at) "
        + "VALUES ('a2', 'inbox', 'new', 'n', 'x', now() - interval '1 day')");
    assertEquals(23L, await(RetentionVerticle.sweepReceived(pool, CUTOFF, 10)));
    assertEquals(1, count("SELECT count(*) FROM received_objects"));
    assertEquals("new", Db.string(url, "SELECT object_key FROM received_objects"));
  }

  /** The VDM metrics of days before the cutoff go, in batches, with those days' leases; the rest stay. */
  @Test
  void vdmMetricsGoAfterTheirOwnRetentionInBatches() throws Exception {
    java.time.LocalDate today = java.time.LocalDate.now(ZoneOffset.UTC);
    java.time.LocalDate cutoff = today.minusDays(400);
    for (int days : new int[] {401, 400, 1}) {
      java.time.LocalDate day = today.minusDays(days);
      int rows = days == 401 ? 13 : 2;
      for (int i = 0; i < rows; i++) {
        Db.execute(url, "INSERT INTO vdm_metrics VALUES ('a" + (1 + i % 2) + "', '" + day + "', 'id" + i
            + ".example', '', 'Gmail', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)");
      }
      Db.execute(url, "INSERT INTO vdm_days (day, computed_at) VALUES ('" + day + "', now())");
    }
    Db.execute(url, "INSERT INTO vdm_days (day, computed_at) VALUES ('" + today.minusDays(500) + "', now())");
    assertEquals(13L, await(RetentionVerticle.sweepVdm(pool, cutoff, 5)));
    assertEquals(4, count("SELECT count(*) FROM vdm_metrics"));
    assertEquals(0, count("SELECT count(*) FROM vdm_metrics WHERE day < '" + cutoff + "'"));
    assertEquals(2, count("SELECT count(*) FROM vdm_days"), "the days before the cutoff go, computed or not");
    assertEquals(0, count("SELECT count(*) FROM vdm_days WHERE day < '" + cutoff + "'"));
    assertEquals(0L, await(RetentionVerticle.sweepVdm(pool, cutoff, 5)));
  }

  /** What SendBounce keeps of a received message goes once it may no longer be bounced, in batches. */
  @Test
  void receivedMessagesGoAfterSendBouncesDay() throws Exception {
    // received message ids begin with the time the message arrived: the sweep goes by them
    String old = ReceivedMessages.timePrefix(Instant.now().minus(Duration.ofHours(25)).toEpochMilli());
    String recent = ReceivedMessages.timePrefix(Instant.now().minus(Duration.ofHours(23)).toEpochMilli()) + "recent";
    for (int i = 0; i < 13; i++) {
      Db.execute(url, "INSERT INTO received_messages (account_id, message_id, reverse_path, recipients, headers, "
          + "received_at) VALUES ('a1', '" + old + "old" + i + "', 'a@x.example', '{b@y.example}', 'H', now())");
    }
    Db.execute(url, "INSERT INTO received_messages (account_id, message_id, reverse_path, recipients, headers, "
        + "received_at) VALUES ('a2', '" + recent + "', 'a@x.example', '{b@y.example}', 'H', now())");
    assertEquals(13L, await(RetentionVerticle.sweepBounceable(pool,
        Instant.now().minus(ReceivedMessages.BOUNCE_WINDOW), 5)));
    assertEquals(recent, Db.string(url, "SELECT message_id FROM received_messages"));
    // ordered by their bytes whatever the database's collation (Danish sorts "aa" after "z", Estonian "z" before "t")
    assertEquals("C", Db.string(url, "SELECT collation_name FROM information_schema.columns "
        + "WHERE table_name = 'received_messages' AND column_name = 'message_id'"));
  }

  @Test
  void deletesFinishedMessagesWithTheirRecipientsAndEventsAndKeepsTheRest() throws Exception {
    Db.execute(url, "INSERT INTO deleted_configuration_sets (account_id, name, tls_policy, deleted_at) VALUES "
        + "('a1', 'old-set', 'REQUIRE', now() - interval '40 days'), ('a1', 'new-set', 'REQUIRE', now())");
    RetentionVerticle.Swept swept = await(RetentionVerticle.sweep(pool, CUTOFF, NOW.minus(Duration.ofDays(1)), 10));

    assertEquals(new RetentionVerticle.Swept(27, 1, 1), swept);
    assertEquals(0, count("SELECT count(*) FROM messages WHERE id IN " + in(oldDone, oldOtherAccount)));
    // a recipient still queued keeps the whole message, however old; a recent one is kept whole too
    assertEquals(2, count("SELECT count(*) FROM messages"));
    assertEquals(2, count("SELECT count(*) FROM messages WHERE id IN " + in(oldQueued, newDone)));
    assertEquals(3, count("SELECT count(*) FROM recipients"));
    assertEquals(3, count("SELECT count(*) FROM recipients WHERE message_id IN " + in(oldQueued, newDone)));
    assertEquals(3, count("SELECT count(*) FROM events"));
    assertEquals(3, count("SELECT count(*) FROM events WHERE message_id IN " + in(oldQueued, newDone)));
    assertEquals(2, count("SELECT count(*) FROM tracking_counts"), "the tracking counts go with their messages");
    assertEquals(1, count("SELECT count(*) FROM inbound_feedback WHERE kind = 'ARF'"));
    assertEquals(1, count("SELECT count(*) FROM reputation_buckets WHERE sent = 7"));
    assertEquals("new-set", Db.string(url, "SELECT name FROM deleted_configuration_sets"),
        "a deleted set's delivery options go with the retention");

    assertEquals(new RetentionVerticle.Swept(0, 0, 0),
        await(RetentionVerticle.sweep(pool, CUTOFF, NOW.minus(Duration.ofDays(1)), 10)));
  }

  @Test
  void everyStatementOfASweepReadsIndexesNotTables() throws Exception {
    String[] ids = {oldDone, oldQueued};
    String candidates = plan(RetentionVerticle.CANDIDATES,
        io.vertx.sqlclient.Tuple.of("", MessageIds.prefix(CUTOFF), CUTOFF.atOffset(ZoneOffset.UTC), 10));
    assertTrue(candidates.contains("Index Scan using messages_pkey"), candidates);
    assertFalse(candidates.contains("Sort"), candidates);
    String queued = plan(RetentionVerticle.QUEUED, io.vertx.sqlclient.Tuple.of((Object) ids));
    assertTrue(queued.contains("recipients_pkey"), queued);
    String delete = plan(RetentionVerticle.DELETE_MESSAGES, io.vertx.sqlclient.Tuple.of((Object) ids));
    assertTrue(delete.contains("messages_pkey") && delete.contains("recipients_pkey")
        && delete.contains("events_message"), delete);
    for (String plan : new String[] {candidates, queued, delete}) {
      assertFalse(plan.contains("Seq Scan"), plan);
    }
  }

  /**
   * A retention reaching back before 1970 ({@code retention.days} 36500, say) reads no message: the scan's upper bound
   * is below every id, not above them all (the whole primary key read at every sweep).
   */
  @Test
  void aRetentionBeforeTheEpochReadsNoMessage() throws Exception {
    Instant cutoff = NOW.minus(Duration.ofDays(36_500));
    String below = MessageIds.prefix(cutoff);
    assertTrue(below.compareTo(MessageIds.next(Instant.EPOCH)) < 0, below);
    String candidates = plan("EXPLAIN (ANALYZE) ", RetentionVerticle.CANDIDATES,
        io.vertx.sqlclient.Tuple.of("", below, cutoff.atOffset(ZoneOffset.UTC), 10));
    assertFalse(candidates.contains("Rows Removed by Filter"), candidates);
    assertEquals(new RetentionVerticle.Swept(0, 0, 0), await(RetentionVerticle.sweep(pool, cutoff, cutoff, 10)));
    assertEquals(29, count("SELECT count(*) FROM messages"));
  }

  private String plan(String sql, io.vertx.sqlclient.Tuple args) throws Exception {
    return plan("EXPLAIN ", sql, args);
  }

  private String plan(String explain, String sql, io.vertx.sqlclient.Tuple args) throws Exception {
    return await(pool.withTransaction(conn -> conn.query(RetentionVerticle.PLAN).execute()
        .compose(v -> conn.preparedQuery(explain + sql).execute(args))
        .map(rows -> {
          StringBuilder b = new StringBuilder();
          rows.forEach(r -> b.append(r.getString(0)).append('\n'));
          return b.toString();
        })));
  }

  @Test
  void oneNodeSweepsAtATime() throws Exception {
    String jdbc = "jdbc:" + url.replace("postgresql://postgres@", "postgresql://");
    try (Connection other = DriverManager.getConnection(jdbc, "postgres", "");
         Statement s = other.createStatement()) {
      s.execute("SELECT pg_advisory_lock(" + RetentionVerticle.LOCK + ")"); // another node's sweep
      assertEquals(new RetentionVerticle.Swept(0, 0, 0), await(RetentionVerticle.sweep(pool, CUTOFF, CUTOFF, 10)));
      Db.execute(url, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, "
          + "created_at) VALUES ('a1', 'inbox', 'old', 'm', 'x', now() - interval '40 days')");
      assertEquals(0L, await(RetentionVerticle.sweepReceived(pool, CUTOFF, 10)), "received mail too");
      assertEquals(29, count("SELECT count(*) FROM messages"));
      s.execute("SELECT pg_advisory_unlock(" + RetentionVerticle.LOCK + ")");
    }
    assertEquals(27, await(RetentionVerticle.sweep(pool, CUTOFF, CUTOFF, 10)).messages());
    // the sweep let go of its lock
    assertEquals(1, count("SELECT count(*) FROM (SELECT pg_try_advisory_lock(" + RetentionVerticle.LOCK + ")) l"));
  }

  /** GetSendStatistics reads two weeks of counters: a shorter retention does not cut them, in batches. */
  @Test
  void reputationCountersStayTwoWeeksWhateverTheRetention() throws Exception {
    for (int i = 0; i < 25; i++) {
      Db.execute(url, "INSERT INTO reputation_buckets (account_id, bucket, sent) VALUES ('a2', now() - interval '"
          + (15 + i) + " days', 1)");
    }
    Db.execute(url, "INSERT INTO reputation_buckets (account_id, bucket, sent) VALUES ('a1', now() - interval "
        + "'10 days', 9)");
    MailgateConfig config = MailgateConfig.defaults().with(MailgateConfig.PG_URL, url)
        .with(MailgateConfig.RETENTION_DAYS, 7);
    await(vertx.deployVerticle(new RetentionVerticle(config, Clock.systemUTC(), 10)));
    Await.until(() -> count("SELECT count(*) FROM reputation_buckets"), n -> n == 2, Duration.ofSeconds(20));
    assertEquals(1, count("SELECT count(*) FROM reputation_buckets WHERE sent = 9"), "10 days old: kept");
    assertEquals(1, count("SELECT count(*) FROM reputation_buckets WHERE sent = 7"));
    assertEquals(2, count("SELECT count(*) FROM messages"), "the 7-day retention took the rest");
  }

  @Test
  void theNodeSweepsOnItsOwn() throws Exception {
    // 31 days on, the one-day-old message is past a 30-day retention too; the queued one still stays
    Clock later = Clock.fixed(NOW.plus(Duration.ofDays(31)), ZoneOffset.UTC);
    MailgateConfig config = MailgateConfig.defaults().with(MailgateConfig.PG_URL, url);
    await(vertx.deployVerticle(new RetentionVerticle(config, later, 10)));
    Await.until(() -> count("SELECT count(*) FROM messages"), n -> n == 1, Duration.ofSeconds(20));
    assertEquals(1, count("SELECT count(*) FROM messages WHERE id = '" + oldQueued + "'"));
    assertEquals(0, count("SELECT count(*) FROM inbound_feedback"));
  }

  @Test
  void zeroDaysKeepsEverythingAndANegativeValueIsRefused() throws Exception {
    Clock later = Clock.fixed(NOW.plus(Duration.ofDays(365)), ZoneOffset.UTC);
    MailgateConfig keep = MailgateConfig.defaults().with(MailgateConfig.PG_URL, url)
        .with(MailgateConfig.RETENTION_DAYS, 0);
    Db.execute(url, "INSERT INTO received_messages (account_id, message_id, reverse_path, recipients, headers, "
        + "received_at) VALUES ('a1', '" + ReceivedMessages.timePrefix(NOW.toEpochMilli()) + "m', 'a@x.example', "
        + "'{b@y.example}', 'H', now())");
    await(vertx.deployVerticle(new RetentionVerticle(keep, later, 10)));
    // what SendBounce keeps goes after its day whatever the retention: the sweep runs all the same
    Await.until(() -> count("SELECT count(*) FROM received_messages"), n -> n == 0, Duration.ofSeconds(20));
    assertEquals(29, count("SELECT count(*) FROM messages"));

    ConfigException e = assertThrows(ConfigException.class,
        () -> MailgateConfig.load(null, Map.of(MailgateConfig.RETENTION_DAYS.envName(), "-1")));
    assertEquals("invalid value for retention.days (MAILGATE_RETENTION_DAYS): '-1' is not an Integer of 0 or more",
        e.getMessage());
    MailgateConfig negative = MailgateConfig.defaults().with(MailgateConfig.RETENTION_DAYS, -1);
    assertThrows(ConfigException.class, () -> RetentionVerticle.days(negative), "set in code, checked all the same");
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.await(20, TimeUnit.SECONDS);
  }
}
