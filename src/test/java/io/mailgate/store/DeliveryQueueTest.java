package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.delivery.DeliveryJob;
import io.mailgate.testing.Db;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The queue scan on a table as a busy node leaves it: many recipients delivered since the last vacuum (dead entries
 * in the queue index) and no statistics yet (never analyzed: a new database, or autovacuum off), where the planner
 * would read the due rows with a bitmap scan.
 */
class DeliveryQueueTest extends MigratedDatabase {
  private static final String OWNER = "node-a/1";

  @BeforeAll
  static void setUp() throws Exception {
    open(2);
    // 20,000 recipients queued, then delivered: 20,000 dead queue-index entries
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at) "
        + "SELECT 'old' || i, 0, 'r' || i || '@example.org', 'queued', now() - interval '1 hour', now() "
        + "FROM generate_series(1, 20000) i");
    Db.execute(url, "UPDATE recipients SET state = 'delivered'");
    // 20,000 recipients in flight on another node: due since their acceptance, under a live lease
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, lease_owner, lease_until, "
        + "updated_at) SELECT 'busy' || i, 0, 'b' || i || '@example.org', 'queued', now() - interval '1 minute', "
        + "'node-b/1', now() + interval '5 minutes', now() FROM generate_series(1, 20000) i");
    for (String id : List.of("due", "leased", "expired", "mine-before-restart", "later")) {
      Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) "
          + "VALUES ('" + id + "', 'a1', 's@example.com', 's@example.com', 'x', 1, now())");
    }
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, lease_owner, "
        + "lease_until, updated_at) VALUES "
        + "('due', 0, 'due@example.org', 'queued', now() - interval '1 minute', NULL, NULL, now()), "
        + "('leased', 0, 'leased@example.org', 'queued', now() - interval '1 minute', 'node-b/1', "
        + "  now() + interval '5 minutes', now()), "
        + "('expired', 0, 'expired@example.org', 'queued', now() - interval '10 minutes', 'node-b/1', "
        + "  now() - interval '1 minute', now()), "
        + "('mine-before-restart', 0, 'mine@example.org', 'queued', now() - interval '1 minute', 'node-a/0', "
        + "  now() + interval '5 minutes', now()), "
        + "('later', 0, 'later@example.org', 'queued', now() + interval '1 hour', NULL, NULL, now())");
  }

  @Test
  void theScanWalksTheQueueIndexInOrderRatherThanRereadingEveryDeadRow() throws Exception {
    String plan = plan("EXPLAIN ");
    assertTrue(plan.contains("Index Scan using recipients_claimable"), plan);
    assertFalse(plan.contains("Bitmap"), plan);
    assertFalse(plan.contains("Seq Scan on recipients"), plan);
    assertFalse(plan.contains("Sort"), plan);
  }

  /** The claim's plan, as {@code explain} shows it, in a transaction rolled back (an analyzed claim claims nothing). */
  private static String plan(String explain) throws Exception {
    return await(pool.getConnection().compose(conn -> conn.begin().compose(tx -> conn.query(Database.INDEX_SCAN_ONLY)
        .execute()
        .compose(v -> conn.preparedQuery(explain + DeliveryQueue.CLAIM).execute(Tuple.of(100, OWNER, 300)))
        .map(rows -> {
          StringBuilder b = new StringBuilder();
          for (Row r : rows) {
            b.append(r.getString(0)).append('\n');
          }
          return b.toString();
        })
        .andThen(done -> tx.rollback()))
        .eventually(conn::close)));
  }

  /**
   * The recipients other nodes are delivering are not read by a scan: they are beyond now() in the index's order (their
   * lease's end), so the index returns the claimable rows alone and nothing is read to be thrown away. Before, each scan
   * read all 20,000 of them (due since their acceptance) and dropped them on their lease.
   */
  @Test
  void theScanReadsNoRecipientInFlight() throws Exception {
    long claimable = Db.count(url, "SELECT count(*) FROM recipients WHERE state = 'queued' "
        + "AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())");
    String plan = plan("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) ");
    java.util.regex.Matcher scan = java.util.regex.Pattern
        .compile("Index Scan using recipients_claimable.*\\(actual rows=(\\d+) loops=1\\)").matcher(plan);
    assertTrue(scan.find(), plan);
    // the rows claimable now (due and expired, unless another test claimed them) and nothing else
    assertTrue(claimable <= 2, "claimable: " + claimable);
    assertEquals(claimable, Long.parseLong(scan.group(1)), plan);
    assertFalse(plan.contains("Rows Removed by Filter"), plan);
  }

  /**
   * A renewal passes over a row another statement holds (the recipient's own outcome, waiting on a lock of its
   * account's counters) and renews the others at once: waiting behind it held up every lease's renewal on the node,
   * until other nodes took over attempts that were only slow.
   */
  @Test
  void aRenewalDoesNotWaitForARowAnotherStatementHolds() throws Exception {
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, lease_owner, "
        + "lease_until, updated_at) VALUES "
        + "('renew-held', 0, 'h@example.org', 'queued', now(), 'node-r/1', now() + interval '1 minute', now()), "
        + "('renew-free', 0, 'f@example.org', 'queued', now(), 'node-r/1', now() + interval '1 minute', now()), "
        + "('renew-other', 0, 'o@example.org', 'queued', now(), 'node-b/1', now() + interval '1 minute', now())");
    try (java.sql.Connection holder = Db.connect(url)) {
      holder.setAutoCommit(false);
      try (java.sql.Statement st = holder.createStatement()) {
        st.execute("UPDATE recipients SET updated_at = now() WHERE message_id = 'renew-held'");
      }
      Set<String> renewed = new DeliveryQueue(pool, "node-r/1", 300).renew(
              new String[] {"renew-held", "renew-free", "renew-other"}, new Integer[] {0, 0, 0})
          .toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(Set.of("renew-free/0"), renewed, "the held row passed over, another node's lease left alone");
      holder.rollback();
    }
    assertEquals(1, Db.count(url, "SELECT count(*) FROM recipients WHERE message_id LIKE 'renew-%' "
        + "AND lease_until > now() + interval '4 minutes'"));
  }

  @Test
  void takesWhatIsDueAndNotWhatAnotherNodeHolds() throws Exception {
    DeliveryQueue queue = new DeliveryQueue(pool, OWNER, 300);
    List<DeliveryJob> jobs = await(queue.claim(100));
    Set<String> ids = new TreeSet<>();
    jobs.forEach(j -> ids.add(j.messageId()));
    // due: nobody's; expired: its owner's lease ran out; mine-before-restart: this node's previous run
    assertEquals(Set.of("due", "expired", "mine-before-restart"), ids);
    assertEquals(3, Db.count(url, "SELECT count(*) FROM recipients WHERE lease_owner = '" + OWNER + "'"));
    assertTrue(await(queue.claim(100)).isEmpty(), "leased now, so not claimed twice");
    // the first claim of another queue of the same run (which takes back earlier runs' leases) leaves this run's alone
    assertTrue(await(new DeliveryQueue(pool, OWNER, 300).claim(100)).isEmpty());
    // another node, whose id begins as this one's: nothing of this node's is taken back as its own
    assertTrue(await(new DeliveryQueue(pool, "node/7", 300).claim(100)).isEmpty());
    assertEquals(3, Db.count(url, "SELECT count(*) FROM recipients WHERE lease_owner = '" + OWNER + "'"));
  }

}
