package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.store.ExportJobStore;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A message-insights export against PostgreSQL, over 4,000 messages of two accounts interleaved in time: the
 * account's own only, walked in statements of a bounded number of messages of any account with the lease renewed
 * between them, filtered, cut at MaxResults, stopped when the job is no longer the node's.
 */
class MessageInsightsExportTest {
  private static final Instant BASE = Instant.parse("2026-12-01T10:00:00Z");
  private static final int PER_ACCOUNT = 2_000;

  private String url;
  private Vertx vertx;
  private Pool pool;

  @BeforeEach
  void setUp() {
    url = TestServices.freshDatabase();
    vertx = Vertx.vertx();
    pool = TestServices.migratedPool(vertx, url, 2);
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1), "
        + "('a2', 'a2', 1, 1)");
    // message i of each account at BASE + 2i ms (a1) and 2i + 1 ms (a2), one Gmail recipient, delivered when i is even
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) "
        + "SELECT '0100' || lpad(to_hex(" + BASE.toEpochMilli() + " + 2 * i + a), 12, '0') || '-' || gen_random_uuid() "
        + "|| '-000000', 'a' || (a + 1), 'news@x.example', 'news@x.example', convert_to('Subject: S' || i || E'\\r\\n"
        + "\\r\\nbody', 'UTF8'), 20, timestamptz '" + BASE + "' + (2 * i + a) * interval '1 millisecond' "
        + "FROM generate_series(0, " + (PER_ACCOUNT - 1) + ") i, generate_series(0, 1) a");
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at, "
        + "delivered_at) SELECT id, 0, 'r' || n || '@gmail.com', 'delivered', created_at, created_at, "
        + "CASE WHEN n::int % 2 = 0 THEN created_at + interval '1 second' END "
        + "FROM (SELECT id, created_at, substring(convert_from(content, 'UTF8') FROM 'S([0-9]+)') AS n FROM messages) m");
  }

  @AfterEach
  void tearDown() {
    join(pool.close());
    join(vertx.close());
  }

  static <T> T join(Future<T> f) {
    return f.toCompletionStage().toCompletableFuture().join();
  }

  /** The export, run on an event loop as the verticle runs it. */
  private ExportJobStore.Ending.Exported export(JsonObject source, Function<ExportJobStore.Job, Future<Boolean>> renew)
      throws Exception {
    ExportJobStore.Job job = new ExportJobStore.Job("a1", "j", "MESSAGE_INSIGHTS",
        new JsonObject().put("MessageInsightsDataSource", source), "JSON", "b", "k", "PROCESSING", BASE, null, null,
        null, null);
    MessageInsightsExport export = new MessageInsightsExport(pool, 1_000);
    CompletableFuture<ExportJobStore.Ending> done = new CompletableFuture<>();
    vertx.runOnContext(v -> export.export(job, renew).onComplete(ar -> {
      if (ar.succeeded()) {
        done.complete(ar.result());
      } else {
        done.completeExceptionally(ar.cause());
      }
    }));
    return (ExportJobStore.Ending.Exported) done.get(120, TimeUnit.SECONDS);
  }

  private static JsonObject span() {
    return new JsonObject().put("StartDate", BASE.getEpochSecond()).put("EndDate", BASE.getEpochSecond() + 60);
  }

  @Test
  void theAccountsMessagesWalkedInBoundedStatementsFilteredAndCut() throws Exception {
    int[] renewals = {0};
    ExportJobStore.Ending.Exported all = export(span().put("Include", new JsonObject()
        .put("Subject", new JsonArray().add("S1*"))), j -> {
          renewals[0]++;
          return Future.succeededFuture(true);
        });
    assertEquals(PER_ACCOUNT, all.processed(), "each of a1's messages, none of a2's");
    assertEquals(1 + 10 + 100 + 1000, all.exported(), "S1, S10-S19, S100-S199, S1000-S1999");
    assertEquals(4, renewals[0], "4,000 messages of any account, 1,000 a statement: renewed after each full one");
    String[] lines = all.file().toString().split("\n");
    assertEquals(1111, lines.length);
    JsonObject first = new JsonObject(lines[0]);
    assertEquals("S1", first.getString("Subject"));
    assertEquals("r1@gmail.com", first.getString("Destination"));
    assertEquals("SEND", first.getString("LastDeliveryEvent"), "S1 was not delivered");
    assertEquals("DELIVERY", new JsonObject(lines[1]).getString("LastDeliveryEvent"), "S10 was");

    ExportJobStore.Ending.Exported delivered = export(span().put("MaxResults", 7).put("Exclude", new JsonObject()
        .put("LastDeliveryEvent", new JsonArray().add("SEND"))), j -> Future.succeededFuture(true));
    assertEquals(7, delivered.exported());
    assertEquals(13, delivered.processed(), "read until the seventh kept: S0, S2, ..., S12");

    // the job is no longer the node's after the first statement: the walk stops there
    ExportJobStore.Ending.Exported stopped = export(span(), j -> Future.succeededFuture(false));
    assertEquals(500, stopped.processed(), "a1's messages among the first 1,000");
    assertTrue(stopped.file().length() > 0);
  }
}
