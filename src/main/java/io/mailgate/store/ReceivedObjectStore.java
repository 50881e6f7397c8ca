package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
   * @param etag its S3 ETag, unquoted: the hex MD5 of its content, or for one completed from a multipart upload the MD5
   *     of its parts' MD5s, a dash and their count
   * @param content the bytes asked for (all, or the range); null when they were not asked for, or when the range
   *     starts past the end
   * @param parts how many parts it was completed from; 0 for an object put whole (or copied, or written by a rule)
   * @param checksum the checksum it was written with: its algorithm ({@code crc32}...) and base64 value (a composite
   *     one's with a dash and the count of parts); null for none
   * @param metadata the headers it was written with that it keeps (Content-Type, {@code x-amz-meta-*}...: names and
   *     values); null for none
   * @param tagCount how many tags it has
   */
  public record StoredObject(long size, String etag, Instant lastModified, Buffer content, int parts,
      Map.Entry<String, String> checksum, JsonObject metadata, int tagCount) {}

  /**
   * Where a part of an object is ({@link #part}).
   *
   * @param offset the part's first byte in the object
   * @param length its length; for an object put whole, part 1 is the object
   * @param exists whether the object has a part of the number asked for (an object put whole has one)
   * @param checksum the part's own checksum (of an object completed from an upload with a checksum algorithm, in its
   *     algorithm); null for none
   */
  public record PartOf(StoredObject object, long offset, long length, boolean exists, String checksum) {}

  /** A part of an object completed from a multipart upload: its number, size and checksum (null for none). */
  public record ObjectPart(int number, long size, String checksum) {}

  /**
   * A key of a listing, with its object's size, time and ETag, and the algorithm of the checksum it keeps (null for
   * none) and whether that checksum is composite (of parts) rather than of the full object.
   */
  public record ListedKey(String key, long size, Instant lastModified, String etag, String checksumAlgorithm,
      boolean compositeChecksum) {
    public ListedKey(String key, long size, Instant lastModified) {
      this(key, size, lastModified, null, null, false);
    }
  }

  // The content's length comes from its TOAST header (octet_length does not decompress it); the ETag is stored.
  private static final String FIND = "SELECT size, etag, created_at, parts, checksum_algorithm, checksum, metadata, "
      + "tag_count, %s FROM (SELECT octet_length(content) AS size, content, coalesce(parts_etag, etag) AS etag, "
      + "created_at, coalesce(cardinality(part_sizes), 0) AS parts, checksum_algorithm, checksum, metadata, "
      + "(SELECT count(*) FROM jsonb_object_keys(tags))::int AS tag_count%s FROM received_objects "
      + "WHERE account_id = $1 AND bucket = $2 AND object_key = $3) o";
  static final String HEAD = FIND.formatted("NULL::bytea", "");
  /**
   * HEAD's, with where part $4 is: its offset and length (NULL for an object put whole, or no such part), and its
   * checksum.
   */
  private static final String PART = FIND.formatted("NULL::bytea, part_offset, part_length, part_checksum",
      ", (SELECT sum(s) FROM unnest(part_sizes[1:$4::int - 1]) s)::bigint AS part_offset, "
      + "part_sizes[$4::int] AS part_length, part_checksums[$4::int] AS part_checksum");
  /** HEAD's, with parts $4 + 1 to $4 + $5: their sizes and checksums (NULL for an object put whole). */
  private static final String PARTS = FIND.formatted("NULL::bytea, sizes, checksums",
      ", part_sizes[$4::int + 1 : $4::int + $5::int] AS sizes, part_checksums[$4::int + 1 : $4::int + $5::int] "
      + "AS checksums");
  private static final String GET = FIND.formatted("content", "");
  /** $4 = first offset (negative: that many last bytes), $5 = last offset; a range starting past the end is NULL. */
  private static final String GET_RANGE = FIND.formatted("CASE "
      + "WHEN $4::bigint < 0 THEN substring(content FROM (greatest(size + $4::bigint, 0) + 1)::int) "
      + "WHEN $4::bigint >= size THEN NULL "
      // least(..., 2^31 - 1): a constant offset is folded when the statement is planned, branch taken or not
      + "ELSE substring(content FROM least($4::bigint + 1, 2147483647)::int "
      + "FOR least(least($5::bigint, size - 1) - $4::bigint + 1, 2147483647)::int) END", "");
  /** A listed key's columns, as {@link #listed} reads them. */
  private static final String KEY_COLUMNS = "SELECT object_key, octet_length(content), created_at, "
      + "coalesce(parts_etag, etag), checksum_algorithm, strpos(checksum, '-') > 0 FROM received_objects ";
  private static final String LIST = KEY_COLUMNS
      + "WHERE account_id = $1 AND bucket = $2 AND object_key COLLATE \"C\" >= $3 AND object_key COLLATE \"C\" >= $4 "
      + "AND ($5::text IS NULL OR object_key COLLATE \"C\" < $5) ORDER BY object_key COLLATE \"C\" LIMIT $6";
  /** LIST's keys, last first: the listing index read backwards. */
  private static final String LATEST = KEY_COLUMNS
      + "WHERE account_id = $1 AND bucket = $2 AND object_key COLLATE \"C\" >= $3 "
      + "AND ($4::text IS NULL OR object_key COLLATE \"C\" < $4) ORDER BY object_key COLLATE \"C\" DESC LIMIT $5";
  private static final String DELETE =
      "DELETE FROM received_objects WHERE account_id = $1 AND bucket = $2 AND object_key = $3";
  private static final String BUCKET_EXISTS = "SELECT EXISTS (SELECT 1 FROM received_objects WHERE account_id = $1 "
      + "AND bucket = $2) OR EXISTS (SELECT 1 FROM multipart_uploads WHERE account_id = $1 AND bucket = $2 "
      + "AND completed_at IS NULL) OR EXISTS (SELECT 1 FROM s3_buckets WHERE account_id = $1 AND name = $2) "
      + "OR EXISTS (SELECT 1 FROM receipt_rules WHERE account_id = $1 "
      + "AND actions @> jsonb_build_array(jsonb_build_object('S3Action', jsonb_build_object('BucketName', $2::text))))";

  private final Pool pool;

  public ReceivedObjectStore(Pool pool) {
    this.pool = pool;
  }

  /** The object's size, ETag and time, without its content. */
  public Future<Optional<StoredObject>> head(String accountId, String bucket, String key) {
    return find(HEAD, Tuple.of(accountId, bucket, key));
  }

  /**
   * The object without its content, and where its part {@code number} (1 to 10,000) is: for an object completed from
   * a multipart upload, that part as it was put; for one put whole, part 1 is all of it and there is no other.
   */
  public Future<Optional<PartOf>> part(String accountId, String bucket, String key, int number) {
    return pool.preparedQuery(PART).execute(Tuple.of(accountId, bucket, key, number)).map(rows -> {
      if (rows.size() == 0) {
        return Optional.empty();
      }
      Row r = rows.iterator().next();
      StoredObject o = object(r);
      if (o.parts() == 0) {
        return Optional.of(new PartOf(o, 0, o.size(), number == 1, null));
      }
      Long length = r.getLong(10);
      return Optional.of(length == null ? new PartOf(o, 0, 0, false, null)
          : new PartOf(o, r.getLong(9) == null ? 0 : r.getLong(9), length, true, r.getString(11)));
    });
  }

  /** An object without its content, and some of its parts (GetObjectAttributes). */
  public record WithParts(StoredObject object, List<ObjectPart> parts) {}

  /**
   * The object without its content, and its parts after number {@code after}, {@code max} at most, in order: none for
   * an object put whole (which has no parts of its own).
   */
  public Future<Optional<WithParts>> parts(String accountId, String bucket, String key, int after, int max) {
    return pool.preparedQuery(PARTS).execute(Tuple.of(accountId, bucket, key, after, max)).map(rows -> {
      if (rows.size() == 0) {
        return Optional.empty();
      }
      Row r = rows.iterator().next();
      Long[] sizes = r.getArrayOfLongs(9);
      String[] checksums = r.getArrayOfStrings(10);
      List<ObjectPart> parts = new ArrayList<>();
      for (int i = 0; sizes != null && i < sizes.length; i++) {
        parts.add(new ObjectPart(after + i + 1, sizes[i], checksums == null || i >= checksums.length ? null
            : checksums[i]));
      }
      return Optional.of(new WithParts(object(r), parts));
    });
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
    return new StoredObject(r.getLong(0), r.getString(1), r.getOffsetDateTime(2).toInstant(), r.getBuffer(8),
        r.getInteger(3), r.getString(4) == null ? null : Map.entry(r.getString(4), r.getString(5)),
        r.getJsonObject(6), r.getInteger(7));
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
    return pool.preparedQuery(LIST).execute(Tuple.of(accountId, bucket, from, prefix, prefixEnd, limit))
        .map(ReceivedObjectStore::listed);
  }

  /**
   * The last {@code limit} keys of the bucket that start with {@code prefix}, last first: the newest mail a receipt
   * rule stored under its prefix, whose keys are message ids that begin with their time.
   */
  public Future<List<ListedKey>> latest(String accountId, String bucket, String prefix, int limit) {
    return pool.preparedQuery(LATEST).execute(Tuple.of(accountId, bucket, prefix, after(prefix), limit))
        .map(ReceivedObjectStore::listed);
  }

  /**
   * The least string above every string that starts with {@code s}: its last code point, plus one (code point order
   * is UTF-8 byte order, the keys' order); null when there is none (empty, or only U+10FFFF). The upper bound of the
   * keys with a prefix, for an index scan.
   */
  public static String after(String s) {
    int end = s.length();
    while (end > 0) {
      int cp = s.codePointBefore(end);
      int start = end - Character.charCount(cp);
      if (cp < Character.MAX_CODE_POINT) {
        int next = cp + 1 == Character.MIN_SURROGATE ? Character.MAX_SURROGATE + 1 : cp + 1;
        return s.substring(0, start) + Character.toString(next);
      }
      end = start;
    }
    return null;
  }

  private static List<ListedKey> listed(io.vertx.sqlclient.RowSet<Row> rows) {
    List<ListedKey> keys = new ArrayList<>(rows.size());
    for (Row r : rows) {
      keys.add(new ListedKey(r.getString(0), r.getLong(1), r.getOffsetDateTime(2).toInstant(), r.getString(3),
          r.getString(4), Boolean.TRUE.equals(r.getBoolean(5))));
    }
    return keys;
  }

  /**
   * Writes the object (PutObject), replacing the one at its key, unless it would take the account past
   * {@code maxStoredBytes} (0: no limit) of all it keeps (less the object it replaces), counted in the account's turn
   * with the other writes of its files. Answers -1 when written, else the bytes the account keeps now.
   *
   * <p>It is kept with the {@code checksum} it was sent with (its algorithm, {@code crc32}..., and base64 value; null
   * for none), its {@code metadata} and {@code tags} (null for none), once {@code check} passed on the object it would
   * replace (its size, ETag and time; empty when there is none), read in the same turn: a failed check fails the
   * write, nothing written. No check: null.
   */
  public Future<Long> put(String accountId, String bucket, String key, String messageId, Buffer content,
      Map.Entry<String, String> checksum, JsonObject metadata, JsonObject tags, long maxStoredBytes, Instant now,
      Function<Optional<StoredObject>, Future<Void>> check) {
    return Database.inTurn(pool, ExportJobStore.ACCOUNT_LOCK, accountId, conn -> checked(conn, accountId, bucket, key,
        check).compose(v -> conn.preparedQuery(ExportJobStore.USAGE).execute(Tuple.of(accountId, bucket, key)))
        .compose(usage -> {
          long used = usage.iterator().next().getLong(0);
          if (maxStoredBytes > 0 && used + content.length() > maxStoredBytes) {
            return Future.succeededFuture(used);
          }
          return conn.preparedQuery(PUT).execute(Tuple.tuple().addValue(accountId).addValue(bucket).addValue(key)
              .addValue(messageId).addValue(content).addValue(Timestamps.utc(now))
              .addValue(checksum == null ? null : checksum.getKey())
              .addValue(checksum == null ? null : checksum.getValue()).addValue(metadata).addValue(tags)).map(-1L);
        }));
  }

  /**
   * {@code check} run on the object at the key (empty when there is none), read on {@code conn}; no check (null), no
   * read. Run in the account's turn, the object checked is the one a write that follows replaces.
   */
  static Future<Void> checked(SqlConnection conn, String accountId, String bucket, String key,
      Function<Optional<StoredObject>, Future<Void>> check) {
    return check == null ? Future.succeededFuture() : conn.preparedQuery(HEAD).execute(Tuple.of(accountId, bucket,
        key)).compose(rows -> check.apply(rows.size() == 0 ? Optional.empty()
            : Optional.of(object(rows.iterator().next()))));
  }

  /**
   * What a copy did: the source object as it was copied (its size, ETag and time, no content), and {@code used} -1
   * when it was written, else the bytes the account keeps now, which the copy would have taken past its limit;
   * {@code etag}, the copy's when it was written (its content's MD5: a copy is one part, whatever its source was).
   */
  public record Copied(StoredObject source, long used, String etag) {
    /** The copy's checksum: its source's when that is of the full object (a composite one is of parts), else null. */
    public Map.Entry<String, String> checksum() {
      Map.Entry<String, String> c = source.checksum();
      return c == null || c.getValue().indexOf('-') >= 0 ? null : c;
    }
  }

  /**
   * A copy is one part; a full object's checksum is its copy's too, a composite one (of parts) is no one's. Its
   * metadata is its source's (x-amz-metadata-directive COPY: $7 NULL), or $7 (REPLACE; {} for none); its tags likewise,
   * by $8 (x-amz-tagging-directive).
   */
  private static final String COPY = """
      INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at,
        checksum_algorithm, checksum, metadata, tags)
      SELECT account_id, $4, $5, message_id, content, $6,
        CASE WHEN strpos(checksum, '-') = 0 THEN checksum_algorithm END,
        CASE WHEN strpos(checksum, '-') = 0 THEN checksum END,
        CASE WHEN $7::jsonb IS NULL THEN metadata ELSE nullif($7::jsonb, '{}'::jsonb) END,
        CASE WHEN $8::jsonb IS NULL THEN tags ELSE nullif($8::jsonb, '{}'::jsonb) END
      FROM received_objects WHERE account_id = $1 AND bucket = $2 AND object_key = $3
      ON CONFLICT (account_id, bucket, object_key)
      DO UPDATE SET message_id = EXCLUDED.message_id, content = EXCLUDED.content, created_at = EXCLUDED.created_at,
          part_sizes = NULL, part_checksums = NULL, parts_etag = NULL, checksum_algorithm = EXCLUDED.checksum_algorithm,
          checksum = EXCLUDED.checksum, metadata = EXCLUDED.metadata, tags = EXCLUDED.tags
      RETURNING etag""";

  /**
   * PutObject's write: one part, the checksum it was sent with ($7, $8; NULL for none), its metadata ($9) and tags
   * ($10).
   */
  private static final String PUT = """
      INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at,
        checksum_algorithm, checksum, metadata, tags)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
      ON CONFLICT (account_id, bucket, object_key)
      DO UPDATE SET message_id = EXCLUDED.message_id, content = EXCLUDED.content, created_at = EXCLUDED.created_at,
          part_sizes = NULL, part_checksums = NULL, parts_etag = NULL, checksum_algorithm = EXCLUDED.checksum_algorithm,
          checksum = EXCLUDED.checksum, metadata = EXCLUDED.metadata, tags = EXCLUDED.tags""";

  /**
   * Copies an object of the account's to another key of its own (CopyObject), in the database: the content never
   * leaves it. The source is read (its size, ETag and time) and {@code check}ed in the account's turn with the other
   * writes of its files, so what was checked is what is copied, then the object the copy would replace
   * ({@code destinationCheck}, as {@link #put}'s check; null for none); within {@code maxStoredBytes} as {@link #put}.
   * Empty when there is no such source (or it was deleted meanwhile); a failed check fails the copy, nothing written.
   *
   * @param metadata the copy's own metadata (x-amz-metadata-directive REPLACE: an empty object for none), or null for
   *     its source's (COPY)
   * @param tags the copy's own tags (x-amz-tagging-directive REPLACE: an empty object for none), or null for its
   *     source's (COPY)
   */
  public Future<Optional<Copied>> copy(String accountId, String fromBucket, String fromKey, String bucket, String key,
      JsonObject metadata, JsonObject tags, long maxStoredBytes, Instant now,
      Function<StoredObject, Future<Void>> check,
      Function<Optional<StoredObject>, Future<Void>> destinationCheck) {
    return Database.inTurn(pool, ExportJobStore.ACCOUNT_LOCK, accountId, conn -> conn.preparedQuery(HEAD)
        .execute(Tuple.of(accountId, fromBucket, fromKey)).compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(Optional.<Copied>empty());
          }
          StoredObject source = object(rows.iterator().next());
          return check.apply(source).compose(v -> checked(conn, accountId, bucket, key, destinationCheck))
              .compose(v -> conn.preparedQuery(ExportJobStore.USAGE).execute(Tuple.of(accountId, bucket, key)))
              .compose(usage -> {
                long used = usage.iterator().next().getLong(0);
                if (maxStoredBytes > 0 && used + source.size() > maxStoredBytes) {
                  return Future.succeededFuture(Optional.of(new Copied(source, used, null)));
                }
                return conn.preparedQuery(COPY).execute(Tuple.of(accountId, fromBucket, fromKey, bucket, key,
                    Timestamps.utc(now), metadata, tags)).map(r -> r.rowCount() == 0 ? Optional.<Copied>empty()
                        : Optional.of(new Copied(source, -1, r.iterator().next().getString(0))));
              });
        }));
  }

  /** The object's tags (an empty object for none); empty when there is no such object. */
  public Future<Optional<JsonObject>> tags(String accountId, String bucket, String key) {
    return pool.preparedQuery("SELECT tags FROM received_objects WHERE account_id = $1 AND bucket = $2 "
        + "AND object_key = $3").execute(Tuple.of(accountId, bucket, key)).map(rows -> rows.size() == 0
            ? Optional.empty() : Optional.of(Optional.ofNullable(rows.iterator().next().getJsonObject(0))
                .orElseGet(JsonObject::new)));
  }

  /**
   * Sets the object's tags (PutObjectTagging; null or empty: none, DeleteObjectTagging), its content and time as they
   * are; whether there is such an object.
   */
  public Future<Boolean> setTags(String accountId, String bucket, String key, JsonObject tags) {
    return pool.preparedQuery("UPDATE received_objects SET tags = nullif($4::jsonb, '{}'::jsonb) "
        + "WHERE account_id = $1 AND bucket = $2 AND object_key = $3").execute(Tuple.of(accountId, bucket, key, tags))
        .map(r -> r.rowCount() > 0);
  }

  /** Deletes the object; true when there was one. */
  public Future<Boolean> delete(String accountId, String bucket, String key) {
    return pool.preparedQuery(DELETE).execute(Tuple.of(accountId, bucket, key)).map(r -> r.rowCount() > 0);
  }

  /**
   * What DeleteObjects did to one of its keys: DELETED (or not there: S3 counts it deleted), ETAG_DIFFERS (kept: the
   * ETag it was asked to have is not its own), NO_SUCH_KEY (none there, asked with an ETag).
   */
  public enum Deletion { DELETED, ETAG_DIFFERS, NO_SUCH_KEY }

  /**
   * Keys $3 deleted from bucket $2, each only when its ETag is $4's (NULL: any), in one statement; for each key asked
   * (in order), whether it was deleted and whether it was there (as the statement began).
   */
  private static final String DELETE_ALL = """
      WITH asked AS (SELECT * FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS a (object_key, etag, n)),
      gone AS (
        DELETE FROM received_objects o USING asked a
        WHERE o.account_id = $1 AND o.bucket = $2 AND o.object_key = a.object_key
          AND (a.etag IS NULL OR coalesce(o.parts_etag, o.etag) = a.etag)
        RETURNING o.object_key)
      SELECT a.etag IS NOT NULL, g.object_key IS NOT NULL, o.object_key IS NOT NULL
      FROM asked a
      LEFT JOIN (SELECT DISTINCT object_key FROM gone) g ON g.object_key = a.object_key
      LEFT JOIN received_objects o ON o.account_id = $1 AND o.bucket = $2 AND o.object_key = a.object_key
      ORDER BY a.n""";

  /**
   * Deletes the bucket's objects at {@code keys} (DeleteObjects), each only when its ETag is the one at the same place
   * of {@code etags} (unquoted; null for any), in one statement; what became of each, in order.
   */
  public Future<List<Deletion>> deleteAll(String accountId, String bucket, List<String> keys, List<String> etags) {
    return pool.preparedQuery(DELETE_ALL).execute(Tuple.tuple().addValue(accountId).addValue(bucket)
        .addValue(keys.toArray(new String[0])).addValue(etags.toArray(new String[0]))).map(rows -> {
          List<Deletion> done = new ArrayList<>(rows.size());
          for (Row r : rows) {
            boolean conditional = r.getBoolean(0);
            boolean deleted = r.getBoolean(1);
            done.add(deleted || !conditional ? Deletion.DELETED
                : r.getBoolean(2) ? Deletion.ETAG_DIFFERS : Deletion.NO_SUCH_KEY);
          }
          return done;
        });
  }

  /** What CreateBucket did. */
  public enum BucketCreation { CREATED, EXISTED, TOO_MANY }

  /** A bucket made once, counted among the account's {@code $4} at most. */
  private static final String CREATE_BUCKET = """
      WITH made AS (
        INSERT INTO s3_buckets (account_id, name, created_at)
        SELECT $1, $2, $3 WHERE (SELECT count(*) FROM s3_buckets WHERE account_id = $1) < $4
        ON CONFLICT (account_id, name) DO NOTHING RETURNING 1)
      SELECT EXISTS (SELECT 1 FROM made), EXISTS (SELECT 1 FROM s3_buckets WHERE account_id = $1 AND name = $2)""";

  /**
   * Makes the bucket (CreateBucket), unless the account made {@code max} already; a bucket it has (made, or holding
   * objects) EXISTED, as S3 answers its owner in us-east-1.
   */
  public Future<BucketCreation> createBucket(String accountId, String bucket, Instant now, int max) {
    return pool.preparedQuery(CREATE_BUCKET).execute(Tuple.of(accountId, bucket, Timestamps.utc(now), max))
        .compose(rows -> {
          Row r = rows.iterator().next();
          if (r.getBoolean(0)) {
            return Future.succeededFuture(BucketCreation.CREATED);
          }
          return r.getBoolean(1) ? Future.succeededFuture(BucketCreation.EXISTED)
              : bucketExists(accountId, bucket).map(exists -> exists ? BucketCreation.EXISTED
                  : BucketCreation.TOO_MANY);
        });
  }

  /** What DeleteBucket did. */
  public enum BucketDeletion { DELETED, NOT_EMPTY, NO_SUCH_BUCKET }

  /**
   * The made bucket deleted, with its CORS configuration, unless it holds an object or an upload under way; $3: whether
   * it holds one.
   */
  private static final String DELETE_BUCKET = """
      WITH held AS (
        SELECT EXISTS (SELECT 1 FROM received_objects WHERE account_id = $1 AND bucket = $2)
          OR EXISTS (SELECT 1 FROM multipart_uploads WHERE account_id = $1 AND bucket = $2 AND completed_at IS NULL)
          AS holds),
      gone AS (DELETE FROM s3_buckets WHERE account_id = $1 AND name = $2 AND NOT (SELECT holds FROM held) RETURNING 1),
      cors AS (DELETE FROM s3_bucket_cors WHERE account_id = $1 AND bucket = $2 AND NOT (SELECT holds FROM held))
      SELECT (SELECT holds FROM held), EXISTS (SELECT 1 FROM gone)""";

  /**
   * Deletes the bucket (DeleteBucket): only an empty one (NOT_EMPTY while it holds an object or an upload under way).
   * A bucket a receipt rule's S3 action names still exists after (as long as the rule names it); NO_SUCH_BUCKET for
   * one the account does not have.
   */
  public Future<BucketDeletion> deleteBucket(String accountId, String bucket) {
    return pool.preparedQuery(DELETE_BUCKET).execute(Tuple.of(accountId, bucket)).compose(rows -> {
      Row r = rows.iterator().next();
      if (r.getBoolean(0)) {
        return Future.succeededFuture(BucketDeletion.NOT_EMPTY);
      }
      return r.getBoolean(1) ? Future.succeededFuture(BucketDeletion.DELETED)
          : bucketExists(accountId, bucket).map(exists -> exists ? BucketDeletion.DELETED
              : BucketDeletion.NO_SUCH_BUCKET);
    });
  }

  /** The bucket's CORS rules made $3 (at $4) when the account has the bucket: a row when set. */
  private static final String SET_CORS = "INSERT INTO s3_bucket_cors (account_id, bucket, rules, updated_at) "
      + "SELECT $1, $2, $3::jsonb, $4::timestamptz WHERE (" + BUCKET_EXISTS + ") "
      + "ON CONFLICT (account_id, bucket) DO UPDATE SET rules = EXCLUDED.rules, updated_at = EXCLUDED.updated_at "
      + "RETURNING 1";

  /**
   * The bucket's CORS configuration (PutBucketCors) made {@code rules} (a JSON array of its rules, in order), replacing
   * any: false (nothing written) when the account does not have the bucket.
   */
  public Future<Boolean> setCors(String accountId, String bucket, JsonArray rules, Instant now) {
    return pool.preparedQuery(SET_CORS).execute(Tuple.of(accountId, bucket, rules, Timestamps.utc(now)))
        .map(rows -> rows.rowCount() > 0);
  }

  /** The bucket's CORS rules (GetBucketCors): empty when it has none (or the account does not have it). */
  public Future<Optional<JsonArray>> cors(String accountId, String bucket) {
    return pool.preparedQuery("SELECT rules FROM s3_bucket_cors WHERE account_id = $1 AND bucket = $2")
        .execute(Tuple.of(accountId, bucket))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of((JsonArray) rows.iterator().next().getValue(0)));
  }

  /** The bucket's CORS configuration deleted (DeleteBucketCors), if it had one: whether the account has the bucket. */
  public Future<Boolean> deleteCors(String accountId, String bucket) {
    return pool.preparedQuery("DELETE FROM s3_bucket_cors WHERE account_id = $1 AND bucket = $2")
        .execute(Tuple.of(accountId, bucket)).compose(deleted -> bucketExists(accountId, bucket));
  }

  /** The most accounts' configurations of one bucket name a preflight weighs. */
  static final int MAX_CORS_CONFIGURATIONS = 100;

  /**
   * The CORS rules of the buckets named {@code bucket} a browser's request is judged by: of the account whose access
   * key {@code accessKeyId} is (a signed or presigned request's; none when the key is not there), or with no key (a
   * preflight of a URL that is not presigned carries no credentials) of every account that has a bucket of that name
   * with a configuration, by account ({@value #MAX_CORS_CONFIGURATIONS} at most).
   */
  public Future<List<JsonArray>> corsOf(String bucket, String accessKeyId) {
    return pool.preparedQuery("SELECT rules FROM s3_bucket_cors WHERE bucket = $1 AND ($2::text IS NULL OR "
            + "account_id = (SELECT account_id FROM access_keys WHERE access_key_id = $2)) ORDER BY account_id LIMIT "
            + MAX_CORS_CONFIGURATIONS)
        .execute(Tuple.of(bucket, accessKeyId))
        .map(rows -> {
          List<JsonArray> out = new ArrayList<>(rows.size());
          rows.forEach(r -> out.add((JsonArray) r.getValue(0)));
          return out;
        });
  }

  /** A bucket of ListBuckets: its name and when it was made (for one that was not, its oldest sign of being). */
  public record Bucket(String name, Instant created) {}

  /**
   * The account's buckets, in the order of their names' UTF-8 bytes, after $2 and from prefix $3 ($4: the least string
   * above every one that starts with it; NULL for none), $5 at most. They are those {@link #bucketExists} finds: made,
   * named by a receipt rule's S3 action, holding an upload under way, or holding objects, found in the listing index
   * by a skip scan (one probe a bucket, however many objects each holds). A bucket's date is when it was made, its
   * first rule set's, or its oldest upload's under way, whichever is oldest; for one that only holds objects, its
   * oldest object's, read for the page's buckets only.
   */
  private static final String BUCKETS = """
      WITH RECURSIVE stored (bucket) AS (
        (SELECT bucket FROM received_objects WHERE account_id = $1 ORDER BY bucket LIMIT 1)
        UNION ALL
        SELECT (SELECT o.bucket FROM received_objects o WHERE o.account_id = $1 AND o.bucket > s.bucket
                ORDER BY o.bucket LIMIT 1)
        FROM stored s WHERE s.bucket IS NOT NULL),
      every (bucket, created_at) AS (
        SELECT name, created_at FROM s3_buckets WHERE account_id = $1
        UNION ALL
        SELECT a -> 'S3Action' ->> 'BucketName', rs.created_at
        FROM receipt_rules r JOIN receipt_rule_sets rs ON rs.account_id = r.account_id AND rs.name = r.rule_set,
          jsonb_array_elements(r.actions) a
        WHERE r.account_id = $1 AND a -> 'S3Action' ->> 'BucketName' IS NOT NULL
        UNION ALL
        SELECT bucket, created_at FROM multipart_uploads WHERE account_id = $1 AND completed_at IS NULL
        UNION ALL
        SELECT bucket, NULL FROM stored WHERE bucket IS NOT NULL),
      page AS (
        SELECT bucket, min(created_at) AS created_at FROM every
        WHERE bucket COLLATE "C" > $2 AND bucket COLLATE "C" >= $3 AND ($4::text IS NULL OR bucket COLLATE "C" < $4)
        GROUP BY bucket ORDER BY bucket COLLATE "C" LIMIT $5)
      SELECT bucket, coalesce(created_at, (SELECT min(o.created_at) FROM received_objects o
                                           WHERE o.account_id = $1 AND o.bucket = page.bucket))
      FROM page ORDER BY bucket COLLATE "C"
      """;

  /**
   * Up to {@code limit} of the account's buckets (ListBuckets) whose names come after {@code after} (the empty string
   * for the first) and start with {@code prefix}, in order.
   */
  public Future<List<Bucket>> buckets(String accountId, String after, String prefix, int limit) {
    return pool.preparedQuery(BUCKETS).execute(Tuple.of(accountId, after, prefix, after(prefix), limit))
        .map(rows -> {
          List<Bucket> buckets = new ArrayList<>(rows.size());
          for (Row r : rows) {
            buckets.add(new Bucket(r.getString(0), r.getOffsetDateTime(1).toInstant()));
          }
          return buckets;
        });
  }

  /**
   * Whether the account has the bucket: it holds one of the account's objects or uploads under way, it was made
   * (CreateBucket) and not deleted since, or one of its receipt rules' S3 actions names it (so a bucket stays while it
   * is empty, as long as mail may still arrive in it).
   */
  public Future<Boolean> bucketExists(String accountId, String bucket) {
    return pool.preparedQuery(BUCKET_EXISTS).execute(Tuple.of(accountId, bucket))
        .map(rows -> rows.iterator().next().getBoolean(0));
  }
}
