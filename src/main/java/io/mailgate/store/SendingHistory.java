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
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The accounts' accepted recipients of the last 24 hours by five-minute bucket, read from the messages they were
 * accepted with: what the rate limiter counts again when Redis lost its counts. As the live checks: the mailbox
 * simulator's addresses and the recipients of a message whose template could not be rendered (never sent) are not
 * counted. The messages of the last day are found by their ids, which begin with their time ({@link MessageIds}), on
 * the primary key (no index by account: it would cost every insert), each one's recipients by theirs; five minutes'
 * of them at a time, each its own statement: a busy day's count (about 14 s per million messages here) would outlast
 * any single statement's timeout, and be refused again and again for good.
 */
public final class SendingHistory implements QuotaHistory {
  /** The longest a send counts in the limiter: 24 hours and the five-minute bucket it fell in. */
  static final Duration WINDOW = Duration.ofMinutes(24 * 60 + 5);

  /** How much of the day one statement counts. */
  static final Duration CHUNK = Duration.ofMinutes(5);

  /**
   * Five minutes' messages by their key's range, each one's recipients counted by their key (a lateral count: the
   * planner cannot drive the statement from the recipients table, a month of them, instead).
   */
  static final String SENT = sent("m.id >= $2 AND m.id < $3");

  /** The last five minutes', open at its end: messages stamped ahead of this node's clock count too. */
  static final String SENT_SINCE = sent("m.id >= $2");

  private static String sent(String range) {
    return """
        SELECT m.account_id, floor(extract(epoch FROM m.created_at) / 300)::bigint, sum(n.counted)
        FROM messages m CROSS JOIN LATERAL (
          SELECT count(*) AS counted FROM recipients r
          WHERE r.message_id = m.id AND r.state <> 'rendering_failed'
            AND lower(substring(r.address from '[^@]*$')) <> $1) n
        WHERE %s
        GROUP BY 1, 2""".formatted(range);
  }

  /** Far longer than five minutes of a busy node's messages take; a count that cannot be read is tried again. */
  private static final String TIMEOUT = "SET LOCAL statement_timeout = '120s'";

  private final Pool pool;
  private final Clock clock;

  public SendingHistory(Pool pool, Clock clock) {
    this.pool = pool;
    this.clock = clock;
  }

  @Override
  public Future<Map<String, Map<Long, Long>>> sentLastDay(Supplier<Future<?>> counting) {
    Instant now = clock.instant();
    Map<String, Map<Long, Long>> out = new HashMap<>();
    return counted(now.minus(WINDOW), now, out, counting).map(v -> out);
  }

  /**
   * Counts the messages from {@code from} on into {@code out}, {@link #CHUNK} at a time; the last range is left open
   * at its end. {@code counting} is told after each.
   */
  private Future<Void> counted(Instant from, Instant now, Map<String, Map<Long, Long>> out, Supplier<Future<?>> counting) {
    Instant until = from.plus(CHUNK);
    boolean last = !until.isBefore(now);
    Tuple range = last ? Tuple.of(SendAuthorization.SIMULATOR_DOMAIN, MessageIds.prefix(from))
        : Tuple.of(SendAuthorization.SIMULATOR_DOMAIN, MessageIds.prefix(from), MessageIds.prefix(until));
    return Database.indexScansOnly(pool, conn -> conn.query(TIMEOUT).execute()
            .compose(v -> conn.preparedQuery(last ? SENT_SINCE : SENT).execute(range)))
        .compose(rows -> {
          for (Row r : rows) {
            // a bucket can straddle two ranges (an id's time and created_at are read apart)
            out.computeIfAbsent(r.getString(0), k -> new HashMap<>())
                .merge(r.getLong(1), r.getNumeric(2).longValue(), Long::sum);
          }
          return last ? Future.<Void>succeededFuture() : counting.get().compose(v -> counted(until, now, out, counting));
        });
  }
}
