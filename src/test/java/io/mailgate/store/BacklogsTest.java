package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The metrics' backlog counts on tables as a busy node leaves them between two vacuums (none here: a new database,
 * never analyzed): recipients delivered while still leased ahead (the dead index entries no claim reads), events
 * posted and deleted.
 */
class BacklogsTest extends MigratedDatabase {
  @BeforeAll
  static void setUp() {
    open(2);
    // no analyze under way while a count passes the dead rows: its snapshot would keep them visible, not dead to all
    Db.execute(url, "ALTER TABLE recipients SET (autovacuum_enabled = false)");
    Db.execute(url, "ALTER TABLE event_outbox SET (autovacuum_enabled = false)");
    // live: two recipients due, three in flight under a lease, one retry later; two events and one receipt waiting
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, lease_owner, "
        + "lease_until, updated_at) SELECT 'live' || i, 0, 'r' || i || '@example.org', 'queued', "
        + "now() + CASE WHEN i = 6 THEN interval '1 hour' ELSE interval '0' END, "
        + "CASE WHEN i BETWEEN 3 AND 5 THEN 'node-b/1' END, "
        + "CASE WHEN i BETWEEN 3 AND 5 THEN now() + interval '5 minutes' END, now() FROM generate_series(1, 6) i");
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at) "
        + "VALUES ('sent', 0, 'd@example.org', 'delivered', now(), now()), ('gone', 0, 'b@example.org', 'bounced', "
        + "now(), now())");
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "SELECT 1, 'e' || g, 'Send', '{}', now(), now() FROM generate_series(1, 2) g");
    Db.execute(url, "INSERT INTO receipt_outbox (account_id, url, message_id, body, created_at, next_attempt_at) "
        + "VALUES ('a1', 'http://127.0.0.1:9/hook', 'm1', '{}', now(), now())");
  }

  @Test
  void eachBacklogIsCountedUpToTheCap() throws Exception {
    assertEquals(new Backlogs.Counts(6, 2, 1), await(Backlogs.count(pool, 100_000)));
    assertEquals(new Backlogs.Counts(4, 2, 1), await(Backlogs.count(pool, 4)));
    assertEquals(new Backlogs.Counts(1, 1, 1), await(Backlogs.count(pool, 1)));
  }

  /**
   * 20,000 recipients accepted, leased ahead to the node delivering them and delivered (as a node's hand-off leaves
   * them: their dead entries lie beyond now() in the claims' order, where no claim reads them), 5,000 events posted
   * and deleted: the first count reads every dead entry's row once, the next one passes them without reading the
   * table. A bitmap scan read them all again at every count.
   */
  @Test
  void aCountReadsADeadEntryOnce() throws Exception {
    leaveDeadEntries("done");
    long first = heapFetches(plan());
    long second = heapFetches(plan());
    assertTrue(first >= 25_000, "the first count read " + first + " rows");
    // the live rows (nine, their pages not marked all-visible by a vacuum), and any row still visible to a
    // transaction under way when the count passed it
    assertTrue(second < first / 10, "the second count read " + second + " rows (the first: " + first + ")");
    assertEquals(new Backlogs.Counts(6, 2, 1), await(Backlogs.count(pool, 100_000)));
  }

  private static void leaveDeadEntries(String prefix) {
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, lease_owner, "
        + "lease_until, updated_at) SELECT '" + prefix + "' || i, 0, 'x' || i || '@example.org', 'queued', now(), "
        + "'node-a/1', now() + interval '5 minutes', now() FROM generate_series(1, 20000) i");
    Db.execute(url, "UPDATE recipients SET state = 'delivered' WHERE message_id LIKE '" + prefix + "%'");
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "SELECT 2, '" + prefix + "' || g, 'Send', '{}', now(), now() FROM generate_series(1, 5000) g");
    Db.execute(url, "DELETE FROM event_outbox WHERE destination_id = 2");
  }

  /** The count's plan, run ({@code EXPLAIN ANALYZE}): the node's count, planned as it plans it. */
  private static JsonObject plan() throws Exception {
    return await(Backlogs.read(pool, "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) ", 100_000).map(rows -> {
      Object json = rows.iterator().next().getValue(0);
      JsonArray a = json instanceof JsonArray arr ? arr : new JsonArray(json.toString());
      return a.getJsonObject(0).getJsonObject("Plan");
    }));
  }

  /** The table rows a plan's index-only scans read (no other scan may be taken: no bitmap, no sequential scan). */
  private static long heapFetches(JsonObject node) {
    assertTrue(!node.containsKey("Relation Name") || node.getString("Node Type").equals("Index Only Scan"),
        node.encode());
    long n = node.getLong("Heap Fetches", 0L);
    JsonArray plans = node.getJsonArray("Plans");
    if (plans != null) {
      for (int i = 0; i < plans.size(); i++) {
        n += heapFetches(plans.getJsonObject(i));
      }
    }
    return n;
  }
}
