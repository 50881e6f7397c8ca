package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.DnsResolverOptions;
import io.mailgate.smtp.Envelope;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.FakeDnsServer.Failure;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The three verdicts together: what runs at once, and what a message gets when they take too long. */
class SenderAuthenticationTest {
  private static final byte[] SIGNED = ("DKIM-Signature: v=1; a=rsa-sha256; d=bank.example; s=sel; h=from; bh=x; b=y\r\n"
      + "From: ceo@bank.example\r\nSubject: s\r\n\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII);
  private static final Envelope ENVELOPE = new Envelope("bounces@bank.example", null, List.of(), "mta.bank.example",
      new InetSocketAddress("192.0.2.1", 25000), false, null, false, false);

  private Vertx vertx;
  private FakeDnsServer dns;
  private DnsResolver resolver;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    dns = FakeDnsServer.start();
    resolver = new DnsResolver(vertx, DnsResolverOptions.defaults().withServers(dns.hostPort())
        .withQueryTimeout(Duration.ofSeconds(5)).withAttempts(1).withFailureTtl(Duration.ZERO), Clock.systemUTC());
    dns.txt("bank.example", "v=spf1 ip4:192.0.2.0/24 -all").txt("_dmarc.bank.example", "v=DMARC1; p=reject");
  }

  @AfterEach
  void tearDown() throws Exception {
    resolver.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    dns.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private SenderAuthentication.Verdicts verdicts(Duration timeLimit) throws Exception {
    SenderAuthentication auth = new SenderAuthentication(vertx, resolver, timeLimit);
    Promise<SenderAuthentication.Verdicts> result = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> auth.of(ENVELOPE, SIGNED).onComplete(result));
    return result.future().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void outOfTimeTheVerdictsHadAreKept() throws Exception {
    dns.fail("sel._domainkey.bank.example", Failure.DROP); // the key's lookup outlasts the time limit
    SenderAuthentication.Verdicts v = verdicts(Duration.ofSeconds(3)); // less than the resolver's 5 s
    assertEquals(SpfVerdict.Result.PASS, v.spf(), "SPF was decided in time");
    assertEquals(DkimVerdict.PROCESSING_FAILED, v.dkim().status());
    assertEquals(DmarcVerdict.Verdict.PROCESSING_FAILED, v.dmarc(), "DMARC needs all three");
  }

  @Test
  void dmarcsLookupsRunWithSpfAndDkimNotAfterThem() throws Exception {
    dns.fail("sel._domainkey.bank.example", Failure.SERVFAIL);
    // every answer (within the resolver's 5 s): in turn, SPF or DKIM and then DMARC would take six seconds
    dns.delay(Duration.ofMillis(3000));
    SenderAuthentication.Verdicts v = verdicts(Duration.ofMillis(4500));
    assertEquals(SpfVerdict.Result.PASS, v.spf());
    assertEquals(DmarcVerdict.Verdict.PASS, v.dmarc(), "aligned SPF pass, judged within the limit");
  }
}
