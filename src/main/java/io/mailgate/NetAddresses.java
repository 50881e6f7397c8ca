package io.mailgate;

import io.netty.util.NetUtil;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Questions about a peer's address, answered from the address literal alone: nothing is looked up. */
public final class NetAddresses {
  private NetAddresses() {}

  /** Whether the peer is on this machine (127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6). */
  public static boolean isLoopback(SocketAddress address) {
    if (address == null || address.hostAddress() == null) {
      return false;
    }
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(address.hostAddress());
    try {
      return ip != null && InetAddress.getByAddress(ip).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
