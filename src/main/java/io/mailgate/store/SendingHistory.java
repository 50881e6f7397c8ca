package io.mailgate.store;

import io.mailgate.ratelimit.QuotaHistory;
import io.mailgate.send.MessageIds;
import io.mailgate.send.SendAuthorization;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The accounts' accepted recipients of the last 24 hours by five-minute bucket, read from the messages they were
 * accepted with: what the rate limiter counts again when Redis lost its counts. As the live checks: the mailbox
 * simulator's addresses and the recipients of a message whose template could not be rendered (never sent) are not
 * counted. The messages of the last day are found by their ids, which begin with their time ({@link MessageIds}), on
 * the primary key (no index by account: it would cost every insert), each one's recipients by theirs.
 *
 * <p>The day is read as {@link #SLICES} slices of its time at once, each walked along the primary key at most
 * {@link #MESSAGES_PER_STATEMENT} messages a statement, each statement its own transaction: a busy day's count (about
 * 14 s per million messages on the benchmark machine) would outlast any single statement's timeout, and be refused
 * again and again for good, so no statement reads more than a bounded number of messages; but a quiet day is read in
 * a few statements, not one per five minutes (289 in a row, each its own transaction and lock renewal, cost seconds
 * of refused sends even when the day held a few messages).
 */
public final class SendingHistory implements QuotaHistory {
  /** The longest a send counts in the limiter: 24 hours and the five-minute bucket it fell in. */
  static final Duration WINDOW = Duration.ofMinutes(24 * 60 + 5);

  /** Slices of the day read at once, each on a connection of its own: a few, not the whole pool the sends use. */
  static final int SLICES = 3;

  /** The most messages one statement counts: well under a second's work, far from the statement timeout. */
  static final int MESSAGES_PER_STATEMENT = 20_000;

  /**
   * The next messages of a slice after $2 and before $3, by the primary key, $4 at most, each one's recipients counted
   * by their key (a lateral count: the planner cannot drive the statement from the recipients table, a month of them,
   * instead); with each group, how many messages the statement read and the last one's id (in the database's order),
   * where the slice's walk goes on from.
   */
  static final String SENT = sent("id > $2 AND id < $3", "$4");

  /** The last slice's, open at its end: messages stamped ahead of this node's clock count too. */
  static final String SENT_SINCE = sent("id > $2", "$3");

  private static String sent(String range, String limit) {
    return """
        SELECT m.account_id, floor(extract(epoch FROM m.created_at) / 300)::bigint, sum(n.counted),
          sum(count(*)) OVER (), max(max(m.id)) OVER ()
        FROM (SELECT id, account_id, created_at FROM messages WHERE %s ORDER BY id LIMIT %s) m
        CROSS JOIN LATERAL (
          SELECT count(*) AS counted FROM recipients r
          WHERE r.message_id = m.id AND r.state <> 'rendering_failed'
            AND lower(substring(r.address from '[^@]*$')) <> $1) n
        GROUP BY 1, 2""".formatted(range, limit);
  }

  /** Far longer than a statement's messages take; a count that cannot be read is tried again. */
  private static final String TIMEOUT = "SET LOCAL statement_timeout = '120s'";

  private final Pool pool;
  private final Clock clock;
  private final int slices;
  private final int perStatement;

  public SendingHistory(Pool pool, Clock clock) {
    this(pool, clock, SLICES, MESSAGES_PER_STATEMENT);
  }

  SendingHistory(Pool pool, Clock clock, int slices, int perStatement) {
    this.pool = pool;
    this.clock = clock;
    this.slices = slices;
    this.perStatement = perStatement;
  }

  @Override
  public Future<Map<String, Map<Long, Long>>> sentLastDay(Supplier<Future<?>> counting) {
    Instant now = clock.instant();
    Instant from = now.minus(WINDOW);
    long sliceMillis = WINDOW.toMillis() / slices;
    List<Map<String, Map<Long, Long>>> parts = new ArrayList<>(slices);
    List<Future<Void>> read = new ArrayList<>(slices);
    for (int i = 0; i < slices; i++) {
      Map<String, Map<Long, Long>> part = new HashMap<>();
      parts.add(part);
      String until = i == slices - 1 ? null : MessageIds.prefix(from.plusMillis((i + 1) * sliceMillis));
      read.add(counted(MessageIds.prefix(from.plusMillis(i * sliceMillis)), until, part, counting));
    }
    return Future.all(read).map(v -> {
      Map<String, Map<Long, Long>> out = new HashMap<>();
      // a bucket can straddle two statements (an id's time and created_at are read apart)
      parts.forEach(part -> part.forEach((account, buckets) -> buckets.forEach((bucket, n) ->
          out.computeIfAbsent(account, k -> new HashMap<>()).merge(bucket, n, Long::sum))));
      return out;
    });
  }

  /**
   * Counts a slice's messages after the id {@code after} and before {@code until} (null: open at its end) into
   * {@code out}, {@link #perStatement} at a time; {@code counting} is told before each statement after the first.
   */
  private Future<Void> counted(String after, String until, Map<String, Map<Long, Long>> out,
      Supplier<Future<?>> counting) {
    Tuple args = until == null ? Tuple.of(SendAuthorization.SIMULATOR_DOMAIN, after, perStatement)
        : Tuple.of(SendAuthorization.SIMULATOR_DOMAIN, after, until, perStatement);
    return Database.indexScansOnly(pool, conn -> conn.query(TIMEOUT).execute()
            .compose(v -> conn.preparedQuery(until == null ? SENT_SINCE : SENT).execute(args)))
        .compose(rows -> {
          long messages = 0;
          String last = null;
          for (Row r : rows) {
            out.computeIfAbsent(r.getString(0), k -> new HashMap<>())
                .merge(r.getLong(1), r.getNumeric(2).longValue(), Long::sum);
            messages = r.getNumeric(3).longValue();
            last = r.getString(4);
          }
          if (messages < perStatement) {
            return Future.<Void>succeededFuture(); // the slice's last messages
          }
          String next = last;
          return counting.get().compose(v -> counted(next, until, out, counting));
        });
  }
}
