package io.mailgate.smtp;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Shareable;
import java.net.InetAddress;
import java.time.Duration;
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

  /** Clients' minutes: Postfix's anvil counts its rates by the minute. */
  static final Duration RATE_UNIT = Duration.ofMinutes(1);

  private final int max;
  private final int maxPerClient;
  private final ClientRate connectionRate;
  private final ClientRate messageRate;
  private final long maxData;
  private final long maxDataPerClient;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong data = new AtomicLong();
  /** Open connections by client address, when there is a per-client limit; no entry at zero. */
  private final ConcurrentHashMap<InetAddress, Integer> byClient = new ConcurrentHashMap<>();
  /** Message content held by client address, for those counted on their own; no entry at zero. */
  private final ConcurrentHashMap<InetAddress, Long> dataByClient = new ConcurrentHashMap<>();

  /**
   * @param maxData message content the address's sessions may hold together
   * @param largestMessage the largest message a session may hold: a client may hold a quarter of {@code maxData},
   *     and at least one such message beside what its other connections keep between messages (a client's pool
   *     of connections must still be able to send its largest message)
   */
  private ConnectionLimit(int max, int maxPerClient, long maxData, long largestMessage, int connectionRate,
      int messageRate) {
    this.max = max;
    this.maxPerClient = maxPerClient;
    this.connectionRate = new ClientRate(connectionRate, RATE_UNIT, System::nanoTime);
    this.messageRate = new ClientRate(messageRate, RATE_UNIT, System::nanoTime);
    this.maxData = maxData;
    this.maxDataPerClient = Math.max(maxData / 4, largestMessage + DataReader.MAX_PREALLOCATION
        + (long) Math.max(0, maxPerClient) * DataReader.RETAINED_CAPACITY);
  }

  /**
   * The counter for the address {@code options} listen on, with their limits; a server on port 0 gets one of its own.
   * The content budget is at least one largest message.
   */
  static ConnectionLimit forAddress(Vertx vertx, SmtpServerOptions options) {
    long largestMessage = options.getMaxMessageSize() + 2;
    java.util.function.Supplier<ConnectionLimit> made = () -> new ConnectionLimit(options.getMaxConnections(),
        options.getMaxConnectionsPerClient(), Math.max(options.getMaxDataBytesHeld(), largestMessage), largestMessage,
        options.getConnectionRatePerClient(), options.getMessageRatePerClient());
    if (options.getPort() == 0) {
      return made.get();
    }
    return vertx.sharedData()
        .<String, ConnectionLimit>getLocalMap(SHARED_MAP)
        .computeIfAbsent(options.getHost() + ":" + options.getPort(), key -> made.get());
  }

  /**
   * The budget of {@code client}'s sessions: the address's, of which one client (counted on its own) may hold a
   * quarter, or one largest message if that is more. A client trickling the end of its messages into a few
   * connections held the whole budget, for as long as it kept sending, and every other client's mail was answered
   * 452 meanwhile: the bounces, complaints and mail of a whole inbound port, or every tenant's submissions.
   */
  DataReader.Budget budgetFor(InetAddress address) {
    if (!counted(address)) {
      return this;
    }
    InetAddress client = client(address);
    return new DataReader.Budget() {
      @Override
      public boolean take(long bytes) {
        boolean[] taken = {false};
        dataByClient.compute(client, (k, held) -> {
          long h = held == null ? 0 : held;
          if (h + bytes > maxDataPerClient) {
            return held;
          }
          taken[0] = true;
          return h + bytes == 0 ? null : h + bytes;
        });
        if (!taken[0]) {
          return false;
        }
        if (!ConnectionLimit.this.take(bytes)) {
          giveClient(bytes);
          return false;
        }
        return true;
      }

      @Override
      public void give(long bytes) {
        ConnectionLimit.this.give(bytes);
        giveClient(bytes);
      }

      private void giveClient(long bytes) {
        dataByClient.computeIfPresent(client, (k, held) -> held - bytes <= 0 ? null : held - bytes);
      }
    };
  }

  /** Bytes of message content {@code client}'s sessions hold now. */
  long dataHeldBy(InetAddress client) {
    return client == null ? 0 : dataByClient.getOrDefault(client(client), 0L);
  }

  /**
   * The client an address counts as: itself for IPv4, its first 84 bits for IPv6 (Postfix's
   * smtpd_client_ipv6_prefix_length). A host may use any address of the /64 it is given (RFC 6177): counted by
   * address, one host was any number of clients, each with its own limits, and 20 of its addresses filled a port's
   * thousand connections. Not the whole /64: a cloud subnet or an office network is one /64 of many hosts.
   */
  static InetAddress client(InetAddress address) {
    if (!(address instanceof java.net.Inet6Address)) {
      return address;
    }
    byte[] bytes = address.getAddress();
    bytes[10] &= (byte) 0xF0; // 84 bits: ten bytes and a half
    java.util.Arrays.fill(bytes, 11, 16, (byte) 0);
    try {
      return InetAddress.getByAddress(bytes);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e); // sixteen bytes are always an address
    }
  }

  /** Whether {@code client}'s connections are counted on their own: a per-client limit, and not loopback. */
  private boolean counted(InetAddress client) {
    return maxPerClient > 0 && client != null && !client.isLoopbackAddress();
  }

  /** Counts a connection of {@code client} in its minute, if it has opened fewer than its rate in it. */
  boolean tryConnect(InetAddress client) {
    return client == null || client.isLoopbackAddress() || connectionRate.tryTake(client(client));
  }

  /** Counts a message {@code client} starts in its minute, if it has started fewer than its rate in it. */
  boolean tryStartMessage(InetAddress client) {
    return client == null || client.isLoopbackAddress() || messageRate.tryTake(client(client));
  }

  /** Takes a place for one more connection of {@code client}, if it has fewer than its limit open. */
  boolean tryAcquireFor(InetAddress client) {
    if (!counted(client)) {
      return true;
    }
    boolean[] taken = {false};
    byClient.compute(client(client), (k, n) -> {
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
      byClient.computeIfPresent(client(client), (k, n) -> n <= 1 ? null : n - 1);
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

  /**
   * How many connections, or messages, each client has begun in its current minute, against a limit per minute, as
   * Postfix's anvil counts them: a client's minute starts with its first one, and one begun over the limit is not
   * counted (a client held back by it gets in again once its minute is over, however often it tried meanwhile).
   * Clients whose minute is over are forgotten, at most once a minute, by the first count after it: the table holds
   * the clients of the last two minutes at most.
   */
  static final class ClientRate {
    private final int max;
    private final long unitNanos;
    private final java.util.function.LongSupplier nanoClock;
    /** By client: when its minute began, and how many it has begun in it. */
    private final ConcurrentHashMap<InetAddress, long[]> minutes = new ConcurrentHashMap<>();
    private final AtomicLong nextSweep;

    /** @param max per {@code unit}; 0: no limit */
    ClientRate(int max, Duration unit, java.util.function.LongSupplier nanoClock) {
      this.max = max;
      this.unitNanos = unit.toNanos();
      this.nanoClock = nanoClock;
      this.nextSweep = new AtomicLong(nanoClock.getAsLong() + unitNanos);
    }

    /** Counts one for {@code client} if it has begun fewer than the limit in its minute. */
    boolean tryTake(InetAddress client) {
      if (max == 0) {
        return true;
      }
      long now = nanoClock.getAsLong();
      long due = nextSweep.get();
      if (now - due >= 0 && nextSweep.compareAndSet(due, now + unitNanos)) {
        // a minute counted on meanwhile is a new array (below), so one whose end this reads is never removed
        minutes.values().removeIf(m -> now - m[0] >= unitNanos);
      }
      boolean[] taken = {false};
      minutes.compute(client, (k, m) -> {
        if (m == null || now - m[0] >= unitNanos) {
          taken[0] = true;
          return new long[] {now, 1};
        }
        if (m[1] < max) {
          taken[0] = true;
          return new long[] {m[0], m[1] + 1};
        }
        return m;
      });
      return taken[0];
    }

    /** Clients remembered now. */
    int clients() {
      return minutes.size();
    }
  }
}
