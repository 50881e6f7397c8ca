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
 * every node within that. Per verticle instance, from its event loop: not thread-safe. Bounded by clearing it when
 * it grows past 10,000 entries (a cold start for a moment, rather than a bookkeeping cost on every hit); misses are
 * kept apart and cleared apart, so that a caller naming thousands of sets that do not exist clears only those, not
 * every account's sets that do.
 */
public final class ReadThroughCache<V> {
  private record Cached<V>(Optional<V> value, long until) {}

  private final Clock clock;
  private final long ttlMillis;
  private final BiFunction<String, String, Future<Optional<V>>> load;
  static final int MAX_ENTRIES = 10_000;
  private final Map<String, Cached<V>> found = new HashMap<>();
  private final Map<String, Cached<V>> missing = new HashMap<>();
  /** Invalidations so far: a lookup that was under way during one does not keep what it read. */
  private long invalidations;

  /** @param load reads the account's resource by name from the database */
  public ReadThroughCache(Clock clock, long ttlMillis, BiFunction<String, String, Future<Optional<V>>> load) {
    this.clock = clock;
    this.ttlMillis = ttlMillis;
    this.load = load;
  }

  public Future<Optional<V>> get(String accountId, String name) {
    String key = accountId + "\n" + name;
    Cached<V> c = found.get(key);
    if (c == null) {
      c = missing.get(key);
    }
    if (c != null && c.until() > clock.millis()) {
      return Future.succeededFuture(c.value());
    }
    long before = invalidations;
    return load.apply(accountId, name).andThen(ar -> {
      if (ar.succeeded() && invalidations == before) {
        Map<String, Cached<V>> kept = ar.result().isPresent() ? found : missing;
        (kept == found ? missing : found).remove(key);
        if (kept.size() >= MAX_ENTRIES) {
          kept.clear();
        }
        kept.put(key, new Cached<>(ar.result(), clock.millis() + ttlMillis));
      }
    });
  }

  /** Forgets what was read of this resource: the next lookup reads it again. */
  public void invalidate(String accountId, String name) {
    invalidations++;
    String key = accountId + "\n" + name;
    found.remove(key);
    missing.remove(key);
  }
}
