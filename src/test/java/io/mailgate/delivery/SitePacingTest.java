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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * A site's pool with both a per-minute connection limit and a shared per-second message rate: waiting for the one
 * does not cost the other, and the pool wakes when the sooner of them allows, not the later.
 */
class SitePacingTest {

  /**
   * Ten recipients in one message: each dispatch before the shared bucket has answered must not use up a connection
   * of the minute (there are six), or none is ever opened.
   */
  @Test
  void waitingForTheSharedRateKeepsTheMinutesConnections() throws Exception {
    try (Site site = new Site("minute", 2, 1, 100, 6)) {
      List<String> to = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        to.add("r" + i + "@minute.example");
      }
      site.send(to);
      // six connections of one message each in the first minute, then one every ten seconds: none in the second
      // after the sixth, where a pool that ignored the minute's limit would have sent all ten
      Await.until(() -> site.mx.received().size(), n -> n >= 6, Duration.ofSeconds(20));
      Thread.sleep(1_500);
      assertEquals(6, site.mx.received().size(), "messages within the minute's six connections");
      assertTrue(site.mx.connections() <= 6, site.mx.connections() + " connections within the minute");
    }
  }

  /**
   * One connection a minute and one message a second: the second message, on the connection the first left idle,
   * waits a second for the shared bucket, not a minute for the timer of the connection it could not open.
   */
  @Test
  void theSoonerWakeUpIsKept() throws Exception {
    try (Site site = new Site("second", 2, 1000, 1, 1)) {
      site.send(List.of("a@second.example", "b@second.example", "c@second.example"));
      Await.until(() -> site.mx.received().size(), n -> n >= 3, Duration.ofSeconds(15));
      assertEquals(1, site.mx.connections(), "all three on the one connection of the minute");
    }
  }

  /** A node with one delivery instance sending directly to one site, whose limits are the test's. */
  private static final class Site implements AutoCloseable {
    final FakeDnsServer dns;
    final RecordingSmtpServer mx;
    final TestNode node;
    final SesV2Client ses;

    Site(String name, int maxConnections, int maxMessagesPerConnection, double maxMessagesPerSecond,
        int maxConnectionsPerMinute) throws Exception {
      int port = EmbeddedServices.freePort();
      Path shaping = Files.createTempFile("shaping", ".json");
      Files.writeString(shaping, "{\"sites\": [{\"mx\": \"" + name + ".test\", \"maxConnections\": " + maxConnections
          + ", \"maxMessagesPerConnection\": " + maxMessagesPerConnection + ", \"maxMessagesPerSecond\": "
          + maxMessagesPerSecond + ", \"maxConnectionsPerMinute\": " + maxConnectionsPerMinute + "}]}");
      dns = FakeDnsServer.start().defaultTtl(60).soa(60, 60)
          .mx(name + ".example", 10, "mx." + name + ".test").a("mx." + name + ".test", "127.0.0.1");
      mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), port);
      node = TestNode.start("", c -> c
          .with(MailgateConfig.DELIVERY_INSTANCES, 1)
          .with(MailgateConfig.DELIVERY_MODE, "direct")
          .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
          .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
          // idle connections (and the pool's sweep, which dispatches) stay out of the way for the whole test
          .with(MailgateConfig.DELIVERY_IDLE_TIMEOUT_SECONDS, 300)
          .with(MailgateConfig.DELIVERY_SHAPING_FILE, shaping.toString()));
      ses = node.sesV2();
    }

    void send(List<String> to) {
      ses.sendEmail(r -> r.fromEmailAddress("s@example.com").destination(d -> d.toAddresses(to))
          .content(c -> c.simple(m -> m.subject(s -> s.data("paced")).body(b -> b.text(t -> t.data("x"))))));
    }

    @Override
    public void close() throws Exception {
      ses.close();
      node.close();
      mx.close();
      dns.close();
    }
  }
}
