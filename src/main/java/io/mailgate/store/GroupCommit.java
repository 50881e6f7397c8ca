package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * Groups database work from concurrent requests into batches: while {@code maxInFlight} batches
 * are running, new items queue, and each completed batch immediately sends everything queued (up
 * to {@code maxBatch}) as the next one. Under light load an item goes at once, alone; under heavy
 * load one round trip serves hundreds. Each item's future completes with its own result when its
 * batch completes (writes: when their batch commits).
 *
 * <p>Not thread-safe: use one instance per verticle, from its event loop.
 */
public final class GroupCommit<T, R> {
  private record Pending<T, R>(T item, Promise<R> promise) {}

  private final Function<List<T>, Future<List<R>>> runner;
  private final int maxBatch;
  private final int maxInFlight;
  private final ArrayDeque<Pending<T, R>> queue = new ArrayDeque<>();
  private final List<Promise<Void>> idleWaiters = new ArrayList<>();
  private int inFlight;

  /** Batches whose runner answers one result per item, in order. */
  public GroupCommit(int maxBatch, int maxInFlight, Function<List<T>, Future<List<R>>> runner) {
    this.runner = runner;
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
  }

  /** Batches of writes: every item's future completes (with null) when the batch succeeds. */
  public static <T> GroupCommit<T, Void> writes(int maxBatch, int maxInFlight, Function<List<T>, Future<?>> writer) {
    return new GroupCommit<>(maxBatch, maxInFlight,
        items -> writer.apply(items).map(x -> Collections.nCopies(items.size(), (Void) null)));
  }

  public Future<R> submit(T item) {
    Promise<R> promise = Promise.promise();
    queue.add(new Pending<>(item, promise));
    drain();
    return promise.future();
  }

  /** Completes when everything submitted so far is done (used at shutdown). */
  public Future<Void> idle() {
    if (queue.isEmpty() && inFlight == 0) {
      return Future.succeededFuture();
    }
    Promise<Void> p = Promise.promise();
    idleWaiters.add(p);
    return p.future();
  }

  private void drain() {
    while (inFlight < maxInFlight && !queue.isEmpty()) {
      int n = Math.min(maxBatch, queue.size());
      List<Pending<T, R>> batch = new ArrayList<>(n);
      List<T> items = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        Pending<T, R> p = queue.poll();
        batch.add(p);
        items.add(p.item());
      }
      inFlight++;
      Future<List<R>> done;
      try {
        done = runner.apply(items);
      } catch (RuntimeException e) {
        done = Future.failedFuture(e);
      }
      done.onComplete(ar -> {
        inFlight--;
        for (int i = 0; i < batch.size(); i++) {
          Pending<T, R> p = batch.get(i);
          if (ar.succeeded()) {
            p.promise().complete(ar.result().get(i));
          } else {
            p.promise().fail(ar.cause());
          }
        }
        drain();
        if (queue.isEmpty() && inFlight == 0 && !idleWaiters.isEmpty()) {
          List<Promise<Void>> waiters = new ArrayList<>(idleWaiters);
          idleWaiters.clear();
          waiters.forEach(Promise::complete);
        }
      });
    }
  }
}
