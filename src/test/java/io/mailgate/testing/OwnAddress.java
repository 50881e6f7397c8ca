package io.mailgate.testing;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;
import org.junit.jupiter.api.Assumptions;

/**
 * An IPv4 address of this machine's that is not loopback, to connect from as a client that is not the node's own
 * (loopback, a local relay or the machine itself, is let through what limits clients by address).
 */
public final class OwnAddress {
  private OwnAddress() {}

  /** The first such address; the calling test is skipped on a machine without one. */
  public static String get() {
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        for (InetAddress a : Collections.list(nic.getInetAddresses())) {
          if (nic.isUp() && a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
            return a.getHostAddress();
          }
        }
      }
    } catch (SocketException e) {
      Assumptions.abort("this machine's addresses cannot be listed: " + e.getMessage());
    }
    Assumptions.abort("this machine has no address but loopback to connect from");
    return null;
  }
}
