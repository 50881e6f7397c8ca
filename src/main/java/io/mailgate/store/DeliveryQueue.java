package io.mailgate.store;

import io.mailgate.ByteBudget;
import io.mailgate.delivery.DeliveryJob;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The delivery queue is the recipients table: a row is claimable when it is queued and both its next attempt time (a
 * retry waits here, not in memory) and the end of any lease on it have passed. The queue index orders queued rows by
 * the later of the two ({@code greatest(next_attempt_at, lease_until)}), so a recipient in flight is out of the due range
 * and a scan reads only what it can take. {@link #claim} takes claimable rows with {@code FOR UPDATE SKIP LOCKED}, so
 * nodes scanning at the same time never take the same row.
 */
public final class DeliveryQueue {
  /**
   * Claimable rows, the longest claimable first, leased to $2 for $3 seconds. The lease moves the row out of the due
   * range of the index; its next_attempt_at, the fence each outcome of this claim is written against, is left as it was.
   */
  static final String CLAIM = """
      WITH due AS (
        SELECT message_id, idx FROM recipients
        WHERE state = 'queued' AND greatest(next_attempt_at, lease_until) <= now()
        ORDER BY greatest(next_attempt_at, lease_until)
        LIMIT $1::int
        FOR UPDATE SKIP LOCKED
      )
      UPDATE recipients r SET lease_owner = $2, lease_until = now() + $3::int * interval '1 second'
      FROM due WHERE r.message_id = due.message_id AND r.idx = due.idx
      RETURNING r.message_id, r.idx, r.address, r.attempts, r.next_attempt_at""";

  /**
   * The leases earlier runs of this node ($1: the node's id) still hold, given back before this run's first claim: the
   * run that took them is gone (a crash or a restart), so they are claimable at once instead of when they expire. Only
   * the part of the index where a lease in force can end is read, from now() to two leases ahead ($3: a lease's
   * seconds), not the retries due later; a lease that ends later still (written under a longer delivery.leaseSeconds)
   * expires as any other.
   */
  static final String TAKE_BACK = """
      UPDATE recipients SET lease_owner = NULL, lease_until = NULL
      WHERE state = 'queued' AND greatest(next_attempt_at, lease_until) > now()
        AND greatest(next_attempt_at, lease_until) <= now() + 2 * $3::int * interval '1 second'
        AND lease_until > now() AND left(lease_owner, length($1) + 1) = $1 || '/' AND lease_owner <> $2""";

  /** Recipients given back at once, of several messages ($1/$2 pairs), under this node's lease $3. */
  private static final String RELEASE_ALL = """
      UPDATE recipients r SET lease_owner = NULL, lease_until = NULL
      FROM unnest($1::text[], $2::int[]) AS g(message_id, idx)
      WHERE r.message_id = g.message_id AND r.idx = g.idx AND r.lease_owner = $3""";

  /** What each message's content would take in memory (its length, from the stored header: nothing is read). */
  private static final String SIZES = "SELECT id, octet_length(content) FROM messages WHERE id = ANY($1)";

  private static final String MESSAGES = """
      SELECT id, account_id, envelope_from, content, created_at, verp_domain, configuration_set, contact_list,
             contact_list_topic, identity_account, tenant_id
      FROM messages WHERE id = ANY($1)""";

  private static final String RELEASE = """
      UPDATE recipients SET lease_owner = NULL, lease_until = NULL,
        next_attempt_at = CASE WHEN $4::int > 0 THEN now() + $4::int * interval '1 second' ELSE next_attempt_at END
      WHERE message_id = $1 AND idx = ANY($2::int[]) AND lease_owner = $3""";

  /**
   * Leases held again for another full term: recipients $2/$3 still queued under this node's lease $1, those that can
   * be locked now. One whose row a statement holds (its own outcome, waiting on a lock of its account's counters) is
   * passed over, not waited for: a renewal waiting behind it held up every other lease's renewal. It is tried again at
   * the next renewal (and the outcome, once written, lets the lease go). Run with {@link Database#INDEX_SCAN_ONLY}: a
   * probe of the primary key for each.
   */
  static final String RENEW = """
      WITH h AS (
        SELECT r.message_id, r.idx FROM recipients r
        JOIN unnest($2::text[], $3::int[]) AS g(message_id, idx) ON r.message_id = g.message_id AND r.idx = g.idx
        WHERE r.lease_owner = $1 AND r.state = 'queued'
        FOR NO KEY UPDATE OF r SKIP LOCKED
      )
      UPDATE recipients r SET lease_until = now() + $4::int * interval '1 second'
      FROM h WHERE r.message_id = h.message_id AND r.idx = h.idx
      RETURNING r.message_id, r.idx""";

  private final Pool pool;
  private final String leaseOwner;
  private final String nodeId;
  private final int leaseSeconds;
  /** Whether the earlier runs' leases were given back ({@link #TAKE_BACK}): once, by the first claim that commits. */
  private volatile boolean tookBack;

  /** @param leaseOwner this run of the node: {@code <node.id>/<start time>} */
  public DeliveryQueue(Pool pool, String leaseOwner, int leaseSeconds) {
    this.pool = pool;
    this.leaseOwner = leaseOwner;
    this.nodeId = leaseOwner.substring(0, leaseOwner.indexOf('/'));
    this.leaseSeconds = leaseSeconds;
  }

  /**
   * Leases up to {@code limit} due recipients to this node and returns them grouped by message.
   * Due: their lease expired, or was held by an earlier run of this node (a crash or restart),
   * which is taken back at once (by this run's first claim) instead of after it expires.
   */
  public Future<List<DeliveryJob>> claim(int limit) {
    return claim(limit, null);
  }

  /**
   * As {@link #claim(int)}, with no more message content read than {@code contents} can take: each message's content
   * is taken from it (the caller gives it back when the message is done), and the recipients of messages it cannot
   * take are given back at once, for a later scan. A backlog of large messages is read a few at a time, not a
   * thousand. Null: no bound.
   */
  public Future<List<DeliveryJob>> claim(int limit, ByteBudget contents) {
    Map<String, Long> taken = new LinkedHashMap<>(); // what the budget gave, until the caller holds it
    boolean takingBack = !tookBack;
    return Database.indexScansOnly(pool, conn -> (takingBack
        ? conn.preparedQuery(TAKE_BACK).execute(Tuple.of(nodeId, leaseOwner, leaseSeconds)).<Void>mapEmpty()
        : Future.<Void>succeededFuture())
        .compose(v -> conn.preparedQuery(CLAIM).execute(Tuple.of(limit, leaseOwner, leaseSeconds)))
        .compose(rows -> {
          // the most overdue first (UPDATE ... RETURNING keeps no order of its own)
          List<Row> due = new ArrayList<>(rows.size());
          rows.forEach(due::add);
          due.sort(java.util.Comparator.comparing(r -> r.getOffsetDateTime(4)));
          Map<String, List<DeliveryJob.Recipient>> byMessage = new LinkedHashMap<>();
          for (Row r : due) {
            byMessage.computeIfAbsent(r.getString(0), k -> new ArrayList<>())
                .add(new DeliveryJob.Recipient(r.getShort(1), r.getString(2), r.getInteger(3),
                    r.getOffsetDateTime(4).toInstant()));
          }
          if (byMessage.isEmpty()) {
            return Future.succeededFuture(List.<DeliveryJob>of());
          }
          Future<java.util.Collection<String>> ids = contents == null
              ? Future.succeededFuture(byMessage.keySet())
              : conn.preparedQuery(SIZES).execute(Tuple.of(byMessage.keySet().toArray(String[]::new)))
                  .compose(sizes -> take(conn, sizes, byMessage, contents, taken)).map(v -> taken.keySet());
          return ids.compose(read -> read.isEmpty() ? Future.succeededFuture(List.<DeliveryJob>of())
              : conn.preparedQuery(MESSAGES).execute(Tuple.of(read.toArray(String[]::new)))
              .map(messages -> {
                List<DeliveryJob> jobs = new ArrayList<>();
                for (Row m : messages) {
                  Buffer content = m.getBuffer(3);
                  jobs.add(new DeliveryJob(m.getString(0), m.getString(1), m.getString(2), m.getString(5),
                      m.getString(6), byMessage.get(m.getString(0)), content.getBytes(),
                      m.getOffsetDateTime(4).toInstant(), m.getString(7), m.getString(8), m.getString(9),
                      m.getString(10)));
                }
                return jobs;
              }));
        }))
        .andThen(claimed -> {
          // the caller holds what it got (committed); the rest goes back: all of it when the claim or its commit failed,
          // or a message that went meanwhile
          if (claimed.succeeded()) {
            tookBack |= takingBack;
            for (DeliveryJob job : claimed.result()) {
              taken.remove(job.messageId());
            }
          }
          for (long size : taken.values()) {
            contents.release(size);
          }
        });
  }

  /**
   * Takes from {@code contents} the content of each message it can ({@code taken}: id and size), the most overdue first;
   * the recipients of the others are given back in the same transaction, in one statement. A large message that does
   * not fit yet reserves its room ({@link ByteBudget#takeInTurn}), so the smaller ones taken meanwhile cannot pass it
   * over for ever. A message that is gone, which the caller would not see either, is left to its lease.
   */
  private Future<Void> take(SqlConnection conn, RowSet<Row> sizes, Map<String, List<DeliveryJob.Recipient>> byMessage,
      ByteBudget contents, Map<String, Long> taken) {
    Map<String, Long> sizeOf = new java.util.HashMap<>();
    for (Row r : sizes) {
      sizeOf.put(r.getString(0), r.getLong(1));
    }
    List<String> backIds = new ArrayList<>();
    List<Integer> backIdx = new ArrayList<>();
    for (Map.Entry<String, List<DeliveryJob.Recipient>> e : byMessage.entrySet()) {
      Long size = sizeOf.get(e.getKey());
      if (size == null) {
        continue;
      }
      if (contents.takeInTurn(e.getKey(), size)) {
        taken.put(e.getKey(), size);
      } else {
        for (DeliveryJob.Recipient r : e.getValue()) {
          backIds.add(e.getKey());
          backIdx.add(r.idx());
        }
      }
    }
    return backIds.isEmpty() ? Future.succeededFuture() : conn.preparedQuery(RELEASE_ALL)
        .execute(Tuple.of(backIds.toArray(String[]::new), backIdx.toArray(Integer[]::new), leaseOwner)).mapEmpty();
  }

  private static Integer[] idx(List<DeliveryJob.Recipient> recipients) {
    return recipients.stream().map(DeliveryJob.Recipient::idx).toArray(Integer[]::new);
  }

  /**
   * Extends this node's leases on recipients it is still delivering ({@code messageIds[i]}, {@code idx[i]}) to a full
   * term from now, so that no other scan takes over an attempt that is only slow (a server that takes minutes to
   * answer, a site whose connections are all busy). A lease this node no longer holds is left alone, and so is a row
   * another statement holds ({@link #RENEW}). Completes with the recipients renewed, as {@code messageId + "/" + idx}.
   */
  public Future<java.util.Set<String>> renew(String[] messageIds, Integer[] idx) {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery(RENEW)
        .execute(Tuple.of(leaseOwner, messageIds, idx, leaseSeconds))
        .map(rows -> {
          java.util.Set<String> renewed = new java.util.HashSet<>();
          for (Row r : rows) {
            renewed.add(r.getString(0) + "/" + r.getShort(1));
          }
          return renewed;
        }));
  }

  /** Gives recipients back to the queue (shutdown, or more work than fits in memory). */
  public Future<Void> release(String messageId, List<DeliveryJob.Recipient> recipients) {
    return releaseFor(messageId, recipients, 0);
  }

  /**
   * Gives recipients back to be claimed again in {@code seconds}, not at the next scan: what could not be prepared now
   * (its suppression list or settings unreadable) would otherwise go round claim, fail, release as fast as the
   * scans come.
   */
  public Future<Void> releaseFor(String messageId, List<DeliveryJob.Recipient> recipients, int seconds) {
    return pool.preparedQuery(RELEASE).execute(Tuple.of(messageId, idx(recipients), leaseOwner, seconds)).mapEmpty();
  }
}
