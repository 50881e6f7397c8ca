package io.mailgate.testing;

import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How long the event loops of a Vert.x instance were kept from their tasks: a task on every loop asks to run again
 * every few milliseconds and notes how late it came. A loop held by one piece of work (parsing a large body, say)
 * shows that work's length, whatever the loop was doing.
 */
public final class LoopLag implements AutoCloseable {
  private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  private final AtomicLong maxNanos = new AtomicLong();
  private final List<EventExecutor> loops = new ArrayList<>();
  private volatile boolean running = true;

  private LoopLag(Vertx vertx) {
    ((VertxInternal) vertx).nettyEventLoopGroup().forEach(loops::add);
    for (EventExecutor loop : loops) {
      tick(loop, System.nanoTime() + PERIOD_NANOS);
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

  /** Forgets what was seen so far. */
  public void reset() {
    maxNanos.set(0);
  }

  @Override
  public void close() {
    running = false;
  }
}
