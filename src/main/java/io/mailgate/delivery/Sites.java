package io.mailgate.delivery;

import io.vertx.core.json.JsonArray;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** The node's destination sites, shared by its delivery instances. */
public final class Sites {
  private final Map<String, SiteState> sites = new ConcurrentHashMap<>();

  SiteState get(String key, Function<String, SiteState> create) {
    return sites.computeIfAbsent(key, create);
  }

  public JsonArray toJson(long nowMillis) {
    JsonArray out = new JsonArray();
    sites.values().stream().sorted(Comparator.comparing(s -> s.key)).forEach(s -> out.add(s.toJson(nowMillis)));
    return out;
  }
}
