package io.mailgate.delivery.dns;

import io.mailgate.delivery.dns.ResponseReader.Answered;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * Answers by name and type, kept for their TTL within the configured bounds, and lookups of one
 * name and type in progress, shared: any number of callers wanting the same answer at the same
 * time cause one query. Safe to use from any thread (delivery verticle instances share it).
 *
 * <p>Lifetimes: a positive answer lives its TTL (the smallest of its records and CNAMEs) within
 * [minTtl, maxTtl]; a negative one (NXDOMAIN, NODATA) lives the RFC 2308 negative TTL within
 * [minTtl, maxNegativeTtl], or minTtl when the server sent no SOA; a failure lives failureTtl.
 */
final class AnswerCache {

  private record Key(String name, RecordType<?> type) {}

  private record Entry(Future<DnsAnswer<?>> answer, long expiresAtMillis) {}

  private final Map<Key, Entry> answers = new ConcurrentHashMap<>();
  private final Map<Key, Future<DnsAnswer<?>>> inFlight = new ConcurrentHashMap<>();
  private final BiFunction<String, RecordType<?>, Future<Answered>> query;
  private final DnsResolverOptions options;
  private final Clock clock;

  AnswerCache(BiFunction<String, RecordType<?>, Future<Answered>> query, DnsResolverOptions options, Clock clock) {
    this.query = query;
    this.options = options;
    this.clock = clock;
  }

  /** The answer, cached or asked for. The future completes on the DNS thread when it was asked for. */
  Future<DnsAnswer<?>> lookup(String name, RecordType<?> type) {
    Key key = new Key(name, type);
    Future<DnsAnswer<?>> cached = fresh(key);
    if (cached != null) {
      return cached;
    }
    Promise<DnsAnswer<?>> mine = Promise.promise();
    Future<DnsAnswer<?>> running = inFlight.putIfAbsent(key, mine.future());
    if (running != null) {
      return running;
    }
    // A lookup may have finished between the cache miss and claiming the key: do not ask twice.
    cached = fresh(key);
    if (cached != null) {
      inFlight.remove(key, mine.future());
      mine.complete(cached.result());
      return cached;
    }
    query.apply(name, type).onComplete(ar -> {
      if (ar.succeeded()) {
        store(key, ar.result());
        inFlight.remove(key, mine.future()); // after store: a caller sees the lookup or its answer
        mine.complete(ar.result().answer());
      } else {
        inFlight.remove(key, mine.future());
        mine.fail(ar.cause());
      }
    });
    return mine.future();
  }

  private Future<DnsAnswer<?>> fresh(Key key) {
    Entry entry = answers.get(key);
    if (entry == null) {
      return null;
    }
    if (clock.millis() < entry.expiresAtMillis()) {
      return entry.answer();
    }
    answers.remove(key, entry);
    return null;
  }

  private void store(Key key, Answered answered) {
    Duration lifetime = lifetime(answered);
    if (lifetime.isZero()) {
      return;
    }
    long now = clock.millis();
    if (answers.size() >= options.maxCacheEntries()) {
      evict(now);
    }
    answers.put(key, new Entry(Future.succeededFuture(answered.answer()), now + lifetime.toMillis()));
  }

  private Duration lifetime(Answered answered) {
    DnsAnswer<?> answer = answered.answer();
    long ttl = answered.ttlSeconds();
    if (answer instanceof DnsAnswer.Unavailable) {
      return options.failureTtl();
    }
    Duration ceiling = answer instanceof DnsAnswer.Found ? options.maxTtl() : options.maxNegativeTtl();
    if (ttl == ResponseReader.UNKNOWN_TTL) {
      return options.minTtl();
    }
    Duration given = Duration.ofSeconds(ttl);
    return given.compareTo(options.minTtl()) < 0 ? options.minTtl()
        : given.compareTo(ceiling) > 0 ? ceiling : given;
  }

  /** Expired entries first; if the cache is still full, arbitrary ones down to nine tenths. */
  private void evict(long now) {
    answers.values().removeIf(entry -> entry.expiresAtMillis() <= now);
    int target = options.maxCacheEntries() * 9 / 10;
    Iterator<Key> keys = answers.keySet().iterator();
    while (answers.size() > target && keys.hasNext()) {
      keys.next();
      keys.remove();
    }
  }
}
