package io.mailgate.delivery.dns;

import io.mailgate.delivery.dns.MailRoute.Permanent;
import io.mailgate.delivery.dns.MailRoute.Resolved;
import io.mailgate.delivery.dns.MailRoute.SkippedHost;
import io.mailgate.delivery.dns.MailRoute.Temporary;
import io.netty.util.NetUtil;
import io.vertx.core.Future;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

/**
 * RFC 5321 section 5.1, locating the target hosts: MX records by preference (equal ones in random
 * order, to spread load as the RFC asks), each host's addresses; with no MX, the domain itself as
 * an implicit MX of preference 0; a null MX (RFC 7505) or a domain that does not exist bounces; a
 * DNS failure defers, and never falls back from MX to A (a failed MX lookup says nothing about
 * whether MX records exist).
 *
 * <p>Enhanced status codes (RFC 3463, RFC 7505) and wording follow Postfix: 5.1.2 for a domain
 * that does not exist, 5.1.10 for a null MX, 5.4.4 for a domain with no host to deliver to, 4.4.3
 * for a DNS failure.
 */
final class MailRouter {

  private final DnsResolver dns;
  private final DnsResolverOptions options;

  MailRouter(DnsResolver dns, DnsResolverOptions options) {
    this.dns = dns;
    this.options = options;
  }

  Future<MailRoute> route(String domain) {
    if (domain != null && domain.startsWith("[")) {
      return Future.succeededFuture(addressLiteral(domain));
    }
    String name;
    try {
      name = DnsNames.canonical(domain);
    } catch (IllegalArgumentException e) {
      return Future.succeededFuture(new Permanent(String.valueOf(domain), "5.1.2",
          "Bad destination domain syntax: " + e.getMessage()));
    }
    return dns.mx(name).compose(answer -> viaMx(name, answer));
  }

  private Future<MailRoute> viaMx(String domain, DnsAnswer<MxRecord> answer) {
    if (answer instanceof DnsAnswer.Found<MxRecord> found) {
      return viaExchanges(domain, found.records(), found.authenticated());
    }
    if (answer instanceof DnsAnswer.NoRecords<MxRecord> none) {
      return implicitMx(domain, none.authenticated());
    }
    if (answer instanceof DnsAnswer.Unavailable<MxRecord> failed) {
      return Future.succeededFuture(new Temporary(domain, "4.4.3", nameServiceError(domain, "MX", failed.reason())));
    }
    return Future.succeededFuture(new Permanent(domain, "5.1.2", hostNotFound(domain, "MX")));
  }

  /** @param authenticated whether the answer that the domain has no MX records was authentic (DNSSEC) */
  private Future<MailRoute> implicitMx(String domain, boolean authenticated) {
    return dns.addresses(domain).map(answer -> {
      if (answer instanceof DnsAnswer.Found<InetAddress> found) {
        MxHost host = new MxHost(domain, 0, addressOrder(found.records()), authenticated && found.authenticated());
        return new Resolved(domain, domain, List.of(host), true, List.of());
      }
      if (answer instanceof DnsAnswer.Unavailable<InetAddress> failed) {
        return new Temporary(domain, "4.4.3", nameServiceError(domain, "A", failed.reason()));
      }
      if (answer instanceof DnsAnswer.NoSuchDomain) {
        return new Permanent(domain, "5.1.2", hostNotFound(domain, "A"));
      }
      return new Permanent(domain, "5.4.4", "Domain " + domain + " has no MX and no A or AAAA records");
    });
  }

  /** @param authenticated whether the MX records were authentic (DNSSEC) */
  private Future<MailRoute> viaExchanges(String domain, List<MxRecord> records, boolean authenticated) {
    List<MxRecord> exchanges = records.stream().filter(r -> !r.pointsToRoot()).toList();
    if (exchanges.isEmpty()) {
      return Future.succeededFuture(new Permanent(domain, "5.1.10",
          "Domain " + domain + " does not accept mail (null MX)"));
    }
    // A null MX beside real ones is a misconfiguration (RFC 7505 section 3); the real ones are used.
    String siteKey = exchanges.stream().map(MxRecord::exchange).distinct().sorted().collect(Collectors.joining(","));
    List<MxRecord> ordered = mxOrder(exchanges);
    List<Future<DnsAnswer<InetAddress>>> lookups = new ArrayList<>(ordered.size());
    for (MxRecord mx : ordered) {
      if (io.netty.util.NetUtil.isValidIpV4Address(mx.exchange())) {
        // "MX 10 192.0.2.1": not a host name (RFC 5321 5.1), but what it means is plain; Postfix takes it as the
        // address, and so does delivery here (whose checks of the address apply as to any other), rather than asking
        // DNS for a host named 192.0.2.1, finding none, and bouncing the domain's mail for good
        lookups.add(Future.succeededFuture(new DnsAnswer.Found<>(mx.exchange(), List.of(
            io.netty.util.NetUtil.createInetAddressFromIpAddressString(mx.exchange())))));
        continue;
      }
      lookups.add(dns.addresses(mx.exchange())
          .recover(e -> Future.succeededFuture(new DnsAnswer.Unavailable<>(mx.exchange(), String.valueOf(e.getMessage())))));
    }
    return Future.all(lookups).map(done -> {
      List<MxHost> hosts = new ArrayList<>();
      List<SkippedHost> skipped = new ArrayList<>();
      boolean anyTemporary = false;
      for (int i = 0; i < ordered.size(); i++) {
        MxRecord mx = ordered.get(i);
        DnsAnswer<InetAddress> answer = lookups.get(i).result();
        if (answer instanceof DnsAnswer.Found<InetAddress> found) {
          hosts.add(new MxHost(mx.exchange(), mx.preference(), addressOrder(found.records()),
              authenticated && found.authenticated()));
        } else if (answer instanceof DnsAnswer.Unavailable<InetAddress> failed) {
          anyTemporary = true;
          skipped.add(new SkippedHost(mx.exchange(), mx.preference(), failed.reason() + ", try again"));
        } else if (answer instanceof DnsAnswer.NoSuchDomain) {
          skipped.add(new SkippedHost(mx.exchange(), mx.preference(), "host not found"));
        } else {
          skipped.add(new SkippedHost(mx.exchange(), mx.preference(), "no A or AAAA records"));
        }
      }
      if (!hosts.isEmpty()) {
        return new Resolved(domain, siteKey, hosts, false, skipped);
      }
      String why = skipped.stream().map(s -> s.name() + " (" + s.reason() + ")").collect(Collectors.joining(", "));
      return anyTemporary
          ? new Temporary(domain, "4.4.3", "No MX host of " + domain + " could be resolved: " + why)
          : new Permanent(domain, "5.4.4", "No MX host of " + domain + " has an address: " + why);
    });
  }

  /** By preference, equal preferences shuffled, each exchange once (its best preference), capped. */
  private List<MxRecord> mxOrder(List<MxRecord> exchanges) {
    Map<String, MxRecord> best = new LinkedHashMap<>();
    for (MxRecord mx : exchanges) {
      best.merge(mx.exchange(), mx, (a, b) -> a.preference() <= b.preference() ? a : b);
    }
    List<MxRecord> ordered = new ArrayList<>(best.values());
    Collections.shuffle(ordered, ThreadLocalRandom.current());
    ordered.sort(Comparator.comparingInt(MxRecord::preference)); // stable: ties keep the shuffled order
    return ordered.size() > options.maxMxHosts() ? List.copyOf(ordered.subList(0, options.maxMxHosts())) : ordered;
  }

  /** IPv4 before IPv6 (IPv6 egress is often missing or has no reverse DNS); each family shuffled; capped. */
  private List<InetAddress> addressOrder(List<InetAddress> addresses) {
    List<InetAddress> v4 = new ArrayList<>();
    List<InetAddress> v6 = new ArrayList<>();
    for (InetAddress address : addresses) {
      (address instanceof Inet4Address ? v4 : v6).add(address);
    }
    Collections.shuffle(v4, ThreadLocalRandom.current());
    Collections.shuffle(v6, ThreadLocalRandom.current());
    v4.addAll(v6);
    return v4.size() > options.maxAddressesPerHost() ? v4.subList(0, options.maxAddressesPerHost()) : v4;
  }

  /** {@code [192.0.2.1]} or {@code [IPv6:2001:db8::1]} (RFC 5321 section 4.1.3): no DNS at all. */
  private static MailRoute addressLiteral(String literal) {
    String inside = literal.endsWith("]") ? literal.substring(1, literal.length() - 1) : "";
    boolean v6 = inside.regionMatches(true, 0, "IPv6:", 0, 5);
    String text = v6 ? inside.substring(5) : inside;
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(text);
    if (bytes == null || (bytes.length == 16) != v6) {
      return new Permanent(literal, "5.1.2", "Bad destination address literal " + literal);
    }
    try {
      InetAddress address = InetAddress.getByAddress(text, bytes);
      String key = literal.toLowerCase(Locale.ROOT);
      return new Resolved(key, key, List.of(new MxHost(text, 0, List.of(address))), true, List.of());
    } catch (UnknownHostException e) {
      return new Permanent(literal, "5.1.2", "Bad destination address literal " + literal);
    }
  }

  private static String hostNotFound(String name, String type) {
    return "Host or domain name not found. Name service error for name=" + name + " type=" + type + ": Host not found";
  }

  private static String nameServiceError(String name, String type, String reason) {
    return "Host or domain name not found. Name service error for name=" + name + " type=" + type + ": " + reason
        + ", try again";
  }
}
