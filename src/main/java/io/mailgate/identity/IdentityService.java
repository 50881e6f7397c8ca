package io.mailgate.identity;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonArray;
import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The identity operations of the SES v2 API: create (with Easy DKIM or a brought key, or a
 * verification email for an address), get, delete, list, DKIM and MAIL FROM settings. In
 * start-dev identities verify themselves at once; the response and the log say so.
 */
public final class IdentityService {
  private static final Logger LOG = Logger.getLogger(IdentityService.class.getName());

  /** Settings of a domain identity's DKIM key at creation or replacement. */
  public record DkimRequest(String selector, String privateKeyBase64, String nextKeyLength) {}

  /** One page of identities, and where the next starts (null: no more). */
  public record Page(List<Identity> identities, String nextAfter) {}

  private final Vertx vertx;
  private final IdentityStore store;
  private final SecretBox secrets;
  private final VerificationLinks links;
  private final VerificationMailer mailer;
  private final VerificationAllowance allowance;
  private final String publicUrl;
  private final boolean dev;
  /** Where this node's DKIM keys are made ({@link #KEY_THREADS}), and how many of them are waiting or being made. */
  private final WorkerExecutor keyThreads;
  private final KeysPending keysPending;

  /**
   * DKIM keys are made on threads of their own, not the shared worker pool: an RSA-2048 key takes tens to hundreds of
   * milliseconds of a thread, and a burst of CreateEmailIdentity or PutEmailIdentityDkimSigningAttributes calls took
   * every shared worker thread, holding up the blocking work of every account's sends and deliveries (large messages,
   * inbound feedback, DKIM verification, certificate checks) behind it.
   */
  static final String KEY_THREADS_NAME = "mailgate-dkim-keys";
  static final int KEY_THREADS = 2;
  /**
   * Keys a node makes or has waiting at most, for all accounts together: beyond it a request that would make one is
   * answered TooManyRequests (which the SDKs retry after a pause) and changes nothing, rather than waiting in a queue
   * without end.
   */
  static final int KEYS_PENDING = 16;

  /** The count of {@link #KEYS_PENDING}, shared by the node's API verticles. */
  private static final class KeysPending implements io.vertx.core.shareddata.Shareable {
    final java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
  }

  /** Tells this node's caches that an identity changed (other nodes see it when their cache expires). */
  private <T> Future<T> changed(Future<T> f, String accountId, String name) {
    return f.onSuccess(x -> vertx.eventBus().publish(io.mailgate.EventBusAddresses.IDENTITY_CHANGED,
        accountId + "\n" + name));
  }

  private final DomainVerificationToken tokens;

  /**
   * SES's DkimSigningAttributesOrigin values for Easy DKIM: AWS_SES, or AWS_SES_ and a region (AWS_SES_EU_WEST_1: the
   * key of that region's SES, in SES; here, as AWS_SES, this node's own).
   */
  private static final java.util.regex.Pattern EASY_DKIM_ORIGIN = java.util.regex.Pattern.compile(
      "AWS_SES(_[A-Z]{2}(_GOV)?_(NORTH|SOUTH|EAST|WEST|CENTRAL|NORTHEAST|SOUTHEAST|NORTHWEST|SOUTHWEST)_[1-9])?");

  /**
   * An address gets an account's verification email at most this often, from all nodes together, however often the
   * account creates, deletes and creates its identity again, or verifies it again: the operator's sender is not a tool
   * to mail a stranger's inbox again and again (each account's own: another's asking cannot hold this one's back).
   */
  static final long VERIFICATION_COOLDOWN_MILLIS = 5 * 60_000;
  /** The identities an account may have, as in SES. */
  public static final int MAX_IDENTITIES = 10_000;

  /** @param allowance how many verification emails each account may have sent ({@link VerificationAllowance}) */
  public IdentityService(Vertx vertx, IdentityStore store, SecretBox secrets, VerificationLinks links,
      VerificationMailer mailer, VerificationAllowance allowance, String publicUrl, boolean dev) {
    this.allowance = allowance;
    this.tokens = new DomainVerificationToken(secrets);
    this.vertx = vertx;
    this.store = store;
    this.secrets = secrets;
    this.links = links;
    this.mailer = mailer;
    this.publicUrl = publicUrl;
    this.dev = dev;
    // one pool of the name on the node, its threads shared by every verticle's IdentityService
    this.keyThreads = vertx.createSharedWorkerExecutor(KEY_THREADS_NAME, KEY_THREADS);
    this.keysPending = (KeysPending) vertx.sharedData().getLocalMap("mailgate.identity")
        .computeIfAbsent("keysPending", k -> new KeysPending());
  }

  /** Lets go of this instance's share of the key threads (the pool ends with the last). */
  public Future<Void> close() {
    return keyThreads.close();
  }

  static String keyAad(String accountId, String identity) {
    return "dkim/" + accountId + "/" + identity;
  }

  /**
   * CreateEmailIdentity. An address gets its verification email, unless the account's sending is paused (by its
   * operator, reputation enforcement or its owner): a paused account does not make this node mail strangers either;
   * the identity is created, and asking again once it sends (VerifyEmailIdentity) sends the email.
   */
  public Future<Identity> create(Account account, String rawName, DkimRequest dkim, String configurationSet,
      JsonArray tags) {
    String accountId = account.id();
    String name;
    try {
      name = IdentityNames.normalize(rawName);
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    // looked up first: a domain's RSA key takes tens of milliseconds of a worker thread to make, not to be spent on a
    // name the account has already (or cannot have)
    return store.room(accountId, name).compose(room -> {
      if (room.taken()) {
        return Future.failedFuture(new SesException(SesError.ALREADY_EXISTS, "Email identity " + name
            + " already exists."));
      }
      if (room.identities() >= MAX_IDENTITIES) {
        return Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED, "An account may have up to "
            + MAX_IDENTITIES + " identities; delete one first."));
      }
      return insert(account, name, dkim, configurationSet, tags);
    });
  }

  private Future<Identity> insert(Account account, String name, DkimRequest dkim, String configurationSet,
      JsonArray tags) {
    String accountId = account.id();
    Identity.Status initial = dev ? Identity.Status.SUCCESS : Identity.Status.PENDING;
    if (IdentityNames.isAddress(name)) {
      if (dkim != null && (dkim.selector() != null || dkim.privateKeyBase64() != null
          || dkim.nextKeyLength() != null)) {
        return Future.failedFuture(SesException.badRequest("DkimSigningAttributes apply to domain identities only."));
      }
      Identity i = new Identity(accountId, name, Identity.Type.EMAIL_ADDRESS, initial, true,
          Identity.Status.NOT_STARTED, null, null, null, null, null, null, null, "USE_DEFAULT_VALUE", configurationSet,
          tags, null, null);
      // its verification email is counted before anything is created: a refused request leaves nothing
      boolean email = !dev && account.sendingEnabled();
      return (email ? allowance.take(accountId) : Future.<Void>succeededFuture())
          .compose(v -> changed(store.insert(i, null), accountId, name).onFailure(e -> {
            if (email) {
              allowance.giveBack(accountId);
            }
          }))
          .compose(v -> dev ? Future.succeededFuture() : email ? sendVerification(accountId, name)
              : notSentWhilePaused(accountId, name))
          .compose(v -> get(accountId, name))
          .onSuccess(x -> {
            if (dev) {
              LOG.info("start-dev: email identity " + name + " verified automatically");
            }
          });
    }
    Future<DkimKeyMaterial.Prepared> key;
    try {
      key = prepareKey(accountId, name, dkim);
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    return key.compose(k -> {
      Identity i = new Identity(accountId, name, Identity.Type.DOMAIN, initial, true, initial,
          dkim != null && dkim.selector() != null ? "EXTERNAL" : "AWS_SES", k.selector(), k.keyLength(),
          k.publicKey(), null, null, null, "USE_DEFAULT_VALUE", configurationSet, tags, null, null);
      return changed(store.insert(i, k.encryptedPrivateKey()), accountId, name);
    }).compose(v -> get(accountId, name)).onSuccess(i -> {
      if (dev) {
        LOG.info("start-dev: domain identity " + name + " verified automatically (publish " + i.dkimRecordName()
            + " TXT \"" + i.dkimRecordValue() + "\" for real DNS)");
      }
    });
  }

  private Future<DkimKeyMaterial.Prepared> prepareKey(String accountId, String name, DkimRequest dkim) {
    String aad = keyAad(accountId, name);
    if (dkim != null && dkim.selector() == null && dkim.privateKeyBase64() != null) {
      throw SesException.badRequest("DomainSigningSelector is required with a DomainSigningPrivateKey.");
    }
    if (dkim != null && dkim.selector() != null) {
      return Future.succeededFuture(DkimKeyMaterial.imported(dkim.selector(), dkim.privateKeyBase64(), secrets, aad));
    }
    String length = DkimKeyMaterial.keyLength(dkim == null ? null : dkim.nextKeyLength());
    // RSA key generation takes tens of milliseconds: not on an event loop, nor on the shared worker pool
    if (keysPending.count.incrementAndGet() > KEYS_PENDING) {
      keysPending.count.decrementAndGet();
      return Future.failedFuture(new SesException(SesError.TOO_MANY_REQUESTS, "Too many DKIM keys are waiting to be "
          + "generated. Slow down."));
    }
    return keyThreads.executeBlocking(() -> DkimKeyMaterial.generate(length, secrets, aad), false)
        .andThen(x -> keysPending.count.decrementAndGet());
  }

  public Future<Identity> get(String accountId, String rawName) {
    return find(accountId, rawName).map(IdentityStore.Stored::identity);
  }

  private Future<IdentityStore.Stored> find(String accountId, String rawName) {
    String name;
    try {
      name = IdentityNames.normalize(rawName);
    } catch (SesException e) {
      return Future.failedFuture(notFound(rawName));
    }
    return store.find(accountId, name).compose(o -> o.isPresent() ? Future.succeededFuture(o.get())
        : Future.failedFuture(notFound(rawName)));
  }

  /** The domain identity an address belongs to, when the account has it. */
  public Future<Optional<Identity>> parentDomain(String accountId, Identity address) {
    return store.find(accountId, address.domain()).map(o -> o.map(IdentityStore.Stored::identity));
  }

  /**
   * Which of the account's {@code identities} can be sent from (ListEmailIdentities' SendingEnabled): verified itself,
   * or its domain or a parent of it is a verified identity of the account, as {@link #isVerifiedSender} has it. One
   * query for them all.
   */
  public Future<Set<String>> sendable(String accountId, List<Identity> identities) {
    Set<String> domains = new LinkedHashSet<>();
    for (Identity i : identities) {
      if (!i.verifiedForSending()) {
        domains.addAll(IdentityNames.domainAndParents(i.domain()));
      }
    }
    Future<Set<String>> verifiedDomains = domains.isEmpty() ? Future.succeededFuture(Set.of())
        : store.findAll(accountId, List.copyOf(domains)).map(found -> found.stream().map(IdentityStore.Stored::identity)
            .filter(d -> d.isDomain() && d.verifiedForSending()).map(Identity::name)
            .collect(java.util.stream.Collectors.toSet()));
    return verifiedDomains.map(verified -> {
      Set<String> out = new java.util.HashSet<>();
      for (Identity i : identities) {
        if (i.verifiedForSending()
            || IdentityNames.domainAndParents(i.domain()).stream().anyMatch(verified::contains)) {
          out.add(i.name());
        }
      }
      return out;
    });
  }

  public Future<Void> delete(String accountId, String rawName) {
    return find(accountId, rawName).compose(s -> changed(store.delete(accountId, s.identity().name()), accountId,
        s.identity().name())).mapEmpty();
  }

  /**
   * A page of identities, by name, after {@code after} (null: from the start); {@code nameContains}: only those whose
   * name contains it (null: all).
   */
  public Future<Page> list(String accountId, String after, int size, String nameContains) {
    return store.page(accountId, after, size + 1, nameContains).map(rows -> {
      List<Identity> page = rows.stream().limit(size).map(IdentityStore.Stored::identity).toList();
      return new Page(page, rows.size() > size ? page.get(page.size() - 1).name() : null);
    });
  }

  /**
   * Whether mail from the identity is DKIM-signed: a domain's, or, for an address identity, whether its mail is signed
   * with its domain's key (SES v1's SetIdentityDkimEnabled on an address; on by default).
   */
  public Future<Void> setDkimSigningEnabled(String accountId, String rawName, boolean enabled) {
    return find(accountId, rawName).compose(s -> changed(store.setDkimSigningEnabled(accountId, s.identity().name(),
        enabled), accountId, s.identity().name()).mapEmpty());
  }

  /** PutEmailIdentityConfigurationSetAttributes: the set a send from the identity naming none takes (null: none). */
  public Future<Void> setConfigurationSet(String accountId, String rawName, String configurationSet) {
    return find(accountId, rawName).compose(s -> changed(store.setConfigurationSet(accountId, s.identity().name(),
        configurationSet), accountId, s.identity().name()))
        .compose(updated -> updated ? Future.<Void>succeededFuture() : Future.failedFuture(notFound(rawName)));
  }

  /** PutEmailIdentityDkimSigningAttributes: a new generated key, or the user's own. */
  public Future<Identity> setDkimSigning(String accountId, String rawName, String origin, DkimRequest dkim) {
    return find(accountId, rawName).compose(s -> {
      if (!s.identity().isDomain()) {
        return Future.failedFuture(SesException.badRequest("DKIM signing attributes apply to domain identities."));
      }
      boolean external = "EXTERNAL".equals(origin);
      if (!external && origin != null && !EASY_DKIM_ORIGIN.matcher(origin).matches()) {
        return Future.failedFuture(SesException.badRequest("Invalid SigningAttributesOrigin '" + origin + "'."));
      }
      if (external && (dkim == null || dkim.selector() == null)) {
        return Future.failedFuture(SesException.badRequest(
            "SigningAttributes with DomainSigningSelector and DomainSigningPrivateKey are required for EXTERNAL."));
      }
      Future<DkimKeyMaterial.Prepared> key;
      try {
        key = prepareKey(accountId, s.identity().name(), external ? dkim
            : new DkimRequest(null, null, dkim == null ? null : dkim.nextKeyLength()));
      } catch (SesException e) {
        return Future.failedFuture(e);
      }
      // a new Easy DKIM key for a domain whose key is verified and signs (its record found, or missing from a check
      // since: it signs then too): the next key, published beside the current one, which goes on signing until the
      // next one's record is found (SES's NextSigningKeyLength is the future key's); replacing it at once would send
      // mail unsigned until then
      boolean staged = !external && !dev && "AWS_SES".equals(s.identity().dkimOrigin())
          && (s.identity().dkimStatus() == Identity.Status.SUCCESS
              || s.identity().dkimStatus() == Identity.Status.TEMPORARY_FAILURE);
      return key.compose(k -> changed(staged
              ? store.stageDkimKey(accountId, s.identity().name(), k.selector(), k.keyLength(), k.encryptedPrivateKey(),
                  k.publicKey())
              : store.setDkimKey(accountId, s.identity().name(), external ? "EXTERNAL" : "AWS_SES", k.selector(),
                  k.keyLength(), k.encryptedPrivateKey(), k.publicKey(), dev), accountId, s.identity().name()))
          .compose(v -> get(accountId, s.identity().name()));
    });
  }

  public Future<Void> setMailFrom(String accountId, String rawName, String mailFromDomain, String behavior) {
    String b = behavior == null || behavior.isBlank() ? "USE_DEFAULT_VALUE" : behavior;
    if (!b.equals("USE_DEFAULT_VALUE") && !b.equals("REJECT_MESSAGE")) {
      return Future.failedFuture(SesException.badRequest(
          "Invalid BehaviorOnMxFailure '" + behavior + "': use USE_DEFAULT_VALUE or REJECT_MESSAGE."));
    }
    return find(accountId, rawName).compose(s -> {
      if (mailFromDomain == null || mailFromDomain.isBlank()) {
        return changed(store.setMailFrom(accountId, s.identity().name(), null, b, null), accountId,
            s.identity().name()).mapEmpty();
      }
      String domain;
      try {
        domain = IdentityNames.normalize(mailFromDomain);
      } catch (SesException e) {
        return Future.failedFuture(SesException.badRequest("Invalid MailFromDomain '" + mailFromDomain + "'."));
      }
      String parent = s.identity().domain();
      if (IdentityNames.isAddress(domain) || !domain.endsWith("." + parent)) {
        return Future.failedFuture(SesException.badRequest("MailFromDomain must be a subdomain of " + parent + "."));
      }
      String status = dev ? "SUCCESS" : "PENDING";
      return changed(store.setMailFrom(accountId, s.identity().name(), domain.toLowerCase(Locale.ROOT), b, status),
          accountId, s.identity().name()).mapEmpty();
    });
  }

  /**
   * SES v1's VerifyEmailIdentity, VerifyDomainIdentity and VerifyDomainDkim: creates the identity, or, when the
   * account has it already, leaves it as it is and sends a pending address's verification email again (SES sends it
   * again; here at most once per {@link #VERIFICATION_COOLDOWN_MILLIS}), and starts a FAILED domain's verification
   * again.
   * Either way the identity as it now is.
   */
  public Future<Identity> verify(Account account, String rawName) {
    String accountId = account.id();
    // looked up first: creating a domain makes its RSA key before the insert finds the name taken
    return get(accountId, rawName).transform(found -> {
      if (found.failed()) {
        if (!(found.cause() instanceof SesException s) || s.error() != SesError.NOT_FOUND) {
          return Future.failedFuture(found.cause());
        }
        return create(account, rawName, null, null, new JsonArray()).recover(e ->
            e instanceof SesException x && x.error() == SesError.ALREADY_EXISTS ? get(accountId, rawName)
                : Future.failedFuture(e));
      }
      Identity i = found.result();
      if (i.isDomain() && (i.verificationStatus() == Identity.Status.FAILED
          || i.dkimStatus() == Identity.Status.FAILED)) {
        return changed(store.restartDomainVerification(accountId, i.name()), accountId, i.name())
            .compose(v -> get(accountId, i.name()));
      }
      if (!i.isDomain() && i.verificationStatus() != Identity.Status.SUCCESS) {
        return resend(account, i.name()).compose(v -> get(accountId, i.name()));
      }
      return Future.succeededFuture(i);
    });
  }

  /** What {@link #verifyAgain} did. */
  public enum Again {
    /** A new verification email went to the address. */
    EMAIL_SENT,
    /** None went: one went there within the cooldown, the account's sending is paused, or it could not be sent. */
    EMAIL_NOT_SENT,
    /** The domain's DNS records are looked up at the next round; a FAILED verification or DKIM is PENDING again. */
    DNS_CHECK_SOON
  }

  /**
   * The console's "verify again" of an identity the account has (NotFound otherwise; it is not created): a pending or
   * FAILED address is sent a new verification email (as {@link #verify}), a domain not yet verified, or whose DKIM or
   * custom MAIL FROM is not, has its DNS records looked up at the next round instead of up to
   * {@code identity.dnsCheckIntervalSeconds} later, FAILED ones started again. A verified identity is a BadRequest:
   * nothing to do.
   */
  public Future<Again> verifyAgain(Account account, String rawName) {
    String accountId = account.id();
    return get(accountId, rawName).compose(i -> {
      if (i.isDomain()) {
        return changed(store.restartDomainVerification(accountId, i.name()), accountId, i.name())
            .compose(restarted -> restarted ? Future.succeededFuture(Again.DNS_CHECK_SOON)
                : Future.failedFuture(verifiedAlready(i.name())));
      }
      if (i.verificationStatus() == Identity.Status.SUCCESS) {
        return Future.failedFuture(verifiedAlready(i.name()));
      }
      return resend(account, i.name()).map(sent -> sent ? Again.EMAIL_SENT : Again.EMAIL_NOT_SENT);
    });
  }

  private static SesException verifiedAlready(String name) {
    return SesException.badRequest("Identity " + name + " is verified already: there is nothing to verify again.");
  }

  /**
   * A PENDING or FAILED (its link went unfollowed) address's new link, which makes it PENDING again; none while the
   * account's sending is paused. Whether an email went.
   */
  private Future<Boolean> resend(Account account, String address) {
    String accountId = account.id();
    return account.sendingEnabled()
        ? allowance.take(accountId).compose(v -> sendVerification(accountId, address))
        : notSentWhilePaused(accountId, address);
  }

  /** Names of the account's identities: {@link IdentityStore#names}. */
  public Future<List<String>> names(String accountId, String after, Identity.Type type, boolean verifiedOnly,
      int limit) {
    return store.names(accountId, after, type, verifiedOnly, limit);
  }

  /** The notification settings of those of {@code names} the account has, by the name as given. */
  public Future<Map<String, IdentityNotifications>> notifications(String accountId, List<String> names) {
    Map<String, String> normalized = new LinkedHashMap<>();
    for (String given : names) {
      try {
        normalized.put(given, IdentityNames.normalize(given));
      } catch (SesException e) {
        // not a name: not an identity of the account either
      }
    }
    return store.notifications(accountId, List.copyOf(new LinkedHashSet<>(normalized.values()))).map(rows -> {
      Map<String, IdentityNotifications> byName = new HashMap<>();
      rows.forEach(n -> byName.put(n.identity(), n));
      Map<String, IdentityNotifications> out = new LinkedHashMap<>();
      normalized.forEach((given, name) -> {
        if (byName.containsKey(name)) {
          out.put(given, byName.get(name));
        }
      });
      return out;
    });
  }

  /** Sets (a webhook URL, checked by the caller) or clears (null) the identity's topic for {@code type}. */
  public Future<Void> setNotificationTopic(String accountId, String rawName, NotificationType type, String url) {
    return notificationsChange(accountId, rawName, name -> store.setNotificationTopic(accountId, name, type, url));
  }

  /**
   * Feedback forwarding on or off. SES v1 turns it off only for an identity with a bounce and a complaint topic
   * ({@code requireTopics}); SES v2 (PutEmailIdentityFeedbackAttributes) without them too.
   */
  public Future<Void> setFeedbackForwarding(String accountId, String rawName, boolean enabled, boolean requireTopics) {
    return notificationsChange(accountId, rawName,
        name -> store.setFeedbackForwarding(accountId, name, enabled, requireTopics));
  }

  public Future<Void> setHeadersInNotifications(String accountId, String rawName, NotificationType type,
      boolean enabled) {
    return notificationsChange(accountId, rawName,
        name -> store.setHeadersInNotifications(accountId, name, type, enabled));
  }

  /**
   * A change of the identity's notification settings ({@code change} answers whether the identity exists); this node's
   * delivery outcomes learn at once that the account may have topics.
   */
  private Future<Void> notificationsChange(String accountId, String rawName,
      java.util.function.Function<String, Future<Boolean>> change) {
    String name;
    try {
      name = IdentityNames.normalize(rawName);
    } catch (SesException e) {
      return Future.failedFuture(notFound(rawName));
    }
    return change.apply(name).compose(found -> {
      if (!found) {
        return Future.failedFuture(notFound(rawName));
      }
      vertx.eventBus().publish(io.mailgate.EventBusAddresses.IDENTITY_TOPICS_CHANGED, accountId);
      return Future.succeededFuture();
    });
  }

  /** SES v1's VerificationToken of a domain: published at {@code _amazonses.<domain>}, it verifies the domain. */
  public String domainVerificationToken(Identity domain) {
    return tokens.of(domain.accountId(), domain.name());
  }

  /** Follows a verification link; the identity it names, when the link is genuine and in time. */
  public Future<Optional<String>> verifyLink(String token) {
    Optional<VerificationLinks.Claim> claim = links.check(token);
    if (claim.isEmpty()) {
      return Future.succeededFuture(Optional.empty());
    }
    return setVerified(claim.get())
        .map(updated -> updated ? Optional.of(claim.get().identity()) : Optional.<String>empty());
  }

  /** Marks the identity of a genuine link's claim verified; whether the account still has it. */
  public Future<Boolean> setVerified(VerificationLinks.Claim claim) {
    return changed(store.setVerified(claim.accountId(), claim.identity()), claim.accountId(), claim.identity());
  }

  /**
   * SendCustomVerificationEmail's registration of the address: a new pending email address identity (verified at once
   * in start-dev), without Mailgate's own verification email (the caller's custom one carries the link); an identity
   * the account has already is left as it is. The identity's normalized name.
   */
  public Future<String> registerAddress(String accountId, String rawName) {
    String name;
    try {
      name = IdentityNames.normalize(rawName);
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    if (!IdentityNames.isAddress(name)) {
      return Future.failedFuture(SesException.badRequest("EmailAddress must be an email address, not a domain."));
    }
    Identity i = new Identity(accountId, name, Identity.Type.EMAIL_ADDRESS,
        dev ? Identity.Status.SUCCESS : Identity.Status.PENDING, true, Identity.Status.NOT_STARTED, null, null, null,
        null, null, null, null, "USE_DEFAULT_VALUE", null, new JsonArray(), null, null);
    return changed(store.insertIfAbsent(i), accountId, name).map(name);
  }

  /**
   * Whether {@code address} may be sent from: it, its domain or a parent of its domain is a verified identity of the
   * account.
   */
  public Future<Boolean> isVerifiedSender(String accountId, String address) {
    String name;
    try {
      name = IdentityNames.normalize(address);
    } catch (SesException e) {
      return Future.succeededFuture(false);
    }
    // the address and its domains in one query
    List<String> names = new java.util.ArrayList<>(IdentityNames.domainAndParents(IdentityNames.domainOf(name)));
    names.add(0, name);
    return store.findAll(accountId, names).map(found -> found.stream()
        .anyMatch(s -> s.identity().verifiedForSending()));
  }

  /**
   * Sends the address its verification email, unless one went there in the last {@link #VERIFICATION_COOLDOWN_MILLIS};
   * counted by the allowance already: given back if none goes. The identity is PENDING while the link works and FAILED
   * after; with no email sent, its time runs from its first request.
   */
  private Future<Boolean> sendVerification(String accountId, String address) {
    String link = publicUrl + "/_mailgate/verify-email?token=" + links.token(accountId, address);
    return store.claimVerificationEmail(accountId, address, VERIFICATION_COOLDOWN_MILLIS).compose(claimed -> {
      if (!claimed) {
        LOG.info("verification email to " + address + " not sent: account " + accountId + "'s went there less than "
            + VERIFICATION_COOLDOWN_MILLIS / 60_000 + " minutes ago");
        allowance.giveBack(accountId);
        return Future.succeededFuture(false);
      }
      // not sent after all: the address is not held for the cooldown, so that asking again sends one
      return mailer.send(accountId, address, link).map(true)
          .recover(e -> store.releaseVerificationEmail(accountId, address).transform(v -> Future.failedFuture(e)));
    }).recover(e -> {
      // the identity exists; the user can ask again (VerifyEmailIdentity)
      LOG.warning("verification email to " + address + " could not be sent: " + e.getMessage());
      allowance.giveBack(accountId);
      return Future.succeededFuture(false);
    }).compose(sent -> linkSent(accountId, address, sent).map(sent));
  }

  /** No verification email while the account's sending is paused: its time to be verified runs as if none could go. */
  private Future<Boolean> notSentWhilePaused(String accountId, String address) {
    LOG.info("verification email to " + address + " not sent: sending is paused for account " + accountId);
    return linkSent(accountId, address, false).map(false);
  }

  /**
   * The address identity's verification link stops working in {@link VerificationLinks#ttl}: PENDING until then (again,
   * if it had FAILED), FAILED after. {@code sent}: a new link went out; otherwise only an identity that has no such
   * time yet gets one (the time to verify runs from the first request). Never fails: the email is gone either way,
   * and an identity left without the time stays PENDING.
   */
  public Future<Void> linkSent(String accountId, String address, boolean sent) {
    return changed(store.linkSent(accountId, address, links.ttl().toSeconds(), sent), accountId, address)
        .recover(e -> {
          LOG.warning("cannot record when " + address + "'s verification link stops working: " + e.getMessage());
          return Future.succeededFuture();
        });
  }

  private static SesException notFound(String name) {
    return new SesException(SesError.NOT_FOUND, "Email identity " + name + " does not exist.");
  }
}
