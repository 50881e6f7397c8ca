package io.mailgate;

import io.vertx.core.shareddata.Shareable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes of messages a node holds in memory at once, taken before they are read and given back when done: the request
 * bodies its HTTP verticles hold (a body is buffered whole before its signature can be checked, so without a bound a
 * few clients that claim large bodies, signed or not, and send them slowly would fill the heap), and the contents its
 * delivery instances hold (a backlog of large messages would otherwise be read into memory a thousand at a time).
 * Shared by the verticle instances of one node.
 */
public final class ByteBudget implements Shareable {
  private final long max;
  private final AtomicLong held = new AtomicLong();

  public ByteBudget(long max) {
    this.max = max;
  }

  /** A body up to this is small: ordinary sends, which large ones must never starve. */
  public static final long SMALL = 1024 * 1024;

  /**
   * Takes {@code bytes}, or false when the node holds too much already (one request alone may always go). Large bodies
   * leave the last sixteenth of the budget to small ones, so that a few slow large uploads cannot stop every send.
   */
  public boolean take(long bytes) {
    long limit = bytes <= SMALL ? max : max - max / 16;
    long before = held.getAndUpdate(h -> h == 0 || h + bytes <= limit ? h + bytes : h);
    return before == 0 || before + bytes <= limit;
  }

  public void release(long bytes) {
    held.addAndGet(-bytes);
  }

  public long max() {
    return max;
  }

  public long held() {
    return held.get();
  }
}
