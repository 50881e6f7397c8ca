package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.pgclient.PgConnectOptions;
import org.junit.jupiter.api.Test;

class DatabaseTest {

  @Test
  void theHotPathStatementsStayPrepared() {
    PgConnectOptions options = Database.connectOptions("postgresql://postgres@127.0.0.1:5432/x");
    assertTrue(options.getCachePreparedStatements());
    for (String sql : new String[] {MessageStore.INSERT, OutcomeStore.RECORD, DeliveryQueue.CLAIM}) {
      assertTrue(options.getPreparedStatementCacheSqlFilter().test(sql),
          "not cached, so parsed and planned on every execution: " + sql.substring(0, 60));
    }
  }
}
