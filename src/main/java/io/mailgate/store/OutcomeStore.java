package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

/**
 * Records delivery outcomes: the recipient's new state and its event, in one statement per group
 * of outcomes. An outcome for a recipient that is no longer queued (another node already finished
 * it after taking over an expired lease) changes nothing and records no second event.
 */
public final class OutcomeStore {

  /** One recipient's outcome: its final state and the SES event to record. */
  public record Outcome(String messageId, int idx, String accountId, String recipient, String state, Integer smtpCode,
      String smtpReply, String eventType, String eventDetailJson, Instant at) {}

  private static final String RECORD = """
      WITH o AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[],
                             $8::text[], $9::text[], $10::timestamptz[])
          AS o(mid, idx, acct, rcpt, state, code, reply, type, detail, ts)
      ), u AS (
        UPDATE recipients r SET state = o.state, attempts = r.attempts + 1, smtp_code = o.code, smtp_reply = o.reply,
               lease_owner = NULL, lease_until = NULL, updated_at = o.ts
        FROM o WHERE r.message_id = o.mid AND r.idx = o.idx AND r.state = 'queued'
        RETURNING r.message_id, r.idx
      )
      INSERT INTO events (message_id, account_id, type, recipient, detail, created_at)
      SELECT o.mid, o.acct, o.type, o.rcpt, o.detail::jsonb, o.ts FROM o JOIN u ON u.message_id = o.mid AND u.idx = o.idx""";

  private final Pool pool;
  private final GroupCommit<Outcome> commits;

  public OutcomeStore(Pool pool, int maxInFlight) {
    this.pool = pool;
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
    }
    return pool.preparedQuery(RECORD).execute(Tuple.from(new Object[] {mid, idx, acct, rcpt, state, code, reply, type,
        detail, ts}));
  }
}
