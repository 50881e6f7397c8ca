package io.mailgate.store;

import io.mailgate.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterAll;

/**
 * A test class's own migrated database and a pool to it on a Vert.x of its own: {@link #open} first in the class's
 * {@code @BeforeAll}, closed after its tests. (Test classes run one after another: the fields are the running one's.)
 */
abstract class MigratedDatabase {
  static String url;
  static Vertx vertx;
  static Pool pool;

  static void open(int poolSize) {
    url = TestServices.freshDatabase();
    vertx = Vertx.vertx();
    pool = TestServices.migratedPool(vertx, url, poolSize);
  }

  /** The future's result, waited for (30 s at most) from the test's thread. */
  static <T> T await(io.vertx.core.Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
  }

  @AfterAll
  static void closeVertx() {
    vertx.close();
  }
}
