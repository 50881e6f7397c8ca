package io.mailgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.dns.DnsResolverOptions;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Settings a node cannot start with are configuration errors naming their keys, never a stack trace. */
class NodeConfigErrorsTest {

  @Test
  void dnsSettingsThatCannotBeUsedNameTheirKeys() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Throwable failure = MailgateNode.start(vertx, MailgateConfig.defaults()
              .with(MailgateConfig.DNS_SERVERS, "resolver.internal"), Clock.systemUTC(), true)
          .toCompletionStage().toCompletableFuture().handle((n, e) -> e).get(30, TimeUnit.SECONDS);
      assertTrue(failure instanceof ConfigException, String.valueOf(failure));
      assertTrue(failure.getMessage().contains("dns.servers") && failure.getMessage().contains("resolver.internal"),
          failure.getMessage());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** A floor above the negative answers' own ceiling (an hour) is their floor too, not an error about a hidden one. */
  @Test
  void aTtlFloorAboveAnHourIsTaken() {
    DnsResolverOptions options = DnsResolverOptions.defaults().withTtlBounds(Duration.ofHours(2), Duration.ofDays(1));
    assertEquals(Duration.ofHours(2), options.minTtl());
    assertEquals(Duration.ofHours(2), options.maxNegativeTtl());
    assertEquals(Duration.ofHours(1), DnsResolverOptions.defaults().withTtlBounds(Duration.ofSeconds(10),
        Duration.ofDays(1)).maxNegativeTtl(), "below it, the ceiling stays an hour");
  }
}
