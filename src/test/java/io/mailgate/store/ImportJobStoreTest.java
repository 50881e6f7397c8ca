package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.store.ImportJobStore.ContactRows;
import io.mailgate.store.ImportJobStore.Job;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Import jobs against PostgreSQL: a batch is written only while the job is still the node's, with its progress and
 * its lease renewed; a job taken over writes nothing more from its first node; an ending stores the failed records'
 * file with COMPLETED, unless it would take the account past what it may keep; a contact list deleted under a job
 * fails its batch; at most so many jobs waiting or running per account; listing by destination.
 */
class ImportJobStoreTest {
  private static final Instant NOW = Instant.parse("2026-12-05T10:00:00Z");
  private static final Duration LEASE = Duration.ofMinutes(10);

  private String url;
  private Vertx vertx;
  private Pool pool;
  private ImportJobStore store;

  @BeforeEach
  void setUp() {
    url = TestServices.freshDatabase();
    vertx = Vertx.vertx();
    pool = TestServices.migratedPool(vertx, url, 2);
    store = new ImportJobStore(pool);
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
    Db.execute(url, "INSERT INTO contact_lists (account_id, name, topics) VALUES ('a1', 'news', '[]')");
  }

  @AfterEach
  void tearDown() {
    join(pool.close());
    join(vertx.close());
  }

  static <T> T join(Future<T> f) {
    return f.toCompletionStage().toCompletableFuture().join();
  }

  private static Job job(String id, Instant at, JsonObject destination) {
    return new Job("a1", id, destination, "CSV", "lists", id + ".csv", ImportJobStore.CREATED, at, null, null, null,
        null, null);
  }

  private static JsonObject suppression(String action) {
    return new JsonObject().put("SuppressionListDestination",
        new JsonObject().put("SuppressionListImportAction", action));
  }

  private static JsonObject contactList(String action) {
    return new JsonObject().put("ContactListDestination",
        new JsonObject().put("ContactListName", "news").put("ContactListImportAction", action));
  }

  private String row(String id) {
    return Db.string(url, "SELECT status || ' ' || coalesce(processed::text, '-') || ' ' || coalesce(lease_owner, '-')"
        + " || ' ' || coalesce(lease_until::text, '-') FROM import_jobs WHERE job_id = '" + id + "'");
  }

  private long suppressed() {
    return Db.count(url, "SELECT count(*) FROM suppressed_destinations WHERE account_id = 'a1'");
  }

  @Test
  void batchesAreFencedByTheLeaseAndCarryTheProgress() {
    assertTrue(join(store.create(job("j1", NOW, suppression("PUT")), 10)));
    Job held = join(store.claim("n1", NOW, NOW.plus(LEASE)));
    assertEquals("j1", held.jobId());
    Instant later = NOW.plus(Duration.ofMinutes(8));
    assertTrue(join(store.suppress(held, "n1", List.of("a@example.com", "b@example.com"), List.of("BOUNCE",
        "COMPLAINT"), 2, NOW, later.plus(LEASE))));
    assertEquals(2, suppressed());
    assertTrue(row("j1").startsWith("PROCESSING 2 n1 2026-12-05 10:18:00"), row("j1"));
    // the lease ran out without a batch: another node takes the job over, and the first writes nothing more
    Job taken = join(store.claim("n2", NOW.plus(Duration.ofMinutes(30)), NOW.plus(Duration.ofMinutes(40))));
    assertEquals("j1", taken.jobId());
    assertFalse(join(store.suppress(held, "n1", List.of("c@example.com"), List.of("BOUNCE"), 3, NOW,
        NOW.plus(LEASE))));
    assertEquals(2, suppressed());
    assertFalse(join(store.end(held, "n1", null, 3, 0, null, null, 0, NOW)));
    // the taker takes the addresses off again, and ends it
    assertTrue(join(store.suppress(taken, "n2", List.of("a@example.com", "b@example.com"), null, 2, NOW,
        NOW.plus(LEASE))));
    assertEquals(0, suppressed());
    assertTrue(join(store.end(taken, "n2", null, 2, 0, null, null, 0, NOW.plusSeconds(5))));
    Job ended = join(store.get("a1", "j1")).orElseThrow();
    assertEquals(ImportJobStore.COMPLETED, ended.status());
    assertEquals(2, ended.processed());
    assertEquals(0, ended.failed());
    assertNull(ended.failedKey());
    assertTrue(row("j1").endsWith(" - -"), row("j1")); // no lease left
  }

  @Test
  void theFailedRecordsFileIsKeptWithTheEndingWithinWhatTheAccountMayKeep() {
    assertTrue(join(store.create(job("j1", NOW, suppression("PUT")), 10)));
    assertTrue(join(store.create(job("j2", NOW.plusSeconds(1), suppression("PUT")), 10)));
    Job first = join(store.claim("n1", NOW, NOW.plus(LEASE)));
    Job second = join(store.claim("n1", NOW, NOW.plus(LEASE)));
    Buffer file = Buffer.buffer("lineNumber,record,errorMessage\r\n1,x,bad\r\n");
    assertTrue(join(store.end(first, "n1", null, 5, 1, file, "j1-failed-records.csv", 1000, NOW)));
    assertEquals("j1-failed-records.csv", join(store.get("a1", "j1")).orElseThrow().failedKey());
    assertEquals(file.toString(), Db.string(url, "SELECT convert_from(content, 'UTF8') FROM received_objects "
        + "WHERE bucket = 'mailgate-imports' AND object_key = 'j1-failed-records.csv'"));
    // past what the account may keep: completed all the same, without the file, saying so
    Buffer big = Buffer.buffer("x".repeat(1000));
    assertTrue(join(store.end(second, "n1", null, 9, 9, big, "j2-failed-records.csv", 1000, NOW)));
    Job without = join(store.get("a1", "j2")).orElseThrow();
    assertEquals(ImportJobStore.COMPLETED, without.status());
    assertNull(without.failedKey());
    assertTrue(without.error().startsWith("The file of the failed records (1000 bytes) would take the account past"),
        without.error());
    assertEquals(1, Db.count(url, "SELECT count(*) FROM received_objects"));
  }

  @Test
  void contactsPutReplaceAndDeleteAndAListDeletedUnderTheJobFailsIt() {
    assertTrue(join(store.create(job("j1", NOW, contactList("PUT")), 10)));
    Job held = join(store.claim("n1", NOW, NOW.plus(LEASE)));
    Db.execute(url, "INSERT INTO contacts (account_id, list_name, email, address, unsubscribe_all, attributes_data) "
        + "VALUES ('a1', 'news', 'old@example.com', 'old@example.com', true, 'was')");
    assertTrue(join(store.contacts(held, "n1", "news", true, new ContactRows(List.of("old@example.com",
        "new@example.com"), List.of("Old@Example.com", "new@example.com"), List.of("{}", "{\"t\":\"OPT_IN\"}"),
        List.of(false, true), java.util.Arrays.asList(null, "{}")), 2, NOW.plus(LEASE))));
    assertEquals("Old@Example.com false -", Db.string(url, "SELECT address || ' ' || unsubscribe_all || ' ' || "
        + "coalesce(attributes_data, '-') FROM contacts WHERE email = 'old@example.com'"));
    assertEquals("{\"t\": \"OPT_IN\"} true", Db.string(url, "SELECT topic_preferences::text || ' ' || "
        + "unsubscribe_all FROM contacts WHERE email = 'new@example.com'"));
    assertTrue(join(store.contacts(held, "n1", "news", false, new ContactRows(List.of("old@example.com"), List.of(),
        List.of(), List.of(), List.of()), 3, NOW.plus(LEASE))));
    assertEquals(1, Db.count(url, "SELECT count(*) FROM contacts"));
    Db.execute(url, "DELETE FROM contact_lists WHERE name = 'news'");
    Throwable gone = assertThrowsCause(() -> join(store.contacts(held, "n1", "news", true, new ContactRows(
        List.of("x@example.com"), List.of("x@example.com"), List.of("{}"), List.of(false),
        java.util.Arrays.asList((String) null)), 4, NOW.plus(LEASE))));
    assertTrue(gone.getMessage().contains("23503") || gone.getMessage().contains("foreign key"), gone.getMessage());
    assertTrue(row("j1").startsWith("PROCESSING 3 "), row("j1")); // the failed batch's progress was not kept
  }

  private static Throwable assertThrowsCause(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      return e.getCause() == null ? e : e.getCause();
    }
    throw new AssertionError("no failure");
  }

  @Test
  void atMostSoManyJobsWaitingOrRunningAndListedByDestination() {
    assertTrue(join(store.create(job("j1", NOW, suppression("PUT")), 2)));
    assertTrue(join(store.create(job("j2", NOW.plusSeconds(1), contactList("DELETE")), 2)));
    assertFalse(join(store.create(job("j3", NOW.plusSeconds(2), suppression("PUT")), 2)));
    assertEquals(List.of("j2", "j1"), join(store.page("a1", null, null, 10)).stream().map(Job::jobId).toList());
    assertEquals(List.of("j1"), join(store.page("a1", "SuppressionListDestination", null, 10)).stream()
        .map(Job::jobId).toList());
    assertEquals(List.of("j2"), join(store.page("a1", "ContactListDestination", null, 10)).stream()
        .map(Job::jobId).toList());
    assertEquals(List.of("j1"), join(store.page("a1", null, new ExportJobStore.Position(NOW.plusSeconds(1), "j2"),
        10)).stream().map(Job::jobId).toList());
    // a stopping node gives its job back, to wait again
    assertEquals("j1", join(store.claim("n1", NOW, NOW.plus(LEASE))).jobId());
    join(store.release("n1"));
    assertTrue(row("j1").startsWith("CREATED"), row("j1"));
  }
}
