package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.DnsResolverOptions;
import io.mailgate.identity.Identity;
import io.mailgate.store.RecommendationStore.Finding;
import io.mailgate.testing.FakeDnsServer;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The advisor's DNS checks against a fake of the internet's DNS (answering, failing and taking its time as a real one
 * does): DMARC's pct, BIMI at the domain or its organizational domain and withdrawn while DMARC is not enforced, a
 * failed look-up deciding nothing, and many domains checked a few at a time, each one's findings its own.
 */
class VdmAdvisorDnsTest {
  private Vertx vertx;
  private FakeDnsServer dns;
  private DnsResolver resolver;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    dns = FakeDnsServer.start();
    resolver = new DnsResolver(vertx, DnsResolverOptions.defaults().withServers(dns.hostPort())
        .withQueryTimeout(Duration.ofSeconds(2)).withAttempts(1).withFailureTtl(Duration.ZERO), Clock.systemUTC());
  }

  @AfterEach
  void tearDown() throws Exception {
    resolver.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    dns.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static Identity domain(String name) {
    return new Identity("a1", name, Identity.Type.DOMAIN, Identity.Status.SUCCESS, true, Identity.Status.SUCCESS,
        null, null, null, null, null, null, null, null, null, null, null, null);
  }

  /** Each finding of the domains' DNS checks as identity, type and what it says ("-" fine, "x" withdrawn). */
  private Set<String> advised(String... domains) throws Exception {
    List<Identity> identities = new ArrayList<>();
    for (String d : domains) {
      identities.add(domain(d));
    }
    VdmAdvisor advisor = new VdmAdvisor(resolver, "");
    Promise<List<Finding>> found = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> advisor.advise(identities, Map.of(), 14).onComplete(found));
    Set<String> out = new TreeSet<>();
    for (Finding f : found.future().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS)) {
      if (!f.type().equals(VdmAdvisor.BOUNCE) && !f.type().equals(VdmAdvisor.COMPLAINT)) {
        out.add(f.identity() + " " + f.type() + " " + (f.withdrawn() ? "x" : f.description() == null ? "-"
            : f.impact()));
      }
    }
    return out;
  }

  private void authenticated(String d) {
    dns.txt(d, "v=spf1 -all").txt("_dmarc." + d, "v=DMARC1; p=reject");
  }

  @Test
  void dmarcAppliedToPartOfTheMailIsNotEnforced() throws Exception {
    dns.txt("half.example", "v=spf1 -all").txt("_dmarc.half.example", "v=DMARC1; p=quarantine; pct=50");
    dns.txt("open.example", "v=spf1 -all").txt("_dmarc.open.example", "v=DMARC1; p=none");
    dns.txt("full.example", "v=spf1 -all").txt("_dmarc.full.example", "v=DMARC1; p=reject; pct=100")
        .txt("default._bimi.full.example", "v=BIMI1; l=https://full.example/logo.svg");
    dns.txt("odd.example", "v=spf1 -all").txt("_dmarc.odd.example", "v=DMARC1; p=reject; pct=1000")
        .txt("default._bimi.odd.example", "v=BIMI1; l=https://odd.example/logo.svg");
    assertEquals(new TreeSet<>(List.of(
        "half.example DKIM -", "half.example SPF -", "half.example DMARC LOW", "half.example BIMI x",
        "open.example DKIM -", "open.example SPF -", "open.example DMARC LOW", "open.example BIMI x",
        "full.example DKIM -", "full.example SPF -", "full.example DMARC -", "full.example BIMI -",
        "odd.example DKIM -", "odd.example SPF -", "odd.example DMARC -", "odd.example BIMI -")),
        advised("half.example", "open.example", "full.example", "odd.example"), "an invalid pct is 100");
  }

  @Test
  void bimiIsLookedUpAtTheOrganizationalDomainToo() throws Exception {
    authenticated("brand.example");
    dns.txt("news.brand.example", "v=spf1 -all").txt("default._bimi.brand.example", "v=BIMI1; l=https://b/l.svg");
    authenticated("plain.example");
    dns.txt("news.plain.example", "v=spf1 -all");
    Set<String> found = advised("news.brand.example", "news.plain.example");
    assertTrue(found.contains("news.brand.example BIMI -"), found.toString());
    assertTrue(found.contains("news.plain.example BIMI LOW"), found.toString());
    assertEquals(2, dns.count("default._bimi.news.plain.example", "TXT")
        + dns.count("default._bimi.plain.example", "TXT"));
  }

  @Test
  void aFailedLookUpDecidesNothing() throws Exception {
    authenticated("flaky.example");
    dns.fail("_dmarc.flaky.example", FakeDnsServer.Failure.SERVFAIL);
    assertEquals(Set.of("flaky.example DKIM -", "flaky.example SPF -"), advised("flaky.example"));
  }

  /** More domains than are checked at once, answers slow: every one judged by its own records. */
  @Test
  void manyDomainsAFewAtATime() throws Exception {
    int n = VdmAdvisor.AT_ONCE * 3 + 5;
    String[] domains = new String[n];
    Set<String> expected = new TreeSet<>();
    for (int i = 0; i < n; i++) {
      domains[i] = "d" + i + ".example";
      expected.add(domains[i] + " DKIM -");
      if (i % 2 == 0) {
        authenticated(domains[i]);
        dns.txt("default._bimi." + domains[i], "v=BIMI1; l=https://x/l.svg");
        expected.addAll(List.of(domains[i] + " SPF -", domains[i] + " DMARC -", domains[i] + " BIMI -"));
      } else {
        expected.addAll(List.of(domains[i] + " SPF HIGH", domains[i] + " DMARC HIGH", domains[i] + " BIMI x"));
      }
    }
    dns.delay(Duration.ofMillis(20));
    assertEquals(expected, advised(domains));
  }
}
