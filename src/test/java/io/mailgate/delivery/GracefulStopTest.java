package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * A node that stops while a message's content is written and its reply not yet in waits for the reply: cutting the
 * connection would leave the recipient queued, and the message would be sent a second time from the queue.
 */
class GracefulStopTest {

  @Test
  void aTransactionUnderWayFinishesBeforeTheNodeStops() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer().withoutPipelining().dataDelay(Duration.ofSeconds(7))) {
      TestNode node = TestNode.start(relay.url());
      String pg = node.config().get(MailgateConfig.PG_URL);
      String id;
      try (SesV2Client ses = node.sesV2()) {
        id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses("a@dest.example"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t")))))).messageId();
      }
      Await.until(() -> relay.commands().contains("DATA"), Duration.ofSeconds(10));
      // the content follows the 354 at once; the server now sits on its reply for 7 s. Without PIPELINING the
      // connection is busy, not idle, until that reply: only waiting for the attempt keeps it (with PIPELINING the
      // connection is back in the pool after the content, and its QUIT queues behind the reply anyway)
      Thread.sleep(300);
      node.close();
      assertEquals(1, relay.received().size());
      assertEquals("delivered", Db.string(pg, "SELECT state FROM recipients WHERE message_id = '" + id + "'"),
          "recorded as delivered, not left in the queue to be sent again");
    }
  }
}
