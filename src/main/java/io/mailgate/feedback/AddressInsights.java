package io.mailgate.feedback;

import io.mailgate.delivery.Simulator;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.MailRoute;
import io.mailgate.feedback.AddressValidation.DnsVerdict;
import io.mailgate.feedback.AddressValidation.Insights;
import io.mailgate.feedback.AddressValidation.MailboxVerdict;
import io.mailgate.store.SuppressionStore;
import io.vertx.core.Future;

/**
 * An address's validation insights for an account: {@link AddressValidation}'s checks, the domain's mail route from
 * DNS (the resolver delivery uses, its answers cached alike), and what the suppression lists know of the mailbox.
 * Nothing is sent to the domain's servers: a mailbox is known to exist when it complained (an account's COMPLAINT
 * entry), known not to when it hard-bounced (the account's BOUNCE entry, or the global list), and unknown otherwise.
 * The mailbox simulator's addresses are judged as the simulator answers them.
 */
public final class AddressInsights {
  private final AddressValidation validation;
  private final DnsResolver dns;
  private final SuppressionStore suppressions;

  public AddressInsights(AddressValidation validation, DnsResolver dns, SuppressionStore suppressions) {
    this.validation = validation;
    this.dns = dns;
    this.suppressions = suppressions;
  }

  public Future<Insights> of(String accountId, String address) {
    AddressValidation.Candidate c = validation.candidate(address);
    if (c == null) {
      return Future.succeededFuture(AddressValidation.invalidSyntax());
    }
    if (Simulator.handles(c.address())) {
      return Future.succeededFuture(AddressValidation.evaluate(c, DnsVerdict.MX,
          Simulator.accepts(c.address()) ? MailboxVerdict.EXISTS : MailboxVerdict.GONE));
    }
    Future<DnsVerdict> route = route(c);
    Future<MailboxVerdict> mailbox = suppressions.standing(accountId, c.address()).map(s -> s.global()
        || "BOUNCE".equals(s.accountReason()) ? MailboxVerdict.GONE
        : "COMPLAINT".equals(s.accountReason()) ? MailboxVerdict.EXISTS : MailboxVerdict.UNKNOWN);
    return Future.all(route, mailbox).map(both -> AddressValidation.evaluate(c, route.result(), mailbox.result()));
  }

  /**
   * The overall verdict for an address delivery is about to send to, which is on no suppression list (delivery asked
   * already: nothing is known of its mailbox), or null when there is none to act on: the address is one the API's
   * parser does not take (an internationalized local part; SMTP submission offers no SMTPUTF8, so none is sent today):
   * it was accepted, its syntax is not for validation to refuse afterwards. When DNS cannot answer now (not the domain's fault), the
   * address is judged as if its domain had an MX, the best DNS could say: held back only for what already puts it
   * below the threshold (a disposable domain, a role address under HIGH); otherwise delivery goes on, and defers where
   * it needs that DNS, as it would without validation.
   */
  public Future<AddressValidation.Verdict> beforeDelivery(String address) {
    AddressValidation.Candidate c;
    try {
      c = validation.candidate(address);
    } catch (RuntimeException e) { // a bug judging it must not hold a recipient in retries for ever: no verdict
      return Future.succeededFuture();
    }
    if (c == null) {
      return Future.succeededFuture();
    }
    return route(c).map(route -> AddressValidation.evaluate(c, route == DnsVerdict.UNAVAILABLE ? DnsVerdict.MX : route,
        MailboxVerdict.UNKNOWN).valid());
  }

  /** What DNS says of the domain; a resolver failure (closing, a bug) says nothing of it: it could not answer now. */
  private Future<DnsVerdict> route(AddressValidation.Candidate c) {
    return dns.route(c.domain()).map(AddressInsights::verdict).otherwise(DnsVerdict.UNAVAILABLE);
  }

  static DnsVerdict verdict(MailRoute route) {
    if (route instanceof MailRoute.Resolved r) {
      return r.implicitMx() ? DnsVerdict.IMPLICIT_MX : DnsVerdict.MX;
    }
    return route instanceof MailRoute.Permanent ? DnsVerdict.NO_MAIL : DnsVerdict.UNAVAILABLE;
  }
}
