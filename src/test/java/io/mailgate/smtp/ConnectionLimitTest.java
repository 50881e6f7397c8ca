package io.mailgate.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The message content a listening address's sessions may hold, and what one client of it may. */
class ConnectionLimitTest {
  static final long MB = 1024 * 1024;

  /**
   * One client holds at most a quarter of the address's budget (or one largest message, if more): a client trickling
   * the end of its messages into a few connections held all of it, and everyone else's mail was answered 452.
   */
  @Test
  void oneClientHoldsAQuarterOfTheBudgetAtMost() throws Exception {
    ConnectionLimit limit = ConnectionLimit.forAddress(null, "127.0.0.1", 0, 100, 10, 40 * MB, MB);
    InetAddress greedy = InetAddress.getByName("192.0.2.1");
    InetAddress other = InetAddress.getByName("198.51.100.7");
    DataReader.Budget first = limit.budgetFor(greedy);
    DataReader.Budget second = limit.budgetFor(greedy); // another connection of the same client
    assertTrue(first.take(8 * MB));
    assertTrue(second.take(2 * MB));
    assertFalse(second.take(1), "a quarter of 40 MB");
    assertEquals(10 * MB, limit.dataHeldBy(greedy));
    DataReader.Budget others = limit.budgetFor(other);
    assertTrue(others.take(10 * MB));
    // given back, it may take again; nothing is left counted at zero
    first.give(8 * MB);
    assertTrue(second.take(8 * MB));
    second.give(10 * MB);
    assertEquals(0, limit.dataHeldBy(greedy));
    assertEquals(10 * MB, limit.dataHeld());
    // the budget of the address still holds for all of them together
    for (int i = 0; i < 3; i++) {
      InetAddress client = InetAddress.getByName("203.0.113." + (i + 1));
      assertTrue(limit.budgetFor(client).take(10 * MB));
    }
    DataReader.Budget last = limit.budgetFor(InetAddress.getByName("203.0.113.9"));
    assertFalse(last.take(1), "40 MB held");
    assertEquals(0, limit.dataHeldBy(InetAddress.getByName("203.0.113.9")), "a refused take holds nothing");
    // loopback (a local relay) and a client without an address are counted with the address only
    assertSame(limit, limit.budgetFor(InetAddress.getLoopbackAddress()));
    assertSame(limit, limit.budgetFor(null));
  }

  /**
   * An IPv6 client is its first 84 bits, as Postfix counts it (a host may use any address of its /64): its 51st
   * connection from any address of it is refused, and its data counts together; another /84 of the same /64 (another
   * host of a cloud subnet), another /64 and IPv4 clients are apart.
   */
  @Test
  void anIpv6ClientIsItsFirst84Bits() throws Exception {
    ConnectionLimit limit = ConnectionLimit.forAddress(null, "127.0.0.1", 0, 1000, 50, 40 * MB, MB);
    for (int i = 1; i <= 50; i++) {
      assertTrue(limit.tryAcquireFor(InetAddress.getByName("2001:db8:1:2::" + Integer.toHexString(i))), "#" + i);
    }
    assertFalse(limit.tryAcquireFor(InetAddress.getByName("2001:db8:1:2:0:fff:2:3")), "a 51st from the same /84");
    assertTrue(limit.tryAcquireFor(InetAddress.getByName("2001:db8:1:2:10::1")), "another /84 of the /64");
    assertTrue(limit.tryAcquireFor(InetAddress.getByName("2001:db8:1:3::1")), "another /64");
    assertTrue(limit.tryAcquireFor(InetAddress.getByName("192.0.2.1")));
    limit.releaseFor(InetAddress.getByName("2001:db8:1:2::7")); // any address of it gives a place back
    assertTrue(limit.tryAcquireFor(InetAddress.getByName("2001:db8:1:2::abcd")));
    assertTrue(limit.budgetFor(InetAddress.getByName("2001:db8:1:2::1")).take(6 * MB));
    assertTrue(limit.budgetFor(InetAddress.getByName("2001:db8:1:2::2")).take(4 * MB));
    assertFalse(limit.budgetFor(InetAddress.getByName("2001:db8:1:2::3")).take(1), "a quarter of 40 MB for the /64");
    assertEquals(10 * MB, limit.dataHeldBy(InetAddress.getByName("2001:db8:1:2::99")));
  }

  /**
   * A largest message over a quarter of the budget: a client may still send one, while each of its other connections
   * (as many as it may open) keeps its buffer between messages; a pool of connections sending its largest message
   * was refused 452 again and again.
   */
  @Test
  void aPoolOfConnectionsMaySendItsLargestMessage() throws Exception {
    long largest = 40 * MB + 2;
    int connections = 50;
    ConnectionLimit big = ConnectionLimit.forAddress(null, "127.0.0.1", 0, 1000, connections, 128 * MB, largest);
    InetAddress pool = InetAddress.getByName("192.0.2.9");
    for (int i = 1; i < connections; i++) {
      assertTrue(big.budgetFor(pool).take(DataReader.RETAINED_CAPACITY));
    }
    DataReader.Budget sending = big.budgetFor(pool);
    assertTrue(sending.take(DataReader.MAX_PREALLOCATION));
    assertTrue(sending.take(largest - DataReader.MAX_PREALLOCATION));
    assertFalse(big.budgetFor(pool).take(DataReader.MAX_PREALLOCATION + 2 * DataReader.RETAINED_CAPACITY),
        "no second largest message beside it");
  }
}
