package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.MailgateNode;
import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.DedicatedIp;
import software.amazon.awssdk.services.sesv2.model.GetDedicatedIpsResponse;
import software.amazon.awssdk.services.sesv2.model.ListDedicatedIpPoolsResponse;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.ScalingMode;
import software.amazon.awssdk.services.sesv2.model.WarmupStatus;

/**
 * Source addresses (SES's dedicated IPs): delivery connections bound to the node's {@code delivery.sourceAddresses}
 * and to a sending pool's own, each giving its EHLO name, taken in turn; the dedicated IP operations that show them;
 * and a start refused for an address this machine does not have. Linux answers on the whole of 127.0.0.0/8, so
 * 127.0.0.2 to 127.0.0.4 are addresses of this machine without any setup.
 */
class SourceAddressesTest {
  static RecordingSmtpServer relay;
  static RecordingSmtpServer bulkRelay;
  static RecordingSmtpServer mx;
  /** On another loopback address, the port of {@link #mx}: refuses service to connections from 127.0.0.5. */
  static RecordingSmtpServer picky;
  /** And one that refuses every connection. */
  static RecordingSmtpServer refusing;
  /** And one that asks connections from 127.0.0.5 to slow down, at their RCPT. */
  static RecordingSmtpServer slowing;
  /** And one that does so once another message waits for the connection, for a site of one connection per address. */
  static RecordingSmtpServer queued;
  static FakeDnsServer dns;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    bulkRelay = new RecordingSmtpServer();
    mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), EmbeddedServices.freePort());
    picky = new RecordingSmtpServer(InetAddress.getByName("127.0.0.7"), mx.port()).greetingByPeer(peer -> peer.equals("127.0.0.5")
        ? "554 5.7.1 Service unavailable; client host [127.0.0.5] blocked" : "220 picky.test ESMTP");
    refusing = new RecordingSmtpServer(InetAddress.getByName("127.0.0.8"), mx.port())
        .greeting("554 5.7.1 Service unavailable; client host blocked");
    slowing = new RecordingSmtpServer(InetAddress.getByName("127.0.0.9"), mx.port()).onRcptByPeer((peer, rcpt) ->
        peer.equals("127.0.0.5") ? "450 4.7.28 Unusual rate of mail from your IP address, try again later"
            : "250 2.1.5 Ok");
    queued = new RecordingSmtpServer(InetAddress.getByName("127.0.0.10"), mx.port()).onRcptByPeer((peer, rcpt) -> {
      if (!peer.equals("127.0.0.5")) {
        return "250 2.1.5 Ok";
      }
      // once the pool of 127.0.0.5 holds the next message for this connection
      Await.until(() -> siteView("mx.queued.test from 127.0.0.5").getInteger("Waiting", 0) >= 1,
          Duration.ofSeconds(10));
      return "450 4.7.28 Unusual rate of mail from your IP address, try again later";
    });
    java.nio.file.Path shaping = java.nio.file.Files.createTempFile("shaping", ".json");
    shaping.toFile().deleteOnExit();
    java.nio.file.Files.writeString(shaping, "{\"sites\": [{\"mx\": \"queued.test\", \"maxConnections\": 1, "
        + "\"maxMessagesPerConnection\": 100, \"maxMessagesPerSecond\": 0, \"maxConnectionsPerMinute\": 0}]}");
    // two sites (their MX hosts differ) on the one test server, and a site with an IPv6 address only
    dns = FakeDnsServer.start().mx("site-a.example", 10, "mx.site-a.test").a("mx.site-a.test", "127.0.0.1")
        .mx("site-b.example", 10, "mx.site-b.test").a("mx.site-b.test", "127.0.0.1")
        .mx("v6only.example", 10, "mx.v6only.test").aaaa("mx.v6only.test", "::1")
        .mx("picky.example", 10, "mx.picky.test").a("mx.picky.test", "127.0.0.7")
        .mx("refusing.example", 10, "mx.refusing.test").a("mx.refusing.test", "127.0.0.8")
        .mx("slowing.example", 10, "mx.slowing.test").a("mx.slowing.test", "127.0.0.9")
        .mx("queued.example", 10, "mx.queued.test").a("mx.queued.test", "127.0.0.10");
    for (int i = 0; i < 20; i++) {
      dns.mx("d" + i + ".spread.example", 10, "mx.d" + i + ".spread.test").a("mx.d" + i + ".spread.test", "127.0.0.1");
    }
    // one delivery instance: the turns through the sources are its own
    node = TestNode.start(relay.url(), c -> c
        .with(MailgateConfig.DELIVERY_INSTANCES, 1)
        .with(MailgateConfig.DELIVERY_HELO_NAME, "mailgate.source.test")
        .with(MailgateConfig.DELIVERY_SOURCE_ADDRESSES, "127.0.0.2/node.source.test")
        .with(MailgateConfig.DELIVERY_SENDING_POOLS, "bulk=" + bulkRelay.url()
            + " source=127.0.0.3/bulk-a.source.test  source=127.0.0.4, plain=" + bulkRelay.url()
            + ", shared=" + bulkRelay.url() + " source=127.0.0.4, mx=direct source=127.0.0.5 source=127.0.0.6")
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DELIVERY_DIRECT_PORT, mx.port())
        .with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 60)
        .with(MailgateConfig.DELIVERY_SHAPING_FILE, shaping.toString()));
    ses = node.sesV2();
    for (String pool : List.of("bulk", "plain", "mx")) {
      ses.createConfigurationSet(r -> r.configurationSetName(pool + "-set").deliveryOptions(d -> d.sendingPoolName(pool)));
    }
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    bulkRelay.close();
    mx.close();
    picky.close();
    refusing.close();
    slowing.close();
    queued.close();
    dns.close();
  }

  static String send(String configurationSet, String to) {
    return ses.sendEmail(r -> r.fromEmailAddress("src@example.com").destination(d -> d.toAddresses(to))
        .configurationSetName(configurationSet)
        .content(c -> c.simple(m -> m.subject(s -> s.data("src")).body(b -> b.text(t -> t.data("x")))))).messageId();
  }

  /** How many of the messages to {@code rcptSuffix} came from each client address. */
  static Map<String, Long> countsByPeer(RecordingSmtpServer server, String rcptSuffix) {
    return server.received().stream().filter(r -> r.rcptTo().get(0).endsWith(rcptSuffix))
        .collect(Collectors.groupingBy(r -> server.peer(r.connection()), Collectors.counting()));
  }

  /** The client address and EHLO name of each connection that carried a message to {@code rcpt}. */
  static Map<String, String> sources(RecordingSmtpServer server, String rcptSuffix) {
    Map<String, String> seen = new HashMap<>();
    server.received().stream().filter(r -> r.rcptTo().get(0).endsWith(rcptSuffix))
        .forEach(r -> seen.put(server.peer(r.connection()), server.helo(r.connection())));
    return seen;
  }

  @Test
  void theNodesRouteLeavesFromItsSourceAddressWithItsName() {
    send(null, "someone@node-route.example");
    Await.until(() -> !sources(relay, "@node-route.example").isEmpty(), Duration.ofSeconds(10));
    assertEquals(Map.of("127.0.0.2", "node.source.test"), sources(relay, "@node-route.example"));
  }

  @Test
  void aPoolsSourcesAreTakenInTurnEachWithItsOwnEhloName() {
    for (int i = 0; i < 6; i++) {
      send("bulk-set", "r" + i + "@bulk-pool.example");
    }
    Await.until(() -> bulkRelay.received().stream()
        .filter(r -> r.rcptTo().get(0).endsWith("@bulk-pool.example")).count() == 6, Duration.ofSeconds(10));
    assertEquals(Map.of("127.0.0.3", 3L, "127.0.0.4", 3L), countsByPeer(bulkRelay, "@bulk-pool.example"));
    // the second address has no name of its own: the node's delivery.heloName
    assertEquals(Map.of("127.0.0.3", "bulk-a.source.test", "127.0.0.4", "mailgate.source.test"),
        sources(bulkRelay, "@bulk-pool.example"));
    // the relay is a site from each address (each with delivery.maxConnections)
    List<String> sites = siteNames();
    String relaySite = "relay:smtp://127.0.0.1:" + bulkRelay.port();
    assertTrue(sites.contains(relaySite + " from 127.0.0.3") && sites.contains(relaySite + " from 127.0.0.4"),
        sites.toString());
  }

  @Test
  void eachSiteTakesTheAddressesInTurnAndIsASiteOfItsOwnFromEach() {
    // messages to two sites, one after the other: a turn shared by the sites would give each one address only
    for (int i = 0; i < 4; i++) {
      send("mx-set", "r" + i + "@site-a.example");
      send("mx-set", "r" + i + "@site-b.example");
    }
    Await.until(() -> countsByPeer(mx, "@site-a.example").values().stream().mapToLong(Long::longValue).sum()
        + countsByPeer(mx, "@site-b.example").values().stream().mapToLong(Long::longValue).sum() == 8,
        Duration.ofSeconds(10));
    assertEquals(Map.of("127.0.0.5", 2L, "127.0.0.6", 2L), countsByPeer(mx, "@site-a.example"));
    assertEquals(Map.of("127.0.0.5", 2L, "127.0.0.6", 2L), countsByPeer(mx, "@site-b.example"));
    // a site is one from each address
    List<String> sites = siteNames();
    assertTrue(sites.containsAll(List.of("mx.site-a.test from 127.0.0.5", "mx.site-a.test from 127.0.0.6",
        "mx.site-b.test from 127.0.0.5", "mx.site-b.test from 127.0.0.6")), sites.toString());
    assertFalse(sites.contains("mx.site-a.test"), sites.toString());
  }

  /** The event after the message's Send: its first attempt's outcome (Delivery, DeliveryDelay, ...). */
  static JsonObject firstOutcome(String messageId) {
    return Await.until(() -> node.message(messageId), m -> m.getJsonArray("Events").size() >= 2, Duration.ofSeconds(30))
        .getJsonArray("Events").getJsonObject(1);
  }

  /** The sites of the node's delivery status. */
  static java.util.stream.Stream<JsonObject> sites() {
    String view = node.signed("GET", "/_mailgate/delivery/sites", null, Map.of()).body();
    return new JsonObject(view).getJsonArray("Sites").stream().map(JsonObject.class::cast);
  }

  /** The node's delivery status of site {@code name}, or an empty object while it has none. */
  static JsonObject siteView(String name) {
    return sites().filter(site -> site.getString("Site").equals(name)).findFirst().orElse(new JsonObject());
  }

  /** The sites of the node's delivery status, by name. */
  static List<String> siteNames() {
    return sites().map(site -> site.getString("Site")).toList();
  }

  /** Four messages of the mx pool to {@code domain}, one after the other: the first outcome of each not delivered. */
  static List<String> notDeliveredOfFour(String domain) {
    List<String> notDelivered = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      String outcome = firstOutcome(send("mx-set", "m" + i + domain)).getString("eventType");
      if (!outcome.equals("Delivery")) {
        notDelivered.add(outcome);
      }
    }
    return notDelivered;
  }

  @Test
  void aHostThatRefusesOneAddressIsSetAsideForThatAddressOnly() {
    // one message after the other: the first from 127.0.0.5 is refused its greeting and deferred, and the host is set
    // aside for that address only; 127.0.0.6 takes the others, its turns and those 127.0.0.5 is passed over for
    assertEquals(List.of("DeliveryDelay"), notDeliveredOfFour("@picky.example"));
    assertEquals(Map.of("127.0.0.6", 3L), countsByPeer(picky, "@picky.example"));
    String sitesView = node.signed("GET", "/_mailgate/delivery/sites", null, Map.of()).body();
    JsonObject down = new JsonObject(sitesView).getJsonArray("UnreachableHosts").stream().map(JsonObject.class::cast)
        .filter(h -> h.getString("Host").contains("127.0.0.7")).findFirst().orElseThrow(() -> new AssertionError(sitesView));
    assertEquals("127.0.0.5", down.getString("From"), sitesView);
  }

  @Test
  void anAddressTheSiteAskedToSlowDownIsPassedOverWhileItsPauseLasts() {
    // one message after the other: the first from 127.0.0.5 is throttled (450 4.7.28, a pause of the site for that
    // address) and deferred; 127.0.0.6 takes the others, its own turns and those 127.0.0.5 is passed over for, rather
    // than each of them waiting for the pause
    assertEquals(List.of("DeliveryDelay"), notDeliveredOfFour("@slowing.example"));
    assertEquals(Map.of("127.0.0.6", 3L), countsByPeer(slowing, "@slowing.example"));
    JsonObject paused = siteView("mx.slowing.test from 127.0.0.5");
    assertTrue(paused.containsKey("PausedUntil"), paused.encode());
  }

  @Test
  void aMessageWaitingInAnAddressesPoolWhenTheSiteThrottlesItGoesFromAnother() {
    // four messages at once to a site of one connection per address: two for each address in turn. The first of
    // 127.0.0.5's is answered 450 4.7.28 once the second waits in its pool for that connection; the pause gives the
    // second back without an attempt, and 127.0.0.6 takes it at once instead of the queue until the pause is over
    // (five minutes)
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ids.add(send("mx-set", "m" + i + "@queued.example"));
    }
    Await.until(() -> countsByPeer(queued, "@queued.example").getOrDefault("127.0.0.6", 0L), n -> n == 3,
        Duration.ofSeconds(20));
    List<String> outcomes = ids.stream().map(id -> firstOutcome(id).getString("eventType")).sorted().toList();
    assertEquals(List.of("Delivery", "Delivery", "Delivery", "DeliveryDelay"), outcomes);
    assertEquals(Map.of("127.0.0.6", 3L), countsByPeer(queued, "@queued.example"));
  }

  @Test
  void aSiteThatRefusesEveryAddressWaitsForItsHosts() {
    // both addresses refused in turn (each attempt counted, with its DeliveryDelay)
    for (int i = 0; i < 2; i++) {
      JsonObject outcome = firstOutcome(send("mx-set", "m" + i + "@refusing.example"));
      assertEquals("DeliveryDelay", outcome.getString("eventType"), outcome.encodePrettily());
    }
    assertEquals(2, refusing.connections());
    // the third finds the hosts set aside for both addresses: it waits for them, not attempted (no connection, no
    // attempt counted, no DeliveryDelay), rather than fail as if no address could reach the site
    long rescheduled = Math.max(0, node.metric("mailgate_delivery_outcomes_total{outcome=\"rescheduled\"}"));
    String third = send("mx-set", "m2@refusing.example");
    Await.until(() -> node.metric("mailgate_delivery_outcomes_total{outcome=\"rescheduled\"}") > rescheduled,
        Duration.ofSeconds(10));
    JsonObject status = node.message(third);
    assertEquals(1, status.getJsonArray("Events").size(), status.encodePrettily());
    assertEquals(0, status.getJsonArray("Recipients").getJsonObject(0).getInteger("Attempts"), status.encodePrettily());
    assertEquals(2, refusing.connections());
  }

  @Test
  void oneMessageToEachOfManySitesIsSpreadOverTheAddresses() {
    // each site's turn starts at a random address: twenty sites (each its MX host) mailed once do not all get the
    // first (that would happen once in half a million runs)
    for (int i = 0; i < 20; i++) {
      send("mx-set", "someone@d" + i + ".spread.example");
    }
    Await.until(() -> countsByPeer(mx, ".spread.example").values().stream().mapToLong(Long::longValue).sum() == 20,
        Duration.ofSeconds(20));
    assertEquals(Set.of("127.0.0.5", "127.0.0.6"), countsByPeer(mx, ".spread.example").keySet());
  }

  @Test
  void aSiteNoSourceCanReachIsASoftFailureThatSaysWhy() {
    JsonObject delay = firstOutcome(send("mx-set", "someone@v6only.example"));
    assertEquals("DeliveryDelay", delay.getString("eventType"), delay.encodePrettily());
    String diagnostic = delay.getJsonObject("deliveryDelay").getJsonArray("delayedRecipients").getJsonObject(0)
        .getString("diagnosticCode");
    assertTrue(diagnostic.contains("127.0.0.5, 127.0.0.6") && diagnostic.contains("an IPv4 source reaches IPv4"),
        diagnostic);
  }

  @Test
  void aPoolWithoutSourcesLeavesFromTheNodes() {
    send("plain-set", "someone@plain-pool.example");
    Await.until(() -> !sources(bulkRelay, "@plain-pool.example").isEmpty(), Duration.ofSeconds(10));
    assertEquals(Map.of("127.0.0.2", "node.source.test"), sources(bulkRelay, "@plain-pool.example"));
  }

  @Test
  void dedicatedIpPoolsAreTheSendingPools() {
    ListDedicatedIpPoolsResponse pools = ses.listDedicatedIpPools(r -> r.build());
    assertEquals(List.of("bulk", "plain", "shared", "mx"), pools.dedicatedIpPools());
    assertNull(pools.nextToken());
    ListDedicatedIpPoolsResponse first = ses.listDedicatedIpPools(r -> r.pageSize(3));
    assertEquals(List.of("bulk", "plain", "shared"), first.dedicatedIpPools());
    ListDedicatedIpPoolsResponse second = ses.listDedicatedIpPools(r -> r.pageSize(3).nextToken(first.nextToken()));
    assertEquals(List.of("mx"), second.dedicatedIpPools());
    assertNull(second.nextToken());
    assertEquals(ScalingMode.STANDARD, ses.getDedicatedIpPool(r -> r.poolName("bulk")).dedicatedIpPool().scalingMode());
    assertThrows(NotFoundException.class, () -> ses.getDedicatedIpPool(r -> r.poolName("nope")));
  }

  @Test
  void dedicatedIpsAreTheSourceAddresses() {
    GetDedicatedIpsResponse all = ses.getDedicatedIps(r -> r.build());
    assertEquals(List.of("127.0.0.2 null", "127.0.0.3 bulk", "127.0.0.4 bulk", "127.0.0.5 mx", "127.0.0.6 mx"),
        all.dedicatedIps().stream().map(ip -> ip.ip() + " " + ip.poolName()).toList());
    for (DedicatedIp ip : all.dedicatedIps()) {
      assertEquals(WarmupStatus.DONE, ip.warmupStatus());
      assertEquals(100, ip.warmupPercentage());
    }
    // an address in two pools is shown once, in the first; asked for by pool, in that pool
    assertEquals(List.of("127.0.0.4 shared"), ses.getDedicatedIps(r -> r.poolName("shared")).dedicatedIps().stream()
        .map(ip -> ip.ip() + " " + ip.poolName()).toList());
    // a pool without addresses of its own (its mail leaves from the node's, which are in no pool) lists none
    assertEquals(List.of(), ses.getDedicatedIps(r -> r.poolName("plain")).dedicatedIps());
    // paged
    Set<String> paged = new TreeSet<>();
    String token = null;
    int pages = 0;
    do {
      String t = token;
      GetDedicatedIpsResponse page = ses.getDedicatedIps(r -> r.pageSize(2).nextToken(t));
      page.dedicatedIps().forEach(ip -> paged.add(ip.ip()));
      token = page.nextToken();
      pages++;
    } while (token != null);
    assertEquals(Set.of("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"), paged);
    assertEquals(3, pages);
    assertEquals("bulk", ses.getDedicatedIp(r -> r.ip("127.0.0.4")).dedicatedIp().poolName());
    assertNull(ses.getDedicatedIp(r -> r.ip("127.0.0.2")).dedicatedIp().poolName());
    // in any spelling: an IPv4-mapped IPv6 address is its IPv4 address
    assertEquals("127.0.0.4", ses.getDedicatedIp(r -> r.ip("::ffff:127.0.0.4")).dedicatedIp().ip());
    assertThrows(NotFoundException.class, () -> ses.getDedicatedIp(r -> r.ip("10.9.9.9")));
    assertThrows(NotFoundException.class, () -> ses.getDedicatedIps(r -> r.poolName("nope")));
    assertThrows(BadRequestException.class, () -> ses.getDedicatedIps(r -> r.nextToken("not-ours")));
  }

  @Test
  void poolsAndAddressesCannotBeChangedThroughTheApi() {
    assertThrows(BadRequestException.class, () -> ses.createDedicatedIpPool(r -> r.poolName("new")));
    assertThrows(BadRequestException.class, () -> ses.deleteDedicatedIpPool(r -> r.poolName("bulk")));
    assertThrows(BadRequestException.class, () -> ses.putDedicatedIpInPool(r -> r.ip("127.0.0.3")
        .destinationPoolName("plain")));
    assertThrows(BadRequestException.class, () -> ses.putDedicatedIpWarmupAttributes(r -> r.ip("127.0.0.3")
        .warmupPercentage(50)));
    assertEquals(List.of("bulk", "plain", "shared", "mx"), ses.listDedicatedIpPools(r -> r.build()).dedicatedIpPools());
  }

  @Test
  void aSourceThisMachineDoesNotHaveFailsTheStart() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Map<MailgateConfig, String> refused = new java.util.LinkedHashMap<>();
      refused.put(MailgateConfig.defaults().with(MailgateConfig.DELIVERY_SOURCE_ADDRESSES, "192.0.2.55"),
          "source address 192.0.2.55 (delivery.sourceAddresses) cannot be used by this machine");
      refused.put(MailgateConfig.defaults().with(MailgateConfig.DELIVERY_SENDING_POOLS, "bulk=direct source=192.0.2.56"),
          "source address 192.0.2.56 (sending pool bulk) cannot be used by this machine");
      // an address has one PTR name: two EHLO names for it cannot both match
      refused.put(MailgateConfig.defaults().with(MailgateConfig.DELIVERY_SOURCE_ADDRESSES, "127.0.0.2/a.example")
          .with(MailgateConfig.DELIVERY_SENDING_POOLS, "bulk=direct source=127.0.0.2/b.example"),
          "source address 127.0.0.2 is given two EHLO names (a.example in delivery.sourceAddresses, b.example in "
              + "sending pool bulk)");
      // the same name, once written and once as delivery.heloName's (in any case), is one name
      refused.put(MailgateConfig.defaults().with(MailgateConfig.DELIVERY_HELO_NAME, "A.Example")
          .with(MailgateConfig.DELIVERY_SOURCE_ADDRESSES, "127.0.0.2")
          .with(MailgateConfig.DELIVERY_SENDING_POOLS, "bulk=direct source=127.0.0.2/a.example source=192.0.2.57"),
          "source address 192.0.2.57 (sending pool bulk) cannot be used by this machine");
      refused.forEach((config, message) -> {
        Future<MailgateNode> started = MailgateNode.start(vertx, config, Clock.systemUTC(), true);
        Throwable failure = started.toCompletionStage().toCompletableFuture().handle((n, e) -> e).join();
        assertTrue(failure instanceof ConfigException, String.valueOf(failure));
        assertTrue(failure.getMessage().startsWith(message), failure.getMessage());
      });
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void anAddressReachesTheEndpointsOfItsFamily() {
    List<SmtpConnection.Endpoint> endpoints = List.of(endpoint("192.0.2.1"), endpoint("2001:db8::1"),
        endpoint("relay.example"));
    assertEquals(List.of("192.0.2.1", "relay.example"), DeliveryVerticle.reachableFrom(
        new SendingPools.Source("198.51.100.7", null), endpoints).stream().map(SmtpConnection.Endpoint::address).toList());
    assertEquals(List.of("2001:db8::1", "relay.example"), DeliveryVerticle.reachableFrom(
        new SendingPools.Source("2001:db8::7", null), endpoints).stream().map(SmtpConnection.Endpoint::address).toList());
  }

  @Test
  void aMessageTakesTheNextAddressThatCanGoElseTheOneBackFirst() {
    assertEquals(1, DeliveryVerticle.choose(new long[] {0, 0, 0}, 1), "in turn");
    assertEquals(0, DeliveryVerticle.choose(new long[] {0, 500, 500}, 1), "passing over those set aside, wrapping round");
    assertEquals(2, DeliveryVerticle.choose(new long[] {-1, 500, 0}, 0), "and one that cannot reach the site");
    assertEquals(0, DeliveryVerticle.choose(new long[] {300, 900, 600}, 1), "none can go: the one back first");
    assertEquals(2, DeliveryVerticle.choose(new long[] {-1, -1, 600}, 0));
    assertEquals(-1, DeliveryVerticle.choose(new long[] {-1, -1}, 1), "none can reach the site");
  }

  private static SmtpConnection.Endpoint endpoint(String address) {
    return SmtpConnection.Endpoint.mx("mx.example", address, 25);
  }
}
