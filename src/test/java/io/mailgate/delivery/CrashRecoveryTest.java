package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.NodeProcess;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.config.MailgateConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * No accepted message is lost: a node process is killed with SIGKILL in the middle of a load (its
 * deliveries lagging behind what it accepts), then the queue is delivered by a node started after it, either the
 * same node again (which takes back its earlier run's leases at once) or another node, which takes them over once
 * they expire; every message the killed node answered 200 for is delivered. Duplicates may happen only for
 * deliveries in flight at the kill ({@link #DUPLICATES}).
 */
class CrashRecoveryTest {
  private static final Pattern MESSAGE_ID = Pattern.compile("Message-ID: <([^@>]+)@");
  /** The relay holds each end of DATA this long: the killed node's deliveries lag behind what it accepts. */
  static final long DATA_DELAY_MILLIS = 40;
  /** The killed node's connections to the relay: delivery.maxConnections on its one delivery instance. */
  static final int CONNECTIONS = 2;
  /**
   * Messages one connection has written whose reply it has not read, at most: with PIPELINING the next transaction's
   * MAIL, RCPT and DATA follow a message's final dot, but its content waits for the 354, which the server sends only
   * after its reply to the message before (RFC 2920: replies come in order).
   */
  static final int PIPELINE_DEPTH = 1;
  /** Time allowed for one batch of outcomes to commit (PostgreSQL without fsync: milliseconds, mostly). */
  static final long COMMIT_MILLIS = 500;
  /**
   * Messages the relay may get twice. A delivered recipient stays leased, to be sent again by the next node, until
   * its outcome commits: that is each connection's unanswered message ({@link #PIPELINE_DEPTH}, taken by the relay
   * but its reply never read) and the outcomes of one batch. Outcomes are written pg.batchesInFlight (1) batch at a
   * time, each gathered for pg.deliveryLingerMillis (20 ms); while one lingers and commits, the relay takes at most one
   * message per connection per {@link #DATA_DELAY_MILLIS}: 2 + 2 x ceil(520 / 40) = 28. A node whose outcomes were
   * written late, or never, leaves everything it delivered since its last commit to be sent again: more than that.
   */
  static final int DUPLICATES;

  static {
    MailgateConfig defaults = MailgateConfig.defaults();
    int batches = defaults.get(MailgateConfig.PG_BATCHES_IN_FLIGHT);
    long linger = defaults.get(MailgateConfig.PG_DELIVERY_LINGER_MILLIS);
    DUPLICATES = CONNECTIONS * PIPELINE_DEPTH
        + batches * CONNECTIONS * (int) Math.ceil((linger + COMMIT_MILLIS) / (double) DATA_DELAY_MILLIS);
  }

  @Test
  void everyAcceptedMessageIsDeliveredAfterAKill() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer().dataDelay(Duration.ofMillis(DATA_DELAY_MILLIS));
         Crash crash = new Crash(relay, Map.of("MAILGATE_NODE_ID", "crash-test-node"), 0)) {
      crash.killOnceAccepted(150);
      // the same node again (node.id), which takes back its earlier run's leases at once, on ports of its own
      try (TestNode restarted = TestNode.start(crash.pg, crash.env.get("MAILGATE_REDIS_KEY_PREFIX"), relay.url(),
          c -> c.with(MailgateConfig.NODE_ID, crash.env.get("MAILGATE_NODE_ID")), false)) {
        Await.until(() -> delivered(relay).containsAll(crash.accepted), Duration.ofSeconds(90));
      }
      assertDeliveredOnce(crash);
    }
  }

  /**
   * Another node (another node.id) takes over the killed node's recipients: those whose lease was still live at the
   * kill once it expired, not at once and not never. The leases are short (below what a production node may have),
   * and the other node runs, scanning the queue every second, from before the kill: when it takes each recipient over
   * is the lease's doing, not its own start's.
   */
  @Test
  void anotherNodeTakesOverOnceTheLeasesExpire() throws Exception {
    int lease = 6;
    try (RecordingSmtpServer relay = new RecordingSmtpServer().dataDelay(Duration.ofMillis(DATA_DELAY_MILLIS));
         Crash crash = new Crash(relay, Map.of("MAILGATE_NODE_ID", "crash-a",
             "MAILGATE_DELIVERY_HELO_NAME", "a.crash.test"), lease);
         TestNode other = TestNode.start(crash.pg, crash.env.get("MAILGATE_REDIS_KEY_PREFIX"), relay.url(), c -> c
             .with(MailgateConfig.NODE_ID, "crash-b")
             .with(MailgateConfig.DELIVERY_HELO_NAME, "b.crash.test")
             .with(MailgateConfig.DELIVERY_LEASE_SECONDS, lease), false)) {
      crash.killOnceAccepted(60);
      // the dead node's live leases: its recipients under way or waiting for a connection
      Map<String, Long> leased = Db.longs(crash.pg, "SELECT message_id, (extract(epoch FROM lease_until) * 1000)::bigint "
          + "FROM recipients WHERE state = 'queued' AND lease_owner LIKE 'crash-a/%' AND lease_until > now()");
      assertFalse(leased.isEmpty(), "the killed node held no live lease: nothing to take over once it expires");
      // delivered, and recorded as such by the node that delivered it
      Await.until(() -> delivered(relay).containsAll(crash.accepted)
          && Db.count(crash.pg, "SELECT count(*) FROM recipients WHERE state = 'queued'") == 0,
          Duration.ofSeconds(60));

      Map<String, Instant> lastCopy = new HashMap<>();
      for (RecordingSmtpServer.Received r : relay.received()) {
        lastCopy.merge(messageId(r), r.at(), (a, b) -> a.isAfter(b) ? a : b);
      }
      for (Map.Entry<String, Long> e : leased.entrySet()) {
        assertEquals("b.crash.test", Db.string(crash.pg, "SELECT reporting_mta FROM recipients WHERE message_id = '"
            + e.getKey() + "'"), e.getKey() + " was delivered by the node that took it over");
        Instant sent = lastCopy.get(e.getKey());
        assertFalse(sent.isBefore(Instant.ofEpochMilli(e.getValue())), e.getKey() + " was sent at " + sent
            + ", while the killed node's lease on it ran until " + Instant.ofEpochMilli(e.getValue()));
      }
      assertDeliveredOnce(crash);
    }
  }

  /** A node process with an account and a domain to send from, to be put under load and killed. */
  private static final class Crash implements AutoCloseable {
    final RecordingSmtpServer relay;
    /** The node's environment (its database, Redis prefix, node.id, ...). */
    final Map<String, String> env;
    final String pg;
    /** The messages it answered 200 for. */
    final Set<String> accepted = ConcurrentHashMap.newKeySet();
    final NodeProcess node;
    final SesV2Client ses;
    /** The most connections the relay had open at once until the kill. */
    int connectionsAtOnce;

    /** A node with {@code settings}, and leases of {@code leaseSeconds} when not 0, relaying to {@code relay}. */
    Crash(RecordingSmtpServer relay, Map<String, String> settings, int leaseSeconds) throws Exception {
      this.relay = relay;
      pg = TestServices.freshDatabase();
      env = new HashMap<>(Map.of(
          "MAILGATE_PG_URL", pg,
          "MAILGATE_REDIS_URL", TestServices.redisUrl(),
          "MAILGATE_REDIS_KEY_PREFIX", TestServices.uniquePrefix(),
          "MAILGATE_RELAY_URL", relay.url(),
          "MAILGATE_SECURITY_MASTER_KEY", TestNode.MASTER_KEY,
          "MAILGATE_DELIVERY_SCAN_INTERVAL_SECONDS", "1",
          "MAILGATE_DELIVERY_MAX_CONNECTIONS", Integer.toString(CONNECTIONS),
          "MAILGATE_HTTP_INSTANCES", "1",
          "MAILGATE_DELIVERY_INSTANCES", "1"));
      env.put("MAILGATE_SMTP_INBOUND_PORT", "0");
      env.putAll(settings);
      node = leaseSeconds == 0 ? NodeProcess.start(env, EmbeddedServices.freePort())
          : NodeProcess.start(env, EmbeddedServices.freePort(), leaseSeconds);
      try {
        ses = client(pg, node);
      } catch (Exception e) {
        node.close();
        throw e;
      }
    }

    /** An account with a domain to send from, and a client of the node signing as it. */
    private static SesV2Client client(String pg, NodeProcess node) throws Exception {
      Accounts.NewKey key;
      io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
      io.vertx.sqlclient.Pool pool = io.mailgate.store.Database.pool(vertx,
          MailgateConfig.defaults().with(MailgateConfig.PG_URL, pg), 1);
      try {
        key = new Accounts(pool, io.mailgate.identity.SecretBox.fromBase64(TestNode.MASTER_KEY))
            .create("crash", 10_000, 1_000_000, true).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } finally {
        pool.close();
        vertx.close();
      }
      Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status) VALUES ('"
          + key.accountId() + "', 'crash.example', 'DOMAIN', 'SUCCESS')");
      return SesV2Client.builder().endpointOverride(node.endpoint()).region(Region.US_EAST_1)
          .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(key.accessKeyId(),
              key.secretAccessKey())))
          .httpClient(UrlConnectionHttpClient.create())
          .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
          .build();
    }

    /** Sends to the node from four threads and kills it with SIGKILL once it accepted {@code n}. */
    void killOnceAccepted(int n) throws Exception {
      ExecutorService load = Executors.newFixedThreadPool(4);
      for (int i = 0; i < 4; i++) {
        load.submit(() -> {
          for (int j = 0; j < 1000 && !Thread.currentThread().isInterrupted(); j++) {
            try {
              accepted.add(ses.sendEmail(r -> r.fromEmailAddress("load@crash.example")
                  .destination(d -> d.toAddresses("reader@example.org"))
                  .content(c -> c.simple(m -> m.subject(s -> s.data("crash load")).body(b -> b.text(t -> t.data("x"))))))
                  .messageId());
            } catch (RuntimeException e) {
              return; // the node is gone
            }
          }
        });
      }
      try {
        Await.until(() -> accepted.size() >= n, Duration.ofSeconds(60));
        node.kill();
      } finally {
        load.shutdownNow();
        load.awaitTermination(30, TimeUnit.SECONDS);
      }
      connectionsAtOnce = relay.maxConcurrentConnections();
      int deliveredBeforeTheKill = delivered(relay).size();
      assertTrue(deliveredBeforeTheKill < accepted.size(),
          "the kill must leave accepted messages undelivered for the test to mean something: "
              + deliveredBeforeTheKill + " of " + accepted.size());
    }

    @Override
    public void close() throws Exception {
      ses.close();
      node.close();
    }
  }

  /** Every accepted message delivered; no more copies than the killed node's work in flight. */
  private static void assertDeliveredOnce(Crash crash) {
    RecordingSmtpServer relay = crash.relay;
    Set<String> accepted = crash.accepted;
    Set<String> delivered = delivered(relay);
    assertTrue(delivered.containsAll(accepted),
        "lost: " + accepted.stream().filter(id -> !delivered.contains(id)).toList());
    int duplicates = relay.received().size() - delivered.size();
    assertTrue(duplicates <= DUPLICATES, duplicates + " duplicates of " + delivered.size() + " messages: more than the "
        + DUPLICATES + " deliveries the killed node can have had in flight");
    assertTrue(crash.connectionsAtOnce <= CONNECTIONS, crash.connectionsAtOnce + " connections were open at once "
        + "before the kill: the bound on duplicates counts the killed node's " + CONNECTIONS);
  }

  private static String messageId(RecordingSmtpServer.Received r) {
    Matcher m = MESSAGE_ID.matcher(r.text());
    return m.find() ? m.group(1) : null;
  }

  private static Set<String> delivered(RecordingSmtpServer relay) {
    Set<String> ids = new HashSet<>();
    List<RecordingSmtpServer.Received> received = relay.received();
    for (RecordingSmtpServer.Received r : received) {
      String id = messageId(r);
      if (id != null) {
        ids.add(id);
      }
    }
    return ids;
  }
}
