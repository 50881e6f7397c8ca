package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.mailgate.testing.Db;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Outcomes written in one batch, one of them with data PostgreSQL would refuse: the others are written all the same.
 */
class OutcomeStoreTest extends MigratedDatabase {
  private static final String OWNER = "node-a/1";

  @BeforeAll
  static void setUp() {
    open(2);
    for (String id : List.of("ok", "nul", "badjson")) {
      Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) "
          + "VALUES ('" + id + "', 'a1', 's@example.com', 's@example.com', 'x', 1, now())");
      Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, lease_owner, "
          + "lease_until, updated_at) VALUES ('" + id + "', 0, '" + id + "@example.org', 'queued', now(), '" + OWNER
          + "', now() + interval '5 minutes', now())");
    }
  }

  static OutcomeStore.Outcome outcome(String id, String state, String reply, String type, String detail,
      Instant next, OutcomeStore.Delivery delivery) {
    return new OutcomeStore.Outcome(id, 0, "a1", id + "@example.org", state, Integer.parseInt(reply.substring(0, 3)),
        reply, type, detail, Instant.now(), next, true, OutcomeStore.Consequences.NONE, delivery, null);
  }

  @Test
  void anOutcomeWithDataTheDatabaseRefusesDoesNotSinkItsBatch() throws Exception {
    OutcomeStore store = new OutcomeStore(vertx, pool, OWNER, 1, 200); // a linger: the three go in one batch
    Instant later = Instant.now().plus(10, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
    List<OutcomeStore.Outcome> outcomes = List.of(
        outcome("ok", "delivered", "250 2.0.0 Ok", null, null, null,
            new OutcomeStore.Delivery("192.0.2.1", "mta\u0000.example.org")),
        // NUL from a hostile answer: PostgreSQL's text and jsonb refuse it
        outcome("nul", "bounced", "550 5.1.1 no\u0000such user", "Bounce",
            new io.vertx.core.json.JsonObject().put("diagnosticCode", "smtp; 550 no\u0000such").encode(), null,
            null),
        // what the code would never build, but PostgreSQL refuses all the same
        outcome("badjson", "queued", "451 4.3.0 later", "DeliveryDelay", "{not json", later, null));
    Promise<List<Void>> written = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> {
      List<Future<Void>> all = new ArrayList<>();
      outcomes.forEach(o -> all.add(store.record(o)));
      Future.all(all).map(f -> (List<Void>) null).onComplete(written);
    });
    await(written.future());
    assertEquals("delivered", Db.string(url, "SELECT state FROM recipients WHERE message_id = 'ok'"));
    assertEquals("mta.example.org", Db.string(url, "SELECT reporting_mta FROM recipients WHERE message_id = 'ok'"));
    assertEquals("bounced", Db.string(url, "SELECT state FROM recipients WHERE message_id = 'nul'"));
    assertEquals("550 5.1.1 nosuch user", Db.string(url, "SELECT smtp_reply FROM recipients WHERE message_id = 'nul'"));
    assertEquals("smtp; 550 nosuch",
        Db.string(url, "SELECT detail->>'diagnosticCode' FROM events WHERE message_id = 'nul'"));
    // written without its texts, but written: still queued, for its next attempt, and no longer leased
    assertEquals("queued", Db.string(url, "SELECT state FROM recipients WHERE message_id = 'badjson'"));
    assertEquals(1, Db.count(url, "SELECT count(*) FROM recipients WHERE message_id = 'badjson' "
        + "AND next_attempt_at BETWEEN now() + interval '9 minutes' AND now() + interval '11 minutes'"));
    assertNull(Db.string(url, "SELECT lease_owner FROM recipients WHERE message_id = 'badjson'"));
    assertEquals("{}", Db.string(url, "SELECT detail::text FROM events WHERE message_id = 'badjson'"));
    assertEquals(0, Db.count(url, "SELECT count(*) FROM recipients WHERE lease_owner IS NOT NULL"));
  }

  /** A message of account a1, sent for the tenant of id {@code tenantId} (or none), its recipient leased here. */
  private static void message(String id, String tenantId) {
    Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at, tenant_id) "
        + "VALUES ('" + id + "', 'a1', 's@example.com', 's@example.com', 'x', 1, now(), "
        + (tenantId == null ? "NULL" : "'" + tenantId + "'") + ")");
    Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, lease_owner, "
        + "lease_until, updated_at) VALUES ('" + id + "', 0, '" + id + "@example.org', 'queued', now(), '" + OWNER
        + "', now() + interval '5 minutes', now())");
  }

  private static OutcomeStore.Outcome counted(String id, String state, String tenantId, boolean hard,
      OutcomeStore.Publish publish) {
    return new OutcomeStore.Outcome(id, 0, "a1", id + "@example.org", state, hard ? 550 : 250,
        hard ? "550 5.1.1 unknown" : "250 ok", hard ? "Bounce" : null, hard ? "{}" : null, Instant.now(), null, true,
        new OutcomeStore.Consequences(null, null, false, true, hard), null, publish, tenantId);
  }

  private void write(OutcomeStore store, List<OutcomeStore.Outcome> outcomes) throws Exception {
    Promise<Void> written = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> {
      List<Future<Void>> all = new ArrayList<>();
      outcomes.forEach(o -> all.add(store.record(o)));
      Future.all(all).<Void>mapEmpty().onComplete(written);
    });
    await(written.future());
  }

  private static long tenantCount(String tenantId, String column) {
    return Db.count(url, "SELECT coalesce(sum(" + column + "), 0) FROM tenant_reputation_buckets "
        + "WHERE account_id = 'a1' AND tenant_id = '" + tenantId + "'");
  }

  /**
   * Each statement a batch may take counts its tenants' outcomes, by the tenant's id: the plain one (deliveries), the
   * plain one that publishes (deliveries of messages with a configuration set), and the general one (a bounce); never
   * for mail of no tenant, and never for another tenant (one made later under the name of a deleted one).
   */
  @Test
  void everyStatementCountsTenantsOutcomes() throws Exception {
    for (String id : List.of("p1", "p2", "pub1", "gen1", "gen2", "none1", "old1")) {
      message(id, id.equals("none1") ? null : id.equals("old1") ? "tn-deleted" : "tn-1");
    }
    OutcomeStore store = new OutcomeStore(vertx, pool, OWNER, 1, 100);

    write(store, List.of(counted("p1", "delivered", "tn-1", false, null),
        counted("p2", "delivered", "tn-1", false, null), counted("none1", "delivered", null, false, null),
        counted("old1", "delivered", "tn-deleted", false, null)));
    assertEquals(2, tenantCount("tn-1", "sent"));
    assertEquals(1, tenantCount("tn-deleted", "sent"));
    assertEquals(2, Db.count(url, "SELECT count(*) FROM tenant_reputation_buckets WHERE account_id = 'a1'"),
        "one bucket for each of the two tenants, none for the mail of none");
    assertEquals(4, Db.count(url, "SELECT sum(sent) FROM reputation_buckets WHERE account_id = 'a1'"),
        "the account counts all");

    write(store, List.of(counted("pub1", "delivered", "tn-1", false,
        new OutcomeStore.Publish("set-without-destinations", "Delivery", "{}", false))));
    assertEquals(3, tenantCount("tn-1", "sent"));

    write(store, List.of(counted("gen1", "bounced", "tn-1", true, null),
        counted("gen2", "delivered", "tn-1", false, null)));
    assertEquals(5, tenantCount("tn-1", "sent"));
    assertEquals(1, tenantCount("tn-1", "hard_bounces"));
    assertEquals(0, Db.count(url, "SELECT count(*) FROM recipients WHERE lease_owner IS NOT NULL "
        + "AND message_id IN ('p1', 'p2', 'pub1', 'gen1', 'gen2', 'none1', 'old1')"), "every outcome written");
  }

  private static OutcomeStore.Outcome queuedAgain(String id, boolean delay, Instant next, Instant due) {
    return new OutcomeStore.Outcome(id, 0, "a1", id + "@example.org", "queued", delay ? 451 : null,
        delay ? "451 4.3.0 later" : null, delay ? "DeliveryDelay" : null, delay ? "{}" : null, Instant.now(), next,
        delay, OutcomeStore.Consequences.NONE, null, null, null, due);
  }

  private java.util.Map<String, Instant> claim(DeliveryQueue queue, List<String> ids) throws Exception {
    Promise<List<io.mailgate.delivery.DeliveryJob>> claimed = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> queue.claim(1000).onComplete(claimed));
    java.util.Map<String, Instant> due = new java.util.HashMap<>();
    for (io.mailgate.delivery.DeliveryJob job : await(claimed.future())) {
      if (ids.contains(job.messageId())) {
        due.put(job.messageId(), job.recipients().get(0).due());
      }
    }
    assertEquals(ids.size(), due.size(), "claimed: " + due);
    return due;
  }

  /**
   * An outcome that puts its recipient back in the queue, written again after its first write committed (its answer
   * lost), while the same node run has claimed the row again for its next attempt: the stale write is fenced by its
   * claim, and leaves the new attempt's lease, the attempt count and the events alone; the new attempt's own outcome
   * is written. Both with an event (the general statement) and without (the plain one).
   */
  @Test
  void aQueuedAgainOutcomeWrittenAgainLeavesTheNextClaimOfItsRowAlone() throws Exception {
    List<String> ids = List.of("again-delay", "again-plain");
    for (String id : ids) {
      Db.execute(url, "INSERT INTO messages (id, account_id, source, envelope_from, content, size, created_at) "
          + "VALUES ('" + id + "', 'a1', 's@example.com', 's@example.com', 'x', 1, now())");
      Db.execute(url, "INSERT INTO recipients (message_id, idx, address, state, next_attempt_at, updated_at) "
          + "VALUES ('" + id + "', 0, '" + id + "@example.org', 'queued', now() - interval '1 hour', now())");
    }
    DeliveryQueue queue = new DeliveryQueue(pool, OWNER, 300);
    OutcomeStore store = new OutcomeStore(vertx, pool, OWNER, 1, 0);
    java.util.Map<String, Instant> first = claim(queue, ids);
    Instant soon = Instant.now().minusSeconds(5); // due again at once
    List<OutcomeStore.Outcome> stale = List.of(queuedAgain("again-delay", true, soon, first.get("again-delay")),
        queuedAgain("again-plain", false, soon, first.get("again-plain")));
    write(store, stale);
    assertEquals(0, Db.count(url, "SELECT count(*) FROM recipients WHERE message_id IN ('again-delay', 'again-plain') "
        + "AND lease_owner IS NOT NULL"), "the first outcomes written");
    java.util.Map<String, Instant> second = claim(queue, ids); // the same run, its next attempt
    String lease = "SELECT lease_owner || ' ' || lease_until::text FROM recipients WHERE message_id = ";
    String leaseDelay = Db.string(url, lease + "'again-delay'");
    String leasePlain = Db.string(url, lease + "'again-plain'");

    write(store, stale); // the first outcomes again: their answer was lost

    assertEquals(leaseDelay, Db.string(url, lease + "'again-delay'"), "the second attempt's lease kept");
    assertEquals(leasePlain, Db.string(url, lease + "'again-plain'"), "the second attempt's lease kept");
    assertEquals(1, Db.count(url, "SELECT attempts FROM recipients WHERE message_id = 'again-delay'"));
    assertEquals(0, Db.count(url, "SELECT attempts FROM recipients WHERE message_id = 'again-plain'"));
    assertEquals(1, Db.count(url, "SELECT count(*) FROM events WHERE message_id = 'again-delay'"), "one DeliveryDelay");

    Instant later = Instant.now().plus(10, ChronoUnit.MINUTES);
    write(store, List.of(queuedAgain("again-delay", true, later, second.get("again-delay")),
        queuedAgain("again-plain", false, later, second.get("again-plain"))));
    assertEquals(0, Db.count(url, "SELECT count(*) FROM recipients WHERE message_id IN ('again-delay', 'again-plain') "
        + "AND lease_owner IS NOT NULL"), "the second attempts' outcomes written");
    assertEquals(2, Db.count(url, "SELECT attempts FROM recipients WHERE message_id = 'again-delay'"));
    assertEquals(2, Db.count(url, "SELECT count(*) FROM events WHERE message_id = 'again-delay'"));
  }

  /**
   * A node whose clock is an hour behind the database's: the retry it asks for in ten minutes is stored ten minutes
   * after the database's now (claims compare with it), not fifty minutes in the past (retried at once, again and
   * again), with an event (the general statement) and without (the plain one).
   */
  @Test
  void theNextAttemptIsStoredOnTheDatabasesClock() throws Exception {
    for (String id : List.of("skew-delay", "skew-plain")) {
      message(id, null);
    }
    OutcomeStore store = new OutcomeStore(vertx, pool, OWNER, 1, 0);
    Instant nodeNow = Instant.now().minus(1, ChronoUnit.HOURS);
    Instant next = nodeNow.plus(10, ChronoUnit.MINUTES);
    write(store, List.of(new OutcomeStore.Outcome("skew-delay", 0, "a1", "skew-delay@example.org", "queued", 451,
            "451 4.3.0 later", "DeliveryDelay", "{}", nodeNow, next, true, OutcomeStore.Consequences.NONE, null, null)));
    write(store, List.of(new OutcomeStore.Outcome("skew-plain", 0, "a1", "skew-plain@example.org", "queued", null, null, null, null,
            nodeNow, next, false, OutcomeStore.Consequences.NONE, null, null)));
    assertEquals(2, Db.count(url, "SELECT count(*) FROM recipients WHERE message_id IN ('skew-delay', 'skew-plain') "
        + "AND lease_owner IS NULL AND next_attempt_at BETWEEN now() + interval '9 minutes' "
        + "AND now() + interval '10 minutes'"));
  }
}
