package io.mailgate.send;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.identity.Identity;
import io.mailgate.identity.IdentityDirectory;
import io.mailgate.identity.IdentityNames;
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

  private final IdentityDirectory identities;
  private final String region;
  private final String bounceDomain;
  private final boolean autoVerifySenders;

  public SendAuthorization(IdentityDirectory identities, String region, String bounceDomain, boolean autoVerifySenders) {
    this.identities = identities;
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
    String account = caller.account().id();
    boolean sandbox = !caller.account().productionAccess();
    List<String> senders = new ArrayList<>();
    senders.add(from.address().toLowerCase(Locale.ROOT));
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
        return decide(account, sandbox, from, recipients, found);
      }
      if (!autoVerifySenders) {
        return Future.failedFuture(notVerified(unverified));
      }
      Future<?> verifying = Future.succeededFuture();
      for (String s : unverified) {
        verifying = verifying.compose(v -> identities.autoVerify(account, s));
      }
      return verifying.compose(v -> identities.lookup(account, names))
          .compose(again -> decide(account, sandbox, from, recipients, again));
    });
  }

  private Future<SenderProfile> decide(String account, boolean sandbox, Mailbox from,
      List<Mailbox> recipients, Map<String, IdentityDirectory.Facts> found) {
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
    IdentityDirectory.Facts address = found.get(fromAddress);
    IdentityDirectory.Facts domain = found.get(IdentityNames.domainOf(fromAddress));
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
    // the From identity's default configuration set, the address's before its domain's (SES); a send's own wins
    String defaultSet = address != null && address.identity().configurationSet() != null
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
