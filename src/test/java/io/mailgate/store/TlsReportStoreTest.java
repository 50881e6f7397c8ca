package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import io.vertx.core.Future;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS reporting's rows, as several nodes use them: counts added to one another's, each report claimed by one node at
 * a time and fenced by its attempt, and its counts gone with it once it is done.
 */
class TlsReportStoreTest extends MigratedDatabase {
  static final LocalDate DAY = LocalDate.of(2026, 12, 3);
  static final Instant NEXT_DAY = Instant.parse("2026-12-04T00:20:00Z");

  @BeforeAll
  static void setUp() {
    open(4);
  }

  static TlsReportStore.Count success(String domain, long n) {
    return new TlsReportStore.Count(DAY, domain, "no-policy-found", "", "", "", "", "", "", "", n);
  }

  static TlsReportStore.Count failure(String domain, String result, long n) {
    return new TlsReportStore.Count(DAY, domain, "tlsa", "3 1 1 ab", "mx." + domain, result, "192.0.2.1",
        "mx." + domain, "198.51.100.1", "no match", n);
  }

  @Test
  void nodesAddToEachOthersCountsAndOneOfThemSendsTheReport() throws Exception {
    TlsReportStore store = new TlsReportStore(pool);
    // two nodes write at once, the same kinds of session in either order
    List<Future<Void>> writes = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      writes.add(store.add(List.of(success("a.example", 2), failure("a.example", "tlsa-invalid", 1),
          success("b.example", 1))));
      writes.add(store.add(List.of(success("b.example", 1), failure("a.example", "tlsa-invalid", 1),
          success("a.example", 3))));
    }
    await(Future.all(writes));
    // today's counts are not a report yet
    await(store.add(List.of(new TlsReportStore.Count(DAY.plusDays(1), "a.example", "no-policy-found", "", "", "", "",
        "", "", "", 1))));
    TlsReportStore.Count a = await(store.counts(new TlsReportStore.Due(DAY, "a.example", 1))).stream()
        .filter(c -> c.result().isEmpty()).findFirst().orElseThrow();
    assertEquals(50, a.sessions());
    assertEquals(20, await(store.counts(new TlsReportStore.Due(DAY, "a.example", 1))).stream()
        .filter(c -> !c.result().isEmpty()).mapToLong(TlsReportStore.Count::sessions).sum());

    List<TlsReportStore.Due> claimed = await(store.claim(DAY.plusDays(1), NEXT_DAY, 10, 300));
    assertEquals(List.of("a.example", "b.example"), claimed.stream().map(TlsReportStore.Due::policyDomain).sorted()
        .toList());
    assertTrue(claimed.stream().allMatch(d -> d.attempts() == 1 && d.day().equals(DAY)));
    // leased: another node finds nothing until the lease is over, then claims again (its attempt the second)
    assertTrue(await(store.claim(DAY.plusDays(1), NEXT_DAY.plusSeconds(299), 10, 300)).isEmpty());
    List<TlsReportStore.Due> again = await(store.claim(DAY.plusDays(1), NEXT_DAY.plusSeconds(301), 1, 300));
    assertEquals(1, again.size());
    TlsReportStore.Due first = claimed.stream().filter(d -> d.policyDomain().equals(again.get(0).policyDomain()))
        .findFirst().orElseThrow();
    // the first claim, its lease run out, can no longer finish it
    ExecutionException late = assertThrows(ExecutionException.class,
        () -> await(store.done(first, null, List.of(), "node-1", 60)));
    assertTrue(late.getCause().getMessage().contains("claimed again"));
    await(store.done(again.get(0), null, List.of(), "node-2", 60));
    assertEquals(0, Db.count(url, "SELECT count(*) FROM tls_report_counts WHERE day = '2026-12-03' "
        + "AND policy_domain = '" + first.policyDomain() + "'"));
    // a retry waits for its time
    TlsReportStore.Due other = claimed.stream().filter(d -> d != first).findFirst().orElseThrow();
    await(store.retry(other, NEXT_DAY.plusSeconds(3600), "answered 503"));
    assertTrue(await(store.claim(DAY.plusDays(1), NEXT_DAY.plusSeconds(3599), 10, 300)).isEmpty());
    assertEquals(List.of(other.policyDomain()), await(store.claim(DAY.plusDays(1), NEXT_DAY.plusSeconds(3600), 10,
        300)).stream().map(TlsReportStore.Due::policyDomain).toList());
    assertEquals("answered 503", Db.string(url, "SELECT last_error FROM tls_reports WHERE policy_domain = '"
        + other.policyDomain() + "'"));
    // done reports are forgotten after a while, as are counts no report will take; a due one and its counts are kept
    await(store.sweep(DAY.plusDays(31)));
    assertEquals(1, Db.count(url, "SELECT count(*) FROM tls_reports"));
    assertEquals(other.policyDomain().equals("a.example") ? 2 : 1, Db.count(url, "SELECT count(*) FROM "
        + "tls_report_counts WHERE day = '2026-12-03' AND policy_domain = '" + other.policyDomain() + "'"));
    assertEquals(0, Db.count(url, "SELECT count(*) FROM tls_report_counts WHERE day = '2026-12-04'"));
  }
}
