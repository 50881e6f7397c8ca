package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/**
 * SES v1's GetSendStatistics: an account's sending of the last two weeks in 15-minute intervals, read from the
 * reputation buckets (five minutes each) that delivery outcomes and feedback already keep, so it costs the send path
 * nothing. An interval is when the recipients' deliveries ended: delivered or bounced. A bounce or complaint that
 * arrives later is in the interval of the delivery it is about, so an interval's bounces and complaints are about
 * its own delivery attempts (and an interval's figures may still grow while its feedback arrives).
 */
public final class SendStatisticsQuery {
  /** SES's span and interval. */
  static final Duration SPAN = Duration.ofDays(14);
  static final int INTERVAL_SECONDS = 15 * 60;

  /**
   * One interval.
   *
   * @param deliveryAttempts recipients whose delivery ended (delivered or bounced)
   * @param bounces hard bounces
   * @param rejects always 0: Mailgate does not reject accepted messages for their content, as SES does for viruses
   */
  public record Point(Instant timestamp, long deliveryAttempts, long bounces, long complaints, long rejects) {}

  static final String SQL = """
      SELECT to_timestamp(floor(extract(epoch FROM bucket) / %d) * %d) AS t,
             sum(sent), sum(hard_bounces), sum(complaints)
      FROM reputation_buckets
      WHERE account_id = $1 AND bucket >= $2
      GROUP BY 1 ORDER BY 1""".formatted(INTERVAL_SECONDS, INTERVAL_SECONDS);

  private final Pool pool;

  public SendStatisticsQuery(Pool pool) {
    this.pool = pool;
  }

  /** The intervals of the two weeks before {@code now} that had any sending, oldest first. */
  public Future<List<Point>> lastTwoWeeks(String accountId, Instant now) {
    return pool.preparedQuery(SQL)
        .execute(Tuple.of(accountId, now.minus(SPAN).atOffset(ZoneOffset.UTC)))
        .map(rows -> {
          List<Point> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new Point(r.getOffsetDateTime(0).toInstant(), r.getLong(1), r.getLong(2), r.getLong(3), 0));
          }
          return out;
        });
  }
}
