package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TcpProxy;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code /_mailgate/ready}: 200 only while PostgreSQL and Redis answer; {@code /_mailgate/health} stays UP. */
class ReadinessTest {
  static HttpResponse<String> get(TestNode node, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(node.endpoint().resolve(path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readyWhileTheDatabaseAndRedisAnswer() throws Exception {
    try (TcpProxy proxy = TcpProxy.toDatabase(TestServices.freshDatabase());
         RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(proxy.databaseUrl(), TestServices.uniquePrefix(), relay.url(), c -> c, true)) {
      HttpResponse<String> ready = get(node, "/_mailgate/ready");
      assertEquals(200, ready.statusCode(), ready.body());
      assertEquals("READY", new JsonObject(ready.body()).getString("status"));
      proxy.cut();
      HttpResponse<String> down = get(node, "/_mailgate/ready");
      assertEquals(503, down.statusCode(), down.body());
      assertEquals("DOWN", new JsonObject(down.body()).getString("postgres"));
      assertEquals("UP", new JsonObject(down.body()).getString("redis"));
      assertEquals(200, get(node, "/_mailgate/health").statusCode(), "the process is up all the same");
      proxy.restore();
      // the pool reconnects to the restored database at its own pace: ready again once it has
      Await.until(() -> {
        try {
          return get(node, "/_mailgate/ready").statusCode();
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }, status -> status == 200, Duration.ofSeconds(20));
    }
  }

  @Test
  void notReadyWithoutRedis() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.REDIS_URL,
             "redis://127.0.0.1:" + EmbeddedServices.freePort()))) {
      HttpResponse<String> down = get(node, "/_mailgate/ready");
      assertEquals(503, down.statusCode(), down.body());
      assertEquals("DOWN", new JsonObject(down.body()).getString("redis"));
      assertEquals("UP", new JsonObject(down.body()).getString("postgres"));
    }
  }
}
