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

  /** A port's limits, as its options give them: {@code largest} is a message of the largest size and its CRLF. */
  private static ConnectionLimit limit(int max, int maxPerClient, long maxData, long largest) {
    return ConnectionLimit.forAddress(null, new SmtpServerOptions().setHost("127.0.0.1").setPort(0)
        .setMaxConnections(max).setMaxConnectionsPerClient(maxPerClient).setMaxDataBytesHeld(maxData)
        .setMaxMessageSize(largest - 2));
  }

  /**
   * One client holds at most a quarter of the address's budget (or one largest message, if more): a client trickling
   * the end of its messages into a few connections held all of it, and everyone else's mail was answered 452.
   */
  @Test
  void oneClientHoldsAQuarterOfTheBudgetAtMost() throws Exception {
    ConnectionLimit limit = limit(100, 10, 40 * MB, MB);
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
    ConnectionLimit limit = limit(1000, 50, 40 * MB, MB);
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
    ConnectionLimit big = limit(1000, connections, 128 * MB, largest);
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

  /**
   * A client's rate is counted by its minute, which starts with its first connection (or message): past the limit
   * nothing more is let in, nor counted, until the minute is over, and then a new one starts with the next. Clients
   * (an IPv6 client by its first 84 bits) count apart; those whose minute is over are forgotten.
   */
  @Test
  void aClientsRateIsCountedByItsMinute() throws Exception {
    long[] now = {5_000_000_000L};
    ConnectionLimit.ClientRate rate = new ConnectionLimit.ClientRate(3, java.time.Duration.ofMinutes(1), () -> now[0]);
    InetAddress one = InetAddress.getByName("192.0.2.1");
    InetAddress other = InetAddress.getByName("192.0.2.2");
    for (int i = 0; i < 3; i++) {
      assertTrue(rate.tryTake(one), "#" + (i + 1));
      now[0] += 10_000_000_000L; // ten seconds apart: 0, 10 and 20 s into its minute
    }
    assertFalse(rate.tryTake(one), "a fourth within its minute");
    assertTrue(rate.tryTake(other), "another client has a minute of its own");
    now[0] += 29_000_000_000L; // 59 s after its first
    assertFalse(rate.tryTake(one));
    now[0] += 1_000_000_000L; // its minute is over: a new one starts
    assertTrue(rate.tryTake(one));
    assertTrue(rate.tryTake(one));
    assertTrue(rate.tryTake(one));
    assertFalse(rate.tryTake(one), "refused tries were not counted, the new minute's three are");
    // two minutes on, the sweep forgets both; the next count is a new minute
    now[0] += 120_000_000_000L;
    assertTrue(rate.tryTake(InetAddress.getByName("198.51.100.1")));
    assertEquals(1, rate.clients(), "clients whose minute is over are forgotten");
    ConnectionLimit.ClientRate none = new ConnectionLimit.ClientRate(0, java.time.Duration.ofMinutes(1), () -> 0L);
    for (int i = 0; i < 1000; i++) {
      assertTrue(none.tryTake(one));
    }
    assertEquals(0, none.clients(), "0: no limit, nothing kept");
  }

  /** A port's rates count a client as its concurrency limit does: loopback not at all, IPv6 by its first 84 bits. */
  @Test
  void aPortsRatesCountClientsAsItsConnectionsAre() throws Exception {
    ConnectionLimit port = ConnectionLimit.forAddress(null, new SmtpServerOptions().setHost("127.0.0.1").setPort(0)
        .setConnectionRatePerClient(2).setMessageRatePerClient(1));
    assertTrue(port.tryConnect(InetAddress.getByName("2001:db8:1:2::1")));
    assertTrue(port.tryConnect(InetAddress.getByName("2001:db8:1:2:0:abc:1:2")));
    assertFalse(port.tryConnect(InetAddress.getByName("2001:db8:1:2::3")), "the same /84");
    assertTrue(port.tryConnect(InetAddress.getByName("2001:db8:1:2:10::1")), "another /84 of the /64");
    assertTrue(port.tryStartMessage(InetAddress.getByName("2001:db8:1:2::1")), "messages count apart");
    assertFalse(port.tryStartMessage(InetAddress.getByName("2001:db8:1:2::2")));
    for (int i = 0; i < 10; i++) {
      assertTrue(port.tryConnect(InetAddress.getLoopbackAddress()));
      assertTrue(port.tryStartMessage(InetAddress.getLoopbackAddress()));
      assertTrue(port.tryConnect(null));
    }
  }
}
