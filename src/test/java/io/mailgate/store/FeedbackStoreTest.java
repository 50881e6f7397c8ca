package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.testing.Db;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Feedback recorded by several connections at once, as a busy node (or two nodes) records it. */
class FeedbackStoreTest extends MigratedDatabase {

  @BeforeAll
  static void setUp() throws Exception {
    open(8);
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) "
        + "VALUES ('m1', 'a1', 'sender@example.com', 'sender@example.com', 'x', 1, now())");
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at) "
        + "VALUES ('m1', 0, 'reader@example.org', 'delivered', now(), now())");
  }

  @Test
  void copiesOfOneComplaintArrivingTogetherAreRecordedOnce() throws Exception {
    FeedbackStore store = new FeedbackStore(pool);
    FeedbackStore.MessageRef m = new FeedbackStore.MessageRef("m1", "a1", List.of("reader@example.org"), true,
        "bounces.example");
    List<Future<Void>> copies = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      // the same report eight times at once (the address's case differs: it is the same recipient)
      copies.add(store.complaint(m, i % 2 == 0 ? "reader@example.org" : "Reader@Example.org",
          new JsonObject().put("feedbackId", "f" + i), true, false, null));
    }
    Future.all(copies).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(1, Db.count(url, "SELECT count(*) FROM events WHERE type = 'Complaint' AND message_id = 'm1'"));
    assertEquals(1, Db.count(url, "SELECT count(*) FROM feedback_forwards WHERE type = 'Complaint' "
        + "AND message_id = 'm1'"));
    assertEquals(1, Db.count(url, "SELECT coalesce(sum(complaints), 0) FROM reputation_buckets "
        + "WHERE account_id = 'a1'"));
  }

  /**
   * Feedback counts in the bucket of the delivery it is about. About a delivery of the minutes before a resume, in the
   * bucket the resume fell in, it goes to the account's base too, as that delivery did (V23): the fresh window leaves
   * it out; about one after the resume, it counts.
   */
  @Test
  void feedbackAboutADeliveryBeforeAResumeInItsBucketIsLeftOutOfTheFreshWindow() throws Exception {
    String bucket = "to_timestamp(floor(extract(epoch FROM now()) / 300) * 300) - interval '1 hour'";
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send, reputation_since, "
        + "reputation_base_sent) VALUES ('a2', 'a2', 1, 1, " + bucket + " + interval '2 minutes', 1)");
    Db.execute(url, "INSERT INTO reputation_buckets (account_id, bucket, sent) VALUES ('a2', " + bucket + ", 2)");
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) "
        + "VALUES ('m2', 'a2', 'sender@example.com', 'sender@example.com', 'x', 1, " + bucket + ")");
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at, "
        + "delivered_at) VALUES ('m2', 0, 'before@example.org', 'delivered', now(), now(), " + bucket
        + " + interval '1 minute'), ('m2', 1, 'after@example.org', 'delivered', now(), now(), " + bucket
        + " + interval '3 minutes')");
    FeedbackStore store = new FeedbackStore(pool);
    FeedbackStore.MessageRef m = new FeedbackStore.MessageRef("m2", "a2",
        List.of("before@example.org", "after@example.org"), false, null);
    await(store.complaint(m, "before@example.org", new JsonObject().put("feedbackId", "b"), true, false, null));
    await(store.bounce(m, 1, "after@example.org", new JsonObject().put("feedbackId", "a"), true, true, true, false,
        false, null));
    assertEquals("2 1 1", Db.string(url, "SELECT sent || ' ' || hard_bounces || ' ' || complaints "
        + "FROM reputation_buckets WHERE account_id = 'a2' AND bucket = " + bucket));
    assertEquals("1 0 1", Db.string(url, "SELECT reputation_base_sent || ' ' || reputation_base_hard_bounces || ' ' "
        + "|| reputation_base_complaints FROM accounts WHERE id = 'a2'"));
  }
}
