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
