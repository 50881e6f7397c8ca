package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * S3 multipart uploads under way ({@code multipart_uploads}, {@code multipart_parts}, V56): an upload is created for
 * a bucket and key of the account's namespace, its parts are put (each replacing the one of its number), and it is
 * completed, the object written from the parts it names, concatenated in the database, or aborted. Parts count in what
 * the account keeps ({@code received_usage}) while they wait.
 *
 * <p>Writes that depend on what the account keeps take the account's turn ({@link Database#inTurn}, the lock the
 * other writes of its objects take): a part is admitted against what the account keeps with the other writes already
 * counted, and a completion never interleaves with a part of its upload.
 */
public final class MultipartStore {

  /**
   * An upload: where its object goes, the checksum its parts carry (null: none required) and the object's checksum
   * type ({@code COMPOSITE} or {@code FULL_OBJECT}; null without an algorithm).
   */
  public record Upload(String bucket, String key, String checksumAlgorithm, String checksumType, Instant created) {}

  /** A part put: its number, size, hex MD5, checksum (null when none was given) and time. */
  public record Part(int number, long size, String md5, String checksum, Instant lastModified) {}

  /** An upload under way as ListMultipartUploads shows it. */
  public record Listed(String key, String uploadId, String checksumAlgorithm, String checksumType, Instant created) {}

  /** What became of a part: written, or refused, with the bytes that refused it. */
  public enum Outcome { STORED, NO_SUCH_UPLOAD, UPLOAD_TOO_LARGE, ACCOUNT_FULL }

  /**
   * @param bytes for {@link Outcome#UPLOAD_TOO_LARGE}, the bytes of the upload's other parts; for
   *     {@link Outcome#ACCOUNT_FULL}, what the account keeps but the part replaced
   */
  public record PartWrite(Outcome outcome, long bytes) {}

  /**
   * What a completion answers: the object's ETag (S3's for a multipart object, the MD5 of its parts' MD5s, a dash and
   * their count) and checksum (null without one), and the upload it completed (a completion retried is answered with
   * what the first one stored).
   */
  public record Completed(String etag, String checksum, Upload upload) {}

  /** What a completion makes of an upload: the numbers of its parts the object is made of, and its checksum. */
  public record Choice(List<Integer> numbers, String checksum) {}

  private static final String CREATE = """
      INSERT INTO multipart_uploads (account_id, upload_id, bucket, object_key, checksum_algorithm, checksum_type,
        created_at, metadata, tags)
      SELECT $1, $2, $3, $4, $5, $6, $7, $9, $10
      WHERE (SELECT count(*) FROM multipart_uploads WHERE account_id = $1 AND completed_at IS NULL) < $8""";

  /** An upload; with {@link #UNDER_WAY}, one not completed. */
  private static final String FIND = """
      SELECT bucket, object_key, checksum_algorithm, checksum_type, created_at, completed_etag, completed_checksum,
        completed_at IS NOT NULL
      FROM multipart_uploads WHERE account_id = $1 AND upload_id = $2""";

  private static final String UNDER_WAY = " AND completed_at IS NULL";

  /**
   * A bucket's uploads in S3's order (key by its UTF-8 bytes, then the time each was begun, then its id), from the
   * position after key $3 (and, when $4 is given, after that upload of key $3), among keys that start with $5 ($6: the
   * least string above them, NULL for none), $7 at most.
   */
  private static final String LIST = """
      SELECT object_key, upload_id, checksum_algorithm, checksum_type, created_at FROM multipart_uploads m
      WHERE account_id = $1 AND bucket = $2 AND completed_at IS NULL
        AND (object_key COLLATE "C" > $3 OR (object_key = $3 AND $4::text IS NOT NULL AND (created_at, upload_id) >
             (SELECT created_at, upload_id FROM multipart_uploads WHERE account_id = $1 AND upload_id = $4)))
        AND object_key COLLATE "C" >= $5 AND ($6::text IS NULL OR object_key COLLATE "C" < $6)
      ORDER BY object_key COLLATE "C", created_at, upload_id LIMIT $7""";

  /** The upload, held against a completion, an abort or the sweep until the part is written. */
  private static final String FIND_FOR_PART = FIND + UNDER_WAY + " AND bucket = $3 AND object_key = $4 FOR SHARE";

  /** The upload, completed or not (a completion retried is answered again). */
  private static final String FIND_FOR_COMPLETION = FIND + " AND bucket = $3 AND object_key = $4 FOR UPDATE";

  private static final String FIND_FOR_ABORT = FIND + UNDER_WAY + " AND bucket = $3 AND object_key = $4 FOR UPDATE";

  /** What the account keeps but part $3 (if it was put before), and the upload's other parts. */
  private static final String PART_USAGE = """
      SELECT coalesce((SELECT sum(bytes) FROM received_usage WHERE account_id = $1), 0)::bigint
          - coalesce((SELECT octet_length(content) FROM multipart_parts
                      WHERE account_id = $1 AND upload_id = $2 AND part_number = $3), 0)::bigint,
        coalesce((SELECT sum(octet_length(content)) FROM multipart_parts
                  WHERE account_id = $1 AND upload_id = $2 AND part_number <> $3), 0)::bigint""";

  private static final String PUT_PART = """
      INSERT INTO multipart_parts (account_id, upload_id, part_number, content, checksum, created_at)
      VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (account_id, upload_id, part_number)
      DO UPDATE SET content = EXCLUDED.content, checksum = EXCLUDED.checksum, created_at = EXCLUDED.created_at""";

  /** The upload's parts from number $3 on, $4 at most (their sizes from the TOAST header: no content is read). */
  private static final String PARTS = """
      SELECT part_number, octet_length(content), etag, checksum, created_at FROM multipart_parts
      WHERE account_id = $1 AND upload_id = $2 AND part_number >= $3 ORDER BY part_number LIMIT $4""";

  /**
   * The object, concatenated from parts $6 in the database (no part's bytes leave it), with its parts' sizes and S3's
   * ETag for it: the MD5 of the parts' MD5s (their stored ETags, as bytes), a dash and their count; its checksum ($8
   * the algorithm, $9 the value: the completion's, NULL for an upload without one) and, with one, its parts'; the
   * metadata and tags the upload was created with.
   */
  private static final String WRITE_OBJECT = """
      INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at, part_sizes,
        part_checksums, parts_etag, checksum_algorithm, checksum, metadata, tags)
      SELECT $1, $3, $4, $5, string_agg(content, ''::bytea ORDER BY part_number), $7,
        array_agg(octet_length(content)::bigint ORDER BY part_number),
        CASE WHEN $8::text IS NOT NULL THEN array_agg(checksum ORDER BY part_number) END,
        md5(decode(string_agg(etag, '' ORDER BY part_number), 'hex')) || '-' || count(*), $8, $9,
        (SELECT metadata FROM multipart_uploads WHERE account_id = $1 AND upload_id = $2),
        (SELECT tags FROM multipart_uploads WHERE account_id = $1 AND upload_id = $2)
      FROM multipart_parts WHERE account_id = $1 AND upload_id = $2 AND part_number = ANY($6)
      ON CONFLICT (account_id, bucket, object_key)
      DO UPDATE SET message_id = EXCLUDED.message_id, content = EXCLUDED.content, created_at = EXCLUDED.created_at,
        part_sizes = EXCLUDED.part_sizes, part_checksums = EXCLUDED.part_checksums, parts_etag = EXCLUDED.parts_etag,
        checksum_algorithm = EXCLUDED.checksum_algorithm, checksum = EXCLUDED.checksum, metadata = EXCLUDED.metadata,
        tags = EXCLUDED.tags
      RETURNING parts_etag""";

  /** A completion's upload: its parts gone, what the completion answered kept ($3: when, $4: ETag, $5: checksum). */
  private static final String COMPLETED = """
      WITH p AS (DELETE FROM multipart_parts WHERE account_id = $1 AND upload_id = $2)
      UPDATE multipart_uploads SET completed_at = $3, completed_etag = $4, completed_checksum = $5
      WHERE account_id = $1 AND upload_id = $2""";

  /** The upload and its parts: run once the upload is locked, so that no part is put meanwhile. */
  private static final String DELETE = """
      WITH p AS (DELETE FROM multipart_parts WHERE account_id = $1 AND upload_id = $2)
      DELETE FROM multipart_uploads WHERE account_id = $1 AND upload_id = $2""";

  /**
   * Uploads created before $1 or completed before $3, oldest first, $2 at most, locked (skipping those a part is being
   * put in).
   */
  private static final String ABANDONED = """
      SELECT account_id, upload_id FROM multipart_uploads WHERE created_at < $1 OR completed_at < $3
      ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED""";

  /** Uploads $1 (accounts) and $2 (ids), with their parts. */
  private static final String DELETE_ALL = """
      WITH gone AS (SELECT * FROM unnest($1::text[], $2::text[]) AS g (account_id, upload_id)),
           p AS (DELETE FROM multipart_parts m USING gone
                 WHERE m.account_id = gone.account_id AND m.upload_id = gone.upload_id)
      DELETE FROM multipart_uploads m USING gone
      WHERE m.account_id = gone.account_id AND m.upload_id = gone.upload_id""";

  private final Pool pool;

  public MultipartStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * Creates an upload with the id given, unless the account has {@code maxUploads} under way already; whether it was
   * created. Its object is written with {@code metadata} and {@code tags} (null for none).
   */
  public Future<Boolean> create(String accountId, String uploadId, String bucket, String key, String checksumAlgorithm,
      String checksumType, JsonObject metadata, JsonObject tags, Instant now, int maxUploads) {
    return pool.preparedQuery(CREATE).execute(Tuple.tuple().addValue(accountId).addValue(uploadId).addValue(bucket)
        .addValue(key).addValue(checksumAlgorithm).addValue(checksumType).addValue(Timestamps.utc(now))
        .addValue(maxUploads).addValue(metadata).addValue(tags)).map(rows -> rows.rowCount() == 1);
  }

  /**
   * Up to {@code limit} of the bucket's uploads under way after key {@code afterKey} (and after upload
   * {@code afterUpload} of that key, when given), among those whose key starts with {@code prefix}.
   *
   * @param prefixEnd the least string above every string that starts with {@code prefix}, or null when there is none
   */
  public Future<List<Listed>> list(String accountId, String bucket, String afterKey, String afterUpload,
      String prefix, String prefixEnd, int limit) {
    return pool.preparedQuery(LIST).execute(Tuple.tuple().addValue(accountId).addValue(bucket).addValue(afterKey)
        .addValue(afterUpload).addValue(prefix).addValue(prefixEnd).addValue(limit)).map(rows -> {
          List<Listed> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(new Listed(r.getString(0), r.getString(1), r.getString(2), r.getString(3),
                r.getOffsetDateTime(4).toInstant()));
          }
          return out;
        });
  }

  /** The upload under way, if the account has it (another account's id, or a completed upload, is not found). */
  public Future<Optional<Upload>> find(String accountId, String uploadId) {
    return pool.preparedQuery(FIND + UNDER_WAY).execute(Tuple.of(accountId, uploadId)).map(rows -> rows.size() == 0
        ? Optional.empty() : Optional.of(upload(rows.iterator().next())));
  }

  private static Upload upload(Row r) {
    return new Upload(r.getString(0), r.getString(1), r.getString(2), r.getString(3),
        r.getOffsetDateTime(4).toInstant());
  }

  /**
   * Puts part {@code number} of the upload (for {@code bucket} and {@code key}), replacing the one of that number,
   * unless the upload's parts would hold more than {@code maxUploadBytes} or the account would keep more than
   * {@code maxStoredBytes} (0: no limit).
   */
  public Future<PartWrite> putPart(String accountId, String uploadId, String bucket, String key, int number,
      Buffer content, String checksum, long maxUploadBytes, long maxStoredBytes, Instant now) {
    return Database.inTurn(pool, ExportJobStore.ACCOUNT_LOCK, accountId, conn -> conn.preparedQuery(FIND_FOR_PART)
        .execute(Tuple.of(accountId, uploadId, bucket, key)).compose(found -> {
          if (found.size() == 0) {
            return Future.succeededFuture(new PartWrite(Outcome.NO_SUCH_UPLOAD, 0));
          }
          return conn.preparedQuery(PART_USAGE).execute(Tuple.of(accountId, uploadId, number)).compose(usage -> {
            Row u = usage.iterator().next();
            long used = u.getLong(0);
            long others = u.getLong(1);
            if (others + content.length() > maxUploadBytes) {
              return Future.succeededFuture(new PartWrite(Outcome.UPLOAD_TOO_LARGE, others));
            }
            if (maxStoredBytes > 0 && used + content.length() > maxStoredBytes) {
              return Future.succeededFuture(new PartWrite(Outcome.ACCOUNT_FULL, used));
            }
            return conn.preparedQuery(PUT_PART).execute(Tuple.of(accountId, uploadId, number, content, checksum,
                Timestamps.utc(now))).map(new PartWrite(Outcome.STORED, 0));
          });
        }));
  }

  /** Up to {@code limit} of the upload's parts, in order, from number {@code from} on. */
  public Future<List<Part>> parts(String accountId, String uploadId, int from, int limit) {
    return pool.preparedQuery(PARTS).execute(Tuple.of(accountId, uploadId, from, limit)).map(MultipartStore::parts);
  }

  private static List<Part> parts(Iterable<Row> rows) {
    List<Part> parts = new ArrayList<>();
    for (Row r : rows) {
      parts.add(new Part(r.getInteger(0), r.getLong(1), r.getString(2), r.getString(3),
          r.getOffsetDateTime(4).toInstant()));
    }
    return parts;
  }

  /**
   * Completes the upload (for {@code bucket} and {@code key}): {@code choose} is given the upload and all of its parts
   * and answers the numbers of those the object is made of, in order, and its checksum (or throws, and nothing
   * changes); the object is written from them, replacing the one at its key, and the upload's parts are deleted, in
   * one transaction. The upload is kept, completed, with its answer: a completion retried within
   * {@code RetentionVerticle.COMPLETED_UPLOAD_KEPT} gets it again. Empty when the account has no such upload. The
   * object counts in what the account keeps instead of its parts: never more than they did.
   *
   * <p>First {@code check} is run on the object the completion would replace (its size, ETag and time; empty when there
   * is none), read in the same turn: a completion's conditional write. A failed check fails the completion and changes
   * nothing: the upload stays under way, its parts kept. A completion retried is answered as the first one was, with
   * no check: what it checked was checked then. No check: null.
   */
  public Future<Optional<Completed>> complete(String accountId, String uploadId, String bucket, String key,
      BiFunction<Upload, List<Part>, Choice> choose, String messageId, Instant now,
      Function<Optional<ReceivedObjectStore.StoredObject>, Future<Void>> check) {
    Tuple upload = Tuple.of(accountId, uploadId, bucket, key);
    return Database.inTurn(pool, ExportJobStore.ACCOUNT_LOCK, accountId, conn -> conn
        .preparedQuery(FIND_FOR_COMPLETION).execute(upload).compose(found -> {
          if (found.size() == 0) {
            return Future.succeededFuture(Optional.empty());
          }
          Row r = found.iterator().next();
          Upload u = upload(r);
          if (r.getBoolean(7)) {
            return Future.succeededFuture(Optional.of(new Completed(r.getString(5), r.getString(6), u)));
          }
          return ReceivedObjectStore.checked(conn, accountId, bucket, key, check)
              .compose(v -> conn.preparedQuery(PARTS).execute(Tuple.of(accountId, uploadId, 1, Integer.MAX_VALUE)))
              .compose(rows -> {
                Choice choice = choose.apply(u, parts(rows));
                return conn.preparedQuery(WRITE_OBJECT).execute(Tuple.tuple().addValue(accountId)
                        .addValue(uploadId).addValue(bucket).addValue(key).addValue(messageId)
                        .addValue(choice.numbers().toArray(new Integer[0])).addValue(Timestamps.utc(now))
                        .addValue(choice.checksum() == null ? null : u.checksumAlgorithm())
                        .addValue(choice.checksum()))
                    .compose(written -> {
                      String etag = written.iterator().next().getString(0);
                      return conn.preparedQuery(COMPLETED).execute(Tuple.of(accountId, uploadId, Timestamps.utc(now),
                          etag, choice.checksum())).map(v -> Optional.of(new Completed(etag, choice.checksum(), u)));
                    });
              });
        }));
  }

  /** Aborts the upload (for {@code bucket} and {@code key}): it and its parts are deleted; whether there was one. */
  public Future<Boolean> abort(String accountId, String uploadId, String bucket, String key) {
    Tuple upload = Tuple.of(accountId, uploadId, bucket, key);
    return pool.withTransaction(conn -> conn.preparedQuery(FIND_FOR_ABORT).execute(upload)
        .compose(found -> found.size() == 0 ? Future.succeededFuture(false) : delete(conn, upload).map(true)));
  }

  private static Future<Void> delete(SqlConnection conn, Tuple upload) {
    return conn.preparedQuery(DELETE).execute(Tuple.of(upload.getValue(0), upload.getValue(1))).mapEmpty();
  }

  /**
   * Deletes up to {@code batch} uploads created before {@code before}, or completed before {@code completedBefore},
   * with their parts, in one transaction on {@code conn}; how many. An upload a part is being put in is left for the
   * next sweep.
   */
  public static Future<Long> deleteAbandoned(SqlConnection conn, Instant before, Instant completedBefore, int batch) {
    return conn.begin().compose(tx -> conn.preparedQuery(ABANDONED).execute(Tuple.of(Timestamps.utc(before), batch,
            Timestamps.utc(completedBefore)))
        .compose(rows -> {
          List<String> accounts = new ArrayList<>();
          List<String> ids = new ArrayList<>();
          rows.forEach(r -> {
            accounts.add(r.getString(0));
            ids.add(r.getString(1));
          });
          return ids.isEmpty() ? Future.succeededFuture(0L) : conn.preparedQuery(DELETE_ALL)
              .execute(Tuple.tuple().addValue(accounts.toArray(new String[0])).addValue(ids.toArray(new String[0])))
              .map(deleted -> (long) deleted.rowCount());
        })
        .compose(n -> tx.commit().map(n), e -> tx.rollback().transform(x -> Future.failedFuture(e))));
  }
}
