package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.DnsResolverOptions;
import io.mailgate.receiving.SpfVerdict.Result;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.FakeDnsServer.Failure;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The SPF evaluator (RFC 7208) against a DNS server on a socket, through the node's resolver. */
class SpfTest {
  private Vertx vertx;
  private Context context;
  private FakeDnsServer dns;
  private DnsResolver resolver;
  private SpfVerdict spf;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    dns = FakeDnsServer.start();
    resolver = new DnsResolver(vertx, DnsResolverOptions.defaults().withServers(dns.hostPort())
        .withQueryTimeout(Duration.ofMillis(500)).withAttempts(1).withFailureTtl(Duration.ZERO), Clock.systemUTC());
    spf = new SpfVerdict(vertx, resolver);
  }

  @AfterEach
  void tearDown() {
    await(resolver.close());
    dns.close();
    await(vertx.close());
  }

  private static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Runs on an event loop, as the inbound server does. */
  private Result check(SpfVerdict verdict, InetAddress ip, String reversePath, String helo) {
    Promise<Result> result = Promise.promise();
    context.runOnContext(v -> verdict.check(ip, reversePath, helo).onComplete(result));
    return await(result.future());
  }

  private Result check(String ip, String reversePath) {
    return check(spf, ip(ip), reversePath, "mta.client.example");
  }

  private static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal); // a literal: no lookup
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  @Test
  void ip4AndIp6WithPrefixLengths() {
    dns.txt("net.example", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip4:198.51.100.7 ~all");
    assertEquals(Result.PASS, check("192.0.2.200", "a@net.example"));
    assertEquals(Result.PASS, check("198.51.100.7", "a@net.example"));
    assertEquals(Result.SOFTFAIL, check("198.51.100.8", "a@net.example"));
    assertEquals(Result.PASS, check("2001:db8:ffff::1", "a@net.example"));
    assertEquals(Result.SOFTFAIL, check("2001:db9::1", "a@net.example"));
  }

  @Test
  void anIpv4MappedClientIsIpv4() throws Exception {
    dns.txt("net.example", "v=spf1 ip4:192.0.2.0/24 -all");
    byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 9};
    InetAddress client = Inet6Address.getByAddress(null, mapped, -1);
    assertInstanceOf(Inet6Address.class, client);
    assertEquals(Result.PASS, check(spf, client, "a@net.example", "h.example"));
  }

  @Test
  void aWithDualPrefixLengthsAndAnotherDomain() {
    dns.a("web.example", "192.0.2.10").aaaa("web.example", "2001:db8::10");
    dns.txt("web.example", "v=spf1 a/30//64 -all");
    dns.txt("other.example", "v=spf1 a:web.example -all");
    assertEquals(Result.PASS, check("192.0.2.11", "a@web.example"), "within /30");
    assertEquals(Result.FAIL, check("192.0.2.14", "a@web.example"), "outside /30");
    assertEquals(Result.PASS, check("2001:db8::ffff:1", "a@web.example"), "within //64");
    assertEquals(Result.FAIL, check("2001:db8:1::10", "a@web.example"), "outside //64");
    assertEquals(Result.PASS, check("192.0.2.10", "a@other.example"));
    assertEquals(Result.FAIL, check("192.0.2.11", "a@other.example"), "no prefix length: the address only");
  }

  @Test
  void mxOfTheDomainAndItsHostsAddresses() {
    dns.mx("mail.example", 10, "mx1.mail.example").mx("mail.example", 20, "mx2.mail.example");
    dns.a("mx1.mail.example", "192.0.2.20").a("mx2.mail.example", "198.51.100.20")
        .aaaa("mx2.mail.example", "2001:db8::20");
    dns.txt("mail.example", "v=spf1 mx/31 -all");
    assertEquals(Result.PASS, check("192.0.2.21", "a@mail.example"));
    assertEquals(Result.PASS, check("198.51.100.20", "a@mail.example"));
    assertEquals(Result.PASS, check("2001:db8::20", "a@mail.example"));
    assertEquals(Result.FAIL, check("192.0.2.22", "a@mail.example"));
    for (int i = 0; i < 11; i++) {
      dns.mx("many-mx.example", i, "mx" + i + ".many-mx.example");
    }
    dns.txt("many-mx.example", "v=spf1 mx -all");
    assertEquals(Result.PERMERROR, check("192.0.2.21", "a@many-mx.example"), "more than 10 MX records");
  }

  @Test
  void includeMatchesOnlyOnPass() {
    dns.txt("_spf.provider.example", "v=spf1 ip4:203.0.113.0/24 -all");
    dns.txt("brand.example", "v=spf1 include:_spf.provider.example ?all");
    dns.txt("broken.example", "v=spf1 include:nothing.example -all");
    assertEquals(Result.PASS, check("203.0.113.5", "a@brand.example"));
    assertEquals(Result.NEUTRAL, check("198.51.100.1", "a@brand.example"), "the include's fail is no match");
    assertEquals(Result.PERMERROR, check("198.51.100.1", "a@broken.example"), "include of a domain without SPF");
  }

  @Test
  void redirectWhenNothingMatched() {
    dns.txt("_spf.provider.example", "v=spf1 ip4:203.0.113.0/24 -all");
    dns.txt("brand.example", "v=spf1 ip4:192.0.2.1 redirect=_spf.provider.example");
    dns.txt("lost.example", "v=spf1 redirect=nothing.example");
    assertEquals(Result.PASS, check("192.0.2.1", "a@brand.example"));
    assertEquals(Result.PASS, check("203.0.113.9", "a@brand.example"));
    assertEquals(Result.FAIL, check("198.51.100.1", "a@brand.example"), "the redirect target's -all");
    assertEquals(Result.PERMERROR, check("198.51.100.1", "a@lost.example"), "redirect to a domain without SPF");
  }

  @Test
  void existsWithTheRfcsMacros() {
    dns.a("3.2.0.192.in-addr._spf.example.com", "127.0.0.2");
    dns.a("bad.strong.lp._spf.example.com", "127.0.0.2");
    dns.txt("email.example.com", "v=spf1 exists:%{ir}.%{v}._spf.%{d2} exists:%{lr-}.lp._spf.%{d2} -all");
    assertEquals(Result.PASS, check("192.0.2.3", "strong-bad@email.example.com"));
    assertEquals(Result.PASS, check("192.0.2.4", "strong-bad@email.example.com"), "by the local part");
    assertEquals(Result.FAIL, check("192.0.2.4", "weak-good@email.example.com"));
  }

  @Test
  void theNullSenderIsPostmasterAtTheHeloName() {
    dns.a("postmaster.mta.helo.example.check.example", "127.0.0.2");
    dns.txt("mta.helo.example", "v=spf1 exists:%{l}.%{o}.check.example -all");
    assertEquals(Result.PASS, check(spf, ip("192.0.2.1"), "", "mta.helo.example"));
    assertEquals(Result.NONE, check(spf, ip("192.0.2.1"), "", "[192.0.2.1]"), "an address literal has no SPF");
    dns.a("mta.client.example.helo.example", "127.0.0.2");
    dns.txt("h.example", "v=spf1 exists:%{h}.helo.example -all");
    assertEquals(Result.PASS, check("192.0.2.1", "a@h.example"), "%{h} is the HELO name");
  }

  @Test
  void macroExpansionAsInSection74() {
    SpfMacro.Context v4 = new SpfMacro.Context(ip("192.0.2.3"), "strong-bad@email.example.com", "strong-bad",
        "email.example.com", "mx.example.org", "email.example.com", List.of());
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("%{s}", "strong-bad@email.example.com");
    expected.put("%{o}", "email.example.com");
    expected.put("%{d}", "email.example.com");
    expected.put("%{d4}", "email.example.com");
    expected.put("%{d3}", "email.example.com");
    expected.put("%{d2}", "example.com");
    expected.put("%{d1}", "com");
    expected.put("%{dr}", "com.example.email");
    expected.put("%{d2r}", "example.email");
    expected.put("%{l}", "strong-bad");
    expected.put("%{l-}", "strong.bad");
    expected.put("%{lr}", "strong-bad");
    expected.put("%{lr-}", "bad.strong");
    expected.put("%{l1r-}", "strong");
    expected.put("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com");
    expected.put("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
    expected.put("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    expected.put("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com");
    expected.put("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net");
    expected.put("%{S}", "strong-bad%40email.example.com");
    expected.put("%{h}%%%_%-%{p}", "mx.example.org% %20unknown");
    expected.forEach((spec, value) -> {
      SpfMacro.checkMacroString(spec, false);
      assertEquals(value, SpfMacro.expand(spec, v4), spec);
    });
    assertEquals("mx.email.example.com", SpfMacro.expand("%{p}", v4.withClientNames(List.of("other.example.net",
        "mx.email.example.com", "email.example.com.example.net"))), "a name in %{d} before the first");
    assertEquals("email.example.com", SpfMacro.expand("%{p}", v4.withClientNames(List.of("mx.email.example.com",
        "email.example.com"))), "%{d} itself before a name below it");
    assertEquals("example.net", SpfMacro.expand("%{p2}", v4.withClientNames(List.of("other.example.net"))), "any");
    assertTrue(SpfMacro.needsClientNames("%{d}.%{P}") && SpfMacro.needsClientNames("%%%{pr}"));
    assertTrue(!SpfMacro.needsClientNames("%%{p}.%{d}") && !SpfMacro.needsClientNames("%{d}.p"));
    SpfMacro.Context v6 = new SpfMacro.Context(ip("2001:db8::cb01"), "strong-bad@email.example.com", "strong-bad",
        "email.example.com", "mx.example.org", "email.example.com", List.of());
    assertEquals("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com",
        SpfMacro.expand("%{ir}.%{v}._spf.%{d2}", v6));
    for (String bad : List.of("%{x}", "%{d0}", "%{c}", "%", "%x", "%{d", "a b")) {
      assertThrows(IllegalArgumentException.class, () -> SpfMacro.checkMacroString(bad, false), bad);
    }
    String longLocal = "x".repeat(63) + "." + "y".repeat(63) + "." + "z".repeat(63) + "." + "w".repeat(63);
    SpfMacro.Context big = new SpfMacro.Context(ip("192.0.2.3"), longLocal + "@e.example", longLocal, "e.example",
        "h.example", "e.example", null);
    assertEquals("y".repeat(63) + "." + "z".repeat(63) + "." + "w".repeat(63) + ".e.example",
        SpfMacro.expandDomain("%{l}.%{d}", big), "a name over 253 characters loses labels on its left");
  }

  @Test
  void tenDnsQueryingTermsAtMost() {
    StringBuilder ten = new StringBuilder("v=spf1");
    for (int i = 1; i <= 11; i++) {
      dns.a("h" + i + ".limit.example", "198.51.100." + i);
      if (i <= 10) {
        ten.append(" a:h").append(i).append(".limit.example");
      }
    }
    dns.txt("ten.example", ten + " -all");
    dns.txt("eleven.example", ten + " a:h11.limit.example -all");
    dns.txt("ptr.example", ten + " ptr -all");
    assertEquals(Result.FAIL, check("192.0.2.1", "a@ten.example"));
    assertEquals(Result.PERMERROR, check("192.0.2.1", "a@eleven.example"));
    assertEquals(Result.PERMERROR, check("192.0.2.1", "a@ptr.example"), "ptr counts too");
    assertEquals(Result.PASS, check("198.51.100.10", "a@eleven.example"), "a match before the limit");
    dns.txt("loop.example", "v=spf1 include:loop.example -all");
    assertEquals(Result.PERMERROR, check("192.0.2.1", "a@loop.example"), "an include loop ends at the limit");
  }

  @Test
  void ptrMatchesValidatedNamesOfTheDomainAndBelowIt() {
    dns.ptr("192.0.2.1", "mail.ptr.example").a("mail.ptr.example", "192.0.2.1");
    dns.ptr("192.0.2.2", "host.sub.ptr.example").a("host.sub.ptr.example", "192.0.2.2");
    dns.ptr("192.0.2.3", "xptr.example").a("xptr.example", "192.0.2.3");
    dns.ptr("192.0.2.4", "PTR.example.").a("ptr.example", "192.0.2.4");
    dns.txt("ptr.example", "v=spf1 ptr -all");
    dns.txt("other.example", "v=spf1 ptr:sub.PTR.example -all");
    assertEquals(Result.PASS, check("192.0.2.1", "a@ptr.example"), "a name below the domain");
    assertEquals(Result.PASS, check("192.0.2.2", "a@ptr.example"), "two levels below");
    assertEquals(Result.FAIL, check("192.0.2.3", "a@ptr.example"), "xptr.example only ends in the domain's letters");
    assertEquals(Result.PASS, check("192.0.2.4", "a@ptr.example"), "the domain itself");
    assertEquals(Result.PASS, check("192.0.2.2", "a@other.example"), "ptr:domain, in any case");
    assertEquals(Result.FAIL, check("192.0.2.1", "a@other.example"));
  }

  @Test
  void aPtrNameIsValidatedOnlyByAnAddressRecordOfTheClient() {
    dns.ptr("192.0.2.5", "forged.ptr.example").a("forged.ptr.example", "198.51.100.5")
        .ptr("192.0.2.5", "gone.ptr.example");
    dns.ptr("192.0.2.6", "down.ptr.example").fail("down.ptr.example", Failure.SERVFAIL)
        .ptr("192.0.2.6", "good.ptr.example").a("good.ptr.example", "192.0.2.6");
    dns.ptr("192.0.2.7", "six.ptr.example").aaaa("six.ptr.example", "2001:db8::7");
    dns.txt("ptr.example", "v=spf1 ptr -all");
    assertEquals(Result.FAIL, check("192.0.2.5", "a@ptr.example"), "its A record is another address, or none");
    assertEquals(Result.PASS, check("192.0.2.6", "a@ptr.example"), "a failed A lookup skips that name only");
    assertEquals(Result.FAIL, check("192.0.2.7", "a@ptr.example"), "an IPv4 client's names need an A record");
  }

  @Test
  void anIpv6ClientsNamesAreValidatedByAaaaRecords() {
    dns.ptr("2001:db8::25", "mx.six.example").aaaa("mx.six.example", "2001:db8::25").a("mx.six.example", "192.0.2.25");
    dns.ptr("2001:db8::26", "v4.six.example").a("v4.six.example", "192.0.2.26");
    dns.txt("six.example", "v=spf1 ptr -all");
    assertEquals(Result.PASS, check("2001:db8::25", "a@six.example"));
    assertEquals(Result.FAIL, check("2001:db8::26", "a@six.example"), "an A record does not validate an IPv6 client");
    assertEquals(1, dns.count(FakeDnsServer.reverseName("2001:db8::26"), "PTR"), "asked under ip6.arpa");
  }

  @Test
  void onlyTheFirstTenPtrNamesAreConsidered() {
    for (int i = 1; i <= 10; i++) {
      dns.ptr("192.0.2.8", "n" + i + ".many.example").a("n" + i + ".many.example", "192.0.2.8");
    }
    dns.ptr("192.0.2.8", "n11.match.example").a("n11.match.example", "192.0.2.8");
    dns.ptr("192.0.2.9", "n1.many.example");
    for (int i = 2; i <= 9; i++) {
      dns.ptr("192.0.2.9", "m" + i + ".many.example");
    }
    dns.ptr("192.0.2.9", "m10.match.example").a("m10.match.example", "192.0.2.9");
    dns.txt("match.example", "v=spf1 ptr -all");
    assertEquals(Result.FAIL, check("192.0.2.8", "a@match.example"), "the eleventh name is ignored");
    assertEquals(0, dns.count("n11.match.example", "A"), "and not even looked up");
    assertEquals(Result.PASS, check("192.0.2.9", "a@match.example"), "the tenth is not");
  }

  @Test
  void aFailedPtrLookupIsNoMatchAndNoError() {
    dns.fail(FakeDnsServer.reverseName("192.0.2.10"), Failure.SERVFAIL);
    dns.txt("ptr.example", "v=spf1 ptr ip4:192.0.2.10 -all");
    assertEquals(Result.PASS, check("192.0.2.10", "a@ptr.example"), "on to the next term");
    assertEquals(Result.FAIL, check("192.0.2.11", "a@ptr.example"), "no PTR records: no match");
    dns.txt("void.example", "v=spf1 a:v1.void.example mx:v2.void.example ptr -all");
    assertEquals(Result.FAIL, check("192.0.2.11", "a@void.example"), "a PTR lookup that finds nothing is no void term");
  }

  @Test
  void theClientsNamesAreLookedUpOncePerEvaluationAndOnlyWhenNeeded() {
    dns.defaultTtl(0).ptr("192.0.2.12", "mx.once.example").a("mx.once.example", "192.0.2.12", "192.0.2.13");
    dns.txt("once.example", "v=spf1 ptr:a.example include:inc.once.example ptr:b.example exists:%{p}.x.example -all");
    dns.txt("inc.once.example", "v=spf1 ptr:c.example -all");
    dns.a("mx.once.example.x.example", "127.0.0.2");
    dns.txt("plain.example", "v=spf1 exists:%%{p}.%{d} a:mx.once.example -all");
    // answers with a TTL of 0 and no floor: every lookup the evaluator makes reaches the server
    DnsResolver uncached = new DnsResolver(vertx, DnsResolverOptions.defaults().withServers(dns.hostPort())
        .withTtlBounds(Duration.ZERO, Duration.ofHours(1)), Clock.systemUTC());
    try {
      SpfVerdict verdict = new SpfVerdict(vertx, uncached);
      assertEquals(Result.PASS, check(verdict, ip("192.0.2.12"), "a@once.example", "h.example"),
          "by %{p}, after three ptr terms");
      assertEquals(1, dns.count(FakeDnsServer.reverseName("192.0.2.12"), "PTR"));
      assertEquals(1, dns.count("mx.once.example", "A"));
      assertEquals(Result.PASS, check(verdict, ip("192.0.2.13"), "a@plain.example", "h.example"));
      assertEquals(0, dns.count(FakeDnsServer.reverseName("192.0.2.13"), "PTR"), "no ptr, no %{p}: no PTR lookup");
    } finally {
      await(uncached.close());
    }
  }

  @Test
  void pIsTheValidatedNameInTheDomainElseAnyElseUnknown() {
    dns.ptr("192.0.2.30", "other.example.net").a("other.example.net", "192.0.2.30")
        .ptr("192.0.2.30", "mx.p.example").a("mx.p.example", "192.0.2.30");
    dns.ptr("192.0.2.31", "not-validated.p.example").ptr("192.0.2.31", "only.example.net")
        .a("only.example.net", "192.0.2.31");
    dns.a("mx.p.example.names.example", "127.0.0.2").a("only.example.net.names.example", "127.0.0.2")
        .a("unknown.unknown-check.example", "127.0.0.2");
    dns.txt("p.example", "v=spf1 exists:%{p}.names.example -all");
    dns.txt("u.example", "v=spf1 exists:%{p}.unknown-check.example -all");
    dns.txt("p30.example", "v=spf1 redirect=%{p}.names.spf.example");
    dns.txt("other.example.net.names.spf.example", "v=spf1 +all");
    assertEquals(Result.PASS, check("192.0.2.30", "a@p.example"), "mx.p.example, in the domain, before the first");
    assertEquals(Result.PASS, check("192.0.2.31", "a@p.example"), "only.example.net: the one validated");
    assertEquals(Result.FAIL, check("192.0.2.32", "a@p.example"));
    assertEquals(Result.PASS, check("192.0.2.32", "a@u.example"), "no PTR records: unknown");
    assertEquals(Result.FAIL, check("192.0.2.31", "a@u.example"), "only.example.net, not unknown");
    assertEquals(Result.PASS, check("192.0.2.30", "a@p30.example"), "in a redirect: none in p30.example, the first");
  }

  @Test
  void theRfcsPtrExamples() {
    // the zone of RFC 7208 appendix A
    dns.a("example.com", "192.0.2.10", "192.0.2.11").a("amy.example.com", "192.0.2.65")
        .a("mail-a.example.com", "192.0.2.129").a("mx.example.org", "192.0.2.140");
    dns.ptr("192.0.2.10", "example.com").ptr("192.0.2.11", "example.com").ptr("192.0.2.65", "amy.example.com")
        .ptr("192.0.2.129", "mail-a.example.com").ptr("192.0.2.140", "mx.example.org").ptr("10.0.0.10", "example.com");
    // A.1: "v=spf1 ptr -all" at example.com (here by name, example.com's own record being A.4's)
    dns.txt("a1.example", "v=spf1 ptr:example.com -all").txt("a1-org.example", "v=spf1 ptr:example.org -all");
    for (String permitted : List.of("192.0.2.10", "192.0.2.11", "192.0.2.65", "192.0.2.129")) {
      assertEquals(Result.PASS, check(permitted, "a@a1.example"), permitted);
    }
    assertEquals(Result.FAIL, check("192.0.2.140", "a@a1.example"));
    assertEquals(Result.FAIL, check("10.0.0.10", "a@a1.example"), "example.com has not 10.0.0.10: not validated");
    assertEquals(Result.PASS, check("192.0.2.140", "a@a1-org.example"));
    // A.4, with erratum 6216 (-ptr:example.com: a bare -ptr would check ptr._spf.example.com)
    dns.txt("example.com", "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all");
    dns.txt("ip4._spf.example.com", "v=spf1 -ip4:192.0.2.0/24 +all");
    dns.txt("ptr._spf.example.com", "v=spf1 -ptr:example.com +all");
    assertEquals(Result.PASS, check("192.0.2.65", "a@example.com"), "in the network, and named in example.com");
    assertEquals(Result.FAIL, check("192.0.2.140", "a@example.com"), "in the network, not named in example.com");
    assertEquals(Result.FAIL, check("10.0.0.10", "a@example.com"), "outside the network");
  }

  @Test
  void recordsWrittenToCostTimeArePermerrorAtOnce() {
    // each %{s} expands to 400 characters and 200 dots: megabytes to cut down to 253 characters
    String sender = "a.".repeat(200) + "b@evil.example";
    dns.txt("evil.example", "v=spf1 exists:" + "%{s}".repeat(2000) + ".x.evil.example -all");
    // within the 16 K characters the resolver keeps of a TXT answer (a longer record never reaches SPF), and read
    // alone at the length a DNS message could hold, where a backtracking pattern overruns the limit
    dns.txt("colons.example", "v=spf1 ip6:" + ":".repeat(16_000) + "x -all");
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      assertEquals(Result.PERMERROR, check("192.0.2.1", sender));
      assertEquals(Result.PERMERROR, check("192.0.2.1", "a@colons.example"));
      assertThrows(IllegalArgumentException.class,
          () -> SpfRecord.parse("v=spf1 ip6:" + ":".repeat(60_000) + "x -all"));
    });
  }

  @Test
  void unusualButValidSyntax() {
    dns.txt("mapped.example", "v=spf1 ip6:::ffff:192.0.2.0/120 -all");
    assertEquals(Result.FAIL, check("192.0.2.1", "a@mapped.example"),
        "an IPv4-mapped ip6 network is no syntax error, and an IPv4 client is matched by ip4 terms only");
    dns.txt("explain.example", "v=spf1 foo=%{c}%{r}%{t} -all");
    assertEquals(Result.FAIL, check("192.0.2.1", "a@explain.example"), "c, r and t in an unknown modifier");
    dns.txt("zeros.example", "v=spf1 exists:%{d0001}.zeros.spf.example -all").a("example.zeros.spf.example",
        "127.0.0.2");
    assertEquals(Result.PASS, check("192.0.2.1", "a@zeros.example"), "%{d0001} is one part");
    dns.txt("brace.example", "v=spf1 a:foo.example} -all");
    assertEquals(Result.PERMERROR, check("192.0.2.1", "a@brace.example"), "a '}' that closes no macro");
    assertEquals("dot.example", SpfVerdict.mailFromDomain("u@Dot.Example.", "helo.example"), "the root's dot");
  }

  @Test
  void moreThanTwoVoidLookupsArePermerror() {
    dns.txt("two.example", "v=spf1 a:v1.void.example mx:v2.void.example -all");
    dns.txt("three.example", "v=spf1 a:v1.void.example mx:v2.void.example exists:v3.void.example -all");
    assertEquals(Result.FAIL, check("192.0.2.1", "a@two.example"));
    assertEquals(Result.PERMERROR, check("192.0.2.1", "a@three.example"));
  }

  @Test
  void recordsThatAreNotOneWellFormedRecord() {
    dns.txt("two.example", "v=spf1 +all").txt("two.example", "v=spf1 -all");
    assertEquals(Result.PERMERROR, check("192.0.2.1", "a@two.example"), "two SPF records");
    dns.txt("other-txt.example", "v=spf10 -all").txt("other-txt.example", "google-site-verification=x");
    assertEquals(Result.NONE, check("192.0.2.1", "a@other-txt.example"), "no record starts with v=spf1");
    assertEquals(Result.NONE, check("192.0.2.1", "a@nxdomain.example"));
    dns.txt("empty.example", "v=spf1");
    assertEquals(Result.NEUTRAL, check("192.0.2.1", "a@empty.example"));
    Map<String, String> bad = new LinkedHashMap<>();
    bad.put("bad-ip.example", "v=spf1 ip4:192.0.2.300 -all");
    bad.put("bad-cidr.example", "v=spf1 ip4:192.0.2.0/33 -all");
    bad.put("bad-cidr6.example", "v=spf1 a//129 -all");
    bad.put("unknown.example", "v=spf1 foo -all");
    bad.put("numeric.example", "v=spf1 a:192.0.2.1 -all");
    bad.put("redirects.example", "v=spf1 redirect=a.example redirect=b.example");
    bad.put("macro.example", "v=spf1 exists:%{x}.example -all");
    bad.put("late.example", "v=spf1 +all include");
    bad.put("all-arg.example", "v=spf1 all:x.example");
    for (Map.Entry<String, String> e : bad.entrySet()) {
      dns.txt(e.getKey(), e.getValue());
      assertEquals(Result.PERMERROR, check("192.0.2.1", "a@" + e.getKey()), e.getValue());
    }
    dns.txt("unknown-modifier.example", "v=spf1 foo=bar.%{d} -all");
    assertEquals(Result.FAIL, check("192.0.2.1", "a@unknown-modifier.example"), "unknown modifiers are ignored");
  }

  @Test
  void aHugeRecordIsEvaluatedWithoutNestingACallPerTerm() {
    // 1,250 terms: as many as the 16 K characters the resolver keeps of a TXT answer hold
    String terms = " ip4:10.0.0.1".repeat(1250);
    dns.txt("huge.example", "v=spf1" + terms + " ip4:192.0.2.1 -all");
    assertEquals(Result.PASS, check("192.0.2.1", "a@huge.example"));
    assertEquals(Result.FAIL, check("192.0.2.2", "a@huge.example"));
  }

  @Test
  void dnsFailuresAreTemperror() {
    dns.txt("down.example", "v=spf1 -all").fail("down.example", Failure.SERVFAIL);
    assertEquals(Result.TEMPERROR, check("192.0.2.1", "a@down.example"));
    dns.txt("inner.example", "v=spf1 a:host.inner.example -all").fail("host.inner.example", Failure.SERVFAIL);
    assertEquals(Result.TEMPERROR, check("192.0.2.1", "a@inner.example"), "a mechanism's lookup");
    dns.txt("silent.example", "v=spf1 include:gone.example -all").fail("gone.example", Failure.DROP);
    assertEquals(Result.TEMPERROR, check("192.0.2.1", "a@silent.example"), "no answer at all");
  }

  @Test
  void aSlowEvaluationEndsAtTheTimeLimit() {
    dns.txt("slow.example", "v=spf1 a:x.slow.example -all").delay(Duration.ofMillis(1500));
    DnsResolver patient = new DnsResolver(vertx, DnsResolverOptions.defaults().withServers(dns.hostPort())
        .withQueryTimeout(Duration.ofSeconds(5)).withAttempts(1), Clock.systemUTC());
    try {
      SpfVerdict quick = new SpfVerdict(vertx, patient, Duration.ofMillis(300));
      long start = System.nanoTime();
      assertEquals(Result.TEMPERROR, check(quick, ip("192.0.2.1"), "a@slow.example", "h.example"));
      assertTrue(System.nanoTime() - start < 1_000_000_000L, "answered at the limit, not after the lookup");
    } finally {
      await(patient.close());
    }
  }

  @Test
  void sesStatuses() {
    Map<Result, String> statuses = new LinkedHashMap<>();
    for (Result r : Result.values()) {
      statuses.put(r, r.sesStatus());
    }
    assertEquals(Map.of(Result.PASS, "PASS", Result.FAIL, "FAIL", Result.SOFTFAIL, "GRAY", Result.NEUTRAL, "GRAY",
        Result.NONE, "GRAY", Result.TEMPERROR, "PROCESSING_FAILED", Result.PERMERROR, "PROCESSING_FAILED"), statuses);
  }
}
