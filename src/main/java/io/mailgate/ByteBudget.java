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

  /** How long a reservation holds room for something refused, unless it comes back for it first. */
  static final long RESERVATION_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);

  /** Room kept for {@code key}'s {@code bytes} until it takes them, or until {@code untilNanos}. */
  private record Reservation(String key, long bytes, long untilNanos) {
    boolean over() {
      return System.nanoTime() - untilNanos > 0;
    }
  }

  private volatile Reservation reservation;

  /**
   * Takes {@code bytes}, or false when the node holds too much already (one request alone may always go). Large bodies
   * leave the last sixteenth of the budget to small ones, so that a few slow large uploads cannot stop every send.
   * While something refused waits its turn ({@link #takeInTurn}), room for it is kept free.
   */
  public boolean take(long bytes) {
    return take(bytes, reservedBeside(null));
  }

  /**
   * As {@link #take}, for what must not be passed over for ever by smaller things taken meanwhile (a large message in
   * the delivery queue, claimed again at every scan): refused, it reserves its room, which other takes leave free until
   * {@code key} takes it (or for 30 s, should it not come back). One reservation at a time; the first refused keeps it.
   */
  public boolean takeInTurn(String key, long bytes) {
    boolean taken = take(bytes, reservedBeside(key));
    synchronized (this) {
      Reservation r = reservation;
      if (taken) {
        if (r != null && r.key().equals(key)) {
          reservation = null;
        }
      } else if (r == null || r.key().equals(key) || r.over()) {
        reservation = new Reservation(key, bytes, System.nanoTime() + RESERVATION_NANOS);
      }
    }
    return taken;
  }

  /** The room a reservation other than {@code key}'s keeps free. */
  private long reservedBeside(String key) {
    Reservation r = reservation;
    if (r == null || r.key().equals(key) || r.over()) {
      return 0;
    }
    return r.bytes();
  }

  private boolean take(long bytes, long reserved) {
    long large = max - max / 16;
    // with a reservation, everyone else stays within what leaves it room among large takes, and does not go alone
    // either: the reserver does, once what is held is given back
    long limit = reserved > 0 ? large - reserved : bytes <= SMALL ? max : large;
    boolean mayGoAlone = reserved == 0;
    long before = held.getAndUpdate(h -> (mayGoAlone && h == 0) || h + bytes <= limit ? h + bytes : h);
    return (mayGoAlone && before == 0) || before + bytes <= limit;
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
