package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.events.SesEvents;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * A retry waits in the database, not in the node: a recipient deferred with backoff, its node stopped and another
 * started on the same database, is tried again by the new node at the time the first one stored (not at once, not
 * from scratch), delivered then, with its attempts counted across both and its deadline still the one its acceptance
 * set.
 */
class RetryAcrossRestartTest {
  static final int RETRY_BASE_SECONDS = 6;
  static final int MAX_DELIVERY_SECONDS = 3600;

  @Test
  void aDeferredRecipientIsRetriedOnScheduleByTheNextNode() throws Exception {
    // later@ is deferred once, then taken; still@ is deferred every time, so the new node's own DeliveryDelay for it
    // shows the deadline that node works to
    Map<String, List<Long>> rcpts = new ConcurrentHashMap<>();
    try (RecordingSmtpServer relay = new RecordingSmtpServer().onRcpt(rcpt -> {
      List<Long> times = rcpts.computeIfAbsent(rcpt, k -> new CopyOnWriteArrayList<>());
      times.add(System.currentTimeMillis());
      return rcpt.startsWith("still@") || times.size() == 1 ? "451 4.3.0 Temporary local problem" : "250 2.1.5 Ok";
    })) {
      String pg = TestServices.freshDatabase();
      String prefix = TestServices.uniquePrefix();
      UnaryOperator<MailgateConfig> retrying = c -> c
          .with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, RETRY_BASE_SECONDS)
          .with(MailgateConfig.DELIVERY_MAX_DELIVERY_SECONDS, MAX_DELIVERY_SECONDS);
      String id;
      try (TestNode first = TestNode.start(pg, prefix, relay.url(), retrying, true);
           SesV2Client ses = first.sesV2()) {
        id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
            .destination(d -> d.toAddresses("later@example.org", "still@example.org"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("Retried")).body(b -> b.text(t -> t.data("x"))))))
            .messageId();
        Await.until(() -> Db.count(pg, delays(id, null)), n -> n == 2, Duration.ofSeconds(15));
      }
      long nextAttempt = Db.count(pg, "SELECT floor(extract(epoch FROM next_attempt_at) * 1000)::bigint FROM recipients "
          + LATER.formatted(id));
      assertEquals(1, Db.count(pg, "SELECT attempts FROM recipients " + LATER.formatted(id)));
      assertEquals(1, rcpts.get("later@example.org").size());

      try (TestNode second = TestNode.start(pg, prefix, relay.url(), retrying, true)) {
        // the second node runs before the retry is due: when it comes is the second node's doing
        long up = System.currentTimeMillis();
        assertTrue(up < nextAttempt - 200, "the second node ran only at " + Instant.ofEpochMilli(up)
            + ", the retry was due at " + Instant.ofEpochMilli(nextAttempt));
        Await.until(() -> "delivered".equals(Db.string(pg, "SELECT state FROM recipients " + LATER.formatted(id)))
            && Db.count(pg, delays(id, "still@example.org")) == 2, Duration.ofSeconds(20));
        JsonObject status = second.message(id);
        List<Long> tries = rcpts.get("later@example.org");
        assertEquals(2, tries.size(), "RCPT TO at " + tries);
        assertTrue(tries.get(1) >= nextAttempt, "tried again at " + Instant.ofEpochMilli(tries.get(1))
            + ", before its retry was due at " + Instant.ofEpochMilli(nextAttempt));
        assertEquals(2, Db.count(pg, "SELECT attempts FROM recipients " + LATER.formatted(id)), status.encode());
        assertEquals(1, Db.count(pg, delays(id, "later@example.org")), status.encode());

        // every DeliveryDelay, the first node's and the second's, expires when the acceptance said
        long accepted = Db.count(pg,
            "SELECT floor(extract(epoch FROM created_at) * 1000)::bigint FROM messages WHERE id = '" + id + "'");
        String deadline = SesEvents.time(Instant.ofEpochMilli(accepted).plusSeconds(MAX_DELIVERY_SECONDS));
        for (String recipient : new String[] {"later@example.org", "still@example.org"}) {
          String expirations = Db.string(pg, "SELECT string_agg(DISTINCT detail->>'expirationTime', ',') FROM events "
              + "WHERE message_id = '" + id + "' AND type = 'DeliveryDelay' AND recipient = '" + recipient + "'");
          assertEquals(deadline, expirations, recipient);
        }
      }
    }
  }

  /** The recipient deferred once, of message %s. */
  private static final String LATER = "WHERE message_id = '%s' AND address = 'later@example.org'";

  /** Counts the message's DeliveryDelay events (of {@code recipient}, or all). */
  private static String delays(String id, String recipient) {
    return "SELECT count(*) FROM events WHERE message_id = '" + id + "' AND type = 'DeliveryDelay'"
        + (recipient == null ? "" : " AND recipient = '" + recipient + "'");
  }
}
