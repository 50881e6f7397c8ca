package io.mailgate.delivery;

import io.mailgate.EventBusAddresses;
import io.mailgate.metrics.Metrics;
import io.mailgate.ratelimit.SiteThrottleRequest;
import io.mailgate.ratelimit.SiteThrottleState;
import io.mailgate.ratelimit.SiteTokenRequest;
import io.mailgate.ratelimit.SiteTokens;
import io.mailgate.send.SevenBitConversion;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.net.NetClient;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The connections of one delivery instance to one destination site, shaped: at most so many open
 * (reduced while the site is throttled), each replaced after so many messages and closed when idle,
 * new ones and messages paced per second or minute when the site's limits say so, hosts tried in
 * preference order until one answers. A site that asks us to slow down is paused: attempts meanwhile
 * end as {@link AttemptResult.Deferred} without touching the network, and go back to the queue.
 *
 * <p>A site's message rate holds across all nodes: tokens come from the site's bucket in Redis
 * ({@link io.mailgate.ratelimit.RateLimiterVerticle}), a batch of at most a tenth of a second's
 * worth at a time. So does its slowing down: a throttle goes to Redis too, and each batch of tokens
 * brings back the site's shared pause and factor (no token while it is paused, and the bucket fills
 * at the configured rate times the factor). While Redis cannot be reached, each instance keeps to its
 * own share of the node's limit, and the node to its own throttles, instead, so delivery goes on
 * (other nodes may then send at the same rate too). Connections per minute and open connections are
 * limits per node.
 *
 * <p>Used from one event loop only; the {@link SiteState} it shares with other instances is
 * thread-safe.
 */
final class SitePool {
  private static final Logger LOG = Logger.getLogger(SitePool.class.getName());
  /** Tokens taken from the shared bucket and not used within this long are dropped. */
  private static final long SHARED_TOKENS_MAX_AGE_MS = 1000;
  /** After the shared bucket could not be reached, the instance's own share is used this long. */
  private static final long SHARED_RETRY_MS = 5000;
  /** A site without a per-second limit has its shared throttle state read this often at most, while attempts go. */
  private static final long LOOK_EVERY_MS = 1000;
  /**
   * A pool whose site's connections for the node are all held by other pools tries again after this: nothing of its
   * own would wake it (no connection of its own to come back), and the others' may go any moment.
   */
  private static final long RESERVE_RETRY_MS = 250;

  /**
   * A message for one recipient; {@code resent} once it went back to the head of the line or to another host (it goes
   * again once). One that goes again because a host failed its session ({@link SmtpConnection.SessionFailure}) was
   * attempted: it carries what it comes to if it goes nowhere ({@code failure}), and the host not to try again
   * ({@code avoid}, the key of {@link HostHealth}; null: any).
   */
  private record Attempt(String from, String rcpt, OutgoingMessage message, String envelopeId,
      Promise<AttemptResult> result, long enqueuedAt, boolean resent, AttemptResult failure, String avoid) {
    Attempt again() {
      return new Attempt(from, rcpt, message, envelopeId, result, enqueuedAt, true, null, null);
    }

    Attempt elsewhere(AttemptResult failure, String avoid) {
      return new Attempt(from, rcpt, message, envelopeId, result, enqueuedAt, true, failure, avoid);
    }

    /** Ends without going to a server (again): not attempted, unless a host failed it already. */
    void notSent(AttemptResult.Deferred deferred) {
      result.complete(failure != null ? failure : deferred);
    }
  }

  /** Token bucket for one instance's share of a per-second or per-minute limit. */
  private static final class Bucket {
    private double tokens;
    private long last;

    /** True when a token was taken; {@code perMillis} tokens are added per millisecond, up to {@code burst}. */
    boolean take(double perMillis, double burst, long now) {
      if (last == 0) {
        tokens = burst;
      } else {
        tokens = Math.min(burst, tokens + (now - last) * perMillis);
      }
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      return false;
    }

    /** Gives back a token {@link #take} gave that was not used after all. */
    void refund() {
      tokens += 1;
    }

    long millisToNext(double perMillis) {
      return perMillis <= 0 ? 1000 : Math.max(1, (long) Math.ceil((1 - tokens) / perMillis));
    }
  }

  private final Vertx vertx;
  /** The event loop the pool is used from, where other pools' requests to make room ({@link #makeRoom}) run. */
  private final Context context;
  private final NetClient client;
  private final SiteState site;
  private final HostHealth hosts;
  private final SmtpConnection.Options options;
  private final DeliverySettings.TlsPolicy tlsPolicy;
  private final ThrottleRules throttles;
  private final Metrics metrics;
  private final int shareOf;
  /** The node's connections to the site may be this many times its limit (its instances', when the limit is each's). */
  private final int nodeShare;
  private final long idleTimeoutMs;
  private final long maxWaitMs;
  private final ArrayDeque<SmtpConnection> idle = new ArrayDeque<>();
  private final ArrayDeque<Attempt> waiting = new ArrayDeque<>();
  private final Bucket messages = new Bucket();
  private int sharedTokens;
  private long sharedTokensAt;
  private boolean askingShared;
  private long sharedDownUntil;
  /** When the shared throttle state of a site without a per-second limit was last read ({@link #lookShared}). */
  private long lookedAt;
  private final Bucket newConnections = new Bucket();
  private final TlsFallbacks withoutTls = new TlsFallbacks();
  private List<SmtpConnection.Endpoint> endpoints = List.of();
  private int open;
  private long dispatchTimer = -1;
  /** When {@link #dispatchTimer} fires. */
  private long dispatchDue;
  private boolean dispatching;
  /** Attempts wait and the site's connections are all held by other pools: counted in the site's starving pools. */
  private boolean starving;
  private final long sweeper;

  /**
   * @param instances the node's delivery instances, each with a pool for the site
   * @param perInstance whether the site's limits are each instance's (the relay's are) rather than
   *     the node's, which its instances share
   * @param maxWaitMs an attempt that cannot start within this (its lease would run out) goes back to
   *     the queue instead
   */
  SitePool(Vertx vertx, NetClient client, SiteState site, HostHealth hosts, SmtpConnection.Options options,
      DeliverySettings.TlsPolicy tlsPolicy, ThrottleRules throttles, int instances, boolean perInstance,
      long idleTimeoutMs, long maxWaitMs) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.client = client;
    this.site = site;
    this.hosts = hosts;
    this.options = options;
    this.tlsPolicy = tlsPolicy;
    this.throttles = throttles;
    this.metrics = Metrics.of(vertx);
    this.shareOf = perInstance ? 1 : Math.max(1, instances);
    this.nodeShare = perInstance ? Math.max(1, instances) : 1;
    this.idleTimeoutMs = idleTimeoutMs;
    this.maxWaitMs = maxWaitMs;
    this.sweeper = vertx.setPeriodic(Math.max(1000, idleTimeoutMs / 2), id -> closeIdle());
    site.sharing.add(this);
  }

  /** The hosts to try, best first (the latest DNS answer for the site). */
  void endpoints(List<SmtpConnection.Endpoint> endpoints) {
    this.endpoints = endpoints;
  }

  /**
   * The clock an attempt's wait for a connection is measured on: milliseconds from an arbitrary origin that never
   * steps (the wall clock stepped back would keep attempts waiting past their leases; stepped forward, give them all
   * back at once). Only differences of its values mean anything.
   */
  static long waitClock() {
    return System.nanoTime() / 1_000_000;
  }

  /** Delivers one recipient; the future always succeeds with the attempt's result. */
  Future<AttemptResult> deliver(String from, String rcpt, OutgoingMessage message, String envelopeId) {
    return deliver(from, rcpt, message, envelopeId, waitClock());
  }

  /**
   * As above, for an attempt that has been waiting for a connection since {@code waitingSince} ({@link #waitClock}, in
   * another pool): its
   * wait here counts from then, and it goes to the head of the queue when it began to wait before the attempt there
   * (the wait is checked at the head), so that the two waits together are about as long as one at most.
   */
  Future<AttemptResult> deliver(String from, String rcpt, OutgoingMessage message, String envelopeId,
      long waitingSince) {
    Promise<AttemptResult> p = Promise.promise();
    Attempt a = new Attempt(from, rcpt, message, envelopeId, p, waitingSince, false, null, null);
    if (!waiting.isEmpty() && waitingSince < waiting.peekFirst().enqueuedAt()) {
      waiting.addFirst(a);
    } else {
      waiting.addLast(a);
    }
    site.waiting.incrementAndGet();
    dispatch();
    return p.future();
  }

  SiteState site() {
    return site;
  }

  boolean isIdle() {
    return open == 0 && waiting.isEmpty();
  }

  private int concurrencyLimit() {
    int share = (int) Math.ceil((double) site.limits().maxConnections() / shareOf);
    return Math.max(1, (int) Math.floor(share * site.factor()));
  }

  /**
   * The site's connections for the whole node, which every pool for it reserves from before it connects: each
   * instance's share is rounded up, and a site has a pool per TLS policy in each instance, so the shares alone would
   * let the node open more than the site's limit (6 for a limit of 5 on two instances).
   */
  private int nodeLimit() {
    return Math.max(1, (int) Math.floor(site.limits().maxConnections() * nodeShare * site.factor()));
  }

  private Attempt next() {
    Attempt a = waiting.poll();
    if (a != null) {
      site.waiting.decrementAndGet();
    }
    return a;
  }

  /** Set by {@link #stopTaking}: no new transaction starts. */
  private boolean stopped;

  /**
   * Starts what can start. Not reentrant: what a call from inside the loop (a connection released at once, say, when
   * a message is too large for it) would do, the loop goes on to do, instead of one more stack frame for each.
   */
  private void dispatch() {
    if (stopped) {
      // the node is stopping: nothing new starts (an attempt put back as unanswered ends "not attempted")
      Attempt a;
      while ((a = next()) != null) {
        a.result().complete(new AttemptResult.Deferred(Instant.now(), "delivery stopped (node shutting down)", null));
      }
      starving(false);
      return;
    }
    if (dispatching) {
      return;
    }
    dispatching = true;
    try {
      starving(dispatchWaiting());
    } finally {
      dispatching = false;
    }
  }

  /**
   * Counts the pool among the site's starving ones, or no longer. When it starts to starve, the site's other pools
   * are asked to give up an idle connection they have no work for: they keep it, reserved, for as long as the idle
   * timeout otherwise, while this pool's attempts wait for one until they are sent back to the queue.
   */
  private void starving(boolean now) {
    if (now == starving) {
      return;
    }
    starving = now;
    if (now) {
      site.starving.incrementAndGet();
      for (SitePool p : site.sharing) {
        if (p != this) {
          p.makeRoom();
        }
      }
    } else {
      site.starving.decrementAndGet();
    }
  }

  /**
   * From any thread: another pool of the site starves. On this pool's event loop, an idle connection goes if nothing
   * waits here for it and no other pool is making room already (one that comes back later goes instead of being
   * parked: {@link #release}).
   */
  private void makeRoom() {
    context.runOnContext(v -> {
      if (waiting.isEmpty() && !idle.isEmpty() && site.makeRoom()) {
        retireForRoom(idle.pollFirst());
      }
    });
  }

  /** {@link #retire}, for another pool of the site: counted until it is gone, so that others keep theirs. */
  private void retireForRoom(SmtpConnection c) {
    c.quit().onComplete(ar -> {
      closed();
      site.roomMade();
      dispatch();
    });
  }

  /** Starts what can start; true when attempts wait because other pools hold all the site's connections. */
  private boolean dispatchWaiting() {
    while (!waiting.isEmpty()) {
      long now = System.currentTimeMillis();
      long paused = site.pausedUntil();
      if (paused > now) {
        deferAll(paused, now, "site " + site.key + " asked to slow down");
        return false;
      }
      if (maxWaitMs > 0 && waitClock() - waiting.peek().enqueuedAt() > maxWaitMs) {
        // back to the queue a little later, spread: at once, the next scan would claim it into the same wait
        next().result().complete(new AttemptResult.Deferred(Instant.ofEpochMilli(now + 5_000
            + java.util.concurrent.ThreadLocalRandom.current().nextLong(25_000)),
            "waited too long for a connection to " + site.key, null));
        continue;
      }
      while (!idle.isEmpty() && !idle.peekLast().isOpen()) {
        idle.pollLast();
        closed();
      }
      boolean reuse = !idle.isEmpty();
      Shaping.Limits limits = site.limits();
      double perMinute = limits.maxConnectionsPerMinute() / (double) shareOf;
      if (!reuse) {
        long hostsDown = hosts.allDownUntil(endpoints, now);
        if (hostsDown > 0) {
          if (open > 0) {
            return false; // no new connection can be made, but one that is open will take the next attempt
          }
          List<SmtpConnection.Endpoint> eps = endpoints;
          deferAll(hostsDown, now, "delivery temporarily suspended: "
              + hosts.reason(HostHealth.key(eps.get(eps.size() - 1)), now));
          return false;
        }
        if (open >= concurrencyLimit()) {
          return false; // a connection coming back will dispatch
        }
        if (!site.reserveConnection(nodeLimit())) {
          schedule(RESERVE_RETRY_MS);
          return true; // other pools hold the rest (and are asked to give up what they do not use)
        }
        if (perMinute > 0 && !newConnections.take(perMinute / 60_000.0, Math.max(1, perMinute), now)) {
          site.releaseConnection();
          schedule(newConnections.millisToNext(perMinute / 60_000.0));
          return false;
        }
      }
      if (limits.maxMessagesPerSecond() > 0 ? !takeMessageToken(limits.maxMessagesPerSecond(), now)
          : !lookShared(now)) {
        if (!reuse) {
          site.releaseConnection();
          if (perMinute > 0) {
            // no connection was opened: the minute keeps it. A pool that asks the shared bucket for its first tokens
            // comes here for every attempt until it answers, and would otherwise use up the minute's connections
            // (a few, for an instance's share) without opening one, every minute, until its attempts expire
            newConnections.refund();
          }
        }
        return false; // a timer or the shared bucket's answer will dispatch
      }
      Attempt a = next();
      if (reuse) {
        run(idle.pollLast(), a);
      } else {
        open++;
        // the walk keeps this list: endpoints() replaces it (shuffled anew) as other recipients are routed meanwhile
        connect(a, endpoints, 0, null, 0);
      }
    }
    return false;
  }

  /**
   * Every waiting attempt back to the queue, not attempted, released over a spread after {@code until} (up to the wait's
   * own length, a minute at most), not all at its end: they would all be claimed by one scan and meet the site again
   * together. For a site that cannot be reached from this pool's address until then (paused for it, its hosts set
   * aside): another address may take them now.
   */
  private void deferAll(long until, long now, String reason) {
    long spread = Math.max(1, Math.min(60_000, until - now));
    Attempt a;
    while ((a = next()) != null) {
      long at = until + java.util.concurrent.ThreadLocalRandom.current().nextLong(spread);
      a.result().complete(new AttemptResult.Deferred(Instant.ofEpochMilli(at), reason, null, true));
    }
  }

  /**
   * One message's worth of the site's rate ({@code perSecond}, configured: the shared bucket applies the site's shared
   * factor, the instance's own share the node's), or false with a dispatch arranged for later.
   */
  private boolean takeMessageToken(double perSecond, long now) {
    if (now >= sharedDownUntil) {
      if (sharedTokens > 0 && now - sharedTokensAt > SHARED_TOKENS_MAX_AGE_MS) {
        sharedTokens = 0; // unused for too long: spending them now would make a burst the rate never allowed
      }
      if (sharedTokens > 0) {
        sharedTokens--;
        return true;
      }
      askShared(perSecond);
      return false;
    }
    double own = perSecond * site.factor() / shareOf;
    if (messages.take(own / 1000.0, Math.max(1, own), now)) {
      return true;
    }
    schedule(messages.millisToNext(own / 1000.0));
    return false;
  }

  /**
   * For a site without a per-second limit (no tokens to ask for), whether its shared throttle state has been read: the
   * first attempt waits for it, then it is read again at most every {@link #LOOK_EVERY_MS} while attempts go, without
   * holding them (another node's pause stops this one's attempts within about that long). Not while Redis cannot be
   * reached, and once it could not, never waited for again (without Redis, such a site is sent to as before).
   */
  private boolean lookShared(long now) {
    if (now < sharedDownUntil) {
      return true;
    }
    if (now - lookedAt >= LOOK_EVERY_MS) {
      askShared(0);
    }
    return lookedAt > 0 || sharedDownUntil > 0;
  }

  /** Tokens from the site's shared bucket, or for {@code perSecond} 0 only its shared throttle state. */
  private void askShared(double perSecond) {
    if (askingShared) {
      return;
    }
    askingShared = true;
    int want = (int) Math.max(1, Math.min(waiting.size(), Math.ceil(perSecond * site.factor() / 10)));
    int burst = (int) Math.max(1, Math.ceil(perSecond));
    long credit = site.takeCredit();
    vertx.eventBus().<SiteTokens>request(EventBusAddresses.SITE_TOKENS,
        new SiteTokenRequest(site.key, perSecond, burst, want, credit, SiteState.RECOVERY),
        new DeliveryOptions().setSendTimeout(2000))
        .onComplete(ar -> {
          askingShared = false;
          long now = System.currentTimeMillis();
          if (ar.failed()) {
            site.returnCredit(credit);
            // once per outage: failures while it lasts come every SHARED_RETRY_MS and stay silent (and for a site with
            // a rate only: every site sent to would say the same of its throttle state)
            if (perSecond > 0 && (sharedDownUntil == 0 || now - sharedDownUntil > 60_000)) {
              LOG.warning("site " + site.key + ": the shared rate limit cannot be reached (" + ar.cause().getMessage()
                  + "); keeping to this node's share of " + perSecond + " messages/s and its own throttles until it can");
            }
            sharedDownUntil = now + SHARED_RETRY_MS;
            dispatch();
            return;
          }
          SiteTokens t = ar.result().body();
          site.shared(t.factor(), t.pausedUntil());
          if (perSecond <= 0) {
            boolean first = lookedAt == 0;
            lookedAt = now;
            if (first || t.pausedUntil() > now) {
              dispatch();
            }
          } else if (t.pausedUntil() > now) {
            dispatch(); // another node's throttle (or this one's): the waiting attempts go back to the queue
          } else if (t.granted() > 0) {
            sharedTokens += t.granted();
            sharedTokensAt = now;
            dispatch();
          } else {
            schedule(t.waitMillis());
          }
        });
  }

  /**
   * A dispatch in {@code delayMs}, unless one is due sooner already. A later one is moved up, not kept: the per-minute
   * timer for a connection that could not be opened would otherwise hold back, by up to a minute, the message the
   * shared bucket allows in a few milliseconds on a connection already open.
   */
  private void schedule(long delayMs) {
    long due = System.currentTimeMillis() + delayMs;
    if (dispatchTimer >= 0) {
      if (dispatchDue <= due) {
        return;
      }
      vertx.cancelTimer(dispatchTimer);
    }
    dispatchDue = due;
    dispatchTimer = vertx.setTimer(delayMs, id -> {
      if (dispatchTimer == id) {
        dispatchTimer = -1;
      }
      dispatch();
    });
  }

  /**
   * Addresses one attempt connects to at most, as Postfix's smtp_mx_address_limit: a domain whose ten MX hosts of
   * four addresses each all stall would hold a connection slot for hours of connect and greeting timeouts per attempt.
   */
  /** A refusal of service that is temporary (4yz in the greeting or the EHLO reply): a busy host, not a dead one. */
  private static boolean busy(Throwable e) {
    return e instanceof SmtpConnection.GreetingRefused g && g.greeting.code() < 500;
  }

  static final int MAX_ADDRESSES_PER_ATTEMPT = 5;

  /**
   * Tries the endpoints {@code eps} (the pool's when the attempt started) in order from {@code index}, {@code tried} of
   * them tried already; the last failure decides when none answers, or when {@link #MAX_ADDRESSES_PER_ATTEMPT} were
   * tried.
   */
  private void connect(Attempt a, List<SmtpConnection.Endpoint> eps, int index, Throwable lastFailure, int tried) {
    if (index >= eps.size() || tried >= MAX_ADDRESSES_PER_ATTEMPT) {
      open--;
      site.releaseConnection();
      if (lastFailure == null && a.failure() != null) {
        a.result().complete(a.failure()); // no other host to go to after all: what its own failed
      } else {
        String reason = lastFailure == null ? "no host to connect to for " + site.key : lastFailure.getMessage();
        site.failed();
        a.result().complete(new AttemptResult.Failed(reason,
            eps.isEmpty() ? null : eps.get(eps.size() - 1).address()));
      }
      dispatch();
      return;
    }
    SmtpConnection.Endpoint ep = eps.get(index);
    String key = HostHealth.key(ep);
    if (key.equals(a.avoid())) {
      connect(a, eps, index + 1, lastFailure, tried); // the host that failed its session: the others are tried
      return;
    }
    long now = System.currentTimeMillis();
    if (hosts.downUntil(key, now) > 0) {
      long restDown = lastFailure == null ? hosts.allDownUntil(eps.subList(index, eps.size()), now) : 0;
      if (restDown > 0) {
        // the hosts went down since the dispatch looked (those before this one were skipped too): back to the queue,
        // not attempted
        open--;
        site.releaseConnection();
        a.notSent(new AttemptResult.Deferred(Instant.ofEpochMilli(restDown),
            "delivery temporarily suspended: " + hosts.reason(key, now), null, true));
        dispatch();
        return;
      }
      connect(a, eps, index + 1, lastFailure, tried); // not tried: the next host is
      return;
    }
    SmtpConnection.TlsMode mode = tlsPolicy == DeliverySettings.TlsPolicy.REQUIRE ? SmtpConnection.TlsMode.REQUIRED
        : withoutTls.plainText(ep.address(), System.currentTimeMillis()) ? SmtpConnection.TlsMode.NONE
        : SmtpConnection.TlsMode.OPPORTUNISTIC;
    // a connection's TLS session that fails is reported for the domain whose attempt opened it
    SmtpConnection.Endpoint dialled = ep.report() == null ? ep
        : ep.reportedFor(io.mailgate.identity.IdentityNames.domainOf(a.rcpt()));
    SmtpConnection.open(vertx, client, dialled, options, mode).onComplete(ar -> {
      if (ar.succeeded()) {
        hosts.reachable(key);
        site.connections.incrementAndGet();
        run(ar.result(), a);
        return;
      }
      Throwable e = ar.cause();
      if (e instanceof SmtpConnection.HostFailure && !busy(e)) {
        // not connected to, or connected but not served (no greeting, no service): each new connection would meet the
        // same, a tarpit's greeting timeout every time. A 4yz refusal ("too many connections", "try again later") is
        // a host at work asking us to slow down: the throttle rules below answer that, and marking it down (its
        // doubling wait) would keep a lone relay's mail waiting long after it recovered
        hosts.unreachable(key, e.getMessage(), System.currentTimeMillis());
      }
      if (e instanceof SmtpConnection.TlsFailure && mode == SmtpConnection.TlsMode.OPPORTUNISTIC) {
        // broken TLS on their side: this host gets plain text for a while, as Postfix's opportunistic mode
        // falls back to it, and TLS again after (TlsFallbacks)
        withoutTls.handshakeFailed(ep.address(), System.currentTimeMillis());
        connect(a, eps, index, e, tried); // the same address again, in plain text: not another one
        return;
      }
      if (e instanceof SmtpConnection.GreetingRefused g) {
        throttle(g.greeting);
      }
      connect(a, eps, index + 1, e, tried + 1);
    });
  }

  /** Runs the attempt on the connection, with the message in a form its server takes. */
  private void run(SmtpConnection c, Attempt a) {
    OutgoingMessage m = a.message();
    if (m.goesAsIs(c.eightBitMime())) {
      run(c, a, m.original());
      return;
    }
    m.sevenBit().onComplete(form -> {
      if (form.succeeded()) {
        metrics.sevenBit(true);
        run(c, a, form.result());
        return;
      }
      // not sent to this server in any form: a permanent failure, as Postfix's for a conversion it cannot make
      if (form.cause() instanceof SevenBitConversion.NotConvertible n) {
        metrics.sevenBit(false);
        a.result().complete(new AttemptResult.Rejected(new SmtpResponse(554, n.status(),
            n.getMessage() + " (" + c.endpoint().host() + ")"), c.remoteAddress()));
      } else {
        a.result().complete(new AttemptResult.Failed("cannot convert the message to 7 bit: " + form.cause(),
            c.remoteAddress()));
      }
      release(c);
    });
  }

  private void run(SmtpConnection c, Attempt a, OutgoingMessage.Form form) {
    if (c.maxSize() > 0 && form.size() > c.maxSize()) {
      // RFC 1870: the server would refuse it after reading it all; say so without sending
      a.result().complete(new AttemptResult.Rejected(new SmtpResponse(552, "5.3.4",
          "Message size " + form.size() + " exceeds the fixed maximum message size of " + c.maxSize()
              + " advertised by " + c.endpoint().host()), c.remoteAddress()));
      release(c);
      return;
    }
    if (c.endpoint().report() != null) {
      c.countSessionFor(io.mailgate.identity.IdentityNames.domainOf(a.rcpt()));
    }
    SmtpConnection.Transaction t = c.send(a.from(), a.rcpt(), form.data(), form.size(), form.eightBit(),
        form.utf8Headers(), a.envelopeId());
    // the connection takes the next message as soon as this one is written (pipelined behind its final dot),
    // or, if it never is, once this transaction is over (contentSent completes before any reply to it)
    t.contentSent().onSuccess(v -> release(c));
    t.decided().onComplete(ar -> {
      boolean again = false;
      boolean spent = false;
      if (ar.succeeded()) {
        SmtpResponse r = ar.result();
        if (r.isPositive()) {
          site.succeeded(System.currentTimeMillis());
          hosts.reachable(HostHealth.key(c.endpoint()));
          a.result().complete(new AttemptResult.Delivered(r, c.remoteAddress(), c.outgoing()));
        } else if (r.tooManyRecipients()) {
          // the connection has had as many recipients as its server takes in a session: this one goes first on the
          // next connection (once), as one the connection went under; not a bounce (a 552 too), not a throttle
          spent = true;
          if (!a.resent()) {
            waiting.addFirst(a.again());
            site.waiting.incrementAndGet();
            again = true;
          } else {
            site.failed();
            a.result().complete(r.isTransient() ? new AttemptResult.Rejected(r, c.remoteAddress())
                : new AttemptResult.Failed(r + " (a limit of recipients, temporary: RFC 5321 4.5.3.1.10)",
                    c.remoteAddress()));
          }
        } else {
          site.failed();
          throttle(r);
          a.result().complete(new AttemptResult.Rejected(r, c.remoteAddress()));
        }
      } else if (ar.cause() instanceof SmtpConnection.SessionFailure f && !t.contentSent().succeeded()) {
        // (a connection closed under a 354 was released as if the content went: it has no place to hand on)
        sessionFailed(c, a, f);
        return; // the connection is gone; its place is the next one's, or given up there
      } else if (ar.cause() instanceof SmtpConnection.Unanswered && !a.resent()) {
        // the connection went before the server answered any of it: nothing was decided, so it goes first
        // to the next connection instead of waiting for a retry
        waiting.addFirst(a.again());
        site.waiting.incrementAndGet();
        again = true;
      } else if (ar.cause() instanceof IllegalArgumentException e) {
        // an envelope that cannot be written in ASCII (nothing was sent): no server will ever take it as it is, so a
        // permanent failure now, not fourteen hours of retries; the server did nothing wrong
        a.result().complete(new AttemptResult.Rejected(new SmtpResponse(553, "5.6.7", e.getMessage()),
            c.remoteAddress()));
      } else {
        site.failed();
        a.result().complete(new AttemptResult.Failed(ar.cause().getMessage(), c.remoteAddress()));
      }
      if (spent) {
        retire(c);
      } else if (!t.contentSent().succeeded()) {
        release(c);
      }
      if (again) {
        dispatch(); // the connection may have been free already
      }
    });
  }

  /**
   * The host failed the session under the attempt before any of the message went (lost, silent or a 421: {@link
   * SmtpConnection.SessionFailure}). RFC 5321 5.1: the site's other hosts are tried, at once, as when one cannot be
   * connected to or refuses its greeting (from the best, the failed one left out; once: an attempt has two sessions
   * at most, as Postfix's smtp_mx_session_limit). The host that went silent for a whole command timeout, or dropped
   * a new connection's first transaction while another host can take it, is left alone for a while ({@link
   * HostHealth}), so that the attempts after this one go to the others first instead of meeting the same; a 421 is a
   * busy host, as in a greeting, which the throttle rules answer. A connection dropped under the first transaction
   * with no other host to go to is tried once more at once, on a new connection to the same host. What the attempt
   * comes to when it goes nowhere else is this failure: counted, retried with backoff, with its DeliveryDelay (not
   * "not attempted", which would bring it back again and again to the same host without ever counting).
   */
  private void sessionFailed(SmtpConnection c, Attempt a, SmtpConnection.SessionFailure f) {
    String key = HostHealth.key(c.endpoint());
    long now = System.currentTimeMillis();
    site.failed();
    AttemptResult failure = f.reply != null ? new AttemptResult.Rejected(f.reply, c.remoteAddress())
        : new AttemptResult.Failed(f.getMessage(), c.remoteAddress());
    // a 421 that asks us to slow down (a rate limit, a policy) is the site's word: its other hosts would say the same,
    // and an attempt sent on to them at once would answer a "slow down" with more mail
    ThrottleRules.Throttle throttled = f.reply == null ? null : throttle(f.reply);
    boolean another = false;
    for (SmtpConnection.Endpoint ep : endpoints) {
      String other = HostHealth.key(ep);
      another |= !other.equals(key) && hosts.downUntil(other, now) == 0;
    }
    another &= throttled == null || throttled.hostOnly();
    if (f.timedOut || (another && f.reply == null)) {
      hosts.unreachable(key, f.getMessage(), now);
    }
    c.close();
    site.connections.decrementAndGet();
    if (!a.resent() && !stopped && (another || (f.reply == null && !f.timedOut))) {
      // the connection's place (open, and reserved in the site) goes to the next one
      connect(a.elsewhere(failure, another ? key : null), endpoints, 0, null, 0);
      return;
    }
    open--;
    site.releaseConnection();
    a.result().complete(failure);
    dispatch();
  }

  /** Throttles the site as {@code reply} asks, if it does; the throttle, or null. */
  private ThrottleRules.Throttle throttle(SmtpResponse reply) {
    if (reply.isPositive()) {
      return null;
    }
    ThrottleRules.Throttle t = throttles.match(reply);
    if (t != null) {
      site.throttle(t, reply, System.currentTimeMillis());
      share(t);
    }
    return t;
  }

  /**
   * The site's throttle for all nodes, in Redis, which answers with the state after it (another node's throttle may
   * have lowered the factor further). Not answered (no Redis), the node's own throttle holds, as without Redis.
   */
  private void share(ThrottleRules.Throttle t) {
    vertx.eventBus().<SiteThrottleState>request(EventBusAddresses.SITE_THROTTLE,
        new SiteThrottleRequest(site.key, t.pause().toMillis(), t.rateFactor(), SiteState.MIN_FACTOR,
            SiteState.RECOVERY), new DeliveryOptions().setSendTimeout(2000))
        .onSuccess(m -> site.shared(m.body().factor(), m.body().pausedUntil()));
  }

  private void release(SmtpConnection c) {
    if (!c.isOpen() || c.transactions() >= site.limits().maxMessagesPerConnection() || open > concurrencyLimit()
        || site.pausedUntil() > System.currentTimeMillis()) {
      retire(c);
    } else if (waiting.isEmpty() && site.makeRoom()) {
      retireForRoom(c); // parked, it would keep another pool of the site, which has attempts waiting, from connecting
    } else {
      idle.addLast(c);
    }
    dispatch();
  }

  /**
   * Ends a connection with QUIT. It counts as open until it is gone: its last message, pipelined, may still be waiting
   * for its reply, and a connection opened meanwhile would be one more than the site's limit allows.
   */
  private void retire(SmtpConnection c) {
    c.quit().onComplete(ar -> {
      closed();
      dispatch();
    });
  }

  private void closed() {
    open--;
    site.releaseConnection();
    site.connections.decrementAndGet();
  }

  private void closeIdle() {
    long limit = TimeUnit.MILLISECONDS.toNanos(idleTimeoutMs);
    // one its server closed (after a 421 to the last message it carried, say) can be anywhere in the line
    for (Iterator<SmtpConnection> it = idle.iterator(); it.hasNext(); ) {
      if (!it.next().isOpen()) {
        it.remove();
        closed();
      }
    }
    // the oldest idle connections are at the head (dispatch takes from the tail)
    while (!idle.isEmpty() && idle.peekFirst().idleNanos() > limit) {
      retire(idle.pollFirst());
    }
    // attempts that waited too long for a connection end here even when no connection comes back to start them
    dispatch();
  }

  /** Closes what is idle; attempts still waiting end as not attempted (they go back to the queue). */
  /**
   * Takes no more work: attempts still waiting for a connection end "not attempted". Transactions under way go on,
   * on their connections, until {@link #close}.
   */
  void stopTaking() {
    stopped = true;
    vertx.cancelTimer(sweeper);
    if (dispatchTimer >= 0) {
      vertx.cancelTimer(dispatchTimer);
    }
    dispatch(); // stopped: ends the waiting attempts
  }

  /** {@link #stopTaking}, then QUIT on every idle connection. */
  Future<Void> close() {
    stopTaking();
    site.sharing.remove(this);
    List<Future<Void>> quits = new ArrayList<>();
    SmtpConnection c;
    while ((c = idle.poll()) != null) {
      closed();
      quits.add(c.quit());
    }
    return Future.join(quits).mapEmpty();
  }
}
