package io.mailgate.send;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Work of many owners on a few threads, taken in turn: each owner (an account) has a queue of its own, and a free
 * thread takes the next task of the next owner in the round, so that one owner with a long queue of costly tasks (a
 * 500 KB template compiled and rendered again and again) holds up another's task by one of its own at most, not by
 * its whole queue; and an owner may have at most {@code perOwner} tasks waiting ({@link #offer} refuses more), so
 * that what waits stays bounded. Thread-safe: the node's API verticles share one.
 */
public final class FairQueue implements io.vertx.core.shareddata.Shareable {
  private final int concurrency;
  private final int perOwner;
  private final Executor threads;
  private final Map<String, ArrayDeque<Runnable>> waiting = new HashMap<>();
  /** The owners with tasks waiting, in the order their turns come. */
  private final ArrayDeque<String> turns = new ArrayDeque<>();
  private int running;

  /**
   * @param concurrency tasks run at once, at most
   * @param perOwner tasks one owner may have waiting (not counting those running)
   * @param threads what runs a task (with at least {@code concurrency} threads)
   */
  public FairQueue(int concurrency, int perOwner, Executor threads) {
    this.concurrency = concurrency;
    this.perOwner = perOwner;
    this.threads = threads;
  }

  /** A pool for {@code concurrency} tasks at once whose threads end when idle for a minute. */
  public static FairQueue withThreads(int concurrency, int perOwner, String name) {
    java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(concurrency,
        concurrency, 60, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, name);
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true); // a node that renders nothing keeps no thread for it
    return new FairQueue(concurrency, perOwner, pool);
  }

  /** Queues {@code task} for {@code owner}; false, and nothing queued, when the owner has its most waiting already. */
  public boolean offer(String owner, Runnable task) {
    synchronized (this) {
      ArrayDeque<Runnable> queue = waiting.get(owner);
      if (queue == null) {
        queue = new ArrayDeque<>();
        waiting.put(owner, queue);
        turns.addLast(owner);
      } else if (queue.size() >= perOwner) {
        return false;
      }
      queue.addLast(task);
    }
    pump();
    return true;
  }

  /** Tasks waiting for {@code owner} (for tests and metrics). */
  public synchronized int waiting(String owner) {
    ArrayDeque<Runnable> queue = waiting.get(owner);
    return queue == null ? 0 : queue.size();
  }

  /** Starts the next tasks in turn while threads are free. */
  private void pump() {
    while (true) {
      Runnable next;
      synchronized (this) {
        if (running >= concurrency || turns.isEmpty()) {
          return;
        }
        String owner = turns.pollFirst();
        ArrayDeque<Runnable> queue = waiting.get(owner);
        next = queue.pollFirst();
        if (queue.isEmpty()) {
          waiting.remove(owner);
        } else {
          turns.addLast(owner); // its next task after every other owner's
        }
        running++;
      }
      Runnable task = next;
      try {
        threads.execute(() -> {
          try {
            task.run();
          } finally {
            finished();
          }
        });
      } catch (RuntimeException e) { // rejected (the pool is shut down): the task's owner waits for nothing
        finished();
        throw e;
      }
    }
  }

  private void finished() {
    synchronized (this) {
      running--;
    }
    pump();
  }
}
