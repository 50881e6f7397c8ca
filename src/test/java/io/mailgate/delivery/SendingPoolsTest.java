package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.ConfigException;
import java.util.List;
import org.junit.jupiter.api.Test;

class SendingPoolsTest {

  @Test
  void parsesDirectAndRelayRoutes() {
    SendingPools pools = SendingPools.parse(" tx=direct , bulk=smtp://user:p%2Cw@relay2.internal:2525,");
    assertEquals(List.of("tx", "bulk"), List.copyOf(pools.names()));
    SendingPools.Pool tx = pools.get("tx").orElseThrow();
    assertEquals(DeliverySettings.Mode.DIRECT, tx.mode());
    assertNull(tx.relay());
    SendingPools.Pool bulk = pools.get("bulk").orElseThrow();
    assertEquals(DeliverySettings.Mode.RELAY, bulk.mode());
    assertEquals(new SmtpRoute("relay2.internal", 2525, false, "user", "p,w"), bulk.relay());
    assertTrue(pools.get("other").isEmpty());
    assertTrue(SendingPools.parse("").names().isEmpty());
  }

  @Test
  void parsesSourceAddressesWithTheirEhloNames() {
    SendingPools pools = SendingPools.parse("bulk=direct source=192.0.2.10/mta1.example.com  source=2001:DB8:0::10,"
        + "tx=smtp://relay:25 source=198.51.100.1/[198.51.100.1]");
    assertEquals(List.of(new SendingPools.Source("192.0.2.10", "mta1.example.com"),
        new SendingPools.Source("2001:db8::10", null)), pools.get("bulk").orElseThrow().sources());
    assertEquals(List.of(new SendingPools.Source("198.51.100.1", "[198.51.100.1]")), pools.get("tx").orElseThrow().sources());
    assertEquals(List.of(new SendingPools.Source("192.0.2.1", null), new SendingPools.Source("192.0.2.2", "b.example")),
        SendingPools.sources(" 192.0.2.1, 192.0.2.2/b.example ", "delivery.sourceAddresses"));
    assertTrue(SendingPools.sources("", "delivery.sourceAddresses").isEmpty());
    // an IPv4-mapped IPv6 address is the IPv4 address (a socket bound to it is an IPv4 one), so it is named twice here
    assertEquals(List.of(new SendingPools.Source("192.0.2.10", null)), SendingPools.sources("::ffff:192.0.2.10", "s"));
    assertThrows(ConfigException.class, () -> SendingPools.sources("192.0.2.10 ::ffff:192.0.2.10", "s"));
  }

  @Test
  void refusesSourcesItCannotBindTo() {
    for (String bad : List.of("x=direct source=mta.example.com", "x=direct source=192.0.2.300", "x=direct 192.0.2.1",
        "x=direct source=0.0.0.0", "x=direct source=::", "x=direct source=224.0.0.1", "x=direct source=fe80::1%eth0",
        "x=direct source=192.0.2.1 source=192.0.2.1", "x=direct source=192.0.2.1/", "x=direct source=192.0.2.1/24",
        "x=direct source=192.0.2.1/bad_name.example", "x=direct source=")) {
      ConfigException e = assertThrows(ConfigException.class, () -> SendingPools.parse(bad), bad);
      assertTrue(e.getMessage().startsWith("delivery.sendingPools: pool x"), e.getMessage());
    }
    assertThrows(ConfigException.class, () -> SendingPools.sources("192.0.2.1 192.0.2.1", "s"));
    assertThrows(ConfigException.class, () -> SendingPools.sources("localhost", "s"));
  }

  @Test
  void refusesWhatItCannotUse() {
    for (String bad : List.of("bad name=direct", "x=", "x", "x=direct,x=direct", "x=http://relay:25",
        "x=smtp://", "name-that-is-far-too-long-for-ses-pool-names-of-at-most-sixty-four-chars=direct")) {
      assertThrows(ConfigException.class, () -> SendingPools.parse(bad), bad);
    }
  }
}
