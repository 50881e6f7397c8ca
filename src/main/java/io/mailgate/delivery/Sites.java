package io.mailgate.delivery;

import io.vertx.core.json.JsonArray;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** The node's destination sites, shared by its delivery instances. */
public final class Sites {
  private final Map<String, SiteState> sites = new ConcurrentHashMap<>();
  private final HostHealth hosts;
  /** The hosts as seen from each source address (delivery.sourceAddresses, the sending pools'). */
  private final Map<String, HostHealth> fromSources = new ConcurrentHashMap<>();
  private final long hostRetryMillis;

  /** @param hostRetryMillis how long a host that could not be connected to is left alone at first (0: never) */
  public Sites(long hostRetryMillis) {
    this.hostRetryMillis = hostRetryMillis;
    hosts = new HostHealth(hostRetryMillis);
  }

  /** The hosts as connections from {@code source} find them (null: from where the system chooses). */
  HostHealth hosts(String source) {
    return source == null ? hosts : fromSources.computeIfAbsent(source, k -> new HostHealth(hostRetryMillis));
  }

  /** The hosts not tried until their retry time, for the status API; those seen from a source address say which. */
  public JsonArray unreachableHosts(long nowMillis) {
    JsonArray out = hosts.toJson(nowMillis);
    new java.util.TreeMap<>(fromSources).forEach((source, h) -> h.toJson(nowMillis)
        .forEach(o -> out.add(((io.vertx.core.json.JsonObject) o).put("From", source))));
    return out;
  }

  /**
   * The site's state, made by {@code create} if the node has none, held for one more pool until {@link #release}.
   * Direct delivery meets a site for every domain with MX hosts of its own: a state no pool holds and that has nothing
   * to remember (no pause, its full rate) is forgotten, or the node would keep every site it ever sent to, and walk
   * them all for each status request and metrics scrape.
   *
   * <p>The node's delivery instances call these from their own event loops: the count is only changed in the map's
   * {@code compute} for the site's key, which runs one at a time per key, so a state is never forgotten between
   * another instance finding it and holding it.
   */
  SiteState acquire(String key, Function<String, SiteState> create) {
    return sites.compute(key, (k, s) -> {
      SiteState held = s == null ? create.apply(k) : s;
      held.pools++;
      return held;
    });
  }

  /**
   * Until when the site {@code key} asked to be left alone (a throttling reply's pause), or 0 when it did not or that
   * is over: read without holding the site (one the node does not know has asked nothing).
   */
  long pausedUntil(String key, long nowMillis) {
    SiteState s = sites.get(key);
    long until = s == null ? 0 : s.pausedUntil();
    return until > nowMillis ? until : 0;
  }

  /** One pool less holds {@code site} (its pool was closed); the site is forgotten if it can be. */
  void release(SiteState site) {
    long now = System.currentTimeMillis();
    sites.computeIfPresent(site.key, (k, s) -> {
      if (s == site) {
        s.pools--;
      }
      return forgettable(s, now) ? null : s;
    });
  }

  /** Forgets the sites that no pool holds and that have nothing to remember (any longer: a pause has ended, say). */
  void sweep(long nowMillis) {
    for (String key : sites.keySet()) {
      sites.computeIfPresent(key, (k, s) -> forgettable(s, nowMillis) ? null : s);
    }
  }

  private static boolean forgettable(SiteState s, long nowMillis) {
    return s.pools == 0 && s.settled(nowMillis);
  }

  /** How many sites, open connections and attempts waiting for one (for the metrics). */
  public record Summary(int sites, int connections, int waiting) {}

  public Summary summary() {
    int connections = 0;
    int waiting = 0;
    for (SiteState s : sites.values()) {
      connections += s.connections.get();
      waiting += s.waiting.get();
    }
    return new Summary(sites.size(), connections, waiting);
  }

  public JsonArray toJson(long nowMillis) {
    JsonArray out = new JsonArray();
    sites.values().stream().sorted(Comparator.comparing(s -> s.key)).forEach(s -> out.add(s.toJson(nowMillis)));
    return out;
  }
}
