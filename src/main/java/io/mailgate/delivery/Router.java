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

  /**
   * Connect to these endpoints, best first; {@code mxHosts} name the site for shaping; {@code mtaSts}, when not null:
   * they are the MX hosts an enforced MTA-STS policy allows (their names, sorted, comma-separated), each to be
   * connected to over TLS with a certificate valid for its name. Their connections are kept apart from the site's
   * others (another domain with the same MX hosts may allow others, or none under a policy).
   */
  record Go(String siteKey, List<SmtpConnection.Endpoint> endpoints, List<String> mxHosts, boolean relay,
      String mtaSts) implements Route {
    Go(String siteKey, List<SmtpConnection.Endpoint> endpoints, List<String> mxHosts, boolean relay) {
      this(siteKey, endpoints, mxHosts, relay, null);
    }
  }

  /** No delivery possible now (DNS said so): the attempt's result. */
  record Fail(AttemptResult result) implements Route {}

  private final DnsResolver dns;
  private final int directPort;

  private final boolean allowPrivateAddresses;
  /** Recipient domains' MTA-STS policies; null: not honoured ({@code delivery.mtaSts} off). */
  private final MtaSts mtaSts;

  /** @param mtaSts recipient domains' MTA-STS policies, or null not to honour them */
  Router(DnsResolver dns, int directPort, boolean allowPrivateAddresses, MtaSts mtaSts) {
    this.dns = dns;
    this.directPort = directPort;
    this.allowPrivateAddresses = allowPrivateAddresses;
    this.mtaSts = mtaSts;
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
    // the policy is looked up beside the MX records, not after them (a cached one answers at once)
    Future<MtaStsPolicy> policy = mtaSts == null ? Future.succeededFuture() : mtaSts.policy(domain);
    return dns.route(domain).compose(route -> policy.map(p -> route(domain, route,
        p != null && p.mode() == MtaStsPolicy.Mode.ENFORCE ? p : null)));
  }

  /** Where the recipient's mail goes by the DNS's answer for its domain, and the enforced MTA-STS policy or null. */
  private Route route(String domain, MailRoute route, MtaStsPolicy enforced) {
    if (route instanceof MailRoute.Resolved r) {
      List<SmtpConnection.Endpoint> endpoints = new ArrayList<>();
      List<String> names = new ArrayList<>();
      List<String> refused = new ArrayList<>();
      List<String> outsidePolicy = new ArrayList<>();
      List<String> all = new ArrayList<>();
      for (MxHost host : r.hosts()) {
        all.add(host.name());
        if (enforced != null && !enforced.matches(host.name())) {
          outsidePolicy.add(host.name());
          continue;
        }
        names.add(host.name());
        for (InetAddress address : host.addresses()) {
          if (!allowPrivateAddresses && !io.mailgate.NetAddresses.isPublic(address)) {
            refused.add(host.name() + "[" + address.getHostAddress() + "]");
            continue;
          }
          endpoints.add(enforced != null
              ? SmtpConnection.Endpoint.mxUnderMtaSts(host.name(), address.getHostAddress(), directPort)
              : SmtpConnection.Endpoint.mx(host.name(), address.getHostAddress(), directPort));
        }
      }
      if (names.isEmpty()) {
        // RFC 8461 5: no MX host the enforced policy names; a soft failure (a policy or MX records being changed
        // catch up within the retries), never a bounce
        return new Fail(new AttemptResult.Failed("no MX host of " + domain + " (" + String.join(", ", outsidePolicy)
            + ") is one its MTA-STS policy allows (mx: " + String.join(", ", enforced.mx()) + ")", null));
      }
      if (endpoints.isEmpty() && !refused.isEmpty()) {
        // a soft failure, as a host that refuses connections would be (MX 127.0.0.1 is a common way to say "no
        // mail here"): retried until the maximum delivery time, and never a hard bounce that would suppress the
        // address for everyone because of this node's own policy
        return new Fail(new AttemptResult.Failed("MX hosts of " + domain + " are at non-public addresses, which "
            + "this node does not deliver to: " + String.join(", ", refused), null));
      }
      // the site (its shaping, its limits) is all of its MX hosts, whatever a policy allows of them
      return new Go(r.siteKey(), endpoints, all, false,
          enforced == null ? null : String.join(",", new java.util.TreeSet<>(names)));
    }
    MailRoute.Failure f = (MailRoute.Failure) route;
    if (f instanceof MailRoute.Permanent) {
      return new Fail(new AttemptResult.Rejected(new SmtpResponse(550, f.status(), f.reason()), null));
    }
    return new Fail(new AttemptResult.Failed(f.diagnostic(), null));
  }
}
