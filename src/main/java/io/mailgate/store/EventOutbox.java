package io.mailgate.store;

import io.mailgate.events.SesEvents;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The event outbox: events written with what they record (a send, an outcome, a report), waiting to be posted to
 * their destination's webhook. A node claims due rows by pushing their next attempt past the time a post may take
 * (the lease: a node that dies leaves them due again); a row is deleted once its webhook took it, or given up.
 */
public final class EventOutbox {
  /**
   * A claimed event and its destination. {@code attempts} counts this one; {@code enabled} is false when the
   * destination was disabled since, or no longer takes the event's type (its types were changed: what waits is then
   * no more its to post, whatever URL it has now); events of a deleted one are not claimed ({@link #SWEEP} drops them).
   * {@code secretGeneration}: of the account's webhook secret; {@code previousSecretUntil}: until when the previous
   * generation signs too (null: it does not). {@code identity}: set when the destination is that identity's
   * notification topic (posted as SES's notification, with the headers when {@code withHeaders}), null for a
   * configuration set's event destination. {@code leaseUntil}: the lease this claim took (the row's next_attempt_at),
   * which what the claimer writes of the row after is fenced on: once the lease ran out and another claim took the
   * row, the first claimer's release, retry or put-off changes nothing.
   */
  public record Due(long id, long destinationId, String messageId, String type, String recipient, JsonObject detail,
      Instant createdAt, int attempts, String accountId, String url, boolean enabled, int secretGeneration,
      Instant previousSecretUntil, String identity, boolean withHeaders, Instant leaseUntil) {
    /** The same event, to be posted to {@code newUrl} (its destination's URL was changed while it was held). */
    public Due withUrl(String newUrl) {
      return new Due(id, destinationId, messageId, type, recipient, detail, createdAt, attempts, accountId, newUrl,
          enabled, secretGeneration, previousSecretUntil, identity, withHeaders, leaseUntil);
    }
  }

  /** A destination as it is now: where its events go, whether it is enabled, the event types it takes. */
  public record DestinationNow(String url, boolean enabled, java.util.Set<String> types) {
    /** Whether an event of {@code type} held for it is still to be posted (to {@link #url}). */
    public boolean takes(String type) {
      return enabled && types.contains(type);
    }
  }

  /**
   * Due events, at most {@code $3} of each destination not in {@code $4}, the oldest {@code $1} of those: one
   * destination's backlog cannot fill a claim while another destination's events wait. The destinations looked at
   * are those with events in the outbox, found by skipping through its destination index from one destination to
   * the next ({@code waiting}: one index descent each), so that the thousands of configuration sets and identity
   * topics that have nothing waiting cost nothing, idle or under load. One index probe per such destination, read
   * in order and only as far as the limit ({@link Database#INDEX_SCAN_ONLY}); rows whose destination is gone are
   * left to {@link #SWEEP}. Written so that statistics cannot steer it elsewhere: once the outbox was analyzed (as
   * autovacuum does, and the benchmark's server never did), the planner read every destination to hash-join the few
   * waiting, and took each destination's events from the due index, skipping every other destination's (6,000 rows
   * a probe with two destinations). Each destination is now looked up from {@code waiting} (a lateral probe), and
   * its events are bounded by a row comparison only its own index can serve.
   */
  static final String CLAIM = """
      WITH RECURSIVE waiting(id) AS (
        (SELECT e.destination_id FROM event_outbox e ORDER BY e.destination_id LIMIT 1)
        UNION ALL
        SELECT (SELECT e.destination_id FROM event_outbox e WHERE e.destination_id > w.id
                ORDER BY e.destination_id LIMIT 1)
        FROM waiting w WHERE w.id IS NOT NULL)
      UPDATE event_outbox o SET next_attempt_at = now() + $2::int * interval '1 second', attempts = o.attempts + 1
      FROM (SELECT e.id, d.account_id, d.url, d.enabled, d.event_types, a.webhook_secret_generation,
                   a.webhook_previous_until, d.identity, i.notification_headers
            FROM waiting w CROSS JOIN LATERAL (SELECT * FROM event_destinations d WHERE d.id = w.id LIMIT 1) d
            JOIN accounts a ON a.id = d.account_id
            LEFT JOIN identities i ON i.account_id = d.account_id AND i.identity = d.identity
            CROSS JOIN LATERAL (SELECT e.id, e.next_attempt_at FROM event_outbox e
                                WHERE e.destination_id = d.id
                                  AND (e.destination_id, e.next_attempt_at) <= (d.id, now())
                                ORDER BY e.destination_id, e.next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) e
            WHERE d.id <> ALL($4::bigint[])
            ORDER BY e.next_attempt_at LIMIT $1) due
      WHERE o.id = due.id
      RETURNING o.id, o.destination_id, o.message_id, o.type, o.recipient, o.detail, o.created_at, o.attempts,
                due.account_id, due.url, due.enabled AND o.type = ANY(due.event_types), due.webhook_secret_generation,
                due.webhook_previous_until,
                due.identity, coalesce(o.type = ANY(due.notification_headers), false), o.next_attempt_at""";

  /**
   * After a message {@code m}, lateral: the identity that sent it ({@code identity}, {@code feedback_forwarding}), its
   * Source address when that is a verified identity of the account, else the most specific verified domain of the
   * address's domain and its parents (whose settings apply to the addresses that are not identities of their own, as
   * in SES). For a delegate's message it is the other account's identity the delegate sent from
   * ({@code identity_account}, {@code identity_name}). The domain names are {@code a.b.example.com},
   * {@code b.example.com}, {@code example.com}: a single label only when the domain is one.
   */
  static final String SENDER_IDENTITY = """
      (SELECT i.identity, i.feedback_forwarding, i.account_id FROM identities i
       WHERE i.account_id = coalesce(m.identity_account, m.account_id)
         AND (i.identity = lower(m.source) OR i.identity = ANY (ARRAY(
               SELECT array_to_string(l[n:], '.')
               FROM string_to_array(lower(substring(m.source from '[^@]*$')), '.') l,
                    generate_series(1, greatest(cardinality(l) - 1, 1)) n)))
         AND i.verification_status = 'SUCCESS'
       ORDER BY i.identity = m.identity_name DESC, i.type = 'EMAIL_ADDRESS' DESC, length(i.identity) DESC
       LIMIT 1)""";

  /** Joined after a message {@code m}: the notification topics ({@code ed}) of the identity that sent it. */
  static final String SENDER_TOPICS = "CROSS JOIN LATERAL " + SENDER_IDENTITY + """
       sender
      JOIN event_destinations ed ON ed.account_id = sender.account_id AND ed.identity = sender.identity""";

  /** The {@code mail} objects' facts of messages {@code $1}: probes of the primary keys (no bitmap, no sort). */
  static final String MAILS = "SELECT m.id, m.account_id, m.source, m.configuration_set, m.tags, m.created_at, "
      + "substring(m.content from 1 for " + MessageQuery.HEADER_BYTES + "), m.source_ip, m.caller_identity, "
      + "ARRAY(SELECT r.address FROM recipients r WHERE r.message_id = m.id ORDER BY r.idx), m.identity_account, "
      + "m.identity_name, m.operation, m.replaced_fields, m.source_tls "
      + "FROM messages m WHERE m.id = ANY($1)";

  /**
   * Due events whose destination is gone (deleted while a statement wrote them): dropped. Deleting a destination or
   * its configuration set deletes its waiting events itself; this catches what raced it.
   */
  static final String SWEEP = """
      DELETE FROM event_outbox e WHERE e.next_attempt_at <= now()
      AND NOT EXISTS (SELECT 1 FROM event_destinations d WHERE d.id = e.destination_id)""";

  private final Pool pool;
  private final String region;

  public EventOutbox(Pool pool, String region) {
    this.pool = pool;
    this.region = region;
  }

  /**
   * Up to {@code limit} due events, at most {@code perDestination} of each destination and none of {@code skip}'s,
   * leased for {@code leaseSeconds}.
   */
  public Future<List<Due>> claim(int limit, int perDestination, List<Long> skip, int leaseSeconds) {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery(CLAIM).execute(Tuple.of(limit, leaseSeconds,
        perDestination, skip.toArray(Long[]::new)))).map(rows -> {
      List<Due> out = new ArrayList<>(rows.size());
      for (Row r : rows) {
        Object detail = r.getValue(5);
        out.add(new Due(r.getLong(0), r.getLong(1), r.getString(2), r.getString(3), r.getString(4),
            detail instanceof JsonObject j ? j : new JsonObject(String.valueOf(detail)),
            r.getOffsetDateTime(6).toInstant(), r.getInteger(7), r.getString(8), r.getString(9), r.getBoolean(10),
            r.getInteger(11), r.getOffsetDateTime(12) == null ? null : r.getOffsetDateTime(12).toInstant(),
            r.getString(13), r.getBoolean(14), r.getOffsetDateTime(15).toInstant()));
      }
      return out;
    });
  }

  /**
   * What the {@code mail} objects of these messages (those still kept: retention may have deleted one) are made of:
   * headers from the start of the content, destination from the recipients.
   */
  public Future<Map<String, SesEvents.MailFacts>> mails(List<String> messageIds) {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery(MAILS)
        .execute(Tuple.of(messageIds.toArray(String[]::new))))
        .map(rows -> {
          Map<String, SesEvents.MailFacts> out = new HashMap<>();
          for (Row m : rows) {
            Object tags = m.getValue(4);
            out.put(m.getString(0), new SesEvents.MailFacts(m.getString(0), m.getString(1), region,
                m.getString(2), m.getOffsetDateTime(5).toInstant(), List.of(m.getArrayOfStrings(9)), m.getString(3),
                tags instanceof JsonArray a ? a : new JsonArray(String.valueOf(tags)), m.getBuffer(6).getBytes(),
                m.getString(7), m.getString(8), m.getString(10), m.getString(11), m.getString(12),
                m.getBuffer(13) == null ? null : m.getBuffer(13).getBytes(),
                m.getString(14)));
          }
          return out;
        });
  }

  /** Destinations {@code $1} as they are now (one probe of the primary key each). */
  static final String DESTINATIONS = "SELECT id, url, enabled, event_types FROM event_destinations WHERE id = ANY($1)";

  /**
   * Destinations {@code ids} as they are now, by id; one that is not in the map was deleted. A node reads again those
   * it holds events for before posting them: what it read at their claim may have changed since.
   */
  public Future<Map<Long, DestinationNow>> destinations(List<Long> ids) {
    return pool.preparedQuery(DESTINATIONS).execute(Tuple.of(ids.toArray(Long[]::new))).map(rows -> {
      Map<Long, DestinationNow> out = new HashMap<>();
      for (Row r : rows) {
        out.put(r.getLong(0), new DestinationNow(r.getString(1), r.getBoolean(2),
            java.util.Set.copyOf(java.util.Arrays.asList(r.getArrayOfStrings(3)))));
      }
      return out;
    });
  }

  /** Drops due events whose destination is gone; how many. */
  public Future<Integer> sweep() {
    return pool.preparedQuery(SWEEP).execute().map(r -> r.rowCount());
  }

  /**
   * Drops due events created before {@code before} (events.maxAgeHours ago), at most {@code limit}; how many. A
   * webhook down for hours leaves a backlog that only claims would otherwise drop, a claim at a time.
   */
  public Future<Integer> dropOlderThan(Instant before, int limit) {
    return pool.preparedQuery("DELETE FROM event_outbox WHERE id IN (SELECT id FROM event_outbox "
            + "WHERE next_attempt_at <= now() AND created_at < $1 LIMIT $2)")
        .execute(Tuple.of(Timestamps.utc(before), limit)).map(r -> r.rowCount());
  }

  /** Events done with: taken by their webhook, or given up. */
  public Future<Void> remove(List<Long> ids) {
    return pool.preparedQuery("DELETE FROM event_outbox WHERE id = ANY($1)")
        .execute(Tuple.of(ids.toArray(Long[]::new))).mapEmpty();
  }

  /**
   * An event to try again at {@code at}, with what went wrong: unless its lease ran out and another claim took it (the
   * other claimer decides what becomes of it).
   */
  public Future<Void> retry(Due due, Instant at, String error) {
    String text = error == null ? "failed" : error.length() > 500 ? error.substring(0, 500) : error;
    return pool.preparedQuery("UPDATE event_outbox SET next_attempt_at = $2, last_error = $3 "
            + "WHERE id = $1 AND next_attempt_at = $4")
        .execute(Tuple.of(due.id(), Timestamps.utc(at), text, Timestamps.utc(due.leaseUntil()))).mapEmpty();
  }

  /** How far past its {@code at} {@link #putOff} spreads the events it puts off. */
  public static final Duration PUT_OFF_SPREAD = Duration.ofSeconds(10);

  /**
   * Makes due now the events {@link #putOff} put off to {@code at} (their destination's pause is lifted): those due
   * from {@code at} to {@link #PUT_OFF_SPREAD} after it. Completes with how many. An event another node claimed whose
   * lease happens to end in that span becomes due too, and may be posted twice (webhooks are at least once).
   */
  public Future<Integer> bringForward(long destinationId, Instant at) {
    return pool.preparedQuery("UPDATE event_outbox SET next_attempt_at = now() WHERE destination_id = $1 "
            + "AND next_attempt_at >= $2 AND next_attempt_at <= $2 + $3::int * interval '1 second'")
        .execute(Tuple.of(destinationId, Timestamps.utc(at), (int) PUT_OFF_SPREAD.toSeconds()))
        .map(io.vertx.sqlclient.SqlResult::rowCount);
  }

  /**
   * Puts off claimed events of a failing destination, unattempted, to {@code at} (spread over the next ten seconds).
   * Only those: the rest of its backlog stays as it is (claims pass a paused destination by), so a webhook down for
   * hours does not have its whole backlog rewritten at each pause. Those still under the lease their claim took.
   */
  public Future<Void> putOff(long destinationId, List<Due> claimed, Instant at) {
    return pool.preparedQuery("UPDATE event_outbox o SET next_attempt_at = $2 + random() * interval '"
            + PUT_OFF_SPREAD.toSeconds() + " seconds', "
            + "attempts = greatest(o.attempts - 1, 0) FROM unnest($3::bigint[], $4::timestamptz[]) AS l(id, lease) "
            + "WHERE o.destination_id = $1 AND o.id = l.id AND o.next_attempt_at = l.lease")
        .execute(Tuple.of(destinationId, Timestamps.utc(at), ids(claimed), leases(claimed))).mapEmpty();
  }

  /**
   * Claimed events put back unattempted, due at {@code at}: the claim does not count as an attempt. Those still under
   * the lease their claim took.
   */
  public Future<Void> release(List<Due> claimed, Instant at) {
    return pool.preparedQuery("UPDATE event_outbox o SET next_attempt_at = $3, attempts = greatest(o.attempts - 1, 0) "
            + "FROM unnest($1::bigint[], $2::timestamptz[]) AS l(id, lease) "
            + "WHERE o.id = l.id AND o.next_attempt_at = l.lease")
        .execute(Tuple.of(ids(claimed), leases(claimed), Timestamps.utc(at))).mapEmpty();
  }

  private static Long[] ids(List<Due> due) {
    return due.stream().map(Due::id).toArray(Long[]::new);
  }

  private static java.time.OffsetDateTime[] leases(List<Due> due) {
    return due.stream().map(d -> Timestamps.utc(d.leaseUntil())).toArray(java.time.OffsetDateTime[]::new);
  }
}
