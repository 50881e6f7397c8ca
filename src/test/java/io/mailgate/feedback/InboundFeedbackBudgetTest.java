package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Anyone can write to the feedback addresses, as often as they like: the reports that record nothing are kept (for
 * inspection) up to a node's hour budget, in reports and in bytes; past it they are read and answered as before, but
 * not stored. The budget is small here, on a real database.
 */
class InboundFeedbackBudgetTest {
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

  static InboundFeedback inbound(String budget, int reports, long bytes) {
    return new InboundFeedback(vertx, new FeedbackStore(pool), BounceClassifier.defaults(),
        new Verp(SecretBox.fromBase64(TestNode.MASTER_KEY)), java.util.Set.of(), 60_000,
        InboundFeedback.KeptBudget.of(vertx, budget, reports, bytes));
  }

  /** A message to a feedback address that names nothing of ours, of about {@code size} bytes. */
  static InboundMail junk(String rcptTo, int size) {
    String text = "From: someone@remote.example\r\nSubject: hello\r\n\r\n" + "x".repeat(size) + "\r\n";
    return new InboundMail("someone@remote.example", List.of(rcptTo), text.getBytes(StandardCharsets.US_ASCII),
        "192.0.2.1", Instant.now());
  }

  static InboundFeedback.Result process(InboundFeedback inbound, InboundMail mail) throws Exception {
    return inbound.process(mail).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static long kept(String rcptTo) {
    return Db.count(url, "SELECT count(*) FROM inbound_feedback WHERE rcpt_to = '" + rcptTo + "'");
  }

  @Test
  void reportsThatRecordNothingAreKeptUpToTheHoursCount() throws Exception {
    InboundFeedback inbound = inbound("count-budget", 3, 1024 * 1024);
    for (int i = 0; i < 5; i++) {
      InboundFeedback.Result r = process(inbound, junk("count@bounces.example", 100));
      assertFalse(r.attributed());
      assertEquals(i < 3, r.kept(), "report " + i);
    }
    assertEquals(3, kept("count@bounces.example"));
  }

  @Test
  void reportsThatRecordNothingAreKeptUpToTheHoursBytes() throws Exception {
    // each is kept whole (under 256 KB): two of 100 KB fit in 250 KB, a third does not, a small one still does
    InboundFeedback inbound = inbound("byte-budget", 100, 250 * 1024);
    assertTrue(process(inbound, junk("bytes@bounces.example", 100 * 1024)).kept());
    assertTrue(process(inbound, junk("bytes@bounces.example", 100 * 1024)).kept());
    assertFalse(process(inbound, junk("bytes@bounces.example", 100 * 1024)).kept());
    assertTrue(process(inbound, junk("bytes@bounces.example", 1024)).kept());
    assertEquals(3, kept("bytes@bounces.example"));
    assertTrue(Db.count(url, "SELECT sum(octet_length(content)) FROM inbound_feedback WHERE rcpt_to = "
        + "'bytes@bounces.example'") <= 250 * 1024);
  }
}
