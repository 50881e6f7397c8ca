package io.mailgate.store;

import io.mailgate.events.EventType;
import io.mailgate.events.SesEvents;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Reads a message with its recipients and events, for the status API and GetMessageInsights. Send
 * and Delivery events are not stored as event rows (they would be two of the five rows written per
 * message): the Send is rendered from the message row and each Delivery from its recipient's
 * delivery columns, then merged with the stored events in time order. Of its Opens and its Clicks, the first
 * {@link TrackingStore#MAX_PER_MESSAGE} of each are read: all there are since the cap (a message that had more before
 * it keeps the rest in the table, unread), so anyone holding a link cannot make this read without end. Its other
 * events, bounded by its recipients and their attempts, are all read, whatever its Opens and Clicks.
 */
public final class MessageQuery {
  /** Only the start of the content is read: enough for the headers, whatever the message's size. */
  static final int HEADER_BYTES = 64 * 1024;

  public record StoredMessage(String id, String accountId, String source, String envelopeFrom,
      String configurationSet, JsonArray tags, int size, Instant createdAt, byte[] head, String sourceIp,
      String callerIdentity, List<StoredRecipient> recipients, List<StoredEvent> events, String identityAccount,
      String identityName, String tenant, String operation, byte[] replacedFields, String sourceTls) {}

  /**
   * {@code outgoingIp} and {@code outgoingTls}: what its Delivery tags of the connection it went over (null: none, or
   * not known).
   */
  public record StoredRecipient(int idx, String address, String state, int attempts, Integer smtpCode,
      String smtpReply, Instant updatedAt, Instant deliveredAt, String remoteMta, String reportingMta,
      String outgoingIp, String outgoingTls) {

    /** A recipient not known to have been delivered over a connection. */
    public StoredRecipient(int idx, String address, String state, int attempts, Integer smtpCode, String smtpReply,
        Instant updatedAt, Instant deliveredAt, String remoteMta, String reportingMta) {
      this(idx, address, state, attempts, smtpCode, smtpReply, updatedAt, deliveredAt, remoteMta, reportingMta, null,
          null);
    }
  }

  public record StoredEvent(String type, String recipient, JsonObject detail, Instant createdAt) {}

  /** A message's events ({@code $1}) in the order they were recorded, its first Opens and Clicks up to the cap. */
  static final String EVENTS = """
      SELECT type, recipient, detail, created_at FROM (
        SELECT id, type, recipient, detail, created_at FROM events
        WHERE message_id = $1 AND type <> 'Open' AND type <> 'Click'
        UNION ALL
        (SELECT id, type, recipient, detail, created_at FROM events WHERE message_id = $1 AND type = 'Open'
         ORDER BY id LIMIT %1$d)
        UNION ALL
        (SELECT id, type, recipient, detail, created_at FROM events WHERE message_id = $1 AND type = 'Click'
         ORDER BY id LIMIT %1$d)
      ) e ORDER BY id""".formatted(TrackingStore.MAX_PER_MESSAGE);

  private final Pool pool;

  public MessageQuery(Pool pool) {
    this.pool = pool;
  }

  /**
   * The message if it exists and belongs to {@code accountId}. Message, recipients and events are
   * read from one snapshot, so a recipient's state always agrees with its events.
   */
  public Future<Optional<StoredMessage>> find(String accountId, String messageId) {
    return pool.withTransaction(conn -> conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute().compose(v -> find(conn, accountId, messageId)));
  }

  private Future<Optional<StoredMessage>> find(SqlConnection conn, String accountId,
      String messageId) {
    return conn.preparedQuery("SELECT id, account_id, source, envelope_from, configuration_set, tags, size, created_at, "
            + "substring(content from 1 for " + HEADER_BYTES + "), source_ip, caller_identity, identity_account, identity_name, "
            + "tenant, operation, replaced_fields, source_tls FROM messages WHERE id = $1 AND account_id = $2")
        .execute(Tuple.of(messageId, accountId))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(Optional.empty());
          }
          Row m = rows.iterator().next();
          Future<List<StoredRecipient>> recipients = conn.preparedQuery(
                  "SELECT idx, address, state, attempts, smtp_code, smtp_reply, updated_at, delivered_at, remote_mta, "
                      + "reporting_mta, outgoing_ip, outgoing_tls FROM recipients "
                      + "WHERE message_id = $1 ORDER BY idx")
              .execute(Tuple.of(messageId))
              .map(rs -> {
                List<StoredRecipient> out = new ArrayList<>();
                for (Row r : rs) {
                  OffsetDateTime delivered = r.getOffsetDateTime(7);
                  out.add(new StoredRecipient(r.getShort(0), r.getString(1), r.getString(2), r.getInteger(3),
                      r.getInteger(4), r.getString(5), r.getOffsetDateTime(6).toInstant(),
                      delivered == null ? null : delivered.toInstant(), r.getString(8), r.getString(9),
                      r.getString(10), r.getString(11)));
                }
                return out;
              });
          Future<List<StoredEvent>> events = conn.preparedQuery(EVENTS)
              .execute(Tuple.of(messageId))
              .map(rs -> {
                List<StoredEvent> out = new ArrayList<>();
                for (Row r : rs) {
                  Object detail = r.getValue(2);
                  out.add(new StoredEvent(r.getString(0), r.getString(1),
                      detail instanceof JsonObject j ? j : new JsonObject(String.valueOf(detail)),
                      r.getOffsetDateTime(3).toInstant()));
                }
                return out;
              });
          return Future.all(recipients, events).map(all -> {
            Object tags = m.getValue(5);
            Instant created = m.getOffsetDateTime(7).toInstant();
            return Optional.of(new StoredMessage(m.getString(0), m.getString(1), m.getString(2), m.getString(3),
                m.getString(4), tags instanceof JsonArray a ? a : new JsonArray(String.valueOf(tags)),
                m.getInteger(6), created, m.getBuffer(8).getBytes(), m.getString(9),
                m.getString(10), recipients.result(), withImplicit(created, recipients.result(), events.result()),
                m.getString(11), m.getString(12), m.getString(13), m.getString(14),
                m.getBuffer(15) == null ? null : m.getBuffer(15).getBytes(), m.getString(16)));
          });
        });
  }

  /** A step of a walk over the messages in id order: how many were read, the last, those of the account asked. */
  public record Step(long read, String last, List<String> ids) {}

  /** The messages after id $2 and before $3, $4 at most of any account: how many were read, the last, the account's. */
  static final String STEP = """
      WITH read AS MATERIALIZED (SELECT id, account_id FROM messages WHERE id > $2 AND id < $3 ORDER BY id LIMIT $4)
      SELECT (SELECT count(*) FROM read), (SELECT max(id) FROM read),
        (SELECT array_agg(id ORDER BY id) FROM read WHERE account_id = $1)""";

  /**
   * The ids of {@code accountId}'s messages among the next {@code limit} messages of any account after id {@code after}
   * and before {@code until}, in order: a statement reads a bounded number of messages however few are the account's.
   */
  public Future<Step> step(String accountId, String after, String until, int limit) {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery(STEP)
            .execute(Tuple.of(accountId, after, until, limit)))
        .map(rows -> {
          Row r = rows.iterator().next();
          String[] ids = r.getArrayOfStrings(2);
          return new Step(r.getLong(0), r.getString(1), ids == null ? List.of() : List.of(ids));
        });
  }

  /**
   * The stored events with the Send and the Deliveries added, in time order (the Send first). A message that could
   * not be rendered was never sent: its Rendering Failure is its only event.
   */
  static List<StoredEvent> withImplicit(Instant created, List<StoredRecipient> recipients, List<StoredEvent> stored) {
    List<StoredEvent> all = new ArrayList<>(stored.size() + recipients.size() + 1);
    for (StoredEvent e : stored) {
      if (e.type().equals(EventType.RENDERING_FAILURE.sesName)) {
        return stored;
      }
    }
    all.add(new StoredEvent(EventType.SEND.sesName, null, new JsonObject(), created));
    for (StoredRecipient r : recipients) {
      if (r.deliveredAt() != null) {
        long processing = Math.max(0, r.deliveredAt().toEpochMilli() - created.toEpochMilli());
        all.add(new StoredEvent(EventType.DELIVERY.sesName, r.address(), SesEvents.sentOver(SesEvents.delivery(
            r.deliveredAt(), processing, r.address(), r.smtpReply(), r.reportingMta(), r.remoteMta()), r.outgoingIp(),
            r.outgoingTls()), r.deliveredAt()));
      }
    }
    all.addAll(stored);
    all.sort(Comparator.comparing(StoredEvent::createdAt)); // stable: the Send stays ahead of what shares its time
    return all;
  }
}
