package io.mailgate.smtp;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Shareable;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the open connections of a listening address against its limit.
 *
 * <p>It exists because one address is often served by several {@link SmtpServer} instances, one
 * per event loop: they find the same counter in the Vert.x instance's local shared data, so the
 * limit holds for the address, not per instance, without any static state.
 */
final class ConnectionLimit implements Shareable {

  private static final String SHARED_MAP = "io.mailgate.smtp.connection-limits";

  private final int max;
  private final AtomicInteger open = new AtomicInteger();

  private ConnectionLimit(int max) {
    this.max = max;
  }

  /** The counter for {@code host:port}; a server on port 0 gets one of its own. */
  static ConnectionLimit forAddress(Vertx vertx, String host, int port, int max) {
    if (port == 0) {
      return new ConnectionLimit(max);
    }
    return vertx.sharedData()
        .<String, ConnectionLimit>getLocalMap(SHARED_MAP)
        .computeIfAbsent(host + ":" + port, key -> new ConnectionLimit(max));
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
