package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MigrationsTest {

  @Test
  void applyingTwiceChangesNothingTheSecondTime() throws Exception {
    String url = TestServices.freshDatabase();
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = Database.pool(vertx, MailgateConfig.defaults().with(MailgateConfig.PG_URL, url), 2);
      int first = Migrations.apply(pool).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      int second = Migrations.apply(pool).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals(Migrations.load().size(), first);
      assertEquals(0, second);
      assertEquals(first, Db.count(url, "SELECT count(*) FROM schema_migrations"));
      assertEquals(0, Db.count(url, "SELECT count(*) FROM messages"));

      Db.execute(url, "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1");
      Throwable failure = Migrations.apply(pool).toCompletionStage().toCompletableFuture()
          .handle((v, e) -> e).get(30, TimeUnit.SECONDS);
      assertTrue(failure != null && failure.getMessage().contains("changed after it was applied"), String.valueOf(failure));
    } finally {
      vertx.close();
    }
  }
}
