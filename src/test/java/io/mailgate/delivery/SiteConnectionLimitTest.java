package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * A site's maxConnections holds for the node, whose two delivery instances each have a pool for the site: their
 * shares are rounded up (2 and 2 of 3), so the shares alone would open four. And an instance holding the site's
 * connections idle gives one up to another that needs it.
 */
class SiteConnectionLimitTest {
  static final int MESSAGES = 24;

  @Test
  void theNodeOpensNoMoreThanTheSitesLimit() throws Exception {
    int port = EmbeddedServices.freePort();
    Path shaping = Files.createTempFile("shaping", ".json");
    Files.writeString(shaping, "{\"sites\": [{\"mx\": \"narrow.test\", \"maxConnections\": 3, "
        + "\"maxMessagesPerConnection\": 1000, \"maxMessagesPerSecond\": 0, \"maxConnectionsPerMinute\": 0}]}");
    try (FakeDnsServer dns = FakeDnsServer.start().defaultTtl(60).soa(60, 60)
        .mx("narrow.example", 10, "mx.narrow.test").a("mx.narrow.test", "127.0.0.1");
         RecordingSmtpServer mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), port)
             .dataDelay(Duration.ofMillis(200));
         TestNode node = TestNode.start("", c -> c
             .with(MailgateConfig.DELIVERY_INSTANCES, 2)
             .with(MailgateConfig.DELIVERY_MODE, "direct")
             .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
             .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
             .with(MailgateConfig.DELIVERY_SHAPING_FILE, shaping.toString()));
         SesV2Client ses = node.sesV2()) {
      for (int i = 0; i < MESSAGES; i++) {
        String to = "r" + i + "@narrow.example";
        ses.sendEmail(r -> r.fromEmailAddress("s@example.com").destination(d -> d.toAddresses(to))
            .content(c -> c.simple(m -> m.subject(s -> s.data("narrow")).body(b -> b.text(t -> t.data("x"))))));
      }
      Await.until(() -> mx.received().size() >= MESSAGES, Duration.ofSeconds(60));
      assertEquals(3, mx.maxConcurrentConnections());
    }
  }

  /**
   * One connection for the node, left idle (for five minutes) in the instance that sent the last message. The event bus
   * hands messages to the two instances in turn, so of the next messages, sent one at a time, some go to the other
   * instance, which nothing else wakes: each is delivered within seconds, not when the idle connection times out.
   */
  @Test
  void anIdleConnectionMakesRoomForAnotherInstance() throws Exception {
    int port = EmbeddedServices.freePort();
    Path shaping = Files.createTempFile("shaping", ".json");
    Files.writeString(shaping, "{\"sites\": [{\"mx\": \"single.test\", \"maxConnections\": 1, "
        + "\"maxMessagesPerConnection\": 1000, \"maxMessagesPerSecond\": 0, \"maxConnectionsPerMinute\": 0}]}");
    try (FakeDnsServer dns = FakeDnsServer.start().defaultTtl(60).soa(60, 60)
        .mx("single.example", 10, "mx.single.test").a("mx.single.test", "127.0.0.1");
         RecordingSmtpServer mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), port);
         TestNode node = TestNode.start("", c -> c
             .with(MailgateConfig.DELIVERY_INSTANCES, 2)
             .with(MailgateConfig.DELIVERY_MODE, "direct")
             .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
             .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
             .with(MailgateConfig.DELIVERY_IDLE_TIMEOUT_SECONDS, 300)
             .with(MailgateConfig.DELIVERY_SHAPING_FILE, shaping.toString()));
         SesV2Client ses = node.sesV2()) {
      for (int i = 0; i < 4; i++) {
        String to = "r" + i + "@single.example";
        ses.sendEmail(r -> r.fromEmailAddress("s@example.com").destination(d -> d.toAddresses(to))
            .content(c -> c.simple(m -> m.subject(s -> s.data("single")).body(b -> b.text(t -> t.data("x"))))));
        int sent = i + 1;
        Await.until(() -> mx.received().size(), n -> n >= sent, Duration.ofSeconds(i == 0 ? 30 : 10));
      }
      assertEquals(1, mx.maxConcurrentConnections());
      assertTrue(mx.connections() > 1, "both instances sent");
    }
  }
}
