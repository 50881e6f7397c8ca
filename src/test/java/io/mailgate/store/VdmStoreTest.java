package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.send.MessageIds;
import io.mailgate.store.VdmStore.Filter;
import io.mailgate.store.VdmStore.Group;
import io.mailgate.store.VdmStore.Metric;
import io.mailgate.store.VdmStore.Point;
import io.mailgate.testing.Db;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * VDM's daily metrics computed from messages as stored: what counts for each metric and what does not (several
 * recipients, the mailbox simulator, a template not rendered, another day, another account, the account's suppression
 * list, an unconfirmed complaint), read in statements of a few messages each; the day's lease and its fence; the sums
 * BatchGetMetricData reads, by dimension.
 */
class VdmStoreTest extends MigratedDatabase {
  static final LocalDate DAY = LocalDate.of(2026, 11, 20);
  static final Instant START = DAY.atStartOfDay(ZoneOffset.UTC).toInstant();
  static int n;

  @BeforeAll
  static void setUp() {
    open(2);
    // a1 sends through example.com (its domain identity) and sender@example.com (an address identity)
    String m1 = message("a1", START.plusSeconds(60), "example.com", "news", 3, "delivered", "Reader@GMail.com");
    Db.execute(url, "INSERT INTO tracking_counts (message_id, type, n) VALUES (?, 'Open', 2), (?, 'Click', 1)", m1,
        m1);
    String m2 = message("a1", START.plusSeconds(120), null, null, null, "delivered", "x@yahoo.com");
    event(m2, "Complaint", "{\"complaintSubType\": null}", false);
    String m3 = message("a1", START.plusSeconds(180), "sender@example.com", null, 1, "bounced", "nobody@example.org");
    event(m3, "Bounce", "{\"bounceType\": \"Permanent\", \"bounceSubType\": \"General\"}", false);
    String m4 = message("a1", START.plusSeconds(240), "example.com", null, null, "bounced", "listed@example.org");
    event(m4, "Bounce", "{\"bounceType\": \"Permanent\", \"bounceSubType\": \"OnAccountSuppressionList\"}", false);
    String m5 = message("a1", START.plusSeconds(300), "example.com", null, null, "bounced", "full@example.org");
    event(m5, "Bounce", "{\"bounceType\": \"Transient\", \"bounceSubType\": \"MailboxFull\"}", false);
    String m6 = message("a1", START.plusSeconds(360), "example.com", null, null, "delivered", "who@example.org");
    event(m6, "Complaint", "{\"complaintSubType\": null}", true);
    String m7 = message("a1", START.plusSeconds(420), "example.com", null, null, "bounced", "was@example.org");
    event(m7, "Complaint", "{\"complaintSubType\": \"OnAccountSuppressionList\"}", false);
    // the last millisecond of the day counts; opened twice (two tracking rows' worth) is one open
    String last = message("a1", START.plusSeconds(86_400).minusMillis(1), "example.com", "news", 1, "delivered",
        "late@hotmail.fr");
    Db.execute(url, "INSERT INTO tracking_counts (message_id, type, n) VALUES (?, 'Open', 5)", last);

    // none of these count
    message("a1", START.plusSeconds(500), "example.com", null, null, "delivered", "one@example.org",
        "two@example.org");
    message("a1", START.plusSeconds(560), "example.com", null, null, "delivered",
        "success@SIMULATOR.amazonses.com");
    message("a1", START.plusSeconds(620), "example.com", null, null, "rendering_failed", "r@example.org");
    message("a1", START.minusMillis(1), "example.com", null, null, "delivered", "before@example.org");
    message("a1", START.plusSeconds(86_400), "example.com", null, null, "delivered", "after@example.org");
    message("a2", START.plusSeconds(60), "other.example", null, null, "delivered", "r@gmail.com");
  }

  /** A message of {@code account} at {@code at}, its recipients in {@code state}: its id. */
  static String message(String account, Instant at, String identity, String set, Integer trackers, String state,
      String... recipients) {
    String id = MessageIds.prefix(at) + "-m" + (n++);
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at, "
        + "identity_name, configuration_set, trackers) VALUES (?, ?, 'Bob@Example.COM', 'b@example.com', 'x', 1, '"
        + at + "', ?, ?, " + trackers + ")", id, account, identity, set);
    for (int i = 0; i < recipients.length; i++) {
      Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at, "
          + "delivered_at) VALUES (?, " + i + ", ?, ?, now(), now(), "
          + (state.equals("delivered") ? "'" + at.plusSeconds(1) + "'" : "NULL") + ")", id, recipients[i], state);
    }
    return id;
  }

  static void event(String messageId, String type, String detail, boolean unconfirmed) {
    Db.execute(url, "INSERT INTO events (message_id, account_id, type, detail, created_at, unconfirmed) "
        + "VALUES (?, 'a1', ?, '" + detail + "'::jsonb, now(), " + unconfirmed + ")", messageId, type);
  }

  /** The rows of {@code account}'s day. */
  static long rows(String account, LocalDate day) {
    return Db.count(url, "SELECT count(*) FROM vdm_metrics WHERE account_id = '" + account + "' AND day = '" + day
        + "'");
  }

  /** The counts in {@link Metric}'s order. */
  static long[] counts(long send, long delivery, long permanent, long transientBounces, long complaint, long open,
      long click, long deliveryOpen, long deliveryClick, long deliveryComplaint) {
    return new long[] {send, delivery, permanent, transientBounces, complaint, open, click, deliveryOpen,
        deliveryClick, deliveryComplaint};
  }

  static final Map<Group, long[]> EXPECTED = Map.of(
      new Group("a1", "example.com", "news", "Gmail"), counts(1, 1, 0, 0, 0, 1, 1, 1, 1, 0),
      new Group("a1", "example.com", "", "Yahoo"), counts(1, 1, 0, 0, 1, 0, 0, 0, 0, 1),
      new Group("a1", "sender@example.com", "", "Other"), counts(1, 0, 1, 0, 0, 0, 0, 0, 0, 0),
      // listed@ (the suppression list's bounce), full@ (transient), who@ (unconfirmed), was@ (the list's complaint)
      new Group("a1", "example.com", "", "Other"), counts(4, 1, 0, 1, 0, 0, 0, 0, 0, 0),
      new Group("a1", "example.com", "news", "Outlook"), counts(1, 1, 0, 0, 0, 1, 0, 1, 0, 1));

  @Test
  void eachMetricCountsWhatSesCountsInStatementsOfAFewMessages() throws Exception {
    for (int perStatement : new int[] {2, 3, VdmStore.MESSAGES_PER_STATEMENT}) {
      Map<Group, long[]> counted = await(new VdmStore(pool, perStatement).count(DAY, List.of("a1")));
      assertEquals(EXPECTED.keySet(), counted.keySet(), "per statement " + perStatement);
      EXPECTED.forEach((g, expected) -> assertArrayEquals(expected, counted.get(g), g + ", per statement "
          + perStatement));
    }
    assertTrue(await(new VdmStore(pool).count(DAY, List.of())).isEmpty());
    assertTrue(await(new VdmStore(pool).count(DAY.plusDays(5), List.of("a1"))).isEmpty());
  }

  /**
   * A statement reads a bounded number of messages of any account, not of the accounts counted: where those send a
   * small share of the day, a limit on theirs alone would read the rest of the day in one statement.
   */
  @Test
  void eachStatementReadsABoundedNumberOfMessagesOfAnyAccount() throws Exception {
    long read = Db.count(url, "SELECT count(*) FROM messages WHERE created_at >= '" + START + "' AND created_at < '"
        + START.plusSeconds(86_400) + "'");
    long inA1 = Db.count(url, "SELECT count(*) FROM messages WHERE account_id = 'a1' AND created_at >= '" + START
        + "' AND created_at < '" + START.plusSeconds(86_400) + "'");
    assertTrue(read / 2 != inA1 / 2, "the day's messages tell the two limits apart");
    AtomicInteger statementsAfterTheFirst = new AtomicInteger();
    Map<Group, long[]> counted = await(new VdmStore(pool, 2).count(DAY, List.of("a1"), () -> {
      statementsAfterTheFirst.incrementAndGet();
      return io.vertx.core.Future.succeededFuture(true);
    }));
    assertEquals(EXPECTED.keySet(), counted.keySet());
    // a statement of two, then one each two more read: the last one reads fewer than two (none, or one)
    assertEquals(read / 2, statementsAfterTheFirst.get());
  }

  /** A node whose lease ran out, and which another node took over, stops reading and writes nothing. */
  @Test
  void aNodeWhoseLeaseWasTakenOverStopsReading() throws Exception {
    LocalDate day = DAY;
    Instant now = Instant.now();
    assertTrue(await(new VdmStore(pool).claim(day, "node-1", 1, now)));
    Thread.sleep(1_200);
    assertTrue(await(new VdmStore(pool).claim(day, "node-2", 60, now)), "node-1's lease ran out");
    Exception lost = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
        () -> await(new VdmStore(pool, 2).count(day, List.of("a1"), "node-1", 60)));
    assertTrue(lost.getCause() instanceof VdmStore.LeaseLost, String.valueOf(lost.getCause()));
    // node-2's reads renew its own lease
    Map<Group, long[]> counted = await(new VdmStore(pool, 2).count(day, List.of("a1"), "node-2", 60));
    assertEquals(EXPECTED.keySet(), counted.keySet());
    assertEquals(1, Db.count(url, "SELECT count(*) FROM vdm_days WHERE day = '" + day + "' AND lease_owner = 'node-2' "
        + "AND lease_until > now() + interval '50 seconds'"));
    assertFalse(await(new VdmStore(pool).replace(day, "node-1", List.of("a1"), counted, now)));
    // (no rows written: the other tests read sums over this day's neighbours)
    assertTrue(await(new VdmStore(pool).replace(day, "node-2", List.of("a1"), Map.of(), now)));
  }

  /**
   * A batch of series is read from one snapshot: while a day's rows are replaced again and again (every metric 1, then
   * every metric 2, ...), each batch has every metric of one computation, never some of the old and some of the new.
   */
  @Test
  void aBatchOfSeriesIsReadFromOneSnapshot() throws Exception {
    VdmStore store = new VdmStore(pool);
    LocalDate day = DAY.plusDays(10);
    Group group = new Group("a3", "x.example", "", "Gmail");
    List<VdmStore.Series> batch = Arrays.stream(Metric.values())
        .map(m -> new VdmStore.Series(m, day, day, Filter.NONE)).toList();
    AtomicBoolean writing = new AtomicBoolean(true);
    CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
      int n = 0;
      try {
        while (writing.get()) {
          long v = 1 + n % 2;
          long[] all = new long[Metric.values().length];
          Arrays.fill(all, v);
          Instant now = Instant.now();
          assertTrue(await(store.claim(day, "node-1", 60, now.plusSeconds(3_600))));
          assertTrue(await(store.replace(day, "node-1", List.of("a3"), Map.of(group, all), now)));
          n++;
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return n;
    });
    try {
      for (int i = 0; i < 300; i++) {
        List<List<Point>> read = await(store.series("a3", batch));
        assertEquals(batch.size(), read.size());
        Set<List<Point>> seen = new HashSet<>(read);
        assertEquals(1, seen.size(), "read " + i + ": " + read);
      }
    } finally {
      writing.set(false);
    }
    assertTrue(writer.get(30, TimeUnit.SECONDS) > 10, "the day was rewritten while read");
  }

  @Test
  void aDayIsComputedByTheNodeHoldingItsLeaseAndSummedByDimension() throws Exception {
    VdmStore store = new VdmStore(pool);
    LocalDate day = DAY.minusDays(3);
    Instant now = Instant.now();
    assertTrue(await(store.claim(day, "node-1", 60, now)));
    assertFalse(await(store.claim(day, "node-2", 60, now)), "held by node-1");
    // another account's rows of the day, which a1's computation leaves alone
    Db.execute(url, "INSERT INTO vdm_metrics VALUES ('a2', ?, 'x.example', '', 'Gmail', 9, 9, 0, 0, 0, 0, 0, 0, 0, 0)",
        day);
    Map<Group, long[]> counts = await(store.count(DAY, List.of("a1")));
    assertFalse(await(store.replace(day, "node-2", List.of("a1"), counts, now)), "node-2 holds no lease");
    assertEquals(0, rows("a1", day));
    assertTrue(await(store.replace(day, "node-1", List.of("a1"), counts, now)));
    assertEquals(5, rows("a1", day));
    assertFalse(await(store.replace(day, "node-1", List.of("a1"), counts, now)), "done: the lease is gone");

    // computed at `now`: not due again before then, due after
    assertFalse(await(store.claim(day, "node-2", 60, now.minusSeconds(1))));
    assertTrue(await(store.claim(day, "node-2", 60, now.plusSeconds(1))));
    await(store.release(day, "node-2"));
    assertTrue(await(store.claim(day, "node-1", 60, now.plusSeconds(1))), "released: free at once");

    LocalDate other = day.plusDays(1);
    assertEquals(List.of(new Point(day, 8)), await(store.series("a1", Metric.SEND, other.minusDays(9), other,
        Filter.NONE)));
    assertEquals(List.of(), await(store.series("a1", Metric.SEND, other, other.plusDays(9), Filter.NONE)));
    assertEquals(List.of(new Point(day, 1)), await(store.series("a1", Metric.DELIVERY_COMPLAINT, day, day,
        new Filter(null, null, List.of("yahoo")))), "ISP names in any case");
    assertEquals(List.of(new Point(day, 2)), await(store.series("a1", Metric.DELIVERY, day, day,
        new Filter(null, null, List.of("Gmail", "Outlook")))));
    assertEquals(List.of(new Point(day, 1)), await(store.series("a1", Metric.PERMANENT_BOUNCE, day, day,
        new Filter(List.of("Sender@Example.com"), null, null))));
    assertEquals(List.of(new Point(day, 2)), await(store.series("a1", Metric.OPEN, day, day,
        new Filter(List.of("example.com"), List.of("news"), null))));
    assertEquals(List.of(new Point(day, 0)), await(store.series("a1", Metric.CLICK, day, day,
        new Filter(null, List.of("news"), List.of("Outlook")))), "a day with rows and none of the metric is a 0");
    assertEquals(List.of(), await(store.series("a1", Metric.SEND, day, day,
        new Filter(null, List.of("NEWS"), null))), "configuration set names as given");
    assertEquals(List.of(new Point(day, 9)), await(store.series("a2", Metric.SEND, day, day, Filter.NONE)));

    // computed again with nothing: a1's rows of the day go, a2's stay
    assertTrue(await(store.replace(day, "node-1", List.of("a1"), Map.of(), now.plusSeconds(2))));
    assertEquals(0, rows("a1", day));
    assertEquals(1, rows("a2", day));
  }
}
