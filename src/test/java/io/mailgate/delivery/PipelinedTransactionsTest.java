package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * On a connection to a server that offers PIPELINING, the next message's MAIL, RCPT and DATA follow the previous
 * message's final dot in the same write (RFC 2920 3.1), so a message costs one round trip instead of two; without
 * PIPELINING the client waits for each reply. One delivery instance with one connection, so every message shares
 * it; the server holds each end-of-data reply until the client's next command arrives (or 2 s). The last tests are
 * about how such a connection ends: retired after its quota of messages, or closed when idle.
 */
class PipelinedTransactionsTest {
  static final int MESSAGES = 6;

  private static TestNode oneConnection(RecordingSmtpServer server) {
    return TestNode.start(server.url(), c -> c
        .with(MailgateConfig.DELIVERY_INSTANCES, 1)
        .with(MailgateConfig.DELIVERY_MAX_CONNECTIONS, 1));
  }

  /** {@link #oneConnection}, with the retry delay far beyond a test: what goes out again at once is not a retry. */
  private static TestNode oneConnectionWithoutRetries(RecordingSmtpServer server) {
    return TestNode.start(server.url(), c -> c
        .with(MailgateConfig.DELIVERY_INSTANCES, 1)
        .with(MailgateConfig.DELIVERY_MAX_CONNECTIONS, 1)
        .with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 600));
  }

  private static void send(SesV2Client ses, String to) {
    ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("pipelined")).body(b -> b.text(t -> t.data("body"))))));
  }

  @Test
  void theNextMessageFollowsTheFinalDotWithoutWaitingForItsReply() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().holdDataReply(Duration.ofSeconds(2)).holdGreeting();
         TestNode node = oneConnection(server);
         SesV2Client ses = node.sesV2()) {
      // every message waits for the one connection, which is not greeted until all are accepted: then each but the
      // last has the next one behind it, however slowly this machine runs (a client that waits for each reply
      // gets none of them pipelined, and takes 2 s a message)
      for (int i = 0; i < MESSAGES; i++) {
        send(ses, "r" + i + "@example.org");
      }
      server.releaseGreeting();
      Await.until(() -> server.received().size() >= MESSAGES, Duration.ofSeconds(30));
      assertEquals(1, server.connections());
      assertEquals(MESSAGES - 1, server.pipelinedAfterData(),
          "messages followed by the next one before their reply, of " + MESSAGES);
    }
  }

  @Test
  void withoutPipeliningTheClientWaitsForEachReply() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().withoutPipelining()
        .holdDataReply(Duration.ofMillis(300));
         TestNode node = oneConnection(server);
         SesV2Client ses = node.sesV2()) {
      for (int i = 0; i < 3; i++) {
        send(ses, "r" + i + "@example.org");
      }
      Await.until(() -> server.received().size() >= 3, Duration.ofSeconds(30));
      assertEquals(0, server.pipelinedAfterData(), "a command came before the reply to a final dot");
    }
  }

  /**
   * The connection drops after the first message's final dot while the next message, pipelined behind it, has no
   * answer yet: the server decided nothing about that one, so it goes out at once on a new connection instead of
   * waiting for a retry (the retry delay is set far beyond the test). The first, which may or may not have been
   * taken, waits for its retry.
   */
  @Test
  void aMessagePipelinedBehindALostConnectionGoesOutOnTheNextOne() throws Exception {
    AtomicInteger datas = new AtomicInteger();
    try (RecordingSmtpServer server = new RecordingSmtpServer().holdDataReply(Duration.ofSeconds(2))
        .onData(rcpt -> datas.incrementAndGet() == 1 ? null : "250 2.0.0 Ok");
         TestNode node = oneConnectionWithoutRetries(server);
         SesV2Client ses = node.sesV2()) {
      send(ses, "first@example.org");
      send(ses, "second@example.org");
      Await.until(() -> server.received().size() >= 1, Duration.ofSeconds(20));
      Set<String> delivered = server.received().stream().flatMap(r -> r.rcptTo().stream()).collect(Collectors.toSet());
      assertEquals(Set.of("second@example.org"), delivered);
      assertEquals(1, server.pipelinedAfterData(), "the second message was not pipelined behind the first");
      assertEquals(2, server.connections());
    }
  }

  /**
   * A server whose idle timeout meets our MAIL on a reused connection answers it 421 and closes: nothing about the
   * recipient, nor about the site's rate. The message goes out at once on a new connection, with no DeliveryDelay
   * (the retry delay is set far beyond the test).
   */
  @Test
  void a421ToMailOnAReusedConnectionIsTriedAgainAtOnce() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().timeoutAtTheSecondMail();
         TestNode node = oneConnectionWithoutRetries(server);
         SesV2Client ses = node.sesV2()) {
      send(ses, "first@example.org");
      Await.until(() -> server.received().size() >= 1, Duration.ofSeconds(20));
      Thread.sleep(1_500); // the connection sits idle
      String second = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("second@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("after idle")).body(b -> b.text(t -> t.data("x"))))))
          .messageId();
      Await.until(() -> server.received().size() >= 2, Duration.ofSeconds(20));
      assertEquals(2, server.connections());
      io.vertx.core.json.JsonObject status = node.awaitOutcomes(second, 1);
      assertTrue(status.getJsonArray("Events").stream().noneMatch(e -> ((io.vertx.core.json.JsonObject) e)
          .getString("eventType").equals("DeliveryDelay")), status.encode());
    }
  }

  /**
   * A server that answers DATA with 354 after refusing the only recipient waits for content: the client ends it with
   * an empty message before its RSET, so the refusal is recorded and the next message goes out on the same connection
   * at once. An RSET sent straight away would be read as content, and the connection would hang until the command
   * timeout (five minutes).
   */
  @Test
  void aServerThatTakesDataForNoRecipientGetsAnEmptyMessage() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().dataWithoutRecipients()
        .onRcpt(rcpt -> rcpt.startsWith("nobody") ? "550 5.1.1 No such user" : "250 2.1.5 Ok");
         TestNode node = oneConnection(server);
         SesV2Client ses = node.sesV2()) {
      send(ses, "nobody@example.org");
      send(ses, "somebody@example.org");
      Await.until(() -> server.received().size() >= 1, Duration.ofSeconds(20));
      assertEquals(List.of("somebody@example.org"), server.received().get(0).rcptTo());
      assertEquals(1, server.connections());
      List<String> commands = server.commands();
      int refused = commands.indexOf("RCPT TO:<nobody@example.org>");
      assertTrue(refused >= 0, commands.toString());
      assertEquals(List.of("DATA", "RSET"), commands.subList(refused + 1, refused + 3), commands.toString());
    }
  }

  /**
   * A connection that has carried its quota of messages is replaced, but its last message, pipelined, still waits for
   * its reply: the replacement opens only once the old connection is gone, so the server never sees more connections
   * than the limit.
   */
  @Test
  void aRetiredConnectionCountsUntilItIsGone() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().dataDelay(Duration.ofMillis(150));
         TestNode node = TestNode.start(server.url(), c -> c
             .with(MailgateConfig.DELIVERY_INSTANCES, 1)
             .with(MailgateConfig.DELIVERY_MAX_CONNECTIONS, 2)
             .with(MailgateConfig.DELIVERY_MAX_MESSAGES_PER_CONNECTION, 2));
         SesV2Client ses = node.sesV2()) {
      int messages = 12;
      for (int i = 0; i < messages; i++) {
        send(ses, "r" + i + "@example.org");
      }
      Await.until(() -> server.received().size() >= messages, Duration.ofSeconds(30));
      assertTrue(server.connections() >= messages / 2, server.connections() + " connections");
      assertEquals(2, server.maxConcurrentConnections());
    }
  }

  /** A connection left unused for the idle timeout is closed with QUIT, and the next message opens a new one. */
  @Test
  void anIdleConnectionIsClosedAndReplaced() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer();
         TestNode node = TestNode.start(server.url(), c -> c
             .with(MailgateConfig.DELIVERY_INSTANCES, 1)
             .with(MailgateConfig.DELIVERY_IDLE_TIMEOUT_SECONDS, 1));
         SesV2Client ses = node.sesV2()) {
      send(ses, "first@example.org");
      Await.until(() -> server.commands().contains("QUIT"), Duration.ofSeconds(10));
      assertEquals(1, server.received().size());
      send(ses, "second@example.org");
      Await.until(() -> server.received().size() >= 2, Duration.ofSeconds(10));
      assertEquals(2, server.connections());
    }
  }
}
