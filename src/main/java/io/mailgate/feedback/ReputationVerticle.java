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
                    WITH w AS (
                      SELECT a.id, a.enforcement_status, a.reputation_since, sum(b.sent) AS sent,
                             sum(b.hard_bounces) AS hard, sum(b.complaints) AS complaints,
                             -- the bucket of the last resume, while in the window: what it held then is not counted
                             bool_or(b.bucket <= a.reputation_since) AS resumed_within,
                             a.reputation_base_sent, a.reputation_base_hard_bounces, a.reputation_base_complaints
                      FROM accounts a JOIN reputation_buckets b ON b.account_id = a.id
                      WHERE b.bucket > now() - $1::int * interval '1 hour'
                        AND b.bucket + interval '5 minutes' > a.reputation_since
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
                .execute(Tuple.of(config.get(MailgateConfig.REPUTATION_WINDOW_HOURS)))
                .compose(rows -> {
                  List<Assessment> all = new ArrayList<>();
                  for (Row r : rows) {
                    all.add(assess(r.getString(0), r.getLong(1), r.getLong(2), r.getLong(3), r.getString(4),
                        r.getString(5), minVolume));
                  }
                  return Future.join(all.stream().map(a -> record(conn, a)).toList()).map(all);
                })))
        .onComplete(ar -> {
          running = false;
          if (ar.failed()) {
            LOG.warning("reputation check failed: " + ar.cause().getMessage());
          } else if (ar.result() != null) {
            metrics.reputationCheck();
          }
        });
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
    double complaintRate = complaints / (double) sent;
    String next;
    if (bounceRate > config.get(MailgateConfig.REPUTATION_BOUNCE_SHUTDOWN)
        || complaintRate > config.get(MailgateConfig.REPUTATION_COMPLAINT_SHUTDOWN)) {
      next = "SHUTDOWN";
    } else if (bounceRate > config.get(MailgateConfig.REPUTATION_BOUNCE_WARNING)
        || complaintRate > config.get(MailgateConfig.REPUTATION_COMPLAINT_WARNING)) {
      next = "PROBATION";
    } else {
      next = "HEALTHY";
    }
    return new Assessment(account, sent, hard, complaints, current, next, since);
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
            Timestamps.utc(clock.instant().minus(REWRITE_AFTER)))).mapEmpty();
  }
}
