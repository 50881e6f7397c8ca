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
            if (!allowPrivateAddresses && !io.mailgate.NetAddresses.isPublic(address)) {
              refused.add(host.name() + "[" + address.getHostAddress() + "]");
              continue;
            }
            endpoints.add(SmtpConnection.Endpoint.mx(host.name(), address.getHostAddress(), directPort));
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
