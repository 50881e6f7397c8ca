package io.mailgate.delivery.dns;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How {@link DnsResolver} asks and caches.
 *
 * @param servers recursive resolvers to ask, in order; empty: those of {@code /etc/resolv.conf}
 * @param queryTimeout how long to wait for one answer before asking again
 * @param attempts queries sent for one lookup at most, cycling over the servers, when they time
 *     out; a SERVFAIL or REFUSED moves on to the next server only if there is one not yet asked
 * @param minTtl floor of every cached answer's lifetime, so a TTL of 0 does not mean a query per
 *     message
 * @param maxTtl ceiling of a positive answer's lifetime
 * @param maxNegativeTtl ceiling of a negative answer's lifetime (RFC 2308 section 5 suggests
 *     hours at most)
 * @param failureTtl how long a failed lookup (SERVFAIL, timeout) is remembered, so a burst of
 *     mail to a broken domain does not become a burst of timeouts; zero: not remembered. RFC 2308
 *     section 7 allows at most five minutes.
 * @param maxMxHosts MX hosts of one domain kept in a route, after ordering
 * @param maxAddressesPerHost addresses of one host kept in a route
 * @param ipv6 whether routes include AAAA addresses (after the IPv4 ones)
 * @param maxCacheEntries answers kept; beyond that, expired ones are dropped, then any
 * @param maxCacheBytes estimated heap of the answers kept, records and overhead ({@code AnswerCache.estimate});
 *     beyond that, answers are dropped as beyond {@code maxCacheEntries}. An answer's size is its owner's choice (a
 *     64 KB answer over TCP may hold thousands of records, which the caps of one answer, in {@code RecordType}, cut
 *     to tens of kilobytes): the count alone does not bound the memory.
 * @param dnssec whether queries ask for DNSSEC (EDNS(0)'s DO bit, RFC 3225), so that a validating resolver says which
 *     answers are authentic ({@link DnsAnswer#authenticated()}), as DANE needs; answers then carry their signatures
 *     and are larger
 * @param trustRemoteAd whether the AD bit of a resolver that is not on this machine is believed: it crosses the
 *     network unauthenticated, so by default only a loopback resolver's is (as glibc believes it only with {@code
 *     trust-ad})
 */
public record DnsResolverOptions(List<InetSocketAddress> servers, Duration queryTimeout, int attempts,
    Duration minTtl, Duration maxTtl, Duration maxNegativeTtl, Duration failureTtl, int maxMxHosts,
    int maxAddressesPerHost, boolean ipv6, int maxCacheEntries, long maxCacheBytes, boolean dnssec,
    boolean trustRemoteAd) {

  /**
   * 32 MB of estimate: some 70,000 ordinary answers (about 450 bytes each), or 500 of the largest one answer may be
   * (256 TXT records of 16 K characters in all); a sixteenth of the 512 MB heap a node is given.
   */
  public static final long DEFAULT_MAX_CACHE_BYTES = 32L * 1024 * 1024;

  public DnsResolverOptions {
    servers = List.copyOf(servers);
    requirePositive("queryTimeout", queryTimeout);
    requireNotNegative("minTtl", minTtl);
    requireNotNegative("maxTtl", maxTtl);
    requireNotNegative("maxNegativeTtl", maxNegativeTtl);
    requireNotNegative("failureTtl", failureTtl);
    if (maxTtl.compareTo(minTtl) < 0 || maxNegativeTtl.compareTo(minTtl) < 0) {
      throw new IllegalArgumentException("TTL ceilings must not be below the floor " + minTtl);
    }
    if (attempts < 1 || maxMxHosts < 1 || maxAddressesPerHost < 1 || maxCacheEntries < 1 || maxCacheBytes < 1) {
      throw new IllegalArgumentException(
          "attempts, maxMxHosts, maxAddressesPerHost, maxCacheEntries and maxCacheBytes must be >= 1");
    }
    if (maxMxHosts > RecordType.MX.maxRecords || maxAddressesPerHost > RecordType.A.maxRecords) {
      // a route cannot have more than an answer keeps
      throw new IllegalArgumentException("maxMxHosts and maxAddressesPerHost must be at most "
          + RecordType.MX.maxRecords + " and " + RecordType.A.maxRecords);
    }
  }

  /**
   * System resolvers, 5 s timeout, 2 attempts, TTLs within [10 s, 1 day], negative at most 1 hour; 100,000 answers and
   * {@link #DEFAULT_MAX_CACHE_BYTES} cached.
   */
  public static DnsResolverOptions defaults() {
    return new DnsResolverOptions(List.of(), Duration.ofSeconds(5), 2, Duration.ofSeconds(10), Duration.ofDays(1),
        Duration.ofHours(1), Duration.ofSeconds(30), 10, 4, true, 100_000, DEFAULT_MAX_CACHE_BYTES, false,
        false);
  }

  /**
   * Parses resolver addresses: IP literals with an optional port, separated by commas or spaces:
   * {@code "127.0.0.1:5353, [::1]:53, 10.0.0.2"}. Names are refused: resolving them would need
   * DNS.
   */
  public static List<InetSocketAddress> parseServers(String spec) {
    List<InetSocketAddress> servers = new ArrayList<>();
    for (String item : spec.trim().split("[,\\s]+")) {
      if (!item.isEmpty()) {
        servers.add(parseServer(item));
      }
    }
    return servers;
  }

  private static InetSocketAddress parseServer(String item) {
    String host = item;
    int port = 53;
    if (item.startsWith("[")) {
      int close = item.indexOf(']');
      if (close < 0) {
        throw new IllegalArgumentException("DNS server '" + item + "': missing ']'");
      }
      host = item.substring(1, close);
      if (close + 1 < item.length()) {
        port = parsePort(item, item.substring(close + 1));
      }
    } else if (item.indexOf(':') == item.lastIndexOf(':') && item.indexOf(':') >= 0) {
      host = item.substring(0, item.indexOf(':'));
      port = parsePort(item, item.substring(item.indexOf(':')));
    }
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(host);
    if (bytes == null) {
      throw new IllegalArgumentException("DNS server '" + item + "' is not an IP address (with an optional :port)");
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("DNS server '" + item + "': " + e.getMessage(), e);
    }
  }

  private static int parsePort(String item, String colonPort) {
    try {
      if (!colonPort.startsWith(":")) {
        throw new NumberFormatException();
      }
      int port = Integer.parseInt(colonPort.substring(1));
      if (port < 1 || port > 65535) {
        throw new NumberFormatException();
      }
      return port;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("DNS server '" + item + "': bad port");
    }
  }

  public DnsResolverOptions withServers(List<InetSocketAddress> servers) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  /** Same as {@code withServers(parseServers(spec))}. */
  public DnsResolverOptions withServers(String spec) {
    return withServers(parseServers(spec));
  }

  public DnsResolverOptions withQueryTimeout(Duration queryTimeout) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  public DnsResolverOptions withAttempts(int attempts) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  /** The floor and ceiling of positive answers' lifetime; the floor also applies to negative ones. */
  public DnsResolverOptions withTtlBounds(Duration minTtl, Duration maxTtl) {
    // the floor holds for negative answers too: a floor above their ceiling raises that ceiling to it
    Duration negative = maxNegativeTtl.compareTo(minTtl) < 0 ? minTtl : maxNegativeTtl;
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, negative, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  public DnsResolverOptions withMaxNegativeTtl(Duration maxNegativeTtl) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  public DnsResolverOptions withFailureTtl(Duration failureTtl) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  public DnsResolverOptions withMaxMxHosts(int maxMxHosts) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  public DnsResolverOptions withMaxAddressesPerHost(int maxAddressesPerHost) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  public DnsResolverOptions withIpv6(boolean ipv6) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  public DnsResolverOptions withMaxCacheBytes(long maxCacheBytes) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  private static void requirePositive(String what, Duration d) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(what + " must be positive");
    }
  }

  private static void requireNotNegative(String what, Duration d) {
    if (d == null || d.isNegative()) {
      throw new IllegalArgumentException(what + " must not be negative");
    }
  }

  public DnsResolverOptions withDnssec(boolean dnssec) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }

  public DnsResolverOptions withTrustRemoteAd(boolean trustRemoteAd) {
    return new DnsResolverOptions(servers, queryTimeout, attempts, minTtl, maxTtl, maxNegativeTtl, failureTtl,
        maxMxHosts, maxAddressesPerHost, ipv6, maxCacheEntries, maxCacheBytes, dnssec, trustRemoteAd);
  }
}
