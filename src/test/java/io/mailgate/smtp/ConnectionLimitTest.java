package io.mailgate.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The message content a listening address's sessions may hold, and what one client of it may. */
class ConnectionLimitTest {
  /**
   * One client holds at most a quarter of the address's budget (or one largest message, if more): a client trickling
   * the end of its messages into a few connections held all of it, and everyone else's mail was answered 452.
   */
  @Test
  void oneClientHoldsAQuarterOfTheBudgetAtMost() throws Exception {
    ConnectionLimit limit = ConnectionLimit.forAddress(null, "127.0.0.1", 0, 100, 10, 1000, 100);
    InetAddress greedy = InetAddress.getByName("192.0.2.1");
    InetAddress other = InetAddress.getByName("198.51.100.7");
    DataReader.Budget first = limit.budgetFor(greedy);
    DataReader.Budget second = limit.budgetFor(greedy); // another connection of the same client
    assertTrue(first.take(200));
    assertTrue(second.take(50));
    assertFalse(second.take(1), "a quarter of 1000");
    assertEquals(250, limit.dataHeldBy(greedy));
    DataReader.Budget others = limit.budgetFor(other);
    assertTrue(others.take(250));
    // given back, it may take again; nothing is left counted at zero
    first.give(200);
    assertTrue(second.take(200));
    second.give(250);
    assertEquals(0, limit.dataHeldBy(greedy));
    assertEquals(250, limit.dataHeld());
    // the budget of the address still holds for all of them together
    InetAddress[] many = new InetAddress[3];
    for (int i = 0; i < many.length; i++) {
      many[i] = InetAddress.getByName("203.0.113." + (i + 1));
      assertTrue(limit.budgetFor(many[i]).take(250));
    }
    DataReader.Budget last = limit.budgetFor(InetAddress.getByName("203.0.113.9"));
    assertFalse(last.take(1), "1000 held");
    assertEquals(0, limit.dataHeldBy(InetAddress.getByName("203.0.113.9")), "a refused take holds nothing");
    // a largest message over a quarter: one such message is a client's share
    ConnectionLimit big = ConnectionLimit.forAddress(null, "127.0.0.1", 0, 100, 10, 1000, 400);
    assertTrue(big.budgetFor(greedy).take(400));
    assertFalse(big.budgetFor(greedy).take(1));
    // loopback (a local relay) and a client without an address are counted with the address only
    assertSame(limit, limit.budgetFor(InetAddress.getLoopbackAddress()));
    assertSame(limit, limit.budgetFor(null));
  }
}
