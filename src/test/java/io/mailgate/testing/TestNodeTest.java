package io.mailgate.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The harness itself: a port taken between its choosing and the node's binding does not fail the test. */
class TestNodeTest {

  @Test
  void startsAgainOnNewPortsWhenOneWasTakenBeforeTheNodeBoundIt() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      AtomicInteger starts = new AtomicInteger();
      // the first start is given a port something else holds, as an outgoing connection can take one
      try (TestNode node = TestNode.startCapturing(c -> starts.getAndIncrement() == 0
          ? c.with(MailgateConfig.HTTP_PORT, taken.getLocalPort()) : c)) {
        assertEquals(2, starts.get());
        assertNotEquals(taken.getLocalPort(), (int) node.config().get(MailgateConfig.HTTP_PORT));
        assertTrue(node.sesV2().getAccount(r -> {}).sendingEnabled());
      }
    }
  }
}
