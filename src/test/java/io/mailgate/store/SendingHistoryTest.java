package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.send.MessageIds;
import io.mailgate.testing.Db;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What the rate limiter counts again from when Redis lost its 24-hour counts. */
class SendingHistoryTest extends MigratedDatabase {
  private static final Instant NOW = Instant.now();
  /** Where the first slice of the day ends and the second begins. */
  private static final Instant EDGE = NOW.minus(SendingHistory.WINDOW)
      .plusMillis(SendingHistory.WINDOW.toMillis() / SendingHistory.SLICES);

  @BeforeAll
  static void setUp() throws Exception {
    open(2);
    // a month of older messages and their recipients, which the count must not read, then the last day's
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) "
        + "SELECT '" + MessageIds.prefix(NOW.minus(Duration.ofDays(30))) + "-' || i, 'a1', 's@example.com', "
        + "'s@example.com', 'x', 1, now() - interval '30 days' FROM generate_series(1, 20000) i");
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at) "
        + "SELECT id, 0, 'old@example.org', 'delivered', now(), now() FROM messages");
    message("yesterday", "a1", NOW.minus(Duration.ofHours(25)), "r1@example.org");
    message("hour-ago", "a1", NOW.minus(Duration.ofHours(1)), "r1@example.org", "r2@example.org",
        "success@SIMULATOR.amazonses.com");
    message("now", "a1", NOW, "r3@example.org");
    // through the day: counted a slice at a time, each slice's messages once
    message("early", "a3", NOW.minus(Duration.ofHours(23).plusMinutes(59)), "r8@example.org");
    message("midday", "a3", NOW.minus(Duration.ofHours(12)), "r9@example.org", "r10@example.org");
    message("midday-2", "a3", NOW.minus(Duration.ofHours(12)).plusMillis(1), "r11@example.org");
    // either side of two slices' edge, in one five-minute bucket: that bucket's count is both slices'
    message("edge-1", "a3", EDGE.minusMillis(1), "r13@example.org");
    message("edge-2", "a3", EDGE, "r14@example.org");
    // stamped ahead of this node's clock (another node's clock ahead of it): counted in the last, open, hour
    message("ahead", "a3", NOW.plus(Duration.ofMinutes(10)), "r12@example.org");
    message("other", "a2", NOW, "r4@example.org", "r5@example.org");
    // a template that could not be rendered: nothing sent, nothing counted (as the live check: a quota cost of 0)
    messageIn("rendering_failed", "unrendered", "a2", NOW, "r6@example.org", "r7@example.org");
  }

  private static void message(String name, String account, Instant at, String... recipients) {
    messageIn("delivered", name, account, at, recipients);
  }

  private static void messageIn(String state, String name, String account, Instant at, String... recipients) {
    String id = MessageIds.prefix(at) + "-" + name;
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) VALUES ('"
        + id + "', '" + account + "', 's@example.com', 's@example.com', 'x', 1, '" + at + "')");
    for (int i = 0; i < recipients.length; i++) {
      Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at) VALUES ('"
          + id + "', " + i + ", '" + recipients[i] + "', '" + state + "', now(), now())");
    }
  }

  @Test
  void theLastDaysRecipientsByAccountAndBucketWithoutTheSimulatorOrUnrendered() throws Exception {
    AtomicInteger parts = new AtomicInteger();
    Map<String, Map<Long, Long>> sent = await(new SendingHistory(pool, Clock.fixed(NOW, ZoneOffset.UTC))
        .sentLastDay(() -> {
          parts.incrementAndGet();
          return Future.succeededFuture();
        }));
    assertEquals(expected(), sent);
    // a quiet day is a statement a slice: not one per five minutes (289 in a row), nothing between them
    assertEquals(0, parts.get());
  }

  /**
   * A busy day is walked along the key a bounded number of messages a statement (no statement outlasts its timeout),
   * each message counted once, and the count is told between two statements of a slice, so that its lock is held on.
   */
  @Test
  void aBusyDayIsReadAFewMessagesAStatement() throws Exception {
    AtomicInteger parts = new AtomicInteger();
    Map<String, Map<Long, Long>> sent = await(new SendingHistory(pool, Clock.fixed(NOW, ZoneOffset.UTC), 3, 2)
        .sentLastDay(() -> {
          parts.incrementAndGet();
          return Future.succeededFuture();
        }));
    assertEquals(expected(), sent);
    // ten messages of the last day (the unrendered and the simulator's among them) in three slices of 2, 3 and 5, two
    // a statement: a slice of k messages is told k / 2 times
    assertEquals(1 + 1 + 2, parts.get());
  }

  /** A count that is told it must stop (its lock ran out) stops, and says why. */
  @Test
  void aCountToldToStopFails() throws Exception {
    Throwable stopped = await(new SendingHistory(pool, Clock.fixed(NOW, ZoneOffset.UTC), 3, 2)
        .sentLastDay(() -> Future.failedFuture("lock lost"))
        .transform(ar -> Future.succeededFuture(ar.cause())));
    assertTrue(stopped != null && stopped.getMessage().contains("lock lost"), String.valueOf(stopped));
  }

  private static Map<String, Map<Long, Long>> expected() {
    long hourAgo = NOW.minus(Duration.ofHours(1)).getEpochSecond() / 300;
    long now = NOW.getEpochSecond() / 300;
    Map<Long, Long> a1 = new java.util.HashMap<>(Map.of(hourAgo, 2L));
    a1.merge(now, 1L, Long::sum);
    Map<Long, Long> a3 = new java.util.HashMap<>();
    a3.merge(NOW.minus(Duration.ofHours(23).plusMinutes(59)).getEpochSecond() / 300, 1L, Long::sum);
    a3.merge(NOW.minus(Duration.ofHours(12)).getEpochSecond() / 300, 2L, Long::sum);
    a3.merge(NOW.minus(Duration.ofHours(12)).plusMillis(1).getEpochSecond() / 300, 1L, Long::sum);
    a3.merge(NOW.plus(Duration.ofMinutes(10)).getEpochSecond() / 300, 1L, Long::sum);
    a3.merge(EDGE.minusMillis(1).getEpochSecond() / 300, 1L, Long::sum);
    a3.merge(EDGE.getEpochSecond() / 300, 1L, Long::sum);
    return Map.of("a1", a1, "a2", Map.of(now, 2L), "a3", a3);
  }

  @Test
  void theLastDayIsFoundByTheIdsTimeNotByReadingEveryMessage() throws Exception {
    String since = MessageIds.prefix(NOW.minus(SendingHistory.WINDOW));
    String plan = plan(SendingHistory.SENT, Tuple.of("simulator.amazonses.com", since, MessageIds.prefix(EDGE),
        SendingHistory.MESSAGES_PER_STATEMENT));
    assertTrue(plan.contains("Index Cond: ((id > "), plan);
    assertTrue(plan.contains("AND (id < "), plan);
    assertTrue(plan.contains("Limit"), plan);
    assertTrue(plan.contains("Index Cond: (message_id = messages.id)"), plan);
    assertFalse(plan.contains("Seq Scan"), plan);
    String last = plan(SendingHistory.SENT_SINCE, Tuple.of("simulator.amazonses.com", since,
        SendingHistory.MESSAGES_PER_STATEMENT));
    assertTrue(last.contains("Index Cond: (id > "), last);
    assertTrue(last.contains("Limit"), last);
    assertFalse(last.contains("Seq Scan"), last);
  }

  private static String plan(String sql, Tuple args) throws Exception {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery("EXPLAIN " + sql).execute(args)
            .map(rows -> {
              StringBuilder b = new StringBuilder();
              for (Row r : rows) {
                b.append(r.getString(0)).append('\n');
              }
              return b.toString();
            }))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
