package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * SES v2 export jobs ({@code export_jobs}): created CREATED, taken by one node at a time (PROCESSING under its lease),
 * and ended COMPLETED (the file stored in the account's S3 namespace, {@code received_objects}, in the same
 * transaction), FAILED or CANCELLED. A node's ending is fenced: it is written only while the job is still the node's,
 * so a job cancelled meanwhile, or taken over after its lease expired, keeps what it has.
 */
public final class ExportJobStore implements LeasedJobs<ExportJobStore.Job> {
  public static final String CREATED = "CREATED";
  public static final String PROCESSING = "PROCESSING";
  public static final String COMPLETED = "COMPLETED";
  public static final String FAILED = "FAILED";
  public static final String CANCELLED = "CANCELLED";

  /** A job as kept: its data source as checked when it was created; what it came to once it ended. */
  public record Job(String accountId, String jobId, String sourceType, JsonObject dataSource, String dataFormat,
      String bucket, String key, String status, Instant createdAt, Instant completedAt, Long processed, Long exported,
      String error) {}

  /** Where a listing goes on from: after the job created at {@code createdAt} with id {@code jobId}. */
  public record Position(Instant createdAt, String jobId) {
    @Override
    public String toString() {
      return createdAt.toString() + "\n" + jobId;
    }

    /**
     * The position {@link #toString} wrote; null for any other text (a token's text is the caller's: a time outside
     * what the database keeps, or an id no job has, is no position).
     */
    public static Position of(String s) {
      int nl = s.indexOf('\n');
      try {
        Instant at = nl < 0 ? null : Instant.parse(s.substring(0, nl));
        String id = nl < 0 ? null : s.substring(nl + 1);
        return at == null || at.isBefore(Instant.EPOCH) || at.isAfter(LATEST) || !JOB_ID.matcher(id).matches() ? null
            : new Position(at, id);
      } catch (java.time.format.DateTimeParseException e) {
        return null;
      }
    }
  }

  /** The shape of a job's id (a random UUID). */
  public static final java.util.regex.Pattern JOB_ID =
      java.util.regex.Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  /** The lock an account's job creations and file writes take turns under (a count before an insert). */
  static final int ACCOUNT_LOCK = 0x45784a62;


  private static final String COLUMNS = "account_id, job_id, source_type, data_source, data_format, bucket, "
      + "object_key, status, created_at, completed_at, processed, exported, error";

  /** A new job, unless the account already has $9 waiting or running (in the account's turn). */
  static final String CREATE = """
      INSERT INTO export_jobs (account_id, job_id, source_type, data_source, data_format, bucket, object_key, status,
        created_at)
      SELECT $1, $2, $3, $4, $5, $6, $7, 'CREATED', $8
      WHERE (SELECT count(*) FROM export_jobs WHERE account_id = $1 AND status IN ('CREATED', 'PROCESSING')) < $9""";

  static final String GET = "SELECT " + COLUMNS + " FROM export_jobs WHERE account_id = $1 AND job_id = $2";

  static final String PAGE = "SELECT " + COLUMNS + """
       FROM export_jobs WHERE account_id = $1 AND ($2::text IS NULL OR source_type = $2)
      AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR (created_at, job_id) < ($4, $5))
      ORDER BY created_at DESC, job_id DESC LIMIT $6""";

  static final String CANCEL = """
      UPDATE export_jobs SET status = 'CANCELLED', completed_at = $3, lease_owner = NULL, lease_until = NULL
      WHERE account_id = $1 AND job_id = $2 AND status IN ('CREATED', 'PROCESSING')""";

  private static final JobLeases LEASES = new JobLeases("export_jobs", COLUMNS);

  /** What the account keeps, but the object the file replaces ($2, $3), if any. */
  static final String USAGE = """
      SELECT coalesce((SELECT sum(bytes) FROM received_usage WHERE account_id = $1), 0)::bigint
        - coalesce((SELECT octet_length(content) FROM received_objects
                    WHERE account_id = $1 AND bucket = $2 AND object_key = $3), 0)::bigint""";

  static final String STORE = """
      INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at)
      VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (account_id, bucket, object_key)
      DO UPDATE SET message_id = EXCLUDED.message_id, content = EXCLUDED.content, created_at = EXCLUDED.created_at,
          part_sizes = NULL, part_checksums = NULL, parts_etag = NULL, checksum_algorithm = NULL, checksum = NULL,
          metadata = NULL, tags = NULL""";

  static final String END = """
      UPDATE export_jobs SET status = $3, completed_at = $4, processed = $5, exported = $6, error = $7,
        lease_owner = NULL, lease_until = NULL
      WHERE account_id = $1 AND job_id = $2""";

  private final Pool pool;

  public ExportJobStore(Pool pool) {
    this.pool = pool;
  }

  /** Creates the job; false when the account already has {@code maxActive} jobs waiting or running. */
  public Future<Boolean> create(Job job, int maxActive) {
    return Database.inTurn(pool, ACCOUNT_LOCK, job.accountId(), conn -> conn.preparedQuery(CREATE)
        .execute(Tuple.tuple().addValue(job.accountId())
            .addValue(job.jobId()).addValue(job.sourceType()).addValue(job.dataSource()).addValue(job.dataFormat())
            .addValue(job.bucket()).addValue(job.key()).addValue(Timestamps.utc(job.createdAt())).addValue(maxActive))
        .map(rows -> rows.rowCount() == 1));
  }

  public Future<Optional<Job>> get(String accountId, String jobId) {
    return pool.preparedQuery(GET).execute(Tuple.of(accountId, jobId))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(job(rows.iterator().next())));
  }

  /** Up to {@code limit} of the account's jobs, newest first, after {@code after}; a null filter lets all through. */
  public Future<List<Job>> page(String accountId, String sourceType, String status, Position after, int limit) {
    return pool.preparedQuery(PAGE).execute(Tuple.of(accountId, sourceType, status,
            after == null ? null : Timestamps.utc(after.createdAt()), after == null ? null : after.jobId(), limit))
        .map(ExportJobStore::jobs);
  }

  /** Cancels the job while it waits or runs; false when it has ended (or is not the account's). */
  public Future<Boolean> cancel(String accountId, String jobId, Instant now) {
    return pool.preparedQuery(CANCEL).execute(Tuple.of(accountId, jobId, Timestamps.utc(now)))
        .map(rows -> rows.rowCount() == 1);
  }

  @Override
  public Future<Job> claim(String owner, Instant now, Instant until) {
    return pool.preparedQuery(LEASES.claim).execute(Tuple.of(owner, Timestamps.utc(until), Timestamps.utc(now)))
        .map(rows -> rows.size() == 0 ? null : job(rows.iterator().next()));
  }

  /** Keeps the job {@code owner}'s until {@code until}; false when it no longer is (cancelled, or taken over). */
  public Future<Boolean> renew(Job job, String owner, Instant until) {
    return pool.preparedQuery(LEASES.renew)
        .execute(Tuple.of(job.accountId(), job.jobId(), owner, Timestamps.utc(until)))
        .map(rows -> rows.rowCount() == 1);
  }

  /** How the job ended: its file stored (COMPLETED), or why it failed (FAILED), and its counts. */
  public sealed interface Ending {
    record Exported(Buffer file, long processed, long exported) implements Ending {}

    record Failed(String error, long processed) implements Ending {}
  }

  /**
   * Ends the job as {@code ending} says, while it is still {@code owner}'s: a file is stored with the job's COMPLETED,
   * all or nothing, unless it would take the account past {@code maxStoredBytes} (0: no limit), which fails the job.
   * False when the job was no longer the owner's (cancelled, or taken over): nothing is written.
   */
  public Future<Boolean> end(Job job, String owner, Ending ending, long maxStoredBytes, Instant now) {
    OffsetDateTime at = Timestamps.utc(now);
    // in the account's turn: two jobs ending at once both count what the other stores
    return Database.inTurn(pool, ACCOUNT_LOCK, job.accountId(), conn -> conn.preparedQuery(LEASES.fence)
        .execute(Tuple.of(job.accountId(), job.jobId(), owner))
        .compose(fence -> {
          if (fence.size() == 0) {
            return Future.succeededFuture(false);
          }
          if (ending instanceof Ending.Failed f) {
            return finish(conn, job, FAILED, at, f.processed(), null, f.error());
          }
          Ending.Exported e = (Ending.Exported) ending;
          return conn.preparedQuery(USAGE).execute(Tuple.of(job.accountId(), job.bucket(), job.key()))
              .compose(usage -> {
                long used = usage.iterator().next().getLong(0);
                if (maxStoredBytes > 0 && used + e.file().length() > maxStoredBytes) {
                  return finish(conn, job, FAILED, at, e.processed(), null, "The export file (" + e.file().length()
                      + " bytes) would take the account past what it may keep (" + maxStoredBytes + " bytes, "
                      + used + " in use): delete objects through the S3 endpoint and export again.");
                }
                return conn.preparedQuery(STORE).execute(Tuple.of(job.accountId(), job.bucket(), job.key(),
                        job.jobId(), e.file(), at))
                    .compose(stored -> finish(conn, job, COMPLETED, at, e.processed(), e.exported(), null));
              });
        }));
  }

  private static Future<Boolean> finish(io.vertx.sqlclient.SqlConnection conn, Job job, String status,
      OffsetDateTime at, long processed, Long exported, String error) {
    return conn.preparedQuery(END).execute(Tuple.tuple().addValue(job.accountId()).addValue(job.jobId())
        .addValue(status).addValue(at).addValue(processed).addValue(exported).addValue(error)).map(true);
  }

  @Override
  public Future<Void> release(String owner) {
    return pool.preparedQuery(LEASES.release).execute(Tuple.of(owner)).mapEmpty();
  }

  private static List<Job> jobs(RowSet<Row> rows) {
    List<Job> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(job(r));
    }
    return out;
  }

  private static Job job(Row r) {
    OffsetDateTime completed = r.getOffsetDateTime(9);
    return new Job(r.getString(0), r.getString(1), r.getString(2), (JsonObject) r.getValue(3), r.getString(4),
        r.getString(5), r.getString(6), r.getString(7), r.getOffsetDateTime(8).toInstant(),
        completed == null ? null : completed.toInstant(), r.getLong(10), r.getLong(11), r.getString(12));
  }
}
