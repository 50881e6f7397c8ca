package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TcpProxy;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * A delivery whose outcome PostgreSQL does not take for a while (here its statement waits on a lock; in production a
 * slow database, or one failing over while the write is tried again): the node renews the recipient's lease until the
 * outcome is written, so its own queue scan (every second here) does not take the delivered recipient over and send
 * the message a second time.
 */
class OutcomeLeaseTest {
  @Test
  void aDeliveredRecipientKeepsItsLeaseUntilItsOutcomeIsWritten() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_LEASE_SECONDS, 2));
         SesV2Client ses = node.sesV2()) {
      String pg = node.config().get(MailgateConfig.PG_URL);
      String lease;
      List<String> leases = new ArrayList<>();
      try (Connection lock = Db.connect(pg)) {
        lock.setAutoCommit(false);
        try (Statement st = lock.createStatement()) {
          // a delivery's outcome counts toward its account's reputation: its statement waits for this lock before it
          // touches the recipient's row, which stays queued, leased to the node and claimable once the lease expires
          st.execute("LOCK TABLE reputation_buckets IN SHARE MODE");
        }
        String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
            .destination(d -> d.toAddresses("rcpt@example.org"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("Outcome held")).body(b -> b.text(t -> t.data("x"))))))
            .messageId();
        Await.until(() -> !relay.received().isEmpty(), Duration.ofSeconds(10));
        lease = "SELECT state || ' ' || coalesce(extract(epoch FROM lease_until)::text, '-') || ' '"
            + " || coalesce((lease_until > now())::text, '-') FROM recipients WHERE message_id = '" + id + "'";
        // three leases' time with the outcome waiting: without renewal the lease runs out after two seconds, and the
        // scan sends the message again
        long end = System.nanoTime() + Duration.ofSeconds(6).toNanos();
        while (System.nanoTime() < end) {
          leases.add(Db.string(pg, lease));
          Thread.sleep(200);
        }
        assertEquals(1, relay.received().size(), "delivered again while its outcome waited: " + leases);
        assertTrue(leases.stream().allMatch(l -> l.startsWith("queued ")), "the outcome did not wait: " + leases);
        assertTrue(leases.stream().allMatch(l -> l.endsWith(" true")), "the lease lapsed: " + leases);
        assertTrue(until(leases.get(leases.size() - 1)) - until(leases.get(0)) >= 3.0,
            "the lease was not renewed while the outcome waited: " + leases);
        lock.rollback();
        Await.until(() -> Db.string(pg, lease).startsWith("delivered "), Duration.ofSeconds(10));
      }
      // written: its lease let go with it (nothing left renewing it), and no second copy after all
      assertEquals("delivered - -", Db.string(pg, lease));
      Thread.sleep(1_500);
      assertEquals(1, relay.received().size());
      assertEquals(1, Db.count(pg, "SELECT attempts FROM recipients WHERE lease_until IS NULL AND state = 'delivered'"));
    }
  }

  /**
   * An outcome the node gives up on (PostgreSQL refuses it for a reason writing again does not cure, here a trigger)
   * lets go of the lease: it expires and the recipient is sent again, at least once rather than held, and renewed, for
   * an outcome that will not come.
   */
  @Test
  void anOutcomeGivenUpLetsItsLeaseExpire() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer();
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_LEASE_SECONDS, 2));
         SesV2Client ses = node.sesV2()) {
      String pg = node.config().get(MailgateConfig.PG_URL);
      Db.execute(pg, "CREATE FUNCTION refuse_outcome() RETURNS trigger LANGUAGE plpgsql AS "
          + "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$");
      Db.execute(pg, "CREATE TRIGGER refuse_outcome BEFORE INSERT OR UPDATE ON reputation_buckets "
          + "FOR EACH ROW EXECUTE FUNCTION refuse_outcome()");
      String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("rcpt@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("Outcome refused")).body(b -> b.text(t -> t.data("x"))))))
          .messageId();
      Await.until(() -> relay.received().size() >= 2, Duration.ofSeconds(15));
      Db.execute(pg, "DROP TRIGGER refuse_outcome ON reputation_buckets");
      Await.until(() -> "delivered".equals(Db.string(pg, "SELECT state FROM recipients WHERE message_id = '" + id
          + "'")), Duration.ofSeconds(15));
    }
  }

  /**
   * A lease that runs out under an attempt still under way (its renewals failed: a database away for a third of a
   * lease or more; here the test moves the lease's end into the past, as they would have left it) is claimed again by
   * the node's own scan, for the same owner: the attempt under way keeps the recipient, and the scan does not start a
   * second one that would send the message twice.
   */
  @Test
  void aLeaseThatRanOutUnderAnAttemptIsNotAttemptedTwice() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer().dataDelay(Duration.ofSeconds(4));
         // renewals every 5 s, of leases 10 s old: none before the scans (every second) have claimed the lapsed lease
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_LEASE_SECONDS, 30));
         SesV2Client ses = node.sesV2()) {
      String pg = node.config().get(MailgateConfig.PG_URL);
      String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("rcpt@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("Lease lapsed")).body(b -> b.text(t -> t.data("x"))))))
          .messageId();
      Await.until(() -> relay.commands().stream().anyMatch("DATA"::equalsIgnoreCase), Duration.ofSeconds(10));
      assertEquals(1, Db.count(pg, "WITH lapsed AS (UPDATE recipients SET lease_until = now() - interval '1 second' "
          + "WHERE message_id = '" + id + "' AND state = 'queued' AND lease_until > now() RETURNING 1) "
          + "SELECT count(*) FROM lapsed"));
      // claimed again by a scan within a second, while the first attempt waits 4 s for the reply to its DATA
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM recipients WHERE message_id = '" + id
          + "' AND lease_until > now() + interval '20 seconds'") == 1, Duration.ofSeconds(5));
      Await.until(() -> "delivered".equals(Db.string(pg, "SELECT state FROM recipients WHERE message_id = '" + id
          + "'")), Duration.ofSeconds(15));
      Thread.sleep(1_500);
      assertEquals(1, relay.commands().stream().filter("DATA"::equalsIgnoreCase).count(),
          "sent a second time: " + relay.commands());
      assertEquals(1, relay.received().size());
    }
  }

  /**
   * A lease is renewed once a sixth of it has passed, checked every twelfth: with 24 s leases, a recipient held 4 s is
   * renewed within the next 2 s, leaving three quarters of a lease or more for a database that goes away (renewing at
   * a third, checked every sixth, would not start before 8 s and left half a lease).
   */
  @Test
  void aLeaseIsRenewedOnceASixthOfItHasPassed() throws Exception {
    try (RecordingSmtpServer relay = new RecordingSmtpServer().dataDelay(Duration.ofSeconds(10));
         TestNode node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_LEASE_SECONDS, 24));
         SesV2Client ses = node.sesV2()) {
      String pg = node.config().get(MailgateConfig.PG_URL);
      String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("rcpt@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("Renewed early")).body(b -> b.text(t -> t.data("x"))))))
          .messageId();
      long sent = System.nanoTime();
      String lease = "SELECT extract(epoch FROM lease_until)::text FROM recipients WHERE message_id = '" + id + "'";
      double first = Double.parseDouble(Db.string(pg, lease));
      List<String> seen = new ArrayList<>();
      // the lease was taken with the message's insert, before the answer: renewed by 6 s after it, give or take
      while (System.nanoTime() - sent < Duration.ofSeconds(7).toNanos()) {
        String now = Db.string(pg, lease);
        seen.add(now);
        if (Double.parseDouble(now) > first + 2) {
          break;
        }
        Thread.sleep(200);
      }
      assertTrue(Double.parseDouble(seen.get(seen.size() - 1)) > first + 2,
          "not renewed 7 s into a 24 s lease: " + first + " then " + seen);
    }
  }

  /**
   * A renewal that fails (the database away) is tried again a second later, not at the next renewal period: once the
   * database is back, the owner's renewal comes before another node's scan can take over leases that ran out. With 60
   * s leases (renewals checked every 5 s, of leases 10 s old) the first renewal shows the timer's phase; the database
   * is cut just after it, so the renewal 10 s later fails, and is back a second after that. The renewal period alone
   * would renew 4 s later; retried every second, the lease is renewed within about a second.
   */
  @Test
  void aRenewalThatFailedIsTriedAgainASecondLater() throws Exception {
    String direct = TestServices.freshDatabase();
    try (TcpProxy proxy = TcpProxy.toDatabase(direct);
         // the attempt is under way throughout (first renewal by 15 s, back by 27 s); the node's stop waits for its end
         RecordingSmtpServer relay = new RecordingSmtpServer().dataDelay(Duration.ofSeconds(35));
         TestNode node = TestNode.start(proxy.databaseUrl(), TestServices.uniquePrefix(), relay.url(),
             c -> c.with(MailgateConfig.DELIVERY_LEASE_SECONDS, 60), true);
         SesV2Client ses = node.sesV2()) {
      String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("rcpt@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("Renewed again")).body(b -> b.text(t -> t.data("x"))))))
          .messageId();
      String lease = "SELECT extract(epoch FROM lease_until)::text FROM recipients WHERE message_id = '" + id + "'";
      String taken = Db.string(direct, lease);
      Await.until(() -> !Db.string(direct, lease).equals(taken), Duration.ofSeconds(20));
      long renewed = System.nanoTime(); // within 0.1 s of a tick of the renewal timer
      String first = Db.string(direct, lease);
      Thread.sleep(500);
      proxy.cut();
      Thread.sleep(11_000 - 500); // the renewal at 10 s fails
      proxy.restore();
      long restored = System.nanoTime();
      Await.until(() -> !Db.string(direct, lease).equals(first), Duration.ofSeconds(10));
      long afterMillis = (System.nanoTime() - restored) / 1_000_000;
      assertTrue(afterMillis < 2_500, "renewed " + afterMillis + " ms after the database came back ("
          + (restored - renewed) / 1_000_000 + " ms after the last renewal; the next period's renewal is 4 s after)");
    }
  }

  /** A sample's lease_until, in seconds since the epoch. */
  private static double until(String sample) {
    return Double.parseDouble(sample.split(" ")[1]);
  }
}
