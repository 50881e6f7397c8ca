package io.mailgate.feedback;

import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.identity.Identity;
import io.mailgate.receiving.DmarcVerdict;
import io.mailgate.store.RecommendationStore.Finding;
import io.mailgate.store.RecommendationStore.Sums;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Virtual Deliverability Manager's advisor (SES v2 ListRecommendations): what an account could fix about each of
 * its verified identities. A domain's DKIM (signing on, its record found: {@link Identity#dkimStatus}, which the
 * identity DNS checks keep), the SPF record of its mail's envelope sender domain (its custom MAIL FROM domain, or
 * itself when the node sends with the From domain: no {@code delivery.bounceDomain}), its DMARC policy (none published:
 * HIGH; {@code p=none}, or a {@code pct} under 100: LOW) and, once its DMARC policy is enforced, its BIMI record, at
 * the domain or its organizational domain (LOW; withdrawn while DMARC is not enforced); for every identity, its
 * permanent bounce and complaint rates over the VDM days given (LOW from {@link #BOUNCE_LOW} and
 * {@link #COMPLAINT_LOW}, HIGH from {@link #BOUNCE_HIGH} and {@link #COMPLAINT_HIGH}, SES's levels of review), once
 * there are {@link #MIN_VOLUME} messages to judge by (withdrawn when there are none). A DNS answer that cannot be had
 * says nothing: no finding of that type this time. Ours: no library advises on these.
 */
public final class VdmAdvisor {
  public static final String DKIM = "DKIM";
  public static final String SPF = "SPF";
  public static final String DMARC = "DMARC";
  public static final String BIMI = "BIMI";
  public static final String BOUNCE = "BOUNCE";
  public static final String COMPLAINT = "COMPLAINT";
  static final String HIGH = "HIGH";
  static final String LOW = "LOW";
  /** Sends (bounces) or deliveries to providers with a feedback loop (complaints) a rate is judged by, at least. */
  static final long MIN_VOLUME = 100;
  static final double BOUNCE_LOW = 0.02;
  static final double BOUNCE_HIGH = 0.05;
  static final double COMPLAINT_LOW = 0.001;
  static final double COMPLAINT_HIGH = 0.005;

  private final DnsResolver dns;
  private final DmarcVerdict dmarc;
  private final boolean fromDomainIsMailFrom;

  /** @param bounceDomain {@code delivery.bounceDomain}: empty when mail goes with its From domain as MAIL FROM */
  public VdmAdvisor(DnsResolver dns, String bounceDomain) {
    this.dns = dns;
    this.dmarc = new DmarcVerdict(dns);
    this.fromDomainIsMailFrom = bounceDomain.isBlank();
  }

  /** Domains checked at once: an account of thousands does not send the resolver thousands of queries at once. */
  static final int AT_ONCE = 16;

  /**
   * The findings for {@code identities} (verified ones), in their order, {@code sums} by identity in lower case over
   * {@code days}: the rates at once, the domains' DNS records {@link #AT_ONCE} domains at a time.
   */
  public Future<List<Finding>> advise(List<Identity> identities, Map<String, Sums> sums, int days) {
    List<List<Finding>> each = new ArrayList<>(identities.size());
    List<Integer> domains = new ArrayList<>();
    for (Identity i : identities) {
      List<Finding> found = new ArrayList<>();
      rates(i.name(), sums.get(i.name().toLowerCase(Locale.ROOT)), days, found);
      if (i.isDomain()) {
        domains.add(each.size());
      }
      each.add(found);
    }
    Promise<Void> checked = Promise.promise();
    int[] next = {0};
    int[] working = {Math.min(AT_ONCE, domains.size())};
    if (working[0] == 0) {
      checked.complete();
    }
    for (int w = working[0]; w > 0; w--) {
      check(identities, domains, each, next, working, checked);
    }
    return checked.future().map(v -> {
      List<Finding> out = new ArrayList<>();
      each.forEach(out::addAll);
      return out;
    });
  }

  /**
   * One of the workers checking the domains ({@code next}: the next to take): a loop over the answers at hand (cached
   * ones), a callback for the others, so that a thousand cached answers are no thousand frames deep. The last worker
   * to run out completes {@code checked}.
   */
  private void check(List<Identity> identities, List<Integer> domains, List<List<Finding>> each, int[] next,
      int[] working, Promise<Void> checked) {
    while (next[0] < domains.size()) {
      int at = domains.get(next[0]++);
      Future<List<Finding>> f = domain(identities.get(at));
      if (!f.isComplete()) {
        f.onComplete(ar -> {
          each.get(at).addAll(ar.succeeded() ? ar.result() : List.of());
          check(identities, domains, each, next, working, checked);
        });
        return;
      }
      each.get(at).addAll(f.succeeded() ? f.result() : List.of());
    }
    if (--working[0] == 0) {
      checked.complete();
    }
  }

  /**
   * An identity's bounce and complaint findings, {@code s} its sums over {@code days} (null: none): withdrawn when it
   * sent nothing to judge by, none (as it was) under {@link #MIN_VOLUME} messages. A description says which level
   * the rate reached, not the live figures: it changes, and LastUpdatedTimestamp with it, when the level does.
   */
  static void rates(String identity, Sums s, int days, List<Finding> found) {
    judge(identity, BOUNCES, s == null ? 0 : s.permanentBounce(), s == null ? 0 : s.send(), "of the mail sent from "
        + identity + " over the last " + days + " days bounced permanently: remove the addresses that bounce, and "
        + "send only to recipients who asked for it", found);
    judge(identity, COMPLAINTS, s == null ? 0 : s.complaint(), s == null ? 0 : s.deliveryComplaint(), "of the mail "
        + "from " + identity + " delivered to mailbox providers with a feedback loop over the last " + days
        + " days was reported as spam: send only what recipients asked for, and make unsubscribing easy", found);
  }

  /** A kind of rate: its recommendation's type, and the levels (and how they read) from which it is LOW and HIGH. */
  record Rate(String type, double low, double high, String lowText, String highText) {
  }

  static final Rate BOUNCES = new Rate(BOUNCE, BOUNCE_LOW, BOUNCE_HIGH, "2 %", "5 %");
  static final Rate COMPLAINTS = new Rate(COMPLAINT, COMPLAINT_LOW, COMPLAINT_HIGH, "0.1 %", "0.5 %");

  /** {@code count} out of {@code of} judged as {@code rate}: {@code what} says what the count is of and the advice. */
  private static void judge(String identity, Rate rate, long count, long of, String what, List<Finding> found) {
    if (of == 0) {
      found.add(Finding.withdrawn(identity, rate.type()));
    } else if (of >= MIN_VOLUME) {
      double r = (double) count / of;
      boolean high = r >= rate.high();
      found.add(r < rate.low() ? Finding.fine(identity, rate.type())
          : new Finding(identity, rate.type(), (high ? rate.highText() : rate.lowText()) + " or more " + what + " ("
              + (high ? "at " + rate.highText() + " and above, SES reviews an account"
                  : "keep it under " + rate.lowText()) + ").", high ? HIGH : LOW));
    }
  }

  /** A domain identity's DKIM, SPF, DMARC and BIMI findings. */
  private Future<List<Finding>> domain(Identity i) {
    String d = i.name();
    List<Finding> found = new ArrayList<>();
    if (!i.dkimSigningEnabled()) {
      found.add(new Finding(d, DKIM, "DKIM signing is turned off for " + d + ": its mail goes unsigned, and a "
          + "receiver checking DMARC cannot tie it to the domain. Turn it on (PutEmailIdentityDkimAttributes).", HIGH));
    } else if (i.dkimStatus() != Identity.Status.SUCCESS) {
      found.add(new Finding(d, DKIM, "The DKIM record of " + d + " is not found in DNS (DKIM status "
          + i.dkimStatus() + "): publish the record GetEmailIdentity gives, so that receivers can verify its mail's "
          + "signatures.", HIGH));
    } else {
      found.add(Finding.fine(d, DKIM));
    }
    String mailFrom = i.mailFromDomain() != null && !i.mailFromDomain().isBlank() ? i.mailFromDomain()
        : fromDomainIsMailFrom ? d : null;
    Future<Finding> spf = mailFrom == null ? Future.succeededFuture(Finding.fine(d, SPF)) : spf(d, mailFrom);
    Future<List<Finding>> policy = dmarc.policyOf(d).otherwise((DmarcVerdict.Published) null).compose(p -> {
      List<Finding> out = new ArrayList<>();
      if (p == null) {
        return Future.succeededFuture(out); // DNS could not say
      }
      if (p.policy().isEmpty()) {
        out.add(new Finding(d, DMARC, d + " publishes no DMARC policy (a TXT record v=DMARC1 at _dmarc." + d
            + "): receivers cannot tell what to do with mail that claims to be from it and fails authentication, "
            + "and some take less of its mail. Publish one, p=none at first with rua for reports.", HIGH));
      } else if (p.policy().equals("none")) {
        out.add(new Finding(d, DMARC, "The DMARC policy of " + d + " is p=none: mail that claims to be from it and "
            + "fails authentication is delivered all the same. Once its own mail passes, move to p=quarantine, then "
            + "p=reject.", LOW));
      } else if (!p.enforced()) {
        out.add(new Finding(d, DMARC, "The DMARC policy of " + d + " (p=" + p.policy() + ") applies to "
            + p.pct() + " % of the mail that fails authentication (pct=" + p.pct() + "): the rest is delivered "
            + "all the same. Raise pct to 100 once its own mail passes.", LOW));
      } else {
        out.add(Finding.fine(d, DMARC));
        return bimi(d).map(b -> {
          if (b != null) {
            out.add(b);
          }
          return out;
        });
      }
      out.add(Finding.withdrawn(d, BIMI)); // BIMI asks for an enforced DMARC policy first: the DMARC finding says so
      return Future.succeededFuture(out);
    });
    return Future.join(spf, policy).transform(done -> {
      if (spf.succeeded() && spf.result() != null) {
        found.add(spf.result());
      }
      if (policy.succeeded()) {
        found.addAll(policy.result());
      }
      return Future.succeededFuture(found);
    });
  }

  /** The SPF finding of the domain {@code d}'s mail goes with as MAIL FROM; null when DNS could not say. */
  private Future<Finding> spf(String d, String mailFrom) {
    return dns.txt(mailFrom).map(answer -> {
      if (answer instanceof DnsAnswer.Unavailable) {
        return null;
      }
      long records = answer.records().stream().filter(VdmAdvisor::isSpf).count();
      if (records == 1) {
        return Finding.fine(d, SPF);
      }
      return new Finding(d, SPF, records == 0
          ? mailFrom + ", the envelope sender (MAIL FROM) domain of " + d + "'s mail, publishes no SPF record "
              + "(v=spf1): receivers cannot tell that this service may send for it. Publish one naming the sending "
              + "addresses."
          : mailFrom + ", the envelope sender (MAIL FROM) domain of " + d + "'s mail, publishes " + records
              + " SPF records: receivers take none of them (RFC 7208 4.5). Merge them into one.", HIGH);
    }).otherwise((Finding) null);
  }

  /**
   * The BIMI finding of a domain whose DMARC policy is enforced: its record at {@code default._bimi.<domain>}, else at
   * its organizational domain's (as receivers look it up); null when DNS could not say.
   */
  private Future<Finding> bimi(String d) {
    String org = DmarcVerdict.organizationalDomain(d);
    return hasBimi(d).compose(here -> Boolean.FALSE.equals(here) && !org.equals(d) ? hasBimi(org)
            : Future.succeededFuture(here))
        .map(found -> found == null ? null : found ? Finding.fine(d, BIMI)
            : new Finding(d, BIMI, d + " publishes no BIMI record (a TXT record v=BIMI1 at default._bimi." + d
                + (org.equals(d) ? "" : " or default._bimi." + org) + "): mailbox providers that show senders' "
                + "logos show none beside its mail.", LOW));
  }

  /** Whether {@code default._bimi.<domain>} has a BIMI record; null when DNS could not say. */
  private Future<Boolean> hasBimi(String domain) {
    return dns.txt("default._bimi." + domain).map(answer -> answer instanceof DnsAnswer.Unavailable ? null
        : answer.records().stream().anyMatch(r -> r.strip().toLowerCase(Locale.ROOT).startsWith("v=bimi1")))
        .otherwise((Boolean) null);
  }

  static boolean isSpf(String txt) {
    String t = txt.strip().toLowerCase(Locale.ROOT);
    return t.equals("v=spf1") || t.startsWith("v=spf1 ");
  }
}
