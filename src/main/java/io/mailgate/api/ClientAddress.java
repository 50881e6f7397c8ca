package io.mailgate.api;

import io.mailgate.NetAddresses;
import io.mailgate.NetAddresses.Cidr;

import io.mailgate.config.ConfigException;
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
  private final List<Cidr> trusted;

  private ClientAddress(List<Cidr> trusted) {
    this.trusted = trusted;
  }

  /** From {@code http.trustedProxies}: addresses and CIDR ranges, comma separated; empty trusts none. */
  public static ClientAddress parse(String config) {
    List<Cidr> ranges = new ArrayList<>();
    for (String item : config.split(",")) {
      String s = item.strip();
      if (s.isEmpty()) {
        continue;
      }
      Cidr range = Cidr.parse(s);
      if (range == null) {
        throw new ConfigException("http.trustedProxies (MAILGATE_HTTP_TRUSTED_PROXIES): '" + s
            + "' is not an IP address or CIDR range such as 10.0.0.0/8 or fd00::/8");
      }
      ranges.add(range);
    }
    return new ClientAddress(List.copyOf(ranges));
  }

  /** The client's address as text, or null when the request has no peer address. */
  public String of(HttpServerRequest request) {
    String peer = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
    return of(peer, trusted.isEmpty() ? List.of() : request.headers().getAll("X-Forwarded-For"));
  }

  String of(String peer, List<String> forwardedFor) {
    byte[] ip = peer == null ? null : NetAddresses.bytes(peer);
    if (ip == null || !trusted(ip) || forwardedFor.isEmpty()) {
      return peer;
    }
    String client = peer;
    List<String> hops = new ArrayList<>();
    for (String value : forwardedFor) {
      hops.addAll(Arrays.asList(value.split(",")));
    }
    for (int i = hops.size() - 1; i >= 0; i--) {
      byte[] hop = NetAddresses.bytes(withoutPort(hops.get(i).strip()));
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
    for (Cidr r : trusted) {
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

  private static String text(byte[] ip) {
    try {
      return InetAddress.getByAddress(ip).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // not reached: 4 or 16 bytes
    }
  }
}
