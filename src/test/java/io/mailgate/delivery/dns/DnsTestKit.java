package io.mailgate.delivery.dns;

import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.TestClock;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A Vert.x instance, a {@link FakeDnsServer}, and resolvers pointed at it with a hand-moved clock. */
final class DnsTestKit implements AutoCloseable {

  /** Generous, so a loaded machine does not turn a slow answer into a retry; timeout tests set their own. */
  static final Duration QUERY_TIMEOUT = Duration.ofSeconds(2);

  final Vertx vertx = Vertx.vertx();
  final FakeDnsServer dns;
  final TestClock clock = new TestClock();
  private final List<DnsResolver> resolvers = new ArrayList<>();

  DnsTestKit() throws Exception {
    dns = FakeDnsServer.start();
  }

  /** 2 attempts, no TTL floor (tests set TTLs exactly), failures kept 10 s. */
  DnsResolverOptions options() {
    return DnsResolverOptions.defaults()
        .withServers(dns.hostPort())
        .withQueryTimeout(QUERY_TIMEOUT)
        .withAttempts(2)
        .withTtlBounds(Duration.ZERO, Duration.ofDays(1))
        .withFailureTtl(Duration.ofSeconds(10));
  }

  DnsResolver resolver() {
    return resolver(options());
  }

  DnsResolver resolver(DnsResolverOptions options) {
    DnsResolver resolver = new DnsResolver(vertx, options, clock);
    resolvers.add(resolver);
    return resolver;
  }

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("lookup did not complete: " + e, e);
    }
  }

  static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal); // a literal: no lookup
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  static List<InetAddress> ips(String... literals) {
    return java.util.Arrays.stream(literals).map(DnsTestKit::ip).toList();
  }

  @Override
  public void close() {
    for (DnsResolver resolver : resolvers) {
      await(resolver.close());
    }
    dns.close();
    await(vertx.close());
  }
}
