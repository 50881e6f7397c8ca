package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BlacklistEntry;

/**
 * The node's sending addresses looked up in DNS blocklists (a fake of the internet's DNS, answering as blocklists
 * do: 127.0.0.x for a listing with a TXT record saying why, 127.255.255.x for a query refused, NXDOMAIN for none,
 * SERVFAIL when it cannot), and GetBlacklistReports through the AWS SDK: what is listed where and since when, a
 * delisting found at the next look-up, a failed look-up changing nothing; bad requests are 400s.
 */
class BlocklistTest {
  static FakeDnsServer dns;
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    dns = FakeDnsServer.start().defaultTtl(0).soa(0, 0);
    // 127.0.0.1: listed in bl.example (with its reason), refused by refusing.example; 127.0.0.2: listed in
    // refusing.example without a TXT record
    dns.a("1.0.0.127.bl.example", "127.0.0.2").txt("1.0.0.127.bl.example", "Listed\tby BL: https://bl.example/q")
        .a("1.0.0.127.refusing.example", "127.255.255.254").a("2.0.0.127.refusing.example", "127.0.0.4");
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url(), c -> c
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DNS_MIN_TTL_SECONDS, 0)
        .with(MailgateConfig.DELIVERY_SOURCE_ADDRESSES, "127.0.0.1")
        .with(MailgateConfig.DELIVERY_SENDING_POOLS, "bulk=direct source=127.0.0.2")
        .with(MailgateConfig.DELIVERY_BLOCKLISTS, "BL.example., refusing.example,clean.example")
        .with(MailgateConfig.DELIVERY_BLOCKLIST_CHECK_SECONDS, 1));
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    dns.close();
  }

  static Map<String, List<BlacklistEntry>> report(String... addresses) {
    return ses.getBlacklistReports(r -> r.blacklistItemNames(addresses)).blacklistReport();
  }

  static Map<String, List<String>> zones(Map<String, List<BlacklistEntry>> report) {
    return report.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
        e -> e.getValue().stream().map(BlacklistEntry::rblName).toList()));
  }

  @Test
  void sendingAddressesListedInBlocklistsAreReported() throws Exception {
    Instant before = Instant.now().minusSeconds(1);
    Map<String, List<BlacklistEntry>> found = Await.until(() -> report("127.0.0.1", "127.0.0.2"),
        r -> zones(r).equals(Map.of("127.0.0.1", List.of("bl.example"), "127.0.0.2", List.of("refusing.example"))),
        Duration.ofSeconds(20));
    BlacklistEntry bl = found.get("127.0.0.1").get(0);
    assertEquals("Listed by BL: https://bl.example/q", bl.description());
    assertTrue(!bl.listingTime().isBefore(before.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)),
        bl.toString());
    assertEquals("Listed (127.0.0.4)", found.get("127.0.0.2").get(0).description());
    // and in the node's metrics, to alert on
    Await.until(() -> node.metric("mailgate_blocklist_listings"), n -> n == 2, Duration.ofSeconds(20));
    assertTrue(node.signed("GET", "/_mailgate/metrics", null, Map.of()).body().contains(
        "mailgate_blocklist_listed_since_seconds{address=\"127.0.0.1\",zone=\"bl.example\"} "
            + bl.listingTime().getEpochSecond() + "\n"));
    // looked up again and again: listed since the first time it was found so
    Await.until(() -> dns.count("1.0.0.127.bl.example", "A") >= 3, Duration.ofSeconds(20));
    assertEquals(bl, report("127.0.0.1").get("127.0.0.1").get(0));
    assertTrue(dns.count("1.0.0.127.clean.example", "A") >= 1, "every zone is looked up");
    assertTrue(dns.count("2.0.0.127.bl.example", "A") >= 1, "every address is looked up");

    // a look-up that fails says nothing: still listed; delisted, found at the next look-up
    dns.fail("2.0.0.127.refusing.example", FakeDnsServer.Failure.SERVFAIL);
    long failed = dns.count("2.0.0.127.refusing.example", "A");
    Await.until(() -> dns.count("2.0.0.127.refusing.example", "A") > failed, Duration.ofSeconds(20));
    Thread.sleep(2500); // looked up again meanwhile: the resolver remembers the failure for a while
    assertEquals(List.of("refusing.example"), zones(report("127.0.0.2")).get("127.0.0.2"));
    dns.remove("1.0.0.127.bl.example");
    Await.until(() -> report("127.0.0.1").get("127.0.0.1"), List::isEmpty, Duration.ofSeconds(20));
    Await.until(() -> node.metric("mailgate_blocklist_listings"), n -> n == 1, Duration.ofSeconds(20));
    // the same address however it is written
    assertEquals(List.of("127.0.0.2"), List.copyOf(report("127.0.0.2").keySet()));
  }

  @Test
  void onlyTheNodesSendingAddressesCanBeAskedFor() {
    for (String query : List.of("", "?BlacklistItemNames=192.0.2.1", "?BlacklistItemNames=mail.example",
        "?BlacklistItemNames=127.0.0.1&BlacklistItemNames=127.0.0.9", "?BlacklistItemNames=")) {
      assertEquals(400, node.signed("GET", "/v2/email/deliverability-dashboard/blacklist-report" + query, null,
          Map.of()).statusCode(), query);
    }
    assertEquals(200, node.signed("GET", "/v2/email/deliverability-dashboard/blacklist-report"
        + "?BlacklistItemNames=127.0.0.1", null, Map.of()).statusCode());
  }

  @Test
  void addressesAreLookedUpReversedUnderTheZone() {
    assertEquals("1.2.0.192.zen.spamhaus.org", BlocklistVerticle.queryName("192.0.2.1", "zen.spamhaus.org"));
    // RFC 5782 2.4's example
    assertEquals("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example",
        BlocklistVerticle.queryName("2001:db8:1:2:3:4:567:89ab", "bl.example"));
  }

  @Test
  void zonesAreDnsNames() {
    assertEquals(List.of("zen.spamhaus.org", "bl.example"), BlocklistVerticle.zones(MailgateConfig.defaults()
        .with(MailgateConfig.DELIVERY_BLOCKLISTS, " zen.spamhaus.org, Zen.Spamhaus.org. bl.example,")));
    assertEquals(List.of(), BlocklistVerticle.zones(MailgateConfig.defaults()
        .with(MailgateConfig.DELIVERY_BLOCKLISTS, " ")));
    for (String bad : List.of("zen", "bl..example", "bl.example/x", "-bl.example")) {
      assertThrows(ConfigException.class, () -> BlocklistVerticle.zones(MailgateConfig.defaults()
          .with(MailgateConfig.DELIVERY_BLOCKLISTS, bad)), bad);
    }
    assertTrue(BlocklistVerticle.describe(List.of("127.0.0.2"), "x".repeat(600)).length()
        <= BlocklistVerticle.MAX_DESCRIPTION);
  }
}
