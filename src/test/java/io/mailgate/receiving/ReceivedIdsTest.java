package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.store.ReceivedMessages;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Received message ids: SES's shape, in the order the messages arrived, and never alike. */
class ReceivedIdsTest {
  @Test
  void idsLookLikeSesAndSortByArrival() {
    long t = Instant.parse("2026-12-01T09:30:00Z").toEpochMilli();
    String a = MailReceiver.messageId(t);
    String b = MailReceiver.messageId(t + 1);
    String c = MailReceiver.messageId(Instant.parse("2027-01-01T00:00:00Z").toEpochMilli());
    for (String id : new String[] {a, b, c}) {
      assertEquals(40, id.length());
      assertTrue(id.matches("[a-z0-9]{40}"), id);
    }
    assertEquals(ReceivedMessages.timePrefix(t), a.substring(0, ReceivedMessages.TIME_CHARS));
    assertTrue(a.compareTo(b) < 0 && b.compareTo(c) < 0, "in arrival order: " + a + " " + b + " " + c);
    assertNotEquals(a, MailReceiver.messageId(t), "the rest is random");
    assertTrue(ReceivedMessages.timePrefix(t).compareTo(ReceivedMessages.timePrefix(t + 86_400_000L)) < 0);
    assertEquals("000000000", ReceivedMessages.timePrefix(-5));
    assertEquals("zzzzzzzzz", ReceivedMessages.timePrefix(Long.MAX_VALUE), "the last there is, not a failure");
  }
}
