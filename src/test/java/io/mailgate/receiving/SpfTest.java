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
        "email.example.com", "mx.example.org", "email.example.com");
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
    SpfMacro.Context v6 = new SpfMacro.Context(ip("2001:db8::cb01"), "strong-bad@email.example.com", "strong-bad",
        "email.example.com", "mx.example.org", "email.example.com");
    assertEquals("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com",
        SpfMacro.expand("%{ir}.%{v}._spf.%{d2}", v6));
    for (String bad : List.of("%{x}", "%{d0}", "%{c}", "%", "%x", "%{d", "a b")) {
      assertThrows(IllegalArgumentException.class, () -> SpfMacro.checkMacroString(bad, false), bad);
    }
    String longLocal = "x".repeat(63) + "." + "y".repeat(63) + "." + "z".repeat(63) + "." + "w".repeat(63);
    SpfMacro.Context big = new SpfMacro.Context(ip("192.0.2.3"), longLocal + "@e.example", longLocal, "e.example",
        "h.example", "e.example");
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
  void ptrNeverMatchesSoAFailAfterItIsNeutral() {
    dns.txt("ptr.example", "v=spf1 -ip4:192.0.2.3 ptr ip4:192.0.2.1 -all");
    assertEquals(Result.NEUTRAL, check("192.0.2.2", "a@ptr.example"), "the client might have been the ptr's");
    assertEquals(Result.PASS, check("192.0.2.1", "a@ptr.example"));
    assertEquals(Result.FAIL, check("192.0.2.3", "a@ptr.example"), "a fail before the ptr is one");
  }

  @Test
  void recordsWrittenToCostTimeArePermerrorAtOnce() {
    // each %{s} expands to 400 characters and 200 dots: megabytes to cut down to 253 characters
    String sender = "a.".repeat(200) + "b@evil.example";
    dns.txt("evil.example", "v=spf1 exists:" + "%{s}".repeat(2000) + ".x.evil.example -all");
    dns.txt("colons.example", "v=spf1 ip6:" + ":".repeat(60000) + "x -all");
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      assertEquals(Result.PERMERROR, check("192.0.2.1", sender));
      assertEquals(Result.PERMERROR, check("192.0.2.1", "a@colons.example"));
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
    String terms = " ip4:198.51.100.1".repeat(3000);
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
