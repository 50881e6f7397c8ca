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
