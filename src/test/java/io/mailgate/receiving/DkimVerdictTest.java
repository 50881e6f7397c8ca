package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.DnsResolverOptions;
import io.mailgate.smtp.Envelope;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.FakeDnsServer.Failure;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.james.jdkim.DKIMSigner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * DKIM verdicts on messages signed by jDKIM's signer, keys served by a DNS server on the machine: how many signatures
 * are verified, what RFC 8301 refuses, a signer's clock ahead, and which DNS failures make the verdict (and DMARC's)
 * unknown rather than FAIL.
 */
class DkimVerdictTest {
  private static final String MESSAGE = "From: ceo@bank.example\r\nTo: a@inbox.example\r\nSubject: s\r\n\r\n"
      + "body\r\n";
  private static KeyPair key;
  private static KeyPair weakKey;

  private Vertx vertx;
  private FakeDnsServer dns;
  private DnsResolver resolver;

  @BeforeAll
  static void keys() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA", "SunRsaSign");
    rsa.initialize(2048);
    key = rsa.generateKeyPair();
    rsa.initialize(512);
    weakKey = rsa.generateKeyPair();
  }

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    dns = FakeDnsServer.start();
    resolver = new DnsResolver(vertx, DnsResolverOptions.defaults().withServers(dns.hostPort())
        .withQueryTimeout(Duration.ofMillis(500)).withAttempts(1).withFailureTtl(Duration.ZERO), Clock.systemUTC());
    dns.txt("sel._domainkey.bank.example", record(key));
  }

  @AfterEach
  void tearDown() throws Exception {
    resolver.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    dns.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static String record(KeyPair k) {
    return "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(k.getPublic().getEncoded());
  }

  /** The DKIM-Signature field (with its CRLF) jDKIM's signer makes for {@code message}, from the template's tags. */
  static String signature(String tags, KeyPair k, String message) throws Exception {
    DKIMSigner signer = new DKIMSigner("v=1; c=simple/simple; h=from:to:subject; bh=; b=; " + tags,
        k.getPrivate());
    return signer.sign(new ByteArrayInputStream(message.getBytes(StandardCharsets.US_ASCII))) + "\r\n";
  }

  static String signature(String tags) throws Exception {
    return signature(tags, key, MESSAGE);
  }

  private DkimVerdict.Result verdict(String message) throws Exception {
    DkimVerdict dkim = new DkimVerdict(vertx, resolver);
    Promise<DkimVerdict.Result> result = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> dkim.of(message.getBytes(StandardCharsets.UTF_8))
        .onComplete(result));
    return result.future().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void aValidSignatureVerifies() throws Exception {
    DkimVerdict.Result r = verdict(signature("a=rsa-sha256; d=bank.example; s=sel;") + MESSAGE);
    assertEquals(DkimVerdict.PASS, r.status());
    assertEquals(List.of("bank.example"), r.passingDomains());
  }

  @Test
  void onlyTheFirstFiveSignaturesAreVerified() throws Exception {
    String valid = signature("a=rsa-sha256; d=bank.example; s=sel;");
    String broken = valid.replaceFirst("b=([A-Za-z0-9+/]{8})", "b=AAAAAAAA");
    // many copies of one valid signature would each hash the whole body: the first five only
    assertEquals(DkimVerdict.PASS, verdict(valid.repeat(200) + MESSAGE).status());
    assertEquals(DkimVerdict.FAIL, verdict(broken.repeat(5) + valid + MESSAGE).status(),
        "a sixth signature is not looked at, valid or not");
    assertEquals(DkimVerdict.PASS, verdict(broken.repeat(4) + valid + MESSAGE).status());
  }

  @Test
  void rfc8301RefusesSha1AndShortKeys() throws Exception {
    assertEquals(DkimVerdict.FAIL, verdict(signature("a=rsa-sha1; d=bank.example; s=sel;") + MESSAGE).status());
    dns.txt("weak._domainkey.bank.example", record(weakKey));
    assertEquals(DkimVerdict.FAIL, verdict(signature("a=rsa-sha256; d=bank.example; s=weak;", weakKey, MESSAGE)
        + MESSAGE).status());
  }

  @Test
  void aSignerClockALittleAheadIsNoFailure() throws Exception {
    long now = Instant.now().getEpochSecond();
    assertEquals(DkimVerdict.PASS, verdict(signature("a=rsa-sha256; d=bank.example; s=sel; t=" + (now + 60) + ";")
        + MESSAGE).status());
    assertEquals(DkimVerdict.FAIL, verdict(signature("a=rsa-sha256; d=bank.example; s=sel; t=" + (now + 3600) + ";")
        + MESSAGE).status(), "an hour ahead is not a clock's drift");
  }

  /**
   * A signature of the body's first bytes ({@code l=}) verifies whatever follows them: a spoofer appends an HTML part to
   * a bank's signed message, and it passed as the bank's (DKIM PASS, and DMARC aligned on it).
   */
  @Test
  void aSignatureOfPartOfTheBodyDoesNotPassForTheWhole() throws Exception {
    String signed = signature("a=rsa-sha256; d=bank.example; s=sel; l=6;"); // "body\r\n", the whole body
    assertEquals(DkimVerdict.PASS, verdict(signed + MESSAGE).status());
    assertEquals(DkimVerdict.PASS, verdict(signed + MESSAGE + "\r\n\r\n").status(),
        "empty lines at the end are no content (simple canonicalization drops them)");
    DkimVerdict.Result appended = verdict(signed + MESSAGE
        + "--x\r\nContent-Type: text/html\r\n\r\n<a href=\"https://phish.example/\">Sign in</a>\r\n--x--\r\n");
    assertEquals(DkimVerdict.FAIL, appended.status());
    assertEquals(List.of(), appended.passingDomains(), "nothing for DMARC to align with");
    // the body is measured as the signature canonicalizes it: relaxed, lines of spaces at the end are no content
    String relaxed = new DKIMSigner("v=1; c=relaxed/relaxed; h=from:to:subject; bh=; b=; a=rsa-sha256; d=bank.example;"
        + " s=sel; l=6;", key.getPrivate()).sign(new ByteArrayInputStream(MESSAGE.getBytes(StandardCharsets.US_ASCII)))
        + "\r\n";
    assertEquals(DkimVerdict.PASS, verdict(relaxed + MESSAGE + "  \r\n\t\r\n").status());
    assertEquals(DkimVerdict.FAIL, verdict(relaxed + MESSAGE + " more\r\n").status());
  }

  /**
   * A DKIM-Signature of half a million empty tags (a megabyte of {@code x;x;x;}): each was stripped of space by a
   * regular expression compiled for it, on the inbound SMTP event loop. Only its first {@link DkimVerdict#MAX_TAGS}
   * tags are read for the key it names: one named after them is not looked up, and the signature does not verify.
   */
  @Test
  void aSignatureOfHalfAMillionTagsIsReadOnlyForItsFirstTags() throws Exception {
    String message = "DKIM-Signature: v=1; a=rsa-sha256; " + "x;".repeat(500_000)
        + " d=bank.example; s=sel; h=from; bh=x; b=y\r\n" + MESSAGE;
    assertEquals(List.of(), DkimVerdict.keyNames(message.getBytes(StandardCharsets.US_ASCII)));
    assertEquals(DkimVerdict.FAIL, verdict(message).status());
    String named = "DKIM-Signature: v=1; a=rsa-sha256; d=bank.example; s=sel; " + "x;".repeat(500_000)
        + " h=from; bh=x; b=y\r\n" + MESSAGE;
    assertEquals(List.of("sel._domainkey.bank.example"),
        DkimVerdict.keyNames(named.getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void keysThatCannotBeLookedUpMakeTheVerdictUnknownAndSayWhose() throws Exception {
    dns.fail("s1._domainkey.brand.example", Failure.SERVFAIL);
    dns.fail("s2._domainkey.esp.example", Failure.SERVFAIL);
    String message = signature("a=rsa-sha256; d=brand.example; s=s1;") + signature("a=rsa-sha256; d=esp.example; s=s2;")
        + MESSAGE;
    DkimVerdict.Result r = verdict(message);
    // two failures: jDKIM reports them as one permanent failure, which must not hide the DNS failures
    assertEquals(DkimVerdict.PROCESSING_FAILED, r.status());
    assertEquals(List.of("brand.example", "esp.example"), r.unavailableDomains());
  }

  @Test
  void aSignatureOfNoDomainNameIsAFailureNotAnUnknown() throws Exception {
    DkimVerdict.Result r = verdict("DKIM-Signature: v=1; a=rsa-sha256; d=bad!.example; s=s; h=from; bh=x; b=y\r\n"
        + MESSAGE);
    assertEquals(DkimVerdict.FAIL, r.status());
    assertEquals(List.of(), r.unavailableDomains());
    // signed, but with no key named at all (no d= or s=, or a name longer than DNS allows): FAIL, not unsigned
    for (String tags : List.of("a=rsa-sha256; b=abc", "d=bank.example; b=abc", "s=sel; b=abc",
        "d=" + "x".repeat(250) + ".example; s=sel; b=abc")) {
      assertEquals(DkimVerdict.FAIL, verdict("DKIM-Signature: v=1; " + tags + "\r\n" + MESSAGE).status(), tags);
    }
    assertEquals(DkimVerdict.GRAY, verdict(MESSAGE).status(), "unsigned");
  }

  @Test
  void aSpoofersJunkSignatureCannotTurnDmarcFailIntoProcessingFailed() throws Exception {
    dns.txt("_dmarc.bank.example", "v=DMARC1; p=reject");
    dns.txt("ok.attacker.example", "v=spf1 ip4:192.0.2.0/24 -all");
    dns.fail("s._domainkey.attacker.example", Failure.SERVFAIL);
    String message = "DKIM-Signature: v=1; a=rsa-sha256; d=attacker.example; s=s; h=from; bh=x; b=y\r\n" + MESSAGE;
    Envelope envelope = new Envelope("x@ok.attacker.example", null, List.of(), "mta.attacker.example",
        new InetSocketAddress("192.0.2.1", 25000), false, null, false, false);
    SenderAuthentication auth = new SenderAuthentication(vertx, resolver);
    Promise<SenderAuthentication.Verdicts> result = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> auth.of(envelope, message.getBytes(StandardCharsets.US_ASCII))
        .onComplete(result));
    SenderAuthentication.Verdicts v = result.future().toCompletionStage().toCompletableFuture().get(30,
        TimeUnit.SECONDS);
    assertEquals(SpfVerdict.Result.PASS, v.spf());
    assertEquals(DkimVerdict.PROCESSING_FAILED, v.dkim().status());
    assertEquals(new DmarcVerdict.Verdict(DkimVerdict.FAIL, "reject"), v.dmarc());
  }

  @Test
  void anInternationalSigningDomainAlignsInItsALabels() throws Exception {
    dns.txt("sel._domainkey.xn--bcher-kva.example", record(key));
    String message = MESSAGE.replace("ceo@bank.example", "a@xn--bcher-kva.example");
    DkimVerdict.Result r = verdict(signature("a=rsa-sha256; d=bücher.example; s=sel;", key, message) + message);
    assertEquals(DkimVerdict.PASS, r.status(), String.valueOf(r));
    assertEquals(List.of("xn--bcher-kva.example"), r.passingDomains());
  }

  @Test
  void fieldsPastTheFirstOnesAreDroppedWithTheirContinuationLines() {
    byte[] in = ("A: 1\r\nX: one\r\nX: two\r\n\tfolded\r\nB: 2\r\nx : three\r\n\r\nX: body\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    assertArrayEquals(("A: 1\r\nX: one\r\nB: 2\r\n\r\nX: body\r\n").getBytes(StandardCharsets.US_ASCII),
        ReceivedHeaders.withoutFieldsAfter(in, "X", 1));
    assertArrayEquals(in, ReceivedHeaders.withoutFieldsAfter(in, "X", 3));
  }
}
