package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TcpProxy;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A send whose commit reached PostgreSQL but whose answer was lost on the way back (the connection dropped in
 * between): the node finds out whether it was committed, and answers 200 when it was, rather than a 503 its client
 * would retry into a second copy of a message that is delivered anyway.
 */
class LostCommitAnswerTest {
  static final String SEND = "{\"FromEmailAddress\":\"sender@example.com\",\"Destination\":{\"ToAddresses\":"
      + "[\"rcpt@example.org\"]},\"Content\":{\"Simple\":{\"Subject\":{\"Data\":\"s\"},\"Body\":{\"Text\":"
      + "{\"Data\":\"x\"}}}}}";

  /** A node on the database through {@code proxy}, its caches warm with a first send (and kept a minute). */
  private static TestNode warmNode(TcpProxy proxy, RecordingSmtpServer relay) {
    TestNode node = TestNode.start(proxy.databaseUrl(), TestServices.uniquePrefix(), relay.url(),
        c -> c.with(MailgateConfig.CACHE_TTL_MILLIS, 60_000), true); // what the send looks up stays cached
    assertEquals(200, node.signed("POST", "/v2/email/outbound-emails", SEND,
        Map.of("Content-Type", "application/json")).statusCode());
    return node;
  }

  @Test
  void aCommitWhoseAnswerWasLostIsAnswered200() throws Exception {
    String direct = TestServices.freshDatabase();
    try (TcpProxy proxy = TcpProxy.toDatabase(direct); RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = warmNode(proxy, relay)) {
      Map<String, String> json = Map.of("Content-Type", "application/json");
      long before = Db.count(direct, "SELECT count(*) FROM messages");
      proxy.loseAnswers(500); // the next statement (the send's commit) is carried out, its answer never comes
      HttpResponse<String> r = node.signed("POST", "/v2/email/outbound-emails", SEND, json);
      long stored = Db.count(direct, "SELECT count(*) FROM messages") - before;
      // the invariant a client relies on: 200 if and only if the message was stored
      assertEquals(r.statusCode() == 200 ? 1 : 0, stored, r.statusCode() + " " + r.body());
      assertEquals(1, stored, "the commit went through: " + r.body());
      assertTrue(Db.count(direct, "SELECT count(*) FROM messages WHERE id = '"
          + new JsonObject(r.body()).getString("MessageId") + "'") == 1);
    }
  }

  /**
   * The commit's answer is lost and PostgreSQL stays out of reach while the node looks for the message: the client
   * gets the retryable 503, but the message went in and is delivered, so it stays counted in the day's quota (given
   * back, a retry would make two messages counted once).
   */
  @Test
  void aCommitWhoseFateCannotBeLearntStaysCounted() throws Exception {
    String direct = TestServices.freshDatabase();
    try (TcpProxy proxy = TcpProxy.toDatabase(direct); RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = warmNode(proxy, relay)) {
      Map<String, String> json = Map.of("Content-Type", "application/json");
      long before = Db.count(direct, "SELECT count(*) FROM messages");
      proxy.loseAnswers(60_000); // cut below closes them, once the commit is seen
      java.util.concurrent.CompletableFuture<HttpResponse<String>> answer = java.util.concurrent.CompletableFuture
          .supplyAsync(() -> node.signed("POST", "/v2/email/outbound-emails", SEND, json));
      io.mailgate.testing.Await.until(() -> Db.count(direct, "SELECT count(*) FROM messages") > before,
          java.time.Duration.ofSeconds(10));
      proxy.cut(); // committed; from now on the node cannot find out
      HttpResponse<String> r = answer.get(30, java.util.concurrent.TimeUnit.SECONDS);
      proxy.restore();
      assertEquals(503, r.statusCode(), r.body());
      assertTrue(r.body().contains("is not known"), r.body());
      assertEquals(before + 1, Db.count(direct, "SELECT count(*) FROM messages"));
      HttpResponse<String> account = node.signed("GET", "/v2/email/account", "", Map.of());
      assertEquals(200, account.statusCode(), account.body());
      assertEquals(2.0, new JsonObject(account.body()).getJsonObject("SendQuota").getDouble("SentLast24Hours"),
          account.body());
    }
  }

  /**
   * The connection drops while the commit waits for a lock: PostgreSQL notices its client gone only when it answers,
   * after it committed, so a lookup made meanwhile would find nothing and a 503 would be given for a message then stored.
   * The node ends the statement's server process first: the answer and the table agree, whenever the lock goes.
   */
  @Test
  void aCommitStillWaitingWhenItsConnectionDropsIsEndedBeforeItIsLookedFor() throws Exception {
    String direct = TestServices.freshDatabase();
    try (TcpProxy proxy = TcpProxy.toDatabase(direct); RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = warmNode(proxy, relay)) {
      Map<String, String> json = Map.of("Content-Type", "application/json");
      long before = Db.count(direct, "SELECT count(*) FROM messages");
      String jdbc = "jdbc:" + direct.replace("postgresql://postgres@", "postgresql://");
      HttpResponse<String> r;
      try (Connection lock = DriverManager.getConnection(jdbc, "postgres", "")) {
        lock.setAutoCommit(false);
        lock.createStatement().execute("LOCK TABLE recipients IN SHARE MODE"); // the send's insert waits for it
        proxy.loseAnswers(500);
        r = node.signed("POST", "/v2/email/outbound-emails", SEND, json);
        lock.commit(); // the lock goes after the answer: a statement still waiting would now commit
      }
      // a statement the node failed to end would commit now: wait until no insert of a message is still running
      Await.until(() -> Db.count(direct, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
          + "AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%INSERT INTO messages%'") == 0,
          Duration.ofSeconds(20));
      long stored = Db.count(direct, "SELECT count(*) FROM messages") - before;
      assertEquals(r.statusCode() == 200 ? 1 : 0, stored, r.statusCode() + " " + r.body());
    }
  }
}
