package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.testing.Db;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The outboxes' sweep of events and receipt notifications older than events.maxAgeHours, on a database of its own
 * (the claim's plan tests of {@link EventOutboxTest} read index entries that deleted rows leave behind).
 */
class EventOutboxMaxAgeTest extends MigratedDatabase {

  @BeforeAll
  static void setUp() throws Exception {
    open(1);
    Db.execute(url, "INSERT INTO accounts (id, name, max_send_rate, max_24h_send) VALUES ('a1', 'a1', 1, 1)");
    Db.execute(url, "INSERT INTO configuration_sets (account_id, name) VALUES ('a1', 'cs')");
    Db.execute(url, "INSERT INTO event_destinations (id, account_id, configuration_set, name, enabled, event_types, url) "
        + "VALUES (3, 'a1', 'cs', 'down', true, '{Send}', 'http://127.0.0.1:1/down')");
  }

  /** A webhook down past events.maxAgeHours: its due events older than that go in batches, the rest stay. */
  @Test
  void eventsOlderThanTheirMaxAgeAreDroppedWhenDue() throws Exception {
    try {
      Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
          + "SELECT 3, 'old' || i, 'Send', '{}', now() - interval '30 hours', now() - interval '1 minute' "
          + "FROM generate_series(1, 25) i");
      Db.execute(url, "INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at) "
          + "VALUES (3, 'old-put-off', 'Send', '{}', now() - interval '30 hours', now() + interval '5 minutes'), "
          + "(3, 'recent', 'Send', '{}', now() - interval '1 hour', now() - interval '1 minute')");
      EventOutbox outbox = new EventOutbox(pool, "us-east-1");
      java.time.Instant cutoff = java.time.Instant.now().minus(java.time.Duration.ofHours(24));
      assertEquals(10, await(outbox.dropOlderThan(cutoff, 10)));
      assertEquals(10, await(outbox.dropOlderThan(cutoff, 10)));
      assertEquals(5, await(outbox.dropOlderThan(cutoff, 10)));
      assertEquals(0, await(outbox.dropOlderThan(cutoff, 10)));
      assertEquals(2, Db.count(url, "SELECT count(*) FROM event_outbox WHERE destination_id = 3"),
          "not yet due, or not that old: kept");
    } finally {
      Db.execute(url, "DELETE FROM event_outbox WHERE destination_id = 3");
    }
  }

  /**
   * The same for receipt notifications: a webhook that rests after failing is tried one post at a time, so its rows
   * older than the maximum age are dropped by the sweep, not left to its posts.
   */
  @Test
  void receiptNotificationsOlderThanTheirMaxAgeAreDroppedWhenDue() throws Exception {
    try {
      Db.execute(url, "INSERT INTO receipt_outbox (account_id, url, message_id, body, created_at, next_attempt_at) "
          + "SELECT 'a1', 'http://127.0.0.1:1/down', 'old' || i, '{}', now() - interval '30 hours', "
          + "now() - interval '1 minute' FROM generate_series(1, 15) i");
      Db.execute(url, "INSERT INTO receipt_outbox (account_id, url, message_id, body, created_at, next_attempt_at) "
          + "VALUES ('a1', 'http://127.0.0.1:1/down', 'old-claimed', '{}', now() - interval '30 hours', "
          + "now() + interval '5 minutes'), ('a1', 'http://127.0.0.1:1/down', 'recent', '{}', "
          + "now() - interval '1 hour', now() - interval '1 minute')");
      ReceiptOutbox receipts = new ReceiptOutbox(pool);
      java.time.Instant cutoff = java.time.Instant.now().minus(java.time.Duration.ofHours(24));
      assertEquals(10, await(receipts.dropOlderThan(cutoff, 10)));
      assertEquals(5, await(receipts.dropOlderThan(cutoff, 10)));
      assertEquals(0, await(receipts.dropOlderThan(cutoff, 10)));
      assertEquals(2, Db.count(url, "SELECT count(*) FROM receipt_outbox WHERE account_id = 'a1'"),
          "not yet due (a post under way), or not that old: kept");
    } finally {
      Db.execute(url, "DELETE FROM receipt_outbox WHERE account_id = 'a1'");
    }
  }

}
