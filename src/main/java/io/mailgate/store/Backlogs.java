package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;

/**
 * What waits, all nodes: recipients queued (due, retrying or in flight), events and receipt notifications not yet
 * posted, each counted up to a cap, for the metrics' gauges. One statement, read as the claims read their queues
 * ({@link Database#INDEX_SCAN_ONLY}): every row done with leaves a dead entry in its queue's index until a vacuum, and
 * the recipients in flight are leased a lease's length ahead in the claims' order, where no claim reads them, so after
 * a few minutes of thousands of sends a second the index holds a million dead entries. A bitmap scan (the planner's
 * choice while statistics are stale or missing) read them all again at every count: 120 ms of PostgreSQL's time for
 * 720,000, every 5 s a node was scraped, on the machine the sends' commits needed (on 2 cores, the benchmark's
 * slowest seconds at half of max were its scrapes'). An index scan reads each dead entry's row once and
 * marks the entry dead, so the next count passes it without reading the table: a count reads what was done since the
 * last one. The outboxes are counted in their {@code next_attempt_at} order, so every count walks the index the last
 * one marked: the event outbox has two, and left to choose the planner took one and then the other.
 */
public final class Backlogs {
  /** The counts, each at most the cap it was read with. */
  public record Counts(long queuedRecipients, long eventsPending, long receiptsPending) {}

  static final String COUNT = """
      SELECT (SELECT count(*) FROM (SELECT 1 FROM recipients WHERE state = 'queued' LIMIT $1) q),
             (SELECT count(*) FROM (SELECT 1 FROM event_outbox ORDER BY next_attempt_at LIMIT $1) e),
             (SELECT count(*) FROM (SELECT 1 FROM receipt_outbox ORDER BY next_attempt_at LIMIT $1) r)""";

  private Backlogs() {}

  /** The three backlogs, each counted up to {@code cap}. */
  public static Future<Counts> count(Pool pool, int cap) {
    return read(pool, "", cap).map(rows -> {
      Row r = rows.iterator().next();
      return new Counts(r.getLong(0), r.getLong(1), r.getLong(2));
    });
  }

  /** The count's statement after {@code explain} (empty: the count itself), planned as the count is. */
  static Future<RowSet<Row>> read(Pool pool, String explain, int cap) {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery(explain + COUNT).execute(Tuple.of(cap)));
  }
}
