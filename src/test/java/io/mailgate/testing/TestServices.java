package io.mailgate.testing;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.store.Database;
import io.mailgate.store.Migrations;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * PostgreSQL and Redis for the tests: started once per test JVM (embedded, no fsync), or the
 * servers named by MAILGATE_TEST_PG_URL / MAILGATE_TEST_REDIS_URL. Each test class gets its own
 * database and Redis key prefix, so classes never see each other's data.
 */
public final class TestServices {
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static EmbeddedServices embedded;
  private static String pgBase;
  private static String redisUrl;

  private TestServices() {}

  private static synchronized void init() {
    if (pgBase != null) {
      return;
    }
    String pg = System.getenv("MAILGATE_TEST_PG_URL");
    String redis = System.getenv("MAILGATE_TEST_REDIS_URL");
    embedded = EmbeddedServices.start(pg == null, redis == null, false);
    pgBase = pg != null ? pg.substring(0, pg.lastIndexOf('/') + 1) : embedded.pgUrl("");
    redisUrl = redis != null ? redis : embedded.redisUrl();
    Runtime.getRuntime().addShutdownHook(new Thread(embedded::close));
  }

  /** A new, empty database; its URL. */
  public static String freshDatabase() {
    init();
    String name = "mg_test_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    String jdbc = "jdbc:" + pgBase.replace("postgresql://postgres@", "postgresql://") + "postgres";
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
         Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create test database: " + e.getMessage(), e);
    }
    return pgBase + name;
  }

  /**
   * A pool of {@code size} connections to {@code url} with Mailgate's schema applied, as a node opens it (for tests
   * of the store classes without a node).
   */
  public static Pool migratedPool(Vertx vertx, String url, int size) {
    Pool pool = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, url), size);
    try {
      Migrations.apply(pool).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot apply the migrations: " + e.getMessage(), e);
    }
    return pool;
  }

  public static String redisUrl() {
    init();
    return redisUrl;
  }

  public static String uniquePrefix() {
    return "mgtest" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet() + ":";
  }

  public static EmbeddedServices embedded() {
    init();
    return embedded;
  }
}
