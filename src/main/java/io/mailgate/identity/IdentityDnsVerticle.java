package io.mailgate.identity;

import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.logging.Logger;

/**
 * Checks domain identities' DNS periodically: the DKIM TXT record ({@code <selector>._domainkey})
 * moves DKIM, and with it the domain, from PENDING to SUCCESS; a record that disappears makes it
 * TEMPORARY_FAILURE; still missing after {@code identity.pendingTimeoutHours} makes it FAILED. A
 * domain is also verified (not its DKIM) by SES v1's token at {@code _amazonses.<domain>}
 * ({@link DomainVerificationToken}). A verified domain with neither record found is TEMPORARY_FAILURE
 * (still sendable) and then FAILED the same way (no longer verified: SES refuses its mail then).
 * The custom MAIL FROM domain's MX record is checked the same way; it must name one of this
 * deployment's inbound hosts ({@code identity.mailFromMxHosts}, or {@code delivery.bounceDomain}'s), as
 * SES requires its own feedback host: bounces to another host would never come back.
 * Nodes share the work through the database (each row is taken by one node per round).
 */
public final class IdentityDnsVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(IdentityDnsVerticle.class.getName());

  private final MailgateConfig config;
  private final Clock clock;
  private Pool db;
  private IdentityStore store;
  private final DnsResolver dns;
  private long timer;
  private boolean running;

  private final DomainVerificationToken tokens;
  private final Set<String> mailFromMxHosts;

  public IdentityDnsVerticle(MailgateConfig config, Clock clock, DnsResolver dns, SecretBox secrets) {
    this.mailFromMxHosts = hostNames(config.get(MailgateConfig.IDENTITY_MAIL_FROM_MX_HOSTS));
    this.tokens = new DomainVerificationToken(secrets);
    this.config = config;
    this.clock = clock;
    this.dns = dns;
  }

  @Override
  public Future<?> start() {
    db = Database.pool(vertx, config, 1);
    store = new IdentityStore(db);
    int interval = config.get(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS);
    timer = vertx.setPeriodic(Math.max(1000, interval * 1000L / 5), id -> round());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return db.close();
  }

  private void round() {
    if (running) {
      return;
    }
    running = true;
    store.dueForDnsCheck(50, config.get(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS))
        .compose(due -> Future.join(due.stream().map(this::check).toList()))
        .onComplete(ar -> running = false);
  }

  private Future<Void> check(IdentityStore.DnsCheck c) {
    Duration timeout = Duration.ofHours(config.get(MailgateConfig.IDENTITY_PENDING_TIMEOUT_HOURS));
    Instant now = clock.instant();
    // null: a resolver problem, which says nothing about the record (checked again next round)
    Future<Identity.Status> dkim = c.selector() == null || !active(c.dkimStatus())
        ? Future.succeededFuture(c.dkimStatus())
        : dns.txt(c.selector() + "._domainkey." + c.domain()).map(answer -> answer instanceof DnsAnswer.Unavailable
            ? null
            : next(c.dkimStatus(), hasKey(answer.records(), c.publicKey()), c.dkimPendingSince(), now, timeout))
            .otherwise((Identity.Status) null);
    // an MX naming another host than identity.mailFromMxHosts' would take the bounces (and the bounce rate) away from
    // the feedback loop; with none named, any MX will do (not guessed from delivery.bounceDomain's MX: a deployment
    // that never named its hosts has domains verified through another alias of them, which a guess would fail)
    Future<Identity.Status> mailFrom = c.mailFromDomain() == null || !active(c.mailFromStatus())
        ? Future.succeededFuture(c.mailFromStatus())
        : dns.mx(c.mailFromDomain()).map(answer -> answer instanceof DnsAnswer.Unavailable
                ? c.mailFromStatus()
                : next(c.mailFromStatus(), answer.records().stream().anyMatch(mx -> !mx.isNullMx()
                        && (mailFromMxHosts.isEmpty() || mailFromMxHosts.contains(mx.exchange()))),
                    c.mailFromPendingSince(), now, timeout))
            .otherwise(c.mailFromStatus());
    // a next key (a new key length asked for while the current key signs) takes over once its record is published
    // (staged while the current key was verified; it may have lost its record since: the next key then takes over)
    Future<Boolean> nextKey = c.nextSelector() == null || (c.dkimStatus() != Identity.Status.SUCCESS
        && c.dkimStatus() != Identity.Status.TEMPORARY_FAILURE)
        ? Future.succeededFuture(false)
        : dns.txt(c.nextSelector() + "._domainkey." + c.domain())
            .map(answer -> !(answer instanceof DnsAnswer.Unavailable) && hasKey(answer.records(), c.nextPublicKey()))
            .otherwise(false);
    return Future.all(dkim, mailFrom, nextKey).compose(v -> {
      // the next key's record found: it signs from now on, verified (whatever the current key's record did)
      boolean promoted = nextKey.result();
      Identity.Status dkimNow = promoted ? Identity.Status.SUCCESS : dkim.result() == null ? c.dkimStatus() : dkim.result();
      return records(c, promoted || dkim.result() == Identity.Status.SUCCESS, dkim.result() == null).compose(found -> {
        Verification verification = verification(c.verificationStatus(), c.verificationFailsAt(), found,
            c.dkimStatus(), dkimNow, now, timeout);
        if (dkimNow != c.dkimStatus()) {
          LOG.info("DKIM of " + c.domain() + " (account " + c.accountId() + "): " + c.dkimStatus() + " -> " + dkimNow);
        }
        if (mailFrom.result() != c.mailFromStatus()) {
          LOG.info("MAIL FROM " + c.mailFromDomain() + ": " + c.mailFromStatus() + " -> " + mailFrom.result());
        }
        if (promoted) {
          LOG.info("DKIM of " + c.domain() + " (account " + c.accountId() + "): the next key's record is published, "
              + "selector " + c.nextSelector() + " signs from now on");
        }
        Identity.Status before = shown(c.verificationStatus(), c.verificationFailsAt());
        Identity.Status after = shown(verification.status(), verification.failsAt());
        if (before != after) {
          LOG.info("domain " + c.domain() + " (account " + c.accountId() + "): " + before + " -> " + after
              + (found == DomainRecords.FOUND && dkimNow != Identity.Status.SUCCESS
                  ? " (its " + DomainVerificationToken.RECORD_PREFIX + " token)" : ""));
        }
        return store.recordDnsCheck(c, dkimNow, mailFrom.result(), verification.status(), verification.failsAt(),
            promoted);
      });
    });
  }

  /** Whether a record that verifies the domain was found: its DKIM record or its SES v1 token. */
  enum DomainRecords { FOUND, MISSING, UNKNOWN }

  /**
   * Whether the domain's DKIM record ({@code dkimFound}; {@code dkimUnknown}: the resolver could not say) or else its
   * SES v1 token at {@code _amazonses.<domain>} verifies it; the token is asked for only while that matters (pending or
   * verified).
   */
  private Future<DomainRecords> records(IdentityStore.DnsCheck c, boolean dkimFound, boolean dkimUnknown) {
    if (dkimFound) {
      return Future.succeededFuture(DomainRecords.FOUND);
    }
    if (c.verificationStatus() != Identity.Status.PENDING && c.verificationStatus() != Identity.Status.SUCCESS) {
      return Future.succeededFuture(DomainRecords.MISSING);
    }
    return dns.txt(DomainVerificationToken.RECORD_PREFIX + c.domain())
        .map(answer -> answer instanceof DnsAnswer.Unavailable ? DomainRecords.UNKNOWN
            : DomainVerificationToken.present(answer.records(), tokens.of(c.accountId(), c.domain()))
                ? DomainRecords.FOUND : dkimUnknown ? DomainRecords.UNKNOWN : DomainRecords.MISSING)
        .otherwise(DomainRecords.UNKNOWN);
  }

  /** A domain's verification status as stored, and when a verified one whose records are missing is FAILED. */
  record Verification(Identity.Status status, Instant failsAt) {}

  /** The status the API shows for a stored one: {@link IdentityStore#COLUMNS}. */
  private static Identity.Status shown(Identity.Status stored, Instant failsAt) {
    return stored == Identity.Status.SUCCESS && failsAt != null ? Identity.Status.TEMPORARY_FAILURE : stored;
  }

  /**
   * A domain's verification after a check, as SES has it: verified (SUCCESS) once a record is found; a verified domain
   * whose records are all missing is TEMPORARY_FAILURE (still sendable; stored as SUCCESS with the time it fails),
   * verified again when one is back, and FAILED (no longer sendable) if none is back within {@code timeout}, or when
   * its DKIM record, lost meanwhile, has FAILED ({@code dkimBefore} TEMPORARY_FAILURE, {@code dkimAfter} FAILED). A
   * pending domain whose DKIM has FAILED fails with it.
   */
  static Verification verification(Identity.Status current, Instant failsAt, DomainRecords found,
      Identity.Status dkimBefore, Identity.Status dkimAfter, Instant now, Duration timeout) {
    if (found == DomainRecords.FOUND) {
      return new Verification(Identity.Status.SUCCESS, null);
    }
    if (current == Identity.Status.PENDING && dkimAfter == Identity.Status.FAILED) {
      return new Verification(Identity.Status.FAILED, null);
    }
    if (current == Identity.Status.SUCCESS && found == DomainRecords.MISSING) {
      Instant deadline = failsAt != null ? failsAt : now.plus(timeout);
      boolean dkimLost = dkimBefore == Identity.Status.TEMPORARY_FAILURE && dkimAfter == Identity.Status.FAILED;
      return dkimLost || !now.isBefore(deadline) ? new Verification(Identity.Status.FAILED, null)
          : new Verification(Identity.Status.SUCCESS, deadline);
    }
    return new Verification(current, failsAt);
  }


  /** {@code identity.mailFromMxHosts}: canonical host names (lower case, no trailing dot). */
  static Set<String> hostNames(String list) {
    return Arrays.stream(list.split(",")).map(IdentityDnsVerticle::hostName).filter(h -> !h.isEmpty())
        .collect(Collectors.toUnmodifiableSet());
  }

  private static String hostName(String h) {
    String s = h.strip().toLowerCase(Locale.ROOT);
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  private static boolean active(Identity.Status s) {
    return s == Identity.Status.PENDING || s == Identity.Status.SUCCESS || s == Identity.Status.TEMPORARY_FAILURE;
  }

  /** The status after a check that found the record ({@code present}) or not. */
  static Identity.Status next(Identity.Status current, boolean present, Instant pendingSince, Instant now,
      Duration timeout) {
    if (present) {
      return Identity.Status.SUCCESS;
    }
    if (current == Identity.Status.SUCCESS) {
      return Identity.Status.TEMPORARY_FAILURE;
    }
    if (pendingSince != null && now.isAfter(pendingSince.plus(timeout))) {
      return Identity.Status.FAILED;
    }
    return current;
  }

  /** True when one of the TXT records is a DKIM key record with exactly our public key. */
  static boolean hasKey(List<String> records, String publicKey) {
    for (String r : records) {
      String compact = r.replace(" ", "").replace("\t", "").replace("\"", "");
      for (String tag : compact.split(";")) {
        if (tag.startsWith("p=") && tag.substring(2).equals(publicKey)) {
          return true;
        }
      }
    }
    return false;
  }
}
