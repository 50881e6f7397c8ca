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
