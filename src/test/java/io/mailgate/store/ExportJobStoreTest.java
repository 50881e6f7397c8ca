package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.store.ExportJobStore.Ending;
import io.mailgate.store.ExportJobStore.Job;
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
 * Export jobs against PostgreSQL: one node a job, oldest first, a job whose holder's lease ran out taken over; an
 * ending written only while the job is still the node's (a cancelled or taken-over job keeps what it has, and no file
 * is stored); the file and COMPLETED together, unless the file would take the account past what it may keep; at most
 * so many jobs waiting or running per account.
 */
class ExportJobStoreTest {
  private static final Instant NOW = Instant.parse("2026-12-05T10:00:00Z");

  private String url;
  private Vertx vertx;
  private Pool pool;
  private ExportJobStore store;

  @BeforeEach
  void setUp() {
    url = TestServices.freshDatabase();
    vertx = Vertx.vertx();
    pool = TestServices.migratedPool(vertx, url, 2);
    store = new ExportJobStore(pool);
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1), "
        + "('a2', 'a2', 1, 1)");
  }

  @AfterEach
  void tearDown() {
    join(pool.close());
    join(vertx.close());
  }

  static <T> T join(Future<T> f) {
    return f.toCompletionStage().toCompletableFuture().join();
  }

  private static Job job(String account, String id, Instant at) {
    return new Job(account, id, "METRICS_DATA", new JsonObject().put("MetricsDataSource", new JsonObject()), "CSV",
        "reports", id + ".csv", ExportJobStore.CREATED, at, null, null, null, null);
  }

  private String status(String account, String id) {
    return Db.string(url, "SELECT status || ' ' || coalesce(lease_owner, '-') FROM export_jobs WHERE account_id = '"
        + account + "' AND job_id = '" + id + "'");
  }

  private long objects() {
    return Db.count(url, "SELECT count(*) FROM received_objects");
  }

  @Test
  void oneNodeAJobOldestFirstAndAnExpiredLeaseTakenOver() {
    assertTrue(join(store.create(job("a1", "late", NOW.plusSeconds(5)), 10)));
    assertTrue(join(store.create(job("a2", "early", NOW), 10)));

    Job first = join(store.claim("n1", NOW, NOW.plus(Duration.ofMinutes(10))));
    assertEquals("early", first.jobId());
    assertEquals(ExportJobStore.PROCESSING, first.status());
    assertEquals("late", join(store.claim("n2", NOW, NOW.plus(Duration.ofMinutes(10)))).jobId());
    assertNull(join(store.claim("n3", NOW, NOW.plus(Duration.ofMinutes(10)))), "both held");

    // n1 dies: once its lease is out, n3 takes the job, and n1's ending (it woke up late) writes nothing
    Job taken = join(store.claim("n3", NOW.plus(Duration.ofMinutes(11)), NOW.plus(Duration.ofMinutes(21))));
    assertEquals("early", taken.jobId());
    assertFalse(join(store.renew(first, "n1", NOW.plus(Duration.ofMinutes(30)))));
    assertFalse(join(store.end(first, "n1", new Ending.Exported(Buffer.buffer("x"), 1, 1), 0, NOW)));
    assertEquals(0, objects());
    assertEquals("PROCESSING n3", status("a2", "early"));
    assertTrue(join(store.end(taken, "n3", new Ending.Exported(Buffer.buffer("Date\r\n"), 4, 3), 0, NOW)));
    assertEquals("COMPLETED -", status("a2", "early"));
    Job done = join(store.get("a2", "early")).orElseThrow();
    assertEquals(List.of(4L, 3L), List.of(done.processed(), done.exported()));
    assertEquals(NOW, done.completedAt());
    assertEquals("Date\r\n", Db.string(url, "SELECT convert_from(content, 'UTF8') FROM received_objects "
        + "WHERE account_id = 'a2' AND bucket = 'reports' AND object_key = 'early.csv' AND message_id = 'early'"));

    // a stopping node gives its job back: the next node takes it at once
    join(store.release("n2"));
    assertEquals("CREATED -", status("a1", "late"));
    assertEquals("late", join(store.claim("n4", NOW, NOW.plus(Duration.ofMinutes(10)))).jobId());
  }

  @Test
  void aCancelledJobKeepsItsStatusAndNoFileIsStored() {
    Job j = job("a1", "j1", NOW);
    join(store.create(j, 10));
    Job held = join(store.claim("n1", NOW, NOW.plusSeconds(600)));
    assertFalse(join(store.cancel("a2", "j1", NOW)), "another account's job is not cancelled");
    assertTrue(join(store.cancel("a1", "j1", NOW)));
    assertFalse(join(store.cancel("a1", "j1", NOW)), "once");
    assertFalse(join(store.renew(held, "n1", NOW.plusSeconds(900))), "the walk stops at its next renewal");
    assertFalse(join(store.end(held, "n1", new Ending.Exported(Buffer.buffer("x"), 1, 1), 0, NOW)));
    assertFalse(join(store.end(held, "n1", new Ending.Failed("boom", 1), 0, NOW)));
    assertEquals("CANCELLED -", status("a1", "j1"));
    assertEquals(0, objects());
  }

  @Test
  void aFileThatWouldTakeTheAccountPastItsLimitFailsTheJob() {
    Db.execute(url, "INSERT INTO received_objects (account_id, bucket, object_key, message_id, content, created_at) "
        + "VALUES ('a1', 'inbox', 'm1', 'm1', '\\x" + "41".repeat(900) + "', now())");
    join(store.create(job("a1", "big", NOW), 10));
    Job held = join(store.claim("n1", NOW, NOW.plusSeconds(600)));
    assertTrue(join(store.end(held, "n1", new Ending.Exported(Buffer.buffer(new byte[101]), 7, 7), 1000, NOW)));
    Job failed = join(store.get("a1", "big")).orElseThrow();
    assertEquals(ExportJobStore.FAILED, failed.status());
    assertTrue(failed.error().contains("(101 bytes)") && failed.error().contains("900 in use"), failed.error());
    assertEquals(7L, failed.processed());
    assertNull(failed.exported());
    assertEquals(1, objects(), "only what was there");

    join(store.create(job("a1", "fits", NOW), 10));
    Job fits = join(store.claim("n1", NOW, NOW.plusSeconds(600)));
    assertTrue(join(store.end(fits, "n1", new Ending.Exported(Buffer.buffer(new byte[100]), 7, 7), 1000, NOW)));
    assertEquals(ExportJobStore.COMPLETED, join(store.get("a1", "fits")).orElseThrow().status());
    assertEquals(1000, Db.count(url, "SELECT sum(bytes) FROM received_usage WHERE account_id = 'a1'"),
        "the file counts in what the account keeps");
  }

  @Test
  void anAccountHasAtMostSoManyJobsWaitingOrRunningAndListsItsOwnNewestFirst() {
    for (int i = 0; i < 3; i++) {
      assertTrue(join(store.create(job("a1", uid(i), NOW.plusSeconds(i)), 3)));
    }
    assertFalse(join(store.create(job("a1", uid(3), NOW.plusSeconds(3)), 3)));
    assertTrue(join(store.create(job("a2", "other", NOW), 3)), "another account's own count");
    assertTrue(join(store.cancel("a1", uid(0), NOW)));
    assertTrue(join(store.create(job("a1", uid(3), NOW.plusSeconds(3)), 3)), "a cancelled job no longer counts");

    List<Job> page = join(store.page("a1", null, null, null, 2));
    assertEquals(List.of(uid(3), uid(2)), page.stream().map(Job::jobId).toList());
    ExportJobStore.Position after = ExportJobStore.Position.of(new ExportJobStore.Position(page.get(1).createdAt(),
        page.get(1).jobId()).toString());
    assertEquals(List.of(uid(1), uid(0)), join(store.page("a1", null, null, after, 2)).stream().map(Job::jobId)
        .toList());
    assertEquals(List.of(uid(0)), join(store.page("a1", "METRICS_DATA", "CANCELLED", null, 10)).stream()
        .map(Job::jobId).toList());
    assertEquals(List.of(), join(store.page("a1", "MESSAGE_INSIGHTS", null, null, 10)));
    assertNull(ExportJobStore.Position.of("no position"));
    assertNull(ExportJobStore.Position.of(NOW + "\nnot-a-job\u0000"), "a token's id is the caller's text");
    assertNull(ExportJobStore.Position.of("+1000000000-01-01T00:00:00Z\n" + UUID), "a time no timestamp holds");
  }

  private static final String UUID = uid(1);

  /** A job id of the shape jobs have (a token's position names one). */
  private static String uid(int n) {
    return String.format("00000000-0000-4000-8000-%012d", n);
  }

  @Test
  void jobsCreatedAndClaimedAtOnceStillTakeTurns() {
    List<Future<Boolean>> created = new java.util.ArrayList<>();
    for (int i = 0; i < 12; i++) {
      created.add(store.create(job("a1", "c" + i, NOW.plusMillis(i)), 3));
    }
    join(Future.join(created));
    assertEquals(3, created.stream().filter(Future::result).count(), "three, however many at once");
    List<Future<Job>> claims = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      claims.add(store.claim("n" + i, NOW, NOW.plusSeconds(600)));
    }
    join(Future.join(claims));
    List<String> taken = claims.stream().map(Future::result).filter(java.util.Objects::nonNull).map(Job::jobId)
        .sorted().toList();
    assertEquals(3, taken.size(), taken.toString());
    assertEquals(3, taken.stream().distinct().count(), "each job by one node");
  }

  @Test
  void aFileThatReplacesAnotherCountsOnlyOnce() {
    join(store.create(job("a1", "first", NOW), 10));
    Job first = join(store.claim("n1", NOW, NOW.plusSeconds(600)));
    assertTrue(join(store.end(first, "n1", new Ending.Exported(Buffer.buffer(new byte[600]), 1, 1), 1000, NOW)));
    // the same key again: 600 bytes replaced by 700 fit in 1,000
    Job again = new Job("a1", "again", "METRICS_DATA", first.dataSource(), "CSV", "reports", first.key(),
        ExportJobStore.CREATED, NOW.plusSeconds(1), null, null, null, null);
    join(store.create(again, 10));
    Job held = join(store.claim("n1", NOW, NOW.plusSeconds(600)));
    assertTrue(join(store.end(held, "n1", new Ending.Exported(Buffer.buffer(new byte[700]), 1, 1), 1000, NOW)));
    assertEquals(ExportJobStore.COMPLETED, join(store.get("a1", "again")).orElseThrow().status());
    assertEquals(700, Db.count(url, "SELECT sum(bytes) FROM received_usage WHERE account_id = 'a1'"));
  }
}
