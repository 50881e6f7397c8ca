package io.mailgate.feedback;

import io.mailgate.config.MailgateConfig;
import io.mailgate.metrics.Metrics;
import io.mailgate.store.Database;
import io.mailgate.store.Timestamps;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Keeps each account's reputation: bounce rate (hard bounces / sent recipients) and complaint
 * rate over a rolling window, from counters the feedback handler keeps per five minutes (a late bounce or complaint
 * in the five minutes of the delivery it is about, so the window's feedback is about the window's sends). Above the
 * warning thresholds the account's EnforcementStatus becomes PROBATION; above the shutdown ones it becomes SHUTDOWN,
 * and sending is paused (SendingPausedException) until an admin resumes it, a pause kept apart from its owner's and an
 * operator's (the account sends while none holds, {@code AccountDirectory.ACCOUNT_COLUMNS}). Windows with fewer than
 * {@code reputation.minVolume} sent recipients decide nothing, but for one thing: PROBATION ends once the window
 * holds no hard bounce and no complaint (what caused it has left the window, and an account that then sends little,
 * or nothing, is not held on probation for good). The mailbox simulator and sends to suppressed addresses never
 * count.
 *
 * <p>Every node's timer runs, and one node computes per {@code reputation.checkIntervalSeconds}: under an advisory
 * lock (one at a time), a node that finds the last check ({@code reputation_checks}) more recent than the interval
 * leaves it be. An account's row is written when its status or its figures changed, or when what it shows was
 * checked {@link #REWRITE_AFTER} ago: rewritten at every check, every account in the window would be updated every
 * minute for nothing.
 *
 * <p>Tenants (V34) are judged in the same turn from their own counters, by the same thresholds, into SES's reputation
 * findings: HIGH impact over a shutdown rate, LOW over a warning rate. The tenant's policy says which findings pause
 * it (the SES-managed status DISABLED): {@code strict} any, {@code standard} a HIGH one, {@code none} never. A paused
 * tenant stays paused until its owner reinstates it (customer-managed status REINSTATED), which accepts the findings
 * it then has: it sends on with them, is paused again by a worse one, and is ENABLED again once they clear. The
 * account's own reputation still counts every message, a tenant's too.
 */
public final class ReputationVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(ReputationVerticle.class.getName());
  private static final long LOCK = 0x72657075746174L; // "reputat"

  /** How old the figures an account shows (CheckedAt) may get while they do not change. */
  static final Duration REWRITE_AFTER = Duration.ofMinutes(5);

  /**
   * The check's turn, taken when the last check is at least nine tenths of the interval ($1, in milliseconds) old:
   * a node's own timer firing a few milliseconds early must not find its previous check too recent, and skip every
   * other one.
   */
  static final String TURN = "UPDATE reputation_checks SET checked_at = now() "
      + "WHERE checked_at <= now() - $1::bigint * interval '1 millisecond'";

  private final MailgateConfig config;
  private final Clock clock;
  private Pool db;
  private Metrics metrics;
  private long timer;
  private boolean running;

  public ReputationVerticle(MailgateConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    db = Database.pool(vertx, config, 1);
    metrics = Metrics.of(vertx);
    timer = vertx.setPeriodic(config.get(MailgateConfig.REPUTATION_CHECK_INTERVAL_SECONDS) * 1000L, id -> check());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return db.close();
  }

  /**
   * An account's counts in the window and the status they lead to. {@code since}: the start of its window as read
   * (an admin's resume starts a new one); of the bucket a resume falls in, what it held at the resume is left out.
   */
  record Assessment(String accountId, long sent, long hardBounces, long complaints, String current, String next,
      String since) {}

  private void check() {
    if (running) {
      return;
    }
    running = true;
    int minVolume = config.get(MailgateConfig.REPUTATION_MIN_VOLUME);
    long turnMillis = config.get(MailgateConfig.REPUTATION_CHECK_INTERVAL_SECONDS) * 900L;
    db.withTransaction(conn -> conn.query("SELECT pg_try_advisory_xact_lock(" + LOCK + ")").execute()
        .compose(lock -> !lock.iterator().next().getBoolean(0) ? Future.succeededFuture(false)
            : conn.preparedQuery(TURN).execute(Tuple.of(turnMillis)).map(turn -> turn.rowCount() == 1))
        .compose(due -> !due ? Future.<List<Assessment>>succeededFuture(null) // not this node's turn
            : conn.preparedQuery("""
                    WITH latest_rows AS (
                      SELECT a.id AS account_id, NULL::text AS tenant_id, b.bucket, b.sent, b.hard_bounces,
                             b.complaints
                      FROM accounts a JOIN reputation_buckets b ON b.account_id = a.id
                      WHERE b.bucket > now() - $1::int * interval '1 hour'
                        AND b.bucket + interval '5 minutes' > a.reputation_since),
                    """ + LATEST + """
                    older_rows AS (
                      SELECT a.id AS account_id, NULL::text AS tenant_id, b.bucket, b.sent, b.hard_bounces,
                             b.complaints
                      FROM accounts a JOIN reputation_buckets b ON b.account_id = a.id
                      WHERE b.bucket <= now() - $1::int * interval '1 hour'
                        AND b.bucket > now() - $2::int * interval '1 hour'
                        AND b.bucket + interval '5 minutes' > a.reputation_since
                        AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.account_id = a.id AND l.sent >= $3)),
                    """ + CHOSEN + """
                    w AS (
                      SELECT a.id, a.enforcement_status, a.reputation_since, sum(b.sent) AS sent,
                             sum(b.hard_bounces) AS hard, sum(b.complaints) AS complaints,
                             -- the bucket of the last resume, while in the window: what it held then is not counted
                             bool_or(b.bucket <= a.reputation_since) AS resumed_within,
                             a.reputation_base_sent, a.reputation_base_hard_bounces, a.reputation_base_complaints
                      FROM accounts a JOIN chosen b ON b.account_id = a.id
                      GROUP BY a.id)
                    SELECT id,
                           greatest(sent - CASE WHEN resumed_within THEN reputation_base_sent ELSE 0 END, 0),
                           greatest(hard - CASE WHEN resumed_within THEN reputation_base_hard_bounces ELSE 0 END, 0),
                           greatest(complaints - CASE WHEN resumed_within THEN reputation_base_complaints ELSE 0 END, 0),
                           enforcement_status, reputation_since::text
                    FROM w
                    UNION ALL -- on probation and nothing in the window: the window is clean
                    SELECT a.id, 0, 0, 0, a.enforcement_status, a.reputation_since::text FROM accounts a
                    WHERE a.enforcement_status = 'PROBATION' AND NOT EXISTS (SELECT 1 FROM w WHERE w.id = a.id)""")
                .execute(windowParams())
                .compose(rows -> {
                  List<Assessment> all = new ArrayList<>();
                  for (Row r : rows) {
                    all.add(assess(r.getString(0), r.getLong(1), r.getLong(2), r.getLong(3), r.getString(4),
                        r.getString(5), minVolume));
                  }
                  return Future.join(all.stream().map(a -> record(conn, a)).toList()).map(all);
                })))
        // this node's turn: the tenants in a transaction of their own, so that a failure there leaves the accounts'
        // verdicts committed
        .compose(accounts -> accounts == null ? Future.succeededFuture(accounts)
            : db.withTransaction(conn -> tenants(conn, minVolume)).map(accounts)
                .recover(e -> {
                  LOG.warning("tenant reputation check failed: " + e.getMessage());
                  return Future.succeededFuture(accounts);
                }))
        .onComplete(ar -> {
          running = false;
          if (ar.failed()) {
            LOG.warning("reputation check failed: " + ar.cause().getMessage());
          } else if (ar.result() != null) {
            metrics.reputationCheck();
          }
        });
  }

  /**
   * Complaints over sent, judged on a volume of its own (reputation.complaintMinVolume): at SES's 0.1% and 0.5%, two
   * complaints in 250 sends would pause an account; below it, 0.
   */
  private double complaintRate(long sent, long complaints) {
    return sent < config.get(MailgateConfig.REPUTATION_COMPLAINT_MIN_VOLUME) ? 0 : complaints / (double) sent;
  }

  /** Whether the window holds complaints that too few sends leave unjudged: they neither raise nor lower a status. */
  private boolean complaintsUnjudged(long sent, long complaints) {
    return complaints > 0 && sent < config.get(MailgateConfig.REPUTATION_COMPLAINT_MIN_VOLUME);
  }

  Assessment assess(String account, long sent, long hard, long complaints, String current, String since,
      int minVolume) {
    if ("PROBATION".equals(current) && sent < minVolume && hard == 0 && complaints == 0) {
      // too little to judge, but nothing that put it on probation is left in the window
      return new Assessment(account, sent, hard, complaints, current, "HEALTHY", since);
    }
    // nothing sent is too little whatever reputation.minVolume says (0, set in code): no rate of it, rather than 1/0
    if (sent < Math.max(1, minVolume) || "SHUTDOWN".equals(current)) {
      return new Assessment(account, sent, hard, complaints, current, current, since); // too little, or paused
    }
    double bounceRate = hard / (double) sent;
    double complaintRate = complaintRate(sent, complaints);
    String next;
    // SES: under review at 5% of bounces or 0.1% of complaints, paused at 10% or 0.5%, those rates included
    if (bounceRate >= config.get(MailgateConfig.REPUTATION_BOUNCE_SHUTDOWN)
        || complaintRate >= config.get(MailgateConfig.REPUTATION_COMPLAINT_SHUTDOWN)) {
      next = "SHUTDOWN";
    } else if (bounceRate >= config.get(MailgateConfig.REPUTATION_BOUNCE_WARNING)
        || complaintRate >= config.get(MailgateConfig.REPUTATION_COMPLAINT_WARNING)) {
      next = "PROBATION";
    } else {
      next = "HEALTHY";
    }
    if ("PROBATION".equals(current) && "HEALTHY".equals(next) && complaintsUnjudged(sent, complaints)) {
      next = current; // complaints too few sends to judge do not lift a probation, as too little sent does not
    }
    return new Assessment(account, sent, hard, complaints, current, next, since);
  }

  /** What a tenant's window leads to: its finding, its two statuses, why the service paused it, what was accepted. */
  record TenantVerdict(String impact, String customerStatus, String managedStatus, String cause,
      String reinstatedImpact) {}

  private static int rank(String impact) {
    return impact == null ? 0 : impact.equals("LOW") ? 1 : 2;
  }

  /** Whether a finding of this impact pauses a tenant under this policy. */
  static boolean pauses(String policy, String impact) {
    return switch (policy) {
      case "strict" -> impact != null;
      case "standard" -> "HIGH".equals(impact);
      default -> false;
    };
  }

  /**
   * What a tenant's window leads to. Too little sent to judge keeps the finding it has, unless the window holds no hard
   * bounce and no complaint (then it has none).
   */
  TenantVerdict judge(long sent, long hard, long complaints, String impact, String policy, String customer,
      String managed, String managedCause, String reinstated, int minVolume) {
    String next;
    String why = null;
    boolean judged = sent >= Math.max(1, minVolume);
    boolean kept = false; // a finding kept for want of sends to judge complaints: it acts on nothing
    if (!judged) {
      next = hard == 0 && complaints == 0 ? null : impact;
    } else {
      double bounceRate = hard / (double) sent;
      double complaintRate = complaintRate(sent, complaints);
      double bounceShutdown = config.get(MailgateConfig.REPUTATION_BOUNCE_SHUTDOWN);
      double complaintShutdown = config.get(MailgateConfig.REPUTATION_COMPLAINT_SHUTDOWN);
      double bounceWarning = config.get(MailgateConfig.REPUTATION_BOUNCE_WARNING);
      double complaintWarning = config.get(MailgateConfig.REPUTATION_COMPLAINT_WARNING);
      if (bounceRate >= bounceShutdown || complaintRate >= complaintShutdown) {
        next = "HIGH";
        why = bounceRate >= bounceShutdown ? rate("Bounce", bounceRate, bounceShutdown)
            : rate("Complaint", complaintRate, complaintShutdown);
      } else if (bounceRate >= bounceWarning || complaintRate >= complaintWarning) {
        next = "LOW";
        why = bounceRate >= bounceWarning ? rate("Bounce", bounceRate, bounceWarning)
            : rate("Complaint", complaintRate, complaintWarning);
      } else {
        next = null;
      }
      if (complaintsUnjudged(sent, complaints) && rank(impact) > rank(next)) {
        next = impact; // complaints too few sends to judge keep a finding, as too little sent does
        kept = true;
      }
    }
    String cause = why == null ? null : why + " of the last " + sent + " recipients sent (the reputation window); the "
        + policy + " reputation policy pauses the tenant.";
    if (customer.equals("REINSTATED")) {
      if (next == null) {
        return new TenantVerdict(null, "ENABLED", managed, managedCause, null); // the findings cleared
      }
      if (judged && !kept && rank(next) > rank(reinstated) && pauses(policy, next)) {
        return new TenantVerdict(next, "ENABLED", "DISABLED", cause, null); // a worse finding than it was let go with
      }
      // a finding that got better is what it is let go with from now on: getting worse again pauses it
      return new TenantVerdict(next, customer, managed, managedCause,
          rank(next) < rank(reinstated) ? next : reinstated);
    }
    // only a window judged pauses: too little sent keeps a finding, but a policy made stricter since does not act on it
    if (judged && !kept && managed.equals("ENABLED") && pauses(policy, next)) {
      return new TenantVerdict(next, customer, "DISABLED", cause, reinstated);
    }
    return new TenantVerdict(next, customer, managed, managedCause, reinstated);
  }

  private static String rate(String what, double rate, double threshold) {
    return String.format(java.util.Locale.ROOT, "%s rate %.2f%% at or over %.2f%%", what, rate * 100, threshold * 100);
  }

  /**
   * What the last $1 hours of each owner ({@code account_id}, and {@code tenant_id} or null) hold: {@code latest_rows}
   * are their buckets. The window ({@link #CHOSEN}) is those, and, for an owner that holds fewer than $3 sends in
   * them, its older buckets ({@code older_rows}, read for such owners only, none older than $2 hours), newest first,
   * until the window holds $3 (the bucket that reaches it is the last taken). SES judges on a representative volume,
   * not a fixed period: an account sending a hundred a day, a fifth of them to dead addresses, was never judged (it
   * never held reputation.minVolume in a day), and complaints about a large send that came in days later counted
   * nowhere. An account that sends the volume in a day is judged on its day, as before: its older buckets are not read.
   */
  static final String LATEST = """
      latest AS (
        SELECT account_id, tenant_id, sum(sent) AS sent FROM latest_rows GROUP BY account_id, tenant_id),
      """;

  static final String CHOSEN = """
      chosen AS (
        SELECT account_id, tenant_id, bucket, sent, hard_bounces, complaints FROM latest_rows
        UNION ALL
        SELECT account_id, tenant_id, bucket, sent, hard_bounces, complaints FROM (
          SELECT o.*, coalesce(l.sent, 0) + sum(o.sent) OVER (PARTITION BY o.account_id, o.tenant_id
                      ORDER BY o.bucket DESC) - o.sent AS newer
          FROM older_rows o LEFT JOIN latest l ON l.account_id = o.account_id
                                               AND l.tenant_id IS NOT DISTINCT FROM o.tenant_id) x
        WHERE newer < $3),
      """;

  /** $1 the window's hours, $2 the longest look-back's, $3 the representative volume ({@link #LATEST}). */
  private Tuple windowParams() {
    int hours = config.get(MailgateConfig.REPUTATION_WINDOW_HOURS);
    int longest = Math.max(hours, Math.min(13, config.get(MailgateConfig.REPUTATION_MAX_WINDOW_DAYS)) * 24);
    return Tuple.of(hours, longest, Math.max(config.get(MailgateConfig.REPUTATION_MIN_VOLUME),
        config.get(MailgateConfig.REPUTATION_COMPLAINT_MIN_VOLUME)));
  }

  private static final String TENANT_WINDOWS = """
      WITH latest_rows AS (
        SELECT account_id, tenant_id, bucket, sent, hard_bounces, complaints FROM tenant_reputation_buckets
        WHERE bucket > now() - $1::int * interval '1 hour'),
      """ + LATEST + """
      older_rows AS (
        SELECT t.account_id, t.tenant_id, t.bucket, t.sent, t.hard_bounces, t.complaints
        FROM tenant_reputation_buckets t
        WHERE t.bucket <= now() - $1::int * interval '1 hour' AND t.bucket > now() - $2::int * interval '1 hour'
          AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.account_id = t.account_id AND l.tenant_id = t.tenant_id
                          AND l.sent >= $3)),
      """ + CHOSEN + """
      w AS (
        SELECT b.account_id, b.tenant_id, sum(b.sent) AS sent, sum(b.hard_bounces) AS hard,
               sum(b.complaints) AS complaints
        FROM chosen b
        GROUP BY b.account_id, b.tenant_id)
      SELECT t.account_id, t.name, coalesce(w.sent, 0), coalesce(w.hard, 0), coalesce(w.complaints, 0), t.impact,
             t.policy, t.customer_status, t.managed_status, t.managed_cause, t.reinstated_impact, t.id
      FROM tenants t LEFT JOIN w ON w.account_id = t.account_id AND w.tenant_id = t.id
      -- a tenant with nothing in the window and nothing to clear has nothing to judge
      WHERE w.account_id IS NOT NULL OR t.impact IS NOT NULL OR t.customer_status = 'REINSTATED'""";

  /**
   * Judges every tenant with figures in the window, or a finding to clear, and writes those whose verdict changed,
   * with the figures it was reached on ({@code reputation}); nothing else is written.
   */
  private Future<Void> tenants(io.vertx.sqlclient.SqlConnection conn, int minVolume) {
    int hours = config.get(MailgateConfig.REPUTATION_WINDOW_HOURS);
    return conn.preparedQuery(TENANT_WINDOWS)
        .execute(windowParams())
        .compose(rows -> {
          List<Future<?>> writes = new ArrayList<>();
          for (Row r : rows) {
            long sent = r.getLong(2);
            long hard = r.getLong(3);
            long complaints = r.getLong(4);
            String customer = r.getString(7);
            String managed = r.getString(8);
            TenantVerdict v = judge(sent, hard, complaints, r.getString(5), r.getString(6), customer, managed,
                r.getString(9), r.getString(10), minVolume);
            boolean changed = !java.util.Objects.equals(v.impact(), r.getString(5)) || !v.customerStatus().equals(customer)
                || !v.managedStatus().equals(managed) || !java.util.Objects.equals(v.reinstatedImpact(), r.getString(10));
            if (!changed) {
              continue;
            }
            if (!v.managedStatus().equals(managed) || !v.customerStatus().equals(customer)) {
              LOG.warning("tenant " + r.getString(1) + " of account " + r.getString(0) + ": sending status "
                  + customer + "/" + managed + " -> " + v.customerStatus() + "/" + v.managedStatus()
                  + (v.cause() == null ? "" : " (" + v.cause() + ")"));
            }
            JsonObject figures = new JsonObject().put("Sent", sent).put("HardBounces", hard).put("Complaints", complaints)
                .put("BounceRate", sent == 0 ? 0.0 : hard / (double) sent)
                .put("ComplaintRate", sent == 0 ? 0.0 : complaints / (double) sent)
                .put("WindowHours", hours).put("CheckedAt", clock.instant().toString());
            // the owner's change made meanwhile (status, policy, a reinstatement) wins: this verdict is about what was
            // read, and the next check judges again
            boolean statusChanged = !v.managedStatus().equals(managed);
            writes.add(conn.preparedQuery("UPDATE tenants SET impact = $3, customer_status = $4, managed_status = $5, "
                    + "managed_cause = $6, reinstated_impact = $7, reputation = $8::text::jsonb, "
                    + "customer_status_at = CASE WHEN customer_status <> $4 THEN now() ELSE customer_status_at END, "
                    + "managed_status_at = CASE WHEN managed_status <> $5 THEN now() ELSE managed_status_at END "
                    + "WHERE account_id = $1 AND name = $2 AND customer_status = $9 AND managed_status = $10 "
                    + "AND policy = $11 AND impact IS NOT DISTINCT FROM $12 AND reinstated_impact IS NOT DISTINCT FROM $13 "
                    // the tenant judged, not one made meanwhile under its name
                    + "AND id = $14")
                .execute(Tuple.from(new Object[] {r.getString(0), r.getString(1), v.impact(), v.customerStatus(),
                    v.managedStatus(), v.cause(), v.reinstatedImpact(), figures.encode(), customer, managed,
                    r.getString(6), r.getString(5), r.getString(10), r.getString(11)}))
                .onSuccess(written -> {
                  if (written.rowCount() > 0 && statusChanged) {
                    metrics.reputationTransition("tenant", v.managedStatus());
                  }
                }));
          }
          return Future.join(writes).<Void>mapEmpty();
        });
  }

  private Future<Void> record(io.vertx.sqlclient.SqlConnection conn, Assessment a) {
    JsonObject reputation = new JsonObject()
        .put("Sent", a.sent()).put("HardBounces", a.hardBounces()).put("Complaints", a.complaints())
        .put("BounceRate", a.sent() == 0 ? 0.0 : a.hardBounces() / (double) a.sent())
        .put("ComplaintRate", a.sent() == 0 ? 0.0 : a.complaints() / (double) a.sent())
        .put("WindowHours", config.get(MailgateConfig.REPUTATION_WINDOW_HOURS))
        .put("MinVolume", config.get(MailgateConfig.REPUTATION_MIN_VOLUME))
        .put("EnforcementStatus", a.next())
        .put("CheckedAt", clock.instant().toString());
    if (!a.next().equals(a.current())) {
      LOG.warning("account " + a.accountId() + " reputation: " + a.current() + " -> " + a.next() + " " + reputation.encode());
    }
    // an admin who resumed the account since the read started a new window: this verdict is about the old one
    // a shutdown is its status alone: the owner's choice (sending_enabled) is the owner's, and outlasts the shutdown
    return conn.preparedQuery("UPDATE accounts SET reputation = $2::text::jsonb, enforcement_status = $3 "
            + "WHERE id = $1 AND reputation_since::text = $4 AND (enforcement_status IS DISTINCT FROM $3 "
            + "OR reputation IS NULL OR reputation - 'CheckedAt' IS DISTINCT FROM $2::text::jsonb - 'CheckedAt' "
            + "OR (reputation->>'CheckedAt')::timestamptz <= $5)")
        .execute(Tuple.of(a.accountId(), reputation.encode(), a.next(), a.since(),
            Timestamps.utc(clock.instant().minus(REWRITE_AFTER))))
        .onSuccess(rows -> {
          if (rows.rowCount() > 0 && !a.next().equals(a.current())) {
            metrics.reputationTransition("account", a.next());
          }
        }).mapEmpty();
  }
}
