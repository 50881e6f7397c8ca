package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Future;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** What the cache reads from the database, counted. */
class ReadThroughCacheTest {
  private final AtomicInteger loads = new AtomicInteger();
  private final ReadThroughCache<String> cache = new ReadThroughCache<>(Clock.systemUTC(), 60_000, (account, name) -> {
    loads.incrementAndGet();
    return Future.succeededFuture(name.startsWith("set") ? Optional.of(account + "/" + name) : Optional.empty());
  });

  private Optional<String> get(String account, String name) {
    return cache.get(account, name).result();
  }

  @Test
  void hitsAndMissesAreKeptForTheirTime() {
    assertEquals(Optional.of("a/set-1"), get("a", "set-1"));
    assertEquals(Optional.empty(), get("a", "nothing"));
    assertEquals(Optional.of("a/set-1"), get("a", "set-1"));
    assertEquals(Optional.empty(), get("a", "nothing"));
    assertEquals(2, loads.get());
  }

  /** While the database answers, further lookups of the key wait for that answer instead of asking again. */
  @Test
  void oneReadAtATimeForAKey() {
    java.util.List<io.vertx.core.Promise<Optional<String>>> reads = new java.util.ArrayList<>();
    ReadThroughCache<String> slow = new ReadThroughCache<>(Clock.systemUTC(), 60_000, (account, name) -> {
      io.vertx.core.Promise<Optional<String>> p = io.vertx.core.Promise.promise();
      reads.add(p);
      return p.future();
    });
    Future<Optional<String>> first = slow.get("a", "set");
    Future<Optional<String>> second = slow.get("a", "set");
    slow.get("b", "set"); // another key reads on its own
    assertEquals(2, reads.size());
    reads.get(0).complete(Optional.of("found"));
    assertEquals(Optional.of("found"), first.result());
    assertEquals(Optional.of("found"), second.result());
    assertEquals(Optional.of("found"), slow.get("a", "set").result(), "kept");
    assertEquals(2, reads.size());

    // a failed read is not kept, nor waited on by the next lookup
    Future<Optional<String>> failing = slow.get("c", "set");
    reads.get(2).fail("database down");
    assertEquals(true, failing.failed());
    slow.get("c", "set");
    assertEquals(4, reads.size());

    // an invalidation during a read: the next lookup reads again, and the old read's answer is not kept
    Future<Optional<String>> stale = slow.get("d", "set");
    slow.invalidate("d", "set");
    Future<Optional<String>> fresh = slow.get("d", "set");
    assertEquals(6, reads.size());
    reads.get(4).complete(Optional.of("old"));
    reads.get(5).complete(Optional.of("new"));
    assertEquals(Optional.of("old"), stale.result());
    assertEquals(Optional.of("new"), fresh.result());
    assertEquals(Optional.of("new"), slow.get("d", "set").result());
    assertEquals(6, reads.size());
  }

  /** One account naming thousands of sets that do not exist does not send every other account to the database. */
  @Test
  void aFloodOfMissesDoesNotClearTheSetsThatExist() {
    get("b", "set-of-b");
    for (int i = 0; i < ReadThroughCache.MAX_ENTRIES * 2; i++) {
      get("a", "made-up-" + i);
    }
    int before = loads.get();
    assertEquals(Optional.of("b/set-of-b"), get("b", "set-of-b"));
    assertEquals(before, loads.get(), "still cached");
  }
}
