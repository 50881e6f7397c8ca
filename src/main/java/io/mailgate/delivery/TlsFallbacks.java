package io.mailgate.delivery;

import java.util.HashMap;
import java.util.Map;

/**
 * The hosts of a site whose STARTTLS handshake failed, in opportunistic mode: they get plain text for a while
 * ({@link #PLAIN_TEXT_MILLIS}), then TLS is tried again. A lasting downgrade would let anyone who breaks one
 * handshake (a middlebox, an attacker on the path) read all later mail to the host; trying TLS on every new
 * connection would make a host whose TLS is broken cost a failed handshake each time. Not thread-safe: a site's pool
 * keeps it on its event loop.
 */
final class TlsFallbacks {
  static final long PLAIN_TEXT_MILLIS = 5 * 60_000L;

  private final Map<String, Long> until = new HashMap<>();

  /** Whether a new connection to {@code address} goes without TLS at {@code now}. */
  boolean plainText(String address, long now) {
    Long u = until.get(address);
    if (u == null) {
      return false;
    }
    if (u <= now) {
      until.remove(address);
      return false;
    }
    return true;
  }

  void handshakeFailed(String address, long now) {
    until.put(address, now + PLAIN_TEXT_MILLIS);
  }
}
