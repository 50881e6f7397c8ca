package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.EventType;

/**
 * How the publisher shares its posts when destinations misbehave: webhooks that are slow but answer 2xx, one that
 * fails, one whose answer trickles in, and more destinations than the node keeps track of. Each on a node of its own
 * with few posts at a time ({@code events.concurrency} 4), so that any unfairness shows at once.
 */
class EventPublisherFairnessTest {
  static RecordingSmtpServer relay;
  static WebhookReceiver webhook;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    webhook = new WebhookReceiver();
  }

  @AfterAll
  static void stop() throws IOException {
    relay.close();
    webhook.close();
  }

  static TestNode node(int timeoutSeconds) {
    return TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 4)
        .with(MailgateConfig.EVENTS_TIMEOUT_SECONDS, timeoutSeconds));
  }

  static void destination(SesV2Client ses, String set, String url) {
    ses.createConfigurationSet(r -> r.configurationSetName(set));
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName(set).eventDestinationName("hook")
        .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
            .snsDestination(s -> s.topicArn(url))));
  }

  static String send(SesV2Client ses, String set) {
    return ses.sendEmail(r -> r.fromEmailAddress("events@example.com").destination(d -> d.toAddresses("a@example.com"))
        .configurationSetName(set).content(c -> c.simple(m -> m.subject(s -> s.data("s"))
            .body(b -> b.text(t -> t.data("x")))))).messageId();
  }

  @Test
  void twoSlowWebhooksDoNotTakeEveryPostBetweenThem() throws Exception {
    try (TestNode node = node(10); SesV2Client ses = node.sesV2()) {
      webhook.delay("/slow-a", 3000);
      webhook.delay("/slow-b", 3000);
      destination(ses, "slow-a", webhook.url("/slow-a"));
      destination(ses, "slow-b", webhook.url("/slow-b"));
      destination(ses, "quick", webhook.url("/quick"));
      for (int i = 0; i < 40; i++) { // each answers two posts per 3 s: a minute of backlog each
        send(ses, "slow-a");
        send(ses, "slow-b");
      }
      // past the first answers: each slow one holds most of what it was given (more than it can post now), which
      // must not keep the node from claiming anyone else's events
      Await.until(() -> webhook.posts("/slow-a").size() >= 3 && webhook.posts("/slow-b").size() >= 3,
          Duration.ofSeconds(25));
      long sent = System.nanoTime();
      String quick = send(ses, "quick");
      Await.until(() -> webhook.posts("/quick", quick).size() == 1, Duration.ofSeconds(30));
      long waited = (System.nanoTime() - sent) / 1_000_000;
      // the two slow ones took the node's four posts; as they end (together, every 3 s), a slot is the quick one's;
      // before, their events in hand went first (14 s), or kept it from being claimed until most were posted (6 s)
      assertTrue(waited < 4500, "the quick webhook's event came " + waited + " ms after its send, when "
          + webhook.posts("/slow-a").size() + " and " + webhook.posts("/slow-b").size() + " of the slow ones' 40 "
          + "each were posted");
    } finally {
      webhook.delay("/slow-a", 0);
      webhook.delay("/slow-b", 0);
    }
  }

  @Test
  void moreDestinationsThanTheNodeKeepsTrackOfLoseNoPost() throws Exception {
    int count = EventPublisherVerticle.PRUNE_ABOVE + 60;
    try (TestNode node = node(10); SesV2Client ses = node.sesV2()) {
      destination(ses, "many", webhook.url("/many/0"));
      String pg = node.config().get(MailgateConfig.PG_URL);
      // SES allows 10 destinations per set; this many only to have the node see more than it keeps track of
      Db.execute(pg, "INSERT INTO event_destinations (account_id, configuration_set, name, enabled, event_types, url) "
          + "SELECT account_id, configuration_set, 'hook' || n, true, event_types, replace(url, '/many/0', '/many/' || n) "
          + "FROM event_destinations, generate_series(1, " + (count - 1) + ") n WHERE configuration_set = 'many'");
      String first = send(ses, "many");
      Await.until(() -> posts("/many/", first) == count, Duration.ofSeconds(40));
      // and the node still posts: no post slot was lost on the way
      String second = send(ses, "many");
      Await.until(() -> posts("/many/", second) == count, Duration.ofSeconds(40));
    }
  }

  static long posts(String prefix, String messageId) {
    return webhook.all().stream().filter(p -> p.path().startsWith(prefix)
        && p.json().getJsonObject("mail").getString("messageId").equals(messageId)).map(p -> p.path()).distinct()
        .count();
  }

  @Test
  void aFailingWebhooksBacklogIsLeftAsItIsWhileItIsPutOff() throws Exception {
    try (TestNode node = node(10); SesV2Client ses = node.sesV2()) {
      webhook.failFirst("/down", 1_000_000);
      webhook.hang("/down"); // until the backlog is written: then every post fails at once
      destination(ses, "down", webhook.url("/down"));
      for (int i = 0; i < 150; i++) {
        send(ses, "down");
      }
      webhook.release("/down");
      Await.until(() -> webhook.posts("/down").size() >= EventPublisherVerticle.TRIP_AFTER, Duration.ofSeconds(20));
      Thread.sleep(2000); // the pause (30 s after the third failure) has begun; what was in hand is put off
      String pg = node.config().get(MailgateConfig.PG_URL);
      long putOff = Db.count(pg, "SELECT count(*) FROM event_outbox WHERE next_attempt_at > now() + interval '20 s'");
      long waiting = Db.count(pg, "SELECT count(*) FROM event_outbox");
      assertEquals(150, waiting);
      // what the node claimed (a few claims of at most 8, four times its share of 2) is put off; not the rest
      assertTrue(putOff <= 40, putOff + " of the failing webhook's 150 events were rewritten");
    } finally {
      webhook.release("/down");
      webhook.failFirst("/down", 0);
    }
  }

  /**
   * A webhook paused after failing (30 s after its third failure in a row, up to ten minutes after more) whose owner
   * mends it by pointing its destination at a working URL: the events behind the pause, those put off for it too, go
   * to the new URL within a couple of seconds, not when the pause the old URL earned ends.
   */
  @Test
  void aPausedWebhookWhoseUrlIsChangedIsPostedToAtOnce() throws Exception {
    try (TestNode node = node(10); SesV2Client ses = node.sesV2()) {
      webhook.failFirst("/broken", 1_000_000);
      destination(ses, "mended", webhook.url("/broken"));
      for (int i = 0; i < 20; i++) {
        send(ses, "mended");
      }
      Await.until(() -> webhook.posts("/broken").size() >= EventPublisherVerticle.TRIP_AFTER, Duration.ofSeconds(20));
      Thread.sleep(1000); // paused: nothing more goes to the old URL
      ses.updateConfigurationSetEventDestination(r -> r.configurationSetName("mended").eventDestinationName("hook")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.SEND)
              .snsDestination(x -> x.topicArn(webhook.url("/mended")))));
      long changed = System.nanoTime();
      // the pause has more than 25 s to run; the backlog not put off (all but what was in hand) comes at once
      Await.until(() -> webhook.posts("/mended").size() >= 5, Duration.ofSeconds(15));
      long tookMillis = (System.nanoTime() - changed) / 1_000_000;
      assertTrue(tookMillis < 8_000, "the new URL got its first events " + tookMillis + " ms after the change");
      // the events put off for the pause come at once too, and those whose posts failed on their backoff (10 s):
      // every one well before the pause would have ended (30 s after the third failure)
      Await.until(() -> webhook.posts("/mended").size() >= 20, Duration.ofSeconds(20));
      long allMillis = (System.nanoTime() - changed) / 1_000_000;
      assertTrue(allMillis < 16_000, "the new URL got all 20 events " + allMillis + " ms after the change");
    } finally {
      webhook.failFirst("/broken", 0);
    }
  }

  /**
   * While the one post a failing webhook gets after its pause hangs, its backlog stays in the table: not claimed and put
   * off again and again (a loop of claims, reads of the messages and put-offs, for as long as the post lasts).
   */
  @Test
  void aFailingWebhooksTrialPostLeavesItsBacklogAlone() throws Exception {
    try (TestNode node = node(3); SesV2Client ses = node.sesV2()) {
      webhook.hang("/stuck"); // every post times out, after 3 s
      destination(ses, "stuck", webhook.url("/stuck"));
      for (int i = 0; i < 150; i++) {
        send(ses, "stuck");
      }
      String pg = node.config().get(MailgateConfig.PG_URL);
      String updates = "SELECT coalesce(sum(n_tup_upd), 0) FROM pg_stat_user_tables WHERE relname = 'event_outbox'";
      // three rounds of posts time out (two at a time: the node's share of four), and the webhook is paused
      int rounds = 2 * EventPublisherVerticle.TRIP_AFTER;
      Await.until(() -> webhook.posts("/stuck").size() >= rounds, Duration.ofSeconds(30));
      Thread.sleep(12_000); // the server's statistics are flushed within 10 s of a backend's last write
      long before = Db.count(pg, updates);
      Await.until(() -> webhook.posts("/stuck").size() > rounds, Duration.ofSeconds(45)); // the trial post, hanging
      Thread.sleep(3_000 + 12_000);
      long during = Db.count(pg, updates) - before;
      assertEquals(rounds + 1, webhook.posts("/stuck").size(), "paused again after its trial");
      // what the node held when the trial began is put off once, and the trial's event marked failed: a few dozen rows
      assertTrue(during < 300, during + " rows of the outbox rewritten while the trial post hung");
    } finally {
      webhook.release("/stuck");
    }
  }

  /**
   * Eight posts under way fail together (the receiver restarted): that is one failure, not eight in a row, so the
   * webhook is not paused (80 s) and the events behind them are posted at once.
   */
  @Test
  void postsThatFailTogetherAreOneFailure() throws Exception {
    try (TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 16)
        .with(MailgateConfig.EVENTS_TIMEOUT_SECONDS, 10)); SesV2Client ses = node.sesV2()) {
      webhook.failFirst("/blip", 8);
      webhook.hang("/blip"); // the first posts wait, then all of them fail at once
      destination(ses, "blip", webhook.url("/blip"));
      java.util.List<String> ids = new java.util.ArrayList<>();
      for (int i = 0; i < 20; i++) {
        ids.add(send(ses, "blip"));
      }
      Await.until(() -> webhook.posts("/blip").size() >= 8, Duration.ofSeconds(20));
      webhook.release("/blip");
      // the twelve not yet posted go within seconds (the eight that failed are retried on their own backoff)
      try {
        Await.until(() -> ids.stream().filter(id -> !webhook.posts("/blip", id).isEmpty()).count() == 20,
            Duration.ofSeconds(15));
      } catch (AssertionError e) {
        // what the posts that failed were told (they were to wait until released, then fail together)
        throw new AssertionError(e.getMessage() + "; the posts' errors: " + Db.string(node.config().get(
            MailgateConfig.PG_URL), "SELECT string_agg(DISTINCT last_error, ' | ') FROM event_outbox"), e);
      }
    } finally {
      webhook.release("/blip");
      webhook.failFirst("/blip", 0);
    }
  }

  /**
   * Posts that fail before they begin (a host refused from the node's cache at once) are counted once per round of
   * posts, as posts failing together are: each one counted alone paused the webhook again and again, 10 s longer each
   * time (here for minutes), where three rounds pause it once, for 30 s, and nothing more while it rests. What the
   * outbox holds then shows nothing of it (a paused webhook's rows wait unclaimed, as they were), so the node's count
   * of pauses is what is read.
   */
  @Test
  void postsRefusedAtOnceAreOneFailure() throws Exception {
    // claims two seconds apart: the events of the sends below are mostly claimed together, rounds of sixteen posts
    try (TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 16)
        .with(MailgateConfig.EVENTS_ALLOW_PRIVATE_ADDRESSES, false).with(MailgateConfig.EVENTS_POLL_MILLIS, 2000));
         SesV2Client ses = node.sesV2()) {
      // a name (the API refuses private address literals), whose address is private: refused once looked up, and
      // at once while the lookup is cached
      destination(ses, "refused", webhook.url("/refused").replace("127.0.0.1", "localhost"));
      send(ses, "refused");
      String pg = node.config().get(MailgateConfig.PG_URL);
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM event_outbox WHERE attempts > 0") >= 1,
          Duration.ofSeconds(20));
      for (int i = 0; i < 40; i++) {
        send(ses, "refused");
      }
      Await.until(() -> counter(node, "mailgate_webhook_pauses_total") >= 1, Duration.ofSeconds(60));
      Thread.sleep(3000); // the posts of the round under way, and a claim more
      assertEquals(1, counter(node, "mailgate_webhook_pauses_total"));
      assertEquals(30, counter(node, "mailgate_webhook_paused_seconds_total"));
      assertTrue(Db.count(pg, "SELECT count(*) FROM event_outbox WHERE attempts > 0") >= 3,
          "three rounds of posts were made");
    }
  }

  /**
   * Four accounts whose webhooks' name servers hang hold every resolver thread: a lookup another account's webhook
   * needs then is not queued behind them, its post's deadline running out in the queue and counted as that webhook's
   * failure (it paused after three), but put back as the account's own busy lookups are, neither an attempt nor a
   * failure; and it is posted as soon as a thread is free.
   */
  @Test
  void otherAccountsHangingLookupsAreNotAHealthyWebhooksFailure() throws Exception {
    java.util.concurrent.CountDownLatch hung = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger hanging = new java.util.concurrent.atomic.AtomicInteger();
    EventPublisherVerticle.HostLookup system = EventPublisherVerticle.hostLookup;
    EventPublisherVerticle.hostLookup = host -> {
      if (host.endsWith(".hang.test")) {
        hanging.incrementAndGet();
        try {
          hung.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        throw new java.net.UnknownHostException(host + ": timed out");
      }
      return host.equals("healthy.test")
          ? new java.net.InetAddress[] {java.net.InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1})}
          : system.addresses(host);
    };
    try (TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.EVENTS_CONCURRENCY, 16)
        .with(MailgateConfig.EVENTS_TIMEOUT_SECONDS, 2).with(MailgateConfig.EVENTS_RETRY_BASE_SECONDS, 1));
         SesV2Client ses = node.sesV2()) {
      int accounts = EventPublisherVerticle.RESOLVER_THREADS / EventPublisherVerticle.LOOKUPS_PER_ACCOUNT;
      for (int a = 0; a < accounts; a++) {
        io.mailgate.identity.Accounts.NewKey tenant = node.createAccount("hanging-" + a, true, 100, 10_000);
        try (SesV2Client other = node.sesV2(tenant.accessKeyId(), tenant.secretAccessKey())) {
          other.createConfigurationSet(r -> r.configurationSetName("hang"));
          for (int h = 0; h < EventPublisherVerticle.LOOKUPS_PER_ACCOUNT; h++) {
            String url = webhook.url("/hang").replace("127.0.0.1", "h" + a + "-" + h + ".hang.test");
            other.createConfigurationSetEventDestination(r -> r.configurationSetName("hang")
                .eventDestinationName("h" + url.hashCode()).eventDestination(d -> d.enabled(true)
                    .matchingEventTypes(EventType.SEND).snsDestination(s -> s.topicArn(url))));
          }
          send(other, "hang");
        }
      }
      Await.until(hanging::get, n -> n == EventPublisherVerticle.RESOLVER_THREADS, Duration.ofSeconds(20));
      destination(ses, "healthy", webhook.url("/healthy").replace("127.0.0.1", "healthy.test"));
      // and a receipt rule's notification to the same healthy webhook host, of mail received meanwhile
      String pg = node.config().get(MailgateConfig.PG_URL);
      String account = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
      Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status) VALUES ('" + account
          + "', 'rcv.test', 'DOMAIN', 'SUCCESS')");
      Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name, active) VALUES ('" + account + "', 'main', true)");
      Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, recipients, "
          + "actions, scan_enabled) VALUES ('" + account + "', 'main', 'notify', 0, true, 'Optional', '{rcv.test}', "
          + "'[{\"SNSAction\": {\"TopicArn\": \"" + webhook.url("/rcv").replace("127.0.0.1", "healthy.test")
          + "\"}}]', false)");
      io.mailgate.testing.SmtpClient.sendUntil(node.config().get(MailgateConfig.SMTP_INBOUND_PORT), "a@outside.test",
          java.util.List.of("x@rcv.test"), "From: a@outside.test\r\nTo: x@rcv.test\r\nSubject: received\r\n\r\nhi",
          replies -> replies.get(3).startsWith("250"));
      java.util.List<String> ids = new java.util.ArrayList<>();
      for (int i = 0; i < 3; i++) {
        ids.add(send(ses, "healthy"));
        Thread.sleep(2500); // past a post's deadline each
      }
      String healthy = "message_id IN ('" + String.join("', '", ids) + "')";
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM event_outbox WHERE " + healthy + " AND last_error IS NOT NULL"),
          "no failure of the healthy webhook");
      assertEquals(1, Db.count(pg, "SELECT count(*) FROM receipt_outbox"), "the receipt notification waits");
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM receipt_outbox WHERE last_error IS NOT NULL"),
          "no failure of the healthy receipt webhook");
      hung.countDown();
      // not paused, nor backing off: posted as soon as a resolver thread is free
      Await.until(() -> ids.stream().filter(id -> !webhook.posts("/healthy", id).isEmpty()).count() == ids.size(),
          Duration.ofSeconds(10));
      Await.until(() -> webhook.posts("/rcv").size(), n -> n == 1, Duration.ofSeconds(10));
    } finally {
      hung.countDown();
      EventPublisherVerticle.hostLookup = system;
    }
  }

  private static long counter(TestNode node, String name) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\n" + name + " (\\d+)\n")
        .matcher(io.mailgate.metrics.Metrics.of(node.vertx()).render(new io.mailgate.metrics.Metrics.Gauges(0, 0, 0,
            0, 0)));
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  @Test
  void anAnswerWhoseBodyTricklesInLosesItsConnection() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
         TestNode node = node(2); SesV2Client ses = node.sesV2()) {
      CompletableFuture<Long> closedAfter = new CompletableFuture<>();
      Thread receiver = new Thread(() -> {
        try (Socket s = server.accept()) {
          InputStream in = s.getInputStream();
          byte[] buf = new byte[65536];
          int n = in.read(buf); // the request (small: it comes in one read)
          assertTrue(n > 0);
          OutputStream out = s.getOutputStream();
          // a 2xx at once, then a body that never ends
          out.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nx".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          long answered = System.nanoTime();
          while (in.read(buf) >= 0) {
            // the node sends nothing more: read until it closes
          }
          closedAfter.complete((System.nanoTime() - answered) / 1_000_000);
        } catch (IOException e) {
          closedAfter.completeExceptionally(e);
        }
      });
      receiver.setDaemon(true);
      receiver.start();
      destination(ses, "trickle", "http://127.0.0.1:" + server.getLocalPort() + "/hook");
      send(ses, "trickle");
      long millis = closedAfter.get(20, TimeUnit.SECONDS);
      assertTrue(millis < 5000, "the connection stayed open " + millis + " ms after the answer's status");
      String pg = node.config().get(MailgateConfig.PG_URL);
      // the 2xx counted: the event is published (deleted), not retried
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM event_outbox") == 0, Duration.ofSeconds(10));
    }
  }
}
