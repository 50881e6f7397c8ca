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
    FeedbackStore.MessageRef m = new FeedbackStore.MessageRef("m1", "a1", List.of("reader@example.org"));
    List<Future<Void>> copies = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      // the same report eight times at once (the address's case differs: it is the same recipient)
      copies.add(store.complaint(m, i % 2 == 0 ? "reader@example.org" : "Reader@Example.org",
          new JsonObject().put("feedbackId", "f" + i), true, null));
    }
    Future.all(copies).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(1, Db.count(url, "SELECT count(*) FROM events WHERE type = 'Complaint'"));
    assertEquals(1, Db.count(url, "SELECT count(*) FROM feedback_forwards WHERE type = 'Complaint'"));
    assertEquals(1, Db.count(url, "SELECT coalesce(sum(complaints), 0) FROM reputation_buckets"));
  }
}
