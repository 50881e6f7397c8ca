package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.OnLoop;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
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
    return OnLoop.start(context, work).get(10, TimeUnit.SECONDS);
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

  /** A runner whose batches complete when the test says so: what arrives meanwhile queues. */
  final List<Promise<List<String>>> running = new CopyOnWriteArrayList<>();

  GroupCommit<Integer, String> held(int maxInFlight) {
    return new GroupCommit<>(vertx, 0, 100, maxInFlight, items -> {
      batches.add(List.copyOf(items));
      Promise<List<String>> p = Promise.promise();
      running.add(p);
      return p.future();
    });
  }

  /** While a batch is in flight the next items queue, then go together, each caller with its own result. */
  @Test
  void whatArrivesWhileABatchRunsGoesTogetherWithItsOwnResults() throws Exception {
    GroupCommit<Integer, String> c = held(1);
    List<Future<String>> futures = new ArrayList<>();
    on(() -> {
      for (int i = 1; i <= 4; i++) {
        futures.add(c.submit(i));
      }
      return Future.succeededFuture();
    });
    assertEquals(List.of(List.of(1)), batches, "one batch in flight; the others wait");
    on(() -> {
      running.get(0).complete(List.of("one"));
      return Future.succeededFuture();
    });
    assertEquals(List.of(List.of(1), List.of(2, 3, 4)), batches);
    on(() -> {
      running.get(1).fail(new IllegalStateException("refused"));
      return Future.succeededFuture();
    });
    assertEquals("one", futures.get(0).result());
    for (int i = 1; i < 4; i++) {
      assertTrue(futures.get(i).failed(), "a failed batch fails its own items");
    }
    on(() -> {
      Future<String> five = c.submit(5);
      running.get(2).complete(List.of("five"));
      return five;
    });
    assertEquals(List.of(List.of(1), List.of(2, 3, 4), List.of(5)), batches);
  }

  /** Results given out by index: a three-item batch answers each caller with its own. */
  @Test
  void eachCallerGetsItsOwnResult() throws Exception {
    GroupCommit<Integer, String> c = held(1);
    List<Future<String>> futures = new ArrayList<>();
    on(() -> {
      for (int i = 0; i < 4; i++) {
        futures.add(c.submit(i));
      }
      running.get(0).complete(List.of("zero"));
      return Future.succeededFuture();
    });
    on(() -> {
      running.get(1).complete(List.of("a", "b", "c"));
      return Future.succeededFuture();
    });
    assertEquals(List.of("zero", "a", "b", "c"), futures.stream().map(Future::result).toList());
  }

  /** One caller's handler that throws does not leave the rest of its batch, or what queues after it, waiting. */
  @Test
  void aHandlerThatThrowsDoesNotStrandTheOthers() throws Exception {
    GroupCommit<Integer, String> c = held(1);
    List<Future<String>> futures = new ArrayList<>();
    on(() -> {
      futures.add(c.submit(0));
      c.submit(1).onComplete(ar -> {
        throw new IllegalStateException("a caller's bug");
      });
      futures.add(c.submit(2));
      running.get(0).complete(List.of("zero"));
      return Future.succeededFuture();
    });
    on(() -> {
      running.get(1).complete(List.of("one", "two"));
      futures.add(c.submit(3));
      return Future.succeededFuture();
    });
    assertEquals("two", futures.get(1).result(), "the thrower's batch mate is answered");
    assertEquals(List.of(List.of(0), List.of(1, 2), List.of(3)), batches, "and the queue goes on");
  }

  /** Past its bounds the queue refuses at once (nothing of the item is kept); one item alone is always taken. */
  @Test
  void aFullQueueRefusesAtOnce() throws Exception {
    GroupCommit<Integer, String> c = held(1).maxWeight(Long.MAX_VALUE, i -> i).maxQueued(2, 10);
    List<Future<String>> futures = new ArrayList<>();
    on(() -> {
      futures.add(c.submit(100)); // in flight: not queued
      futures.add(c.submit(50));  // alone in the queue: taken, however heavy
      futures.add(c.submit(1));   // 51 > 10: refused
      return Future.succeededFuture();
    });
    assertInstanceOf(GroupCommit.Full.class, futures.get(2).cause());
    on(() -> {
      running.get(0).complete(List.of("a"));
      return Future.succeededFuture();
    });
    on(() -> {
      futures.add(c.submit(4));
      futures.add(c.submit(5));
      futures.add(c.submit(1)); // two queued already: refused by count
      return Future.succeededFuture();
    });
    assertInstanceOf(GroupCommit.Full.class, futures.get(5).cause());
    assertTrue(!futures.get(3).isComplete() && !futures.get(4).isComplete(), "4 and 5 wait for the batch of 50");
    on(() -> {
      running.get(1).complete(List.of("b"));
      return Future.succeededFuture();
    });
    assertEquals(List.of(List.of(100), List.of(50), List.of(4, 5)), batches);
  }
}
