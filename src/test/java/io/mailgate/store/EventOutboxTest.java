package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The event outbox's claim on a table as a publisher that fell behind leaves it: thousands of events due, thousands
 * claimed and posted since the last vacuum (dead index entries), no statistics yet. Planned as the planner likes
 * there, the claim read every due event of a destination and sorted them for each 128 it took: the further behind,
 * the slower (35 ms per claim with 12,000 waiting in the benchmark's events scenario). Every test here reads the data
 * and changes none of it (the plans as run are rolled back); what a claim takes and leases is EventOutboxClaimTest's,
 * on a database of its own.
 */
class EventOutboxTest extends MigratedDatabase {

  @BeforeAll
  static void setUp() throws Exception {
    open(2);
    busyAndQuietDestinations(url);
    // 20,000 events posted and deleted (dead entries), 12,000 due for the busy destination, 3 for the quiet one
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "SELECT 1, 'gone' || i, 'Send', '{}', now(), now() - interval '2 hours' FROM generate_series(1, 20000) i");
    Db.execute(url, "DELETE FROM event_outbox");
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "SELECT 1, 'm' || i, 'Send', '{}', now(), now() - interval '1 hour' + i * interval '1 ms' "
        + "FROM generate_series(1, 12000) i");
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "VALUES (2, 'q1', 'Send', '{}', now(), now() - interval '1 minute'), "
        + "(2, 'q2', 'Send', '{}', now(), now() - interval '2 minutes'), "
        + "(2, 'later', 'Send', '{}', now(), now() + interval '1 hour')");
    // and 2,000 destinations with nothing waiting (configuration sets and identity topics that are quiet)
    Db.execute(url, "INSERT INTO event_destinations (id, account_id, configuration_set, name, enabled, event_types, url) "
        + "SELECT 100 + i, 'a1', 'cs', 'idle' || i, true, '{Send}', 'http://127.0.0.1:1/idle' "
        + "FROM generate_series(1, 2000) i");
    // the statistics as autovacuum would leave them, now: an autoanalyze that came (or not) while the plans were
    // read made the planner's choice depend on the machine's load
    Db.execute(url, "ANALYZE event_outbox, event_destinations");
  }

  /** Account a1's configuration set cs with two webhook destinations: 1 "busy" and 2 "quiet". */
  static void busyAndQuietDestinations(String url) throws Exception {
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
    Db.execute(url, "INSERT INTO configuration_sets (account_id, name) VALUES ('a1', 'cs')");
    Db.execute(url, "INSERT INTO event_destinations (id, account_id, configuration_set, name, enabled, event_types, url) "
        + "VALUES (1, 'a1', 'cs', 'busy', true, '{Send}', 'http://127.0.0.1:1/busy'), "
        + "(2, 'a1', 'cs', 'quiet', true, '{Send}', 'http://127.0.0.1:1/quiet')");
  }

  @Test
  void aClaimLooksOnlyAtTheDestinationsWithEventsWaiting() throws Exception {
    String plan = explainAnalyzed(EventOutbox.CLAIM, Tuple.of(512, 70, 128, new Long[0]));
    // what it claimed: 128 of the busy destination (its share), the quiet one's 2 due
    assertTrue(plan.startsWith("Update on event_outbox o (actual rows=130 loops=1)"), plan);
    Matcher scan = Pattern.compile(
        "using (event_outbox_destination|event_destinations_pkey) .*rows=(\\d+) loops=(\\d+)").matcher(plan);
    int scans = 0;
    while (scan.find()) {
      scans++;
      // two destinations have events: a few index descents to find them, one probe of each; not one per destination,
      // nor one scan reading them all
      assertTrue(Integer.parseInt(scan.group(3)) <= 4, plan);
      if (scan.group(1).equals("event_destinations_pkey")) {
        assertTrue(Integer.parseInt(scan.group(2)) <= 1, plan);
      }
    }
    assertTrue(scans >= 2, plan);
  }

  @Test
  void theClaimReadsEachDestinationsQueueInOrderAndOnlyAsFarAsItTakes() throws Exception {
    String plan = explain(EventOutbox.CLAIM, Tuple.of(512, 70, 128, new Long[0]));
    assertFalse(plan.contains("Bitmap"), plan);
    assertFalse(plan.contains("Seq Scan on event_outbox"), plan);
    // the one sort is of what the destinations' scans took (at most 128 each), across destinations
    assertEquals(1, plan.split("Sort Key").length - 1, plan);
    assertTrue(plan.contains("Index Scan using event_outbox_destination"), plan);
  }

  @Test
  void theMailObjectsAreReadByKey() throws Exception {
    String plan = explain(EventOutbox.MAILS, Tuple.of((Object) new String[] {"m1", "m2"}));
    assertFalse(plan.contains("Bitmap"), plan);
    assertFalse(plan.contains("Sort"), plan);
  }

  @Test
  void theOtherOutboxesAreClaimedAlike() throws Exception {
    String receipts = explain(ReceiptOutbox.CLAIM, Tuple.of(64, 70).addArrayOfString(new String[0]));
    assertTrue(receipts.contains("Index Scan using receipt_outbox_due"), receipts);
    String forwards = explain(FeedbackForwards.CLAIM, Tuple.of(64, 70));
    assertTrue(forwards.contains("Index Scan using feedback_forwards_due"), forwards);
    for (String plan : List.of(receipts, forwards)) {
      assertFalse(plan.contains("Bitmap"), plan);
      assertFalse(plan.contains("Seq Scan"), plan);
    }
  }

  /** The plan of {@code sql} as it ran, in a transaction rolled back: what it claims is not leased. */
  private static String explainAnalyzed(String sql, Tuple args) throws Exception {
    return await(pool.getConnection().compose(conn -> conn.begin()
        .compose(tx -> conn.query(Database.INDEX_SCAN_ONLY).execute()
            .compose(v -> conn.preparedQuery("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql).execute(args))
            .map(EventOutboxTest::text)
            .eventually(() -> tx.rollback()))
        .eventually(() -> conn.close())));
  }

  private static String text(RowSet<Row> rows) {
    StringBuilder b = new StringBuilder();
    for (Row r : rows) {
      b.append(r.getString(0)).append('\n');
    }
    return b.toString();
  }

  private static String explain(String sql, Tuple args) throws Exception {
    return await(Database.indexScansOnly(pool, conn -> conn.preparedQuery("EXPLAIN " + sql).execute(args)
        .map(EventOutboxTest::text)));
  }

}
