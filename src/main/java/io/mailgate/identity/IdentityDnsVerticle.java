package io.mailgate.identity;

import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.MxRecord;
import io.mailgate.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.logging.Logger;

/**
 * Checks domain identities' DNS periodically: the DKIM TXT record ({@code <selector>._domainkey})
 * moves DKIM, and with it the domain, from PENDING to SUCCESS; a record that disappears makes it
 * TEMPORARY_FAILURE; still missing after {@code identity.pendingTimeoutHours} makes it FAILED. A
 * pending domain is also verified (not its DKIM) by SES v1's token at {@code _amazonses.<domain>}
 * ({@link DomainVerificationToken}). The custom MAIL FROM domain's MX record is checked the same way.
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

  public IdentityDnsVerticle(MailgateConfig config, Clock clock, DnsResolver dns, SecretBox secrets) {
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
    Future<Identity.Status> dkim = c.selector() == null || !active(c.dkimStatus())
        ? Future.succeededFuture(c.dkimStatus())
        : dns.txt(c.selector() + "._domainkey." + c.domain()).map(answer -> answer instanceof DnsAnswer.Unavailable
            ? c.dkimStatus() // a resolver problem says nothing about the record: check again next round
            : next(c.dkimStatus(), hasKey(answer.records(), c.publicKey()), c.dkimPendingSince(), now, timeout))
            .otherwise(c.dkimStatus());
    Future<Identity.Status> mailFrom = c.mailFromDomain() == null || !active(c.mailFromStatus())
        ? Future.succeededFuture(c.mailFromStatus())
        : dns.mx(c.mailFromDomain()).map(answer -> answer instanceof DnsAnswer.Unavailable
            ? c.mailFromStatus()
            : next(c.mailFromStatus(), answer.records().stream().anyMatch(mx -> !mx.isNullMx()),
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
    // SES v1's VerifyDomainIdentity: a pending domain is verified by its _amazonses token too
    Future<Boolean> token = c.verificationStatus() != Identity.Status.PENDING ? Future.succeededFuture(false)
        : dns.txt(DomainVerificationToken.RECORD_PREFIX + c.domain())
            .map(answer -> !(answer instanceof DnsAnswer.Unavailable)
                && DomainVerificationToken.present(answer.records(), tokens.of(c.accountId(), c.domain())))
            .otherwise(false);
    return Future.all(dkim, mailFrom, token, nextKey).compose(v -> {
      if (token.result()) {
        LOG.info("domain " + c.domain() + " (account " + c.accountId() + ") verified by its "
            + DomainVerificationToken.RECORD_PREFIX + " token");
      }
      if (dkim.result() != c.dkimStatus()) {
        LOG.info("DKIM of " + c.domain() + " (account " + c.accountId() + "): " + c.dkimStatus() + " -> " + dkim.result());
      }
      if (mailFrom.result() != c.mailFromStatus()) {
        LOG.info("MAIL FROM " + c.mailFromDomain() + ": " + c.mailFromStatus() + " -> " + mailFrom.result());
      }
      // the next key's record found: it signs from now on, verified (whatever the current key's record did)
      boolean promoted = nextKey.result();
      if (promoted) {
        LOG.info("DKIM of " + c.domain() + " (account " + c.accountId() + "): the next key's record is published, "
            + "selector " + c.nextSelector() + " signs from now on");
      }
      return store.recordDnsCheck(c, promoted ? Identity.Status.SUCCESS : dkim.result(), mailFrom.result(),
          token.result(), promoted);
    });
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
