package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * An attempt that outlasts its lease, as a slow server makes it: the node renews the lease while the attempt goes on,
 * so its own queue scan (every second here) does not take the recipient over and send it a second time.
 */
class LeaseRenewalTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer().dataDelay(Duration.ofSeconds(5)); // the end of DATA answered after 5 s
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_LEASE_SECONDS, 2));
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  @Test
  void aSlowAttemptKeepsItsLeaseAndIsSentOnce() throws Exception {
    String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("slow@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Slow server")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    assertEquals("DELIVERED", node.awaitOutcomes(id, 1).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    // without renewal a scan takes the recipient over two or three seconds in, and that second copy reaches the
    // server five seconds later
    Thread.sleep(4_000);
    assertEquals(1, relay.received().stream().filter(m -> m.rcptTo().contains("slow@example.org")).count());
  }
}
