package io.mailgate.configset;

import io.mailgate.store.ReadThroughCache;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.Optional;

/**
 * The send and delivery paths' view of configuration sets: cached per verticle instance for
 * {@code cache.ttlMillis} (a change reaches every node within that), so a send names its
 * configuration set at no database cost once warm.
 */
public final class ConfigurationSets {
  private final ReadThroughCache<ConfigurationSet> cache;

  public ConfigurationSets(ConfigurationSetStore store, Clock clock, long ttlMillis) {
    this(new ReadThroughCache<>(clock, ttlMillis, store::find));
  }

  private ConfigurationSets(ReadThroughCache<ConfigurationSet> cache) {
    this.cache = cache;
  }

  /** Delivery's view: a deleted set's delivery options stay for its queued messages (ConfigurationSetStore). */
  public static ConfigurationSets forDelivery(ConfigurationSetStore store, Clock clock, long ttlMillis) {
    return new ConfigurationSets(new ReadThroughCache<>(clock, ttlMillis, store::findForDelivery));
  }

  public Future<Optional<ConfigurationSet>> find(String accountId, String name) {
    return cache.get(accountId, name);
  }
}
