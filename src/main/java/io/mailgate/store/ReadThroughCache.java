package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.Promise;
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
  /** Reads under way, by key. */
  private final Map<String, Future<Optional<V>>> loading = new HashMap<>();
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
    // one read at a time for a key: when an entry expires, every lookup until the database answers waits for that
    // answer instead of sending a read of its own (a busy delivery verticle would otherwise queue dozens on its pool)
    Future<Optional<V>> pending = loading.get(key);
    if (pending != null) {
      return pending;
    }
    long before = invalidations;
    Promise<Optional<V>> read = Promise.promise();
    Future<Optional<V>> future = read.future();
    loading.put(key, future);
    load.apply(accountId, name).onComplete(ar -> {
      loading.remove(key, future);
      if (ar.succeeded() && invalidations == before) {
        Map<String, Cached<V>> kept = ar.result().isPresent() ? found : missing;
        (kept == found ? missing : found).remove(key);
        if (kept.size() >= MAX_ENTRIES) {
          kept.clear();
        }
        kept.put(key, new Cached<>(ar.result(), clock.millis() + ttlMillis));
      }
      read.handle(ar);
    });
    return future;
  }

  /** Forgets what was read of this resource: the next lookup reads it again (not the read under way now). */
  public void invalidate(String accountId, String name) {
    invalidations++;
    String key = accountId + "\n" + name;
    found.remove(key);
    missing.remove(key);
    loading.remove(key);
  }
}
