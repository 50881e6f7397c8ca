package io.mailgate.delivery;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Hosts the node could not connect to lately, by address, shared by its delivery instances and sites (Exim's host
 * retry hints). A host that refused or dropped a connection attempt, or let it time out, is not tried again for a
 * while: a site's other hosts are tried instead, and when all of a site's hosts are down an attempt fails at once
 * ("delivery temporarily suspended", as Postfix says) instead of each queued message spending a connect timeout on
 * them. The wait starts at {@code delivery.hostRetrySeconds} and doubles with each failure after it, up to ten
 * times that; one connection that succeeds clears it.
 */
final class HostHealth {
  /** Entries past their wait are swept once the map holds this many. */
  private static final int SWEEP_ABOVE = 4096;

  private record Down(long since, long until, int failures, String reason) {}

  private final long firstWaitMs;
  private final Map<String, Down> down = new ConcurrentHashMap<>();

  HostHealth(long firstWaitMs) {
    this.firstWaitMs = firstWaitMs;
  }

  /** Why the host is not to be tried now, or null when it may be. */
  String down(String address, long now) {
    if (down.isEmpty()) {
      return null;
    }
    Down d = down.get(address);
    return d != null && d.until() > now
        ? d.reason() + " (host unreachable since " + Instant.ofEpochMilli(d.since()) + ", not tried again before "
            + Instant.ofEpochMilli(d.until()) + ")"
        : null;
  }

  /**
   * A connection to the host failed. Failures while it is already marked (other connections that were being opened)
   * do not lengthen the wait; one after the wait doubles it.
   */
  void unreachable(String address, String reason, long now) {
    if (firstWaitMs <= 0) {
      return;
    }
    if (down.size() > SWEEP_ABOVE) {
      down.values().removeIf(d -> d.until() + 10 * firstWaitMs < now);
    }
    down.compute(address, (a, old) -> {
      if (old == null || old.until() + 10 * firstWaitMs < now) {
        return new Down(now, now + firstWaitMs, 1, reason);
      }
      if (old.until() > now) {
        return old;
      }
      int failures = old.failures() + 1;
      return new Down(old.since(), now + Math.min(10 * firstWaitMs, firstWaitMs << Math.min(failures - 1, 4)),
          failures, reason);
    });
  }

  /** A connection to the host succeeded. */
  void reachable(String address) {
    if (!down.isEmpty()) {
      down.remove(address);
    }
  }

  /** The hosts being waited for, for the sites status API. */
  JsonArray toJson(long now) {
    JsonArray out = new JsonArray();
    down.forEach((address, d) -> {
      if (d.until() > now) {
        out.add(new JsonObject().put("Address", address).put("Since", Instant.ofEpochMilli(d.since()).toString())
            .put("RetryAt", Instant.ofEpochMilli(d.until()).toString()).put("Failures", d.failures())
            .put("Reason", d.reason()));
      }
    });
    return out;
  }
}
