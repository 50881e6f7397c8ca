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

/**
 * {@code /_mailgate/ready}: 200 only while PostgreSQL and Redis answer and Redis holds the 24-hour send counts;
 * {@code /_mailgate/health} stays UP.
 */
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
   * Anyone may ask, and each check is a statement and a Redis call (EXISTS of the send counts' marker) on the pools the
   * sends use: requests at once, and within a second, share one check. Counted by Redis itself (INFO commandstats), the
   * calls 40 requests cost.
   */
  @Test
  void requestsAtOnceShareOneCheck() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer(); TestNode node = TestNode.start(relay.url())) {
      int configured = node.config().get(MailgateConfig.HTTP_INSTANCES);
      int instances = configured > 0 ? configured : Runtime.getRuntime().availableProcessors();
      HttpClient client = HttpClient.newHttpClient();
      assertEquals(200, get(node, "/_mailgate/ready").statusCode(), "connections made, classes loaded");
      Thread.sleep(1_100); // that answer no longer fresh: the burst begins a check of its own
      long before = existsCalls();
      java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> answers = new java.util.ArrayList<>();
      for (int i = 0; i < 40; i++) {
        answers.add(client.sendAsync(HttpRequest.newBuilder(node.endpoint().resolve("/_mailgate/ready")).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      for (java.util.concurrent.CompletableFuture<HttpResponse<String>> a : answers) {
        HttpResponse<String> r = a.get();
        assertEquals(200, r.statusCode(), r.body());
      }
      long sent = existsCalls() - before;
      // one check per HTTP verticle instance, two if the burst outlasted the first check's second
      org.junit.jupiter.api.Assertions.assertTrue(sent >= 1 && sent <= 2L * instances,
          sent + " EXISTS for 40 requests over " + instances + " instances");
    }
  }

  /**
   * A Redis that lost the 24-hour send counts (restarted empty): not ready, saying why, while they are counted again
   * (every node refuses the sends of limited accounts meanwhile); and the readiness check itself has them counted, so a
   * node the load balancer took out, which gets no send to notice the loss, is ready again.
   */
  @Test
  void notReadyWhileTheSendCountsAreCountedAgainThenReadyWithoutASend() throws Exception {
    // one HTTP verticle: one readiness check, whose answer the polls below all see
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.HTTP_INSTANCES, 1))) {
      // the node's other limiters may still be counting the empty day its start found
      HttpResponse<String> ready = Await.until(() -> {
        try {
          return get(node, "/_mailgate/ready");
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }, r -> r.statusCode() == 200, Duration.ofSeconds(20));
      assertEquals("HELD", new JsonObject(ready.body()).getString("sendCounts"));
      redis("DEL", node.config().get(MailgateConfig.REDIS_KEY_PREFIX) + "quota-counts");
      HttpResponse<String> counting = Await.until(() -> {
        try {
          return get(node, "/_mailgate/ready");
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }, r -> r.statusCode() == 503, Duration.ofSeconds(10));
      JsonObject body = new JsonObject(counting.body());
      assertEquals("NOT_READY", body.getString("status"));
      assertEquals("UP", body.getString("redis"), "Redis answers: its PING alone would say ready");
      assertEquals("UP", body.getString("postgres"));
      assertEquals("COUNTING", body.getString("sendCounts"));
      org.junit.jupiter.api.Assertions.assertTrue(body.getString("reason").contains("being counted again"),
          counting.body());
      Await.until(() -> {
        try {
          return get(node, "/_mailgate/ready").statusCode();
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }, status -> status == 200, Duration.ofSeconds(20));
      assertEquals("1", redis("EXISTS", node.config().get(MailgateConfig.REDIS_KEY_PREFIX) + "quota-counts").strip(),
          "counted again, no send asked");
    }
  }

  /** Sends one command to the test Redis; its raw answer. */
  static String redis(String... command) throws Exception {
    java.net.URI redis = java.net.URI.create(TestServices.redisUrl());
    try (java.net.Socket s = new java.net.Socket(redis.getHost(), redis.getPort())) {
      StringBuilder b = new StringBuilder("*" + command.length + "\r\n");
      for (String part : command) {
        b.append('$').append(part.getBytes(java.nio.charset.StandardCharsets.UTF_8).length).append("\r\n")
            .append(part).append("\r\n");
      }
      b.append("*1\r\n$4\r\nQUIT\r\n");
      s.getOutputStream().write(b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      // the command's answer, then QUIT's +OK
      return answer.substring(answer.startsWith(":") ? 1 : 0, answer.lastIndexOf("+OK"));
    }
  }

  /** EXISTS calls Redis has answered since it started ({@code cmdstat_exists} of INFO commandstats). */
  static long existsCalls() throws Exception {
    java.net.URI redis = java.net.URI.create(TestServices.redisUrl());
    try (java.net.Socket s = new java.net.Socket(redis.getHost(), redis.getPort())) {
      s.getOutputStream().write("INFO commandstats\r\nQUIT\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String info = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("cmdstat_exists:calls=(\\d+)").matcher(info);
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
