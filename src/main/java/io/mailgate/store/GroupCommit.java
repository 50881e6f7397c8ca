package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Groups database work from concurrent requests into batches: while {@code maxInFlight} batches
 * are running, new items queue, and each completed batch immediately sends everything queued (up
 * to {@code maxBatch}) as the next one. Under light load an item goes at once, alone; under heavy
 * load one round trip serves hundreds. Each item's future completes with its own result when its
 * batch completes (writes: when their batch commits).
 *
 * <p>With a linger, a batch also waits up to that long after its first item (or until it is full)
 * before it goes: for writes nobody waits on, fewer and larger commits.
 *
 * <p>Not thread-safe: use one instance per verticle, from its event loop.
 */
public final class GroupCommit<T, R> {
  private static final Logger LOG = Logger.getLogger(GroupCommit.class.getName());

  private record Pending<T, R>(T item, Promise<R> promise, long weight) {}

  /**
   * An item refused because the queue is full ({@link #maxQueued}): the database has stalled behind the batches in
   * flight, and what waits for it is already as much as may be held. Nothing of the item was written.
   */
  public static final class Full extends RuntimeException {
    Full(String message) {
      super(message, null, false, false);
    }
  }

  private final Function<List<T>, Future<List<R>>> runner;
  private final int maxBatch;
  private final int maxInFlight;
  private final ArrayDeque<Pending<T, R>> queue = new ArrayDeque<>();
  private final List<Promise<Void>> idleWaiters = new ArrayList<>();
  private final Vertx vertx;
  private final long lingerMillis;
  private int inFlight;
  /** What is queued may go (its linger is over, or there is none); false while a linger runs. */
  private boolean due;
  private long lingerTimer = -1;
  private java.util.function.ToLongFunction<T> weight = item -> 0;
  private long maxWeight = Long.MAX_VALUE;
  private int maxQueuedItems = Integer.MAX_VALUE;
  private long maxQueuedWeight = Long.MAX_VALUE;
  /** What the queued items weigh together. */
  private long queuedWeight;

  /**
   * Batches whose runner answers one result per item, in order. They wait up to {@code
   * lingerMillis} after their first item (timers of {@code vertx}, on the caller's event loop)
   * unless they fill up first; 0 sends at once.
   */
  public GroupCommit(Vertx vertx, long lingerMillis, int maxBatch, int maxInFlight,
      Function<List<T>, Future<List<R>>> runner) {
    this.vertx = vertx;
    this.lingerMillis = lingerMillis;
    this.runner = runner;
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
  }

  /**
   * Batches of writes, lingering as the constructor says: every item's future completes (with
   * null) when its batch succeeds.
   */
  public static <T> GroupCommit<T, Void> writes(Vertx vertx, long lingerMillis, int maxBatch, int maxInFlight,
      Function<List<T>, Future<?>> writer) {
    return new GroupCommit<>(vertx, lingerMillis, maxBatch, maxInFlight,
        items -> writer.apply(items).map(x -> Collections.nCopies(items.size(), (Void) null)));
  }

  /**
   * Also ends a batch before its items weigh more than {@code max} together (one item alone may): a statement carries
   * its whole batch, and PostgreSQL refuses a message or an array over 1 GB, which 500 large messages would make.
   */
  public GroupCommit<T, R> maxWeight(long max, java.util.function.ToLongFunction<T> weigh) {
    this.maxWeight = max;
    this.weight = weigh;
    return this;
  }

  /**
   * Refuses an item ({@link Full}) while {@code items} are queued already, or while the queued items and it would weigh
   * more than {@code weight} together (an item alone is always taken): when the database stalls, what waits for it is
   * held in memory, and its callers (an HTTP client that gave up, then retried) may add to it for as long as it lasts.
   */
  public GroupCommit<T, R> maxQueued(int items, long weight) {
    this.maxQueuedItems = items;
    this.maxQueuedWeight = weight;
    return this;
  }

  public Future<R> submit(T item) {
    long w = weight.applyAsLong(item);
    if (!queue.isEmpty() && (queue.size() >= maxQueuedItems || queuedWeight + w > maxQueuedWeight)) {
      return Future.failedFuture(new Full(queue.size() + " items (" + queuedWeight + " bytes) wait for the "
          + inFlight + " batches in flight"));
    }
    Promise<R> promise = Promise.promise();
    queue.add(new Pending<>(item, promise, w));
    queuedWeight += w;
    if (lingerMillis <= 0 || queue.size() >= maxBatch) {
      due = true;
    } else if (!due && lingerTimer < 0) {
      lingerTimer = vertx.setTimer(lingerMillis, id -> {
        lingerTimer = -1;
        due = true;
        drain();
      });
    }
    drain();
    return promise.future();
  }

  /** Sends what is queued without waiting for its linger; completes when everything submitted so far is done. */
  public Future<Void> idle() {
    if (queue.isEmpty() && inFlight == 0) {
      return Future.succeededFuture();
    }
    Promise<Void> p = Promise.promise();
    idleWaiters.add(p);
    due = true;
    drain();
    return p.future();
  }

  /**
   * One caller's result. A promise made without a context runs its handlers at once and lets their exceptions out: one
   * caller's failing handler must not leave the rest of its batch, and everything queued behind it, waiting for good.
   */
  private static <R> void complete(Promise<R> promise, R result, Throwable failure) {
    try {
      if (failure == null) {
        promise.complete(result);
      } else {
        promise.fail(failure);
      }
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "a handler of a group commit's result failed", e);
    }
  }

  private void drain() {
    while (due && inFlight < maxInFlight && !queue.isEmpty()) {
      int n = Math.min(maxBatch, queue.size());
      List<Pending<T, R>> batch = new ArrayList<>(n);
      List<T> items = new ArrayList<>(n);
      long weighed = 0;
      for (int i = 0; i < n; i++) {
        long w = queue.peek().weight();
        if (!batch.isEmpty() && weighed + w > maxWeight) {
          break;
        }
        weighed += w;
        queuedWeight -= w;
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
        try {
          for (int i = 0; i < batch.size(); i++) {
            complete(batch.get(i).promise(), ar.succeeded() ? ar.result().get(i) : null, ar.cause());
          }
        } finally {
          drain();
          if (queue.isEmpty() && inFlight == 0 && !idleWaiters.isEmpty()) {
            List<Promise<Void>> waiters = new ArrayList<>(idleWaiters);
            idleWaiters.clear();
            waiters.forEach(Promise::complete);
          }
        }
      });
    }
    if (queue.isEmpty() && lingerMillis > 0) {
      // the next item starts a new linger
      due = false;
      if (lingerTimer >= 0) {
        vertx.cancelTimer(lingerTimer);
        lingerTimer = -1;
      }
    }
  }
}
