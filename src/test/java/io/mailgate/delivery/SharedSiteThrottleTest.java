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
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * Reviewer's test: a site that asked one node to slow down ("451 4.7.28 ... rate limited": throttle-rules.txt pauses
 * the site 300 s and halves its rate) is still sent to at once, at the full shared rate, by the other node.
 */
class SharedSiteThrottleTest {

  // (and a site without a per-second limit, whose shared state is read apart from tokens)
  @ParameterizedTest
  @ValueSource(ints = {10, 0})
  void aSiteThatAskedOneNodeToSlowDownIsPausedForTheOtherNodeToo(int perSecond) throws Exception {
    int port = EmbeddedServices.freePort();
    Path shaping = Files.createTempFile("shaping", ".json");
    Files.writeString(shaping, "{\"sites\": [{\"mx\": \"busy.test\", \"maxConnections\": 4, "
        + "\"maxMessagesPerConnection\": 1000, \"maxMessagesPerSecond\": " + perSecond
        + ", \"maxConnectionsPerMinute\": 0}]}");
    AtomicInteger datas = new AtomicInteger();
    List<String> attempts = new CopyOnWriteArrayList<>();
    try (FakeDnsServer dns = FakeDnsServer.start().defaultTtl(60).soa(60, 60)
        .mx("busy.example", 10, "mx.busy.test").a("mx.busy.test", "127.0.0.1");
         RecordingSmtpServer mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), port)
             .onData(rcpt -> {
               attempts.add(rcpt);
               // the first message: the provider asks us to slow down (as Gmail's 4.7.28 does)
               return datas.getAndIncrement() == 0
                   ? "451 4.7.28 Our system has detected an unusual rate of unsolicited mail; rate limited"
                   : "250 2.0.0 Ok: queued";
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
        viaOne.sendEmail(r -> r.fromEmailAddress("s@example.com")
            .destination(d -> d.toAddresses("first@busy.example"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("one")).body(b -> b.text(t -> t.data("x"))))));
        Await.until(() -> attempts.size() >= 1, Duration.ofSeconds(20));
        // node one now holds the site paused for 300 s: a message accepted by node one waits (the control) ...
        viaOne.sendEmail(r -> r.fromEmailAddress("s@example.com")
            .destination(d -> d.toAddresses("via-one@busy.example"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("one")).body(b -> b.text(t -> t.data("x"))))));
        // ... and one accepted by node two right after should too
        viaTwo.sendEmail(r -> r.fromEmailAddress("s@example.com")
            .destination(d -> d.toAddresses("via-two@busy.example"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("two")).body(b -> b.text(t -> t.data("x"))))));
        Thread.sleep(8_000);
        assertTrue(!attempts.contains("via-one@busy.example"), "control: node one kept to the pause: " + attempts);
        // the site asked to be left alone for 300 s: nothing more should have reached it within 8 s
        assertEquals(List.of("first@busy.example"), attempts,
            "node two sent to a site that had just asked node one to slow down (pause 300 s, rate halved)");
        // node two's status shows the site's shared state, not a state of its own
        JsonObject site = site(two, "mx.busy.test");
        assertTrue(site.containsKey("PausedUntil") && site.containsKey("ThrottleSharedAt"), site.encode());
        assertEquals(0.5, site.getDouble("ThrottleFactor"), 1e-9, site.encode());
      }
    }
  }

  /**
   * A site that asked one node to slow down, its pause over, takes the other node's mail at its halved rate: the shared
   * bucket fills at the configured rate times the shared factor (the other node asks at the configured rate).
   */
  @Test
  void aSiteThatAskedOneNodeToSlowDownGetsTheHalvedRateFromTheOtherNode() throws Exception {
    int port = EmbeddedServices.freePort();
    Path shaping = Files.createTempFile("shaping", ".json");
    Files.writeString(shaping, "{\"sites\": [{\"mx\": \"halved.test\", \"maxConnections\": 4, "
        + "\"maxMessagesPerConnection\": 1000, \"maxMessagesPerSecond\": 10, \"maxConnectionsPerMinute\": 0}]}");
    // a pause of a second, then half the rate
    Path rules = Files.createTempFile("throttle-rules", ".txt");
    Files.writeString(rules, "1  0.5  code=451 /halve me/\n");
    AtomicInteger datas = new AtomicInteger();
    List<Long> arrivals = new CopyOnWriteArrayList<>();
    int messages = 30;
    try (FakeDnsServer dns = FakeDnsServer.start().defaultTtl(60).soa(60, 60)
        .mx("halved.example", 10, "mx.halved.test").a("mx.halved.test", "127.0.0.1");
         RecordingSmtpServer mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), port)
             .onData(rcpt -> {
               if (rcpt.startsWith("two-")) {
                 arrivals.add(System.nanoTime());
               }
               return datas.getAndIncrement() == 0 ? "451 4.7.1 halve me" : "250 2.0.0 Ok: queued";
             })) {
      String pg = TestServices.freshDatabase();
      String prefix = TestServices.uniquePrefix();
      UnaryOperator<MailgateConfig> direct = c -> c
          .with(MailgateConfig.DELIVERY_MODE, "direct")
          .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
          .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
          .with(MailgateConfig.DELIVERY_SHAPING_FILE, shaping.toString())
          .with(MailgateConfig.DELIVERY_THROTTLE_RULES_FILE, rules.toString());
      try (TestNode one = TestNode.start(pg, prefix, "", direct, true);
           TestNode two = TestNode.start(pg, prefix, "", direct, true);
           SesV2Client viaOne = one.sesV2();
           SesV2Client viaTwo = two.sesV2()) {
        viaOne.sendEmail(r -> r.fromEmailAddress("s@example.com")
            .destination(d -> d.toAddresses("first@halved.example"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("one")).body(b -> b.text(t -> t.data("x"))))));
        Await.until(() -> datas.get() >= 1, Duration.ofSeconds(20));
        Thread.sleep(1_500); // the pause is over; the factor is not
        viaTwo.createEmailTemplate(r -> r.templateName("halved").templateContent(c -> c.subject("h").text("x")));
        // all queued before the site takes any (as in SharedSiteRateTest): the span below is the rate's doing
        mx.holdGreeting();
        List<software.amazon.awssdk.services.sesv2.model.BulkEmailEntry> entries = new java.util.ArrayList<>();
        for (int i = 0; i < messages; i++) {
          String to = "two-" + i + "@halved.example";
          entries.add(software.amazon.awssdk.services.sesv2.model.BulkEmailEntry.builder()
              .destination(d -> d.toAddresses(to)).build());
        }
        viaTwo.sendBulkEmail(r -> r.fromEmailAddress("s@example.com")
            .defaultContent(c -> c.template(t -> t.templateName("halved").templateData("{}")))
            .bulkEmailEntries(entries));
        mx.releaseGreeting();
        Await.until(() -> arrivals.size() >= messages, Duration.ofSeconds(60));
        List<Long> times = new java.util.ArrayList<>(arrivals);
        java.util.Collections.sort(times);
        double spanSeconds = (times.get(messages - 1) - times.get(0)) / 1e9;
        // halved: a burst of 5, then 5 a second (a little more as the successes recover the factor): some 4.5 s. At the
        // full rate, as before the state was shared, (30 - 10) / 10 = 2 s; halved twice (node two's factor applied to
        // the rate it asks at, then the shared one) some 7.5 s
        assertTrue(spanSeconds >= 3.3, messages + " messages from node two took only " + spanSeconds
            + " s: node two sent at the full rate to a site that asked node one to slow down");
        assertTrue(spanSeconds <= 6.8, messages + " messages from node two took " + spanSeconds + " s: halved twice?");
        JsonObject site = site(two, "mx.halved.test");
        double factor = site.getDouble("ThrottleFactor");
        assertTrue(factor > 0.5 && factor < 0.8 && site.containsKey("ThrottleSharedAt"), site.encode());
      }
    }
  }

  /** The site of MX host {@code mx} in {@code node}'s sites status. */
  private static JsonObject site(TestNode node, String mx) {
    JsonArray sites = new JsonObject(node.signed("GET", "/_mailgate/delivery/sites", null, Map.of()).body())
        .getJsonArray("Sites");
    for (Object o : sites) {
      if (((JsonObject) o).getString("Site").contains(mx)) {
        return (JsonObject) o;
      }
    }
    throw new AssertionError("no site " + mx + " in " + sites.encode());
  }
}
