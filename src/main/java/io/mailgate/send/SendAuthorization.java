package io.mailgate.send;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.identity.Identity;
import io.mailgate.identity.IdentityArn;
import io.mailgate.identity.IdentityDirectory;
import io.mailgate.identity.IdentityNames;
import io.mailgate.identity.IdentityPolicies;
import io.mailgate.identity.IdentityPolicy;
import io.mailgate.send.dkim.DkimKey;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Who may send what, as SES decides it: the From address must be a verified identity (the address
 * or its domain); an account in the sandbox may only send to verified identities and the mailbox
 * simulator. Also decides the DKIM key that signs and the envelope sender.
 *
 * <p>Sending authorization: an address the send names another account's identity ARN for is not the caller's to
 * verify; that identity must be verified by its owner and its policies must let the caller send ({@link
 * IdentityPolicies}), or the send is AccessDenied. A From address sent this way is signed with the owner's DKIM key
 * and uses the owner's MAIL FROM domain, but not the owner's default configuration set: the message is the caller's
 * (its limits, its events). A send that names no ARN, or only the caller's own identities, is decided as before.
 */
public final class SendAuthorization {
  public static final String SIMULATOR_DOMAIN = "simulator.amazonses.com";

  /**
   * How an authorized message is sent: signed with this key (or not); from this envelope sender,
   * or, with a {@code verpDomain}, from a VERP address on that domain for each recipient.
   */
  public record SenderProfile(DkimKey dkimKey, String envelopeFrom, String verpDomain, String defaultConfigurationSet) {
    public SenderProfile(DkimKey dkimKey, String envelopeFrom, String verpDomain) {
      this(dkimKey, envelopeFrom, verpDomain, null);
    }
  }

  /** An address of the send and the identity ARN it names for it. */
  public record NamedIdentity(Mailbox address, IdentityArn arn) {}

  /**
   * The sending authorization a send asks for: the policy action it is checked as, the identities it names for its
   * addresses (each checked to cover its address), and its feedback address (the Return-Path, or the From address).
   */
  public record Delegation(String action, List<NamedIdentity> named, String feedbackAddress) {}

  private final IdentityDirectory identities;
  private final IdentityPolicies policies;
  private final String region;
  private final String bounceDomain;
  private final boolean autoVerifySenders;

  public SendAuthorization(IdentityDirectory identities, IdentityPolicies policies, String region, String bounceDomain,
      boolean autoVerifySenders) {
    this.identities = identities;
    this.policies = policies;
    this.region = region.toUpperCase(Locale.ROOT);
    this.bounceDomain = bounceDomain == null || bounceDomain.isBlank() ? null : bounceDomain;
    this.autoVerifySenders = autoVerifySenders;
  }

  public static boolean isSimulator(Mailbox m) {
    return m.domain().equalsIgnoreCase(SIMULATOR_DOMAIN);
  }

  public Future<SenderProfile> authorize(Caller caller, Mailbox from, List<Mailbox> recipients) {
    return authorize(caller, from, List.of(), recipients);
  }

  /**
   * @param otherSenders sender addresses the message carries besides {@code from} (a From header
   *     under another source, an SMTP envelope sender): they must be verified too, but {@code from}
   *     alone chooses the DKIM key and the bounce address
   */
  public Future<SenderProfile> authorize(Caller caller, Mailbox from, List<Mailbox> otherSenders,
      List<Mailbox> recipients) {
    if (caller.isSystem()) {
      return Future.succeededFuture(new SenderProfile(null, from.address(), bounceDomain));
    }
    return authorize(caller, from, otherSenders, recipients, (Map<String, IdentityDirectory.Facts>) null);
  }

  /**
   * {@link #authorize(Caller, Mailbox, List, List)} for a send that names identity ARNs ({@code delegation}; null:
   * none). The other accounts' identities it names are checked first (verified, and their policies allow the caller),
   * and the addresses they cover are left out of the caller's own checks.
   */
  public Future<SenderProfile> authorize(Caller caller, Mailbox from, List<Mailbox> otherSenders,
      List<Mailbox> recipients, Delegation delegation) {
    String account = caller.account().id();
    List<NamedIdentity> foreign = new ArrayList<>(2);
    if (delegation != null && !caller.isSystem()) {
      for (NamedIdentity n : delegation.named()) {
        if (!n.arn().account().equals(account)) {
          foreign.add(n);
        }
      }
    }
    if (foreign.isEmpty()) {
      return authorize(caller, from, otherSenders, recipients); // the caller's own identities: as without an ARN
    }
    NamedIdentity forFrom = null;
    List<Future<Map<String, IdentityDirectory.Facts>>> checks = new ArrayList<>(foreign.size());
    for (NamedIdentity n : foreign) {
      checks.add(permitted(caller, n, from, recipients, delegation));
      if (n.address().address().equalsIgnoreCase(from.address())) {
        forFrom = n;
      }
    }
    List<Mailbox> own = new ArrayList<>(otherSenders.size());
    for (Mailbox m : otherSenders) {
      if (foreign.stream().noneMatch(n -> n.address().address().equalsIgnoreCase(m.address()))) {
        own.add(m);
      }
    }
    int fromCheck = forFrom == null ? -1 : foreign.indexOf(forFrom);
    return Future.all(checks).compose(all -> fromCheck < 0 ? authorize(caller, from, own, recipients)
        : authorize(caller, from, own, recipients, checks.get(fromCheck).result()));
  }

  /**
   * The other account's identity {@code n} names must be verified and its policies must let the caller send this;
   * completes with the owner's facts about the address and its domain (which sign it), or fails AccessDenied.
   */
  private Future<Map<String, IdentityDirectory.Facts>> permitted(Caller caller, NamedIdentity n, Mailbox from,
      List<Mailbox> recipients, Delegation delegation) {
    String address = n.address().address().toLowerCase(Locale.ROOT);
    List<String> names = List.of(n.arn().identity(), address, IdentityNames.domainOf(address));
    SesException denied = new SesException(SesError.ACCESS_DENIED, "User `arn:aws:iam::" + caller.account().id()
        + ":root' is not authorized to perform `" + delegation.action() + "' on resource `"
        + n.arn().format(policies.region()) + "'");
    return identities.lookup(n.arn().account(), new LinkedHashSet<>(names)).compose(facts -> {
      IdentityDirectory.Facts identity = facts.get(n.arn().identity());
      if (identity == null || !identity.verified()) {
        return Future.failedFuture(denied);
      }
      List<String> to = new ArrayList<>(recipients.size());
      for (Mailbox r : recipients) {
        to.add(r.address());
      }
      String displayName = from.displayName() == null || from.displayName().isEmpty() ? null : from.displayName();
      return policies.allows(n.arn(), now -> new IdentityPolicy.Request(caller.account().id(), delegation.action(),
              from.address(), displayName, delegation.feedbackAddress(), to, now))
          .compose(allowed -> allowed ? Future.succeededFuture(facts) : Future.failedFuture(denied));
    });
  }

  /**
   * @param delegatedFrom the identity owner's facts when {@code from} is sent from another account's identity (it is
   *     then not the caller's to verify, and it chooses the DKIM key and MAIL FROM domain); null otherwise
   */
  private Future<SenderProfile> authorize(Caller caller, Mailbox from, List<Mailbox> otherSenders,
      List<Mailbox> recipients, Map<String, IdentityDirectory.Facts> delegatedFrom) {
    String account = caller.account().id();
    boolean sandbox = !caller.account().productionAccess();
    List<String> senders = new ArrayList<>();
    if (delegatedFrom == null) {
      senders.add(from.address().toLowerCase(Locale.ROOT));
    }
    for (Mailbox m : otherSenders) {
      senders.add(m.address().toLowerCase(Locale.ROOT));
    }
    Set<String> names = new LinkedHashSet<>();
    for (String s : senders) {
      names.add(s);
      names.add(IdentityNames.domainOf(s));
    }
    if (sandbox) {
      for (Mailbox r : recipients) {
        if (!isSimulator(r)) {
          names.add(r.address().toLowerCase(Locale.ROOT));
          names.add(IdentityNames.domainOf(r.address()));
        }
      }
    }
    return identities.lookup(account, names).compose(found -> {
      List<String> unverified = new ArrayList<>();
      for (String s : senders) {
        if (!verified(found, s, IdentityNames.domainOf(s)) && !unverified.contains(s)) {
          unverified.add(s);
        }
      }
      if (unverified.isEmpty()) {
        return decide(account, sandbox, from, recipients, found, delegatedFrom);
      }
      if (!autoVerifySenders) {
        return Future.failedFuture(notVerified(unverified));
      }
      Future<?> verifying = Future.succeededFuture();
      for (String s : unverified) {
        verifying = verifying.compose(v -> identities.autoVerify(account, s));
      }
      return verifying.compose(v -> identities.lookup(account, names))
          .compose(again -> decide(account, sandbox, from, recipients, again, delegatedFrom));
    });
  }

  private Future<SenderProfile> decide(String account, boolean sandbox, Mailbox from,
      List<Mailbox> recipients, Map<String, IdentityDirectory.Facts> found,
      Map<String, IdentityDirectory.Facts> delegatedFrom) {
    if (sandbox) {
      List<String> failed = new ArrayList<>();
      for (Mailbox r : recipients) {
        String a = r.address().toLowerCase(Locale.ROOT);
        if (!isSimulator(r) && !verified(found, a, IdentityNames.domainOf(a))) {
          failed.add(r.address());
        }
      }
      if (!failed.isEmpty()) {
        return Future.failedFuture(notVerified(failed));
      }
    }
    String fromAddress = from.address().toLowerCase(Locale.ROOT);
    Map<String, IdentityDirectory.Facts> fromFacts = delegatedFrom == null ? found : delegatedFrom;
    IdentityDirectory.Facts address = fromFacts.get(fromAddress);
    IdentityDirectory.Facts domain = fromFacts.get(IdentityNames.domainOf(fromAddress));
    DkimKey key = domain == null ? null : domain.signingKey();
    IdentityDirectory.Facts mailFromOwner = address != null && address.identity().mailFromDomain() != null
        ? address : domain;
    String verpDomain = bounceDomain;
    if (mailFromOwner != null && mailFromOwner.identity().mailFromDomain() != null) {
      Identity i = mailFromOwner.identity();
      if (i.mailFromStatus() == Identity.Status.SUCCESS) {
        verpDomain = i.mailFromDomain();
      } else if ("REJECT_MESSAGE".equals(i.mailFromBehavior())) {
        return Future.failedFuture(new SesException(SesError.MAIL_FROM_DOMAIN_NOT_VERIFIED,
            "The message could not be sent because the MX record of MAIL FROM domain " + i.mailFromDomain()
                + " could not be verified (BehaviorOnMxFailure is REJECT_MESSAGE)."));
      }
    }
    // the From identity's default configuration set, the address's before its domain's (SES); a send's own wins. An
    // identity owner's default set is of the owner's account: not one of a delegate's sends
    String defaultSet = delegatedFrom != null ? null : address != null && address.identity().configurationSet() != null
        ? address.identity().configurationSet() : domain == null ? null : domain.identity().configurationSet();
    return Future.succeededFuture(new SenderProfile(key, from.address(), verpDomain, defaultSet));
  }

  private static boolean verified(Map<String, IdentityDirectory.Facts> found, String address, String domain) {
    IdentityDirectory.Facts a = found.get(address);
    IdentityDirectory.Facts d = found.get(domain);
    return (a != null && a.verified()) || (d != null && d.verified());
  }

  private SesException notVerified(List<String> identities) {
    return new SesException(SesError.MESSAGE_REJECTED, "Email address is not verified. The following identities "
        + "failed the check in region " + region + ": " + String.join(", ", identities));
  }
}
