package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mailgate.identity.Accounts;
import io.mailgate.testing.LogCapture;
import io.mailgate.testing.TcpProxy;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * The node's database goes away (a restart, a failover: connections reset, new ones refused) and a request needs it,
 * here to look up an access key the node has not cached: the caller is told 503 ServiceUnavailable, which SDKs retry
 * with backoff, as SES answers its own outages, in both API shapes; not 500 InternalFailure, which says Mailgate is
 * broken.
 */
class DatabaseUnavailableAnswerTest {
  @Test
  void aRequestThatFindsTheDatabaseAwayIsServiceUnavailable() throws Exception {
    String direct = TestServices.freshDatabase();
    try (TcpProxy proxy = TcpProxy.toDatabase(direct);
         TestNode node = TestNode.start(proxy.databaseUrl(), TestServices.uniquePrefix(), "smtp://127.0.0.1:9",
             c -> c, true)) {
      Accounts.NewKey key = node.createAccount("unseen", true, 10, 1000);
      proxy.cut();
      try (SesV2Client v2 = node.sesV2(key.accessKeyId(), key.secretAccessKey());
           SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
        AwsServiceException e2 = assertThrows(AwsServiceException.class, () -> v2.getAccount(r -> {}));
        assertEquals(503, e2.statusCode(), e2.toString());
        assertEquals("ServiceUnavailable", e2.awsErrorDetails().errorCode());
        AwsServiceException e1 = assertThrows(AwsServiceException.class, () -> v1.getSendQuota());
        assertEquals(503, e1.statusCode(), e1.toString());
        assertEquals("ServiceUnavailable", e1.awsErrorDetails().errorCode());
      } finally {
        proxy.restore();
      }
    }
  }

  /**
   * Sends under load while the database is away fail alike, each answered 503: the log says so now and then, with a
   * count, not with a SEVERE line and a stack trace for each message (thousands a second under load).
   */
  @Test
  void sendsThatFindTheDatabaseAwayAreLoggedNowAndThenNotEachWithAStackTrace() throws Exception {
    String direct = TestServices.freshDatabase();
    try (TcpProxy proxy = TcpProxy.toDatabase(direct);
         TestNode node = TestNode.start(proxy.databaseUrl(), TestServices.uniquePrefix(), "smtp://127.0.0.1:9",
             c -> c, true);
         SesV2Client ses = node.sesV2()) {
      Runnable send = () -> ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("rcpt@example.org"))
          .content(c -> c.simple(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("x"))))));
      send.run(); // the key, the identity and the limits cached: what follows reaches the message's commit
      java.util.List<java.util.logging.LogRecord> records;
      try (LogCapture log = LogCapture.of(io.mailgate.send.SendService.class)) {
        proxy.cut();
        for (int i = 0; i < 20; i++) {
          AwsServiceException e = assertThrows(AwsServiceException.class, send::run);
          assertEquals(503, e.statusCode(), e.toString());
        }
        records = log.records();
      } finally {
        proxy.restore();
      }
      long severe = records.stream().filter(r -> r.getLevel() == java.util.logging.Level.SEVERE).count();
      assertEquals(0, severe, "SEVERE lines for an outage: " + records.stream().map(r -> r.getMessage()).toList());
      org.junit.jupiter.api.Assertions.assertTrue(records.size() <= 1, "lines: " + records.size());
    }
  }
}
