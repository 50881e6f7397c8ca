package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.ByteBudget;
import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.RawSends;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * delivery.maxContentKb: the node's delivery instances hold no more message content than that at once. Messages
 * beyond it wait in the queue and the scan reads them when there is room, a few at a time; none is lost. With a budget
 * of one 600 KB message, four of them go one after the other: the next one is never written behind the last one's
 * final dot while its reply is held (it would be, were they all in memory).
 */
class DeliveryContentBudgetTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer().holdDataReply(Duration.ofMillis(400));
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_MAX_CONTENT_KB, 1024));
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static byte[] message(String marker) {
    StringBuilder m = new StringBuilder("From: sender@example.com\r\nTo: budget@example.org\r\nSubject: " + marker
        + "\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <" + marker + "@example.com>\r\n\r\n");
    while (m.length() < 600 * 1024) {
      m.append("a line of a large message, ").append(m.length()).append("\r\n");
    }
    return m.toString().getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void largeMessagesBeyondTheBudgetWaitInTheQueueAndAllGo() {
    List<String> ids = new ArrayList<>();
    List<byte[]> sent = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      byte[] raw = message("budget-" + i);
      sent.add(raw);
      ids.add(ses.sendEmail(r -> r.content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(raw))))).messageId());
    }
    for (String id : ids) {
      JsonObject status = Await.until(() -> node.message(id), m -> m.getJsonArray("Recipients").stream()
          .noneMatch(r -> ((JsonObject) r).getString("Status").equals("QUEUED")), Duration.ofSeconds(60));
      assertEquals("DELIVERED", status.getJsonArray("Recipients").getJsonObject(0).getString("Status"),
          status.encode());
    }
    assertEquals(4, relay.received().size());
    for (int i = 0; i < sent.size(); i++) {
      byte[] raw = sent.get(i);
      String id = ids.get(i);
      // byte for byte but for the Message-ID and Date, which SES sets
      assertTrue(relay.received().stream().anyMatch(r -> Arrays.equals(RawSends.asSent(raw, id, r.data()), r.data())),
          "a message changed");
    }
    assertEquals(0, relay.pipelinedAfterData(), "a message was read while the budget was spent");
    ByteBudget contents = (ByteBudget) node.vertx().sharedData().getLocalMap("mailgate.delivery").get("contents");
    Await.until(contents::held, held -> held == 0, Duration.ofSeconds(5)); // all given back once all are done
  }
}
