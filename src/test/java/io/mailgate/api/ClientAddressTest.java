package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mailgate.config.ConfigException;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClientAddressTest {
  private final ClientAddress proxies = ClientAddress.parse("10.0.0.0/8, 192.168.1.10 ,fd00::/8");

  @Test
  void withoutTrustedProxiesThePeerIsTheClient() {
    ClientAddress none = ClientAddress.parse("");
    assertEquals("10.1.1.1", none.of("10.1.1.1", List.of("203.0.113.7")));
  }

  @Test
  void theHeaderIsReadFromTheRightPastTrustedHops() {
    assertEquals("203.0.113.7", proxies.of("10.1.1.1", List.of("203.0.113.7")));
    assertEquals("203.0.113.7", proxies.of("10.1.1.1", List.of("198.51.100.1, 203.0.113.7, 192.168.1.10")));
    assertEquals("203.0.113.7", proxies.of("10.1.1.1", List.of("198.51.100.1", "203.0.113.7,10.9.9.9")),
        "several headers are one list");
    assertEquals("2001:db8:0:0:0:0:0:1", proxies.of("fd12::1", List.of("[2001:db8::1]:4711")));
    assertEquals("203.0.113.7", proxies.of("10.1.1.1", List.of("203.0.113.7:5555")));
    assertEquals("10.2.2.2", proxies.of("10.1.1.1", List.of("10.2.2.2")), "all hops trusted: the leftmost");
  }

  @Test
  void anUntrustedPeerOrAGarbledHopEndsTheWalk() {
    assertEquals("198.51.100.9", proxies.of("198.51.100.9", List.of("203.0.113.7")), "not a proxy of ours");
    assertEquals("192.168.1.11", proxies.of("192.168.1.11", List.of("203.0.113.7")), "a /32 is one address");
    assertEquals("10.2.2.2", proxies.of("10.1.1.1", List.of("203.0.113.7, unknown, 10.2.2.2")));
    assertEquals("10.1.1.1", proxies.of("10.1.1.1", List.of("")));
    assertEquals("203.0.113.7", proxies.of("::ffff:10.1.1.1", List.of("203.0.113.7")), "an IPv4-mapped peer");
  }

  @Test
  void anIpv4MappedRangeIsItsIpv4Range() {
    ClientAddress mapped = ClientAddress.parse("::ffff:10.0.0.0/104");
    assertEquals("203.0.113.7", mapped.of("10.200.1.1", List.of("203.0.113.7")));
    assertEquals("11.0.0.1", mapped.of("11.0.0.1", List.of("203.0.113.7")));
    assertThrows(ConfigException.class, () -> ClientAddress.parse("::ffff:10.0.0.0/95"));
  }

  @Test
  void aRangeMayEndInsideAByte() {
    ClientAddress twelve = ClientAddress.parse("172.16.0.0/12");
    assertEquals("203.0.113.7", twelve.of("172.31.255.255", List.of("203.0.113.7")));
    assertEquals("172.32.0.0", twelve.of("172.32.0.0", List.of("203.0.113.7")));
    assertEquals("172.15.255.255", twelve.of("172.15.255.255", List.of("203.0.113.7")));
  }

  @Test
  void aWrongEntryStopsTheStart() {
    for (String bad : new String[] {"10.0.0.0/33", "proxy.internal", "10.0.0.0/x", "fd00::/129"}) {
      assertThrows(ConfigException.class, () -> ClientAddress.parse(bad), bad);
    }
  }
}
