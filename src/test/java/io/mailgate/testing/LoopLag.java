package io.mailgate.testing;

import com.sun.management.GarbageCollectionNotificationInfo;
import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How long the event loops of a Vert.x instance were kept from their tasks: a task on every loop asks to run again
 * every few milliseconds and notes how late it came. A loop held by one piece of work (parsing a large body, say)
 * shows that work's length, whatever the loop was doing. A garbage collection's pause stops every thread, loops
 * included: the longest one seen meanwhile is told apart ({@link #maxGcPauseMillis()}), as it is the JVM's, not the
 * loop's work.
 */
public final class LoopLag implements AutoCloseable {
  private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  private final AtomicLong maxNanos = new AtomicLong();
  private final List<EventExecutor> loops = new ArrayList<>();
  private volatile boolean running = true;

  private final AtomicLong maxGcPauseMillis = new AtomicLong();
  private final List<Runnable> unsubscribe = new ArrayList<>();

  private LoopLag(Vertx vertx) {
    ((VertxInternal) vertx).nettyEventLoopGroup().forEach(loops::add);
    for (EventExecutor loop : loops) {
      tick(loop, System.nanoTime() + PERIOD_NANOS);
    }
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof javax.management.NotificationEmitter emitter) {
        javax.management.NotificationListener listener = (n, handback) -> {
          if (n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
            GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from(
                (javax.management.openmbean.CompositeData) n.getUserData());
            if (!info.getGcCause().equals("No GC") && !info.getGcName().contains("Concurrent")) {
              maxGcPauseMillis.accumulateAndGet(info.getGcInfo().getDuration(), Math::max);
            }
          }
        };
        emitter.addNotificationListener(listener, null, null);
        unsubscribe.add(() -> {
          try {
            emitter.removeNotificationListener(listener);
          } catch (javax.management.ListenerNotFoundException ignored) {
            // gone already
          }
        });
      }
    }
  }

  public static LoopLag start(Vertx vertx) {
    return new LoopLag(vertx);
  }

  private void tick(EventExecutor loop, long due) {
    loop.schedule(() -> {
      long late = System.nanoTime() - due;
      maxNanos.accumulateAndGet(late, Math::max);
      if (running) {
        tick(loop, System.nanoTime() + PERIOD_NANOS);
      }
    }, PERIOD_NANOS, TimeUnit.NANOSECONDS);
  }

  /** The event loops watched. */
  public int loops() {
    return loops.size();
  }

  /** The longest any loop made its task wait past its time, in milliseconds. */
  public long maxMillis() {
    return TimeUnit.NANOSECONDS.toMillis(maxNanos.get());
  }

  /** The longest garbage-collection pause (stopping every thread) while watching, in milliseconds. */
  public long maxGcPauseMillis() {
    return maxGcPauseMillis.get();
  }

  /** Forgets what was seen so far. */
  public void reset() {
    maxNanos.set(0);
    maxGcPauseMillis.set(0);
  }

  @Override
  public void close() {
    running = false;
    unsubscribe.forEach(Runnable::run);
  }
}
