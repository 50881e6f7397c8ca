package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** One failed STARTTLS handshake is no lasting downgrade: plain text for a while, then TLS again. */
class TlsFallbacksTest {
  @Test
  void aFailedHandshakeMeansPlainTextForAWhileOnly() {
    TlsFallbacks f = new TlsFallbacks();
    long t = 1_000_000;
    assertFalse(f.plainText("192.0.2.1", t));
    f.handshakeFailed("192.0.2.1", t);
    assertTrue(f.plainText("192.0.2.1", t + 1));
    assertTrue(f.plainText("192.0.2.1", t + TlsFallbacks.PLAIN_TEXT_MILLIS - 1));
    assertFalse(f.plainText("192.0.2.2", t + 1), "another host of the site still gets TLS");
    assertFalse(f.plainText("192.0.2.1", t + TlsFallbacks.PLAIN_TEXT_MILLIS), "TLS is tried again");
    assertFalse(f.plainText("192.0.2.1", t + TlsFallbacks.PLAIN_TEXT_MILLIS + 1));
  }
}
