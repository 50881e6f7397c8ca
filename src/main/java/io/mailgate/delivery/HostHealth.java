package io.mailgate.delivery;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Hosts the node could not connect to lately, by address and port, shared by its delivery instances and sites (Exim's
 * host retry hints). A host that refused a connection, was unreachable or let the attempt time out, or that did not
 * serve once connected (no greeting, as a tarpit; a greeting or EHLO reply refusing service; a session it failed
 * before the message went, by silence or, while another host could take the message, by dropping it), is not tried
 * again for a while: a site's other hosts are tried instead, and when all of a site's hosts are down its attempts go back
 * to the queue until the first of them is due again, instead of each queued message spending a connect timeout on
 * them. The wait starts at {@code delivery.hostRetrySeconds} and doubles with each failure after it, up to ten times
 * that; a connection or a delivery that succeeds clears it.
 */
final class HostHealth {
  /** Entries past their wait are swept, at most once per first wait, once the map holds this many. */
  private static final int SWEEP_ABOVE = 4096;

  private record Down(long since, long until, int failures, String reason) {}

  private final long firstWaitMs;
  private final Map<String, Down> down = new ConcurrentHashMap<>();
  private volatile long lastSweep;

  HostHealth(long firstWaitMs) {
    this.firstWaitMs = firstWaitMs;
  }

  /** The key of an endpoint: its address and port (two relays on one host are two hosts). */
  static String key(SmtpConnection.Endpoint e) {
    return e.address() + ":" + e.port();
  }

  /** Until when the host is not to be tried (epoch millis), or 0 when it may be now. */
  long downUntil(String key, long now) {
    if (down.isEmpty()) {
      return 0;
    }
    Down d = down.get(key);
    return d != null && d.until() > now ? d.until() : 0;
  }

  /** Why the host is not tried, for diagnostics; null when it may be. */
  String reason(String key, long now) {
    Down d = down.get(key);
    return d == null || d.until() <= now ? null : d.reason() + " (host unreachable since " + Instant.ofEpochMilli(d.since())
        + ", not tried again before " + Instant.ofEpochMilli(d.until()) + ")";
  }

  /**
   * When the first of these endpoints may be tried again, when every one of them is down now; 0 when one may be tried
   * now (or there are none).
   */
  long allDownUntil(List<SmtpConnection.Endpoint> endpoints, long now) {
    if (down.isEmpty() || endpoints.isEmpty()) {
      return 0;
    }
    long first = Long.MAX_VALUE;
    for (SmtpConnection.Endpoint e : endpoints) {
      long until = downUntil(key(e), now);
      if (until == 0) {
        return 0;
      }
      first = Math.min(first, until);
    }
    return first;
  }

  /**
   * A connection to the host failed. Failures while it is already marked (other connections that were being opened)
   * do not lengthen the wait; one after the wait doubles it.
   */
  void unreachable(String key, String reason, long now) {
    if (firstWaitMs <= 0) {
      return;
    }
    if (down.size() > SWEEP_ABOVE && now - lastSweep > firstWaitMs) {
      lastSweep = now;
      down.values().removeIf(d -> d.until() + 10 * firstWaitMs < now);
    }
    down.compute(key, (k, old) -> {
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

  /** A connection to the host, or a delivery through one, succeeded. */
  void reachable(String key) {
    if (!down.isEmpty()) {
      down.remove(key);
    }
  }

  /** The hosts being waited for, for the sites status API. */
  JsonArray toJson(long now) {
    JsonArray out = new JsonArray();
    down.forEach((key, d) -> {
      if (d.until() > now) {
        out.add(new JsonObject().put("Host", key).put("Since", Instant.ofEpochMilli(d.since()).toString())
            .put("RetryAt", Instant.ofEpochMilli(d.until()).toString()).put("Failures", d.failures())
            .put("Reason", d.reason()));
      }
    });
    return out;
  }
}
