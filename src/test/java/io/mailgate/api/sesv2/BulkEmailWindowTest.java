package io.mailgate.api.sesv2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How many entries of a bulk send are built and stored at once ({@link BulkEmailHandler#window}), and the ordered,
 * bounded running of them ({@link BulkEmailHandler#inOrder}), with futures the test completes itself: no timing.
 */
class BulkEmailWindowTest {
  private static final long MB = 1024 * 1024;

  @Test
  void smallEntriesAllGoAtOnceLargeOnesAFewOrOneAtATime() {
    assertEquals(50, BulkEmailHandler.window(sizes(50, 2_000)), "a template without attachments: all at once");
    assertEquals(50, BulkEmailHandler.window(sizes(50, 0)), "entries that build nothing");
    assertEquals(1, BulkEmailHandler.window(sizes(1, 0)));
    assertEquals(4, BulkEmailHandler.window(sizes(4, MB / 4)), "exactly the budget: all at once");
    assertEquals(1, BulkEmailHandler.window(sizes(50, 29 * MB)), "a 29 MB attachment: one at a time");
    assertEquals(1, BulkEmailHandler.window(sizes(2, 600 * 1024)));
    assertEquals(10, BulkEmailHandler.window(sizes(50, 100 * 1024)), "as many as fit in the budget");
    long[] mixed = sizes(50, 1_000);
    mixed[7] = 2 * MB;
    assertEquals(1, BulkEmailHandler.window(mixed), "counted as large as the largest entry");
  }

  @Test
  void atMostTheWindowRunsAndTheResultsKeepTheTasksOrder() {
    int n = 7;
    List<Promise<String>> started = new ArrayList<>();
    int[] running = {0};
    int[] most = {0};
    Future<List<String>> all = BulkEmailHandler.inOrder(n, 3, i -> {
      assertEquals(started.size(), i, "started in order");
      Promise<String> p = Promise.promise();
      started.add(p);
      running[0]++;
      most[0] = Math.max(most[0], running[0]);
      return p.future().onComplete(ar -> running[0]--);
    });
    assertEquals(3, started.size(), "the window's worth, no more");
    started.get(2).complete("r2"); // out of order
    assertEquals(4, started.size(), "one more as one finishes");
    started.get(0).complete("r0");
    started.get(1).complete("r1");
    assertEquals(6, started.size());
    started.get(5).complete("r5");
    started.get(3).complete("r3");
    assertEquals(n, started.size());
    assertFalse(all.isComplete());
    started.get(6).complete("r6");
    assertFalse(all.isComplete(), "not before every task has finished");
    started.get(4).complete("r4");
    assertTrue(all.succeeded());
    assertEquals(List.of("r0", "r1", "r2", "r3", "r4", "r5", "r6"), all.result());
    assertEquals(3, most[0]);
  }

  @Test
  void oneAtATimeStartsEachAfterThePreviousFinished() {
    List<Promise<Integer>> started = new ArrayList<>();
    Future<List<Integer>> all = BulkEmailHandler.inOrder(4, 1, i -> {
      assertTrue(started.stream().allMatch(p -> p.future().isComplete()), "task " + i + " after the ones before");
      Promise<Integer> p = Promise.promise();
      started.add(p);
      return p.future();
    });
    for (int i = 0; i < 4; i++) {
      assertEquals(i + 1, started.size());
      started.get(i).complete(i * 10);
    }
    assertEquals(List.of(0, 10, 20, 30), all.result());
  }

  @Test
  void tasksThatFinishAtOnceRunWithoutRecursion() {
    Future<List<Integer>> all = BulkEmailHandler.inOrder(100_000, 1, Future::succeededFuture);
    assertTrue(all.succeeded());
    assertEquals(100_000, all.result().size());
    assertEquals(99_999, all.result().get(99_999));
  }

  @Test
  void aFailedTaskFailsTheWholeAndNoMoreStart() {
    List<Promise<String>> started = new ArrayList<>();
    Future<List<String>> all = BulkEmailHandler.inOrder(5, 2, i -> {
      Promise<String> p = Promise.promise();
      started.add(p);
      return p.future();
    });
    RuntimeException boom = new RuntimeException("boom");
    started.get(0).fail(boom);
    assertTrue(all.failed());
    assertSame(boom, all.cause());
    started.get(1).complete("late");
    assertEquals(2, started.size(), "none started after the failure");
    assertTrue(BulkEmailHandler.inOrder(0, 1, i -> Future.succeededFuture("x")).result().isEmpty());
  }

  private static long[] sizes(int n, long each) {
    long[] s = new long[n];
    Arrays.fill(s, each);
    return s;
  }
}
