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
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Who may send what, as SES decides it: the From address must be a verified identity (the address, its domain or a
 * parent of its domain: a verified {@code example.com} lets {@code news@mail.example.com} send); an account in the
 * sandbox may only send to verified identities and the mailbox simulator. Also decides the DKIM key that signs and
 * the envelope sender: the address's settings, else those of the most specific verified domain that covers it.
 *
 * <p>Sending authorization: an address the send names another account's identity ARN for, in the part of the message
 * that ARN is for ({@link Role}), is not the caller's to verify; that identity must be verified by its owner and its
 * policies must let the caller send ({@link IdentityPolicies}), or the send is AccessDenied. A Source sent this way is
 * signed with the owner's DKIM key and uses the owner's MAIL FROM domain, but not the owner's default configuration
 * set: the message is the caller's (its limits, its events). A send that names no ARN, or only the caller's own
 * identities, is decided as before.
 */
public final class SendAuthorization {
  public static final String SIMULATOR_DOMAIN = "simulator.amazonses.com";

  /**
   * How an authorized message is sent: signed with this key (or not); from this envelope sender,
   * or, with a {@code verpDomain}, from a VERP address on that domain for each recipient. {@code identity}: the other
   * account's identity it is sent from (a delegate's send, through that identity's ARN), else null.
   * {@code sendingIdentity}: the name of the verified identity that lets the From address send (the address's own,
   * else the most specific verified domain covering it), or null when none does (system mail; start-dev's senders
   * are verified addresses from their first send).
   */
  public record SenderProfile(DkimKey dkimKey, String envelopeFrom, String verpDomain, String defaultConfigurationSet,
      IdentityArn identity, String sendingIdentity) {
    public SenderProfile(DkimKey dkimKey, String envelopeFrom, String verpDomain) {
      this(dkimKey, envelopeFrom, verpDomain, null, null, null);
    }

    SenderProfile from(IdentityArn delegated) {
      return new SenderProfile(dkimKey, envelopeFrom, verpDomain, defaultConfigurationSet, delegated, sendingIdentity);
    }

    /** Signed with {@code key} instead, when there is one (null: as it was). */
    SenderProfile signedWith(DkimKey key) {
      return key == null ? this
          : new SenderProfile(key, envelopeFrom, verpDomain, defaultConfigurationSet, identity, sendingIdentity);
    }
  }

  /** The part a sender address plays in a message; an identity ARN a send names is for one part. */
  public enum Role {
    /** The address the message is sent as: Source, FromEmailAddress, or a raw message's From without one. */
    SOURCE,
    /** A mailbox of a raw message's From header. */
    FROM_HEADER,
    /** A mailbox of the Sender header: no ARN is for it. */
    SENDER_HEADER,
    /** The Return-Path (ReturnPath, FeedbackForwardingEmailAddress, the SMTP envelope sender). */
    RETURN_PATH
  }

  /** A sender address of the send, the part it plays, and the identity ARN the send names for it (or null). */
  public record SenderAddress(Role role, Mailbox mailbox, IdentityArn arn) {}

  /**
   * The sending authorization a send asks for: the policy action it is checked as, every sender address of the
   * message (the Source first) with the ARN it names for each, and its feedback address (the Return-Path, or the
   * Source), and the call's policy reads.
   */
  public record Delegation(String action, List<SenderAddress> senders, String feedbackAddress,
      IdentityPolicies.Reads policyReads) {}

  private final IdentityDirectory identities;
  private final IdentityPolicies policies;
  /** Whether an account (by id) has production access: an identity owner's, for its delegates' sends. */
  private final Function<String, Future<Boolean>> inProduction;
  private final String region;
  private final String bounceDomain;
  private final boolean autoVerifySenders;

  public SendAuthorization(IdentityDirectory identities, IdentityPolicies policies, String region, String bounceDomain,
      boolean autoVerifySenders, Function<String, Future<Boolean>> inProduction) {
    this.identities = identities;
    this.policies = policies;
    this.inProduction = inProduction;
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
   * none). Each other account's identity it names is checked first (verified by its owner, and its policies allow the
   * caller for each address it is named for); an address is left out of the caller's own checks only where it plays
   * the part its ARN was named for (a Sender mailbox: where its address was allowed as a From address). Every other
   * sender address must be the caller's, as without ARNs.
   */
  public Future<SenderProfile> authorize(Caller caller, Mailbox from, List<Mailbox> otherSenders,
      List<Mailbox> recipients, Delegation delegation) {
    String account = caller.account().id();
    Map<IdentityArn, List<SenderAddress>> foreign = new LinkedHashMap<>(2);
    if (delegation != null && !caller.isSystem()) {
      for (SenderAddress s : delegation.senders()) {
        if (s.arn() != null && !s.arn().account().equals(account)) {
          foreign.computeIfAbsent(s.arn(), a -> new ArrayList<>(2)).add(s);
        }
      }
    }
    if (foreign.isEmpty()) {
      return authorize(caller, from, otherSenders, recipients); // the caller's own identities: as without an ARN
    }
    SenderAddress source = delegation.senders().get(0);
    boolean sourceDelegated = isForeign(source, account);
    // sets of lower-cased addresses (ASCII: MailboxParser's), not scans of the list: a message may name many
    Set<String> delegatedFroms = new HashSet<>();
    for (SenderAddress f : delegation.senders()) {
      if (f.role() != Role.RETURN_PATH && isForeign(f, account)) {
        delegatedFroms.add(f.mailbox().address().toLowerCase(Locale.ROOT));
      }
    }
    List<Mailbox> own = new ArrayList<>(delegation.senders().size());
    Set<String> ownAddresses = new HashSet<>();
    for (SenderAddress s : delegation.senders()) {
      String address = s.mailbox().address().toLowerCase(Locale.ROOT);
      boolean covered = isForeign(s, account)
          || (s.role() == Role.SENDER_HEADER && delegatedFroms.contains(address));
      if (!covered && (sourceDelegated || !s.mailbox().address().equalsIgnoreCase(from.address()))
          && ownAddresses.add(address)) {
        own.add(s.mailbox());
      }
    }
    List<Future<Map<String, IdentityDirectory.Facts>>> checks = new ArrayList<>(foreign.size());
    Future<Map<String, IdentityDirectory.Facts>> sourceCheck = null;
    for (Map.Entry<IdentityArn, List<SenderAddress>> e : foreign.entrySet()) {
      Future<Map<String, IdentityDirectory.Facts>> check = permitted(caller, e.getKey(), e.getValue(), recipients,
          delegation);
      checks.add(check);
      if (sourceDelegated && e.getKey().equals(source.arn())) {
        sourceCheck = check;
      }
    }
    Future<Map<String, IdentityDirectory.Facts>> forSource = sourceCheck;
    return Future.all(checks).compose(all -> forSource == null ? authorize(caller, from, own, recipients)
        : authorize(caller, from, own, recipients, forSource.result()).map(p -> p.from(source.arn())));
  }

  private static boolean isForeign(SenderAddress s, String account) {
    return s.arn() != null && !s.arn().account().equals(account);
  }

  /**
   * The other account's identity {@code arn} must be verified and its policies must let the caller send from each of
   * the addresses it is named for ({@code named}); completes with the owner's facts about them and their domains
   * (which sign the Source), or fails AccessDenied. Each address is asked as {@code ses:FromAddress} with its display
   * name, a Return-Path as {@code ses:FeedbackAddress} beside the Source; no Deny may match any sender address.
   */
  private Future<Map<String, IdentityDirectory.Facts>> permitted(Caller caller, IdentityArn arn,
      List<SenderAddress> named, List<Mailbox> recipients, Delegation delegation) {
    Set<String> names = new LinkedHashSet<>();
    names.add(arn.identity());
    for (SenderAddress s : named) {
      addNames(names, s.mailbox().address().toLowerCase(Locale.ROOT));
    }
    SesException denied = new SesException(SesError.ACCESS_DENIED, "User `arn:aws:iam::" + caller.account().id()
        + ":root' is not authorized to perform `" + delegation.action() + "' on resource `"
        + arn.format(policies.region()) + "'");
    return identities.lookup(arn.account(), names).compose(facts -> {
      IdentityDirectory.Facts identity = facts.get(arn.identity());
      if (identity == null || !identity.verified()) {
        return Future.failedFuture(denied);
      }
      List<String> to = new ArrayList<>(recipients.size());
      for (Mailbox r : recipients) {
        to.add(r.address());
      }
      List<IdentityPolicy.FromMailbox> froms = new ArrayList<>(delegation.senders().size());
      for (SenderAddress s : delegation.senders()) {
        if (s.role() != Role.RETURN_PATH) {
          froms.add(fromMailbox(s.mailbox()));
        }
      }
      Mailbox source = delegation.senders().get(0).mailbox();
      return policies.allows(arn, delegation.policyReads(), now -> {
        List<IdentityPolicy.Request> asked = new ArrayList<>(named.size());
        for (SenderAddress s : named) {
          // the Return-Path is the feedback address, not a From address: its ARN is asked for the Source's
          IdentityPolicy.FromMailbox f = fromMailbox(s.role() == Role.RETURN_PATH ? source : s.mailbox());
          asked.add(new IdentityPolicy.Request(caller.account().id(), delegation.action(), f.address(),
              f.displayName(), delegation.feedbackAddress(), to, now, froms));
        }
        return asked;
      }).compose(allowed -> !allowed ? Future.failedFuture(denied)
          // sent from the owner's identity (not only its Return-Path): the owner's sandbox applies
          : named.stream().allMatch(s -> s.role() == Role.RETURN_PATH) ? Future.succeededFuture(facts)
          : ownerSandbox(arn.account(), recipients, delegation.policyReads()).map(v -> facts));
    });
  }

  /**
   * SES: the identity owner's account must be out of the sandbox too before a delegate sends from its identity to
   * addresses that are not verified. While it is in, every recipient (but the mailbox simulator's) must be a verified
   * identity of the owner, as the owner's own sends' are; otherwise MessageRejected, which names none of them (the
   * delegate is not to learn which addresses the owner verified). The status is read once per call ({@code reads}).
   */
  private Future<Void> ownerSandbox(String owner, List<Mailbox> recipients, IdentityPolicies.Reads reads) {
    return reads.ownerInProduction(owner, inProduction).compose(production -> {
      if (production) {
        return Future.succeededFuture();
      }
      Set<String> names = new LinkedHashSet<>();
      addRecipientNames(names, recipients);
      if (names.isEmpty()) {
        return Future.succeededFuture();
      }
      return identities.lookup(owner, names).compose(found -> {
        return unverifiedRecipients(found, recipients).isEmpty() ? Future.<Void>succeededFuture()
            : Future.failedFuture(new SesException(SesError.MESSAGE_REJECTED, "Email address is not verified. The "
                + "identity owner's account is in the sandbox: its identities send only to addresses it has verified."));
      });
    });
  }

  /**
   * The identity names a sandbox check of {@code recipients} reads: each address and its domains (no simulator).
   */
  private static void addRecipientNames(Set<String> names, List<Mailbox> recipients) {
    for (Mailbox r : recipients) {
      if (!isSimulator(r)) {
        addNames(names, r.address().toLowerCase(Locale.ROOT));
      }
    }
  }

  /** {@code address} and the domain identities that may cover it. */
  /**
   * The DKIM key of a raw message's From header whose domain is not its Source's (v1 Source, v2 FromEmailAddress: a
   * bounce address on another domain, say): DMARC aligns d= with the From header's domain, so its key signs rather
   * than the Source's; null when its domain has none (the Source's key signs then), or its address's signing is off.
   * The header's address is one of the caller's verified senders already ({@link #authorize}).
   */
  public Future<DkimKey> headerFromKey(Caller caller, Mailbox headerFrom) {
    if (caller.isSystem()) {
      return Future.succeededFuture(null);
    }
    String address = headerFrom.address().toLowerCase(Locale.ROOT);
    Set<String> names = new LinkedHashSet<>();
    addNames(names, address);
    return identities.lookup(caller.account().id(), names).map(found -> {
      IdentityDirectory.Facts own = found.get(address);
      IdentityDirectory.Facts domain = verifiedDomain(found, IdentityNames.domainOf(address));
      return domain == null || (own != null && own.verified() && !own.identity().dkimSigningEnabled()) ? null
          : domain.signingKey();
    });
  }

  private static void addNames(Set<String> names, String address) {
    names.add(address);
    names.addAll(IdentityNames.domainAndParents(IdentityNames.domainOf(address)));
  }

  /** The recipients a sandbox refuses: neither the mailbox simulator nor verified in {@code found}. */
  private static List<String> unverifiedRecipients(Map<String, IdentityDirectory.Facts> found,
      List<Mailbox> recipients) {
    List<String> failed = new ArrayList<>();
    for (Mailbox r : recipients) {
      String a = r.address().toLowerCase(Locale.ROOT);
      if (!isSimulator(r) && !verified(found, a)) {
        failed.add(r.address());
      }
    }
    return failed;
  }

  private static IdentityPolicy.FromMailbox fromMailbox(Mailbox m) {
    return new IdentityPolicy.FromMailbox(m.address(),
        m.displayName() == null || m.displayName().isEmpty() ? null : m.displayName());
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
      addNames(names, s);
    }
    if (sandbox) {
      addRecipientNames(names, recipients);
    }
    return identities.lookup(account, names).compose(found -> {
      Set<String> unverified = new LinkedHashSet<>(); // each once, in the order given (a set: many may be named)
      for (String s : senders) {
        if (!verified(found, s)) {
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
      List<String> failed = unverifiedRecipients(found, recipients);
      if (!failed.isEmpty()) {
        return Future.failedFuture(notVerified(failed));
      }
    }
    String fromAddress = from.address().toLowerCase(Locale.ROOT);
    Map<String, IdentityDirectory.Facts> fromFacts = delegatedFrom == null ? found : delegatedFrom;
    IdentityDirectory.Facts address = fromFacts.get(fromAddress);
    IdentityDirectory.Facts verifiedDomain = verifiedDomain(fromFacts, IdentityNames.domainOf(fromAddress));
    // the domain identity whose settings apply: the most specific verified one that covers the address, else the
    // domain's own (unverified: an address identity of it sends, with its domain's settings)
    IdentityDirectory.Facts domain = verifiedDomain != null ? verifiedDomain
        : fromFacts.get(IdentityNames.domainOf(fromAddress));
    // an address identity may have its signing turned off (SES v1's SetIdentityDkimEnabled on an address)
    DkimKey key = domain == null || (address != null && address.verified() && !address.identity().dkimSigningEnabled())
        ? null : domain.signingKey();
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
    String sendingIdentity = address != null && address.verified() ? address.identity().name()
        : verifiedDomain == null ? null : verifiedDomain.identity().name();
    return Future.succeededFuture(new SenderProfile(key, from.address(), verpDomain, defaultSet, null,
        sendingIdentity));
  }

  /** Whether {@code address} may send (or, in the sandbox, receive): it or a domain that covers it is verified. */
  private static boolean verified(Map<String, IdentityDirectory.Facts> found, String address) {
    IdentityDirectory.Facts a = found.get(address);
    return (a != null && a.verified()) || verifiedDomain(found, IdentityNames.domainOf(address)) != null;
  }

  /** The most specific verified domain identity that covers addresses of {@code domain}, or null. */
  private static IdentityDirectory.Facts verifiedDomain(Map<String, IdentityDirectory.Facts> found, String domain) {
    for (String name : IdentityNames.domainAndParents(domain)) {
      IdentityDirectory.Facts d = found.get(name);
      if (d != null && d.verified()) {
        return d;
      }
    }
    return null;
  }

  private SesException notVerified(Collection<String> identities) {
    return new SesException(SesError.MESSAGE_REJECTED, "Email address is not verified. The following identities "
        + "failed the check in region " + region + ": " + String.join(", ", identities));
  }
}
