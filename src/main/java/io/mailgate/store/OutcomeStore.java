package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.logging.Logger;

/**
 * Records delivery outcomes: the recipient's new state (final, or queued again with its next
 * attempt time), its event (and its rows in the event outbox), what goes on the suppression lists and what counts
 * toward reputation, in one statement per group of outcomes. Only the node holding the
 * recipient's lease can record an outcome for it: after a lease was taken over (its node was
 * thought dead) a late outcome changes nothing and records no second event. A final bounce is also written for
 * email feedback forwarding ({@link FeedbackForwards}), in the same statement. (Only queued
 * recipients are leased, so the lease check also means "still queued"; saying state = 'queued'
 * as well would steer PostgreSQL to scan the queue index instead of looking up each row.)
 */
public final class OutcomeStore {
  private static final Logger LOG = Logger.getLogger(OutcomeStore.class.getName());

  /**
   * One recipient's outcome. {@code state} is queued, delivered or bounced; {@code nextAttemptAt}
   * is set when it stays queued (on the node's clock, as {@code at} is: what is stored is the database's now() plus the
   * delay from {@code at} to it); {@code eventType} may be null (nothing to record, e.g. a
   * destination that is paused); {@code countsAsAttempt} is false when nothing was tried;
   * {@code delivery} is set when the recipient was delivered (its event is then implicit); {@code publish} is set
   * when the message has a configuration set, or its account identity notification topics: its event (a Delivery too)
   * then goes to those of the set's event destinations, and of its sender's topics, that take its type;
   * {@code tenantId} is the id of the tenant the message was sent for (null: none), whose reputation counts it too;
   * {@code due} is the recipient's next_attempt_at when this attempt's claim leased it: the outcome applies only while
   * the row still has it, so an outcome written again after its first write committed (its answer lost) cannot land
   * on a later claim of the same row by the same node run (the lease owner alone cannot tell them apart). Every
   * outcome that stays queued moves next_attempt_at. Null: no claim to fence (tests that write outcomes directly).
   */
  public record Outcome(String messageId, int idx, String accountId, String recipient, String state, Integer smtpCode,
      String smtpReply, String eventType, String eventDetailJson, Instant at, Instant nextAttemptAt,
      boolean countsAsAttempt, Consequences consequences, Delivery delivery, Publish publish, String tenantId,
      Instant due) {

    /** An outcome with no claim to fence it. */
    public Outcome(String messageId, int idx, String accountId, String recipient, String state, Integer smtpCode,
        String smtpReply, String eventType, String eventDetailJson, Instant at, Instant nextAttemptAt,
        boolean countsAsAttempt, Consequences consequences, Delivery delivery, Publish publish, String tenantId) {
      this(messageId, idx, accountId, recipient, state, smtpCode, smtpReply, eventType, eventDetailJson, at,
          nextAttemptAt, countsAsAttempt, consequences, delivery, publish, tenantId, null);
    }

    /** An outcome of a message sent for no tenant. */
    public Outcome(String messageId, int idx, String accountId, String recipient, String state, Integer smtpCode,
        String smtpReply, String eventType, String eventDetailJson, Instant at, Instant nextAttemptAt,
        boolean countsAsAttempt, Consequences consequences, Delivery delivery, Publish publish) {
      this(messageId, idx, accountId, recipient, state, smtpCode, smtpReply, eventType, eventDetailJson, at,
          nextAttemptAt, countsAsAttempt, consequences, delivery, publish, null);
    }
  }

  /**
   * An event for the event outbox: the message's configuration set (or null), the event's type and detail, and whether
   * its sender's notification topics are to be looked for ({@code senderTopics}: the account has some).
   */
  public record Publish(String configurationSet, String type, String detailJson, boolean senderTopics) {}

  /**
   * The event outbox rows of the outcomes in {@code done}: one per destination of the configuration set that is enabled
   * and takes the type. Destinations are read without a lock: one deleted meanwhile may get a row, which its publisher
   * drops (a lock, or a foreign key, would let a tenant's delete fail a batch of other tenants' outcomes).
   */
  private static final String PUBLISH = """
        INSERT INTO event_outbox (destination_id, message_id, type, recipient, detail, created_at, next_attempt_at)
        SELECT ed.id, d.mid, d.ptype, d.rcpt, d.pdetail::jsonb, d.ts, d.ts
        FROM done d JOIN event_destinations ed ON ed.account_id = d.acct AND ed.configuration_set = d.cs
        WHERE d.ptype IS NOT NULL AND ed.enabled AND d.ptype = ANY(ed.event_types)""";

  /**
   * {@link #PUBLISH}, and one row per notification topic of the message's sender that takes the type, for the outcomes
   * marked {@code topics} (the others do not read their message). Only batches with such an outcome use it: the
   * others are not planned with its joins.
   */
  private static final String PUBLISH_WITH_TOPICS = PUBLISH + """

        UNION ALL
        SELECT ed.id, d.mid, d.ptype, d.rcpt, d.pdetail::jsonb, d.ts, d.ts
        FROM done d JOIN messages m ON m.id = d.mid
        """ + EventOutbox.SENDER_TOPICS + """

        WHERE d.topics AND ed.enabled AND d.ptype = ANY(ed.event_types)""";

  /**
   * A delivery, kept on the recipient row (delivered_at, remote_mta, reporting_mta, and the connection it went over:
   * outgoing_ip, outgoing_tls) instead of as an event row: {@link MessageQuery} renders the Delivery event from there.
   */
  public record Delivery(String remoteMta, String reportingMta, String outgoingIp, String outgoingTls) {
    public Delivery(String remoteMta, String reportingMta) {
      this(remoteMta, reportingMta, null, null);
    }
  }

  /**
   * What an outcome does beyond its recipient: {@code suppress} adds the address to the account's
   * list for that reason (when the account suppresses for it); {@code global} to the global list;
   * {@code sent} and {@code hardBounce} count toward the account's reputation.
   */
  public record Consequences(String suppress, String feedbackId, boolean global, boolean sent, boolean hardBounce) {
    public static final Consequences NONE = new Consequences(null, null, false, false, false);
  }

  /**
   * The recipient's new state, the same in both statements. Its next attempt is stored as a delay from the database's
   * clock ({@code next_at - ts}: both are the node's), which claims compare with: a node whose clock is behind would
   * otherwise retry at once, and one ahead hold the recipient back for as long.
   */
  private static final String UPDATE_RECIPIENTS = """
        UPDATE recipients r SET state = o.state,
               attempts = r.attempts + CASE WHEN o.counts THEN 1 ELSE 0 END,
               smtp_code = coalesce(o.code, r.smtp_code), smtp_reply = coalesce(o.reply, r.smtp_reply),
               next_attempt_at = coalesce(now() + (o.next_at - o.ts), r.next_attempt_at),
               last_attempt_at = CASE WHEN o.counts THEN o.ts ELSE r.last_attempt_at END,
               delivered_at = CASE WHEN o.state = 'delivered' THEN o.ts ELSE r.delivered_at END,
               remote_mta = CASE WHEN o.state = 'delivered' THEN o.remote_mta ELSE r.remote_mta END,
               reporting_mta = CASE WHEN o.state = 'delivered' THEN o.reporting_mta ELSE r.reporting_mta END,
               outgoing_ip = CASE WHEN o.state = 'delivered' THEN o.outgoing_ip ELSE r.outgoing_ip END,
               outgoing_tls = CASE WHEN o.state = 'delivered' THEN o.outgoing_tls ELSE r.outgoing_tls END,
               lease_owner = NULL, lease_until = NULL, updated_at = o.ts
""";

  /** The claim the outcome belongs to still holds the row: its next_attempt_at is the one it was leased with. */
  private static final String CLAIM_FENCE = "r.next_attempt_at = coalesce(o.due, r.next_attempt_at)";

  /**
   * The recipients' update ({@code u}) where the lease owner is parameter {@code $leaseParameter}, and the outcomes
   * it applied to ({@code done}): a recipient whose lease was taken over is left alone, and so are its outcome's
   * other effects.
   */
  private static String appliedBy(int leaseParameter) {
    return "), u AS (\n" + UPDATE_RECIPIENTS
        + "  FROM o WHERE r.message_id = o.mid AND r.idx = o.idx AND r.lease_owner = $" + leaseParameter + "\n"
        + "    AND " + CLAIM_FENCE + "\n"
        + "  RETURNING r.message_id, r.idx\n"
        + "), done AS (\n"
        + "  SELECT o.* FROM o JOIN u ON u.message_id = o.mid AND u.idx = o.idx\n";
  }

  /**
   * The general statement: any outcome, with its event, suppressions and reputation counts. Its
   * plan is five statements in one, and PostgreSQL plans it anew for each batch.
   */
  private static String record(String publish) {
    return """
      WITH o AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[],
                             $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::bool[],
                             $14::text[], $15::text[], $16::bool[], $17::bool[], $18::bool[], $19::text[], $20::text[],
                             $21::text[], $22::text[], $23::text[], $24::bool[], $25::text[],
                             $26::timestamptz[], $27::text[], $28::text[])
          AS o(mid, idx, acct, rcpt, state, code, reply, type, detail, ts, next_at, counts,
               suppress, feedback, global, sent, hard, remote_mta, reporting_mta, cs, ptype, pdetail, topics, tenant,
               due, outgoing_ip, outgoing_tls)
      """ + appliedBy(13) + """
      ), s AS (
        INSERT INTO suppressed_destinations (account_id, email, reason, message_id, feedback_id, last_update)
        SELECT DISTINCT ON (d.acct, lower(d.rcpt)) d.acct, lower(d.rcpt), d.suppress, d.mid, d.feedback, d.ts
        FROM done d JOIN accounts a ON a.id = d.acct JOIN messages m ON m.id = d.mid
        LEFT JOIN configuration_sets cs ON cs.account_id = m.account_id AND cs.name = m.configuration_set
        WHERE d.suppress IS NOT NULL AND d.suppress = ANY(coalesce(cs.suppressed_reasons, a.suppressed_reasons))
        ORDER BY d.acct, lower(d.rcpt), d.ts DESC
        ON CONFLICT (account_id, email) DO UPDATE SET reason = EXCLUDED.reason, message_id = EXCLUDED.message_id,
          feedback_id = EXCLUDED.feedback_id, last_update = EXCLUDED.last_update
      ), g AS (
        INSERT INTO global_suppression (email, last_bounce, bounces, message_id)
        SELECT DISTINCT ON (lower(d.rcpt)) lower(d.rcpt), d.ts, 1, d.mid FROM done d WHERE d.global
        ORDER BY lower(d.rcpt), d.ts DESC
        ON CONFLICT (email) DO UPDATE SET last_bounce = EXCLUDED.last_bounce,
          bounces = global_suppression.bounces + 1, message_id = EXCLUDED.message_id
      ), rep AS (
        INSERT INTO reputation_buckets (account_id, bucket, sent, hard_bounces, complaints)
        SELECT d.acct, to_timestamp(floor(extract(epoch FROM d.ts) / 300) * 300),
               count(*) FILTER (WHERE d.sent), count(*) FILTER (WHERE d.hard), 0
        FROM done d WHERE d.sent OR d.hard GROUP BY 1, 2 ORDER BY 1, 2 -- one lock order for every batch
        ON CONFLICT (account_id, bucket) DO UPDATE SET sent = reputation_buckets.sent + EXCLUDED.sent,
          hard_bounces = reputation_buckets.hard_bounces + EXCLUDED.hard_bounces
        RETURNING 1
      ), trep AS (
      """ + tenantReputation(true) + """
      ), pub AS (
      """ + publish + """
      ), fwd AS (
      """ + FeedbackForwards.FROM_OUTCOMES + """
      )
      INSERT INTO events (message_id, account_id, type, recipient, detail, created_at)
      SELECT d.mid, d.acct, d.type, d.rcpt, d.detail::jsonb, d.ts FROM done d WHERE d.type IS NOT NULL""";
  }

  /**
   * The outcomes' counts toward their tenants' reputation (V34), from {@code done}, by the tenant's id ({@code tenant}
   * in the outcomes). It reads {@code rep}, the account's count, so that rep's rows are locked first: every statement
   * locks an account's bucket before its tenant's (as {@code FeedbackStore} does), or two could deadlock.
   * {@code hard}: the outcomes have a {@code hard} column.
   */
  private static String tenantReputation(boolean hard) {
    return """
        INSERT INTO tenant_reputation_buckets (account_id, tenant_id, bucket, sent, hard_bounces, complaints)
        SELECT d.acct, d.tenant, to_timestamp(floor(extract(epoch FROM d.ts) / 300) * 300),
               count(*) FILTER (WHERE d.sent), %s, 0
        FROM done d
        WHERE d.tenant IS NOT NULL AND (d.sent%s) AND (SELECT count(*) FROM rep) >= 0
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, tenant_id, bucket) DO UPDATE
          SET sent = tenant_reputation_buckets.sent + EXCLUDED.sent,
              hard_bounces = tenant_reputation_buckets.hard_bounces + EXCLUDED.hard_bounces""".formatted(
        hard ? "count(*) FILTER (WHERE d.hard)" : "0", hard ? " OR d.hard" : "");
  }

  static final String RECORD = record(PUBLISH);
  static final String RECORD_TOPICS = record(PUBLISH_WITH_TOPICS);


  /**
   * The common case, a batch of deliveries (and retries without an event): the recipients and the
   * reputation count only. Planning the general statement was a third of PostgreSQL's time.
   */
  static final String RECORD_PLAIN = """
      WITH o AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[],
                             $7::timestamptz[], $8::timestamptz[], $9::bool[], $11::bool[], $12::text[], $13::text[],
                             $14::timestamptz[], $15::text[], $16::text[])
          AS o(mid, idx, acct, state, code, reply, ts, next_at, counts, sent, remote_mta, reporting_mta, due,
               outgoing_ip, outgoing_tls)
      ), u AS (
      """ + UPDATE_RECIPIENTS + """
        FROM o WHERE r.message_id = o.mid AND r.idx = o.idx AND r.lease_owner = $10
          AND\s""" + CLAIM_FENCE + """

        RETURNING r.message_id, r.idx
      )
      INSERT INTO reputation_buckets (account_id, bucket, sent, hard_bounces, complaints)
      SELECT o.acct, to_timestamp(floor(extract(epoch FROM o.ts) / 300) * 300), count(*), 0, 0
      FROM o JOIN u ON u.message_id = o.mid AND u.idx = o.idx WHERE o.sent GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (account_id, bucket) DO UPDATE SET sent = reputation_buckets.sent + EXCLUDED.sent""";

  /** The account's count of a plain batch's outcomes, as a CTE ({@code rep}) over {@code done}. */
  private static final String PLAIN_REPUTATION = """
      ), rep AS (
        INSERT INTO reputation_buckets (account_id, bucket, sent, hard_bounces, complaints)
        SELECT d.acct, to_timestamp(floor(extract(epoch FROM d.ts) / 300) * 300), count(*), 0, 0
        FROM done d WHERE d.sent GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (account_id, bucket) DO UPDATE SET sent = reputation_buckets.sent + EXCLUDED.sent
        RETURNING 1
      )
      """;

  /**
   * {@link #RECORD_PLAIN} for a batch with a tenant's outcome: the tenant's count too ({@code $17}, each outcome's
   * tenant). Planned once, as the plain statement is: tenants' deliveries take no general statement.
   */
  static final String RECORD_PLAIN_TENANTS = """
      WITH o AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[],
                             $7::timestamptz[], $8::timestamptz[], $9::bool[], $11::bool[], $12::text[], $13::text[],
                             $14::timestamptz[], $15::text[], $16::text[], $17::text[])
          AS o(mid, idx, acct, state, code, reply, ts, next_at, counts, sent, remote_mta, reporting_mta, due,
               outgoing_ip, outgoing_tls, tenant)
      """ + appliedBy(10) + PLAIN_REPUTATION + tenantReputation(false);

  /**
   * {@link #RECORD_PLAIN} for a batch with outcomes of messages sent with a configuration set: their events (a
   * Delivery, mostly) go into the event outbox too, for the set's destinations; with {@code tenants}, the tenants'
   * counts too ({@code $22}).
   */
  private static String recordPlainPublishing(String publish, boolean tenants) {
    return """
      WITH o AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[],
                             $7::timestamptz[], $8::timestamptz[], $9::bool[], $11::bool[], $12::text[], $13::text[],
                             $14::text[], $15::text[], $16::text[], $17::text[], $18::bool[], $19::timestamptz[],
                             $20::text[], $21::text[]%s)
          AS o(mid, idx, acct, state, code, reply, ts, next_at, counts, sent, remote_mta, reporting_mta,
               rcpt, cs, ptype, pdetail, topics, due, outgoing_ip, outgoing_tls%s)
      """.formatted(tenants ? ", $22::text[]" : "", tenants ? ", tenant" : "") + appliedBy(10) + PLAIN_REPUTATION
        + (tenants ? ", trep AS (\n" + tenantReputation(false) + "\n)\n" : "") + publish;
  }

  static final String RECORD_PLAIN_PUBLISHING = recordPlainPublishing(PUBLISH, false);
  static final String RECORD_PLAIN_PUBLISHING_TOPICS = recordPlainPublishing(PUBLISH_WITH_TOPICS, false);
  static final String RECORD_PLAIN_PUBLISHING_TENANTS = recordPlainPublishing(PUBLISH, true);
  static final String RECORD_PLAIN_PUBLISHING_TOPICS_TENANTS = recordPlainPublishing(PUBLISH_WITH_TOPICS, true);

  private final Pool pool;
  private final String leaseOwner;
  private final GroupCommit<Outcome, Void> commits;

  /** @param lingerMillis how long a batch waits for more outcomes before it is written (0: at once) */
  public OutcomeStore(Vertx vertx, Pool pool, String leaseOwner, int maxInFlight, int lingerMillis) {
    this.pool = pool;
    this.leaseOwner = leaseOwner;
    this.commits = GroupCommit.writes(vertx, lingerMillis, 500, maxInFlight, batch -> write(batch, DEADLOCK_RETRIES));
  }

  public Future<Void> record(Outcome outcome) {
    return commits.submit(outcome);
  }

  /** Writes what waits at once; completes when every outcome recorded so far is written. */
  public Future<Void> flushed() {
    return commits.idle();
  }

  /** How often a batch PostgreSQL chose as a deadlock's victim is written again before its outcomes are given up. */
  static final int DEADLOCK_RETRIES = 3;

  /**
   * A batch that loses a deadlock (40P01: a lease renewal or another node's batch took the same rows in another
   * order) is written again: given up, its recipients would be delivered a second time once their leases ran out.
   * Nothing of it was written, as the statement is one transaction.
   */
  private Future<?> write(List<Outcome> batch, int retries) {
    return write(batch).<Object>map(r -> r).recover(e -> {
      if (retries > 0 && sqlState(e).equals("40P01")) {
        return write(batch, retries - 1).map(r -> (Object) r);
      }
      return refused(e) ? apart(batch, e).map(r -> (Object) r) : Future.failedFuture(e);
    });
  }

  private static String sqlState(Throwable e) {
    return e instanceof io.vertx.pgclient.PgException pg && pg.getSqlState() != null ? pg.getSqlState() : "";
  }

  /** PostgreSQL refused what a statement holds (class 22, data exception; 23, a constraint), not the statement. */
  static boolean refused(Throwable e) {
    String state = sqlState(e);
    return state.startsWith("22") || state.startsWith("23");
  }

  /**
   * A batch with an outcome PostgreSQL refuses: written in halves, down to that outcome, which is written without its
   * texts (reply, event detail, remote MTA). One recipient's bad data (a name from a hostile DNS answer, say) must not
   * sink the outcomes of every other tenant's recipients batched with it: they would be delivered a second time once
   * their leases ran out, and the bad one retried and refused at every lease, for good.
   */
  private Future<?> apart(List<Outcome> batch, Throwable cause) {
    if (batch.size() == 1) {
      Outcome bare = bare(batch.get(0));
      LOG.warning("outcome of " + bare.messageId() + "/" + bare.idx() + " refused by the database ("
          + cause.getMessage() + "): recorded without its reply and event detail");
      return write(List.of(bare)).map(r -> (Object) r);
    }
    int half = batch.size() / 2;
    return write(batch.subList(0, half), DEADLOCK_RETRIES)
        .compose(v -> write(batch.subList(half, batch.size()), DEADLOCK_RETRIES));
  }

  private static Object[] append(Object[] params, Object last) {
    Object[] out = java.util.Arrays.copyOf(params, params.length + 1);
    out[params.length] = last;
    return out;
  }

  /** The outcome without the texts that came from outside: its state, next attempt, event type and consequences. */
  static Outcome bare(Outcome o) {
    Publish p = o.publish() == null ? null
        : new Publish(o.publish().configurationSet(), o.publish().type(), "{}", o.publish().senderTopics());
    return new Outcome(o.messageId(), o.idx(), o.accountId(), o.recipient(), o.state(), o.smtpCode(),
        o.smtpReply() == null ? null : "(reply not recorded: the database refused it)", o.eventType(),
        o.eventType() == null ? null : "{}", o.at(), o.nextAttemptAt(), o.countsAsAttempt(), o.consequences(),
        o.delivery() == null ? null : new Delivery(null, null), p, o.tenantId(), o.due());
  }

  /** The text without NUL characters, which PostgreSQL's text cannot hold (its other characters can be stored). */
  static String text(String s) {
    return s == null || s.indexOf('\0') < 0 ? s : s.replace("\0", "");
  }

  /**
   * The JSON without NUL characters in its strings, which jsonb refuses (as the escape of U+0000); parsed and written
   * again only when it has one.
   */
  static String json(String s) {
    if (s == null || !s.contains("\\u0000")) {
      return s;
    }
    try {
      return io.vertx.core.json.Json.encode(withoutNul(io.vertx.core.json.Json.decodeValue(s)));
    } catch (io.vertx.core.json.DecodeException e) {
      return s; // not JSON: PostgreSQL refuses it, and the batch is written apart
    }
  }

  private static Object withoutNul(Object v) {
    if (v instanceof String str) {
      return text(str);
    } else if (v instanceof io.vertx.core.json.JsonObject o) {
      io.vertx.core.json.JsonObject out = new io.vertx.core.json.JsonObject();
      o.forEach(e -> out.put(text(e.getKey()), withoutNul(e.getValue())));
      return out;
    } else if (v instanceof io.vertx.core.json.JsonArray a) {
      io.vertx.core.json.JsonArray out = new io.vertx.core.json.JsonArray();
      a.forEach(x -> out.add(withoutNul(x)));
      return out;
    }
    return v;
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
    String[] suppress = new String[n];
    String[] feedback = new String[n];
    Boolean[] global = new Boolean[n];
    Boolean[] sent = new Boolean[n];
    Boolean[] hard = new Boolean[n];
    String[] remoteMta = new String[n];
    String[] reportingMta = new String[n];
    String[] outgoingIp = new String[n];
    String[] outgoingTls = new String[n];
    String[] cs = new String[n];
    String[] ptype = new String[n];
    String[] pdetail = new String[n];
    Boolean[] topics = new Boolean[n];
    String[] tenant = new String[n];
    OffsetDateTime[] due = new OffsetDateTime[n];
    boolean plain = true; // no event, suppression or hard bounce in the batch
    boolean tenants = false; // an outcome that counts toward its tenant's reputation
    boolean publishing = false; // an event to publish
    boolean senderTopics = false; // an event for its sender's notification topics
    for (int i = 0; i < n; i++) {
      Outcome o = batch.get(i);
      mid[i] = o.messageId();
      idx[i] = o.idx();
      acct[i] = o.accountId();
      rcpt[i] = text(o.recipient());
      state[i] = o.state();
      code[i] = o.smtpCode();
      reply[i] = text(o.smtpReply());
      type[i] = o.eventType();
      detail[i] = json(o.eventDetailJson());
      ts[i] = Timestamps.utc(o.at());
      next[i] = Timestamps.utc(o.nextAttemptAt());
      counts[i] = o.countsAsAttempt();
      Consequences c = o.consequences() == null ? Consequences.NONE : o.consequences();
      suppress[i] = c.suppress();
      feedback[i] = text(c.feedbackId());
      global[i] = c.global();
      sent[i] = c.sent();
      hard[i] = c.hardBounce();
      tenant[i] = o.tenantId();
      due[i] = Timestamps.utc(o.due());
      if (o.publish() != null) {
        cs[i] = o.publish().configurationSet();
        ptype[i] = o.publish().type();
        pdetail[i] = json(o.publish().detailJson());
        topics[i] = o.publish().senderTopics();
        senderTopics |= topics[i];
        publishing = true;
      } else {
        topics[i] = false;
      }
      plain &= o.eventType() == null && c.suppress() == null && !c.global() && !c.hardBounce();
      tenants |= o.tenantId() != null && (c.sent() || c.hardBounce());
      if (o.delivery() != null) {
        remoteMta[i] = text(o.delivery().remoteMta());
        reportingMta[i] = text(o.delivery().reportingMta());
        outgoingIp[i] = o.delivery().outgoingIp();
        outgoingTls[i] = text(o.delivery().outgoingTls());
      }
    }
    // a batch with a tenant's outcome that counts takes the statements that count for tenants too; the others stay
    // as they were for the mail of no tenant
    if (plain && publishing) {
      Object[] params = {mid, idx, acct, state, code, reply, ts, next, counts, leaseOwner, sent, remoteMta, reportingMta,
          rcpt, cs, ptype, pdetail, topics, due, outgoingIp, outgoingTls};
      return tenants
          ? pool.preparedQuery(senderTopics ? RECORD_PLAIN_PUBLISHING_TOPICS_TENANTS : RECORD_PLAIN_PUBLISHING_TENANTS)
              .execute(Tuple.from(append(params, tenant)))
          : pool.preparedQuery(senderTopics ? RECORD_PLAIN_PUBLISHING_TOPICS : RECORD_PLAIN_PUBLISHING)
              .execute(Tuple.from(params));
    }
    if (plain) {
      Object[] params = {mid, idx, acct, state, code, reply, ts, next, counts, leaseOwner, sent, remoteMta, reportingMta,
          due, outgoingIp, outgoingTls};
      return tenants ? pool.preparedQuery(RECORD_PLAIN_TENANTS).execute(Tuple.from(append(params, tenant)))
          : pool.preparedQuery(RECORD_PLAIN).execute(Tuple.from(params));
    }
    return pool.preparedQuery(senderTopics ? RECORD_TOPICS : RECORD).execute(Tuple.from(new Object[] {mid, idx, acct, rcpt, state, code, reply, type,
        detail, ts, next, counts, leaseOwner, suppress, feedback, global, sent, hard, remoteMta, reportingMta, cs, ptype,
        pdetail, topics, tenant, due, outgoingIp, outgoingTls}));
  }
}
