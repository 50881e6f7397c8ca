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
 * then served from the cache, checked again in the background after {@link MtaSts#RECHECK_MILLIS}, fetched again only
 * for a new id, kept through a vanished TXT record or a failed fetch until its max_age is over, and then gone (and
 * forgotten by the sweep, as domains without a policy are).
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
  final MtaSts.Cache cache = new MtaSts.Cache();
  MtaSts sts;

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
          String body = policy.get();
          req.response().setStatusCode(body == null ? 503 : 200).putHeader("Content-Type", "text/plain")
              .end(body == null ? "" : body);
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    dns.a("mta-sts." + DOMAIN, "127.0.0.1");
    ClientSSLOptions ssl = new ClientSSLOptions().setHostnameVerificationAlgorithm("HTTPS")
        .setTrustOptions(new PemTrustOptions().addCertPath(cert.certificatePath()));
    sts = new MtaSts(cache, resolver, vertx.createHttpClient(new HttpClientOptions()), ssl,
        server.actualPort(), true, 2000, now::get);
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

  static String body(String mx, long maxAge) {
    return "version: STSv1\nmode: enforce\nmx: " + mx + "\nmax_age: " + maxAge + "\n";
  }

  /** Asks once after the recheck time, which starts a check in the background, and waits for it to have run. */
  void recheck(int fetchesAfter) throws Exception {
    now.addAndGet(MtaSts.RECHECK_MILLIS);
    policy();
    Await.until(() -> dns.count("_mta-sts." + DOMAIN, "TXT") > txtQueries, Duration.ofSeconds(5));
    txtQueries = dns.count("_mta-sts." + DOMAIN, "TXT");
    Await.until(fetches::size, n -> n == fetchesAfter, Duration.ofSeconds(5));
    Thread.sleep(200); // the background check puts its answer in the cache after its fetch
  }

  int txtQueries;

  @Test
  void aPolicyIsCachedRefetchedForANewIdAndKeptUntilItsMaxAgeWhenItCannotBeChecked() throws Exception {
    dns.txt("_mta-sts." + DOMAIN, "v=STSv1; id=one;");
    policy.set(body("mx1.cache.example", 3600));
    assertEquals(List.of("mx1.cache.example"), policy().mx());
    assertEquals(List.of("mx1.cache.example"), policy().mx());
    assertEquals(1, fetches.size(), "fetched once, then from the cache");
    txtQueries = dns.count("_mta-sts." + DOMAIN, "TXT");
    assertEquals(1, txtQueries, "the TXT record too is not asked for again before the recheck time");

    // the same id after the recheck time: not fetched again
    policy.set(body("mx2.cache.example", 3600));
    recheck(1);
    assertEquals(List.of("mx1.cache.example"), policy().mx());

    // a new id: fetched again, the new policy in force
    dns.remove("_mta-sts." + DOMAIN).txt("_mta-sts." + DOMAIN, "v=STSv1; id=two;");
    recheck(2);
    assertEquals(List.of("mx2.cache.example"), policy().mx());

    // a newer id whose policy cannot be fetched, then no TXT record at all: the cached policy stays in force
    dns.remove("_mta-sts." + DOMAIN).txt("_mta-sts." + DOMAIN, "v=STSv1; id=three;");
    policy.set(null);
    recheck(3);
    assertEquals(List.of("mx2.cache.example"), policy().mx());
    dns.remove("_mta-sts." + DOMAIN);
    recheck(3);
    assertEquals(List.of("mx2.cache.example"), policy().mx());

    // until its max_age (from its fetch) is over: then none applies
    now.addAndGet(3600_000L);
    assertNull(policy());
  }

  @Test
  void aDomainWithoutARecordHasNoPolicyAndIsNotAskedForEachRecipient() throws Exception {
    assertNull(policy());
    assertNull(policy());
    assertEquals(1, dns.count("_mta-sts." + DOMAIN, "TXT"));
    assertEquals(0, fetches.size());
    // a record published later is found at the next check
    dns.txt("_mta-sts." + DOMAIN, "v=STSv1; id=new;");
    policy.set(body("mx.cache.example", 600));
    txtQueries = 1;
    recheck(1);
    assertEquals(List.of("mx.cache.example"), policy().mx());

    // the sweep keeps a domain with a policy in force, and forgets it once its policy is over
    sts.sweep();
    assertEquals(1, cache.domains.size());
    now.addAndGet(600_000L);
    sts.sweep();
    assertTrue(cache.domains.isEmpty());
  }
}
