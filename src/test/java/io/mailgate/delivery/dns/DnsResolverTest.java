package io.mailgate.delivery.dns;

import static io.mailgate.delivery.dns.DnsTestKit.await;
import static io.mailgate.delivery.dns.DnsTestKit.ips;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.FakeDnsServer.Failure;
import io.mailgate.testing.FakeDnsServer.Query;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Lookups, the TTL cache and coalescing, against a DNS server on a socket. */
class DnsResolverTest {

  /** An RSA-2048 DKIM record: 410 characters, so two strings on the wire. */
  private static final String DKIM_KEY = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
      + "x".repeat(330) + "IDAQAB";

  private DnsTestKit kit;
  private FakeDnsServer dns;
  private DnsResolver resolver;

  @BeforeEach
  void setUp() throws Exception {
    kit = new DnsTestKit();
    dns = kit.dns;
    resolver = kit.resolver();
  }

  @AfterEach
  void tearDown() {
    kit.close();
  }

  @Test
  void mxRecordsComeSortedByPreference() {
    dns.mx("example.com", 30, "c.example.com").mx("example.com", 10, "b.example.com")
        .mx("example.com", 10, "a.example.com");

    DnsAnswer<MxRecord> answer = await(resolver.mx("example.com"));

    assertEquals(new DnsAnswer.Found<>("example.com", List.of(new MxRecord(10, "a.example.com"),
        new MxRecord(10, "b.example.com"), new MxRecord(30, "c.example.com"))), answer);
  }

  @Test
  void txtStringsOfOneRecordAreJoinedAndRecordsKeptApart() {
    String name = "mg2025._domainkey.example.com";
    dns.txt(name, DKIM_KEY).txt(name, "unrelated=1");

    DnsAnswer<String> answer = await(resolver.txt(name));

    assertEquals(List.of(DKIM_KEY, "unrelated=1"), answer.records());
    assertEquals(List.of(new Query(name, "TXT", false)), dns.queries(), "fits in UDP: no TCP");
  }

  /** With three servers and the first two silent, the third is asked: every configured server gets its turn. */
  @Test
  void everyConfiguredServerIsAskedBeforeALookupFails() throws Exception {
    try (FakeDnsServer first = FakeDnsServer.start(); FakeDnsServer second = FakeDnsServer.start();
         FakeDnsServer third = FakeDnsServer.start()) {
      first.fail("third.test", Failure.DROP);
      second.fail("third.test", Failure.DROP);
      third.a("third.test", "192.0.2.9");
      DnsResolver three = kit.resolver(kit.options().withServers(List.of(first.address(), second.address(),
          third.address())).withQueryTimeout(java.time.Duration.ofMillis(300)));
      assertEquals(ips("192.0.2.9"), await(three.addresses("third.test")).records());
      assertEquals(1, third.count("third.test", "A"));
    }
  }

  /**
   * With no dns.servers, the system's resolvers (three here, as resolv.conf allows) are each asked before a lookup
   * fails, whatever the number of attempts: not only as many as attempts.
   */
  @Test
  void everySystemResolverIsAskedBeforeALookupFails() throws Exception {
    try (FakeDnsServer first = FakeDnsServer.start(); FakeDnsServer second = FakeDnsServer.start();
         FakeDnsServer third = FakeDnsServer.start()) {
      first.fail("third.test", Failure.DROP);
      second.fail("third.test", Failure.DROP);
      third.a("third.test", "192.0.2.9");
      DnsResolverOptions system = kit.options().withServers(List.of()).withAttempts(2)
          .withQueryTimeout(java.time.Duration.ofMillis(300));
      DnsTransport transport = new DnsTransport(system,
          new io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider(first.address(), second.address(),
              third.address()));
      try {
        assertEquals(ips("192.0.2.9"), await(transport.query("third.test", RecordType.A)).answer().records());
        assertEquals(1, third.count("third.test", "A"));
      } finally {
        await(transport.close());
      }
    }
  }

  /** RFC 5452 9.2: each lookup from a source port of its own, so a spoofed answer has more than a query id to guess. */
  @Test
  void lookupsComeFromSourcePortsOfTheirOwn() {
    for (int i = 0; i < 6; i++) {
      dns.txt("port" + i + ".test", "x");
      await(resolver.txt("port" + i + ".test"));
    }
    List<Integer> ports = dns.udpSourcePorts();
    assertEquals(6, ports.size());
    assertTrue(new java.util.HashSet<>(ports).size() >= 5, "source ports: " + ports);
  }

  @Test
  void answerTooLargeForUdpIsAskedAgainOverTcp() {
    String big = "v=spf1 " + "a".repeat(3000);
    dns.txt("big.example.com", big);

    assertEquals(List.of(big), await(resolver.txt("big.example.com")).records());
    assertEquals(List.of(new Query("big.example.com", "TXT", false), new Query("big.example.com", "TXT", true)),
        dns.queries());
  }

  @Test
  void truncatedAnswerOfAnySizeIsAskedAgainOverTcp() {
    dns.truncateUdp(true).mx("tc.test", 10, "mx.tc.test");

    assertEquals(List.of(new MxRecord(10, "mx.tc.test")), await(resolver.mx("tc.test")).records());
    assertEquals(1, dns.queries().stream().filter(Query::tcp).count());
  }

  /**
   * 2,500 MX records of 253-character names, compressed into one 55 KB answer over TCP: a megabyte of objects if kept
   * whole. The most preferred are kept, though the server sends them last.
   */
  @Test
  void answerOfThousandsOfMxRecordsKeepsTheMostPreferredUpToTheCap() {
    String suffix = "a".repeat(63) + "." + "b".repeat(63) + "." + "c".repeat(63) + "." + "d".repeat(45)
        + ".many.test";
    for (int i = 0; i < 2500; i++) {
      dns.mx("many.test", 2500 - i, String.format("h%04d.", i) + suffix);
    }
    List<MxRecord> mostPreferred = new ArrayList<>();
    for (int preference = 1; preference <= RecordType.MX.maxRecords; preference++) {
      mostPreferred.add(new MxRecord(preference, String.format("h%04d.", 2500 - preference) + suffix));
    }
    assertEquals(253, mostPreferred.get(0).exchange().length());

    List<MxRecord> kept = await(resolver.mx("many.test")).records();
    assertEquals(RecordType.MX.maxRecords, kept.size());
    assertEquals(mostPreferred, kept);
    assertSame(kept, await(resolver.mx("many.test")).records(), "cached as kept");
    assertEquals(List.of(new Query("many.test", "MX", false), new Query("many.test", "MX", true)), dns.queries());
  }

  /** A record longer than what is left of the TXT budget is left out; those after it still fit. */
  @Test
  void txtRecordsPastTheCharacterCapAreLeftOutAndTheRestKept() {
    String spf = "v=spf1 " + "ip4:192.0.2.0/24 ".repeat(25) + "-all";
    String first = "k=" + "x".repeat(7000);
    String second = "k=" + "y".repeat(7000);
    String third = "k=" + "z".repeat(7000); // 21,006 characters with the first two: more than the 16,384 kept
    dns.txt("huge.test", first).txt("huge.test", second).txt("huge.test", third).txt("huge.test", spf);
    dns.txt("one-huge.test", "k=" + "w".repeat(RecordType.TXT.maxCharacters));

    assertEquals(List.of(first, second, spf), await(resolver.txt("huge.test")).records());
    // no record to keep is not "no records", which would fail a DKIM key or an SPF record for good
    assertEquals(new DnsAnswer.Unavailable<>("one-huge.test", "TXT records longer than 16384 characters"),
        await(resolver.txt("one-huge.test")));
  }

  @Test
  void addressAndPtrAnswersKeepTheirFirstRecordsUpToTheCap() {
    List<InetAddress> sent = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      String address = "10.0." + (i / 256) + "." + (i % 256);
      dns.a("pool.test", address).ptr("192.0.2.77", "host" + i + ".pool.test");
      sent.add(DnsTestKit.ip(address));
    }
    List<String> names = new ArrayList<>();
    for (int i = 0; i < RecordType.PTR.maxRecords; i++) {
      names.add("host" + i + ".pool.test");
    }

    List<InetAddress> addresses = await(resolver.a("pool.test")).records();
    assertEquals(RecordType.A.maxRecords, addresses.size());
    assertEquals(sent.subList(0, RecordType.A.maxRecords), addresses);
    List<String> ptrNames = await(resolver.ptr(DnsTestKit.ip("192.0.2.77"))).records();
    assertEquals(RecordType.PTR.maxRecords, ptrNames.size());
    assertEquals(names, ptrNames);
  }

  /**
   * What real domains publish is kept whole: five MX, an SPF record of 450 characters (two strings on the wire) among
   * forty verification records, a 4096-bit DKIM key.
   */
  @Test
  void ordinaryAnswersAreKeptWhole() {
    List<MxRecord> mx = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      dns.mx("big-corp.test", i * 10, "mx" + i + ".mail.protection.big-corp.test");
      mx.add(new MxRecord(i * 10, "mx" + i + ".mail.protection.big-corp.test"));
    }
    String spf = "v=spf1 " + "ip4:198.51.100.0/24 ".repeat(21) + "include:spf.a.test ~all";
    assertEquals(450, spf.length());
    List<String> txt = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      txt.add("site-verification-" + i + "=" + "t".repeat(64));
    }
    txt.add(20, spf);
    txt.forEach(value -> dns.txt("big-corp.test", value));
    String dkim4096 = "v=DKIM1; k=rsa; p=" + "K".repeat(736);
    dns.txt("s2048._domainkey.big-corp.test", DKIM_KEY).txt("s4096._domainkey.big-corp.test", dkim4096);

    assertEquals(mx, await(resolver.mx("big-corp.test")).records());
    assertEquals(txt, await(resolver.txt("big-corp.test")).records());
    assertEquals(List.of(DKIM_KEY), await(resolver.txt("s2048._domainkey.big-corp.test")).records());
    assertEquals(List.of(dkim4096), await(resolver.txt("s4096._domainkey.big-corp.test")).records());
  }

  @Test
  void routesCannotAskForMoreHostsOrAddressesThanAnAnswerKeeps() {
    DnsResolverOptions options = DnsResolverOptions.defaults();
    assertEquals(64, options.withMaxMxHosts(RecordType.MX.maxRecords).maxMxHosts());
    assertThrows(IllegalArgumentException.class, () -> options.withMaxMxHosts(RecordType.MX.maxRecords + 1));
    assertThrows(IllegalArgumentException.class,
        () -> options.withMaxAddressesPerHost(RecordType.A.maxRecords + 1));
  }

  @Test
  void answersAreCachedForTheirTtl() {
    dns.record("ttl.test", "A", 60, "192.0.2.1");

    assertEquals(ips("192.0.2.1"), await(resolver.a("ttl.test")).records());
    dns.remove("ttl.test").a("ttl.test", "192.0.2.2");
    kit.clock.advance(Duration.ofSeconds(59));
    assertEquals(ips("192.0.2.1"), await(resolver.a("ttl.test")).records(), "still the cached answer");
    assertEquals(1, dns.count("ttl.test", "A"));

    kit.clock.advance(Duration.ofSeconds(2));
    assertEquals(ips("192.0.2.2"), await(resolver.a("ttl.test")).records());
    assertEquals(2, dns.count("ttl.test", "A"));
  }

  @Test
  void ttlFloorAndCeilingApply() {
    dns.record("short.test", "A", 5, "192.0.2.1").record("long.test", "A", 7 * 86400, "192.0.2.2");
    DnsResolver bounded = kit.resolver(kit.options().withTtlBounds(Duration.ofSeconds(30), Duration.ofHours(1)));
    await(bounded.a("short.test"));
    await(bounded.a("long.test"));

    kit.clock.advance(Duration.ofSeconds(29));
    await(bounded.a("short.test"));
    assertEquals(1, dns.count("short.test", "A"), "5 s TTL raised to the 30 s floor");
    kit.clock.advance(Duration.ofSeconds(2));
    await(bounded.a("short.test"));
    assertEquals(2, dns.count("short.test", "A"));

    kit.clock.advance(Duration.ofSeconds(3600 - 31 - 1));
    await(bounded.a("long.test"));
    assertEquals(1, dns.count("long.test", "A"));
    kit.clock.advance(Duration.ofSeconds(2));
    await(bounded.a("long.test"));
    assertEquals(2, dns.count("long.test", "A"), "a week's TTL cut to the 1 hour ceiling");
  }

  @Test
  void negativeAnswersAreCachedForTheSoaMinimumWithinTheCeiling() {
    dns.soa(7200, 7200).a("exists.test", "192.0.2.1");
    DnsResolver bounded = kit.resolver(kit.options().withMaxNegativeTtl(Duration.ofMinutes(10)));

    assertEquals(new DnsAnswer.NoSuchDomain<>("gone.test"), await(bounded.txt("gone.test")));
    assertEquals(new DnsAnswer.NoRecords<>("exists.test"), await(bounded.mx("exists.test")));
    kit.clock.advance(Duration.ofSeconds(599));
    await(bounded.txt("gone.test"));
    await(bounded.mx("exists.test"));
    assertEquals(1, dns.count("gone.test", "TXT"));
    assertEquals(1, dns.count("exists.test", "MX"));

    kit.clock.advance(Duration.ofSeconds(2));
    await(bounded.txt("gone.test"));
    await(bounded.mx("exists.test"));
    assertEquals(2, dns.count("gone.test", "TXT"), "7200 s negative TTL cut to the 600 s ceiling");
    assertEquals(2, dns.count("exists.test", "MX"));
  }

  @Test
  void negativeTtlIsTheSmallerOfSoaTtlAndMinimum() {
    dns.soa(90, 3600);

    await(resolver.a("gone.test"));
    kit.clock.advance(Duration.ofSeconds(89));
    await(resolver.a("gone.test"));
    assertEquals(1, dns.count("gone.test", "A"));
    kit.clock.advance(Duration.ofSeconds(2));
    await(resolver.a("gone.test"));
    assertEquals(2, dns.count("gone.test", "A"));
  }

  @Test
  void failuresAreRememberedForTheFailureTtlOnly() {
    dns.a("flaky.test", "192.0.2.1").fail("flaky.test", Failure.SERVFAIL);

    assertEquals(new DnsAnswer.Unavailable<>("flaky.test", "server failure (SERVFAIL)"), await(resolver.a("flaky.test")));
    dns.heal("flaky.test");
    kit.clock.advance(Duration.ofSeconds(9));
    assertInstanceOf(DnsAnswer.Unavailable.class, await(resolver.a("flaky.test")));
    assertEquals(1, dns.count("flaky.test", "A"));

    kit.clock.advance(Duration.ofSeconds(2));
    assertEquals(ips("192.0.2.1"), await(resolver.a("flaky.test")).records());
  }

  @Test
  void refusedIsUnavailable() {
    dns.fail("refused.test", Failure.REFUSED);

    assertEquals(new DnsAnswer.Unavailable<>("refused.test", "query refused (REFUSED)"),
        await(resolver.txt("refused.test")));
  }

  @Test
  void nextServerIsAskedWhenOneDoesNotAnswer() throws Exception {
    try (FakeDnsServer second = FakeDnsServer.start()) {
      dns.fail("example.com", Failure.DROP);
      second.a("example.com", "192.0.2.7");
      DnsResolver two = kit.resolver(kit.options().withServers(dns.hostPort() + "," + second.hostPort())
          .withQueryTimeout(Duration.ofMillis(200)));

      assertEquals(ips("192.0.2.7"), await(two.a("example.com")).records());
      assertEquals(1, dns.count("example.com", "A"));
      assertEquals(1, second.count("example.com", "A"));
    }
  }

  @Test
  void concurrentLookupsShareOneQueryAndCompleteOnTheirCallersContexts() {
    dns.delay(Duration.ofMillis(300)).mx("busy.test", 10, "mx.busy.test");
    Vertx vertx = kit.vertx;
    List<Context> contexts = new ArrayList<>();
    List<Future<DnsAnswer<MxRecord>>> lookups = new ArrayList<>();
    List<String> wrongContext = new CopyOnWriteArrayList<>();
    for (int c = 0; c < 4; c++) {
      Context context = vertx.getOrCreateContext();
      contexts.add(context);
      for (int i = 0; i < 5; i++) {
        Promise<DnsAnswer<MxRecord>> done = Promise.promise();
        lookups.add(done.future());
        context.runOnContext(v -> resolver.mx("busy.test").onComplete(ar -> {
          if (Vertx.currentContext() != context) {
            wrongContext.add(Thread.currentThread().getName());
          }
          done.handle(ar);
        }));
      }
    }

    for (Future<DnsAnswer<MxRecord>> lookup : lookups) {
      assertEquals(List.of(new MxRecord(10, "mx.busy.test")), await(lookup).records());
    }
    assertEquals(1, dns.count("busy.test", "MX"), "twenty lookups, one query");
    assertEquals(List.of(), wrongContext);
    assertEquals(4, contexts.stream().distinct().count());
  }

  @Test
  void cachedAnswerIsAlreadyComplete() {
    dns.a("hot.test", "192.0.2.1");
    await(resolver.a("hot.test"));

    Future<DnsAnswer<InetAddress>> again = resolver.a("hot.test");

    assertTrue(again.isComplete());
    assertSame(again.result(), resolver.a("hot.test").result(), "the same cached answer, no copy");
  }

  @Test
  void dkimRecordThatDisappearsIsGoneOnceItsTtlRunsOut() {
    String name = "sel._domainkey.example.com";
    dns.soa(3600, 60).record(name, "TXT", 300, DKIM_KEY);
    assertEquals(List.of(DKIM_KEY), await(resolver.txt(name)).records());

    dns.remove(name);
    kit.clock.advance(Duration.ofSeconds(299));
    assertEquals(List.of(DKIM_KEY), await(resolver.txt(name)).records(), "cached");
    kit.clock.advance(Duration.ofSeconds(2));
    assertEquals(new DnsAnswer.NoSuchDomain<>(name), await(resolver.txt(name)));

    dns.txt(name, DKIM_KEY);
    kit.clock.advance(Duration.ofSeconds(61));
    assertEquals(List.of(DKIM_KEY), await(resolver.txt(name)).records(), "back after the 60 s negative TTL");
    assertEquals(3, dns.count(name, "TXT"));
  }

  @Test
  void aliasesAreFollowedWithinAndAcrossZones() {
    dns.cname("www.site.test", "web.site.test").cname("web.site.test", "edge.cdn.test")
        .record("edge.cdn.test", "A", 30, "192.0.2.9");

    assertEquals(new DnsAnswer.Found<>("www.site.test", ips("192.0.2.9")), await(resolver.a("www.site.test")));
    assertEquals(1, dns.count("www.site.test", "A"));
    assertEquals(1, dns.count("edge.cdn.test", "A"), "the other zone's target asked for separately");

    kit.clock.advance(Duration.ofSeconds(31));
    await(resolver.a("www.site.test"));
    assertEquals(2, dns.count("www.site.test", "A"), "the chain lives as long as its shortest TTL");
  }

  /**
   * With DNSSEC asked for (the DO bit), a validating resolver's AD bit makes an answer authenticated: found, no data
   * and no such name alike; an answer from an unsigned zone, one reached through an alias in an unsigned zone, and any
   * answer to a resolver that does not ask for DNSSEC are not. TLSA records are read as published.
   */
  @Test
  void answersOfSignedZonesAreAuthenticatedWhenDnssecIsAskedFor() {
    String spki = "8cb0fc6c527506a053f4f14c8464bebbd6dede1738d11468fd4a0a1d9e1ac8a5";
    dns.signed("signed.test").mx("signed.test", 10, "mx.signed.test").a("mx.signed.test", "192.0.2.1")
        .aaaa("mx.signed.test", "2001:db8::1").tlsa("_25._tcp.mx.signed.test", "3 1 1 " + spki.toUpperCase())
        .tlsa("_25._tcp.mx.signed.test", "2 0 2 " + "ab".repeat(64))
        .mx("plain.test", 10, "mx.plain.test").a("mx.plain.test", "192.0.2.2")
        .cname("alias.signed.test", "target.plain.test").a("target.plain.test", "192.0.2.3")
        .a("half.signed.test", "192.0.2.4").aaaa("half.signed.test", "2001:db8::4");
    DnsResolver validating = kit.resolver(kit.options().withDnssec(true));

    assertEquals(new DnsAnswer.Found<>("signed.test", List.of(new MxRecord(10, "mx.signed.test")), true),
        await(validating.mx("signed.test")));
    DnsAnswer<TlsaRecord> tlsa = await(validating.tlsa("mx.signed.test", 25));
    assertEquals(List.of(new TlsaRecord(3, 1, 1, spki), new TlsaRecord(2, 0, 2, "ab".repeat(64))), tlsa.records());
    assertTrue(tlsa.authenticated());
    assertTrue(await(validating.addresses("mx.signed.test")).authenticated(), "A and AAAA both authentic");
    assertEquals(new DnsAnswer.NoRecords<>("mx.signed.test", true), await(validating.txt("mx.signed.test")));
    assertEquals(new DnsAnswer.NoSuchDomain<>("_25._tcp.signed.test", true), await(validating.tlsa("signed.test", 25)));
    assertFalse(await(validating.mx("plain.test")).authenticated(), "an unsigned zone");
    assertEquals(new DnsAnswer.Found<>("alias.signed.test", ips("192.0.2.3"), false),
        await(validating.a("alias.signed.test")), "its alias leads out of the signed zone");
    dns.fail("half.signed.test", "AAAA", Failure.SERVFAIL);
    DnsAnswer<java.net.InetAddress> half = await(validating.addresses("half.signed.test"));
    assertEquals(ips("192.0.2.4"), half.records());
    assertTrue(half.authenticated(), "a family that failed adds no address, and takes nothing from the other's");
    // an alias in an unsigned zone, answered apart from its signed target: not authentic either
    dns.cname("alias.plain.test", "mx.signed.test");
    int asked = dns.count("mx.signed.test", "A");
    assertEquals(new DnsAnswer.Found<>("alias.plain.test", ips("192.0.2.1"), false),
        await(validating.a("alias.plain.test")));
    assertEquals(asked + 1, dns.count("mx.signed.test", "A"), "the target was asked for on its own, answered AD");
    // a resolver that does not ask for DNSSEC is never told
    assertEquals(new DnsAnswer.Found<>("signed.test", List.of(new MxRecord(10, "mx.signed.test")), false),
        await(resolver.mx("signed.test")));
    assertFalse(await(resolver.tlsa("mx.signed.test", 25)).authenticated());
  }

  /**
   * The AD bit crosses the network unauthenticated: believed from a resolver on this machine (loopback), from one
   * elsewhere only when configured so.
   */
  @Test
  void theAdBitOfAResolverElsewhereIsBelievedOnlyWhenConfigured() throws Exception {
    java.net.InetAddress own = java.net.InetAddress.getByName(io.mailgate.testing.OwnAddress.get());
    try (FakeDnsServer remote = FakeDnsServer.start(own)) {
      remote.signed("signed.test").mx("signed.test", 10, "mx.signed.test");
      DnsResolverOptions there = kit.options().withServers(remote.hostPort()).withDnssec(true);
      assertFalse(await(kit.resolver(there).mx("signed.test")).authenticated());
      assertTrue(await(kit.resolver(there.withTrustRemoteAd(true)).mx("signed.test")).authenticated());
    }
  }

  @Test
  void addressesCombinesAAndAaaa() {
    dns.a("dual.test", "192.0.2.1").aaaa("dual.test", "2001:db8::1").aaaa("six.test", "2001:db8::6")
        .txt("none.test", "no address").fail("half.test", "AAAA", Failure.SERVFAIL).a("half.test", "192.0.2.2");

    assertEquals(ips("192.0.2.1", "2001:db8::1"), await(resolver.addresses("dual.test")).records());
    assertEquals(ips("2001:db8::6"), await(resolver.addresses("six.test")).records());
    assertEquals(ips("192.0.2.2"), await(resolver.addresses("half.test")).records());
    assertEquals(new DnsAnswer.NoRecords<>("none.test"), await(resolver.addresses("none.test")));
    assertEquals(new DnsAnswer.NoSuchDomain<>("void.test"), await(resolver.addresses("void.test")));
  }

  @Test
  void ptrRecordsAreAskedUnderTheReverseNameOfV4AndV6Addresses() {
    // two names in one zone: the second's RDATA is compressed, a pointer into the first's
    dns.ptr("192.0.2.1", "mail.example.com").ptr("192.0.2.1", "mx.Example.COM.")
        .ptr("2001:db8::cb01", "six.example.net");

    assertEquals(new DnsAnswer.Found<>("1.2.0.192.in-addr.arpa", List.of("mail.example.com", "mx.example.com")),
        await(resolver.ptr(DnsTestKit.ip("192.0.2.1"))));
    String six = "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
    assertEquals(new DnsAnswer.Found<>(six, List.of("six.example.net")),
        await(resolver.ptr(DnsTestKit.ip("2001:db8::cb01"))));
    assertEquals(List.of(new Query("1.2.0.192.in-addr.arpa", "PTR", false), new Query(six, "PTR", false)),
        dns.queries());
  }

  @Test
  void ptrAnswersAreCachedFailuresKeptApartAndAliasesFollowed() {
    dns.record(FakeDnsServer.reverseName("192.0.2.7"), "PTR", 60, "host.example.com");
    // RFC 2317: a classless delegation makes the reverse name an alias
    dns.cname("9.2.0.192.in-addr.arpa", "9.0-25.2.0.192.in-addr.arpa")
        .record("9.0-25.2.0.192.in-addr.arpa", "PTR", 300, "nine.example.com");
    dns.fail("8.2.0.192.in-addr.arpa", Failure.SERVFAIL);

    assertEquals(List.of("host.example.com"), await(resolver.ptr(DnsTestKit.ip("192.0.2.7"))).records());
    kit.clock.advance(Duration.ofSeconds(59));
    await(resolver.ptr(DnsTestKit.ip("192.0.2.7")));
    assertEquals(1, dns.count("7.2.0.192.in-addr.arpa", "PTR"), "cached for its TTL");
    kit.clock.advance(Duration.ofSeconds(2));
    await(resolver.ptr(DnsTestKit.ip("192.0.2.7")));
    assertEquals(2, dns.count("7.2.0.192.in-addr.arpa", "PTR"));

    assertEquals(new DnsAnswer.Found<>("9.2.0.192.in-addr.arpa", List.of("nine.example.com")),
        await(resolver.ptr(DnsTestKit.ip("192.0.2.9"))));
    assertEquals(new DnsAnswer.Unavailable<>("8.2.0.192.in-addr.arpa", "server failure (SERVFAIL)"),
        await(resolver.ptr(DnsTestKit.ip("192.0.2.8"))));
    assertEquals(new DnsAnswer.NoSuchDomain<>("10.2.0.192.in-addr.arpa"),
        await(resolver.ptr(DnsTestKit.ip("192.0.2.10"))));
  }

  @Test
  void namesAreCanonicalAndBadNamesFailWithoutAQuery() {
    dns.a("xn--bcher-kva.test", "192.0.2.1");

    assertEquals(new DnsAnswer.Found<>("xn--bcher-kva.test", ips("192.0.2.1")), await(resolver.a("BÜCHER.test.")));
    Future<DnsAnswer<InetAddress>> bad = resolver.a("bad..name");
    assertTrue(bad.failed());
    assertInstanceOf(IllegalArgumentException.class, bad.cause());
    assertEquals(1, dns.queries().size());
  }

  @Test
  void closingFailsLookupsUnderWayAndAfter() {
    dns.fail("slow.test", Failure.DROP);
    DnsResolver closing = kit.resolver(kit.options().withQueryTimeout(Duration.ofSeconds(30)));
    Future<DnsAnswer<String>> underWay = closing.txt("slow.test");
    Await.until(() -> dns.count("slow.test", "TXT") == 1, Duration.ofSeconds(5));

    await(closing.close());

    Throwable error = assertThrows(Throwable.class, () -> underWay.toCompletionStage().toCompletableFuture()
        .get(5, java.util.concurrent.TimeUnit.SECONDS));
    assertInstanceOf(IllegalStateException.class, error.getCause());
    Future<DnsAnswer<String>> after = closing.txt("other.test");
    Await.until(after::isComplete, Duration.ofSeconds(5));
    assertInstanceOf(IllegalStateException.class, after.cause());
  }

  @Test
  void systemResolversAreReadWhenNoneAreConfigured() {
    DnsResolver system = kit.resolver(DnsResolverOptions.defaults());

    // No query: the test machine's resolvers may not be reachable. Building must not fail.
    assertTrue(system.a("bad..name").failed());
  }

  @Test
  void serverListIsParsed() {
    assertEquals(List.of(new InetSocketAddress(DnsTestKit.ip("127.0.0.1"), 5353),
            new InetSocketAddress(DnsTestKit.ip("::1"), 53),
            new InetSocketAddress(DnsTestKit.ip("10.0.0.2"), 53),
            new InetSocketAddress(DnsTestKit.ip("2001:db8::1"), 5300)),
        DnsResolverOptions.parseServers("127.0.0.1:5353, ::1 10.0.0.2,[2001:db8::1]:5300"));
    assertThrows(IllegalArgumentException.class, () -> DnsResolverOptions.parseServers("dns.example.com"));
    assertThrows(IllegalArgumentException.class, () -> DnsResolverOptions.parseServers("127.0.0.1:99999"));
  }
}
