package io.mailgate.store;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.TestServices;
import org.junit.jupiter.api.Test;

/**
 * Two nodes under one node.id would take each other's delivery leases on every scan (a node takes back its own
 * name's at once): the second does not start while the first runs, and starts once it has stopped.
 */
class NodeLockTest {
  @Test
  void aSecondNodeUnderTheSameNameDoesNotStartWhileTheFirstRuns() {
    String pg = TestServices.freshDatabase();
    String prefix = TestServices.uniquePrefix();
    TestNode first = TestNode.start(pg, prefix, null, c -> c.with(MailgateConfig.NODE_ID, "cloned-host"), true);
    try {
      IllegalStateException refused = assertThrows(IllegalStateException.class, () -> TestNode.start(pg, prefix,
          null, c -> c.with(MailgateConfig.NODE_ID, "cloned-host").with(MailgateConfig.NODE_ID_WAIT_SECONDS, 1), true));
      assertTrue(refused.getMessage().contains("another node runs with node.id 'cloned-host'"), refused.getMessage());
      // another name on the same database starts
      TestNode.start(pg, prefix, null, c -> c.with(MailgateConfig.NODE_ID, "other-host"), true).close();
    } finally {
      first.close();
    }
    // the first stopped: its name is free
    TestNode.start(pg, prefix, null, c -> c.with(MailgateConfig.NODE_ID, "cloned-host")
        .with(MailgateConfig.NODE_ID_WAIT_SECONDS, 1), true).close();
  }

  /**
   * The lock's session ended under a running node (the database restarted, or the connection was cut): the node takes
   * its name again, and still holds it against a second node.
   */
  @Test
  void aLostSessionIsTakenAgain() throws Exception {
    String pg = TestServices.freshDatabase();
    String prefix = TestServices.uniquePrefix();
    try (TestNode node = TestNode.start(pg, prefix, null, c -> c.with(MailgateConfig.NODE_ID, "cut-off"), true)) {
      String lockPid = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
          + "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
          + "AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('mailgate node.id cut-off', 0)";
      long first = io.mailgate.testing.Db.count(pg, lockPid);
      io.mailgate.testing.Db.execute(pg, "SELECT pg_terminate_backend(" + first + ")");
      long again = io.mailgate.testing.Await.until(() -> {
        try {
          return io.mailgate.testing.Db.count(pg, lockPid);
        } catch (RuntimeException e) {
          return 0L; // no row yet
        }
      }, pid -> pid != 0 && pid != first, java.time.Duration.ofSeconds(20));
      assertTrue(again != first);
      IllegalStateException refused = assertThrows(IllegalStateException.class, () -> TestNode.start(pg, prefix,
          null, c -> c.with(MailgateConfig.NODE_ID, "cut-off").with(MailgateConfig.NODE_ID_WAIT_SECONDS, 1), true));
      assertTrue(refused.getMessage().contains("another node runs with node.id 'cut-off'"), refused.getMessage());
    }
  }

  /** A node started while its previous run still stops waits for it, rather than fail the restart. */
  @Test
  void aRestartWaitsForThePreviousRunToStop() throws Exception {
    String pg = TestServices.freshDatabase();
    String prefix = TestServices.uniquePrefix();
    TestNode previous = TestNode.start(pg, prefix, null, c -> c.with(MailgateConfig.NODE_ID, "restarted"), true);
    Thread stopper = new Thread(() -> {
      try {
        Thread.sleep(1500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      previous.close();
    });
    stopper.start();
    TestNode.start(pg, prefix, null, c -> c.with(MailgateConfig.NODE_ID, "restarted")
        .with(MailgateConfig.NODE_ID_WAIT_SECONDS, 30), true).close();
    stopper.join();
  }
}
