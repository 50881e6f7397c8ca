package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HostHealthTest {
  @Test
  void theWaitDoublesWithEachFailureAfterItUpToTenTimes() {
    HostHealth hosts = new HostHealth(1000);
    hosts.unreachable("192.0.2.1", "cannot connect: refused", 0);
    assertTrue(hosts.down("192.0.2.1", 999).startsWith("cannot connect: refused (host unreachable since"));
    assertNull(hosts.down("192.0.2.1", 1000));
    assertNull(hosts.down("192.0.2.2", 500), "other hosts are not affected");
    // connections opened before it was marked fail too: they do not lengthen the wait
    hosts.unreachable("192.0.2.1", "again", 400);
    assertNull(hosts.down("192.0.2.1", 1000));
    long now = 1000;
    long[] waits = {2000, 4000, 8000, 10000, 10000};
    for (long wait : waits) {
      hosts.unreachable("192.0.2.1", "refused", now);
      assertNotNull(hosts.down("192.0.2.1", now + wait - 1));
      assertNull(hosts.down("192.0.2.1", now + wait), "wait " + wait);
      now += wait;
    }
    assertEquals(6, hosts.toJson(now - 1).getJsonObject(0).getInteger("Failures"));
  }

  @Test
  void aConnectionClearsItAndAnOldOutageIsForgotten() {
    HostHealth hosts = new HostHealth(1000);
    hosts.unreachable("192.0.2.1", "refused", 0);
    hosts.reachable("192.0.2.1");
    assertNull(hosts.down("192.0.2.1", 1));
    assertEquals(0, hosts.toJson(1).size());
    hosts.unreachable("192.0.2.1", "refused", 0);
    hosts.unreachable("192.0.2.1", "refused", 1000); // second failure: 2 s
    hosts.unreachable("192.0.2.1", "refused", 60_000); // long after: a new outage, 1 s again
    assertNotNull(hosts.down("192.0.2.1", 60_999));
    assertNull(hosts.down("192.0.2.1", 61_000));
  }

  @Test
  void zeroTurnsItOff() {
    HostHealth hosts = new HostHealth(0);
    hosts.unreachable("192.0.2.1", "refused", 0);
    assertNull(hosts.down("192.0.2.1", 1));
  }
}
