package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

/**
 * Records delivery outcomes: the recipient's new state (final, or queued again with its next
 * attempt time) and its event, in one statement per group of outcomes. Only the node holding the
 * recipient's lease can record an outcome for it: after a lease was taken over (its node was
 * thought dead) a late outcome changes nothing and records no second event.
 */
public final class OutcomeStore {

  /**
   * One recipient's outcome. {@code state} is queued, delivered or bounced; {@code nextAttemptAt}
   * is set when it stays queued; {@code eventType} may be null (nothing to record, e.g. a
   * destination that is paused); {@code countsAsAttempt} is false when nothing was tried.
   */
  public record Outcome(String messageId, int idx, String accountId, String recipient, String state, Integer smtpCode,
      String smtpReply, String eventType, String eventDetailJson, Instant at, Instant nextAttemptAt,
      boolean countsAsAttempt) {}

  private static final String RECORD = """
      WITH o AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[],
                             $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::bool[])
          AS o(mid, idx, acct, rcpt, state, code, reply, type, detail, ts, next_at, counts)
      ), u AS (
        UPDATE recipients r SET state = o.state,
               attempts = r.attempts + CASE WHEN o.counts THEN 1 ELSE 0 END,
               smtp_code = coalesce(o.code, r.smtp_code), smtp_reply = coalesce(o.reply, r.smtp_reply),
               next_attempt_at = coalesce(o.next_at, r.next_attempt_at),
               last_attempt_at = CASE WHEN o.counts THEN o.ts ELSE r.last_attempt_at END,
               lease_owner = NULL, lease_until = NULL, updated_at = o.ts
        FROM o WHERE r.message_id = o.mid AND r.idx = o.idx AND r.state = 'queued' AND r.lease_owner = $13
        RETURNING r.message_id, r.idx
      )
      INSERT INTO events (message_id, account_id, type, recipient, detail, created_at)
      SELECT o.mid, o.acct, o.type, o.rcpt, o.detail::jsonb, o.ts FROM o JOIN u ON u.message_id = o.mid AND u.idx = o.idx
      WHERE o.type IS NOT NULL""";

  private final Pool pool;
  private final String nodeId;
  private final GroupCommit<Outcome> commits;

  public OutcomeStore(Pool pool, String nodeId, int maxInFlight) {
    this.pool = pool;
    this.nodeId = nodeId;
    this.commits = new GroupCommit<>(500, maxInFlight, this::write);
  }

  public Future<Void> record(Outcome outcome) {
    return commits.submit(outcome);
  }

  /** Completes when every outcome recorded so far is written. */
  public Future<Void> flushed() {
    return commits.idle();
  }

  private Future<?> write(List<Outcome> batch) {
    int n = batch.size();
    String[] mid = new String[n];
    Integer[] idx = new Integer[n];
    String[] acct = new String[n];
    String[] rcpt = new String[n];
    String[] state = new String[n];
    Integer[] code = new Integer[n];
    String[] reply = new String[n];
    String[] type = new String[n];
    String[] detail = new String[n];
    OffsetDateTime[] ts = new OffsetDateTime[n];
    OffsetDateTime[] next = new OffsetDateTime[n];
    Boolean[] counts = new Boolean[n];
    for (int i = 0; i < n; i++) {
      Outcome o = batch.get(i);
      mid[i] = o.messageId();
      idx[i] = o.idx();
      acct[i] = o.accountId();
      rcpt[i] = o.recipient();
      state[i] = o.state();
      code[i] = o.smtpCode();
      reply[i] = o.smtpReply();
      type[i] = o.eventType();
      detail[i] = o.eventDetailJson();
      ts[i] = OffsetDateTime.ofInstant(o.at(), ZoneOffset.UTC);
      next[i] = o.nextAttemptAt() == null ? null : OffsetDateTime.ofInstant(o.nextAttemptAt(), ZoneOffset.UTC);
      counts[i] = o.countsAsAttempt();
    }
    return pool.preparedQuery(RECORD).execute(Tuple.from(new Object[] {mid, idx, acct, rcpt, state, code, reply, type,
        detail, ts, next, counts, nodeId}));
  }
}
