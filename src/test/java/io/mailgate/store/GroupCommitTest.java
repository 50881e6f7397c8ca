package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GroupCommitTest {
  Vertx vertx;
  Context context;
  final List<List<Integer>> batches = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void stop() {
    vertx.close();
  }

  /** Runs on the context's event loop, as a verticle would, and waits for the future it returns. */
  <T> T on(Supplier<Future<T>> work) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> work.get().onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else {
        result.completeExceptionally(ar.cause());
      }
    }));
    return result.get(10, TimeUnit.SECONDS);
  }

  GroupCommit<Integer, Void> commits(long linger, int maxBatch) {
    return GroupCommit.writes(vertx, linger, maxBatch, 1, items -> {
      batches.add(List.copyOf(items));
      return Future.succeededFuture();
    });
  }

  @Test
  void withoutLingerTheFirstItemGoesAlone() throws Exception {
    GroupCommit<Integer, Void> c = commits(0, 100);
    on(() -> Future.all(c.submit(1), c.submit(2), c.submit(3)));
    assertEquals(List.of(List.of(1), List.of(2), List.of(3)), batches, "each runs at once: its runner completes at once");
  }

  @Test
  void aLingerGathersWhatArrivesMeanwhile() throws Exception {
    GroupCommit<Integer, Void> c = commits(200, 100);
    long start = System.nanoTime();
    on(() -> Future.all(c.submit(1), c.submit(2), c.submit(3)));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(List.of(List.of(1, 2, 3)), batches);
    assertTrue(ms >= 150, "went after the linger, not before: " + ms + " ms");
    // the next item starts a linger of its own
    on(() -> c.submit(4));
    assertEquals(List.of(List.of(1, 2, 3), List.of(4)), batches);
  }

  @Test
  void aFullBatchAndIdleDoNotWait() throws Exception {
    GroupCommit<Integer, Void> c = commits(60_000, 3);
    on(() -> Future.all(c.submit(1), c.submit(2), c.submit(3)));
    assertEquals(List.of(List.of(1, 2, 3)), batches, "full: went without its minute of linger");
    on(() -> {
      Future<Void> pending = c.submit(4);
      return c.idle().compose(v -> pending);
    });
    assertEquals(List.of(List.of(1, 2, 3), List.of(4)), batches, "idle() sends what lingers");
  }

  /** Batches end before they weigh more than the limit; an item heavier than it goes alone. */
  @Test
  void batchesStayUnderTheirWeight() throws Exception {
    GroupCommit<Integer, Void> c = commits(50, 100).maxWeight(10, i -> i);
    on(() -> Future.all(List.of(c.submit(4), c.submit(5), c.submit(3), c.submit(12), c.submit(1))));
    assertEquals(List.of(List.of(4, 5), List.of(3), List.of(12), List.of(1)), batches);
  }
}
