package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/** {@code GET /_mailgate/metrics}: Prometheus text whose counters follow what the node does. */
class MetricsTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static HttpClient http = HttpClient.newHttpClient();
  static String pg;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer().onRcpt(r -> r.startsWith("gone") ? "550 5.1.1 No such user" : "250 2.1.5 Ok");
    pg = io.mailgate.testing.TestServices.freshDatabase();
    node = TestNode.start(pg, io.mailgate.testing.TestServices.uniquePrefix(), relay.url(),
        c -> c.with(io.mailgate.config.MailgateConfig.METRICS_TOKEN, "s3cret"), true);
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  /** Every sample line, by its name and labels as written. */
  static HttpResponse<String> get(String authorization) {
    try {
      HttpRequest.Builder b = HttpRequest.newBuilder(node.endpoint().resolve("/_mailgate/metrics"));
      if (authorization != null) {
        b.header("Authorization", authorization);
      }
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, Double> scrape() {
    {
      HttpResponse<String> r = get("Bearer s3cret");
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
      Map<String, Double> samples = new HashMap<>();
      for (String line : r.body().split("\n")) {
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        int space = line.lastIndexOf(' ');
        samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
      return samples;
    }
  }

  /**
   * A backlog past {@link io.mailgate.metrics.Metrics#QUEUE_COUNT_CAP} shows as the cap: the count, every 5 s on every
   * node, reads no more of the queue than that.
   */
  @Test
  void aBacklogIsCountedUpToTheCap() {
    int cap = io.mailgate.metrics.Metrics.QUEUE_COUNT_CAP;
    // five messages of 20,001 recipients (idx is a smallint): more than the cap, none due
    io.mailgate.testing.Db.execute(pg, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, "
        + "created_at) SELECT 'backlog' || m, a.id, 's@example.com', 's@example.com', 'x', 1, now() "
        + "FROM (SELECT id FROM accounts LIMIT 1) a, generate_series(1, 5) m");
    io.mailgate.testing.Db.execute(pg, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, "
        + "updated_at) SELECT 'backlog' || m, g, 'r' || g || '@dest.example', 'queued', now() + interval '1 day', "
        + "now() FROM generate_series(1, 5) m, generate_series(0, " + (cap / 5) + ") g");
    try {
      Map<String, Double> m = Await.until(MetricsTest::scrape,
          s -> s.getOrDefault("mailgate_queue_recipients", 0.0) >= cap, Duration.ofSeconds(20));
      assertEquals(cap, m.get("mailgate_queue_recipients"));
    } finally {
      io.mailgate.testing.Db.execute(pg, "DELETE FROM recipients WHERE message_id LIKE 'backlog_'");
      io.mailgate.testing.Db.execute(pg, "DELETE FROM messages WHERE id LIKE 'backlog_'");
    }
  }

  /** Events waiting for their webhook are counted, all nodes, as the queue is. */
  @Test
  void eventsWaitingToBePostedAreCounted() {
    io.mailgate.testing.Db.execute(pg, "INSERT INTO event_outbox (destination_id, message_id, type, detail, "
        + "created_at, next_attempt_at) SELECT 424242, 'waiting' || g, 'Send', '{}', now(), now() + interval '1 day' "
        + "FROM generate_series(1, 7) g");
    try {
      Map<String, Double> m = Await.until(MetricsTest::scrape,
          s -> s.getOrDefault("mailgate_event_outbox_pending", 0.0) >= 7, Duration.ofSeconds(20));
      assertEquals(7, m.get("mailgate_event_outbox_pending"));
      assertEquals(0, m.get("mailgate_receipt_outbox_pending"));
    } finally {
      io.mailgate.testing.Db.execute(pg, "DELETE FROM event_outbox WHERE destination_id = 424242");
    }
  }

  /**
   * A scraped node counts its backlogs every 5 s between scrapes, not only at a scrape: the next scrape, however long
   * after, reads counts at most 5 s old (a count at each scrape only answers the one before: a minute old at
   * Prometheus's default interval, and a minute of the queue's work read at once).
   */
  @Test
  void aScrapedNodeCountsBetweenScrapes() throws InterruptedException {
    Await.until(MetricsTest::scrape, s -> s.containsKey("mailgate_event_outbox_pending"), Duration.ofSeconds(20));
    Thread.sleep(1_000); // whatever count that scrape started is done: it does not see the rows below
    io.mailgate.testing.Db.execute(pg, "INSERT INTO event_outbox (destination_id, message_id, type, detail, "
        + "created_at, next_attempt_at) SELECT 535353, 'between' || g, 'Send', '{}', now(), now() + interval '1 day' "
        + "FROM generate_series(1, 3) g");
    try {
      Thread.sleep(2 * io.mailgate.metrics.Metrics.BACKLOG_COUNT_MILLIS + 1_000);
      assertEquals(3, scrape().get("mailgate_event_outbox_pending"));
    } finally {
      io.mailgate.testing.Db.execute(pg, "DELETE FROM event_outbox WHERE destination_id = 535353");
    }
  }

  @Test
  void countersFollowSendsRefusalsAndOutcomes() {
    // the queue is counted in the background: a later scrape has it
    Map<String, Double> before = Await.until(MetricsTest::scrape, m -> m.containsKey("mailgate_queue_recipients"),
        Duration.ofSeconds(15));
    assertTrue(before.containsKey("mailgate_jvm_heap_used_bytes"));

    for (String to : new String[] {"m1@dest.example", "gone-m2@dest.example"}) {
      ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses(to))
          .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t"))))));
    }
    assertThrows(NotFoundException.class, () -> ses.getEmailTemplate(r -> r.templateName("no-such-template")));
    Map<String, Double> after = Await.until(MetricsTest::scrape,
        m -> delta(before, m, "mailgate_delivery_outcomes_total{outcome=\"delivered\"}") >= 1
            && delta(before, m, "mailgate_delivery_outcomes_total{outcome=\"bounced\"}") >= 1, Duration.ofSeconds(20));
    assertEquals(2, delta(before, after, "mailgate_messages_accepted_total"));
    assertEquals(2, delta(before, after, "mailgate_recipients_accepted_total"));
    assertEquals(1, delta(before, after, "mailgate_requests_refused_total{api=\"v2\",code=\"NotFoundException\"}"));
    assertEquals(0, delta(before, after, "mailgate_delivery_outcomes_total{outcome=\"deferred\"}"));
    // each HTTP event loop is probed every 10 ms, and every request is timed: the sends, the refused read, scrapes
    assertTrue(delta(before, after, "mailgate_event_loop_delay_seconds_count") > 0, after.toString());
    assertTrue(delta(before, after, "mailgate_http_request_seconds_count") >= 3, after.toString());
    // each accepted send is in the send-time histogram and both of its waits' histograms, in one bucket of each
    for (String h : new String[] {"mailgate_send_seconds", "mailgate_send_wait_seconds{on=\"limits\"}",
        "mailgate_send_wait_seconds{on=\"commit\"}"}) {
      assertEquals(2, delta(before, after, h.replace("_seconds", "_seconds_count")), h);
      String inf = h.contains("{") ? h.replace("}", ",le=\"+Inf\"}") : h + "{le=\"+Inf\"}";
      assertEquals(2, delta(before, after, inf.replace("_seconds", "_seconds_bucket")), h);
      assertTrue(delta(before, after, h.replace("_seconds", "_seconds_sum")) > 0, h);
    }
  }

  static double delta(Map<String, Double> before, Map<String, Double> after, String sample) {
    return after.getOrDefault(sample, 0.0) - before.getOrDefault(sample, 0.0);
  }

  /**
   * A client that asks to upgrade to cleartext HTTP/2 (the JDK's HttpClient does by default) is answered in HTTP/1.1:
   * Vert.x's h2c upgrade garbles or stalls some responses (one of 65,535 bytes arrives as a protocol error; the
   * metrics of a node with TLS listeners never came).
   */
  @Test
  void anH2cUpgradeIsAnsweredInHttp11() throws Exception {
    HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build().send(
        HttpRequest.newBuilder(node.endpoint().resolve("/_mailgate/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertTrue(r.statusCode() == 200 || r.statusCode() == 403, "answered: " + r.statusCode()); // a token, or not
    assertEquals(HttpClient.Version.HTTP_1_1, r.version());
  }

  @Test
  void aTokenOnceSetIsNeededFromAnywhere() {
    assertEquals(403, get(null).statusCode(), "not even from the node's machine: a local proxy would make every "
        + "client local");
    assertEquals(403, get("Bearer wrong").statusCode());
    assertEquals(200, get("bearer s3cret").statusCode(), "the scheme is case-insensitive");
  }

  @Test
  void onlyTheNodesMachineOrTheTokenMayRead() {
    SocketAddress local4 = SocketAddress.inetSocketAddress(40000, "127.0.0.1");
    SocketAddress local6 = SocketAddress.inetSocketAddress(40000, "::1");
    SocketAddress remote = SocketAddress.inetSocketAddress(40000, "203.0.113.9");
    assertTrue(ApiVerticle.metricsAllowed(local4, "127.0.0.1", false, null, ""));
    assertTrue(ApiVerticle.metricsAllowed(local6, "::1", false, null, ""));
    assertTrue(ApiVerticle.metricsAllowed(local4, "localhost", false, null, ""));
    assertTrue(ApiVerticle.metricsAllowed(local4, null, false, null, ""), "HTTP/1.0 without a Host");
    assertFalse(ApiVerticle.metricsAllowed(remote, "127.0.0.1", false, null, ""));
    // a reverse proxy on the node's machine makes everyone it serves local: what it forwards is not the machine's
    assertFalse(ApiVerticle.metricsAllowed(local4, "127.0.0.1", true, null, ""));
    // a page whose name was rebound to 127.0.0.1 names its own site
    assertFalse(ApiVerticle.metricsAllowed(local4, "attacker.example", false, null, ""));
    assertFalse(ApiVerticle.metricsAllowed(remote, null, false, "Bearer ", ""), "no token configured: no token opens it");
    assertFalse(ApiVerticle.metricsAllowed(remote, null, false, "Bearer wrong", "s3cret"));
    assertTrue(ApiVerticle.metricsAllowed(remote, "mailgate.example", true, "Bearer s3cret", "s3cret"),
        "the token opens it whoever forwards it and whatever the Host");
    assertFalse(ApiVerticle.metricsAllowed(null, null, false, "Bearer wrong", "s3cret"));
    assertFalse(ApiVerticle.metricsAllowed(local4, "127.0.0.1", false, null, "s3cret"),
        "with a token, local is not enough");
    assertFalse(ApiVerticle.metricsAllowed(remote, null, false, "Bearer s3cretX", "s3cret"));
  }
}
