package io.mailgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Steps made one after the other, as many as a walk over a day's messages makes, on one stack: those that complete at
 * once in a loop, those that complete later from their completion; the first failure (or exception) ends the loop.
 */
class AsyncLoopTest {

  @Test
  void aMillionStepsThatCompleteAtOnceTakeNoStack() {
    int[] n = {0};
    Future<Void> done = AsyncLoop.whileTrue(() -> Future.succeededFuture(++n[0] < 1_000_000));
    assertTrue(done.succeeded());
    assertEquals(1_000_000, n[0]);
  }

  @Test
  void stepsThatCompleteLaterOnAnEventLoopEndWithTheLast() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      int[] n = {0};
      CompletableFuture<Void> done = new CompletableFuture<>();
      vertx.runOnContext(start -> AsyncLoop.whileTrue(() -> {
        Promise<Boolean> later = Promise.promise();
        vertx.runOnContext(x -> later.complete(++n[0] < 200_000));
        return later.future();
      }).onComplete(ar -> {
        if (ar.succeeded()) {
          done.complete(null);
        } else {
          done.completeExceptionally(ar.cause());
        }
      }));
      done.get(60, TimeUnit.SECONDS);
      assertEquals(200_000, n[0]);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void theFirstFailureEndsIt() {
    IllegalStateException boom = new IllegalStateException("boom");
    int[] n = {0};
    Future<Void> failed = AsyncLoop.whileTrue(() -> ++n[0] == 3 ? Future.failedFuture(boom)
        : Future.succeededFuture(true));
    assertSame(boom, failed.cause());
    assertEquals(3, n[0]);
    Future<Void> thrown = AsyncLoop.whileTrue(() -> {
      throw boom;
    });
    assertSame(boom, thrown.cause());
  }
}
