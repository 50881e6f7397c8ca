package io.mailgate.store;

import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The outbox of email feedback forwarding (SES): a final bounce or a complaint of a message an account sent, written
 * in the transaction that records its event, waiting to be mailed to the message's Return-Path. Feedback about the
 * system account's own messages (verification emails, forwarded feedback) is never written, so a forward cannot
 * cause another.
 */
public final class FeedbackForwards {
  /** A complaint's report is kept for forwarding as received up to this size (ISPs' ARFs are a few KB). */
  public static final int MAX_REPORT_BYTES = 64 * 1024;

  /**
   * A claimed forward and what its message needs: {@code accountId} is null when the message is gone (retention);
   * {@code returnPath} the message's envelope sender ("" when it had none); {@code forwarding} whether its sending
   * identity forwards feedback (false when it is no longer a verified identity); {@code attempts} fences what this
   * claim may do to the row: a claim that outlived its lease finds it taken again and changes nothing; {@code headers} the start of the original message.
   */
  public record Due(long id, String messageId, String type, String recipient, JsonObject detail, byte[] report,
      int attempts, String accountId, String source, String returnPath, boolean forwarding, byte[] headers) {}

  /** In {@link OutcomeStore}'s statement: the final bounces among its applied outcomes ({@code done}). */
  static final String FROM_OUTCOMES = """
      INSERT INTO feedback_forwards (message_id, type, recipient, detail, created_at, next_attempt_at)
      SELECT d.mid, d.type, d.rcpt, d.detail::jsonb, d.ts, now() FROM done d
      WHERE d.type = 'Bounce' AND d.state = 'bounced' AND d.acct <> '""" + Caller.SYSTEM_ACCOUNT + "'";

  static final String CLAIM = """
      WITH c AS (
        UPDATE feedback_forwards f
        SET next_attempt_at = now() + $2::int * interval '1 second', attempts = f.attempts + 1
        WHERE f.id IN (SELECT id FROM feedback_forwards WHERE next_attempt_at <= now()
                       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING f.id, f.message_id, f.type, f.recipient, f.detail, f.report, f.attempts
      )
      SELECT c.id, c.message_id, c.type, c.recipient, c.detail, c.report, c.attempts, m.account_id, m.source,
             m.envelope_from, coalesce(sender.feedback_forwarding, false),
             substring(m.content from 1 for\s""" + MessageQuery.HEADER_BYTES + """
      )
      FROM c LEFT JOIN messages m ON m.id = c.message_id
      LEFT JOIN LATERAL """ + EventOutbox.SENDER_IDENTITY + " sender ON true";

  private final Pool pool;

  public FeedbackForwards(Pool pool) {
    this.pool = pool;
  }

  /** Writes the forward of an asynchronous bounce or complaint, in the transaction that records its event. */
  static Future<Void> write(SqlConnection conn, FeedbackStore.MessageRef m, String email, String type,
      String detailJson, byte[] report) {
    if (Caller.SYSTEM_ACCOUNT.equals(m.accountId())) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("INSERT INTO feedback_forwards (message_id, type, recipient, detail, report, created_at, "
            + "next_attempt_at) VALUES ($1, $2, $3, $4::text::jsonb, $5, now(), now())")
        .execute(Tuple.of(m.id(), type, email, detailJson, report == null ? null : Buffer.buffer(report)))
        .mapEmpty();
  }

  /** Up to {@code limit} due forwards, leased for {@code leaseSeconds} (a node that dies leaves them due again). */
  public Future<List<Due>> claim(int limit, int leaseSeconds) {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery(CLAIM).execute(Tuple.of(limit, leaseSeconds)))
        .map(rows -> {
      List<Due> out = new ArrayList<>(rows.size());
      for (Row r : rows) {
        Object detail = r.getValue(4);
        Buffer report = r.getBuffer(5);
        Buffer headers = r.getBuffer(11);
        out.add(new Due(r.getLong(0), r.getString(1), r.getString(2), r.getString(3),
            detail instanceof JsonObject j ? j : new JsonObject(String.valueOf(detail)),
            report == null ? null : report.getBytes(), r.getInteger(6), r.getString(7), r.getString(8),
            r.getString(9), r.getBoolean(10), headers == null ? new byte[0] : headers.getBytes()));
      }
      return out;
    });
  }

  /**
   * The forward mailed: {@code message} (the system account's, recipients leased to {@code leaseOwner}) committed
   * and the forward deleted in one transaction, so it is neither lost nor sent twice.
   */
  public Future<Void> forwarded(Due d, NewMessage message, String leaseOwner, int leaseSeconds) {
    // the row first, fenced by this claim's attempt: a claim that outlived its lease commits nothing (no second copy)
    return pool.withTransaction(conn -> conn.preparedQuery(DELETE).execute(Tuple.of(d.id(), d.attempts()))
        .compose(deleted -> deleted.rowCount() == 1
            ? MessageStore.insertOn(conn, List.of(message), leaseOwner, leaseSeconds).<Void>mapEmpty()
            : Future.failedFuture(new IllegalStateException("claimed again since (its lease ran out)"))));
  }

  private static final String DELETE = "DELETE FROM feedback_forwards WHERE id = $1 AND attempts = $2";

  /** A forward not to be mailed (forwarding off, no address, the message gone, or it cannot be built). */
  public Future<Void> drop(Due d) {
    return pool.preparedQuery(DELETE).execute(Tuple.of(d.id(), d.attempts())).mapEmpty();
  }

  /** A forward to try again at {@code at}, with what went wrong (unless it was claimed again since). */
  public Future<Void> retry(Due d, Instant at, String error) {
    String text = error == null ? "failed" : error.length() > 500 ? error.substring(0, 500) : error;
    return pool.preparedQuery("UPDATE feedback_forwards SET next_attempt_at = $3, last_error = $4 "
            + "WHERE id = $1 AND attempts = $2")
        .execute(Tuple.of(d.id(), d.attempts(), Timestamps.utc(at), text)).mapEmpty();
  }
}
