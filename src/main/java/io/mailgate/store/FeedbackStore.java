package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What asynchronous feedback writes: bounces and complaints tied to a message (event, recipient
 * state, suppression, reputation, the email feedback forward, in one transaction), and every
 * received report kept, so one that could not be tied to a message can be inspected instead of
 * being lost.
 */
public final class FeedbackStore {

  /**
   * A sent message as feedback needs it: its account and recipients (by index), and whether a report that names it by
   * Message-ID alone is to be doubted ({@code verp}): it went out with VERP return paths (each recipient's bounces come
   * back to its own), or with a null reverse-path (a notification, such as SendBounce's: nothing may bounce it at
   * all, and its recipient, who saw its Message-ID, could forge one). {@code verpDomain}: the domain of its VERP return
   * paths (the operator's bounce domain, or the sender's custom MAIL FROM domain), null without them.
   */
  public record MessageRef(String id, String accountId, List<String> recipients, boolean verp, String verpDomain) {}

  /** A received report to keep. */
  public record Received(Instant receivedAt, String mailFrom, String rcptTo, String kind, boolean attributed,
      String messageId, String accountId, String note, byte[] content) {}

  /**
   * A final bounce through the recipient's own return path about a recipient still queued: its delivery's outcome,
   * accepted by the remote server, is not written yet (batched, or written again after a database failure). Nothing
   * was written; the report's sender is to send it again later, when it is.
   */
  public static final class NotYetDelivered extends RuntimeException {
    NotYetDelivered(String messageId, int idx) {
      super("recipient " + idx + " of " + messageId + " is still queued (its delivery not recorded yet): nothing "
          + "recorded, its sender is to send the report again", null, false, false);
    }
  }

  private final Pool pool;

  public FeedbackStore(Pool pool) {
    this.pool = pool;
  }

  public Future<Optional<MessageRef>> message(String messageId) {
    return pool.preparedQuery("SELECT m.account_id, r.address, m.verp_domain IS NOT NULL OR m.envelope_from = '', "
            + "m.verp_domain FROM messages m "
            + "JOIN recipients r ON r.message_id = m.id WHERE m.id = $1 ORDER BY r.idx").execute(params(messageId))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          List<String> recipients = new ArrayList<>();
          String account = null;
          boolean verp = false;
          String verpDomain = null;
          for (Row r : rows) {
            account = r.getString(0);
            recipients.add(r.getString(1));
            verp = r.getBoolean(2);
            verpDomain = r.getString(3);
          }
          return Optional.of(new MessageRef(messageId, account, recipients, verp, verpDomain));
        });
  }

  /**
   * An asynchronous bounce: its event; a final one ({@code failed}) ends the recipient; a
   * permanent one of a real address suppresses it and counts as a hard bounce. A final bounce of a
   * recipient already bounced (the same report again: a sender retrying after our reply was lost,
   * two blocks for one recipient, a recipient replaying its own return path) only keeps the report:
   * counted again, copies would pause the account. Only a bounce that came through the recipient's
   * own VERP return path on one of the operator's bounce domains ({@code verified}) puts the address on the global
   * list, which every account obeys: one matched by Message-ID alone could have been written by anyone who saw the
   * message, and one through a custom MAIL FROM domain's by the account that runs its DNS.
   *
   * <p>Only a recipient delivered can bounce later: one still queued may be in the middle of its delivery (its lease
   * held), and a report matched by Message-ID (from another recipient of the message, say) would otherwise end it,
   * suppress it and count a hard bounce against the account, and the delivery's outcome then fail its lease check.
   * A final bounce through the recipient's own VERP return path ({@code retryWhileQueued}) about one still queued is a
   * real one that came before its delivery's outcome was written: it fails with {@link NotYetDelivered}, writing
   * nothing, so that its sender is answered 4xx and sends it again.
   *
   * <p>A hard bounce counts toward the reputation bucket of the delivery it is about ({@link #reputation}).
   */
  public Future<Void> bounce(MessageRef m, int idx, String email, JsonObject detail, boolean failed, boolean permanent,
      boolean real, boolean verified, boolean retryWhileQueued, Received report) {
    return pool.withTransaction(conn -> (failed
            ? conn.preparedQuery("UPDATE recipients SET state = 'bounced', updated_at = now() "
                    + "WHERE message_id = $1 AND idx = $2 AND state = 'delivered' RETURNING " + DELIVERED_AT)
                .execute(params(m.id(), idx)).map(FeedbackStore::deliveredAt)
            : conn.preparedQuery("SELECT " + DELIVERED_AT + " FROM recipients "
                    + "WHERE message_id = $1 AND idx = $2 AND state = 'delivered'")
                .execute(params(m.id(), idx)).map(FeedbackStore::deliveredAt))
        .compose(delivered -> delivered != null || !failed || !retryWhileQueued ? Future.succeededFuture(delivered)
            : conn.preparedQuery("SELECT 1 FROM recipients WHERE message_id = $1 AND idx = $2 AND state = 'queued'")
                .execute(params(m.id(), idx)).compose(queued -> queued.size() > 0
                    ? Future.<OffsetDateTime>failedFuture(new NotYetDelivered(m.id(), idx))
                    : Future.<OffsetDateTime>succeededFuture(null)))
        .compose(delivered -> delivered != null
            ? recordBounce(conn, m, email, detail, permanent, real, verified, delivered)
            .compose(v -> failed
                ? FeedbackForwards.write(conn, m, email, "Bounce", withoutNul(detail).toString(), null)
                : Future.<Void>succeededFuture())
            : Future.<Void>succeededFuture())
        .compose(v -> keep(conn, report)));
  }

  /**
   * When the recipient was delivered, from a row of {@code recipients} ($1 its message): the message's acceptance
   * for one delivered without its time, which no row written since delivered_at exists should be.
   */
  private static final String DELIVERED_AT =
      "coalesce(delivered_at, (SELECT created_at FROM messages WHERE id = $1))";

  /** The delivery time the statement returned; null when it found no delivered recipient. */
  private static OffsetDateTime deliveredAt(RowSet<Row> rows) {
    return rows.size() == 0 ? null : rows.iterator().next().getOffsetDateTime(0);
  }

  private Future<Void> recordBounce(SqlConnection conn, MessageRef m, String email, JsonObject detail,
      boolean permanent, boolean real, boolean verified, OffsetDateTime delivered) {
    return event(conn, m, email, "Bounce", detail, false)
        .compose(v -> permanent && real ? suppress(conn, m, email, "BOUNCE", detail.getString("feedbackId"))
            .compose(x -> !verified ? Future.<Void>succeededFuture() : conn.preparedQuery(
                    "INSERT INTO global_suppression (email, last_bounce, bounces, message_id) "
                    + "VALUES (lower($1), now(), 1, $2) ON CONFLICT (email) DO UPDATE SET last_bounce = now(), "
                    + "bounces = global_suppression.bounces + 1, message_id = EXCLUDED.message_id")
                .execute(params(email, m.id())).mapEmpty())
            .compose(x -> reputation(conn, m, delivered, 1, 0)) : Future.<Void>succeededFuture());
  }

  /** The first key of the advisory locks that put complaints about one message and recipient in turn: "CmPl". */
  private static final int COMPLAINT_LOCK = 0x436d506c;

  /**
   * A complaint: its event; when it {@code counts}, the address is suppressed (reason COMPLAINT) and counted. A second
   * complaint about the same message from the same recipient only keeps the report. Complaints about
   * one message and recipient take turns (a transaction-scoped advisory lock, taken before the check):
   * two copies of one report arriving together (a feedback loop that sends twice, two nodes) would
   * otherwise both find none recorded, and count, suppress and forward twice. Only a recipient the message was
   * delivered to can complain (a report matched by Message-ID may come from another of its recipients): one still
   * queued is neither suppressed nor counted, and gets no event.
   *
   * <p>An {@code unconfirmed} complaint (about a message to several recipients, tied to this one by what the report
   * says alone, which anyone who saw the message could write) is published and counts for nothing; it is marked so,
   * and does not make a later confirmed complaint of the recipient a repeat.
   */
  public Future<Void> complaint(MessageRef m, String email, JsonObject detail, boolean counts, boolean unconfirmed,
      Received report) {
    // a report seen before is not counted again; a not-spam (RFC 6430) or auth-failure (RFC 6591) report before it,
    // no recipient's complaint, does not make a real complaint a repeat, while any complaint makes a later such one; an
    // unconfirmed one makes only a later unconfirmed one a repeat
    String type = detail.getString("complaintFeedbackType");
    boolean notSpam = "not-spam".equals(type) || "auth-failure".equals(type);
    return Database.inTurn(pool, COMPLAINT_LOCK, m.id() + " " + email.toLowerCase(Locale.ROOT), conn -> conn
        .preparedQuery("SELECT " + DELIVERED_AT + " FROM recipients WHERE message_id = $1 "
            // delivered, then perhaps bounced later: delivered_at stays
            + "AND lower(address) = lower($2) AND (state = 'delivered' OR delivered_at IS NOT NULL) "
            + "AND NOT EXISTS (SELECT 1 FROM events WHERE message_id = $1 "
            + "AND type = 'Complaint' AND lower(recipient) = lower($2)"
            + (notSpam ? "" : " AND coalesce(detail->>'complaintFeedbackType', '') NOT IN ('not-spam', 'auth-failure')")
            + (unconfirmed ? "" : " AND NOT unconfirmed") + ") LIMIT 1")
        .execute(params(m.id(), email))
        .map(FeedbackStore::deliveredAt)
        .compose(delivered -> delivered == null ? Future.<Void>succeededFuture()
            : event(conn, m, email, "Complaint", detail, unconfirmed)
                .compose(v -> counts ? suppress(conn, m, email, "COMPLAINT", detail.getString("feedbackId"))
                    .compose(x -> reputation(conn, m, delivered, 0, 1)) : Future.<Void>succeededFuture())
                .compose(v -> FeedbackForwards.write(conn, m, email, "Complaint", withoutNul(detail).toString(),
                    // the ARF as received is forwarded when it is small; a larger one is written afresh from the event
                    report == null || report.content().length > FeedbackForwards.MAX_REPORT_BYTES ? null
                        : report.content())))
        .compose(v -> keep(conn, report)));
  }

  /** Keeps a report on its own (not attributed, or nothing to record for it). */
  public Future<Void> keep(Received report) {
    return pool.withConnection(conn -> keep(conn, report));
  }

  private Future<Void> keep(SqlConnection conn, Received r) {
    if (r == null) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("INSERT INTO inbound_feedback (received_at, mail_from, rcpt_to, kind, attributed, "
            + "message_id, account_id, note, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .execute(params(Timestamps.utc(r.receivedAt()), r.mailFrom(),
            r.rcptTo(), r.kind(), r.attributed(), r.messageId(), r.accountId(), r.note(), Buffer.buffer(r.content())))
        .mapEmpty();
  }

  /**
   * The event, and its rows in the event outbox for the message's configuration set's destinations, and its sender's
   * notification topics, that take it.
   */
  private static Future<Void> event(SqlConnection conn, MessageRef m, String email, String type, JsonObject detail,
      boolean unconfirmed) {
    Tuple params = params(m.id(), m.accountId(), type, email, withoutNul(detail).toString());
    return conn.preparedQuery("INSERT INTO events (message_id, account_id, type, recipient, detail, created_at, "
            + "unconfirmed) VALUES ($1, $2, $3, $4, $5::text::jsonb, now(), $6)")
        .execute(params(m.id(), m.accountId(), type, email, withoutNul(detail).toString(), unconfirmed))
        .compose(v -> conn.preparedQuery(PUBLISH).execute(params))
        .mapEmpty();
  }

  private static final String PUBLISH = """
      INSERT INTO event_outbox (destination_id, message_id, type, recipient, detail, created_at, next_attempt_at)
      SELECT ed.id, m.id, $3::text, $4::text, $5::text::jsonb, now(), now()
      FROM messages m JOIN event_destinations ed ON ed.account_id = m.account_id
        AND ed.configuration_set = m.configuration_set
      WHERE m.id = $1 AND m.account_id = $2 AND ed.enabled AND $3 = ANY(ed.event_types)
      UNION ALL
      SELECT ed.id, m.id, $3::text, $4::text, $5::text::jsonb, now(), now()
      FROM messages m
      """ + EventOutbox.SENDER_TOPICS + """

      WHERE m.id = $1 AND m.account_id = $2 AND ed.enabled AND $3 = ANY(ed.event_types)""";

  private static Future<Void> suppress(SqlConnection conn, MessageRef m, String email, String reason, String feedbackId) {
    return conn.preparedQuery("INSERT INTO suppressed_destinations (account_id, email, reason, message_id, feedback_id, "
            + "last_update) SELECT $1, lower($2), $3, $4, $5, now() FROM accounts a JOIN messages m ON m.id = $4 "
            + "LEFT JOIN configuration_sets cs ON cs.account_id = m.account_id AND cs.name = m.configuration_set "
            + "WHERE a.id = $1 AND $3 = ANY(coalesce(cs.suppressed_reasons, a.suppressed_reasons)) ON CONFLICT (account_id, email) DO UPDATE SET reason = EXCLUDED.reason, "
            + "message_id = EXCLUDED.message_id, feedback_id = EXCLUDED.feedback_id, last_update = now()")
        .execute(params(m.accountId(), email, reason, m.id(), feedbackId)).mapEmpty();
  }

  /**
   * Counts a late hard bounce or complaint in the five-minute bucket of the delivery it is about, where the delivery
   * was counted as sent ({@link OutcomeStore}): a rate is then feedback about a window's sends over those sends.
   * Counted when it arrives, the complaints about a large send of days ago would be set against the little sent since
   * and pause the account, and the late bounces of what was sent before a pause would pause it again once resumed.
   * This way feedback about sends outside the window, or before a resume, leaves the rate by itself. (About a send
   * of the five minutes before a resume, in the bucket the resume falls in, it goes to the account's base for that
   * bucket too, as the send went (V23): the bucket's statistics keep it, the fresh window does not.) A message sent
   * for a tenant counts toward the tenant's reputation as well (by its id), in the same bucket. The account's bucket is
   * locked before the tenant's: the statement's own
   * insert runs first, its CTE (not read by it) after, the order {@code OutcomeStore} keeps.
   */
  private static Future<Void> reputation(SqlConnection conn, MessageRef m, OffsetDateTime delivered, int hard,
      int complaints) {
    return conn.preparedQuery(REPUTATION).execute(Tuple.of(m.accountId(), delivered, hard, complaints, m.id()))
        .mapEmpty();
  }

  private static final String REPUTATION = """
      WITH base AS (
        UPDATE accounts SET reputation_base_hard_bounces = reputation_base_hard_bounces + $3,
          reputation_base_complaints = reputation_base_complaints + $4
        WHERE id = $1 AND reputation_since > $2::timestamptz
          AND reputation_since < to_timestamp(floor(extract(epoch FROM $2::timestamptz) / 300) * 300)
            + interval '5 minutes'
      ), tenant AS (
        INSERT INTO tenant_reputation_buckets (account_id, tenant_id, bucket, sent, hard_bounces, complaints)
        SELECT $1, m.tenant_id, to_timestamp(floor(extract(epoch FROM $2::timestamptz) / 300) * 300), 0, $3, $4
        FROM messages m WHERE m.id = $5 AND m.account_id = $1 AND m.tenant_id IS NOT NULL
        ON CONFLICT (account_id, tenant_id, bucket) DO UPDATE
          SET hard_bounces = tenant_reputation_buckets.hard_bounces + $3,
              complaints = tenant_reputation_buckets.complaints + $4)
      INSERT INTO reputation_buckets (account_id, bucket, sent, hard_bounces, complaints)
      VALUES ($1, to_timestamp(floor(extract(epoch FROM $2::timestamptz) / 300) * 300), 0, $3, $4)
      ON CONFLICT (account_id, bucket) DO UPDATE SET hard_bounces = reputation_buckets.hard_bounces + $3,
        complaints = reputation_buckets.complaints + $4""";

  /**
   * Parameters with U+0000 taken out of their text. Reports come from other servers, and PostgreSQL refuses NUL in
   * text and in jsonb: the report would be refused (451) and sent again, forever.
   */
  private static Tuple params(Object... values) {
    for (int i = 0; i < values.length; i++) {
      if (values[i] instanceof String text) {
        values[i] = withoutNul(text);
      }
    }
    return Tuple.from(values);
  }

  private static Object withoutNul(Object value) {
    if (value instanceof String text) {
      return text.indexOf('\0') < 0 ? text : text.replace("\0", "");
    }
    if (value instanceof JsonObject object) {
      JsonObject clean = new JsonObject();
      object.forEach(e -> clean.put((String) withoutNul(e.getKey()), withoutNul(e.getValue())));
      return clean;
    }
    if (value instanceof JsonArray array) {
      JsonArray clean = new JsonArray();
      array.forEach(v -> clean.add(withoutNul(v)));
      return clean;
    }
    return value;
  }
}
