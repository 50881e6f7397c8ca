package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * SES v2 import jobs ({@code import_jobs}): created CREATED, taken by one node at a time (PROCESSING under its lease,
 * {@link JobLeases}), their records written to the suppression list or a contact list a batch at a time, each batch
 * in one transaction with the job's progress and fenced by the lease, and ended COMPLETED (with the file of the records
 * that failed, if any, stored in the account's S3 namespace in the same transaction) or FAILED.
 */
public final class ImportJobStore implements LeasedJobs<ImportJobStore.Job> {
  public static final String CREATED = "CREATED";
  public static final String COMPLETED = "COMPLETED";
  public static final String FAILED = "FAILED";
  /** Where the files of failed records go. */
  public static final String FAILED_BUCKET = "mailgate-imports";

  /** A job as kept: its destination as checked when it was created; what it came to once it ended. */
  public record Job(String accountId, String jobId, JsonObject destination, String dataFormat, String bucket,
      String key, String status, Instant createdAt, Instant completedAt, Long processed, Long failed, String error,
      String failedKey) {}

  private static final String COLUMNS = "account_id, job_id, destination, data_format, bucket, object_key, status, "
      + "created_at, completed_at, processed, failed, error, failed_key";
  private static final JobLeases LEASES = new JobLeases("import_jobs", COLUMNS);

  /** A new job, unless the account already has $8 waiting or running (in the account's turn). */
  static final String CREATE = """
      INSERT INTO import_jobs (account_id, job_id, destination, data_format, bucket, object_key, status, created_at)
      SELECT $1, $2, $3, $4, $5, $6, 'CREATED', $7
      WHERE (SELECT count(*) FROM import_jobs WHERE account_id = $1 AND status IN ('CREATED', 'PROCESSING')) < $8""";

  static final String GET = "SELECT " + COLUMNS + " FROM import_jobs WHERE account_id = $1 AND job_id = $2";

  static final String PAGE = "SELECT " + COLUMNS + """
       FROM import_jobs WHERE account_id = $1 AND ($2::text IS NULL OR destination ? $2)
      AND ($3::timestamptz IS NULL OR (created_at, job_id) < ($3, $4))
      ORDER BY created_at DESC, job_id DESC LIMIT $5""";

  /** The job's progress, its lease renewed with it. */
  static final String PROGRESS =
      "UPDATE import_jobs SET processed = $3, lease_until = $4 WHERE account_id = $1 AND job_id = $2";

  static final String END = """
      UPDATE import_jobs SET status = $3, completed_at = $4, processed = $5, failed = $6, error = $7, failed_key = $8,
        lease_owner = NULL, lease_until = NULL
      WHERE account_id = $1 AND job_id = $2""";

  /** Addresses ($2, lower case, each once) put on the suppression list with their reasons ($3) at $4. */
  static final String SUPPRESS = """
      INSERT INTO suppressed_destinations (account_id, email, reason, last_update)
      SELECT $1, e, r, $4 FROM unnest($2::text[], $3::text[]) AS t(e, r)
      ON CONFLICT (account_id, email) DO UPDATE SET reason = EXCLUDED.reason, last_update = EXCLUDED.last_update,
        message_id = NULL, feedback_id = NULL""";

  static final String UNSUPPRESS = "DELETE FROM suppressed_destinations WHERE account_id = $1 AND email = ANY($2)";

  /** Contacts of list $2 (keys $3, each once) put as given: a contact that was there is replaced but its creation. */
  static final String PUT_CONTACTS = """
      INSERT INTO contacts (account_id, list_name, email, address, topic_preferences, unsubscribe_all, attributes_data)
      SELECT $1, $2, e, a, p::jsonb, u, d FROM unnest($3::text[], $4::text[], $5::text[], $6::bool[], $7::text[])
        AS t(e, a, p, u, d)
      ON CONFLICT (account_id, list_name, email) DO UPDATE SET address = EXCLUDED.address,
        topic_preferences = EXCLUDED.topic_preferences, unsubscribe_all = EXCLUDED.unsubscribe_all,
        attributes_data = EXCLUDED.attributes_data, updated_at = now()""";

  static final String DELETE_CONTACTS =
      "DELETE FROM contacts WHERE account_id = $1 AND list_name = $2 AND email = ANY($3)";

  private final Pool pool;

  public ImportJobStore(Pool pool) {
    this.pool = pool;
  }

  /** Creates the job; false when the account already has {@code maxActive} jobs waiting or running. */
  public Future<Boolean> create(Job job, int maxActive) {
    return Database.inTurn(pool, ExportJobStore.ACCOUNT_LOCK, job.accountId(), conn -> conn.preparedQuery(CREATE)
        .execute(Tuple.tuple().addValue(job.accountId()).addValue(job.jobId()).addValue(job.destination())
            .addValue(job.dataFormat()).addValue(job.bucket()).addValue(job.key())
            .addValue(Timestamps.utc(job.createdAt())).addValue(maxActive))
        .map(rows -> rows.rowCount() == 1));
  }

  public Future<Optional<Job>> get(String accountId, String jobId) {
    return pool.preparedQuery(GET).execute(Tuple.of(accountId, jobId))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(job(rows.iterator().next())));
  }

  /**
   * Up to {@code limit} of the account's jobs, newest first, after {@code after}.
   *
   * @param destination the ImportDestination member the jobs have ({@code SuppressionListDestination} or
   *     {@code ContactListDestination}); null: all
   */
  public Future<List<Job>> page(String accountId, String destination, ExportJobStore.Position after, int limit) {
    return pool.preparedQuery(PAGE).execute(Tuple.of(accountId, destination,
            after == null ? null : Timestamps.utc(after.createdAt()), after == null ? null : after.jobId(), limit))
        .map(ImportJobStore::jobs);
  }

  @Override
  public Future<Job> claim(String owner, Instant now, Instant until) {
    return pool.preparedQuery(LEASES.claim).execute(Tuple.of(owner, Timestamps.utc(until), Timestamps.utc(now)))
        .map(rows -> rows.size() == 0 ? null : job(rows.iterator().next()));
  }

  @Override
  public Future<Void> release(String owner) {
    return pool.preparedQuery(LEASES.release).execute(Tuple.of(owner)).mapEmpty();
  }

  /**
   * Puts addresses on the account's suppression list with their reasons, or takes them off it ({@code reasons} null),
   * with the job's progress (its lease renewed until {@code until}), while the job is still {@code owner}'s; false
   * when it no longer is (nothing written).
   *
   * @param emails lower case, each once
   */
  public Future<Boolean> suppress(Job job, String owner, List<String> emails, List<String> reasons, long processed,
      Instant now, Instant until) {
    String[] e = emails.toArray(String[]::new);
    return fenced(job, owner, processed, until, conn -> reasons == null
        ? conn.preparedQuery(UNSUPPRESS).execute(Tuple.tuple().addValue(job.accountId()).addValue(e))
        : conn.preparedQuery(SUPPRESS).execute(Tuple.tuple().addValue(job.accountId()).addValue(e)
            .addValue(reasons.toArray(String[]::new)).addValue(Timestamps.utc(now))));
  }

  /** Contacts as an import writes them: their keys (each once), addresses, preferences (JSON) and the rest. */
  public record ContactRows(List<String> keys, List<String> addresses, List<String> preferences,
      List<Boolean> unsubscribeAll, List<String> attributes) {}

  /**
   * Puts contacts in the list (replacing those it has), or deletes them ({@code put} false: only their keys count),
   * with the job's progress (its lease renewed until {@code until}), while the job is still {@code owner}'s; false
   * when it no longer is (nothing written).
   * Fails when the list is gone.
   */
  public Future<Boolean> contacts(Job job, String owner, String listName, boolean put, ContactRows rows,
      long processed, Instant until) {
    String[] keys = rows.keys().toArray(String[]::new);
    return fenced(job, owner, processed, until, conn -> !put
        ? conn.preparedQuery(DELETE_CONTACTS)
            .execute(Tuple.tuple().addValue(job.accountId()).addValue(listName).addValue(keys))
        : conn.preparedQuery(PUT_CONTACTS).execute(Tuple.from(new Object[] {job.accountId(), listName, keys,
            rows.addresses().toArray(String[]::new), rows.preferences().toArray(String[]::new),
            rows.unsubscribeAll().toArray(Boolean[]::new), rows.attributes().toArray(String[]::new)})));
  }

  private Future<Boolean> fenced(Job job, String owner, long processed, Instant until,
      java.util.function.Function<SqlConnection, Future<RowSet<Row>>> write) {
    return pool.withTransaction(conn -> conn.preparedQuery(LEASES.fence)
        .execute(Tuple.of(job.accountId(), job.jobId(), owner))
        .compose(fence -> fence.size() == 0 ? Future.succeededFuture(false) : write.apply(conn)
            .compose(written -> conn.preparedQuery(PROGRESS).execute(Tuple.of(job.accountId(), job.jobId(),
                processed, Timestamps.utc(until))))
            .map(true)));
  }

  /**
   * Ends the job, while it is still {@code owner}'s: COMPLETED with its counts and the file of its failed records
   * ({@code failedRecords}, null when none failed) stored at {@link #FAILED_BUCKET}/{@code failedKey} in the same
   * transaction, unless it would take the account past {@code maxStoredBytes} (0: no limit), in which case the job
   * completes without it and says why; or FAILED with {@code error}. False when the job was no longer the owner's.
   */
  public Future<Boolean> end(Job job, String owner, String error, long processed, long failed, Buffer failedRecords,
      String failedKey, long maxStoredBytes, Instant now) {
    OffsetDateTime at = Timestamps.utc(now);
    return Database.inTurn(pool, ExportJobStore.ACCOUNT_LOCK, job.accountId(), conn -> conn.preparedQuery(LEASES.fence)
        .execute(Tuple.of(job.accountId(), job.jobId(), owner))
        .compose(fence -> {
          if (fence.size() == 0) {
            return Future.succeededFuture(false);
          }
          if (error != null || failedRecords == null) {
            return finish(conn, job, error == null ? COMPLETED : FAILED, at, processed, failed, error, null);
          }
          return conn.preparedQuery(ExportJobStore.USAGE).execute(Tuple.of(job.accountId(), FAILED_BUCKET, failedKey))
              .compose(usage -> {
                long used = usage.iterator().next().getLong(0);
                if (maxStoredBytes > 0 && used + failedRecords.length() > maxStoredBytes) {
                  return finish(conn, job, COMPLETED, at, processed, failed, "The file of the failed records ("
                      + failedRecords.length() + " bytes) would take the account past what it may keep ("
                      + maxStoredBytes + " bytes, " + used + " in use), and was not kept.", null);
                }
                return conn.preparedQuery(ExportJobStore.STORE).execute(Tuple.of(job.accountId(), FAILED_BUCKET,
                        failedKey, job.jobId(), failedRecords, at))
                    .compose(stored -> finish(conn, job, COMPLETED, at, processed, failed, null, failedKey));
              });
        }));
  }

  private static Future<Boolean> finish(SqlConnection conn, Job job, String status, OffsetDateTime at,
      long processed, long failed, String error, String failedKey) {
    return conn.preparedQuery(END).execute(Tuple.tuple().addValue(job.accountId()).addValue(job.jobId())
        .addValue(status).addValue(at).addValue(processed).addValue(failed).addValue(error).addValue(failedKey))
        .map(true);
  }

  private static List<Job> jobs(RowSet<Row> rows) {
    List<Job> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(job(r));
    }
    return out;
  }

  private static Job job(Row r) {
    OffsetDateTime completed = r.getOffsetDateTime(8);
    return new Job(r.getString(0), r.getString(1), (JsonObject) r.getValue(2), r.getString(3), r.getString(4),
        r.getString(5), r.getString(6), r.getOffsetDateTime(7).toInstant(),
        completed == null ? null : completed.toInstant(), r.getLong(9), r.getLong(10), r.getString(11),
        r.getString(12));
  }
}
