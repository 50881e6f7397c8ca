package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * A site's maxMessagesPerSecond holds for all nodes together: two nodes (two delivery instances
 * each) sending to one site share its bucket in Redis instead of each sending at the full rate.
 */
class SharedSiteRateTest {
  static final int RATE = 10;
  static final int MESSAGES = 40;

  @Test
  void twoNodesTogetherKeepToTheSitesRate() throws Exception {
    int port = EmbeddedServices.freePort();
    Path shaping = Files.createTempFile("shaping", ".json");
    Files.writeString(shaping, "{\"sites\": [{\"mx\": \"paced.test\", \"maxConnections\": 4, "
        + "\"maxMessagesPerConnection\": 1000, \"maxMessagesPerSecond\": " + RATE + ", \"maxConnectionsPerMinute\": 0}]}");
    List<Long> arrivals = Collections.synchronizedList(new ArrayList<>());
    try (FakeDnsServer dns = FakeDnsServer.start().defaultTtl(60).soa(60, 60)
        .mx("paced.example", 10, "mx.paced.test").a("mx.paced.test", "127.0.0.1");
         RecordingSmtpServer mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), port)
             .onData(rcpt -> {
               arrivals.add(System.nanoTime());
               return "250 2.0.0 Ok: queued";
             })) {
      String pg = TestServices.freshDatabase();
      String prefix = TestServices.uniquePrefix();
      UnaryOperator<MailgateConfig> direct = c -> c
          .with(MailgateConfig.DELIVERY_MODE, "direct")
          .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
          .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
          .with(MailgateConfig.DELIVERY_SHAPING_FILE, shaping.toString());
      try (TestNode one = TestNode.start(pg, prefix, "", direct, true);
           TestNode two = TestNode.start(pg, prefix, "", direct, true);
           SesV2Client viaOne = one.sesV2();
           SesV2Client viaTwo = two.sesV2()) {
        for (int i = 0; i < MESSAGES; i++) {
          String to = "r" + i + "@paced.example";
          (i % 2 == 0 ? viaOne : viaTwo).sendEmail(r -> r.fromEmailAddress("s@example.com")
              .destination(d -> d.toAddresses(to))
              .content(c -> c.simple(m -> m.subject(s -> s.data("paced")).body(b -> b.text(t -> t.data("x"))))));
        }
        Await.until(() -> arrivals.size() >= MESSAGES, Duration.ofSeconds(60));
        assertEquals(MESSAGES, mx.received().size());
        List<Long> times = new ArrayList<>(arrivals);
        Collections.sort(times);
        double spanSeconds = (times.get(MESSAGES - 1) - times.get(0)) / 1e9;
        // one shared bucket: a burst of RATE, then RATE per second: (40 - 10) / 10 = 3 s. Each node
        // keeping to the rate by itself would take (20 - 10) / 10 = 1 s.
        assertTrue(spanSeconds >= 2.5, "40 messages at 10/s for both nodes together took only " + spanSeconds + " s");
        // and in no second after the first burst did the site get much more than its rate
        for (int i = 0; i + 2 * RATE < MESSAGES; i++) {
          double window = (times.get(i + 2 * RATE) - times.get(i)) / 1e9;
          assertTrue(window >= 1.0, (2 * RATE) + " messages within " + window + " s");
        }
      }
    }
  }
}
