package io.mailgate.delivery.dns;

import static io.mailgate.delivery.dns.DnsTestKit.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.FakeDnsServer;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The cache's bound on the estimated size of what it holds, with queries over the wire. */
class AnswerCacheTest {

  private static final long MAX_BYTES = 200_000;

  private DnsTestKit kit;
  private FakeDnsServer dns;
  private DnsTransport transport;
  private AnswerCache cache;

  @BeforeEach
  void setUp() throws Exception {
    kit = new DnsTestKit();
    dns = kit.dns;
    DnsResolverOptions options = kit.options().withMaxCacheBytes(MAX_BYTES);
    transport = new DnsTransport(options);
    cache = new AnswerCache(transport::query, options, kit.clock);
  }

  @AfterEach
  void tearDown() {
    await(transport.close());
    kit.close();
  }

  /** Thirty TXT answers of 12,000 characters (over TCP, within an answer's cap) would fill 200 KB almost four times. */
  @Test
  void largeAnswersDoNotGrowTheCachePastItsByteBound() {
    for (int i = 0; i < 30; i++) {
      String name = "big" + i + ".test";
      dns.txt(name, "v=spf1 " + "a".repeat(12_000));
      assertEquals(1, await(cache.lookup(name, RecordType.TXT)).records().size());
      assertTrue(cache.estimatedBytes() <= MAX_BYTES, "after " + (i + 1) + " answers: " + cache.estimatedBytes() + " bytes");
    }
    assertTrue(cache.estimatedBytes() > MAX_BYTES / 2, "kept up to the bound: " + cache.estimatedBytes());

    await(cache.lookup("big29.test", RecordType.TXT));
    assertEquals(1, askedOverTcp("big29.test"), "the last answer is cached");
    // which ones were dropped is the map's order; that most were is not: about 8 fit
    int askedAgain = 0;
    for (int i = 0; i < 29; i++) {
      await(cache.lookup("big" + i + ".test", RecordType.TXT));
      askedAgain += askedOverTcp("big" + i + ".test") == 2 ? 1 : 0;
    }
    assertTrue(askedAgain >= 20, "dropped to make room, asked again: " + askedAgain + " of 29");
  }

  @Test
  void answerLargerThanTheWholeBoundIsNotCached() {
    dns.txt("larger.test", "x".repeat(12_000));
    AnswerCache small = new AnswerCache(transport::query, kit.options().withMaxCacheBytes(20_000), kit.clock);

    assertEquals(1, await(small.lookup("larger.test", RecordType.TXT)).records().size());
    await(small.lookup("larger.test", RecordType.TXT));

    assertEquals(2, askedOverTcp("larger.test"), "asked again: not cached");
    assertEquals(0, small.estimatedBytes());
  }

  @Test
  void bytesAreGivenBackWhenAnswersExpire() {
    dns.record("short.test", "TXT", 60, "v=spf1 -all").record("other.test", "TXT", 600, "v=spf1 -all");
    await(cache.lookup("short.test", RecordType.TXT));
    long one = cache.estimatedBytes();
    await(cache.lookup("other.test", RecordType.TXT));
    assertEquals(2 * one, cache.estimatedBytes());

    kit.clock.advance(java.time.Duration.ofSeconds(61));
    dns.remove("short.test").record("short.test", "TXT", 60, "v=spf1 ip4:192.0.2.1 -all");
    assertEquals(List.of("v=spf1 ip4:192.0.2.1 -all"), await(cache.lookup("short.test", RecordType.TXT)).records());

    assertEquals(2 * one + 2 * "ip4:192.0.2.1 ".length(), cache.estimatedBytes(), "the expired answer's bytes given back");
  }

  /** Lookups of the name that reached the server: an answer this large is asked over UDP, then again over TCP. */
  private long askedOverTcp(String name) {
    return dns.queries().stream().filter(q -> q.name().equals(name) && q.tcp()).count();
  }
}
