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

  Router(DnsResolver dns, int directPort) {
    this.dns = dns;
    this.directPort = directPort;
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
        for (MxHost host : r.hosts()) {
          names.add(host.name());
          for (InetAddress address : host.addresses()) {
            endpoints.add(new SmtpConnection.Endpoint(host.name(), address.getHostAddress(), directPort, false, null, null));
          }
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
