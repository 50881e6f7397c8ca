package io.mailgate.smtp;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Shareable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the open connections of a listening address against its limit, and the message content their sessions hold
 * against its budget.
 *
 * <p>It exists because one address is often served by several {@link SmtpServer} instances, one
 * per event loop: they find the same counter in the Vert.x instance's local shared data, so the
 * limit holds for the address, not per instance, without any static state.
 */
final class ConnectionLimit implements Shareable, DataReader.Budget {

  private static final String SHARED_MAP = "io.mailgate.smtp.connection-limits";

  private final int max;
  private final long maxData;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong data = new AtomicLong();

  private ConnectionLimit(int max, long maxData) {
    this.max = max;
    this.maxData = maxData;
  }

  /** The counter for {@code host:port}; a server on port 0 gets one of its own. */
  static ConnectionLimit forAddress(Vertx vertx, String host, int port, int max, long maxData) {
    if (port == 0) {
      return new ConnectionLimit(max, maxData);
    }
    return vertx.sharedData()
        .<String, ConnectionLimit>getLocalMap(SHARED_MAP)
        .computeIfAbsent(host + ":" + port, key -> new ConnectionLimit(max, maxData));
  }

  @Override
  public boolean take(long bytes) {
    return data.getAndUpdate(held -> held + bytes <= maxData ? held + bytes : held) + bytes <= maxData;
  }

  @Override
  public void give(long bytes) {
    data.addAndGet(-bytes);
  }

  /** Bytes of message content the address's sessions hold now. */
  long dataHeld() {
    return data.get();
  }

  /** Takes a place if one is free. */
  boolean tryAcquire() {
    while (true) {
      int current = open.get();
      if (current >= max) {
        return false;
      }
      if (open.compareAndSet(current, current + 1)) {
        return true;
      }
    }
  }

  void release() {
    open.decrementAndGet();
  }

  int open() {
    return open.get();
  }
}
