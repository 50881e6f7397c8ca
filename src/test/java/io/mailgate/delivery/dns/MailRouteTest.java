package io.mailgate.delivery.dns;

import static io.mailgate.delivery.dns.DnsTestKit.await;
import static io.mailgate.delivery.dns.DnsTestKit.ips;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.delivery.dns.MailRoute.Permanent;
import io.mailgate.delivery.dns.MailRoute.Resolved;
import io.mailgate.delivery.dns.MailRoute.SkippedHost;
import io.mailgate.delivery.dns.MailRoute.Temporary;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.FakeDnsServer.Failure;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** RFC 5321 section 5.1 route resolution against a DNS server on a socket. */
class MailRouteTest {

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

  private MailRoute route(String domain) {
    return await(resolver.route(domain));
  }

  private Resolved resolved(String domain) {
    return assertInstanceOf(Resolved.class, route(domain));
  }

  private Permanent permanent(String domain) {
    return assertInstanceOf(Permanent.class, route(domain));
  }

  private Temporary temporary(String domain) {
    return assertInstanceOf(Temporary.class, route(domain));
  }

  @Test
  void mxHostsInPreferenceOrderWithTheirAddresses() {
    dns.mx("example.com", 20, "mx2.example.com")
        .mx("example.com", 10, "mx1.example.com")
        .mx("example.com", 30, "mx3.example.net")
        .a("mx1.example.com", "192.0.2.1")
        .a("mx2.example.com", "192.0.2.2")
        .aaaa("mx2.example.com", "2001:db8::2")
        .a("mx3.example.net", "198.51.100.3");

    Resolved route = resolved("Example.COM.");

    assertEquals("example.com", route.domain());
    assertFalse(route.implicitMx());
    assertEquals(List.of(
        new MxHost("mx1.example.com", 10, ips("192.0.2.1")),
        new MxHost("mx2.example.com", 20, ips("192.0.2.2", "2001:db8::2")),
        new MxHost("mx3.example.net", 30, ips("198.51.100.3"))), route.hosts());
    assertEquals("mx1.example.com,mx2.example.com,mx3.example.net", route.siteKey());
    assertEquals(List.of(), route.skipped());
  }

  @Test
  void equalPreferencesComeInRandomOrderAheadOfHigherOnes() {
    dns.mx("ties.test", 10, "a.ties.test").mx("ties.test", 10, "b.ties.test").mx("ties.test", 20, "c.ties.test")
        .a("a.ties.test", "192.0.2.1").a("b.ties.test", "192.0.2.2").a("c.ties.test", "192.0.2.3");

    Set<List<String>> orders = new HashSet<>();
    for (int i = 0; i < 40; i++) {
      orders.add(resolved("ties.test").hosts().stream().map(MxHost::name).toList());
    }

    // Both orders of the tie show up (the chance that 40 shuffles all agree is 2^-39).
    assertEquals(Set.of(List.of("a.ties.test", "b.ties.test", "c.ties.test"),
        List.of("b.ties.test", "a.ties.test", "c.ties.test")), orders);
    assertEquals(1, dns.count("ties.test", "MX"), "one query, then the cache");
  }

  @Test
  void noMxFallsBackToTheDomainsOwnAddresses() {
    dns.a("plain.test", "192.0.2.10").aaaa("plain.test", "2001:db8::10");

    Resolved route = resolved("plain.test");

    assertTrue(route.implicitMx());
    assertEquals(List.of(new MxHost("plain.test", 0, ips("192.0.2.10", "2001:db8::10"))), route.hosts());
    assertEquals("plain.test", route.siteKey());
  }

  @Test
  void nullMxIsPermanentAndTheAddressIsNotUsed() {
    dns.nullMx("nomail.test").a("nomail.test", "192.0.2.20");

    Permanent failure = permanent("nomail.test");

    assertEquals("5.1.10", failure.status());
    assertEquals("5.1.10 Domain nomail.test does not accept mail (null MX)", failure.diagnostic());
    assertEquals(0, dns.count("nomail.test", "A"));
  }

  @Test
  void nonexistentDomainIsPermanentAndRememberedForTheSoaNegativeTtl() {
    dns.soa(3600, 120);

    Permanent failure = permanent("nowhere.test");
    assertEquals("5.1.2", failure.status());
    assertEquals("Host or domain name not found. Name service error for name=nowhere.test type=MX: Host not found",
        failure.reason());

    kit.clock.advance(Duration.ofSeconds(119));
    assertEquals(failure, route("nowhere.test"));
    assertEquals(1, dns.count("nowhere.test", "MX"), "negative answer cached for min(SOA TTL, MINIMUM) = 120 s");

    kit.clock.advance(Duration.ofSeconds(2));
    assertEquals(failure, route("nowhere.test"));
    assertEquals(2, dns.count("nowhere.test", "MX"));
  }

  @Test
  void serverFailureIsTemporaryAndDoesNotFallBackToA() {
    dns.a("broken.test", "192.0.2.30").fail("broken.test", "MX", Failure.SERVFAIL);

    Temporary failure = temporary("broken.test");

    assertEquals("4.4.3", failure.status());
    assertEquals("Host or domain name not found. Name service error for name=broken.test type=MX: "
        + "server failure (SERVFAIL), try again", failure.reason());
    assertEquals(0, dns.count("broken.test", "A"), "a failed MX lookup says nothing about MX records");
    assertEquals(1, dns.count("broken.test", "MX"), "the only server is not asked again");
  }

  /**
   * A server that does not recurse answers a referral (NOERROR, no answer, NS and no SOA): not "no data" (RFC 2308
   * 2.2), so not a domain without MX or addresses to bounce for good, but a name service failure to try again.
   */
  @Test
  void aReferralIsTemporaryNotNoRecords() {
    dns.a("referred.test", "192.0.2.31").fail("referred.test", Failure.REFERRAL);

    Temporary failure = temporary("referred.test");

    assertEquals("4.4.3", failure.status());
    assertTrue(failure.reason().contains("referral"), failure.reason());
  }

  /** "MX 10 192.0.2.1" is taken as the address it names (as Postfix does), not looked up as a host name. */
  @Test
  void anMxThatNamesAnAddressIsThatAddress() {
    dns.mx("literal.test", 10, "192.0.2.61");

    Resolved route = resolved("literal.test");

    assertEquals(ips("192.0.2.61"), route.hosts().get(0).addresses());
    assertEquals(0, dns.count("192.0.2.61", "A"));
  }

  @Test
  void timeoutIsTemporaryAfterEveryAttempt() {
    dns.fail("silent.test", Failure.DROP);
    DnsResolver impatient = kit.resolver(kit.options().withQueryTimeout(Duration.ofMillis(200)));

    Temporary failure = assertInstanceOf(Temporary.class, await(impatient.route("silent.test")));

    assertEquals("4.4.3", failure.status());
    assertEquals("Host or domain name not found. Name service error for name=silent.test type=MX: "
        + "timed out after 200 ms, try again", failure.reason());
    assertEquals(2, dns.count("silent.test", "MX"));
  }

  @Test
  void mxHostsWithoutAddressesAreSkippedAndReported() {
    dns.mx("partial.test", 10, "ghost.partial.test")
        .mx("partial.test", 20, "noaddr.partial.test")
        .mx("partial.test", 30, "mx.partial.test")
        .txt("noaddr.partial.test", "exists, but has no address")
        .a("mx.partial.test", "192.0.2.40");

    Resolved route = resolved("partial.test");

    assertEquals(List.of(new MxHost("mx.partial.test", 30, ips("192.0.2.40"))), route.hosts());
    assertEquals(List.of(new SkippedHost("ghost.partial.test", 10, "host not found"),
        new SkippedHost("noaddr.partial.test", 20, "no A or AAAA records")), route.skipped());
    assertEquals("ghost.partial.test,mx.partial.test,noaddr.partial.test", route.siteKey());
  }

  @Test
  void noMxHostWithAnAddressIsPermanent() {
    dns.mx("dead.test", 10, "ghost1.dead.test").mx("dead.test", 20, "ghost2.dead.test");

    Permanent failure = permanent("dead.test");

    assertEquals("5.4.4 No MX host of dead.test has an address: ghost1.dead.test (host not found), "
        + "ghost2.dead.test (host not found)", failure.diagnostic());
  }

  @Test
  void noMxHostResolvedBecauseOfAFailureIsTemporary() {
    dns.mx("flaky.test", 10, "ghost.flaky.test").mx("flaky.test", 20, "mx.flaky.test")
        .a("mx.flaky.test", "192.0.2.50").fail("mx.flaky.test", Failure.SERVFAIL);

    Temporary failure = temporary("flaky.test");

    assertEquals("4.4.3 No MX host of flaky.test could be resolved: ghost.flaky.test (host not found), "
        + "mx.flaky.test (server failure (SERVFAIL), try again)", failure.diagnostic());
  }

  @Test
  void domainWithNeitherMxNorAddressIsPermanent() {
    dns.txt("textonly.test", "v=spf1 -all");

    assertEquals("5.4.4 Domain textonly.test has no MX and no A or AAAA records",
        permanent("textonly.test").diagnostic());
  }

  @Test
  void domainsSharingAnMxSetShareASiteKey() {
    String[] google = {"aspmx.l.google.com", "alt1.aspmx.l.google.com", "alt2.aspmx.l.google.com",
        "alt3.aspmx.l.google.com", "alt4.aspmx.l.google.com"};
    int[] preferences = {1, 5, 5, 10, 10};
    for (int i = 0; i < google.length; i++) {
      dns.mx("one.test", preferences[i], google[i]).a(google[i], "192.0.2." + (60 + i));
    }
    for (int i = google.length - 1; i >= 0; i--) {
      dns.mx("two.test", 10 * (i + 1), google[i].toUpperCase());
    }
    dns.mx("other.test", 10, "aspmx.l.google.com").a("other.test", "192.0.2.70");

    String one = resolved("one.test").siteKey();
    String two = resolved("two.test").siteKey();

    assertEquals("alt1.aspmx.l.google.com,alt2.aspmx.l.google.com,alt3.aspmx.l.google.com,"
        + "alt4.aspmx.l.google.com,aspmx.l.google.com", one);
    assertEquals(one, two);
    assertNotEquals(one, resolved("other.test").siteKey());
  }

  @Test
  void hostsAndAddressesAreCapped() {
    for (int i = 1; i <= 12; i++) {
      dns.mx("many.test", i, "mx" + i + ".many.test").a("mx" + i + ".many.test", "192.0.2." + i);
    }
    dns.a("mx1.many.test", "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5")
        .aaaa("mx2.many.test", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5");
    DnsResolver capped = kit.resolver(kit.options().withMaxMxHosts(10).withMaxAddressesPerHost(3));

    Resolved route = assertInstanceOf(Resolved.class, await(capped.route("many.test")));

    assertEquals(10, route.hosts().size());
    assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), route.hosts().stream().map(MxHost::preference).toList());
    List<InetAddress> first = route.hosts().get(0).addresses();
    assertEquals(3, first.size());
    assertTrue(ips("192.0.2.1", "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5")
        .containsAll(first));
    assertEquals(3, new HashSet<>(first).size());
    // IPv4 first: the one IPv4 address of mx2, then two of its four IPv6 addresses.
    List<InetAddress> second = route.hosts().get(1).addresses();
    assertEquals(ips("192.0.2.2").get(0), second.get(0));
    assertFalse(second.get(1) instanceof Inet4Address);
    assertFalse(second.get(2) instanceof Inet4Address);
  }

  @Test
  void withoutIpv6NoAaaaIsAsked() {
    dns.mx("v4.test", 10, "mx.v4.test").a("mx.v4.test", "192.0.2.80").aaaa("mx.v4.test", "2001:db8::80");
    DnsResolver v4only = kit.resolver(kit.options().withIpv6(false));

    Resolved route = assertInstanceOf(Resolved.class, await(v4only.route("v4.test")));

    assertEquals(List.of(new MxHost("mx.v4.test", 10, ips("192.0.2.80"))), route.hosts());
    assertEquals(0, dns.count("mx.v4.test", "AAAA"));
  }

  @Test
  void mxHostThatIsAnAliasInAnotherZoneIsFollowed() {
    dns.mx("alias.test", 10, "mx.alias.test").cname("mx.alias.test", "inbound.provider.test")
        .a("inbound.provider.test", "192.0.2.90");

    Resolved route = resolved("alias.test");

    assertEquals(List.of(new MxHost("mx.alias.test", 10, ips("192.0.2.90"))), route.hosts());
    assertEquals(1, dns.count("inbound.provider.test", "A"), "the CNAME target is asked for separately");
  }

  @Test
  void addressLiteralsNeedNoDns() {
    Resolved v4 = resolved("[192.0.2.55]");
    Resolved v6 = resolved("[IPv6:2001:db8::55]");

    assertEquals(List.of(new MxHost("192.0.2.55", 0, ips("192.0.2.55"))), v4.hosts());
    assertEquals("[192.0.2.55]", v4.siteKey());
    assertEquals(ips("2001:db8::55"), v6.hosts().get(0).addresses());
    assertEquals("5.1.2", permanent("[300.1.2.3]").status());
    assertEquals("5.1.2", permanent("[2001:db8::55]").status(), "IPv6 literals need the IPv6: tag");
    assertEquals(List.of(), dns.queries());
  }

  @Test
  void badDomainSyntaxIsPermanentWithoutAQuery() {
    assertEquals("5.1.2", permanent("exa mple.com").status());
    assertEquals("5.1.2", permanent("a..b").status());
    assertEquals(List.of(), dns.queries());
  }
}
