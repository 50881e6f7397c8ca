package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.logging.Logger;

/**
 * Applies the versioned SQL files listed in {@code db/migrations} (V1__name.sql, V2__...) in order,
 * each in its own transaction, recording them in {@code schema_migrations}. Idempotent: applied
 * versions are skipped. An advisory lock serializes nodes starting together. A file changed after
 * it was applied is an error, not something to silently ignore.
 */
public final class Migrations {
  private static final Logger LOG = Logger.getLogger(Migrations.class.getName());
  private static final long LOCK_KEY = 0x6d61696c67617465L; // "mailgate"

  public record Migration(int version, String file, String sql, String checksum) {}

  private Migrations() {}

  public static List<Migration> load() {
    String index = resource("db/migrations");
    List<Migration> out = new ArrayList<>();
    for (String line : index.split("\n")) {
      String file = line.strip();
      if (file.isEmpty() || file.startsWith("#")) {
        continue;
      }
      int version = Integer.parseInt(file.substring(1, file.indexOf("__")));
      String sql = resource("db/" + file);
      // (a checkout that turned its line ends into CRLF, Windows' autocrlf, builds a jar whose checksums agree with
      // the databases other builds migrated)
      out.add(new Migration(version, file, sql, checksum(sql)));
    }
    return out;
  }

  /** Applies what is missing; completes with the number of migrations applied now. */
  public static Future<Integer> apply(Pool pool) {
    return apply(pool, LOCK_TIMEOUT_SECONDS, LOCK_TRIES);
  }

  /** As {@link #apply(Pool)}, each migration waiting {@code lockTimeoutSeconds} for a lock, {@code tries} times. */
  static Future<Integer> apply(Pool pool, int lockTimeoutSeconds, int tries) {
    List<Migration> all = load();
    Locks locks = new Locks(lockTimeoutSeconds, tries);
    return pool.withConnection(conn -> ledger(conn).compose(v -> applyFrom(conn, all, 0, 0, locks, tries)));
  }

  /**
   * Creates {@code schema_migrations} when it is not there, under the migrations' lock (nodes starting together do not
   * both create it). Looked up first rather than {@code CREATE TABLE IF NOT EXISTS} at every migration: that left
   * PostgreSQL's "already exists, skipping" notice, which the client logs as a warning, once per migration at every
   * start.
   */
  private static Future<Void> ledger(SqlConnection conn) {
    return conn.begin().compose(tx -> conn.query("SELECT pg_advisory_xact_lock(" + LOCK_KEY + ")").execute()
        .compose(v -> conn.query("SELECT to_regclass('schema_migrations') IS NULL").execute())
        .compose(rows -> rows.iterator().next().getBoolean(0)
            ? conn.query("CREATE TABLE schema_migrations (version int PRIMARY KEY, file text NOT NULL, "
                + "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())").execute().mapEmpty()
            : Future.succeededFuture())
        .compose(v -> tx.commit(), err -> tx.rollback().transform(x -> Future.failedFuture(err))));
  }

  private record Locks(int timeoutSeconds, int tries) {}

  private static Future<Integer> applyFrom(SqlConnection conn, List<Migration> all, int i, int applied, Locks locks,
      int tries) {
    if (i == all.size()) {
      return Future.succeededFuture(applied);
    }
    Migration m = all.get(i);
    return conn.begin().compose(tx -> conn.query("SELECT pg_advisory_xact_lock(" + LOCK_KEY + ")").execute()
            .compose(v -> conn.preparedQuery("SELECT checksum FROM schema_migrations WHERE version = $1")
                .execute(Tuple.of(m.version())))
            .compose(rows -> {
              if (rows.size() > 0) {
                String recorded = rows.iterator().next().getString(0);
                // (or, recorded by an earlier build from a CRLF checkout, of the text as that checkout had it)
                if (!recorded.equals(m.checksum()) && !recorded.equals(sha256(m.sql().replace("\r\n", "\n")
                    .replace("\n", "\r\n")))) {
                  return Future.failedFuture(new IllegalStateException("migration " + m.file()
                      + " was changed after it was applied; add a new migration instead"));
                }
                return Future.succeededFuture(false);
              }
              // a migration that alters a table waits for the sessions reading it (a pg_dump, a report), and every
              // write of the running nodes waits behind it: it gives up after a while instead, and is tried again
              return conn.query("SET LOCAL lock_timeout = '" + locks.timeoutSeconds() + "s'").execute()
                  .compose(v -> conn.query(m.sql()).execute())
                  .compose(r -> conn.preparedQuery("INSERT INTO schema_migrations (version, file, checksum) VALUES ($1, $2, $3)")
                      .execute(Tuple.of(m.version(), m.file(), m.checksum())))
                  .map(r -> {
                    LOG.info("applied migration " + m.file());
                    return true;
                  });
            })
            .compose(done -> tx.commit().map(done), err -> tx.rollback().transform(x -> Future.failedFuture(err))))
        .compose(done -> applyFrom(conn, all, i + 1, applied + (done ? 1 : 0), locks, locks.tries()),
            e -> lockTimedOut(e) && tries > 1 ? again(conn, all, i, applied, locks, tries - 1) : Future.failedFuture(e));
  }

  /** What a migration waits for a table's lock before it gives up (and is tried again: {@link #LOCK_TRIES}). */
  static final int LOCK_TIMEOUT_SECONDS = 10;
  /**
   * Tries of a migration that could not have its locks, each after the last one's wait: a minute in all, within the
   * node's start timeout, and the lock is let go between them (the writes queued behind it go through).
   */
  static final int LOCK_TRIES = 6;

  private static boolean lockTimedOut(Throwable e) {
    return e instanceof io.vertx.pgclient.PgException pg && "55P03".equals(pg.getSqlState());
  }

  private static Future<Integer> again(SqlConnection conn, List<Migration> all, int i, int applied, Locks locks,
      int tries) {
    LOG.warning("migration " + all.get(i).file() + " waited " + locks.timeoutSeconds() + " s for a lock another "
        + "session holds (see pg_stat_activity); trying again");
    return applyFrom(conn, all, i, applied, locks, tries);
  }

  private static String resource(String path) {
    try (InputStream in = Migrations.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A migration's checksum: of its text with LF line ends, however the checkout that built the jar ended them. */
  static String checksum(String sql) {
    return sha256(sql.replace("\r\n", "\n"));
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
