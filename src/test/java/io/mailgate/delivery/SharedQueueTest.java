package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/** Two nodes on one database: every retry goes through the shared queue, none is delivered twice. */
class SharedQueueTest {

  @Test
  void twoNodesNeverDeliverTheSameRecipientTwice() throws Exception {
    Map<String, AtomicInteger> tries = new ConcurrentHashMap<>();
    try (RecordingSmtpServer relay = new RecordingSmtpServer()
        .onRcpt(r -> tries.computeIfAbsent(r, k -> new AtomicInteger()).incrementAndGet() == 1
            ? "451 4.3.0 Temporary local problem" : "250 2.1.5 Ok")) {
      String pg = TestServices.freshDatabase();
      String prefix = TestServices.uniquePrefix();
      UnaryOperator<MailgateConfig> fast = c -> c.with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 1)
          .with(MailgateConfig.DELIVERY_RETRY_MAX_SECONDS, 1);
      try (TestNode one = TestNode.start(pg, prefix, relay.url(), fast, true);
           TestNode two = TestNode.start(pg, prefix, relay.url(), fast, true);
           SesV2Client viaOne = one.sesV2();
           SesV2Client viaTwo = two.sesV2()) {
        int n = 60;
        for (int i = 0; i < n; i++) {
          SesV2Client ses = i % 2 == 0 ? viaOne : viaTwo;
          String to = "r" + i + "@example.org";
          ses.sendEmail(r -> r.fromEmailAddress("s@example.com").destination(d -> d.toAddresses(to))
              .content(c -> c.simple(m -> m.subject(s -> s.data("shared")).body(b -> b.text(t -> t.data("x"))))));
        }
        Await.until(() -> relay.received().size() >= n, Duration.ofSeconds(60));
        Await.until(() -> Db.count(pg, "SELECT count(*) FROM recipients WHERE state = 'delivered'") == n,
            Duration.ofSeconds(20));
        Thread.sleep(2000); // a duplicate, if any, would arrive now
        List<RecordingSmtpServer.Received> received = relay.received();
        Set<String> recipients = new HashSet<>();
        received.forEach(r -> recipients.add(r.rcptTo().get(0)));
        assertEquals(n, received.size(), "each recipient delivered exactly once");
        assertEquals(n, recipients.size());
        assertEquals(n, Db.count(pg, "SELECT count(*) FROM recipients WHERE attempts = 2"));
        assertEquals(n, Db.count(pg, "SELECT count(*) FROM recipients WHERE delivered_at IS NOT NULL "
            + "AND reporting_mta IS NOT NULL AND remote_mta IS NOT NULL"));
        assertEquals(n, Db.count(pg, "SELECT count(*) FROM events WHERE type = 'DeliveryDelay'"));
      }
    }
  }
}
