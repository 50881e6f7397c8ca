package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The messages receipt rules' S3 actions stored ({@code received_objects}), as the S3 API reads them back: one
 * object, a bucket's keys in S3's order, a deletion. Every statement is scoped to one account: buckets are the
 * account's own namespaces, and another account's bucket of the same name is not seen.
 *
 * <p>Keys are ordered as S3 orders them, by their UTF-8 bytes (collation {@code "C"}, which the listing index has),
 * whatever the database's default collation.
 */
public final class ReceivedObjectStore {

  /**
   * A stored object.
   *
   * @param size the whole object's length in bytes
   * @param md5 the hex MD5 of the whole object
   * @param content the bytes asked for (all, or the range); null when they were not asked for, or when the range
   *     starts past the end
   */
  public record StoredObject(long size, String md5, Instant lastModified, Buffer content) {}

  /** A key of a listing, with its object's size and time. */
  public record ListedKey(String key, long size, Instant lastModified, String etag) {
    public ListedKey(String key, long size, Instant lastModified) {
      this(key, size, lastModified, null);
    }
  }

  // The content's length comes from its TOAST header (octet_length does not decompress it); the ETag is stored.
  private static final String FIND = "SELECT size, etag, created_at, %s FROM (SELECT octet_length(content) "
      + "AS size, content, etag, created_at FROM received_objects WHERE account_id = $1 AND bucket = $2 AND object_key = $3) o";
  private static final String HEAD = FIND.formatted("NULL::bytea");
  private static final String GET = FIND.formatted("content");
  /** $4 = first offset (negative: that many last bytes), $5 = last offset; a range starting past the end is NULL. */
  private static final String GET_RANGE = FIND.formatted("CASE "
      + "WHEN $4::bigint < 0 THEN substring(content FROM (greatest(size + $4::bigint, 0) + 1)::int) "
      + "WHEN $4::bigint >= size THEN NULL "
      // least(..., 2^31 - 1): a constant offset is folded when the statement is planned, branch taken or not
      + "ELSE substring(content FROM least($4::bigint + 1, 2147483647)::int "
      + "FOR least(least($5::bigint, size - 1) - $4::bigint + 1, 2147483647)::int) END");
  private static final String LIST = "SELECT object_key, octet_length(content), created_at, etag FROM received_objects "
      + "WHERE account_id = $1 AND bucket = $2 AND object_key COLLATE \"C\" >= $3 AND object_key COLLATE \"C\" >= $4 "
      + "AND ($5::text IS NULL OR object_key COLLATE \"C\" < $5) ORDER BY object_key COLLATE \"C\" LIMIT $6";
  private static final String DELETE =
      "DELETE FROM received_objects WHERE account_id = $1 AND bucket = $2 AND object_key = $3";
  private static final String BUCKET_EXISTS = "SELECT EXISTS (SELECT 1 FROM received_objects WHERE account_id = $1 "
      + "AND bucket = $2) OR EXISTS (SELECT 1 FROM multipart_uploads WHERE account_id = $1 AND bucket = $2 "
      + "AND completed_at IS NULL) "
      + "OR EXISTS (SELECT 1 FROM receipt_rules WHERE account_id = $1 "
      + "AND actions @> jsonb_build_array(jsonb_build_object('S3Action', jsonb_build_object('BucketName', $2::text))))";

  private final Pool pool;

  public ReceivedObjectStore(Pool pool) {
    this.pool = pool;
  }

  /** The object's size, MD5 and time, without its content. */
  public Future<Optional<StoredObject>> head(String accountId, String bucket, String key) {
    return find(HEAD, Tuple.of(accountId, bucket, key));
  }

  /** The object with all of its content. */
  public Future<Optional<StoredObject>> get(String accountId, String bucket, String key) {
    return find(GET, Tuple.of(accountId, bucket, key));
  }

  /**
   * The object with the bytes from offset {@code from} to {@code to} (clamped to its end) of its content; a negative
   * {@code from} asks for the last {@code -from} bytes. Only those bytes leave the database.
   */
  public Future<Optional<StoredObject>> get(String accountId, String bucket, String key, long from, long to) {
    return find(GET_RANGE, Tuple.of(accountId, bucket, key, from, to));
  }

  private Future<Optional<StoredObject>> find(String sql, Tuple args) {
    return pool.preparedQuery(sql).execute(args).map(rows -> rows.size() == 0 ? Optional.empty()
        : Optional.of(object(rows.iterator().next())));
  }

  private static StoredObject object(Row r) {
    return new StoredObject(r.getLong(0), r.getString(1), r.getOffsetDateTime(2).toInstant(), r.getBuffer(3));
  }

  /**
   * Up to {@code limit} keys of the bucket, in order, from {@code from} on (inclusive), among those that start with
   * {@code prefix}.
   *
   * @param prefixEnd the least string above every string that starts with {@code prefix}, or null when there is none
   *     (an empty prefix): it bounds the index scan
   */
  public Future<List<ListedKey>> keys(String accountId, String bucket, String from, String prefix, String prefixEnd,
      int limit) {
    return pool.preparedQuery(LIST).execute(Tuple.of(accountId, bucket, from, prefix, prefixEnd, limit)).map(rows -> {
      List<ListedKey> keys = new ArrayList<>(rows.size());
      for (Row r : rows) {
        keys.add(new ListedKey(r.getString(0), r.getLong(1), r.getOffsetDateTime(2).toInstant(), r.getString(3)));
      }
      return keys;
    });
  }

  /**
   * Writes the object (PutObject), replacing the one at its key, unless it would take the account past
   * {@code maxStoredBytes} (0: no limit) of all it keeps (less the object it replaces), counted in the account's turn
   * with the other writes of its files. Answers -1 when written, else the bytes the account keeps now.
   */
  public Future<Long> put(String accountId, String bucket, String key, String messageId, Buffer content,
      long maxStoredBytes, Instant now) {
    return put(accountId, bucket, key, messageId, content, maxStoredBytes, now, null);
  }

  /**
   * As {@link #put}, once {@code check} passed on the object it would replace (its size, MD5 and time; empty when
   * there is none), read in the same turn: a failed check fails the write, nothing written. No check: null.
   */
  public Future<Long> put(String accountId, String bucket, String key, String messageId, Buffer content,
      long maxStoredBytes, Instant now, Function<Optional<StoredObject>, Future<Void>> check) {
    return Database.inTurn(pool, ExportJobStore.ACCOUNT_LOCK, accountId, conn -> (check == null
        ? Future.<Void>succeededFuture()
        : conn.preparedQuery(HEAD).execute(Tuple.of(accountId, bucket, key)).compose(rows -> check.apply(
            rows.size() == 0 ? Optional.empty() : Optional.of(object(rows.iterator().next())))))
        .compose(v -> conn.preparedQuery(ExportJobStore.USAGE).execute(Tuple.of(accountId, bucket, key)))
        .compose(usage -> {
          long used = usage.iterator().next().getLong(0);
          if (maxStoredBytes > 0 && used + content.length() > maxStoredBytes) {
            return Future.succeededFuture(used);
          }
          return conn.preparedQuery(ExportJobStore.STORE)
              .execute(Tuple.of(accountId, bucket, key, messageId, content, Timestamps.utc(now))).map(-1L);
        }));
  }

  /**
   * What a copy did: the source object as it was copied (its size, MD5 and time, no content), and {@code used} -1 when
   * it was written, else the bytes the account keeps now, which the copy would have taken past its limit.
   */
  public record Copied(StoredObject source, long used) {}

  private static final String COPY = """
      INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at)
      SELECT account_id, $4, $5, message_id, content, $6 FROM received_objects
      WHERE account_id = $1 AND bucket = $2 AND object_key = $3
      ON CONFLICT (account_id, bucket, object_key)
      DO UPDATE SET message_id = EXCLUDED.message_id, content = EXCLUDED.content, created_at = EXCLUDED.created_at""";

  /**
   * Copies an object of the account's to another key of its own (CopyObject), in the database: the content never
   * leaves it. The source is read (its size, MD5 and time) and {@code check}ed in the account's turn with the other
   * writes of its files, so what was checked is what is copied; within {@code maxStoredBytes} as {@link #put}. Empty
   * when there is no such source (or it was deleted meanwhile); a failed check fails the copy, nothing written.
   */
  public Future<Optional<Copied>> copy(String accountId, String fromBucket, String fromKey, String bucket, String key,
      long maxStoredBytes, Instant now, Function<StoredObject, Future<Void>> check) {
    return Database.inTurn(pool, ExportJobStore.ACCOUNT_LOCK, accountId, conn -> conn.preparedQuery(HEAD)
        .execute(Tuple.of(accountId, fromBucket, fromKey)).compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(Optional.<Copied>empty());
          }
          StoredObject source = object(rows.iterator().next());
          return check.apply(source)
              .compose(v -> conn.preparedQuery(ExportJobStore.USAGE).execute(Tuple.of(accountId, bucket, key)))
              .compose(usage -> {
                long used = usage.iterator().next().getLong(0);
                if (maxStoredBytes > 0 && used + source.size() > maxStoredBytes) {
                  return Future.succeededFuture(Optional.of(new Copied(source, used)));
                }
                return conn.preparedQuery(COPY).execute(Tuple.of(accountId, fromBucket, fromKey, bucket, key,
                    Timestamps.utc(now))).map(r -> r.rowCount() == 0 ? Optional.<Copied>empty()
                        : Optional.of(new Copied(source, -1)));
              });
        }));
  }

  /** Deletes the object; true when there was one. */
  public Future<Boolean> delete(String accountId, String bucket, String key) {
    return pool.preparedQuery(DELETE).execute(Tuple.of(accountId, bucket, key)).map(r -> r.rowCount() > 0);
  }

  /**
   * Whether the account has the bucket: it holds one of the account's objects or uploads under way, or one of its
   * receipt rules' S3 actions names it (so a bucket stays while it is empty, as long as mail may still arrive in it).
   */
  public Future<Boolean> bucketExists(String accountId, String bucket) {
    return pool.preparedQuery(BUCKET_EXISTS).execute(Tuple.of(accountId, bucket))
        .map(rows -> rows.iterator().next().getBoolean(0));
  }
}
