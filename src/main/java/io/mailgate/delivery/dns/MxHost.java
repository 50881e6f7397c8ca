package io.mailgate.delivery.dns;

import java.net.InetAddress;
import java.util.List;

/**
 * One host to try for a domain, in the order it should be tried, with the addresses to connect
 * to (IPv4 first, each family shuffled so load spreads over round-robin records; capped by
 * {@link DnsResolverOptions#maxAddressesPerHost()}).
 */
public record MxHost(String name, int preference, List<InetAddress> addresses) {
  public MxHost {
    addresses = List.copyOf(addresses);
  }
}
