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
      // an answer serves for a second: the cut shows in the first check after it
      HttpResponse<String> down = Await.until(() -> {
        try {
          return get(node, "/_mailgate/ready");
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }, r -> r.statusCode() == 503, Duration.ofSeconds(10));
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

  /**
   * Anyone may ask, and each check is a statement and a PING on the pools the sends use: requests at once, and within
   * a second, share one check. Counted by Redis itself (INFO commandstats), the PINGs 40 requests cost.
   */
  @Test
  void requestsAtOnceShareOneCheck() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer(); TestNode node = TestNode.start(relay.url())) {
      int configured = node.config().get(MailgateConfig.HTTP_INSTANCES);
      int instances = configured > 0 ? configured : Runtime.getRuntime().availableProcessors();
      HttpClient client = HttpClient.newHttpClient();
      assertEquals(200, get(node, "/_mailgate/ready").statusCode(), "connections made, classes loaded");
      Thread.sleep(1_100); // that answer no longer fresh: the burst begins a check of its own
      long before = pings();
      java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> answers = new java.util.ArrayList<>();
      for (int i = 0; i < 40; i++) {
        answers.add(client.sendAsync(HttpRequest.newBuilder(node.endpoint().resolve("/_mailgate/ready")).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      for (java.util.concurrent.CompletableFuture<HttpResponse<String>> a : answers) {
        HttpResponse<String> r = a.get();
        assertEquals(200, r.statusCode(), r.body());
      }
      long sent = pings() - before;
      // one check per HTTP verticle instance, two if the burst outlasted the first check's second
      org.junit.jupiter.api.Assertions.assertTrue(sent >= 1 && sent <= 2L * instances,
          sent + " PINGs for 40 requests over " + instances + " instances");
    }
  }

  /** PING calls Redis has answered since it started ({@code cmdstat_ping} of INFO commandstats). */
  static long pings() throws Exception {
    java.net.URI redis = java.net.URI.create(TestServices.redisUrl());
    try (java.net.Socket s = new java.net.Socket(redis.getHost(), redis.getPort())) {
      s.getOutputStream().write("INFO commandstats\r\nQUIT\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String info = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("cmdstat_ping:calls=(\\d+)").matcher(info);
      return m.find() ? Long.parseLong(m.group(1)) : 0;
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
