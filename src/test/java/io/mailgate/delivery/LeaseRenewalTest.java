package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
    String pg = node.config().get(MailgateConfig.PG_URL);
    String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("slow@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Slow server")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    // the lease as the attempt goes on: it must never lapse, and must move (a 2 s lease over a 5 s attempt)
    String lease = "SELECT extract(epoch FROM lease_until) || ' ' || (lease_until > now()) FROM recipients "
        + "WHERE message_id = '" + id + "' AND state = 'queued'";
    List<String> leases = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    for (String l; (l = Db.string(pg, lease)) != null; Thread.sleep(200)) {
      leases.add(l);
      assertTrue(System.nanoTime() < deadline, "not delivered: " + leases);
    }
    assertEquals("DELIVERED", node.message(id).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    assertTrue(leases.stream().allMatch(l -> l.endsWith(" true")), "the lease lapsed during the attempt: " + leases);
    assertTrue(until(leases.get(leases.size() - 1)) - until(leases.get(0)) >= 2.0,
        "the lease was not renewed during the attempt: " + leases);

    // without renewal a scan takes the recipient over two or three seconds in: its RCPT reaches the server then (on a
    // connection of its own) or right after the first reply (pipelined behind the first message's final dot)
    Thread.sleep(1_000);
    assertEquals(1, relay.commands().stream().filter(c -> c.startsWith("RCPT TO:<slow@example.org>")).count(),
        relay.commands().toString());
    assertEquals(1, Db.count(pg, "SELECT attempts FROM recipients WHERE message_id = '" + id + "'"));
  }

  /** A sample's lease_until, in seconds since the epoch. */
  private static double until(String sample) {
    return Double.parseDouble(sample.substring(0, sample.indexOf(' ')));
  }
}
