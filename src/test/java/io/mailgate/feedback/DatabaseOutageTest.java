package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TcpProxy;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * The node's database goes away (a failover: connections reset, new ones refused) while a message is being delivered,
 * for longer than a few quick retries would cover, and comes back well within the recipient's lease: the delivery's
 * outcome is written once it is back, and the message is not delivered a second time.
 */
class DatabaseOutageTest {
  @Test
  void anOutcomeThatCannotBeWrittenDuringAnOutageIsWrittenWhenTheDatabaseIsBack() throws Exception {
    String direct = TestServices.freshDatabase();
    try (TcpProxy proxy = TcpProxy.toDatabase(direct);
         RecordingSmtpServer relay = new RecordingSmtpServer().dataDelay(Duration.ofSeconds(3))) {
      try (TestNode node = TestNode.start(proxy.databaseUrl(), TestServices.uniquePrefix(), relay.url(),
          c -> c.with(MailgateConfig.DELIVERY_LEASE_SECONDS, 120), true);
           SesV2Client ses = node.sesV2()) {
        String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
            .destination(d -> d.toAddresses("rcpt@example.org"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("outage")).body(b -> b.text(t -> t.data("x"))))))
            .messageId();
        Await.until(() -> relay.commands().stream().anyMatch(c -> c.startsWith("DATA")), Duration.ofSeconds(10));
        proxy.cut(); // the relay answers the message in 3 s: its outcome finds no database
        Thread.sleep(20_000);
        proxy.restore();
        Await.until(() -> "delivered".equals(Db.string(direct,
            "SELECT state FROM recipients WHERE message_id = '" + id + "'")), Duration.ofSeconds(30));
        assertEquals(1, relay.received().size());
      }
    }
  }
}
