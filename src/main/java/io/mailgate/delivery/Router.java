package io.mailgate.delivery;

import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.MailRoute;
import io.mailgate.delivery.dns.MxHost;
import io.vertx.core.Future;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a recipient's message goes: to the relay (one site), or straight to its domain's MX hosts
 * in preference order (RFC 5321 5.1, with the A/AAAA fallback), grouped into sites by MX set. A
 * domain that cannot receive mail (NXDOMAIN, null MX) is a permanent failure, DNS trouble a
 * temporary one.
 */
final class Router {

  /** Where to go, or why not. */
  sealed interface Route {}

  /** Connect to these endpoints, best first; {@code mxHosts} name the site for shaping. */
  record Go(String siteKey, List<SmtpConnection.Endpoint> endpoints, List<String> mxHosts, boolean relay)
      implements Route {}

  /** No delivery possible now (DNS said so): the attempt's result. */
  record Fail(AttemptResult result) implements Route {}

  private final DnsResolver dns;
  private final int directPort;

  private final boolean allowPrivateAddresses;

  Router(DnsResolver dns, int directPort, boolean allowPrivateAddresses) {
    this.dns = dns;
    this.directPort = directPort;
    this.allowPrivateAddresses = allowPrivateAddresses;
  }

  /**
   * Whether an MX host's address is one the node may connect to on a tenant's say-so: a public unicast address.
   * Loopback, unspecified, link-local, private (RFC 1918), unique-local (fc00::/7), CGNAT (100.64.0.0/10) and
   * multicast addresses would let any sender's DNS (or an address literal) point the node at its own network.
   */
  static boolean isPublic(InetAddress a) {
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
          && !(first == 198 && (second == 18 || second == 19)); // benchmarking, 198.18.0.0/15 (fake-IP proxies)
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
      try {
        return isPublic(InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, 12, 16)));
      } catch (java.net.UnknownHostException e) {
        return false;
      }
    }
    return true;
  }

  Future<Route> route(DeliverySettings settings, String recipient) {
    if (settings.mode() == DeliverySettings.Mode.RELAY) {
      SmtpRoute relay = settings.relay();
      if (relay == null) {
        return Future.succeededFuture(new Fail(new AttemptResult.Failed(
            "delivery mode is relay but no relay.url is configured", null)));
      }
      return Future.succeededFuture(new Go("relay:" + relay.poolKey(), List.of(SmtpConnection.Endpoint.of(relay)),
          List.of(relay.host()), true));
    }
    String domain = recipient.substring(recipient.lastIndexOf('@') + 1);
    return dns.route(domain).map(route -> {
      if (route instanceof MailRoute.Resolved r) {
        List<SmtpConnection.Endpoint> endpoints = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (MxHost host : r.hosts()) {
          names.add(host.name());
          for (InetAddress address : host.addresses()) {
            if (!allowPrivateAddresses && !isPublic(address)) {
              refused.add(host.name() + "[" + address.getHostAddress() + "]");
              continue;
            }
            endpoints.add(new SmtpConnection.Endpoint(host.name(), address.getHostAddress(), directPort, false, null, null));
          }
        }
        if (endpoints.isEmpty() && !refused.isEmpty()) {
          // a soft failure, as a host that refuses connections would be (MX 127.0.0.1 is a common way to say "no
          // mail here"): retried until the maximum delivery time, and never a hard bounce that would suppress the
          // address for everyone because of this node's own policy
          return new Fail(new AttemptResult.Failed("MX hosts of " + domain + " are at non-public addresses, which "
              + "this node does not deliver to: " + String.join(", ", refused), null));
        }
        return new Go(r.siteKey(), endpoints, names, false);
      }
      MailRoute.Failure f = (MailRoute.Failure) route;
      if (f instanceof MailRoute.Permanent) {
        return new Fail(new AttemptResult.Rejected(new SmtpResponse(550, f.status(), f.reason()), null));
      }
      return new Fail(new AttemptResult.Failed(f.diagnostic(), null));
    });
  }
}
