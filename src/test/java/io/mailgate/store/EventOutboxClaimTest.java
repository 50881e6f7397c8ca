package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Db;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the event outbox's claim takes and leases, on a database of its own: the leases it leaves would change what
 * EventOutboxTest's plans find waiting.
 */
class EventOutboxClaimTest extends MigratedDatabase {

  @BeforeAll
  static void setUp() throws Exception {
    open(2);
    EventOutboxTest.busyAndQuietDestinations(url);
    // 30 due for the busy destination, oldest first m1, m2...; 2 due for the quiet one and one that is not yet
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "SELECT 1, 'm' || i, 'Send', '{}', now(), now() - interval '1 hour' + i * interval '1 ms' "
        + "FROM generate_series(1, 30) i");
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "VALUES (2, 'q1', 'Send', '{}', now(), now() - interval '1 minute'), "
        + "(2, 'q2', 'Send', '{}', now(), now() - interval '2 minutes'), "
        + "(2, 'later', 'Send', '{}', now(), now() + interval '1 hour')");
  }

  @Test
  void aClaimTakesTheOldestDueOfEachDestinationUpToItsShare() throws Exception {
    EventOutbox outbox = new EventOutbox(pool, "us-east-1");
    List<EventOutbox.Due> due = await(outbox.claim(100, 10, List.of(), 60));
    Map<Long, Integer> byDestination = new TreeMap<>();
    due.forEach(d -> byDestination.merge(d.destinationId(), 1, Integer::sum));
    assertEquals(Map.of(1L, 10, 2L, 2), byDestination);
    assertEquals(List.of("m1", "m2", "m3"), due.stream().filter(d -> d.destinationId() == 1).limit(3)
        .map(EventOutbox.Due::messageId).toList());
    assertTrue(due.stream().allMatch(d -> d.attempts() == 1 && d.url().startsWith("http://127.0.0.1:1/")));
    // leased now: the next claim takes the next ten of the busy destination, none of the quiet one's
    List<EventOutbox.Due> next = await(outbox.claim(100, 10, List.of(), 60));
    assertEquals(10, next.size());
    assertEquals("m11", next.get(0).messageId());
    assertTrue(next.stream().allMatch(d -> d.destinationId() == 1));
    // a destination skipped (it holds as many as it may) gives up its turn
    assertTrue(await(outbox.claim(100, 10, List.of(1L), 60)).isEmpty());
  }
}
