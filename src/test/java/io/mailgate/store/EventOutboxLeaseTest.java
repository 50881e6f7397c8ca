package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.mailgate.testing.Db;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a publisher writes of the events it claimed is fenced on the lease its claim took: once that lease ran out
 * (a database stall, a post that outlasted it) and another claim took the event, the first claimer's release, retry
 * or put-off must not move the event out from under the second claimer's lease. On a database of its own, as
 * EventOutboxClaimTest.
 */
class EventOutboxLeaseTest extends MigratedDatabase {

  @BeforeAll
  static void setUp() throws Exception {
    open(2);
    EventOutboxTest.busyAndQuietDestinations(url);
  }

  @Test
  void aClaimWhoseLeaseRanOutAndWasTakenAgainChangesNothing() throws Exception {
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "VALUES (1, 'fenced', 'Send', '{}', now(), now() - interval '1 minute')");
    EventOutbox outbox = new EventOutbox(pool, "us-east-1");
    // a lease of 0 s: over as soon as the claim commits, as a lease is once the node that took it stalled past it
    EventOutbox.Due first = only(await(outbox.claim(10, 10, List.of(), 0)));
    EventOutbox.Due second = only(await(outbox.claim(10, 10, List.of(), 60)));
    assertEquals(first.id(), second.id());
    assertEquals(2, second.attempts());
    Instant later = Instant.now().plus(1, ChronoUnit.HOURS);

    await(outbox.release(List.of(first), Instant.now()));
    await(outbox.retry(first, later, "the first claimer's failure"));
    await(outbox.putOff(1, List.of(first), later));
    Row row = row(first.id());
    assertEquals(second.leaseUntil(), row.getOffsetDateTime(0).toInstant(), "still under the second claim's lease");
    assertEquals(2, row.getInteger(1));
    assertNull(row.getString(2));

    // the second claimer, whose lease it is, still can
    await(outbox.retry(second, later, "the second claimer's failure"));
    row = row(first.id());
    assertEquals(Timestamps.stored(later), row.getOffsetDateTime(0).toInstant());
    assertEquals("the second claimer's failure", row.getString(2));
  }

  @Test
  void releaseAndPutOffUnderTheClaimsOwnLeaseStillWork() throws Exception {
    Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
        + "VALUES (2, 'released', 'Send', '{}', now(), now() - interval '1 minute')");
    EventOutbox outbox = new EventOutbox(pool, "us-east-1");
    EventOutbox.Due due = only(await(outbox.claim(10, 10, List.of(1L), 60)));
    Instant at = Instant.now().minus(1, ChronoUnit.SECONDS);
    await(outbox.release(List.of(due), at));
    Row row = row(due.id());
    assertEquals(Timestamps.stored(at), row.getOffsetDateTime(0).toInstant());
    assertEquals(0, row.getInteger(1), "a release is not an attempt");

    EventOutbox.Due again = only(await(outbox.claim(10, 10, List.of(1L), 60)));
    Instant later = Instant.now().plus(1, ChronoUnit.HOURS);
    await(outbox.putOff(2, List.of(again), later));
    row = row(due.id());
    assertFalse(row.getOffsetDateTime(0).toInstant().isBefore(Timestamps.stored(later)), "put off");
    assertEquals(0, row.getInteger(1));
  }

  @Test
  void destinationsAreReadAsTheyAreNow() throws Exception {
    EventOutbox outbox = new EventOutbox(pool, "us-east-1");
    Db.execute(url, "INSERT INTO event_destinations (id, account_id, configuration_set, name, enabled, event_types, "
        + "url) VALUES (3, 'a1', 'cs', 'off', false, '{Send,Bounce}', 'http://127.0.0.1:1/off')");
    Map<Long, EventOutbox.DestinationNow> now = await(outbox.destinations(List.of(1L, 3L, 999L)));
    assertEquals(Map.of(1L, new EventOutbox.DestinationNow("http://127.0.0.1:1/busy", true, Set.of("Send")),
        3L, new EventOutbox.DestinationNow("http://127.0.0.1:1/off", false, Set.of("Send", "Bounce"))), now);
  }

  /** The same fence for the receipt notifications' outbox. */
  @Test
  void aReceiptClaimWhoseLeaseRanOutAndWasTakenAgainChangesNothing() throws Exception {
    Db.execute(url, "INSERT INTO receipt_outbox (account_id, url, message_id, body, created_at, next_attempt_at) "
        + "VALUES ('a1', 'http://127.0.0.1:1/rcv', 'fenced-receipt', '{}', now(), now() - interval '1 minute')");
    ReceiptOutbox outbox = new ReceiptOutbox(pool);
    ReceiptOutbox.Due first = onlyReceipt(await(outbox.claim(10, 0, List.of())));
    ReceiptOutbox.Due second = onlyReceipt(await(outbox.claim(10, 60, List.of())));
    assertEquals(first.id(), second.id());
    Instant later = Instant.now().plus(1, ChronoUnit.HOURS);

    await(outbox.release(List.of(first)));
    await(outbox.retry(first, later, "the first claimer's failure"));
    Row row = receiptRow(first.id());
    assertEquals(second.leaseUntil(), row.getOffsetDateTime(0).toInstant(), "still under the second claim's lease");
    assertEquals(2, row.getInteger(1));
    assertNull(row.getString(2));

    await(outbox.retry(second, later, "the second claimer's failure"));
    row = receiptRow(first.id());
    assertEquals(Timestamps.stored(later), row.getOffsetDateTime(0).toInstant());
    assertEquals("the second claimer's failure", row.getString(2));

    // released under its own lease: due at once, and the claim does not count as an attempt
    Db.execute(url, "UPDATE receipt_outbox SET next_attempt_at = now() - interval '1 minute' WHERE id = " + first.id());
    ReceiptOutbox.Due third = onlyReceipt(await(outbox.claim(10, 60, List.of())));
    await(outbox.release(List.of(third)));
    row = receiptRow(first.id());
    assertFalse(row.getOffsetDateTime(0).toInstant().isAfter(Instant.now()), "due again");
    assertEquals(2, row.getInteger(1));
    Db.execute(url, "DELETE FROM receipt_outbox WHERE id = " + first.id());
  }

  private static ReceiptOutbox.Due onlyReceipt(List<ReceiptOutbox.Due> due) {
    assertEquals(1, due.size(), "claimed " + due);
    return due.get(0);
  }

  private static Row receiptRow(long id) throws Exception {
    return await(pool.preparedQuery("SELECT next_attempt_at, attempts, last_error FROM receipt_outbox WHERE id = $1")
        .execute(io.vertx.sqlclient.Tuple.of(id))).iterator().next();
  }

  private static EventOutbox.Due only(List<EventOutbox.Due> due) {
    assertEquals(1, due.size(), "claimed " + due);
    return due.get(0);
  }

  private static Row row(long id) throws Exception {
    return await(pool.preparedQuery("SELECT next_attempt_at, attempts, last_error FROM event_outbox WHERE id = $1")
        .execute(io.vertx.sqlclient.Tuple.of(id))).iterator().next();
  }
}
