package io.mailgate.delivery.dns;

import java.util.List;

/**
 * Where mail for a recipient domain goes (RFC 5321 section 5.1), or why it cannot go anywhere.
 * A {@link Failure} carries an enhanced status code and a reason in the words Postfix uses, so the
 * delivery engine can put {@link Failure#diagnostic()} into a bounce or a DeliveryDelay event.
 */
public sealed interface MailRoute permits MailRoute.Resolved, MailRoute.Failure {

  /** The recipient domain, canonical (A-labels, lower case). */
  String domain();

  /**
   * Hosts to try in order: MX preference, ties in random order, capped by
   * {@link DnsResolverOptions#maxMxHosts()}.
   *
   * @param siteKey the same for every domain served by the same set of MX hosts (their sorted
   *     names joined with commas; the domain itself for an implicit MX or an address literal), so
   *     traffic can be shaped per site rather than per domain
   * @param implicitMx true when the domain has no MX and its own A/AAAA records are used
   * @param skipped MX hosts left out because their addresses could not be found, with why
   */
  record Resolved(String domain, String siteKey, List<MxHost> hosts, boolean implicitMx, List<SkippedHost> skipped)
      implements MailRoute {
    public Resolved {
      hosts = List.copyOf(hosts);
      skipped = List.copyOf(skipped);
      if (hosts.isEmpty()) {
        throw new IllegalArgumentException("a resolved route needs at least one host");
      }
    }
  }

  /** An MX host that had no usable address. */
  record SkippedHost(String name, int preference, String reason) {}

  /** No host to deliver to. */
  sealed interface Failure extends MailRoute permits Permanent, Temporary {
    /** RFC 3463 enhanced status code, e.g. {@code 5.1.2} or {@code 4.4.3}. */
    String status();

    /** What went wrong, for people. */
    String reason();

    /** Status and reason together, as a diagnostic code's text. */
    default String diagnostic() {
      return status() + " " + reason();
    }
  }

  /** DNS said this domain takes no mail: no such domain, null MX, no host with an address. Bounce. */
  record Permanent(String domain, String status, String reason) implements Failure {}

  /** DNS could not answer now (server failure, timeout): retry the delivery later. */
  record Temporary(String domain, String status, String reason) implements Failure {}
}
