package io.mailgate.delivery.dns;

import java.net.InetAddress;
import java.util.List;

/**
 * One host to try for a domain, in the order it should be tried, with the addresses to connect
 * to (IPv4 first, each family shuffled so load spreads over round-robin records; capped by
 * {@link DnsResolverOptions#maxAddressesPerHost()}).
 *
 * @param authenticated the resolver said the way to it is authentic (DNSSEC): the domain's MX records (for an implicit
 *     MX, the domain's own addresses) and the host's addresses, as DANE needs before it looks for TLSA records (RFC
 *     7672 2.2)
 */
public record MxHost(String name, int preference, List<InetAddress> addresses, boolean authenticated) {
  public MxHost {
    addresses = List.copyOf(addresses);
  }

  /** Not authenticated. */
  public MxHost(String name, int preference, List<InetAddress> addresses) {
    this(name, preference, addresses, false);
  }
}
