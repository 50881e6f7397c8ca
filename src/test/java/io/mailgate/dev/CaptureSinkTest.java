package io.mailgate.dev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.EventBusAddresses;
import io.mailgate.testing.SmtpClient;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** start-dev's capture sink keeps the newest messages within a count and a size, oldest dropped first. */
class CaptureSinkTest {
  private Vertx vertx;
  private CaptureSink sink;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    sink = CaptureSink.start(vertx, 100, 10_000).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    sink.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void theSizeOfWhatIsKeptIsBoundedNotOnlyTheCount() throws Exception {
    for (int i = 1; i <= 5; i++) {
      send("message " + i, 3_000);
    }
    JsonArray kept = list(false);
    assertEquals(3, kept.size(), "three of 3 KB fit in 10 KB, four would not");
    assertEquals("message 5", kept.getJsonObject(0).getString("Subject"), "newest first");
    assertEquals("message 3", kept.getJsonObject(2).getString("Subject"));
    assertTrue(sink.bytes() <= 10_000, "held " + sink.bytes());

    send("a large one", 20_000);
    kept = list(false);
    assertEquals(1, kept.size(), "the newest is kept whatever its size");
    assertEquals("a large one", kept.getJsonObject(0).getString("Subject"));

    list(true);
    assertEquals(0, sink.bytes(), "cleared, and its bytes given back");
    send("after", 100);
    assertEquals(1, list(false).size());
  }

  private void send(String subject, int size) throws Exception {
    String head = "From: a@example.com\r\nTo: b@example.org\r\nSubject: " + subject + "\r\n\r\n";
    StringBuilder body = new StringBuilder(head);
    while (body.length() < size) {
      body.append("x".repeat(70)).append("\r\n");
    }
    List<String> replies = SmtpClient.send(sink.port(), "a@example.com", List.of("b@example.org"), body.toString());
    assertTrue(replies.get(replies.size() - 1).startsWith("250") || replies.stream().anyMatch(r -> r.contains("capture-")),
        replies.toString());
  }

  private JsonArray list(boolean clear) throws Exception {
    return vertx.eventBus().<JsonArray>request(EventBusAddresses.DEV_CAPTURED, new JsonObject().put("clear", clear))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body();
  }
}
