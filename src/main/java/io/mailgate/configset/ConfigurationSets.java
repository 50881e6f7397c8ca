package io.mailgate.configset;

import io.vertx.core.Future;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The send and delivery paths' view of configuration sets: cached per verticle instance for
 * {@code cache.ttlMillis} (a change reaches every node within that), so a send names its
 * configuration set at no database cost once warm.
 */
public final class ConfigurationSets {
  private record Cached(Optional<ConfigurationSet> set, long until) {}

  private final ConfigurationSetStore store;
  private final Clock clock;
  private final long ttlMillis;
  private final Map<String, Cached> cache = new HashMap<>();

  public ConfigurationSets(ConfigurationSetStore store, Clock clock, long ttlMillis) {
    this.store = store;
    this.clock = clock;
    this.ttlMillis = ttlMillis;
  }

  public Future<Optional<ConfigurationSet>> find(String accountId, String name) {
    String key = accountId + "\n" + name;
    Cached c = cache.get(key);
    long now = clock.millis();
    if (c != null && c.until() > now) {
      return Future.succeededFuture(c.set());
    }
    return store.find(accountId, name).andThen(ar -> {
      if (ar.succeeded()) {
        if (cache.size() > 10_000) {
          cache.clear();
        }
        cache.put(key, new Cached(ar.result(), clock.millis() + ttlMillis));
      }
    });
  }
}
