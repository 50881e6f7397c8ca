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
import java.util.HashMap;
import java.util.Map;

/**
 * The accounts' accepted recipients of the last 24 hours by five-minute bucket, read from the messages they were
 * accepted with: what the rate limiter counts again when Redis lost its counts. As the live checks: the mailbox
 * simulator's addresses and the recipients of a message whose template could not be rendered (never sent) are not
 * counted. One statement for every account: the
 * messages of the last day are found by their ids, which begin with their time ({@link MessageIds}), on the primary
 * key (no index by account: it would cost every insert), each one's recipients by theirs.
 */
public final class SendingHistory implements QuotaHistory {
  /** The longest a send counts in the limiter: 24 hours and the five-minute bucket it fell in. */
  static final Duration WINDOW = Duration.ofMinutes(24 * 60 + 5);

  /**
   * The last day's messages by their key's range, each one's recipients counted by their key (a lateral count: the
   * planner cannot drive the statement from the recipients table, a month of them, instead).
   */
  static final String SENT = """
      SELECT m.account_id, floor(extract(epoch FROM m.created_at) / 300)::bigint, sum(n.counted)
      FROM messages m CROSS JOIN LATERAL (
        SELECT count(*) AS counted FROM recipients r
        WHERE r.message_id = m.id AND r.state <> 'rendering_failed'
          AND lower(substring(r.address from '[^@]*$')) <> $2) n
      WHERE m.id >= $1
      GROUP BY 1, 2""";

  /** Long enough for a day of a busy node's messages; a count that cannot be read is tried again. */
  private static final String TIMEOUT = "SET LOCAL statement_timeout = '120s'";

  private final Pool pool;
  private final Clock clock;

  public SendingHistory(Pool pool, Clock clock) {
    this.pool = pool;
    this.clock = clock;
  }

  @Override
  public Future<Map<String, Map<Long, Long>>> sentLastDay() {
    String since = MessageIds.prefix(clock.instant().minus(WINDOW));
    return Database.indexScansOnly(pool, conn -> conn.query(TIMEOUT).execute()
            .compose(v -> conn.preparedQuery(SENT).execute(Tuple.of(since, SendAuthorization.SIMULATOR_DOMAIN))))
        .map(rows -> {
          Map<String, Map<Long, Long>> out = new HashMap<>();
          for (Row r : rows) {
            out.computeIfAbsent(r.getString(0), k -> new HashMap<>()).put(r.getLong(1), r.getNumeric(2).longValue());
          }
          return out;
        });
  }
}
