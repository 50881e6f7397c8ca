package io.mailgate.delivery;

import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.MailRoute;
import io.mailgate.delivery.dns.MxHost;
import io.mailgate.delivery.dns.TlsaRecord;
import io.vertx.core.Future;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
   * others (another domain with the same MX hosts may allow others, or none under a policy). {@code dane}, when not
   * null: the hosts among them that are DANE hosts, and those left out because their TLSA records could not be looked
   * up (their names, those with a {@code !}, sorted, comma-separated), whose connections are kept apart too: the same
   * MX host may be a DANE host, or one not to connect to, for a domain whose MX records are signed and not for
   * another's, whose pool has its connections and lists it among its endpoints. {@code reported}, when not null: the
   * MTA-STS policy (its text) the sessions are reported under (TLS reporting), whose connections are kept apart too,
   * so that a session is reported under the policy it was checked against, a testing one's included.
   */
  record Go(String siteKey, List<SmtpConnection.Endpoint> endpoints, List<String> mxHosts, boolean relay,
      String mtaSts, String dane, String reported) implements Route {
    Go(String siteKey, List<SmtpConnection.Endpoint> endpoints, List<String> mxHosts, boolean relay) {
      this(siteKey, endpoints, mxHosts, relay, null, null, null);
    }
  }

  /** No delivery possible now (DNS said so): the attempt's result. */
  record Fail(AttemptResult result) implements Route {}

  private final DnsResolver dns;
  private final int directPort;

  private final boolean allowPrivateAddresses;
  /** Recipient domains' MTA-STS policies; null: not honoured ({@code delivery.mtaSts} off). */
  private final MtaSts mtaSts;
  /** Whether MX hosts' TLSA records are looked for ({@code delivery.dane}). */
  private final boolean dane;
  /** The node's TLS reporting counts; null: {@code tlsRpt.enabled} off. */
  private final TlsReportCounts reports;

  /**
   * @param mtaSts recipient domains' MTA-STS policies, or null not to honour them
   * @param dane whether to look for the TLSA records of MX hosts the way to which is authentic
   * @param reports where sessions are counted for TLS reporting (RFC 8460), or null not to count them
   */
  Router(DnsResolver dns, int directPort, boolean allowPrivateAddresses, MtaSts mtaSts, boolean dane,
      TlsReportCounts reports) {
    this.dns = dns;
    this.directPort = directPort;
    this.allowPrivateAddresses = allowPrivateAddresses;
    this.mtaSts = mtaSts;
    this.dane = dane;
    this.reports = reports;
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
    if (settings.tlsReport()) {
      // a TLS report goes despite any TLS failure (RFC 8460 3): no policy or TLSA records, its sessions not counted
      return dns.route(domain).map(route -> route(domain, route, null, null, Map.of(), false));
    }
    // the policy is looked up beside the MX records, not after them (a cached one answers at once), and the TLSA
    // records beside the policy, once the MX hosts are known
    Future<MtaStsPolicy> policy = mtaSts == null ? Future.succeededFuture() : mtaSts.policy(domain);
    return dns.route(domain).compose(route -> {
      Future<Map<String, DnsAnswer<TlsaRecord>>> tlsa = tlsa(route);
      return policy.compose(p -> tlsa.map(t -> route(domain, route,
          p != null && p.mode() == MtaStsPolicy.Mode.ENFORCE ? p : null,
          p != null && p.mode() == MtaStsPolicy.Mode.TESTING ? p : null, t, true)));
    });
  }

  /**
   * The TLSA answers of the route's hosts the way to which is authentic (RFC 7672 2.2: DNSSEC-validated MX records
   * and addresses), by host name; none without {@code delivery.dane}. Looked up together, each answer cached for its
   * TTL.
   */
  private Future<Map<String, DnsAnswer<TlsaRecord>>> tlsa(MailRoute route) {
    if (!dane || !(route instanceof MailRoute.Resolved r) || r.hosts().stream().noneMatch(MxHost::authenticated)) {
      return NO_TLSA;
    }
    Map<String, Future<DnsAnswer<TlsaRecord>>> lookups = new LinkedHashMap<>();
    for (MxHost host : r.hosts()) {
      if (host.authenticated()) {
        lookups.put(host.name(), dns.tlsa(host.name(), directPort).recover(e -> Future.succeededFuture(
            new DnsAnswer.Unavailable<>(host.name(), String.valueOf(e.getMessage())))));
      }
    }
    return Future.all(new ArrayList<>(lookups.values())).map(done -> {
      Map<String, DnsAnswer<TlsaRecord>> answers = new HashMap<>();
      lookups.forEach((host, answer) -> answers.put(host, answer.result()));
      return answers;
    });
  }

  private static final Future<Map<String, DnsAnswer<TlsaRecord>>> NO_TLSA = Future.succeededFuture(Map.of());

  /**
   * Where the recipient's mail goes by the DNS's answer for its domain, the enforced MTA-STS policy or null, the
   * testing one or null (only reported on), and the TLSA answers of its authentic hosts. A host with usable TLSA
   * records authentic in DNS is a DANE host (RFC 7672), whatever an MTA-STS policy says of it (RFC 8461 2); one whose
   * authentic records are all unusable gets mail over TLS only, unauthenticated (RFC 7672 2.2), unless an enforced
   * policy asks for TLS verified its way; one whose TLSA records could not be looked up is not connected to (RFC 7672
   * 2.2: that may be an attacker hiding them), and if it was the only one the recipient waits. {@code counted}: whether
   * the sessions are counted for TLS reporting (those of a TLS report's mail are not).
   */
  private Route route(String domain, MailRoute route, MtaStsPolicy enforced, MtaStsPolicy testing,
      Map<String, DnsAnswer<TlsaRecord>> tlsa, boolean counted) {
    TlsReportCounts counts = counted ? reports : null;
    if (route instanceof MailRoute.Resolved r) {
      List<SmtpConnection.Endpoint> endpoints = new ArrayList<>();
      List<String> names = new ArrayList<>();
      List<String> refused = new ArrayList<>();
      List<String> outsidePolicy = new ArrayList<>();
      List<String> unknownTlsa = new ArrayList<>();
      java.util.TreeSet<String> daneHosts = new java.util.TreeSet<>();
      List<String> all = new ArrayList<>();
      // the policy the sessions with a host are reported under (RFC 8460 4.4): a testing one's sessions are checked
      // as an enforced one's would be, and reported, the mail going as without a policy
      MtaStsPolicy reported = enforced != null ? enforced : testing;
      TlsReportCounts.Policy sts = counts == null ? null : reported != null ? TlsReportCounts.Policy.sts(domain,
          reported) : TlsReportCounts.Policy.none(domain);
      for (MxHost host : r.hosts()) {
        all.add(host.name());
        DnsAnswer<TlsaRecord> answer = tlsa.get(host.name());
        if (answer instanceof DnsAnswer.Unavailable<TlsaRecord> failed) {
          unknownTlsa.add(host.name() + " (" + failed.reason() + ")");
          daneHosts.add("!" + host.name()); // left out: a pool that has it must not take this mail
          continue;
        }
        // authentic TLSA records: usable ones authenticate the host; all unusable, they still promise TLS (RFC 7672
        // 2.2), which an enforced MTA-STS policy's verified TLS gives too and more
        List<TlsaRecord> records = answer != null && answer.authenticated() ? answer.records() : List.of();
        List<TlsaRecord> dane = Dane.usable(records).isEmpty() && enforced != null ? List.of() : records;
        if (dane.isEmpty() && enforced != null && !enforced.matches(host.name())) {
          outsidePolicy.add(host.name());
          continue;
        }
        names.add(host.name());
        if (!dane.isEmpty()) {
          daneHosts.add(host.name());
        }
        for (InetAddress address : host.addresses()) {
          if (!allowPrivateAddresses && !io.mailgate.NetAddresses.isPublic(address)) {
            refused.add(host.name() + "[" + address.getHostAddress() + "]");
            continue;
          }
          String ip = address.getHostAddress();
          endpoints.add(!dane.isEmpty() ? SmtpConnection.Endpoint.mxUnderDane(host.name(), ip, directPort, dane,
                  counts == null ? null : TlsReportCounts.Policy.tlsa(domain, host.name(), dane))
              : enforced != null ? SmtpConnection.Endpoint.mxUnderMtaSts(host.name(), ip, directPort, sts)
              : SmtpConnection.Endpoint.mx(host.name(), ip, directPort, sts));
        }
      }
      if (names.isEmpty() && !unknownTlsa.isEmpty() && outsidePolicy.isEmpty()) {
        if (counts != null) {
          for (MxHost host : r.hosts()) {
            if (tlsa.get(host.name()) instanceof DnsAnswer.Unavailable<TlsaRecord> failed) {
              counts.failure(TlsReportCounts.Policy.tlsa(domain, host.name(), List.of()),
                  TlsReportCounts.DNSSEC_INVALID, "", host.name(), "", failed.reason());
            }
          }
        }
        // RFC 7672 2.2: a DNSSEC-signed host whose TLSA records cannot be had may be one an attacker is hiding them
        // for; not delivered to in plain text or unauthenticated, the recipient waits for the DNS to answer
        return new Fail(new AttemptResult.Failed("the TLSA records of " + domain + "'s MX hosts could not be looked "
            + "up: " + String.join(", ", unknownTlsa) + " (their MX records and addresses are DNSSEC-signed: DANE "
            + "may apply)", null));
      }
      if (names.isEmpty()) {
        // RFC 8461 5: no MX host the enforced policy names; a soft failure (a policy or MX records being changed
        // catch up within the retries), never a bounce
        if (counts != null) {
          counts.failure(sts, TlsReportCounts.VALIDATION_FAILURE, "", String.join(",", outsidePolicy), "",
              "no MX host is one the policy allows");
        }
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
          enforced == null ? null : String.join(",", new java.util.TreeSet<>(names)),
          daneHosts.isEmpty() ? null : String.join(",", daneHosts),
          reported == null || counts == null ? null : String.join("\n", sts.strings()));
    }
    MailRoute.Failure f = (MailRoute.Failure) route;
    if (f instanceof MailRoute.Permanent) {
      return new Fail(new AttemptResult.Rejected(new SmtpResponse(550, f.status(), f.reason()), null));
    }
    return new Fail(new AttemptResult.Failed(f.diagnostic(), null));
  }
}
