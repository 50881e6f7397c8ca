package io.mailgate.delivery;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a node knows about one destination site, shared by its delivery instances: its shaping
 * limits, whether it asked us to slow down (paused until, and a factor applied to its concurrency
 * and rate that recovers with successes), and live counters for the status API.
 *
 * <p>With Redis, the pause and the factor are the site's for all nodes ({@code ratelimit/site_throttle.lua},
 * {@code ratelimit/site_tokens.lua}, by the same rules as here): a node's throttle is sent there and the shared state
 * comes back with each batch of tokens ({@link #shared}); the successes that recover the factor go there with the next
 * batch ({@link #takeCredit}). What this node saw alone holds while Redis cannot be reached.
 */
final class SiteState {
  static final double MIN_FACTOR = 0.1;
  /**
   * The factor recovers by this much a second while successes come (each adds it times the time since the one before,
   * a second at most, so this much per success when they are slower). Per success alone, a site taking 50 a second
   * would be back at its full rate a second after a throttle and be throttled again: a sawtooth instead of the lower
   * rate it asked for. Halved, it is back after some 25 seconds of successes.
   */
  static final double RECOVERY = 0.02;

  final String key;
  final AtomicInteger connections = new AtomicInteger();
  final AtomicInteger waiting = new AtomicInteger();
  /** The node's pools for the site, of every delivery instance (each used from its own event loop). */
  final java.util.Set<SitePool> sharing = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** Those of them with attempts waiting for a connection that other pools hold. */
  final AtomicInteger starving = new AtomicInteger();
  /** Connections being closed (QUIT under way) to make room for the starving pools. */
  private final AtomicInteger makingRoom = new AtomicInteger();
  /** Connections of this node's pools to the site, open or being opened. */
  private final AtomicInteger reserved = new AtomicInteger();
  /** The pools that hold this state ({@link Sites#acquire}); read and changed only in the Sites map's compute for it. */
  int pools;
  private volatile Shaping.Limits limits;
  private volatile java.util.List<String> mxHosts = java.util.List.of();
  private double factor = 1.0;
  /** The last success that counted towards recovery, or the throttle after it. */
  private long recoveredAt;
  private long pausedUntil;
  private String lastThrottle;
  /** Seconds of successes that recovered the factor here and are not yet in the shared state. */
  private double credit;
  /** When the shared state last came ({@link #shared}), 0: never. */
  private long sharedAt;
  private long delivered;
  private long failed;

  SiteState(String key, Shaping.Limits limits) {
    this.key = key;
    this.limits = limits;
  }

  /** One more connection for this node, or false when {@code limit} are open or being opened already. */
  boolean reserveConnection(int limit) {
    return reserved.getAndUpdate(n -> n < limit ? n + 1 : n) < limit;
  }

  void releaseConnection() {
    reserved.decrementAndGet();
  }

  /**
   * True when an idle connection should go for a starving pool: one each, not one from every pool asked (those closed
   * for the pools that starve still count, until they are gone and the starving pools connect).
   */
  boolean makeRoom() {
    int wanted = starving.get();
    if (wanted == 0) {
      return false; // nearly always: no write to the shared counter on each connection's release
    }
    return makingRoom.getAndUpdate(n -> n < wanted ? n + 1 : n) < wanted;
  }

  /** A connection closed for {@link #makeRoom} is gone. */
  void roomMade() {
    makingRoom.decrementAndGet();
  }

  Shaping.Limits limits() {
    return limits;
  }

  void update(Shaping.Limits limits, java.util.List<String> mxHosts) {
    this.limits = limits;
    this.mxHosts = mxHosts;
  }

  synchronized void throttle(ThrottleRules.Throttle t, SmtpResponse reply, long nowMillis) {
    factor = Math.max(MIN_FACTOR, factor * t.rateFactor());
    recoveredAt = nowMillis;
    pausedUntil = Math.max(pausedUntil, nowMillis + t.pause().toMillis());
    lastThrottle = reply + " (" + t.rule() + ")";
  }

  synchronized void succeeded(long nowMillis) {
    delivered++;
    if (factor < 1.0) {
      double seconds = Math.min(1.0, Math.max(0, nowMillis - recoveredAt) / 1000.0);
      factor = Math.min(1.0, factor + RECOVERY * seconds);
      recoveredAt = Math.max(recoveredAt, nowMillis);
      credit += seconds;
    }
  }

  /** The milliseconds of successes that recovered the factor since the last call, for the shared state. */
  synchronized long takeCredit() {
    long millis = Math.round(credit * 1000);
    credit = 0;
    return millis;
  }

  /** {@link #takeCredit}'s, which the shared state did not get after all. */
  synchronized void returnCredit(long millis) {
    credit += millis / 1000.0;
  }

  /**
   * The site's throttle state shared by all nodes, as Redis has it now: its factor is the site's (it took this node's
   * throttles and successes, and other nodes'), and a pause of any node's holds here too.
   */
  synchronized void shared(double sharedFactor, long sharedPausedUntil) {
    factor = Math.max(MIN_FACTOR, Math.min(1.0, sharedFactor));
    pausedUntil = Math.max(pausedUntil, sharedPausedUntil);
    sharedAt = System.currentTimeMillis();
  }

  synchronized void failed() {
    failed++;
  }

  synchronized double factor() {
    return factor;
  }

  synchronized long pausedUntil() {
    return pausedUntil;
  }

  /** Neither paused nor slowed down: a state made afresh would be the same (but for the counters). */
  synchronized boolean settled(long nowMillis) {
    return factor >= 1.0 && pausedUntil <= nowMillis;
  }

  synchronized JsonObject toJson(long nowMillis) {
    JsonObject j = new JsonObject()
        .put("Site", key)
        .put("MxHosts", new io.vertx.core.json.JsonArray(mxHosts))
        .put("MaxConnections", limits.maxConnections())
        .put("MaxMessagesPerConnection", limits.maxMessagesPerConnection())
        .put("MaxMessagesPerSecond", limits.maxMessagesPerSecond())
        .put("MaxConnectionsPerMinute", limits.maxConnectionsPerMinute())
        .put("ThrottleFactor", Math.round(factor * 1000) / 1000.0)
        .put("Connections", connections.get())
        .put("Waiting", waiting.get())
        .put("Delivered", delivered)
        .put("Failed", failed);
    if (pausedUntil > nowMillis) {
      j.put("PausedUntil", Instant.ofEpochMilli(pausedUntil).toString());
    }
    if (lastThrottle != null) {
      j.put("LastThrottle", lastThrottle);
    }
    if (sharedAt > 0) {
      // the factor and pause are all nodes' as of then (Redis), not this node's alone
      j.put("ThrottleSharedAt", Instant.ofEpochMilli(sharedAt).toString());
    }
    return j;
  }
}
