package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.DnsResolverOptions;
import io.mailgate.receiving.DmarcVerdict.Verdict;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.FakeDnsServer.Failure;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** DMARC verdicts (RFC 7489) against a DNS server on a socket, through the node's resolver. */
class DmarcTest {
  private Vertx vertx;
  private Context context;
  private FakeDnsServer dns;
  private DnsResolver resolver;
  private DmarcVerdict dmarc;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    dns = FakeDnsServer.start();
    resolver = new DnsResolver(vertx, DnsResolverOptions.defaults().withServers(dns.hostPort())
        .withQueryTimeout(Duration.ofMillis(500)).withAttempts(1).withFailureTtl(Duration.ZERO), Clock.systemUTC());
    dmarc = new DmarcVerdict(resolver);
  }

  @AfterEach
  void tearDown() throws Exception {
    resolver.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    dns.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private Verdict verdict(String from, String mailFromDomain, boolean spfPassed, List<String> dkimDomains) {
    return verdict("From: " + from + "\r\nTo: x@inbox.example\r\nSubject: s\r\n\r\nbody\r\n", mailFromDomain,
        spfPassed, dkimDomains, DmarcVerdict.Unsure.NOTHING);
  }

  private Verdict verdict(String message, String mailFromDomain, boolean spfPassed, List<String> dkimDomains,
      DmarcVerdict.Unsure unsure) {
    Promise<Verdict> result = Promise.promise();
    context.runOnContext(v -> dmarc.of(message.getBytes(StandardCharsets.UTF_8), mailFromDomain, spfPassed,
        dkimDomains, unsure).onComplete(result));
    try {
      return result.future().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static Verdict fail(String policy) {
    return new Verdict("FAIL", policy);
  }

  @Test
  void organizationalDomainsFromThePublicSuffixList() {
    assertEquals("brand.co.uk", DmarcVerdict.organizationalDomain("news.eu.brand.co.uk"));
    assertEquals("brand.com", DmarcVerdict.organizationalDomain("brand.com"));
    assertEquals("outside.example", DmarcVerdict.organizationalDomain("a.b.outside.example"), "the default rule");
    assertEquals("co.uk", DmarcVerdict.organizationalDomain("co.uk"));
  }

  @Test
  void thePolicyOfTheOrganizationalDomainAndItsSp() {
    dns.txt("_dmarc.brand.co.uk", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@brand.co.uk");
    assertEquals(fail("quarantine"), verdict("a@news.brand.co.uk", "other.example", true, List.of()),
        "a subdomain under the organizational domain's record: sp");
    assertEquals(fail("reject"), verdict("a@brand.co.uk", "other.example", true, List.of()), "the domain's own: p");
    dns.txt("_dmarc.shop.brand.co.uk", "v=DMARC1; p=none; sp=reject");
    assertEquals(fail("none"), verdict("a@shop.brand.co.uk", null, false, List.of()),
        "a subdomain's own record: its p");
    dns.txt("_dmarc.plain.example", "v=DMARC1; p=Quarantine");
    assertEquals(fail("quarantine"), verdict("a@news.plain.example", null, false, List.of()), "no sp: p, lower case");
  }

  @Test
  void relaxedAndStrictAlignment() {
    dns.txt("_dmarc.relaxed.example", "v=DMARC1; p=reject");
    dns.txt("_dmarc.strict.example", "v=DMARC1; p=reject; aspf=s; adkim=s");
    assertEquals(Verdict.PASS, verdict("a@relaxed.example", "bounces.relaxed.example", true, List.of()));
    assertEquals(Verdict.PASS, verdict("a@relaxed.example", null, false, List.of("mail.relaxed.example")));
    assertEquals(fail("reject"), verdict("a@strict.example", "bounces.strict.example", true, List.of()));
    assertEquals(fail("reject"), verdict("a@strict.example", null, false, List.of("mail.strict.example")));
    assertEquals(Verdict.PASS, verdict("a@strict.example", "strict.example", true, List.of()));
    assertEquals(Verdict.PASS, verdict("a@strict.example", null, false, List.of("strict.example")));
  }

  @Test
  void anAlignedDkimPassOutweighsAnSpfFail() {
    dns.txt("_dmarc.brand.example", "v=DMARC1; p=reject; pct=0");
    assertEquals(Verdict.PASS, verdict("a@brand.example", "brand.example", false, List.of("brand.example")));
    assertEquals(fail("reject"), verdict("a@brand.example", "brand.example", false, List.of("esp.example")),
        "SPF counts only when it passed; pct does not change the verdict");
    assertEquals(fail("reject"), verdict("a@brand.example", "esp.example", true, List.of()), "SPF not aligned");
  }

  @Test
  void noPolicyIsGray() {
    assertEquals(Verdict.GRAY, verdict("a@nothing.example", "other.example", false, List.of()));
    dns.txt("_dmarc.two.example", "v=DMARC1; p=reject").txt("_dmarc.two.example", "v=DMARC1; p=none");
    assertEquals(Verdict.GRAY, verdict("a@two.example", null, false, List.of()), "several records: no policy");
    dns.txt("_dmarc.spf-like.example", "v=spf1 -all").txt("_dmarc.spf-like.example", "v=DMARC1 ; p=reject");
    assertEquals(fail("reject"), verdict("a@spf-like.example", null, false, List.of()), "other TXT are not counted");
    dns.txt("_dmarc.bad-p.example", "v=DMARC1; p=drop");
    assertEquals(Verdict.GRAY, verdict("a@bad-p.example", null, false, List.of()), "an invalid p without rua");
    dns.txt("_dmarc.bad-p-rua.example", "v=DMARC1; p=drop; rua=mailto:d@bad-p-rua.example");
    assertEquals(fail("none"), verdict("a@bad-p-rua.example", null, false, List.of()), "with rua: p=none");
    dns.txt("_dmarc.not-first.example", "p=reject; v=DMARC1");
    assertEquals(Verdict.GRAY, verdict("a@not-first.example", null, false, List.of()), "v must come first");
    dns.txt("_dmarc.huge.example", "v=DMARC1; p=reject; " + "x=y; ".repeat(2000));
    assertEquals(fail("reject"), verdict("a@huge.example", null, false, List.of()));
  }

  @Test
  void dnsUnavailableIsProcessingFailed() {
    dns.fail("_dmarc.down.example", Failure.SERVFAIL);
    assertEquals(Verdict.PROCESSING_FAILED, verdict("a@down.example", null, false, List.of()));
    dns.fail("_dmarc.org-down.example", Failure.SERVFAIL);
    assertEquals(Verdict.PROCESSING_FAILED, verdict("a@sub.org-down.example", null, false, List.of()),
        "during the fallback to the organizational domain");
  }

  @Test
  void everyFromDomainIsChecked() {
    dns.txt("_dmarc.strict-one.example", "v=DMARC1; p=quarantine");
    dns.txt("_dmarc.strictest.example", "v=DMARC1; p=reject");
    assertEquals(fail("reject"), verdict("a@strict-one.example, b@strictest.example, c@mine.example", "mine.example",
        true, List.of()), "the strictest policy of the failing domains");
    assertEquals(Verdict.PASS, verdict("a@strictest.example, b@nothing.example", null, false,
        List.of("strictest.example")));
    assertEquals(Verdict.GRAY, verdict("undisclosed-recipients:;", null, false, List.of()), "no From domain");
    // more domains than are looked up: FAIL whatever the first ones say (the rest could hide a failing one), with the
    // strictest policy of those that fail
    StringBuilder many = new StringBuilder();
    for (int i = 0; i < DmarcVerdict.MAX_AUTHOR_DOMAINS; i++) {
      many.append("a@d").append(i).append(".mine.example, ");
    }
    String ten = many.substring(0, many.length() - 2);
    org.junit.jupiter.api.Assertions.assertNotEquals(DkimVerdict.FAIL,
        verdict(ten, "mine.example", true, List.of()).status(), "ten are all looked up");
    assertEquals(fail("none"), verdict(many + "b@mine.example, c@strictest.example", "mine.example", true,
        List.of()), "the eleventh is not looked up");
    assertEquals(fail("reject"), verdict("c@strictest.example, " + many, "mine.example", true, List.of()));
    assertEquals(Set.of("one.example", "two.example"), DmarcVerdict.authorDomains(
        "From: a@One.Example\r\nFrom: Group: b@two.example;\r\n\r\n".getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * A From of nearly a megabyte (the header section limit) of encoded words that never close: mime4j's address parser decoded its display name in
   * quadratic time (seconds on the inbound SMTP event loop); it is read in linear time now.
   */
  @Test
  void aLongFromOfOpenEncodedWordsIsReadQuickly() {
    String from = "From: " + "x=?ab?c?d\r\n ".repeat(80_000) + "<a@long.example>\r\n\r\n";
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
        assertEquals(Set.of("long.example"), DmarcVerdict.authorDomains(from.getBytes(StandardCharsets.UTF_8))));
  }

  /**
   * A From of eighty thousand addresses (most of the header section's megabyte): every one was parsed and its domain
   * converted to A-labels on the inbound SMTP event loop before the first ten were taken. The reading stops at the
   * eleventh domain, which is enough to FAIL the message.
   */
  @Test
  void aFromOfEightyThousandAddressesIsReadUpToItsEleventhDomain() {
    StringBuilder distinct = new StringBuilder();
    for (int i = 0; i < 80_000; i++) {
      distinct.append(i == 0 ? "" : ",").append("a@").append(Integer.toString(i, 36)).append(".io");
    }
    String message = "From: " + distinct + "\r\nSubject: s\r\n\r\nbody\r\n";
    assertEquals(DmarcVerdict.MAX_AUTHOR_DOMAINS + 1,
        DmarcVerdict.authorDomains(message.getBytes(StandardCharsets.UTF_8)).size());
    assertEquals(fail("none"), verdict(message, "mine.example", true, List.of(), DmarcVerdict.Unsure.NOTHING));
    String same = "From: " + "a@Same.example, ".repeat(60_000) + "b@same.example\r\n\r\nbody\r\n";
    assertEquals(Set.of("same.example"), DmarcVerdict.authorDomains(same.getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * A From with a UTF-8 display name (RFC 6532): mime4j's address list parser read as many bytes as the text has
   * characters, each non-ASCII one cutting a byte off the end: {@code "Bänk Sécurité" <ceo@bank.example>} was
   * {@code bank.examp}, a domain of no policy (GRAY, not the bank's reject), and a longer name hid the address whole.
   */
  @Test
  void aUtf8DisplayNameDoesNotCutTheFromDomainShort() {
    dns.txt("_dmarc.bank.example", "v=DMARC1; p=reject");
    assertEquals(fail("reject"), verdict("\"Bänk Sécurité\" <ceo@bank.example>", "spoofer.example", true, List.of()));
    assertEquals(Set.of("bank.example", "two.example"), DmarcVerdict.authorDomains(("From: \"" + "Ü".repeat(40)
        + "\" <ceo@bank.example>, b@two.example\r\n\r\nbody\r\n").getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void aMalformedHeaderLineDoesNotHideTheFromDomain() {
    dns.txt("_dmarc.bank.example", "v=DMARC1; p=reject");
    assertEquals(fail("reject"), verdict("From: ceo@bank.example\r\nX Bad: 1\r\nSubject: s\r\n\r\nbody\r\n",
        "spoofer.example", true, List.of(), DmarcVerdict.Unsure.NOTHING), "a line that is no header field");
    assertEquals(fail("reject"), verdict("Subject: s\r\nFrom : ceo@bank.example\r\n\r\nbody\r\n",
        "spoofer.example", true, List.of(), DmarcVerdict.Unsure.NOTHING), "RFC 5322's obsolete From :");
    assertEquals(fail("reject"), verdict("Subject: s\r\nFrom: \"The CEO\"\r\n <ceo@bank.example>\r\n\r\n"
        + "From: not@header.example\r\n", "spoofer.example", true, List.of(), DmarcVerdict.Unsure.NOTHING),
        "folded, and only the header section");
  }

  @Test
  void nothingAlignedAfterADnsFailureOfWhatCouldAlignIsProcessingFailedNotFail() {
    dns.txt("_dmarc.brand.example", "v=DMARC1; p=reject");
    String message = "From: a@brand.example\r\n\r\nbody\r\n";
    DmarcVerdict.Unsure brandKey = new DmarcVerdict.Unsure(null, List.of("mail.brand.example"), false);
    assertEquals(Verdict.PROCESSING_FAILED, verdict(message, "esp.example", false, List.of(), brandKey),
        "the brand's own key could not be looked up");
    assertEquals(Verdict.PROCESSING_FAILED, verdict(message, "brand.example", false, List.of(),
        new DmarcVerdict.Unsure("bounces.brand.example", List.of(), false)), "the brand's SPF is TEMPERROR");
    assertEquals(Verdict.PROCESSING_FAILED, verdict(message, "esp.example", false, List.of(),
        DmarcVerdict.Unsure.ANYTHING), "DKIM could not be checked at all");
    assertEquals(Verdict.PASS, verdict(message, "esp.example", false, List.of("brand.example"), brandKey),
        "what passed still passes");
    assertEquals(Verdict.GRAY, verdict("From: a@nothing.example\r\n\r\n", "esp.example", false, List.of(),
        DmarcVerdict.Unsure.ANYTHING), "no policy: nothing to fail");
  }

  @Test
  void aDnsFailureOfWhatCouldNotAlignAnywayIsNoExcuse() {
    dns.txt("_dmarc.bank.example", "v=DMARC1; p=reject");
    String message = "From: ceo@bank.example\r\n\r\nbody\r\n";
    // the spoofer's own domains: their name servers, or their junk signature's, fail on purpose
    assertEquals(fail("reject"), verdict(message, "ok.attacker.example", true, List.of(),
        new DmarcVerdict.Unsure(null, List.of("attacker.example"), false)));
    assertEquals(fail("reject"), verdict(message, "attacker.example", false, List.of(),
        new DmarcVerdict.Unsure("attacker.example", List.of(), false)));
    dns.txt("_dmarc.strict.example", "v=DMARC1; p=quarantine; adkim=s");
    assertEquals(fail("quarantine"), verdict("From: a@strict.example\r\n\r\n", "x.example", false, List.of(),
        new DmarcVerdict.Unsure(null, List.of("sub.strict.example"), false)), "strict alignment: a subdomain's key "
        + "could not have aligned");
  }

  @Test
  void thePolicyIsOnlyReportedOnFail() {
    dns.txt("_dmarc.brand.example", "v=DMARC1; p=reject");
    assertEquals(null, verdict("a@brand.example", "brand.example", true, List.of()).policy());
    assertEquals(null, verdict("a@nothing.example", "brand.example", false, List.of()).policy());
    assertEquals("reject", verdict("a@brand.example", "x.example", true, List.of()).policy());
  }
}
