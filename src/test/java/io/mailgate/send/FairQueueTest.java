package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Owners take turns on the queue's threads, and each may have only so many tasks waiting. */
class FairQueueTest {
  /** A thread pool run by hand: tasks handed to it wait until the test runs them, one at a time, in order. */
  static final class Manual implements java.util.concurrent.Executor {
    final ArrayDeque<Runnable> handed = new ArrayDeque<>();

    @Override
    public void execute(Runnable r) {
      handed.add(r);
    }

    boolean runOne() {
      Runnable r = handed.poll();
      if (r != null) {
        r.run();
      }
      return r != null;
    }
  }

  @Test
  void anOwnersLongQueueHoldsAnotherUpByOneTaskAtMost() {
    Manual threads = new Manual();
    FairQueue queue = new FairQueue(1, 100, threads);
    List<String> ran = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String name = "heavy" + i;
      assertTrue(queue.offer("heavy", () -> ran.add(name)));
    }
    assertTrue(queue.offer("light", () -> ran.add("light")));
    assertTrue(queue.offer("other", () -> ran.add("other")));
    while (threads.runOne()) {
      // each task ends, and the next in turn is handed over
    }
    assertEquals(List.of("heavy0", "heavy1", "light", "other", "heavy2", "heavy3", "heavy4"), ran);
  }

  @Test
  void atMostConcurrencyTasksRunAtOnce() {
    Manual threads = new Manual();
    FairQueue queue = new FairQueue(2, 100, threads);
    for (int i = 0; i < 5; i++) {
      queue.offer("a" + i, () -> { });
    }
    assertEquals(2, threads.handed.size(), "two handed over, three waiting");
    threads.runOne();
    assertEquals(2, threads.handed.size());
  }

  @Test
  void anOwnerMayHaveOnlySoManyWaiting() {
    Manual threads = new Manual();
    FairQueue queue = new FairQueue(1, 3, threads);
    assertTrue(queue.offer("a", () -> { })); // handed to the thread at once: running, not waiting
    for (int i = 0; i < 3; i++) {
      assertTrue(queue.offer("a", () -> { }));
    }
    assertEquals(3, queue.waiting("a"));
    assertFalse(queue.offer("a", () -> { }), "a fourth waiting");
    assertTrue(queue.offer("b", () -> { }), "another owner's");
    threads.runOne();
    assertTrue(queue.offer("a", () -> { }), "one of its own started: room again");
  }
}
