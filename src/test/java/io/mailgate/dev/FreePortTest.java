package io.mailgate.dev;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The ports handed to a node's servers are distinct within the process: the kernel gives the same free port to two
 * bind(0)s in a row now and then, and two servers of one Vert.x instance told the same port share its socket (an HTTP
 * request then answered by an SMTP server's greeting, as a test once saw).
 */
class FreePortTest {
  @Test
  void noPortIsHandedOutTwice() {
    Set<Integer> ports = new HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      ports.add(EmbeddedServices.freePort());
    }
    assertEquals(2_000, ports.size());
  }
}
