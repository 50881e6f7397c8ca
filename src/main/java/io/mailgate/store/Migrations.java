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
      out.add(new Migration(version, file, sql, sha256(sql)));
    }
    return out;
  }

  /** Applies what is missing; completes with the number of migrations applied now. */
  public static Future<Integer> apply(Pool pool) {
    List<Migration> all = load();
    return pool.withConnection(conn -> ledger(conn).compose(v -> applyFrom(conn, all, 0, 0)));
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

  private static Future<Integer> applyFrom(SqlConnection conn, List<Migration> all, int i, int applied) {
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
                if (!recorded.equals(m.checksum())) {
                  return Future.failedFuture(new IllegalStateException("migration " + m.file()
                      + " was changed after it was applied; add a new migration instead"));
                }
                return Future.succeededFuture(false);
              }
              return conn.query(m.sql()).execute()
                  .compose(r -> conn.preparedQuery("INSERT INTO schema_migrations (version, file, checksum) VALUES ($1, $2, $3)")
                      .execute(Tuple.of(m.version(), m.file(), m.checksum())))
                  .map(r -> {
                    LOG.info("applied migration " + m.file());
                    return true;
                  });
            })
            .compose(done -> tx.commit().map(done), err -> tx.rollback().transform(x -> Future.failedFuture(err))))
        .compose(done -> applyFrom(conn, all, i + 1, applied + (done ? 1 : 0)));
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

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
