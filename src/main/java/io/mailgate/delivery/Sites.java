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

  /** @param hostRetryMillis how long a host that could not be connected to is left alone at first (0: never) */
  public Sites(long hostRetryMillis) {
    hosts = new HostHealth(hostRetryMillis);
  }

  HostHealth hosts() {
    return hosts;
  }

  /** The hosts not tried until their retry time, for the status API. */
  public JsonArray unreachableHosts(long nowMillis) {
    return hosts.toJson(nowMillis);
  }

  SiteState get(String key, Function<String, SiteState> create) {
    return sites.computeIfAbsent(key, create);
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
