package io.mailgate;

import io.netty.util.NetUtil;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/** Questions about an address, answered from the address itself: nothing is looked up. */
public final class NetAddresses {
  private NetAddresses() {}

  /** The address a URL's host names literally ({@code 192.0.2.1}, {@code [2001:db8::1]}), or null for a name. */
  public static InetAddress literal(String host) {
    String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(bare);
    try {
      return ip == null ? null : InetAddress.getByAddress(ip);
    } catch (UnknownHostException e) {
      return null; // not reached: the byte array has a valid length
    }
  }

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

  /** Whether a host name or literal names this machine: {@code localhost}, 127.0.0.0/8, {@code ::1}, {@code [::1]}. */
  public static boolean isLoopbackName(String host) {
    InetAddress literal = literal(host);
    return literal != null ? literal.isLoopbackAddress() : host.equalsIgnoreCase("localhost");
  }

  /**
   * Whether an address is one the node may connect to on a tenant's say-so (an MX host, a webhook): a public
   * unicast address.
   * Loopback, unspecified, link-local, private (RFC 1918), unique-local (fc00::/7), CGNAT (100.64.0.0/10) and
   * multicast addresses would let any tenant's DNS (or an address literal) point the node at its own network, and
   * Azure's host endpoint 168.63.129.16 at its cloud's metadata service (the others' are link-local); an IPv6
   * address with an IPv4 one inside (IPv4-mapped, -translated, -compatible, NAT64, 6to4, Teredo) is as public as that one.
   */
  public static boolean isPublic(InetAddress a) {
    if (a.isLoopbackAddress() || a.isAnyLocalAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress()
        || a.isMulticastAddress()) {
      return false;
    }
    byte[] b = a.getAddress();
    if (b.length == 4) {
      int first = b[0] & 0xff;
      int second = b[1] & 0xff;
      int third = b[2] & 0xff;
      return first != 0 && first < 240 // this network, and class E with the broadcast address
          && !(first == 100 && second >= 64 && second < 128) // CGNAT, 100.64.0.0/10
          && !(first == 192 && second == 0 && third == 0) // IETF protocol assignments, 192.0.0.0/24
          && !(first == 198 && (second == 18 || second == 19)) // benchmarking, 198.18.0.0/15 (fake-IP proxies)
          // Azure's host endpoint (WireServer, 168.63.129.16/32): a public address that every Azure VM reaches as its
          // platform's metadata and agent service, as 169.254.169.254 is elsewhere
          && !(first == 168 && second == 63 && third == 129 && (b[3] & 0xff) == 16);
    }
    if ((b[0] & 0xfe) == 0xfc) {
      return false; // unique local, fc00::/7
    }
    boolean zeros = true; // ::/96, IPv4-compatible (deprecated): an IPv4 address in disguise
    for (int i = 0; i < 12; i++) {
      zeros &= b[i] == 0;
    }
    if (zeros) {
      return false;
    }
    if ((b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b) {
      // NAT64 (64:ff9b::/96 well-known, 64:ff9b:1::/48 local use): the IPv4 address inside decides; local use never
      if (b[4] == 0 && b[5] == 1) {
        return false;
      }
      return isPublicIpv4(Arrays.copyOfRange(b, 12, 16));
    }
    // an IPv4 address inside an IPv6 one: the IPv4 address decides. A lookup answers an AAAA record of
    // ::ffff:127.0.0.1 as an Inet6Address (only InetAddress.getByAddress turns it into IPv4), which the checks above
    // take for a public address while a connection to it reaches the node's own loopback
    if (zeros(b, 0, 10) && b[10] == (byte) 0xff && b[11] == (byte) 0xff) {
      return isPublicIpv4(Arrays.copyOfRange(b, 12, 16)); // IPv4-mapped, ::ffff:0:0/96
    }
    if (zeros(b, 0, 8) && b[8] == (byte) 0xff && b[9] == (byte) 0xff && b[10] == 0 && b[11] == 0) {
      return isPublicIpv4(Arrays.copyOfRange(b, 12, 16)); // IPv4-translated, ::ffff:0:0:0/96
    }
    if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x02) {
      return isPublicIpv4(Arrays.copyOfRange(b, 2, 6)); // 6to4, 2002::/16: the relay reaches the IPv4 address inside
    }
    if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x01 && b[2] == 0 && b[3] == 0) {
      // Teredo, 2001::/32 (RFC 4380 4): a relay reaches the client's IPv4 address (the last 32 bits, inverted) through
      // the server's (the next 32 after the prefix); both decide
      byte[] client = Arrays.copyOfRange(b, 12, 16);
      for (int i = 0; i < 4; i++) {
        client[i] = (byte) ~client[i];
      }
      return isPublicIpv4(Arrays.copyOfRange(b, 4, 8)) && isPublicIpv4(client);
    }
    return true;
  }

  private static boolean zeros(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static boolean isPublicIpv4(byte[] ipv4) {
    try {
      return isPublic(InetAddress.getByAddress(ipv4));
    } catch (UnknownHostException e) {
      return false; // not reached: four bytes
    }
  }

  /** A network: an address and how many of its leading bits must match. IPv4 mapped into IPv6 counts as IPv4. */
  public record Cidr(byte[] network, int prefix) {
    /**
     * {@code 10.0.0.0/8}, {@code fd00::/8}, {@code ::ffff:10.0.0.0/104} (the same as {@code 10.0.0.0/8}) or an
     * address alone (all its bits); null when it is none of these.
     */
    public static Cidr parse(String s) {
      int slash = s.indexOf('/');
      byte[] ip = bytes(slash < 0 ? s : s.substring(0, slash));
      if (ip == null) {
        return null;
      }
      int prefix;
      try {
        prefix = slash < 0 ? ip.length * 8 : Integer.parseInt(s.substring(slash + 1));
      } catch (NumberFormatException e) {
        return null;
      }
      if (ip.length == 4 && s.indexOf(':') >= 0 && slash >= 0) {
        prefix -= 96; // ::ffff:10.0.0.0/104 is 10.0.0.0/8
      }
      return prefix < 0 || prefix > ip.length * 8 ? null : new Cidr(ip, prefix);
    }

    public boolean contains(byte[] ip) {
      if (ip == null || ip.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (ip[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      return rest == 0 || ((ip[full] ^ network[full]) & (0xff << (8 - rest)) & 0xff) == 0;
    }
  }

  /** An address's bytes, an IPv4 address mapped into IPv6 as IPv4; null when it is not an address. */
  public static byte[] bytes(String s) {
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(s);
    if (ip != null && ip.length == 16) {
      boolean mapped = ip[10] == (byte) 0xff && ip[11] == (byte) 0xff;
      for (int i = 0; i < 10; i++) {
        mapped &= ip[i] == 0;
      }
      if (mapped) {
        return Arrays.copyOfRange(ip, 12, 16);
      }
    }
    return ip;
  }
}
