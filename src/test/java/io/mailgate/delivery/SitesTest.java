package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/** The node forgets the sites it no longer has a pool for, unless they are paused or slowed down. */
class SitesTest {
  static final Shaping.Limits LIMITS = new Shaping.Limits(10, 100, 0, 0);

  @Test
  void aSiteIsForgottenWhenItsLastPoolGoes() {
    Sites sites = new Sites(0);
    SiteState a = sites.acquire("a", k -> new SiteState(k, LIMITS));
    assertSame(a, sites.acquire("a", k -> new SiteState(k, LIMITS)));
    sites.release(a);
    assertEquals(1, sites.summary().sites(), "one pool still holds it");
    sites.release(a);
    assertEquals(0, sites.summary().sites());
    assertNotSame(a, sites.acquire("a", k -> new SiteState(k, LIMITS)), "a fresh state for it next time");
  }

  @Test
  void aPausedOrSlowedSiteIsKept() {
    Sites sites = new Sites(0);
    long now = System.currentTimeMillis();
    SiteState paused = sites.acquire("paused", k -> new SiteState(k, LIMITS));
    paused.throttle(new ThrottleRules.Throttle(Duration.ofSeconds(60), 1.0, "test", false), new SmtpResponse(421, "", "x"), now);
    SiteState slowed = sites.acquire("slowed", k -> new SiteState(k, LIMITS));
    slowed.throttle(new ThrottleRules.Throttle(Duration.ZERO, 0.5, "test", false), new SmtpResponse(421, "", "x"), now);
    sites.release(paused);
    sites.release(slowed);
    sites.sweep(now);
    assertEquals(2, sites.summary().sites());
    sites.sweep(now + 60_001);
    assertEquals(1, sites.summary().sites(), "the pause is over");
    assertSame(slowed, sites.acquire("slowed", k -> new SiteState(k, LIMITS)), "its factor is remembered");
  }

  /** What the choice of a source address reads: until when a site asked to be left alone, 0 once that is over. */
  @Test
  void aSitesPauseIsReadUntilItIsOver() {
    Sites sites = new Sites(0);
    long now = System.currentTimeMillis();
    assertEquals(0, sites.pausedUntil("unknown", now), "a site the node does not know asked nothing");
    SiteState site = sites.acquire("site from 192.0.2.1", k -> new SiteState(k, LIMITS));
    assertEquals(0, sites.pausedUntil("site from 192.0.2.1", now));
    site.throttle(new ThrottleRules.Throttle(Duration.ofSeconds(60), 0.5, "test", false), new SmtpResponse(450, "4.7.28",
        "slow down"), now);
    assertEquals(now + 60_000, sites.pausedUntil("site from 192.0.2.1", now));
    assertEquals(now + 60_000, sites.pausedUntil("site from 192.0.2.1", now + 59_999));
    assertEquals(0, sites.pausedUntil("site from 192.0.2.1", now + 60_000), "over: the address can go now");
    assertEquals(0, sites.pausedUntil("site from 192.0.2.2", now), "the site from another address is another");
  }

  /** Instances take and drop pools for one site at once: a held state is never forgotten, a dropped one always. */
  @Test
  void instancesOnTheirOwnThreads() throws Exception {
    Sites sites = new Sites(0);
    int threads = 4;
    AtomicInteger lost = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> all = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread th = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 20_000; i++) {
          SiteState s = sites.acquire("shared", k -> new SiteState(k, LIMITS));
          sites.sweep(System.currentTimeMillis());
          if (sites.acquire("shared", k -> new SiteState(k, LIMITS)) != s) {
            lost.incrementAndGet(); // forgotten while held: another instance would have had a state of its own
          } else {
            sites.release(s);
          }
          sites.release(s);
        }
      });
      all.add(th);
      th.start();
    }
    start.countDown();
    for (Thread th : all) {
      th.join();
    }
    assertEquals(0, lost.get());
    assertEquals(0, sites.summary().sites());
  }

  /**
   * Direct delivery to domains with MX hosts of their own: once their pools are dropped (a minute after the start,
   * their connections closed after a second idle), the status API no longer lists them.
   */
  @Test
  void theNodeForgetsTheSitesItNoLongerSendsTo() throws Exception {
    int port = EmbeddedServices.freePort();
    int domains = 5;
    FakeDnsServer dns = FakeDnsServer.start().defaultTtl(60).soa(60, 60);
    for (int i = 0; i < domains; i++) {
      dns.mx("d" + i + ".example", 10, "mx.d" + i + ".forget.test").a("mx.d" + i + ".forget.test", "127.0.0.1");
    }
    try (dns;
         RecordingSmtpServer mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), port);
         TestNode node = TestNode.start("", c -> c
             .with(MailgateConfig.DELIVERY_MODE, "direct")
             .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
             .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
             .with(MailgateConfig.DELIVERY_IDLE_TIMEOUT_SECONDS, 1));
         SesV2Client ses = node.sesV2()) {
      for (int i = 0; i < domains; i++) {
        String to = "r@d" + i + ".example";
        ses.sendEmail(r -> r.fromEmailAddress("s@example.com").destination(d -> d.toAddresses(to))
            .content(c -> c.simple(m -> m.subject(s -> s.data("once")).body(b -> b.text(t -> t.data("x"))))));
      }
      Await.until(() -> mx.received().size() >= domains, Duration.ofSeconds(30));
      assertEquals(domains, forgetSites(node), "listed while their pools are there");
      Await.until(() -> forgetSites(node), n -> n == 0, Duration.ofSeconds(100));
    }
  }

  private static int forgetSites(TestNode node) {
    JsonArray sites = new JsonObject(node.signed("GET", "/_mailgate/delivery/sites", null, Map.of()).body())
        .getJsonArray("Sites");
    return (int) sites.stream().filter(s -> ((JsonObject) s).getString("Site").contains("forget.test")).count();
  }
}
