package io.mailgate.delivery.dns;

import io.mailgate.delivery.dns.ResponseReader.Answered;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;

/**
 * Answers by name and type, kept for their TTL within the configured bounds, and lookups of one
 * name and type in progress, shared: any number of callers wanting the same answer at the same
 * time cause one query. Safe to use from any thread (delivery verticle instances share it).
 *
 * <p>Lifetimes: a positive answer lives its TTL (the smallest of its records and CNAMEs) within
 * [minTtl, maxTtl]; a negative one (NXDOMAIN, NODATA) lives the RFC 2308 negative TTL within
 * [minTtl, maxNegativeTtl], or minTtl when the server sent no SOA; a failure lives failureTtl.
 *
 * <p>Bounds: maxCacheEntries answers, and maxCacheBytes of their estimated size ({@link #estimate}). The count alone
 * let a few hundred lookups of names whose owner made each answer large pin gigabytes for a day; {@link RecordType}
 * caps one answer, this caps them all.
 */
final class AnswerCache {

  private record Key(String name, RecordType<?> type) {}

  private record Entry(Future<DnsAnswer<?>> answer, long expiresAtMillis, long bytes) {}

  /*
   * The estimate: what an entry takes beyond its records (map node, key, entry, future, answer, list), what a record
   * takes beyond its text (an MxRecord, a String, an InetAddress and its holder), and two bytes a character, what a
   * string of other than Latin-1 text takes (one of ASCII takes one: the estimate errs high).
   */
  private static final long ENTRY_BYTES = 256;
  private static final long RECORD_BYTES = 96;

  private final Map<Key, Entry> answers = new ConcurrentHashMap<>();
  /** The sum of the entries' bytes: added when one is put, taken off when that one leaves the map. */
  private final AtomicLong estimatedBytes = new AtomicLong();
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
    remove(key, entry);
    return null;
  }

  private void store(Key key, Answered answered) {
    Duration lifetime = lifetime(answered);
    if (lifetime.isZero()) {
      return;
    }
    long size = estimate(key.name(), answered.answer());
    if (size > options.maxCacheBytes()) {
      return; // more than the whole cache may hold
    }
    long now = clock.millis();
    if (answers.size() >= options.maxCacheEntries() || estimatedBytes.get() + size > options.maxCacheBytes()) {
      evict(now, size);
    }
    Entry previous = answers.put(key, new Entry(Future.succeededFuture(answered.answer()), now + lifetime.toMillis(),
        size));
    estimatedBytes.addAndGet(previous == null ? size : size - previous.bytes());
  }

  /** The estimated bytes of the cached answers, the sum {@link DnsResolverOptions#maxCacheBytes()} bounds. */
  long estimatedBytes() {
    return estimatedBytes.get();
  }

  /** Roughly the heap an answer to {@code name} takes in the cache. */
  static long estimate(String name, DnsAnswer<?> answer) {
    long size = ENTRY_BYTES + 2L * name.length();
    if (answer instanceof DnsAnswer.Unavailable<?> failed) {
      size += 2L * failed.reason().length();
    }
    for (Object record : answer.records()) {
      size += RECORD_BYTES + 2L * characters(record);
    }
    return size;
  }

  private static int characters(Object record) {
    if (record instanceof String text) {
      return text.length();
    }
    if (record instanceof MxRecord mx) {
      return mx.exchange().length();
    }
    if (record instanceof TlsaRecord tlsa) {
      return tlsa.data().length();
    }
    return 0; // an address: its bytes are in RECORD_BYTES
  }

  private void remove(Key key, Entry entry) {
    if (answers.remove(key, entry)) {
      estimatedBytes.addAndGet(-entry.bytes());
    }
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

  /**
   * Expired entries first; if the cache is still full, arbitrary ones down to nine tenths of both bounds, with room
   * for an entry of {@code incoming} bytes.
   */
  private void evict(long now, long incoming) {
    answers.forEach((key, entry) -> {
      if (entry.expiresAtMillis() <= now) {
        remove(key, entry);
      }
    });
    int targetEntries = options.maxCacheEntries() * 9 / 10;
    long targetBytes = options.maxCacheBytes() / 10 * 9 - incoming;
    Iterator<Map.Entry<Key, Entry>> entries = answers.entrySet().iterator();
    while ((answers.size() > targetEntries || estimatedBytes.get() > targetBytes) && entries.hasNext()) {
      Map.Entry<Key, Entry> next = entries.next();
      remove(next.getKey(), next.getValue());
    }
  }
}
