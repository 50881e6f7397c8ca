package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * A message that cannot be prepared (its recipients' suppression lists unreadable) goes back to the queue for a while,
 * not to the next scan: otherwise it would go round claim, fail, release once a second for as long as the fault lasts.
 * Once the fault is gone it is delivered.
 */
class PreparationFailureTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static String pg;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_SCAN_INTERVAL_SECONDS, 1));
    ses = node.sesV2();
    pg = node.config().get(MailgateConfig.PG_URL);
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  @Test
  void anUnpreparableMessageWaitsAndIsDeliveredOnceItCanBe() throws Exception {
    Db.execute(pg, "ALTER TABLE suppressed_destinations RENAME TO suppressed_destinations_away");
    String id;
    try {
      id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("later@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("Later")).body(b -> b.text(t -> t.data("x"))))))
          .messageId();
      // given back for later, not for the next scan
      String later = "SELECT count(*) FROM recipients WHERE message_id = '" + id + "' AND state = 'queued'"
          + " AND lease_owner IS NULL AND next_attempt_at > now() + interval '"
          + (DeliveryVerticle.PREPARE_RETRY_SECONDS - 10) + " seconds'";
      Await.until(() -> Db.count(pg, later) == 1, Duration.ofSeconds(20));
    } finally {
      Db.execute(pg, "ALTER TABLE suppressed_destinations_away RENAME TO suppressed_destinations");
    }
    assertTrue(relay.received().isEmpty(), "nothing is sent without its suppression check");

    Db.execute(pg, "UPDATE recipients SET next_attempt_at = now() WHERE message_id = '" + id + "'");
    assertEquals("DELIVERED", node.awaitOutcomes(id, 1).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
  }
}
