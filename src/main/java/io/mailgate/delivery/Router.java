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
      return first != 0 && !(first == 100 && second >= 64 && second < 128) && first < 240;
    }
    return (b[0] & 0xfe) != 0xfc; // fc00::/7
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
          return new Fail(new AttemptResult.Rejected(new SmtpResponse(550, "5.4.4", "Mail for " + domain
              + " would go to non-public addresses, which this node does not deliver to: " + String.join(", ", refused)),
              null));
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
