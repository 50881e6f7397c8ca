package io.mailgate.store;

import io.mailgate.config.MailgateConfig;
import io.mailgate.send.MessageIds;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Keeps the database from growing with every message ever sent. Like an MTA's queue, which forgets a
 * message once it is delivered, a message goes once every recipient has reached an end (delivered
 * or bounced) and it is {@code retention.days} old: its row and content, its recipients and its
 * events. Inbound feedback (bounce and complaint reports as received) and reputation counters of
 * that age go too; the suppression list is kept until an address is removed from it, as in SES.
 *
 * <p>A message with a recipient still queued is never deleted, however old. A complaint that
 * arrives for a message already deleted is kept as unattributed feedback.
 *
 * <p>Runs every few minutes on one node at a time (an advisory lock held for the sweep), in batches
 * of a few thousand messages, each its own transaction, until a batch comes back short. Message ids
 * sort by creation time, so the primary key gives the oldest first and a sweep reads little more
 * than what it deletes. 0 days: no message is deleted.
 *
 * <p>Received mail (what receipt rules' S3 actions stored) goes after {@code receiving.retentionDays}, when that is
 * set: it is the account's, read and deleted through the S3 endpoint, so by default it stays. What SES v1 SendBounce
 * keeps of each received message ({@link ReceivedMessages}) goes once it may no longer be bounced, whatever either
 * setting says.
 *
 * <p>A multipart upload of the S3 endpoint that is neither completed nor aborted goes, with its parts, after
 * {@link #MULTIPART_UPLOAD_LIFETIME}, as an S3 lifecycle rule's {@code AbortIncompleteMultipartUpload} would.
 *
 * <p>The Virtual Deliverability Manager's metrics, aggregates, go after {@code vdm.retentionDays} whatever
 * {@code retention.days} says (0 keeps them).
 */
public final class RetentionVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(RetentionVerticle.class.getName());
  static final long LOCK = 0x726574656e74L; // "retent"
  private static final long FIRST_SWEEP_MILLIS = 60_000;
  private static final long SWEEP_INTERVAL_MILLIS = 5 * 60_000;
  static final int BATCH = 2_000;

  /**
   * Messages accepted before $3, oldest first, at most $4, after id $1 and below $2. Message ids
   * begin with their creation time in hex ({@code MessageIds}), so the primary key gives them in
   * order and $2, the id prefix of the cutoff, bounds the scan; the lower bound starts each batch
   * where the previous one ended instead of at the entries just deleted. Run with {@link #PLAN}.
   */
  static final String CANDIDATES = """
      SELECT id FROM messages WHERE id > $1 AND id < $2 AND created_at < $3 ORDER BY id LIMIT $4""";

  /**
   * Which of messages $1 have a recipient still queued: a probe of the primary key for each. (The
   * test of the state is in HAVING so that the planner cannot read the whole queue index instead.)
   */
  static final String QUEUED = """
      SELECT message_id FROM recipients WHERE message_id = ANY($1)
      GROUP BY message_id HAVING bool_or(state = 'queued')""";

  /**
   * Index scans only ({@link Database#INDEX_SCAN_ONLY}): on tables without statistics (a new
   * database, or autovacuum off) the planner would read all of them. (No JIT either, as on every
   * connection: the estimates of such a plan are high enough to start it, and compiling took 100 ms
   * for a statement that runs in 2.)
   */
  static final String PLAN = Database.INDEX_SCAN_ONLY;

  /**
   * Messages $1 with their recipients, events and tracking counts, in one statement: all of a message or none of it.
   */
  static final String DELETE_MESSAGES = """
      WITH gone_recipients AS (DELETE FROM recipients WHERE message_id = ANY($1)),
           gone_events AS (DELETE FROM events WHERE message_id = ANY($1)),
           gone_counts AS (DELETE FROM tracking_counts WHERE message_id = ANY($1))
      DELETE FROM messages WHERE id = ANY($1)""";

  static final String DELETE_FEEDBACK = """
      DELETE FROM inbound_feedback WHERE id IN (
        SELECT id FROM inbound_feedback WHERE received_at < $1 ORDER BY received_at LIMIT $2)""";

  static final String DELETE_BUCKETS = """
      DELETE FROM reputation_buckets WHERE ctid IN (
        SELECT ctid FROM reputation_buckets WHERE bucket < $1 LIMIT $2)""";

  /** A tenant's share of them (V34), kept as long. */
  static final String DELETE_TENANT_BUCKETS = """
      DELETE FROM tenant_reputation_buckets WHERE ctid IN (
        SELECT ctid FROM tenant_reputation_buckets WHERE bucket < $1 LIMIT $2)""";

  /** The delivery options of configuration sets deleted before $1: their messages have long reached an end. */
  static final String DELETE_DELETED_SETS = "DELETE FROM deleted_configuration_sets WHERE deleted_at < $1";

  /** GetSendStatistics reads the last two weeks of reputation counters, whatever {@code retention.days} says. */
  static final Duration SEND_STATISTICS = Duration.ofDays(14);

  static final String DELETE_RECEIVED = """
      DELETE FROM received_objects WHERE ctid IN (
        SELECT ctid FROM received_objects WHERE created_at < $1 LIMIT $2)""";

  /**
   * Received message ids begin with their arrival time ({@link ReceivedMessages#timePrefix}): $1 is the cutoff's
   * prefix, and the rows before it are the first of the primary key.
   */
  static final String DELETE_BOUNCEABLE = """
      DELETE FROM received_messages WHERE ctid IN (
        SELECT ctid FROM received_messages WHERE message_id < $1 LIMIT $2)""";

  /**
   * The Virtual Deliverability Manager's metrics of days before $1, $2 rows a statement (by {@code vdm_metrics_day}),
   * and then those days' leases.
   */
  static final String DELETE_VDM_METRICS = """
      DELETE FROM vdm_metrics WHERE ctid IN (SELECT ctid FROM vdm_metrics WHERE day < $1 LIMIT $2)""";

  static final String DELETE_VDM_DAYS = "DELETE FROM vdm_days WHERE day < $1";

  /**
   * How long a multipart upload of the S3 endpoint may stay open: its parts count in what its account keeps, and an
   * upload a client gave up on is otherwise never aborted (S3 keeps them until a lifecycle rule aborts them).
   */
  public static final Duration MULTIPART_UPLOAD_LIFETIME = Duration.ofDays(7);

  /** How long a completed multipart upload is kept, for a CompleteMultipartUpload retried to be answered again. */
  public static final Duration COMPLETED_UPLOAD_KEPT = Duration.ofHours(1);

  /** What one sweep deleted. */
  public record Swept(long messages, long feedback, long reputationBuckets) {
    long total() {
      return messages + feedback + reputationBuckets;
    }
  }

  private final MailgateConfig config;
  private final Clock clock;
  private final long firstSweepMillis;
  private Pool db;
  private long timer = -1;
  private boolean running;

  public RetentionVerticle(MailgateConfig config, Clock clock) {
    this(config, clock, FIRST_SWEEP_MILLIS);
  }

  RetentionVerticle(MailgateConfig config, Clock clock, long firstSweepMillis) {
    this.config = config;
    this.clock = clock;
    this.firstSweepMillis = firstSweepMillis;
  }

  /** {@code retention.days} (0 keeps everything); reading it fails the node's start on a negative value. */
  public static int days(MailgateConfig config) {
    return config.get(MailgateConfig.RETENTION_DAYS);
  }

  /** {@code receiving.retentionDays} (0 keeps received mail), read as {@link #days} is. */
  public static int receivedDays(MailgateConfig config) {
    return config.get(MailgateConfig.RECEIVING_RETENTION_DAYS);
  }

  @Override
  public Future<?> start() {
    int days = days(config);
    int receivedDays = receivedDays(config);
    db = Database.pool(vertx, config, 1);
    timer = vertx.setPeriodic(firstSweepMillis, SWEEP_INTERVAL_MILLIS, id -> run(days, receivedDays));
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return db == null ? Future.succeededFuture() : db.close();
  }

  private void run(int days, int receivedDays) {
    if (running) {
      return;
    }
    running = true;
    Instant now = clock.instant();
    // each sweep logs its own failure: one failing does not skip the others
    sweepReceived(now, receivedDays).transform(v -> sweepUploads(now)).transform(v -> sweepVdm(now))
        .onComplete(v -> {
          if (days == 0) {
            running = false;
          } else {
            sweepMessages(days);
          }
        });
  }

  /** Received mail past SendBounce's window, and past {@code receiving.retentionDays} (0 keeps it). */
  private Future<Void> sweepReceived(Instant now, int receivedDays) {
    return sweepBounceable(db, now.minus(ReceivedMessages.BOUNCE_WINDOW), BATCH).transform(done -> {
      if (done.failed()) {
        LOG.warning("retention sweep of received messages past SendBounce's window failed: "
            + done.cause().getMessage());
      }
      return receivedDays == 0 ? Future.succeededFuture(0L)
          : sweepReceived(db, now.minus(Duration.ofDays(receivedDays)), BATCH);
    }).transform(ar -> {
      if (ar.failed()) {
        LOG.warning("retention sweep of received mail failed: " + ar.cause().getMessage());
      } else if (ar.result() > 0) {
        LOG.info("retention: deleted " + ar.result() + " received messages stored by S3 actions");
      }
      return Future.succeededFuture();
    });
  }

  /** Multipart uploads of the S3 endpoint not completed nor aborted within {@link #MULTIPART_UPLOAD_LIFETIME}. */
  private Future<Void> sweepUploads(Instant now) {
    return sweepUploads(db, now.minus(MULTIPART_UPLOAD_LIFETIME), now.minus(COMPLETED_UPLOAD_KEPT), BATCH)
        .transform(ar -> {
      if (ar.failed()) {
        LOG.warning("retention sweep of abandoned multipart uploads failed: " + ar.cause().getMessage());
      } else if (ar.result() > 0) {
        LOG.info("retention: deleted " + ar.result() + " multipart uploads completed more than an hour ago or begun "
            + "more than " + MULTIPART_UPLOAD_LIFETIME.toDays() + " days ago");
      }
      return Future.succeededFuture();
    });
  }

  /**
   * Aborts the multipart uploads created before {@code cutoff}, with their parts, and forgets those completed before
   * {@code completedCutoff}, {@code batch} uploads a transaction; how many. Nothing when another node holds the
   * retention lock.
   */
  public static Future<Long> sweepUploads(Pool db, Instant cutoff, Instant completedCutoff, int batch) {
    return locked(db, conn -> uploads(conn, cutoff, completedCutoff, batch, 0));
  }

  private static Future<Long> uploads(SqlConnection conn, Instant cutoff, Instant completedCutoff, int batch,
      long deleted) {
    return MultipartStore.deleteAbandoned(conn, cutoff, completedCutoff, batch).compose(n -> n < batch
        ? Future.succeededFuture(deleted + n) : uploads(conn, cutoff, completedCutoff, batch, deleted + n));
  }

  /** VDM's daily metrics past {@code vdm.retentionDays} (0 keeps them). */
  private Future<Void> sweepVdm(Instant now) {
    int vdmDays = config.get(MailgateConfig.VDM_RETENTION_DAYS);
    if (vdmDays == 0) {
      return Future.succeededFuture();
    }
    LocalDate before = LocalDate.ofInstant(now, ZoneOffset.UTC).minusDays(vdmDays);
    return sweepVdm(db, before, BATCH).transform(ar -> {
      if (ar.failed()) {
        LOG.warning("retention sweep of VDM metrics failed: " + ar.cause().getMessage());
      } else if (ar.result() > 0) {
        LOG.info("retention: deleted " + ar.result() + " rows of VDM metrics from before " + before);
      }
      return Future.succeededFuture();
    });
  }

  private void sweepMessages(int days) {
    Instant cutoff = clock.instant().minus(Duration.ofDays(days));
    // the reputation window, or GetSendStatistics's two weeks, may reach further back than the retention
    Instant window = clock.instant().minus(Duration.ofHours(config.get(MailgateConfig.REPUTATION_WINDOW_HOURS)));
    Instant statistics = clock.instant().minus(SEND_STATISTICS);
    Instant buckets = window.isBefore(cutoff) ? window : cutoff;
    buckets = statistics.isBefore(buckets) ? statistics : buckets;
    sweep(db, cutoff, buckets, BATCH).onComplete(ar -> {
      running = false;
      if (ar.failed()) {
        LOG.warning("retention sweep failed: " + ar.cause().getMessage());
      } else if (ar.result().total() > 0) {
        Swept s = ar.result();
        LOG.info("retention: deleted " + s.messages() + " messages, " + s.feedback() + " inbound feedback reports and "
            + s.reputationBuckets() + " reputation counters from before " + cutoff);
      }
    });
  }

  /**
   * Deletes messages and inbound feedback from before {@code cutoff} and reputation counters from
   * before {@code bucketCutoff}, at most {@code batch} messages or reports per transaction. Deletes
   * nothing when another node holds the retention lock: it is sweeping.
   */
  public static Future<Swept> sweep(Pool db, Instant cutoff, Instant bucketCutoff, int batch) {
    return db.withConnection(conn -> conn.query("SELECT pg_try_advisory_lock(" + LOCK + ")").execute()
        .compose(lock -> !lock.iterator().next().getBoolean(0) ? Future.succeededFuture(new Swept(0, 0, 0))
            : messages(conn, "", MessageIds.prefix(cutoff), Timestamps.utc(cutoff), batch, 0)
                .compose(messages -> batches(conn, DELETE_FEEDBACK, Tuple.of(Timestamps.utc(cutoff), batch), batch, 0)
                    .compose(feedback -> delete(conn, DELETE_DELETED_SETS, Tuple.of(Timestamps.utc(cutoff)))
                        .compose(sets -> batches(conn, DELETE_BUCKETS, Tuple.of(Timestamps.utc(bucketCutoff), batch),
                            batch, 0))
                        .compose(buckets -> batches(conn, DELETE_TENANT_BUCKETS,
                            Tuple.of(Timestamps.utc(bucketCutoff), batch), batch, 0).map(tenants -> buckets + tenants))
                        .map(buckets -> new Swept(messages, feedback, buckets))))
                .eventually(() -> conn.query("SELECT pg_advisory_unlock(" + LOCK + ")").execute())));
  }

  /**
   * Deletes received mail stored before {@code cutoff}, {@code batch} rows a statement; how many. Nothing when another
   * node holds the retention lock: it is sweeping.
   */
  public static Future<Long> sweepReceived(Pool db, Instant cutoff, int batch) {
    return locked(db, conn -> batches(conn, DELETE_RECEIVED, Tuple.of(Timestamps.utc(cutoff), batch), batch, 0));
  }

  /**
   * Deletes what SendBounce keeps of messages received before {@code cutoff}, {@code batch} rows a statement; how
   * many. Nothing when another node holds the retention lock.
   */
  public static Future<Long> sweepBounceable(Pool db, Instant cutoff, int batch) {
    return locked(db, conn -> batches(conn, DELETE_BOUNCEABLE,
        Tuple.of(ReceivedMessages.timePrefix(cutoff.toEpochMilli()), batch), batch, 0));
  }

  /**
   * Deletes the VDM metrics of days before {@code before}, {@code batch} rows a statement, and those days' leases; the
   * metrics' rows deleted. Nothing when another node holds the retention lock.
   */
  public static Future<Long> sweepVdm(Pool db, LocalDate before, int batch) {
    return locked(db, conn -> batches(conn, DELETE_VDM_METRICS, Tuple.of(before, batch), batch, 0)
        .compose(n -> delete(conn, DELETE_VDM_DAYS, Tuple.of(before)).map(n)));
  }

  /** {@code work} under the retention lock: the rows it deleted, 0 without the lock. */
  private static Future<Long> locked(Pool db, java.util.function.Function<SqlConnection, Future<Long>> work) {
    return db.withConnection(conn -> conn.query("SELECT pg_try_advisory_lock(" + LOCK + ")").execute()
        .compose(lock -> !lock.iterator().next().getBoolean(0) ? Future.succeededFuture(0L)
            : work.apply(conn).eventually(() -> conn.query("SELECT pg_advisory_unlock(" + LOCK + ")").execute())));
  }

  /**
   * The finished messages among the next {@code batch} from before the cutoff, and those after them
   * until a batch comes back short; the messages deleted in all. Each batch is one transaction.
   */
  private static Future<Long> messages(SqlConnection conn, String after, String below, OffsetDateTime cutoff,
      int batch, long deleted) {
    record Batch(int seen, String last, long deleted) {}
    Future<Batch> done = conn.begin().compose(tx -> conn.query(PLAN).execute()
        .compose(v -> conn.preparedQuery(CANDIDATES).execute(Tuple.of(after, below, cutoff, batch)))
        .compose(rows -> {
          List<String> old = new ArrayList<>(rows.size());
          rows.forEach(r -> old.add(r.getString(0)));
          String last = old.isEmpty() ? after : old.get(old.size() - 1);
          String[] ids = old.toArray(new String[0]);
          return (ids.length == 0 ? Future.succeededFuture(0L)
              : conn.preparedQuery(QUEUED).execute(Tuple.of((Object) ids)).compose(queued -> {
                queued.forEach(r -> old.remove(r.getString(0)));
                return old.isEmpty() ? Future.succeededFuture(0L)
                    : delete(conn, DELETE_MESSAGES, Tuple.of((Object) old.toArray(new String[0])));
              }))
              .map(n -> new Batch(ids.length, last, n));
        })
        .compose(b -> tx.commit().map(b), e -> tx.rollback().transform(x -> Future.failedFuture(e))));
    return done.compose(b -> b.seen() < batch ? Future.succeededFuture(deleted + b.deleted())
        : messages(conn, b.last(), below, cutoff, batch, deleted + b.deleted()));
  }

  /** Runs {@code sql} until it deletes fewer than {@code batch} rows; the rows deleted in all. */
  private static Future<Long> batches(SqlConnection conn, String sql, Tuple args, int batch, long deleted) {
    return delete(conn, sql, args)
        .compose(n -> n < batch ? Future.succeededFuture(deleted + n) : batches(conn, sql, args, batch, deleted + n));
  }

  private static Future<Long> delete(SqlConnection conn, String sql, Tuple args) {
    return conn.preparedQuery(sql).execute(args).map(rows -> (long) rows.rowCount());
  }
}
