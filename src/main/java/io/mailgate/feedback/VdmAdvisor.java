package io.mailgate.feedback;

import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.identity.Identity;
import io.mailgate.receiving.DmarcVerdict;
import io.mailgate.store.RecommendationStore.Finding;
import io.mailgate.store.RecommendationStore.Sums;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Virtual Deliverability Manager's advisor (SES v2 ListRecommendations): what an account could fix about each of
 * its verified identities. A domain's DKIM (signing on, its record found: {@link Identity#dkimStatus}, which the
 * identity DNS checks keep), the SPF record of its mail's envelope sender domain (its custom MAIL FROM domain, or
 * itself when the node sends with the From domain: no {@code delivery.bounceDomain}), its DMARC policy (none published:
 * HIGH; {@code p=none}: LOW) and, once its DMARC policy is enforced, its BIMI record (LOW); for every identity, its
 * permanent bounce and complaint rates over the VDM days given (LOW from {@link #BOUNCE_LOW} and
 * {@link #COMPLAINT_LOW}, HIGH from {@link #BOUNCE_HIGH} and {@link #COMPLAINT_HIGH}, SES's levels of review), once
 * there are {@link #MIN_VOLUME} messages to judge by. A DNS answer that cannot be had says nothing: no finding of that
 * type this time. Ours: no library advises on these.
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

  /** Identities checked at once: an account of thousands does not send the resolver thousands of queries at once. */
  static final int AT_ONCE = 16;

  /**
   * The findings for {@code identities} (verified ones), {@code sums} by identity in lower case over {@code days}:
   * {@link #AT_ONCE} identities at a time.
   */
  public Future<List<Finding>> advise(List<Identity> identities, Map<String, Sums> sums, int days) {
    return advise(identities, 0, sums, days, new ArrayList<>());
  }

  private Future<List<Finding>> advise(List<Identity> identities, int from, Map<String, Sums> sums, int days,
      List<Finding> out) {
    if (from >= identities.size()) {
      return Future.succeededFuture(out);
    }
    List<Identity> these = identities.subList(from, Math.min(identities.size(), from + AT_ONCE));
    List<Future<List<Finding>>> each = new ArrayList<>(these.size());
    for (Identity i : these) {
      List<Finding> found = new ArrayList<>();
      rates(i.name(), sums.get(i.name().toLowerCase(Locale.ROOT)), days, found);
      each.add(i.isDomain() ? domain(i).map(more -> {
        found.addAll(more);
        return found;
      }) : Future.succeededFuture(found));
    }
    return Future.all(new ArrayList<>(each)).compose(done -> {
      each.forEach(f -> out.addAll(f.result()));
      return advise(identities, from + AT_ONCE, sums, days, out);
    });
  }

  static void rates(String identity, Sums s, int days, List<Finding> found) {
    long sent = s == null ? 0 : s.send();
    long fbl = s == null ? 0 : s.deliveryComplaint();
    double bounces = sent == 0 ? 0 : (double) s.permanentBounce() / sent;
    double complaints = fbl == 0 ? 0 : (double) s.complaint() / fbl;
    found.add(sent < MIN_VOLUME || bounces < BOUNCE_LOW ? Finding.fine(identity, BOUNCE)
        : new Finding(identity, BOUNCE, String.format(Locale.ROOT, "%.1f %% of the mail sent from %s over the last "
            + "%d days bounced permanently (%d of %d): remove the addresses that bounce, and send only to recipients "
            + "who asked for it (%s).", bounces * 100, identity, days, s.permanentBounce(), sent,
            bounces >= BOUNCE_HIGH ? "at 5 % and above, SES reviews an account" : "keep it under 2 %"),
            bounces >= BOUNCE_HIGH ? HIGH : LOW));
    found.add(fbl < MIN_VOLUME || complaints < COMPLAINT_LOW ? Finding.fine(identity, COMPLAINT)
        : new Finding(identity, COMPLAINT, String.format(Locale.ROOT, "%.2f %% of the mail from %s delivered to "
            + "mailbox providers with a feedback loop over the last %d days was reported as spam (%d of %d): send "
            + "only what recipients asked for, and make unsubscribing easy (%s).", complaints * 100, identity, days,
            s.complaint(), fbl, complaints >= COMPLAINT_HIGH ? "at 0.5 % and above, SES reviews an account"
                : "keep it under 0.1 %"),
            complaints >= COMPLAINT_HIGH ? HIGH : LOW));
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
    Future<List<Finding>> policy = dmarc.policyOf(d).otherwise((String) null).compose(p -> {
      List<Finding> out = new ArrayList<>();
      if (p == null) {
        return Future.succeededFuture(out); // DNS could not say
      }
      if (p.isEmpty()) {
        out.add(new Finding(d, DMARC, d + " publishes no DMARC policy (a TXT record v=DMARC1 at _dmarc." + d
            + "): receivers cannot tell what to do with mail that claims to be from it and fails authentication, "
            + "and some take less of its mail. Publish one, p=none at first with rua for reports.", HIGH));
        return Future.succeededFuture(out);
      }
      if (p.equals("none")) {
        out.add(new Finding(d, DMARC, "The DMARC policy of " + d + " is p=none: mail that claims to be from it and "
            + "fails authentication is delivered all the same. Once its own mail passes, move to p=quarantine, then "
            + "p=reject.", LOW));
        return Future.succeededFuture(out);
      }
      out.add(Finding.fine(d, DMARC));
      return bimi(d).map(b -> {
        if (b != null) {
          out.add(b);
        }
        return out;
      });
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

  /** The BIMI finding of a domain whose DMARC policy is enforced; null when DNS could not say. */
  private Future<Finding> bimi(String d) {
    return dns.txt("default._bimi." + d).map(answer -> {
      if (answer instanceof DnsAnswer.Unavailable) {
        return null;
      }
      return answer.records().stream().anyMatch(r -> r.strip().toLowerCase(Locale.ROOT).startsWith("v=bimi1"))
          ? Finding.fine(d, BIMI)
          : new Finding(d, BIMI, d + " publishes no BIMI record (a TXT record v=BIMI1 at default._bimi." + d
              + "): mailbox providers that show senders' logos show none beside its mail.", LOW);
    }).otherwise((Finding) null);
  }

  static boolean isSpf(String txt) {
    String t = txt.strip().toLowerCase(Locale.ROOT);
    return t.equals("v=spf1") || t.startsWith("v=spf1 ");
  }
}
