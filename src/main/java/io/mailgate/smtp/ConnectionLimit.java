package io.mailgate.smtp;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Shareable;
import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
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
  private final int maxPerClient;
  private final long maxData;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong data = new AtomicLong();
  /** Open connections by client address, when there is a per-client limit; no entry at zero. */
  private final ConcurrentHashMap<InetAddress, Integer> byClient = new ConcurrentHashMap<>();

  private ConnectionLimit(int max, int maxPerClient, long maxData) {
    this.max = max;
    this.maxPerClient = maxPerClient;
    this.maxData = maxData;
  }

  /** The counter for {@code host:port}; a server on port 0 gets one of its own. */
  static ConnectionLimit forAddress(Vertx vertx, String host, int port, int max, int maxPerClient, long maxData) {
    if (port == 0) {
      return new ConnectionLimit(max, maxPerClient, maxData);
    }
    return vertx.sharedData()
        .<String, ConnectionLimit>getLocalMap(SHARED_MAP)
        .computeIfAbsent(host + ":" + port, key -> new ConnectionLimit(max, maxPerClient, maxData));
  }

  /** Whether {@code client}'s connections are counted on their own: a per-client limit, and not loopback. */
  private boolean counted(InetAddress client) {
    return maxPerClient > 0 && client != null && !client.isLoopbackAddress();
  }

  /** Takes a place for one more connection of {@code client}, if it has fewer than its limit open. */
  boolean tryAcquireFor(InetAddress client) {
    if (!counted(client)) {
      return true;
    }
    boolean[] taken = {false};
    byClient.compute(client, (k, n) -> {
      int current = n == null ? 0 : n;
      if (current >= maxPerClient) {
        return n;
      }
      taken[0] = true;
      return current + 1;
    });
    return taken[0];
  }

  void releaseFor(InetAddress client) {
    if (counted(client)) {
      byClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }
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
