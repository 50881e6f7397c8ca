package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.delivery.Verp;
import io.mailgate.identity.SecretBox;
import io.mailgate.store.FeedbackStore;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A report whose parsing outlasts the wait for it: its sender is answered 451 and sends it again, so this copy must
 * not be recorded too (each retry would add one). The wait is 30 s in a node; here a millisecond, on a real database.
 */
class InboundFeedbackDeadlineTest {
  static String url;
  static Vertx vertx;
  static Pool pool;

  @BeforeAll
  static void start() {
    url = TestServices.freshDatabase();
    vertx = Vertx.vertx();
    pool = TestServices.migratedPool(vertx, url, 2);
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  static InboundFeedback inbound(long answerWithinMillis) {
    return new InboundFeedback(vertx, new FeedbackStore(pool), BounceClassifier.defaults(),
        new Verp(SecretBox.fromBase64(TestNode.MASTER_KEY)), java.util.Set.of(), answerWithinMillis);
  }

  /** A text bounce of some megabytes: parsing it takes far longer than a millisecond. */
  static InboundMail large(String rcptTo) {
    StringBuilder text = new StringBuilder("From: MAILER-DAEMON@mx.remote.example\r\nSubject: Undelivered Mail\r\n\r\n");
    for (int i = 0; text.length() < 4 * 1024 * 1024; i++) {
      text.append("<user").append(i).append("@remote.example>: 550 5.1.1 User unknown\r\n");
    }
    return new InboundMail("", List.of(rcptTo), text.toString().getBytes(StandardCharsets.US_ASCII), "192.0.2.1",
        Instant.now());
  }

  static long kept(String rcptTo) {
    return Db.count(url, "SELECT count(*) FROM inbound_feedback WHERE rcpt_to = '" + rcptTo + "'");
  }

  @Test
  void aReportNotParsedInTimeIsNotRecorded() throws Exception {
    ExecutionException late = null;
    try {
      inbound(1).process(large("late@bounces.example")).toCompletionStage().toCompletableFuture()
          .get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      late = e;
    }
    assertTrue(late != null && late.getCause() instanceof InboundFeedback.TooSlow, String.valueOf(late));

    // the same report with time to spare is recorded; by then the first copy's parsing (started before) is over too
    inbound(60_000).process(large("in-time@bounces.example")).toCompletionStage().toCompletableFuture()
        .get(60, TimeUnit.SECONDS);
    assertEquals(1, kept("in-time@bounces.example"));
    Thread.sleep(2000);
    assertEquals(0, kept("late@bounces.example"), "answered 451: its sender sends it again, and that copy counts");
  }
}
