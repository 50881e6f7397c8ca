package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class HostHealthTest {
  static final String HOST = "192.0.2.1:25";

  @Test
  void theWaitDoublesWithEachFailureAfterItUpToTenTimes() {
    HostHealth hosts = new HostHealth(1000);
    hosts.unreachable(HOST, "cannot connect: refused", 0);
    assertEquals(1000, hosts.downUntil(HOST, 999));
    assertTrue(hosts.reason(HOST, 999).startsWith("cannot connect: refused (host unreachable since"));
    assertEquals(0, hosts.downUntil(HOST, 1000));
    assertNull(hosts.reason(HOST, 1000));
    assertEquals(0, hosts.downUntil("192.0.2.2:25", 500), "other hosts are not affected");
    assertEquals(0, hosts.downUntil("192.0.2.1:587", 500), "nor another port of the same host");
    // connections opened before it was marked fail too: they do not lengthen the wait
    hosts.unreachable(HOST, "again", 400);
    assertEquals(0, hosts.downUntil(HOST, 1000));
    long now = 1000;
    long[] waits = {2000, 4000, 8000, 10000, 10000};
    for (long wait : waits) {
      hosts.unreachable(HOST, "refused", now);
      assertEquals(now + wait, hosts.downUntil(HOST, now + wait - 1), "wait " + wait);
      assertEquals(0, hosts.downUntil(HOST, now + wait));
      now += wait;
    }
    assertEquals(6, hosts.toJson(now - 1).getJsonObject(0).getInteger("Failures"));
  }

  @Test
  void aSuccessClearsItAndAnOldOutageIsForgotten() {
    HostHealth hosts = new HostHealth(1000);
    hosts.unreachable(HOST, "refused", 0);
    hosts.reachable(HOST);
    assertEquals(0, hosts.downUntil(HOST, 1));
    assertEquals(0, hosts.toJson(1).size());
    hosts.unreachable(HOST, "refused", 0);
    hosts.unreachable(HOST, "refused", 1000); // second failure: 2 s
    hosts.unreachable(HOST, "refused", 60_000); // long after: a new outage, 1 s again
    assertEquals(61_000, hosts.downUntil(HOST, 60_999));
  }

  @Test
  void aSiteIsDownOnlyWhenAllItsHostsAre() {
    HostHealth hosts = new HostHealth(1000);
    SmtpConnection.Endpoint mx1 = SmtpConnection.Endpoint.mx("mx1.example", "192.0.2.1", 25);
    SmtpConnection.Endpoint mx2 = SmtpConnection.Endpoint.mx("mx2.example", "192.0.2.2", 25);
    assertEquals(0, hosts.allDownUntil(List.of(), 0));
    hosts.unreachable(HostHealth.key(mx1), "refused", 0);
    assertEquals(0, hosts.allDownUntil(List.of(mx1, mx2), 10));
    hosts.unreachable(HostHealth.key(mx2), "refused", 500);
    assertEquals(1000, hosts.allDownUntil(List.of(mx1, mx2), 600), "the first to be due");
    assertEquals(0, hosts.allDownUntil(List.of(mx1, mx2), 1000));
  }

  @Test
  void zeroTurnsItOff() {
    HostHealth hosts = new HostHealth(0);
    hosts.unreachable(HOST, "refused", 0);
    assertEquals(0, hosts.downUntil(HOST, 1));
  }

  @Test
  void onlyTheHostsOwnFailuresMarkIt() {
    assertTrue(SmtpConnection.hostUnreachable(new java.net.ConnectException("connect(..) failed: Connection refused")));
    assertTrue(SmtpConnection.hostUnreachable(new io.netty.channel.ConnectTimeoutException("connection timed out")));
    assertTrue(SmtpConnection.hostUnreachable(new java.net.NoRouteToHostException("No route to host")));
    assertTrue(SmtpConnection.hostUnreachable(new java.net.ConnectException("connect(..) failed: Network is unreachable")));
    assertFalse(SmtpConnection.hostUnreachable(
        new java.net.ConnectException("connect(..) failed: Cannot assign requested address")), "no local port left");
    assertFalse(SmtpConnection.hostUnreachable(new java.net.ConnectException("connect(..) failed: Operation not permitted")));
    assertFalse(SmtpConnection.hostUnreachable(new javax.net.ssl.SSLHandshakeException("PKIX path building failed")));
  }
}
