package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Receipt notifications waiting to be posted (written with the received message, {@code receipt_outbox}). Claimed
 * like the event outbox's rows: a claim pushes their next attempt past the time a post may take (a node that dies
 * leaves them due again); a row is deleted once its webhook took it, or given up.
 */
public final class ReceiptOutbox {
  /**
   * A claimed notification, with its account's webhook secret generation (see {@link EventOutbox.Due}).
   * {@code leaseUntil}: the lease this claim took, which the claimer's release and retry are fenced on, as the event
   * outbox's are: once the lease ran out and another claim took the row, they change nothing.
   */
  public record Due(long id, String accountId, String url, String messageId, String body, Instant createdAt,
      int attempts, int secretGeneration, Instant previousSecretUntil, Instant leaseUntil) {}

  static final String CLAIM = """
      UPDATE receipt_outbox o SET next_attempt_at = now() + $2::int * interval '1 second', attempts = o.attempts + 1
      FROM (SELECT e.id FROM receipt_outbox e WHERE e.next_attempt_at <= now() AND e.url <> ALL($3::text[])
            ORDER BY e.next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due, accounts a
      WHERE o.id = due.id AND a.id = o.account_id
      RETURNING o.id, o.account_id, o.url, o.message_id, o.body, o.created_at, o.attempts,
                a.webhook_secret_generation, a.webhook_previous_until, o.next_attempt_at""";

  private final Pool pool;

  public ReceiptOutbox(Pool pool) {
    this.pool = pool;
  }

  /**
   * Up to {@code limit} due notifications, oldest due first, none for the webhooks in {@code skip} (those with as
   * many posts under way as they may have), leased for {@code leaseSeconds}.
   */
  public Future<List<Due>> claim(int limit, int leaseSeconds, List<String> skip) {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery(CLAIM)
            .execute(Tuple.of(limit, leaseSeconds).addArrayOfString(skip.toArray(String[]::new))))
        .map(rows -> {
      List<Due> out = new ArrayList<>(rows.size());
      for (Row r : rows) {
        out.add(new Due(r.getLong(0), r.getString(1), r.getString(2), r.getString(3), r.getString(4),
            r.getOffsetDateTime(5).toInstant(), r.getInteger(6), r.getInteger(7),
            r.getOffsetDateTime(8) == null ? null : r.getOffsetDateTime(8).toInstant(),
            r.getOffsetDateTime(9).toInstant()));
      }
      return out;
    });
  }

  /** Claimed notifications put back unattempted, due at once: those still under the lease their claim took. */
  public Future<Void> release(List<Due> claimed) {
    return release(claimed, 0);
  }

  /**
   * Claimed notifications put back unattempted, due in {@code delayMillis}: those still under the lease their claim
   * took.
   */
  public Future<Void> release(List<Due> claimed, long delayMillis) {
    return pool.preparedQuery("UPDATE receipt_outbox o SET next_attempt_at = now() + $3::bigint * interval "
            + "'1 millisecond', attempts = greatest(o.attempts - 1, 0) "
            + "FROM unnest($1::bigint[], $2::timestamptz[]) AS l(id, lease) "
            + "WHERE o.id = l.id AND o.next_attempt_at = l.lease")
        .execute(Tuple.of(claimed.stream().map(Due::id).toArray(Long[]::new),
            claimed.stream().map(d -> Timestamps.utc(d.leaseUntil())).toArray(java.time.OffsetDateTime[]::new),
            delayMillis)).mapEmpty();
  }

  /**
   * Drops due notifications created before {@code before} (events.maxAgeHours ago), at most {@code limit}; how many. A
   * webhook that rests after failing gets one post at a time, far fewer than its rows, so without this its rows
   * would outlive the maximum age, and pile up while its rules go on receiving.
   */
  public Future<Integer> dropOlderThan(Instant before, int limit) {
    return pool.preparedQuery("DELETE FROM receipt_outbox WHERE id IN (SELECT id FROM receipt_outbox "
            + "WHERE next_attempt_at <= now() AND created_at < $1 LIMIT $2)")
        .execute(Tuple.of(Timestamps.utc(before), limit)).map(r -> r.rowCount());
  }

  /** Notifications done with: taken by their webhook, or given up. */
  public Future<Void> remove(List<Long> ids) {
    return pool.preparedQuery("DELETE FROM receipt_outbox WHERE id = ANY($1)")
        .execute(Tuple.of(ids.toArray(Long[]::new))).mapEmpty();
  }

  /**
   * A notification to try again at {@code at}, with what went wrong: unless its lease ran out and another claim took
   * it (the other claimer decides what becomes of it).
   */
  public Future<Void> retry(Due due, Instant at, String error) {
    String text = error == null ? "failed" : error.length() > 500 ? error.substring(0, 500) : error;
    return pool.preparedQuery("UPDATE receipt_outbox SET next_attempt_at = $2, last_error = $3 "
            + "WHERE id = $1 AND next_attempt_at = $4")
        .execute(Tuple.of(due.id(), Timestamps.utc(at), text, Timestamps.utc(due.leaseUntil()))).mapEmpty();
  }
}
