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
  void refusesWhatItCannotUse() {
    for (String bad : List.of("bad name=direct", "x=", "x", "x=direct,x=direct", "x=http://relay:25",
        "x=smtp://", "name-that-is-far-too-long-for-ses-pool-names-of-at-most-sixty-four-chars=direct")) {
      assertThrows(ConfigException.class, () -> SendingPools.parse(bad), bad);
    }
  }
}
