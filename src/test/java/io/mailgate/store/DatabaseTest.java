package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DatabaseTest {

  @Test
  void theHotPathStatementsStayPrepared() {
    PgConnectOptions options = Database.connectOptions("postgresql://postgres@127.0.0.1:5432/x");
    assertTrue(options.getCachePreparedStatements());
    for (String sql : new String[] {MessageStore.INSERT, MessageStore.INSERT_PUBLISHING, OutcomeStore.RECORD,
        OutcomeStore.RECORD_PLAIN_PUBLISHING, OutcomeStore.RECORD_TOPICS, OutcomeStore.RECORD_PLAIN_PUBLISHING_TOPICS,
        TrackingStore.INSERT,
        DeliveryQueue.CLAIM}) {
      assertTrue(options.getPreparedStatementCacheSqlFilter().test(sql),
          "not cached, so parsed and planned on every execution: " + sql.substring(0, 60));
    }
  }

  @Test
  void connectionsWriteOutTheirEvictedPagesAsTheyGo() throws Exception {
    MailgateConfig config = MailgateConfig.defaults().with(MailgateConfig.PG_URL, TestServices.freshDatabase());
    assertEquals("256kB", show(config, "backend_flush_after"));
    // short statements: never compiled, however high a plan's estimate (the server's default is on)
    assertEquals("off", show(config, "jit"));
    assertEquals("1MB", show(config.with(MailgateConfig.PG_BACKEND_FLUSH_AFTER_KB, 1024), "backend_flush_after"));
    // 0 leaves the server's own setting (PostgreSQL's default is 0 as well)
    assertEquals("0", show(config.with(MailgateConfig.PG_BACKEND_FLUSH_AFTER_KB, 0), "backend_flush_after"));
    ConfigException e = assertThrows(ConfigException.class,
        () -> Database.connectOptions(config.with(MailgateConfig.PG_BACKEND_FLUSH_AFTER_KB, 4096)));
    assertTrue(e.getMessage().contains("MAILGATE_PG_BACKEND_FLUSH_AFTER_KB"), e.getMessage());
  }

  /** A URL the client cannot read is a configuration error naming the key, without the password it holds. */
  @Test
  void aMalformedUrlNamesTheKeyAndNotThePassword() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> Database.connectOptions("postgresql://mailgate:s3cret-pw@db.internal:notaport/mailgate"));
    assertTrue(e.getMessage().contains("pg.url"), e.getMessage());
    assertTrue(!e.getMessage().contains("s3cret-pw"), e.getMessage());
    assertTrue(e.getMessage().contains("***@db.internal"), e.getMessage());
    ConfigException query = assertThrows(ConfigException.class,
        () -> Database.connectOptions("postgresql://db.internal:notaport/mailgate?user=mg&password=s3cret-pw"));
    assertTrue(!query.getMessage().contains("s3cret-pw") && query.getMessage().contains("mailgate?..."),
        query.getMessage());
  }

  /**
   * A login allowed into its own database and no other (pg_hba.conf naming only it, or a pooler listing only it)
   * starts: the {@code postgres} maintenance database is needed only to create a database that is missing.
   */
  @Test
  void aLoginThatReachesOnlyItsOwnDatabaseNeedsNoOther() throws Exception {
    String fresh = TestServices.freshDatabase();
    String server = fresh.substring(0, fresh.lastIndexOf('/') + 1);
    String suffix = ProcessHandle.current().pid() + "_" + Long.toString(System.nanoTime(), 36);
    String role = "mg_limited_" + suffix;
    String created = "mg_created_" + suffix;
    io.mailgate.testing.Db.execute(server + "postgres", "CREATE ROLE " + role + " LOGIN");
    io.mailgate.testing.Db.execute(server + "postgres", "CREATE DATABASE " + role + " OWNER " + role);
    // superusers (the tests' own login) are not held back by this
    io.mailgate.testing.Db.execute(server + "postgres", "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC");
    Vertx vertx = Vertx.vertx();
    try {
      String limited = server.replaceFirst("postgresql://[^@/]*@", "postgresql://" + role + "@");
      assertTrue(limited.contains(role + "@"), "the server's URL names its login: " + server);
      await(Database.ensureExists(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, limited + role)));
      // a database that does not exist is still created, through the maintenance database
      await(Database.ensureExists(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, server + created)));
      assertEquals(1, io.mailgate.testing.Db.count(server + "postgres",
          "SELECT count(*) FROM pg_database WHERE datname = '" + created + "'"));
      // and a login that may not reach it, for a database that is missing, is told why it cannot be made
      java.util.concurrent.ExecutionException missing = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> await(Database.ensureExists(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL,
              limited + "mg_nowhere"))));
      assertTrue(missing.getCause().getMessage().contains("postgres"), missing.getCause().getMessage());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      io.mailgate.testing.Db.execute(server + "postgres", "GRANT CONNECT ON DATABASE postgres TO PUBLIC");
      io.mailgate.testing.Db.execute(server + "postgres", "DROP DATABASE IF EXISTS " + created + " WITH (FORCE)");
      io.mailgate.testing.Db.execute(server + "postgres", "DROP DATABASE IF EXISTS " + role + " WITH (FORCE)");
      io.mailgate.testing.Db.execute(server + "postgres", "DROP ROLE IF EXISTS " + role);
    }
  }

  private static void await(io.vertx.core.Future<?> f) throws Exception {
    f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static String show(MailgateConfig config, String setting) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = Database.pool(vertx, config, 1);
      return pool.query("SHOW " + setting).execute().map(rows -> rows.iterator().next().getString(0))
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      vertx.close();
    }
  }
}
