package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.DnsResolverOptions;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.OnLoop;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SelfSignedCertificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How {@link MtaSts} keeps a domain's policy over time (RFC 8461 5.1), on a clock the test moves: fetched once and
 * then served from the cache, checked again in the background after {@link MtaSts#RECHECK_MILLIS}, fetched again for
 * a new id and, with the same id, once half its max_age has gone by; kept through a vanished TXT record or a failed
 * fetch until its max_age is over; an expired one looked up again before the recipient goes; forgotten by the sweep
 * once over, as domains without a policy are. A fetch ends at its deadline however slowly its server sends.
 */
class MtaStsCacheTest {
  static final String DOMAIN = "cache.example";
  Vertx vertx;
  Context context;
  FakeDnsServer dns;
  DnsResolver resolver;
  HttpServer server;
  final AtomicReference<String> policy = new AtomicReference<>();
  final List<String> fetches = new CopyOnWriteArrayList<>();
  final AtomicLong now = new AtomicLong(1_000_000_000L);
  volatile boolean trickle;
  final MtaSts.Cache cache = new MtaSts.Cache();
  MtaSts sts;
  ClientSSLOptions ssl;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    dns = FakeDnsServer.start().defaultTtl(0).soa(0, 0);
    resolver = new DnsResolver(vertx, DnsResolverOptions.defaults().withServers(dns.hostPort())
        .withTtlBounds(Duration.ZERO, Duration.ofHours(1)).withQueryTimeout(Duration.ofMillis(500)).withAttempts(1)
        .withFailureTtl(Duration.ZERO), Clock.systemUTC());
    SelfSignedCertificate cert = SelfSignedCertificate.create("mta-sts." + DOMAIN);
    server = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setHost("127.0.0.1").setPort(0)
            .setKeyCertOptions(cert.keyCertOptions()))
        .requestHandler(req -> {
          fetches.add(req.path());
          if (trickle) {
            // a line every 300 ms, for ever: never idle, never done
            req.response().setChunked(true).putHeader("Content-Type", "text/plain").write("version: STSv1\n");
            long timer = vertx.setPeriodic(300, t -> req.response().write("x-padding: more\n"));
            req.connection().closeHandler(v -> vertx.cancelTimer(timer));
            return;
          }
          String body = policy.get();
          req.response().setStatusCode(body == null ? 503 : 200).putHeader("Content-Type", "text/plain")
              .end(body == null ? "" : body);
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    dns.a("mta-sts." + DOMAIN, "127.0.0.1");
    ssl = new ClientSSLOptions().setHostnameVerificationAlgorithm("HTTPS")
        .setTrustOptions(new PemTrustOptions().addCertPath(cert.certificatePath()));
    sts = mtaSts(10_000);
  }

  /** An MtaSts on the test's DNS, policy server and clock, whose fetches have {@code deadlineMillis}. */
  MtaSts mtaSts(long deadlineMillis) {
    return new MtaSts(vertx, cache, resolver, vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false)), ssl,
        server.actualPort(), true, deadlineMillis, now::get);
  }

  @AfterEach
  void tearDown() throws Exception {
    resolver.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    dns.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  MtaStsPolicy policy() throws Exception {
    return OnLoop.start(context, () -> sts.policy(DOMAIN)).get(10, TimeUnit.SECONDS);
  }

  List<String> mx() throws Exception {
    MtaStsPolicy p = policy();
    return p == null ? null : p.mx();
  }

  static String body(String mx, long maxAge) {
    return "version: STSv1\nmode: enforce\nmx: " + mx + "\nmax_age: " + maxAge + "\n";
  }

  /**
   * Moves the clock by {@code millis} (at least the recheck time), asks once (which starts a check in the background
   * and answers what is cached) and waits until that check has put its answer in the cache.
   */
  void recheckAfter(long millis) throws Exception {
    now.addAndGet(millis);
    policy();
    Await.until(() -> cache.domains.get(DOMAIN).checkedAtMillis() == now.get(), Duration.ofSeconds(10));
  }

  void record(String id) {
    dns.remove("_mta-sts." + DOMAIN);
    if (id != null) {
      dns.txt("_mta-sts." + DOMAIN, "v=STSv1; id=" + id + ";");
    }
  }

  @Test
  void aPolicyIsCachedRenewedRefetchedForANewIdAndKeptUntilItsMaxAgeWhenItCannotBeChecked() throws Exception {
    record("one");
    policy.set(body("mx1.cache.example", 3600));
    assertEquals(List.of("mx1.cache.example"), mx());
    assertEquals(List.of("mx1.cache.example"), mx());
    assertEquals(1, fetches.size(), "fetched once, then from the cache");
    assertEquals(1, dns.count("_mta-sts." + DOMAIN, "TXT"), "nor is the record asked for again before its recheck");

    // the same id at the recheck: not fetched again
    policy.set(body("mx2.cache.example", 3600));
    recheckAfter(MtaSts.RECHECK_MILLIS);
    assertEquals(2, dns.count("_mta-sts." + DOMAIN, "TXT"));
    assertEquals(1, fetches.size());
    assertEquals(List.of("mx1.cache.example"), mx());
    // the same id once half its max_age has gone by: fetched again, and in force for its max_age from then
    recheckAfter(1800_000L - MtaSts.RECHECK_MILLIS);
    assertEquals(2, fetches.size());
    assertEquals(List.of("mx2.cache.example"), mx());
    long renewedAt = now.get();

    // a new id: fetched again, the new policy in force
    record("two");
    policy.set(body("mx3.cache.example", 3600));
    recheckAfter(MtaSts.RECHECK_MILLIS);
    assertEquals(3, fetches.size());
    assertEquals(List.of("mx3.cache.example"), mx());
    long fetchedAt = now.get();

    // a newer id whose policy cannot be fetched, then no TXT record at all: the cached policy stays in force
    record("three");
    policy.set(null);
    recheckAfter(MtaSts.RECHECK_MILLIS);
    assertEquals(4, fetches.size());
    assertEquals(List.of("mx3.cache.example"), mx());
    record(null);
    recheckAfter(MtaSts.RECHECK_MILLIS);
    assertEquals(4, fetches.size());
    assertEquals(List.of("mx3.cache.example"), mx());
    assertTrue(now.get() > renewedAt);

    // its max_age over, a policy in place again: the recipient waits for it rather than go unprotected
    record("four");
    policy.set(body("mx4.cache.example", 600));
    now.set(fetchedAt + 3600_000L);
    assertEquals(List.of("mx4.cache.example"), mx());
    assertEquals(5, fetches.size());
    // and with neither a record nor a policy in force, none applies
    record(null);
    now.addAndGet(600_000L);
    assertNull(policy());
    assertEquals(5, fetches.size());
    // which is what the domain's next recipients go by, without a lookup of their own until the recheck time
    int queries = dns.count("_mta-sts." + DOMAIN, "TXT");
    assertNull(policy());
    assertEquals(queries, dns.count("_mta-sts." + DOMAIN, "TXT"));
  }

  /**
   * A max_age of 0 (RFC 8461 allows it) or a few seconds: the policy applies to the recipient it was fetched for, and
   * to the domain's next ones until the recheck time, without a fetch each.
   */
  @Test
  void aPolicyWithAShortMaxAgeAppliesAndIsNotFetchedForEachRecipient() throws Exception {
    record("zero");
    policy.set(body("mx0.cache.example", 0));
    assertEquals(List.of("mx0.cache.example"), mx());
    now.addAndGet(MtaSts.RECHECK_MILLIS / 2);
    assertEquals(List.of("mx0.cache.example"), mx());
    assertEquals(1, fetches.size());
    assertEquals(1, dns.count("_mta-sts." + DOMAIN, "TXT"));
  }

  @Test
  void aDomainWithoutARecordHasNoPolicyAndIsNotAskedForEachRecipient() throws Exception {
    assertNull(policy());
    assertNull(policy());
    assertEquals(1, dns.count("_mta-sts." + DOMAIN, "TXT"));
    assertEquals(0, fetches.size());
    // a record published later is found at the next check (beside a record of another version, which is not one)
    record("new");
    dns.txt("_mta-sts." + DOMAIN, "v=STSv10; id=other;");
    policy.set(body("mx.cache.example", 600));
    recheckAfter(MtaSts.RECHECK_MILLIS);
    assertEquals(List.of("mx.cache.example"), mx());

    // the sweep keeps a domain with a policy in force, however long ago it was checked, and forgets it once its
    // policy is over
    now.addAndGet(MtaSts.RECHECK_MILLIS);
    sts.sweep();
    assertEquals(1, cache.domains.size());
    now.addAndGet(600_000L - MtaSts.RECHECK_MILLIS);
    sts.sweep();
    assertTrue(cache.domains.isEmpty());
  }

  @Test
  void aFetchEndsAtItsDeadlineHoweverSlowlyItsServerSends() throws Exception {
    record("slow");
    trickle = true;
    MtaSts hurried = mtaSts(4000);
    MtaStsPolicy p = OnLoop.start(context, () -> hurried.policy(DOMAIN)).get(30, TimeUnit.SECONDS);
    assertNull(p, "a policy that never ends is no policy");
    assertEquals(1, fetches.size(), "the server was reached, and kept sending");
  }

  @Test
  void anAnswerWithoutAPolicyDoesNotUndoAPolicyAnotherInstanceFound() {
    MtaStsPolicy p = MtaStsPolicy.parse(body("mx.cache.example", 3600));
    long t = 1_000_000L;
    MtaSts.Known found = new MtaSts.Known(p, "a", t, t + 3600_000L, t);
    // an instance whose lookup began before the policy was found, and failed
    assertEquals(found.checkedAt(t + 5), MtaSts.newer(found, MtaSts.Known.none(t + 5), t + 5));
    // an older fetch does not replace a newer one; a newer one replaces an older one
    MtaSts.Known older = new MtaSts.Known(MtaStsPolicy.parse(body("old.cache.example", 3600)), "z", t - 10,
        t + 3600_000L - 10, t + 6);
    assertEquals(found.checkedAt(t + 6), MtaSts.newer(found, older, t + 6));
    assertEquals(found, MtaSts.newer(older, found, t + 6));
    // a policy fetched later replaces one in force even when its max_age is 0 (a domain leaving MTA-STS)
    MtaSts.Known leaving = new MtaSts.Known(MtaStsPolicy.parse("version: STSv1\nmode: none\nmax_age: 0\n"), "b",
        t + 8, t + 8, t + 8);
    assertEquals(leaving, MtaSts.newer(found, leaving, t + 8));
    // without a policy, the answer found stands
    assertEquals(MtaSts.Known.none(t + 7), MtaSts.newer(MtaSts.Known.none(t), MtaSts.Known.none(t + 7), t + 7));
    // an expired policy gives way to an answer without one
    long later = t + 3600_000L;
    assertEquals(MtaSts.Known.none(later), MtaSts.newer(found, MtaSts.Known.none(later), later));
  }
}
