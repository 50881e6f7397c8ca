package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.feedback.MailboxProviders;
import io.mailgate.store.RecommendationStore.Claim;
import io.mailgate.store.RecommendationStore.Finding;
import io.mailgate.store.RecommendationStore.Sums;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The advisor's store against PostgreSQL: a check's findings are written only while its claim holds (a node that
 * took the check over wins), OPEN, FIXED and withdrawn as found, and many identities in one write; the complaint sums
 * count the feedback-loop providers' complaints only.
 */
class RecommendationStoreTest {
  private static final Instant NOW = Instant.parse("2026-12-05T10:00:00.123456789Z");

  private String url;
  private Vertx vertx;
  private Pool pool;
  private RecommendationStore store;

  @BeforeEach
  void setUp() {
    url = TestServices.freshDatabase();
    vertx = Vertx.vertx();
    pool = TestServices.migratedPool(vertx, url, 2);
    store = new RecommendationStore(pool);
  }

  @AfterEach
  void tearDown() {
    join(pool.close());
    join(vertx.close());
  }

  static <T> T join(Future<T> f) {
    return f.toCompletionStage().toCompletableFuture().join();
  }

  private String rows() {
    return Db.string(url, "SELECT coalesce(string_agg(identity || ' ' || type || ' ' || status, ', ' "
        + "ORDER BY identity, type), '') FROM vdm_recommendations WHERE account_id = 'a1'");
  }

  @Test
  void aCheckOvertakenByAnotherNodeWritesNothing() {
    Instant hourAgo = NOW.minus(Duration.ofHours(1));
    Claim first = join(store.claim("a1", "node-a", NOW, hourAgo));
    assertNotNull(first);
    assertNull(join(store.claim("a1", "node-b", NOW.plusSeconds(60), hourAgo)), "taken this hour");
    // an hour on, the first check still running: another node takes it
    Claim second = join(store.claim("a1", "node-b", NOW.plus(Duration.ofHours(1)), NOW.plusSeconds(1)));
    assertNotNull(second);
    List<Finding> found = List.of(new Finding("a.example", "DMARC", "no policy", "HIGH"));
    assertFalse(join(store.record(first, List.of("a.example"), found, NOW)), "its claim is no longer its own");
    assertEquals("", rows());
    assertTrue(join(store.record(second, List.of("a.example"), found, NOW)));
    assertEquals("a.example DMARC OPEN", rows());
    // the same node's later claim: its earlier one is no longer the account's either
    Claim third = join(store.claim("a1", "node-b", NOW.plus(Duration.ofHours(3)), NOW.plus(Duration.ofHours(2))));
    assertFalse(join(store.record(second, List.of("a.example"), List.of(), NOW)));
    assertTrue(join(store.record(third, List.of("a.example"), List.of(), NOW)));
  }

  @Test
  void findingsOpenFixAndWithdrawThousandsAtOnce() {
    Claim claim = join(store.claim("a1", "node-a", NOW, NOW.minus(Duration.ofHours(1))));
    List<String> identities = new ArrayList<>();
    List<Finding> found = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      String identity = String.format("s%05d@a.example", i);
      identities.add(identity);
      found.add(new Finding(identity, "BOUNCE", "bounces", "LOW"));
      found.add(new Finding(identity, "COMPLAINT", "complaints", "LOW"));
    }
    assertTrue(join(store.record(claim, identities, found, NOW)));
    assertEquals(20_000, Db.count(url, "SELECT count(*) FROM vdm_recommendations"));
    found.clear();
    for (String identity : identities) {
      found.add(Finding.fine(identity, "BOUNCE"));
      found.add(Finding.withdrawn(identity, "COMPLAINT"));
    }
    Instant later = NOW.plusSeconds(3600);
    assertTrue(join(store.record(claim, identities, found, later)));
    assertEquals(Map.of("BOUNCE FIXED", 10_000L), Db.longs(url, "SELECT type || ' ' || status, count(*) "
        + "FROM vdm_recommendations GROUP BY 1"));
    assertEquals(10_000, Db.count(url, "SELECT count(*) FROM vdm_recommendations WHERE updated_at > created_at"));
    // fine again: nothing changes (updated_at says when it last did)
    assertTrue(join(store.record(claim, identities, found, later.plusSeconds(3600))));
    assertEquals(0, Db.count(url, "SELECT count(*) FROM vdm_recommendations WHERE updated_at > '"
        + later.plusSeconds(1) + "'"));
    // identities no longer verified: forgotten
    assertTrue(join(store.record(claim, identities.subList(0, 10), List.of(), later)));
    assertEquals(10, Db.count(url, "SELECT count(*) FROM vdm_recommendations"));
  }

  @Test
  void complaintsAreThoseOfTheFeedbackLoopProviders() {
    LocalDate day = LocalDate.of(2026, 12, 1);
    for (String[] row : new String[][] {{"Yahoo", "5", "500"}, {"Outlook", "1", "300"}, {"Gmail", "40", "0"},
        {"Other", "9", "0"}}) {
      Db.execute(url, "INSERT INTO vdm_metrics VALUES ('a1', '" + day + "', 'A.example', '', '" + row[0] + "', 1000, "
          + "1000, 3, 0, " + row[1] + ", 0, 0, 0, 0, " + row[2] + ")");
    }
    Db.execute(url, "INSERT INTO vdm_metrics VALUES ('a1', '" + day + "', 'b.example', '', 'Gmail', 10, 10, 0, 0, 2, "
        + "0, 0, 0, 0, 0)");
    Map<String, Sums> sums = join(store.sums("a1", day, MailboxProviders.FEEDBACK_LOOPS));
    assertEquals(new Sums(4000, 12, 6, 800), sums.get("a.example"));
    assertEquals(new Sums(10, 0, 0, 0), sums.get("b.example"));
    assertEquals(Map.of(), join(store.sums("a1", day.plusDays(1), MailboxProviders.FEEDBACK_LOOPS)));
  }
}
