package io.mailgate.store;

import io.vertx.core.Future;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * The send and delivery paths' view of an account's named resources (configuration sets, contact lists): each lookup
 * kept for {@code cache.ttlMillis}, misses too, so a warm path names them at no database cost and a change reaches
 * every node within that. Per verticle instance, from its event loop: not thread-safe. Bounded by clearing it whole
 * when it grows past 10,000 entries (a cold start for a moment, rather than a bookkeeping cost on every hit).
 */
public final class ReadThroughCache<V> {
  private record Cached<V>(Optional<V> value, long until) {}

  private final Clock clock;
  private final long ttlMillis;
  private final BiFunction<String, String, Future<Optional<V>>> load;
  private final Map<String, Cached<V>> cache = new HashMap<>();

  /** @param load reads the account's resource by name from the database */
  public ReadThroughCache(Clock clock, long ttlMillis, BiFunction<String, String, Future<Optional<V>>> load) {
    this.clock = clock;
    this.ttlMillis = ttlMillis;
    this.load = load;
  }

  public Future<Optional<V>> get(String accountId, String name) {
    String key = accountId + "\n" + name;
    Cached<V> c = cache.get(key);
    if (c != null && c.until() > clock.millis()) {
      return Future.succeededFuture(c.value());
    }
    return load.apply(accountId, name).andThen(ar -> {
      if (ar.succeeded()) {
        if (cache.size() > 10_000) {
          cache.clear();
        }
        cache.put(key, new Cached<>(ar.result(), clock.millis() + ttlMillis));
      }
    });
  }
}
