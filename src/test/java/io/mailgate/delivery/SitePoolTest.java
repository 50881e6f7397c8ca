package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.OnLoop;
import io.mailgate.testing.RecordingSmtpServer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One site's pool alone, its MX hosts {@link RecordingSmtpServer}s on loopback addresses (127.0.1.x, one port): how an
 * attempt walks the hosts, which hosts it leaves alone afterwards ({@link HostHealth}), and what goes out again at
 * once. Runs on one event loop, as a delivery instance's pools do.
 */
class SitePoolTest {
  Vertx vertx;
  NetClient client;
  Context loop;
  int port;
  final List<RecordingSmtpServer> servers = new ArrayList<>();
  final List<SitePool> pools = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    vertx = Vertx.vertx();
    // as the node registers them; no limiter answers here, so the pools keep to their own limits and throttles
    io.mailgate.LocalCodec.register(vertx, io.mailgate.ratelimit.SiteTokenRequest.class,
        io.mailgate.ratelimit.SiteTokens.class, io.mailgate.ratelimit.SiteThrottleRequest.class,
        io.mailgate.ratelimit.SiteThrottleState.class);
    client = vertx.createNetClient();
    loop = vertx.getOrCreateContext();
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (SitePool p : pools) {
      on(p::close);
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    for (RecordingSmtpServer s : servers) {
      s.close();
    }
  }

  RecordingSmtpServer server(int n) throws IOException {
    RecordingSmtpServer s = new RecordingSmtpServer(InetAddress.getByName("127.0.1." + n), port);
    servers.add(s);
    return s;
  }

  SmtpConnection.Endpoint mx(int n) {
    return SmtpConnection.Endpoint.mx("mx" + n + ".site.test", "127.0.1." + n, port);
  }

  /** The result of what {@code action} starts on the pool's event loop. */
  <T> T on(Supplier<? extends Future<T>> action) throws Exception {
    return OnLoop.start(loop, action).get(30, TimeUnit.SECONDS);
  }

  /** A pool of one connection at a time for the site, made on the event loop. */
  SitePool pool(HostHealth hosts, long commandTimeoutMs) throws Exception {
    return pool(hosts, commandTimeoutMs, 0);
  }

  /** As above, where an attempt waits at most {@code maxWaitMs} for a connection (0: no limit). */
  SitePool pool(HostHealth hosts, long commandTimeoutMs, long maxWaitMs) throws Exception {
    SmtpConnection.Options options = new SmtpConnection.Options("client.test", 2_000, commandTimeoutMs,
        commandTimeoutMs * 2, commandTimeoutMs, RelayTls.of("credentials", ""));
    SitePool pool = on(() -> Future.succeededFuture(new SitePool(vertx, client,
        new SiteState("site.test", new Shaping.Limits(1, 100, 0, 0)), hosts, options,
        DeliverySettings.TlsPolicy.OPTIONAL, ThrottleRules.load(""), 1, true, 30_000, maxWaitMs)));
    pools.add(pool);
    return pool;
  }

  static OutgoingMessage message(String subject) {
    return new OutgoingMessage(("Subject: " + subject + "\r\n\r\nbody\r\n").getBytes(StandardCharsets.UTF_8));
  }

  AttemptResult deliver(SitePool pool, List<SmtpConnection.Endpoint> endpoints, String rcpt) throws Exception {
    return on(() -> {
      pool.endpoints(endpoints);
      return pool.deliver("sender@example.com", rcpt, message("pool"), null);
    });
  }

  /**
   * An attempt moved from another source address's pool (the site could not be reached from that address) brings the
   * time it began to wait there: its wait here counts from then, so that it waits no longer in all than in one pool
   * (the message's lease covers one wait). Given back for having waited too long, it is not one whose address cannot
   * go: no other address takes it.
   */
  @Test
  void anAttemptsWaitCountsFromWhenItBeganToWaitInAnotherPool() throws Exception {
    RecordingSmtpServer server = server(1);
    SitePool pool = pool(new HostHealth(60_000), 2_000, 1_000);
    long began = SitePool.waitClock() - 5_000;
    AttemptResult late = on(() -> {
      pool.endpoints(List.of(mx(1)));
      return pool.deliver("sender@example.com", "a@site.test", message("late"), null, began);
    });
    AttemptResult.Deferred deferred = assertInstanceOf(AttemptResult.Deferred.class, late, late.toString());
    assertTrue(deferred.reason().startsWith("waited too long for a connection"), deferred.reason());
    assertFalse(deferred.addressDown());
    assertEquals(0, server.connections());
    AttemptResult fresh = on(() -> pool.deliver("sender@example.com", "b@site.test", message("fresh"), null,
        SitePool.waitClock()));
    assertInstanceOf(AttemptResult.Delivered.class, fresh, fresh.toString());
  }

  /**
   * A 421 to EHLO is the host refusing service, as in a greeting: the next MX gets the message, over EHLO, and the
   * first never a HELO session (which would have had no STARTTLS and no 8BITMIME).
   */
  @Test
  void a421ToEhloSendsTheMessageToTheNextHostNotOverHelo() throws Exception {
    RecordingSmtpServer busy = server(1).onCommand(line -> line.startsWith("EHLO")
        ? "421 4.7.0 mx1.site.test Service not available, closing transmission channel" : null);
    RecordingSmtpServer next = server(2);
    HostHealth hosts = new HostHealth(60_000);
    AttemptResult r = deliver(pool(hosts, 2_000), List.of(mx(1), mx(2)), "a@site.test");
    assertInstanceOf(AttemptResult.Delivered.class, r, r.toString());
    assertEquals("127.0.1.2", r.remoteMta());
    assertEquals(0, busy.commands().stream().filter(c -> c.startsWith("HELO")).count(), busy.commands().toString());
    assertTrue(busy.received().isEmpty());
    assertEquals(1, next.received().size());
    assertTrue(next.commands().get(0).startsWith("EHLO"), next.commands().toString());
  }

  /**
   * The hosts an attempt walks are the pool's list when it started: the list other recipients' routing puts in
   * meanwhile (shuffled anew) does not make it try one address twice and skip another.
   */
  @Test
  void anAttemptWalksTheHostsItStartedWith() throws Exception {
    RecordingSmtpServer refusing = server(1).greeting("554 5.7.1 No SMTP service here");
    RecordingSmtpServer second = server(2);
    RecordingSmtpServer third = server(3);
    SitePool pool = pool(new HostHealth(0), 2_000); // no host is left alone: only the walk decides
    AttemptResult r = on(() -> {
      pool.endpoints(List.of(mx(1), mx(2), mx(3)));
      Future<AttemptResult> attempt = pool.deliver("sender@example.com", "a@site.test", message("walk"), null);
      // the next recipient of the site is routed while the attempt connects to the first host
      pool.endpoints(List.of(mx(2), mx(1), mx(3)));
      return attempt;
    });
    assertInstanceOf(AttemptResult.Delivered.class, r, r.toString());
    assertEquals(1, refusing.connections(), "the first host was tried again");
    assertEquals(1, second.received().size(), "the second host was skipped");
    assertEquals(0, third.connections());
  }

  /**
   * A host that greets nobody (a tarpit) or refuses service in its greeting is left alone for a while, as one that
   * cannot be connected to: the next attempts do not each spend a greeting timeout on it. One that is only busy (a
   * 4yz greeting, here one no throttle rule matches) is asked again: the throttle rules are what slow a site down, and
   * a lone relay's mail does not wait out a doubling mark after it recovered.
   */
  @Test
  void aHostWithoutAGreetingOrThatRefusesServiceIsLeftAlone() throws Exception {
    RecordingSmtpServer tarpit = server(1).greeting(null);
    RecordingSmtpServer refusing = server(2).greeting("554 5.7.1 No SMTP service here");
    RecordingSmtpServer busy = server(4).greeting("450 4.3.2 Not accepting connections at the moment");
    RecordingSmtpServer good = server(3);
    HostHealth hosts = new HostHealth(60_000);
    SitePool pool = pool(hosts, 1_000); // the tarpit's greeting timeout
    AttemptResult first = deliver(pool, List.of(mx(1), mx(2), mx(4), mx(3)), "a@site.test");
    assertInstanceOf(AttemptResult.Delivered.class, first, first.toString());
    long now = System.currentTimeMillis();
    assertTrue(hosts.downUntil(HostHealth.key(mx(1)), now) > now, hosts.toJson(now).encode());
    assertTrue(hosts.reason(HostHealth.key(mx(1)), now).startsWith("no greeting from mx1.site.test"),
        hosts.reason(HostHealth.key(mx(1)), now));
    assertTrue(hosts.downUntil(HostHealth.key(mx(2)), now) > now, hosts.toJson(now).encode());
    assertEquals(0, hosts.downUntil(HostHealth.key(mx(3)), now));
    assertEquals(0, hosts.downUntil(HostHealth.key(mx(4)), now), "a busy host is not marked down");

    // another pool with the same host health: a new connection, not the first pool's idle one to mx3
    AttemptResult second = deliver(pool(hosts, 1_000), List.of(mx(1), mx(2), mx(4), mx(3)), "b@site.test");
    assertInstanceOf(AttemptResult.Delivered.class, second, second.toString());
    assertEquals(1, tarpit.connections(), "the tarpit was connected to again");
    assertEquals(1, refusing.connections(), "the refusing host was connected to again");
    assertEquals(2, busy.connections(), "the busy host was asked again");
    assertEquals(2, good.received().size());
  }

  /**
   * An envelope that cannot be written in ASCII (a non-ASCII local part that got this far) can never be sent as it
   * is: a permanent failure at once, not a soft one retried until the message expires; the connection stays usable.
   */
  @Test
  void anEnvelopeThatCannotBeWrittenIsAPermanentFailure() throws Exception {
    RecordingSmtpServer server = server(1);
    SitePool pool = pool(new HostHealth(60_000), 2_000);
    AttemptResult r = deliver(pool, List.of(mx(1)), "b\u00fc@site.test");
    AttemptResult.Rejected rejected = assertInstanceOf(AttemptResult.Rejected.class, r, r.toString());
    assertEquals(553, rejected.reply().code());
    assertEquals("5.6.7", rejected.reply().enhancedStatus());
    assertEquals(0, server.commands().stream().filter(c -> c.startsWith("MAIL")).count());
    assertInstanceOf(AttemptResult.Delivered.class, deliver(pool, List.of(mx(1)), "b@site.test"));
  }

  /** A server that answers EHLO and then nothing at all: MAIL, RCPT and DATA (pipelined together) go unanswered. */
  static String silentAfterEhlo(String line) {
    return line.startsWith("MAIL") || line.startsWith("RCPT") || line.equals("DATA") ? "" : null;
  }

  /**
   * A host that greets and answers EHLO, then never answers MAIL: after the command timeout the attempt is a failure
   * (counted, retried with backoff, with its DeliveryDelay), not one given back "not attempted" for having waited too
   * long by the time it was put back in line (it would meet the same silence again and again until the message
   * expired, never counted); and the host is left alone for a while, as a tarpit is.
   */
  @Test
  void aHostSilentAfterEhloFailsTheAttemptAndIsLeftAlone() throws Exception {
    RecordingSmtpServer silent = server(1).onCommand(SitePoolTest::silentAfterEhlo);
    HostHealth hosts = new HostHealth(60_000);
    // the command timeout is longer than an attempt may wait for a connection, as the defaults are (300 s, half of a
    // 300 s lease)
    AttemptResult r = deliver(pool(hosts, 1_000, 500), List.of(mx(1)), "a@site.test");
    AttemptResult.Failed failed = assertInstanceOf(AttemptResult.Failed.class, r, r.toString());
    assertTrue(failed.reason().contains("timeout after 1s waiting for the reply to MAIL FROM"), failed.reason());
    assertEquals("127.0.1.1", failed.remoteMta());
    long now = System.currentTimeMillis();
    assertTrue(hosts.downUntil(HostHealth.key(mx(1)), now) > now, hosts.toJson(now).encode());
    assertEquals(1, silent.connections(), "the host was asked again within the attempt");
  }

  /**
   * RFC 5321 5.1: a host that takes the connection and greets, then fails the session before the message went (drops
   * the connection at MAIL, goes silent, answers 421), does not keep the message from the site's other hosts: the same
   * attempt goes to the next one. One that dropped or went silent is left alone for a while, so that the next
   * messages go to the others first; one that answered 421, a busy host, is not (the throttle rules answer that).
   */
  @Test
  void aSessionThatFailsBeforeTheMessageWentGoesToTheNextHost() throws Exception {
    RecordingSmtpServer dropping = server(1).onCommand(line -> line.startsWith("MAIL") ? RecordingSmtpServer.DROP
        : null);
    RecordingSmtpServer silent = server(2).onCommand(SitePoolTest::silentAfterEhlo);
    RecordingSmtpServer closing = server(3).onCommand(line -> line.startsWith("MAIL")
        ? "421 4.3.2 mx3.site.test Service shutting down, closing transmission channel" : null);
    RecordingSmtpServer good = server(4);
    HostHealth hosts = new HostHealth(60_000);
    for (int failing = 1; failing <= 3; failing++) {
      AttemptResult r = deliver(pool(hosts, 1_000), List.of(mx(failing), mx(4)), "a" + failing + "@site.test");
      assertInstanceOf(AttemptResult.Delivered.class, r, "after mx" + failing + ": " + r);
      assertEquals("127.0.1.4", r.remoteMta());
    }
    assertEquals(3, good.received().size());
    for (RecordingSmtpServer failing : List.of(dropping, silent, closing)) {
      assertEquals(1, failing.connections());
      assertTrue(failing.received().isEmpty());
    }
    long now = System.currentTimeMillis();
    assertTrue(hosts.downUntil(HostHealth.key(mx(1)), now) > now, hosts.toJson(now).encode());
    assertTrue(hosts.downUntil(HostHealth.key(mx(2)), now) > now, hosts.toJson(now).encode());
    assertEquals(0, hosts.downUntil(HostHealth.key(mx(3)), now), "a busy host is not marked down");

    // the next message goes straight to the host that works
    AttemptResult next = deliver(pool(hosts, 1_000), List.of(mx(1), mx(4)), "b@site.test");
    assertInstanceOf(AttemptResult.Delivered.class, next, next.toString());
    assertEquals(1, dropping.connections(), "the host that dropped the session was tried again at once");
  }

  /**
   * A 421 that asks us to slow down (Yahoo's TSS04, a rate limit) is the site's word, not its host's: the attempt
   * ends with it and the site's next MX is not sent the message at once, as it would be after a 421 of a busy host.
   */
  @Test
  void aSessionEndedWithASlowDownDoesNotGoToTheNextHost() throws Exception {
    RecordingSmtpServer limiting = server(1).onCommand(line -> line.startsWith("MAIL")
        ? "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred due to unexpected volume or user complaints"
        : null);
    RecordingSmtpServer next = server(2);
    AttemptResult r = deliver(pool(new HostHealth(60_000), 2_000), List.of(mx(1), mx(2)), "a@site.test");
    AttemptResult.Rejected rejected = assertInstanceOf(AttemptResult.Rejected.class, r, r.toString());
    assertEquals(421, rejected.reply().code());
    assertEquals(0, next.connections(), "the site's next host was sent the message");
    assertTrue(limiting.received().isEmpty());
  }

  /**
   * A host that drops every session at MAIL (after a while), alone in its site: tried once more on a new connection,
   * then the attempt is a failure that says what happened (counted), not one given back as if nothing had been tried
   * because it waited too long by then.
   */
  @Test
  void aLoneHostThatDropsEverySessionFailsTheAttempt() throws Exception {
    RecordingSmtpServer dropping = server(1).onCommand(line -> {
      if (!line.startsWith("MAIL")) {
        return null;
      }
      try {
        Thread.sleep(300);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return RecordingSmtpServer.DROP;
    });
    AttemptResult r = deliver(pool(new HostHealth(60_000), 2_000, 200), List.of(mx(1)), "a@site.test");
    AttemptResult.Failed failed = assertInstanceOf(AttemptResult.Failed.class, r, r.toString());
    assertTrue(failed.reason().contains("connection closed by mx1.site.test"), failed.reason());
    assertEquals(2, dropping.connections());
  }

  /**
   * A connection that drops after MAIL and RCPT were accepted but before DATA's 354: none of the content went, so the
   * server cannot have taken the message, and it goes out again at once on a new connection (not a failed attempt
   * waiting for its retry).
   */
  @Test
  void aDropBeforeTheContentWentIsTriedAgainAtOnce() throws Exception {
    AtomicInteger datas = new AtomicInteger();
    RecordingSmtpServer server = server(1).onCommand(line -> line.equals("DATA") && datas.incrementAndGet() == 1
        ? RecordingSmtpServer.DROP : null);
    AttemptResult r = deliver(pool(new HostHealth(60_000), 2_000), List.of(mx(1)), "a@site.test");
    assertInstanceOf(AttemptResult.Delivered.class, r, r.toString());
    assertEquals(2, server.connections());
    assertEquals(2, server.commands().stream().filter(c -> c.startsWith("MAIL")).count());
    assertEquals(1, server.received().size());
  }
}
