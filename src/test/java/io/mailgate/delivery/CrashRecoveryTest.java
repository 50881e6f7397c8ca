package io.mailgate.delivery;

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
 * deliveries lagging behind what it accepts), then started again; every message it answered 200
 * for is delivered. Duplicates may happen only for deliveries in flight at the kill.
 */
class CrashRecoveryTest {
  private static final Pattern MESSAGE_ID = Pattern.compile("Message-ID: <([^@>]+)@");

  @Test
  void everyAcceptedMessageIsDeliveredAfterAKill() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer().dataDelay(Duration.ofMillis(40))) {
      String pg = TestServices.freshDatabase();
      int port = EmbeddedServices.freePort();
      Map<String, String> env = new HashMap<>(Map.of(
          "MAILGATE_PG_URL", pg,
          "MAILGATE_REDIS_URL", TestServices.redisUrl(),
          "MAILGATE_REDIS_KEY_PREFIX", TestServices.uniquePrefix(),
          "MAILGATE_RELAY_URL", relay.url(),
          "MAILGATE_NODE_ID", "crash-test-node",
          "MAILGATE_SECURITY_MASTER_KEY", TestNode.MASTER_KEY,
          "MAILGATE_DELIVERY_SCAN_INTERVAL_SECONDS", "1",
          "MAILGATE_DELIVERY_MAX_CONNECTIONS", "2",
          "MAILGATE_HTTP_INSTANCES", "1",
          "MAILGATE_DELIVERY_INSTANCES", "1"));
      env.put("MAILGATE_SMTP_INBOUND_PORT", "0");
      NodeProcess node = NodeProcess.start(env, port);
      Set<String> accepted = ConcurrentHashMap.newKeySet();
      try {
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
        SesV2Client ses = SesV2Client.builder().endpointOverride(node.endpoint()).region(Region.US_EAST_1)
            .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(key.accessKeyId(),
                key.secretAccessKey())))
            .httpClient(UrlConnectionHttpClient.create())
            .overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
            .build();
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
        Await.until(() -> accepted.size() >= 150, Duration.ofSeconds(60));
        node.kill();
        load.shutdownNow();
        load.awaitTermination(30, TimeUnit.SECONDS);
        ses.close();
      } finally {
        node.close();
      }
      int deliveredBeforeRestart = relay.received().size();
      assertTrue(deliveredBeforeRestart < accepted.size(),
          "the kill must leave accepted messages undelivered for the test to mean something: "
              + deliveredBeforeRestart + " of " + accepted.size());

      try (NodeProcess restarted = NodeProcess.start(env, port)) {
        Await.until(() -> delivered(relay).containsAll(accepted), Duration.ofSeconds(90));
      }
      Set<String> delivered = delivered(relay);
      assertTrue(delivered.containsAll(accepted), "lost: " + accepted.stream().filter(id -> !delivered.contains(id)).toList());
    }
  }

  private static Set<String> delivered(RecordingSmtpServer relay) {
    Set<String> ids = new HashSet<>();
    List<RecordingSmtpServer.Received> received = relay.received();
    for (RecordingSmtpServer.Received r : received) {
      Matcher m = MESSAGE_ID.matcher(r.text());
      if (m.find()) {
        ids.add(m.group(1));
      }
    }
    return ids;
  }
}
