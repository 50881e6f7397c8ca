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
  private static final Instant EDGE = NOW.minus(SendingHistory.WINDOW).plus(SendingHistory.CHUNK.multipliedBy(100));

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
    // through the day: counted five minutes at a time, each part's messages once
    message("early", "a3", NOW.minus(Duration.ofHours(23).plusMinutes(59)), "r8@example.org");
    message("midday", "a3", NOW.minus(Duration.ofHours(12)), "r9@example.org", "r10@example.org");
    message("midday-2", "a3", NOW.minus(Duration.ofHours(12)).plusMillis(1), "r11@example.org");
    // either side of two parts' edge, in one five-minute bucket: that bucket's count is both parts'
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
    Map<String, Map<Long, Long>> sent = new SendingHistory(pool, Clock.fixed(NOW, ZoneOffset.UTC))
        .sentLastDay(() -> {
          parts.incrementAndGet();
          return Future.succeededFuture();
        })
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
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
    assertEquals(Map.of("a1", a1, "a2", Map.of(now, 2L), "a3", a3), sent);
    // a day and five minutes, five minutes a statement: told between each two
    assertEquals(288, parts.get());
  }

  @Test
  void theLastDayIsFoundByTheIdsTimeNotByReadingEveryMessage() throws Exception {
    String since = MessageIds.prefix(NOW.minus(SendingHistory.WINDOW));
    String plan = plan(SendingHistory.SENT, Tuple.of("simulator.amazonses.com", since,
        MessageIds.prefix(NOW.minus(SendingHistory.WINDOW).plus(SendingHistory.CHUNK))));
    assertTrue(plan.contains("Index Cond: ((id >= "), plan);
    assertTrue(plan.contains("AND (id < "), plan);
    assertTrue(plan.contains("Index Cond: (message_id = m.id)"), plan);
    assertFalse(plan.contains("Seq Scan"), plan);
    String last = plan(SendingHistory.SENT_SINCE, Tuple.of("simulator.amazonses.com", since));
    assertTrue(last.contains("Index Cond: (id >= "), last);
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
