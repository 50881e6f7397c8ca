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

  /**
   * Tracking links are signed for the host http.publicUrl names: one java.net.URI cannot read (an '_' in a compose
   * service's name, a name beyond ASCII) signed them for none, and every open and click was refused; the node does not
   * start with it.
   */
  @Test
  void aPublicUrlWithoutAHostAUrlMayHaveIsRefused() throws Exception {
    for (String bad : new String[] {"http://mail_gate:8080", "https://bücher.example", "mail.example.com",
        "ftp://mail.example.com"}) {
      Vertx vertx = Vertx.vertx();
      try {
        Throwable failure = MailgateNode.start(vertx, MailgateConfig.defaults()
                .with(MailgateConfig.HTTP_PUBLIC_URL, bad), Clock.systemUTC(), true)
            .toCompletionStage().toCompletableFuture().handle((n, e) -> e).get(30, TimeUnit.SECONDS);
        assertTrue(failure instanceof ConfigException, bad + ": " + failure);
        assertTrue(failure.getMessage().contains("http.publicUrl") && failure.getMessage().contains(bad),
            failure.getMessage());
      } finally {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
    assertEquals("xn--bcher-kva.example", MailgateNode.publicUrlHost("https://xn--bcher-kva.example/"));
    assertEquals("mail.example.com", MailgateNode.publicUrlHost("http://mail.example.com:8080"));
  }

  /** A port another process holds fails the start with the keys that chose it, for each of the node's listeners. */
  @Test
  void aListenerWhosePortIsTakenNamesItsKeys() throws Exception {
    record Listener(io.mailgate.config.ConfigKey<Integer> key, String env) {}
    for (Listener listener : java.util.List.of(new Listener(MailgateConfig.HTTP_PORT, "MAILGATE_HTTP_PORT"),
        new Listener(MailgateConfig.SMTP_SUBMISSION_PORT, "MAILGATE_SMTP_SUBMISSION_PORT"),
        new Listener(MailgateConfig.SMTP_INBOUND_PORT, "MAILGATE_SMTP_INBOUND_PORT"))) {
      try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
            () -> io.mailgate.testing.TestNode.start("smtp://127.0.0.1:9",
                c -> c.with(listener.key(), taken.getLocalPort())).close());
        assertTrue(e.getMessage().contains(listener.key().path()) && e.getMessage().contains(listener.env())
            && e.getMessage().contains(":" + taken.getLocalPort()), e.getMessage());
      }
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
