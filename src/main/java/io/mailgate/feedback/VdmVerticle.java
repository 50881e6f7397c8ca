package io.mailgate.feedback;

import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.identity.Identity;
import io.mailgate.identity.IdentityStore;
import io.mailgate.store.Database;
import io.mailgate.store.RecommendationStore;
import io.mailgate.store.VdmStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Virtual Deliverability Manager's metrics, one instance per node: every {@code vdm.intervalSeconds}, while some
 * account has VDM on, computes the days that are due ({@link VdmStore}): today, and a day until {@link #SETTLING}
 * after its end, every interval; the other days of the last {@code vdm.recomputeDays} every {@link #OLDER_DAYS_EVERY};
 * each by the one node that claims it, its lease renewed as it reads; never a day the retention sweep may have started
 * deleting (its figures would shrink), with {@link #RETENTION_MARGIN} to spare. A day whose computation fails is
 * released for the next pass, of any node, and so is the day being computed when the node stops.
 *
 * <p>Every {@link #ADVICE_EVERY} too, one node checks each such account's verified identities ({@link VdmAdvisor}:
 * DKIM, SPF, DMARC and BIMI records, bounce and complaint rates over the last {@link #ADVICE_DAYS} days) and writes
 * what it found for ListRecommendations: on a timer of its own (a slow DNS does not hold the metrics back), each
 * account claimed by one node, whose findings are written only while the claim is still its own.
 */
public final class VdmVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(VdmVerticle.class.getName());
  /** How often a day that ended is computed again: its late feedback trickles in. */
  static final Duration OLDER_DAYS_EVERY = Duration.ofHours(6);
  /** How long after its end a day is still computed every interval: its last messages' deliveries and bounces. */
  static final Duration SETTLING = Duration.ofHours(1);
  /**
   * The margin kept from the retention sweep: a day is left alone from this long before the sweep may reach its first
   * messages (the nodes' clocks differ a little; a pass takes a while).
   */
  static final Duration RETENTION_MARGIN = Duration.ofHours(1);
  /** How often an account's identities are checked for recommendations. */
  static final Duration ADVICE_EVERY = Duration.ofHours(1);
  /** The days (today's included) of VDM metrics bounce and complaint rates are judged by. */
  static final int ADVICE_DAYS = MailgateConfig.VDM_ADVICE_DAYS;
  /** A day's lease: far longer than its computation (statements of a bounded size, a few a second). */
  static final int LEASE_SECONDS = 900;

  private final MailgateConfig config;
  private final String leaseOwner;
  private final Clock clock;
  private final DnsResolver dns;
  private Pool db;
  private VdmStore store;
  private RecommendationStore recommendations;
  private IdentityStore identities;
  private VdmAdvisor advisor;
  private long timer = -1;
  private long adviceTimer = -1;
  private boolean running;
  private boolean advising;
  /** The day this node holds the lease of, while it computes it. */
  private LocalDate computing;

  public VdmVerticle(MailgateConfig config, String leaseOwner, Clock clock, DnsResolver dns) {
    this.config = config;
    this.leaseOwner = leaseOwner;
    this.clock = clock;
    this.dns = dns;
  }

  @Override
  public Future<?> start() {
    db = Database.pool(vertx, config, 1);
    store = new VdmStore(db);
    recommendations = new RecommendationStore(db);
    identities = new IdentityStore(db);
    advisor = new VdmAdvisor(dns, config.get(MailgateConfig.DELIVERY_BOUNCE_DOMAIN));
    long every = config.get(MailgateConfig.VDM_INTERVAL_SECONDS) * 1000L;
    timer = vertx.setPeriodic(every, t -> pass());
    adviceTimer = vertx.setPeriodic(every, t -> advisePass());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    vertx.cancelTimer(adviceTimer);
    // a day being computed is given up at once: another node (or this one restarted) need not wait out the lease
    Future<Void> released = computing == null ? Future.succeededFuture()
        : store.release(computing, leaseOwner).otherwiseEmpty();
    return released.eventually(() -> db.close());
  }

  private void pass() {
    if (running) {
      return;
    }
    running = true;
    store.enabledAccounts()
        .compose(accounts -> accounts.isEmpty() ? Future.<Void>succeededFuture()
            : days(accounts, clock.instant(), 0)
                .onFailure(e -> LOG.warning("VDM metrics not computed: " + e.getMessage())))
        .onFailure(e -> LOG.warning("VDM pass not made (the accounts with VDM on could not be read): "
            + e.getMessage()))
        .onComplete(ar -> running = false);
  }

  private void advisePass() {
    if (advising) {
      return;
    }
    advising = true;
    store.enabledAccounts()
        .compose(accounts -> advise(accounts, 0))
        .onFailure(e -> LOG.warning("VDM recommendations not checked (the accounts with VDM on could not be read): "
            + e.getMessage()))
        .onComplete(ar -> advising = false);
  }

  /** Checks the identities of the accounts from the {@code next}th on, each whose check is due and not taken. */
  private Future<Void> advise(List<String> accounts, int next) {
    if (next == accounts.size()) {
      return Future.succeededFuture();
    }
    String account = accounts.get(next);
    Instant now = clock.instant();
    LocalDate from = LocalDate.ofInstant(now, ZoneOffset.UTC).minusDays(ADVICE_DAYS - 1);
    return recommendations.claim(account, leaseOwner, now, now.minus(ADVICE_EVERY).plusSeconds(1))
        .compose(claim -> claim == null ? Future.<Void>succeededFuture() : verified(account, null, new ArrayList<>())
            .compose(found -> recommendations.sums(account, from, MailboxProviders.FEEDBACK_LOOPS)
                .compose(sums -> advisor.advise(found, sums, ADVICE_DAYS))
                .compose(findings -> recommendations.record(claim, found.stream().map(Identity::name).toList(),
                    findings, clock.instant())))
            .map(written -> {
              if (!written) {
                LOG.warning("VDM recommendations of account " + account + " not written: another node took the "
                    + "check over (it took over " + ADVICE_EVERY.toMinutes() + " minutes)");
              }
              return null;
            }))
        .recover(e -> {
          LOG.warning("VDM recommendations of account " + account + " not checked (again in "
              + ADVICE_EVERY.toMinutes() + " minutes): " + e.getMessage());
          return Future.succeededFuture();
        })
        .compose(v -> advise(accounts, next + 1));
  }

  /** The account's identities mail may be sent from, by name after {@code after}, added to {@code out}. */
  private Future<List<Identity>> verified(String account, String after, List<Identity> out) {
    return identities.page(account, after, IDENTITY_PAGE, null).compose(page -> {
      page.stream().map(IdentityStore.Stored::identity).filter(Identity::verifiedForSending).forEach(out::add);
      return page.size() < IDENTITY_PAGE ? Future.succeededFuture(out)
          : verified(account, page.get(page.size() - 1).identity().name(), out);
    });
  }

  private static final int IDENTITY_PAGE = 1000;

  /** Computes the days from {@code ago} days before today back, each that is due. */
  private Future<Void> days(List<String> accounts, Instant now, int ago) {
    LocalDate day = now.atZone(ZoneOffset.UTC).toLocalDate().minusDays(ago);
    if (ago >= config.get(MailgateConfig.VDM_RECOMPUTE_DAYS) || deletable(day, now)) {
      return Future.succeededFuture();
    }
    Duration interval = Duration.ofSeconds(config.get(MailgateConfig.VDM_INTERVAL_SECONDS));
    boolean recent = now.isBefore(day.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().plus(SETTLING));
    Duration every = recent ? interval : max(OLDER_DAYS_EVERY, interval);
    // nine tenths: a timer firing a little early must not find the last computation too recent
    Instant notSince = now.minusMillis(every.toMillis() * 9 / 10);
    return store.claim(day, leaseOwner, LEASE_SECONDS, notSince)
        .compose(claimed -> claimed ? computed(day, accounts) : Future.<Void>succeededFuture())
        .compose(v -> days(accounts, now, ago + 1));
  }

  private Future<Void> computed(LocalDate day, List<String> accounts) {
    computing = day;
    return store.count(day, accounts, leaseOwner, LEASE_SECONDS)
        .compose(counts -> store.replace(day, leaseOwner, accounts, counts, clock.instant()))
        .<Void>compose(written -> {
          if (!written) {
            LOG.warning("VDM metrics of " + day + " not written: another node took the day over");
          }
          return Future.succeededFuture();
        })
        .recover(e -> {
          if (e instanceof VdmStore.LeaseLost) {
            LOG.warning("VDM metrics of " + day + " not computed here: another node took the day over");
            return Future.succeededFuture();
          }
          LOG.warning("VDM metrics of " + day + " not computed (the next pass tries again): " + e.getMessage());
          return store.release(day, leaseOwner).otherwiseEmpty();
        })
        .onComplete(ar -> computing = null);
  }

  /**
   * Whether the retention sweep may have deleted messages of {@code day}: its start is {@code retention.days} ago or
   * more (0 keeps every message).
   */
  private boolean deletable(LocalDate day, Instant now) {
    int retention = config.get(MailgateConfig.RETENTION_DAYS);
    return retention > 0 && day.atStartOfDay(ZoneOffset.UTC).toInstant()
        .isBefore(now.minus(Duration.ofDays(retention)).plus(RETENTION_MARGIN));
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
