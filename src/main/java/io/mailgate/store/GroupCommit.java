package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Groups writes from concurrent requests into batches: while {@code maxInFlight} batches are being
 * written, new items queue, and each completed batch immediately sends everything queued (up to
 * {@code maxBatch}) as the next one. Under light load an item is written at once, alone; under
 * heavy load one round trip commits hundreds. Each item's future completes when its batch commits.
 *
 * <p>Not thread-safe: use one instance per verticle, from its event loop.
 */
public final class GroupCommit<T> {
  private record Pending<T>(T item, Promise<Void> promise) {}

  private final Function<List<T>, Future<?>> writer;
  private final int maxBatch;
  private final int maxInFlight;
  private final ArrayDeque<Pending<T>> queue = new ArrayDeque<>();
  private int inFlight;
  private final List<Promise<Void>> idleWaiters = new ArrayList<>();

  public GroupCommit(int maxBatch, int maxInFlight, Function<List<T>, Future<?>> writer) {
    this.writer = writer;
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
  }

  public Future<Void> submit(T item) {
    Promise<Void> promise = Promise.promise();
    queue.add(new Pending<>(item, promise));
    drain();
    return promise.future();
  }

  public int queued() {
    return queue.size();
  }

  /** Completes when everything submitted so far is written (used at shutdown). */
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
      List<Pending<T>> batch = new ArrayList<>(n);
      List<T> items = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        Pending<T> p = queue.poll();
        batch.add(p);
        items.add(p.item());
      }
      inFlight++;
      Future<?> written;
      try {
        written = writer.apply(items);
      } catch (RuntimeException e) {
        written = Future.failedFuture(e);
      }
      written.onComplete(ar -> {
        inFlight--;
        for (Pending<T> p : batch) {
          if (ar.succeeded()) {
            p.promise().complete();
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
