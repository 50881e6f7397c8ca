package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class MigrationsTest {

  @Test
  void applyingTwiceChangesNothingTheSecondTime() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, url), 2);
      int first = Migrations.apply(pool).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      // what the pg client logs of the server's notices (every start of a node runs this): nothing
      List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
      java.util.logging.Logger client =
          java.util.logging.Logger.getLogger("io.vertx.sqlclient.impl.SocketConnectionBase");
      java.util.logging.Handler handler = new java.util.logging.Handler() {
        @Override
        public void publish(java.util.logging.LogRecord r) {
          logged.add(r.getLevel() + " " + r.getMessage());
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };
      client.addHandler(handler);
      int second;
      try {
        second = Migrations.apply(pool).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } finally {
        client.removeHandler(handler);
      }
      assertEquals(List.of(), logged, "a start on a migrated database logs nothing of PostgreSQL's");
      // every file in the source tree, counted apart from the index Migrations.load() reads (a file left out of it
      // would be left out of the count too)
      List<String> files = migrationFiles();
      assertEquals(files.size(), first, "applied of " + files);
      assertEquals(0, second);
      assertEquals(String.join(",", files),
          Db.string(url, "SELECT string_agg(file, ',' ORDER BY version) FROM schema_migrations"));
      assertEquals(0, Db.count(url, "SELECT count(*) FROM messages"));

      // recorded by an earlier build from a CRLF checkout: the same migration
      String crlf = Migrations.load().get(0).sql().replace("\r\n", "\n").replace("\n", "\r\n");
      Db.execute(url, "UPDATE schema_migrations SET checksum = '" + java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(crlf.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
          + "' WHERE version = 1");
      assertEquals(0, Migrations.apply(pool).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));

      Db.execute(url, "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1");
      Throwable failure = Migrations.apply(pool).toCompletionStage().toCompletableFuture()
          .handle((v, e) -> e).get(30, TimeUnit.SECONDS);
      assertTrue(failure != null && failure.getMessage().contains("changed after it was applied"), String.valueOf(failure));
    } finally {
      vertx.close();
    }
  }

  /**
   * A migration that cannot have its table's lock (a session writes the table and does not commit: a report, a stuck
   * client) gives up after its lock timeout, and is tried again a few times, rather than wait for ever with every write
   * of the running nodes queued behind it; once the lock is let go it goes through.
   */
  @Test
  void aMigrationWaitingForALockGivesUpAndIsTriedAgain() throws Exception {
    String url = databaseBefore(39); // V39 indexes identities: it waits for the table's writers
    String jdbc = "jdbc:" + url.replace("postgresql://postgres@", "postgresql://");
    Vertx vertx = Vertx.vertx();
    try (java.sql.Connection writer = java.sql.DriverManager.getConnection(jdbc, "postgres", "")) {
      writer.setAutoCommit(false);
      writer.createStatement().execute("LOCK TABLE identities IN ROW EXCLUSIVE MODE");
      Pool pool = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, url), 2);
      long start = System.nanoTime();
      Throwable failure = Migrations.apply(pool, 1, 2).toCompletionStage().toCompletableFuture()
          .handle((v, e) -> e).get(30, TimeUnit.SECONDS);
      long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
      assertTrue(failure instanceof io.vertx.pgclient.PgException pg && "55P03".equals(pg.getSqlState()),
          String.valueOf(failure));
      assertTrue(seconds >= 2 && seconds < 10, "two tries of a second each: " + seconds + " s");
      assertEquals(0, Db.count(url, "SELECT count(*) FROM schema_migrations WHERE version = 39"));
      writer.commit();
      Migrations.apply(pool, 1, 2).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals(1, Db.count(url, "SELECT count(*) FROM schema_migrations WHERE version = 39"));
    } finally {
      vertx.close();
    }
  }

  /**
   * A checkout that turned the files' line ends into CRLF (Windows, autocrlf) builds a jar whose checksums agree with
   * the databases other builds migrated, and those are the checksums of the files as they are (none was recorded
   * differently).
   */
  @Test
  void checksumsDoNotDependOnLineEnds() throws Exception {
    for (Migrations.Migration m : Migrations.load()) {
      String lf = m.sql().replace("\r\n", "\n"); // as the repository holds it, whatever this checkout did
      assertEquals(m.checksum(), Migrations.checksum(lf.replace("\n", "\r\n")), m.file());
      assertEquals(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(lf.getBytes(java.nio.charset.StandardCharsets.UTF_8))), m.checksum(), m.file());
    }
  }

  /** src/main/resources/db's V1__...sql to VN__...sql, in order: numbered 1 to N without a gap or a repeat. */
  static List<String> migrationFiles() throws java.io.IOException {
    Pattern name = Pattern.compile("V(\\d+)__.+\\.sql");
    TreeMap<Integer, String> byVersion = new TreeMap<>();
    try (Stream<Path> dir = Files.list(Path.of("src/main/resources/db"))) {
      for (Path p : (Iterable<Path>) dir::iterator) {
        Matcher m = name.matcher(p.getFileName().toString());
        if (m.matches()) {
          assertNull(byVersion.put(Integer.parseInt(m.group(1)), m.group()), "two files of version " + m.group(1));
        }
      }
    }
    assertTrue(!byVersion.isEmpty(), "no migration in src/main/resources/db");
    assertEquals(byVersion.size(), byVersion.lastKey(), "versions 1 to the highest without a gap: " + byVersion);
    return new ArrayList<>(byVersion.values());
  }

  /** A fresh database migrated as a node of the version before {@code version} left it: its URL. */
  private static String databaseBefore(int version) {
    String url = TestServices.freshDatabase();
    Db.execute(url, "CREATE TABLE schema_migrations (version int PRIMARY KEY, file text NOT NULL, "
        + "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    for (Migrations.Migration m : Migrations.load()) {
      if (m.version() < version) {
        Db.execute(url, m.sql());
        Db.execute(url, "INSERT INTO schema_migrations (version, file, checksum) VALUES (" + m.version() + ", '"
            + m.file() + "', '" + m.checksum() + "')");
      }
    }
    return url;
  }

  @Test
  void v8MovesStoredDeliveriesOntoTheirRecipients() throws Exception {
    String url = databaseBefore(8);
    // a message written by version 7: Send and Delivery as event rows, and a bounce of a second recipient
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) "
        + "VALUES ('m1', 'a1', 's@example.com', 's@example.com', 'x', 1, '2026-11-28 10:00:00+00')");
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at) VALUES "
        + "('m1', 0, 'ok@example.org', 'delivered', now(), now()), ('m1', 1, 'no@example.org', 'bounced', now(), now())");
    Db.execute(url, "INSERT INTO events (message_id, account_id, type, recipient, detail, created_at) VALUES "
        + "('m1', 'a1', 'Send', NULL, '{}', '2026-11-28 10:00:00+00'), "
        + "('m1', 'a1', 'Delivery', 'ok@example.org', '{\"remoteMtaIp\": \"192.0.2.7\", \"reportingMTA\": "
        + "\"node-1.example\"}', '2026-11-28 10:00:01+00'), "
        + "('m1', 'a1', 'Bounce', 'no@example.org', '{}', '2026-11-28 10:00:02+00')");
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, url), 2);
      assertEquals(migrationFiles().size() - 7,
          Migrations.apply(pool).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
      assertEquals(1, Db.count(url, "SELECT count(*) FROM recipients WHERE idx = 0 AND "
          + "delivered_at = '2026-11-28 10:00:01+00' AND remote_mta = '192.0.2.7' AND reporting_mta = 'node-1.example'"));
      assertEquals(1, Db.count(url, "SELECT count(*) FROM recipients WHERE idx = 1 AND delivered_at IS NULL"));
      assertEquals(1, Db.count(url, "SELECT count(*) FROM events"), "only the Bounce stays an event row");
      assertEquals(1, Db.count(url, "SELECT count(*) FROM events WHERE type = 'Bounce'"));
    } finally {
      vertx.close();
    }
  }

  /**
   * Before V33 a reputation shutdown wrote the owner's choice (sending_enabled) false too: V33 gives it back, so that
   * lifting the shutdown resumes the account, its owner having paused nothing; a pause its owner made stays.
   */
  @Test
  void v33GivesAShutDownAccountItsOwnersChoiceBack() throws Exception {
    String url = databaseBefore(33);
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send, sending_enabled, enforcement_status) "
        + "VALUES ('shut', 'shut', 1, 1, false, 'SHUTDOWN'), ('paused', 'paused', 1, 1, false, 'HEALTHY'), "
        + "('sending', 'sending', 1, 1, true, 'PROBATION')");
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, url), 2);
      Migrations.apply(pool).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals("paused false HEALTHY,sending true PROBATION,shut true SHUTDOWN", Db.string(url,
          "SELECT string_agg(id || ' ' || sending_enabled || ' ' || enforcement_status, ',' ORDER BY id) "
              + "FROM accounts WHERE id <> 'system'"));
    } finally {
      vertx.close();
    }
  }
}
