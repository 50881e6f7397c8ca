package io.mailgate.api;

import io.mailgate.config.ConfigException;
import io.netty.util.NetUtil;
import io.vertx.core.http.HttpServerRequest;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The address of the client behind an HTTP request: the peer's, or, when the peer is one of the operator's proxies
 * ({@code http.trustedProxies}), the one its {@code X-Forwarded-For} names. The header is read from the right, each
 * address added by a trusted proxy skipped, so a client cannot pass itself off as another by sending the header
 * itself (the proxies append to it). From a peer that is not trusted the header is ignored.
 */
public final class ClientAddress {
  /** One trusted network: an address and how many of its leading bits must match. */
  record Range(byte[] network, int prefix) {
    boolean contains(byte[] ip) {
      if (ip.length != network.length) {
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

  private final List<Range> trusted;

  private ClientAddress(List<Range> trusted) {
    this.trusted = trusted;
  }

  /** From {@code http.trustedProxies}: addresses and CIDR ranges, comma separated; empty trusts none. */
  public static ClientAddress parse(String config) {
    List<Range> ranges = new ArrayList<>();
    for (String item : config.split(",")) {
      String s = item.strip();
      if (s.isEmpty()) {
        continue;
      }
      int slash = s.indexOf('/');
      byte[] ip = bytes(slash < 0 ? s : s.substring(0, slash));
      int prefix;
      try {
        prefix = slash < 0 ? (ip == null ? 0 : ip.length * 8) : Integer.parseInt(s.substring(slash + 1));
      } catch (NumberFormatException e) {
        prefix = -1;
      }
      if (ip == null || prefix < 0 || prefix > ip.length * 8) {
        throw new ConfigException("http.trustedProxies (MAILGATE_HTTP_TRUSTED_PROXIES): '" + s
            + "' is not an IP address or CIDR range such as 10.0.0.0/8 or fd00::/8");
      }
      ranges.add(new Range(ip, prefix));
    }
    return new ClientAddress(List.copyOf(ranges));
  }

  /** The client's address as text, or null when the request has no peer address. */
  public String of(HttpServerRequest request) {
    String peer = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
    return of(peer, trusted.isEmpty() ? List.of() : request.headers().getAll("X-Forwarded-For"));
  }

  String of(String peer, List<String> forwardedFor) {
    byte[] ip = peer == null ? null : bytes(peer);
    if (ip == null || !trusted(ip) || forwardedFor.isEmpty()) {
      return peer;
    }
    String client = peer;
    List<String> hops = new ArrayList<>();
    for (String value : forwardedFor) {
      hops.addAll(Arrays.asList(value.split(",")));
    }
    for (int i = hops.size() - 1; i >= 0; i--) {
      byte[] hop = bytes(withoutPort(hops.get(i).strip()));
      if (hop == null) {
        break; // what a trusted proxy did not write cannot be trusted further left
      }
      client = text(hop);
      if (!trusted(hop)) {
        break;
      }
    }
    return client;
  }

  private boolean trusted(byte[] ip) {
    for (Range r : trusted) {
      if (r.contains(ip)) {
        return true;
      }
    }
    return false;
  }

  /** {@code [2001:db8::1]:443} and {@code 192.0.2.1:443} as proxies may write them, without the port. */
  private static String withoutPort(String hop) {
    if (hop.startsWith("[")) {
      int end = hop.indexOf(']');
      return end < 0 ? hop : hop.substring(1, end);
    }
    int colon = hop.indexOf(':');
    return colon > 0 && hop.indexOf(':', colon + 1) < 0 ? hop.substring(0, colon) : hop;
  }

  /** An address's bytes, an IPv4 address mapped into IPv6 as IPv4; null when it is not an address. */
  private static byte[] bytes(String s) {
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

  private static String text(byte[] ip) {
    try {
      return InetAddress.getByAddress(ip).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // not reached: 4 or 16 bytes
    }
  }
}
