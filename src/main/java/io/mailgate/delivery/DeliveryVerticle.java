package io.mailgate.delivery;

import io.mailgate.ByteBudget;
import io.mailgate.EventBusAddresses;
import io.mailgate.OffLoop;
import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.feedback.InboundMail;
import io.mailgate.feedback.SimulatedReports;
import io.mailgate.feedback.ValidationThreshold;
import io.mailgate.store.SuppressionStore;
import io.mailgate.identity.SecretBox;
import io.mailgate.store.Database;
import io.mailgate.store.DeliveryQueue;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * Delivers committed messages, one SMTP transaction per recipient so each recipient gets its own
 * outcome: routed to the relay or to the recipient domain's MX hosts, through shaped, reused
 * connections per destination site. Soft failures are retried with backoff until the message's
 * maximum delivery time; hard ones are final. Work arrives from the node that accepted it (which
 * already holds the lease) and from a periodic scan of the queue (retries that are due, and
 * recipients whose lease expired because a node died), so nothing accepted is lost.
 *
 * <p>Outcomes go to the feedback handler over the event bus; this verticle never writes them, but it holds (renews) each
 * recipient's lease until the handler answers that the outcome is written or given up: an outcome that waits for the
 * database must not let the lease run out, or a scan would send a delivered message a second time.
 */
public final class DeliveryVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(DeliveryVerticle.class.getName());
  /** A message whose suppression lists or settings could not be read is claimed again after this. */
  static final int PREPARE_RETRY_SECONDS = 30;

  private final MailgateConfig config;
  private final String leaseOwner;
  private final Clock clock;
  private final DnsResolver dns;
  private final Sites sites;
  private final SecretBox secrets;
  private final io.mailgate.feedback.AddressValidation validation;
  /** Auto Validation: the recipients' verdicts, and each account's setting (cached for cache.ttlMillis). */
  private io.mailgate.feedback.AddressInsights insights;
  private io.mailgate.store.ReadThroughCache<ValidationThreshold> accountValidation;
  private NetClient netClient;
  private Pool db;
  private DeliveryQueue queue;
  private SuppressionStore suppressions;
  private io.mailgate.lists.UnsubscribedRecipients unsubscribedRecipients;
  private Router router;
  private DeliverySettings nodeDefaults;
  private io.mailgate.configset.ConfigurationSets configurationSets;
  private Shaping shaping;
  private ThrottleRules throttles;
  private RetryPolicy retry;
  private Verp verp;
  private SmtpConnection.Options options;
  /** A client bound to each source address (delivery.sourceAddresses, the sending pools' sources). */
  private final Map<String, NetClient> sourceClients = new HashMap<>();
  /** The SMTP options of each source: the node's, with the source's EHLO name. */
  private final Map<SendingPools.Source, SmtpConnection.Options> sourceOptions = new HashMap<>();
  /** Where each site's turn through its route's sources is (by site and sources), and when it was last taken. */
  private final Map<String, long[]> turns = new HashMap<>();
  private final Map<String, SitePool> pools = new HashMap<>();
  private SendingPools sendingPools;
  /** Fetches recipient domains' MTA-STS policies; null when delivery.mtaSts is off. */
  private io.vertx.core.http.HttpClient mtaStsClient;
  private MtaSts mtaSts;
  private final Set<String> warnedPools = new HashSet<>();
  private MessageConsumer<DeliveryJob> consumer;
  private long scanTimer = -1;
  private long poolSweeper = -1;
  private boolean scanning;
  private boolean stopping;
  private int pending;
  /** Set while stopping with attempts under way: completed by the last one. */
  private Promise<Void> drained;
  /** The grace for attempts under way has ended: connections are about to be closed under them. */
  private boolean cut;
  private int maxPending;
  /** The message contents the node's delivery instances hold, shared by them ({@link MailgateConfig#DELIVERY_MAX_CONTENT_KB}). */
  private ByteBudget contents;
  private final List<Future<Void>> releases = new ArrayList<>();
  /** The recipients this instance holds, from their claim until their outcome is written or they are given back. */
  private final Set<HeldLease> held = new HashSet<>();
  /**
   * The recipients every delivery instance of this node holds ("messageId/idx"), shared by them: a scan's claim that
   * returns one of them is not a second attempt to make (see {@link #notHeldOnNode}).
   */
  private HeldOnNode onNode;
  private long leaseMillis;
  private long leaseTimer = -1;
  private boolean renewing;
  /**
   * Renewals that failed in a row. A failed renewal is tried again a second later, not a renewal period (25 s under
   * the default lease) later: once the database is back after an outage long enough for leases to run out, another
   * node's scan may take them over, and the owner's renewal that comes first keeps them.
   */
  private int renewFailures;
  static final long RENEW_RETRY_MILLIS = 1000;
  /** How outcomes are handed to the feedback handler: its answer, that the outcome is written, waited for this long. */
  private DeliveryOptions outcomeOptions;

  /**
   * One attempt's hold on a recipient's lease, let go by that attempt alone (an object's identity, not the
   * recipient's: the answer about an outcome that comes after the recipient was claimed again must not let go of the
   * new claim).
   */
  private static final class HeldLease {
    final String messageId;
    final int idx;
    /** "messageId/idx", as {@link HeldOnNode} and a renewal's answer name it. */
    final String key;

    static String key(String messageId, int idx) {
      return messageId + "/" + idx;
    }
    /** When the lease was last taken or renewed: an age ({@code System.nanoTime} in ms), never the wall clock. */
    long since;

    HeldLease(String messageId, int idx, long since) {
      this.messageId = messageId;
      this.idx = idx;
      this.key = key(messageId, idx);
      this.since = since;
    }
  }

  /** The recipients held by the delivery instances of one run of a node (one lease owner), from any event loop. */
  private static final class HeldOnNode implements io.vertx.core.shareddata.Shareable {
    final Set<String> keys = java.util.concurrent.ConcurrentHashMap.newKeySet();
  }

  /**
   * The feedback handler answers once an outcome is written or given up (a write that fails is tried again for a
   * lease after its attempt), but a statement that waits on a lock or a slow database has no bound of its own: an
   * answer not in after this (or two leases, if longer) is taken as lost, and the lease let go to expire rather than
   * renewed for ever for an outcome that may never come.
   */
  static final long OUTCOME_ANSWER_MILLIS = 10 * 60_000L;

  public DeliveryVerticle(MailgateConfig config, String leaseOwner, Clock clock, DnsResolver dns, Sites sites,
      SecretBox secrets, io.mailgate.feedback.AddressValidation validation) {
    this.validation = validation;
    this.config = config;
    this.leaseOwner = leaseOwner;
    this.clock = clock;
    this.dns = dns;
    this.sites = sites;
    this.secrets = secrets;
  }

  /**
   * How relays' TLS certificates are checked ({@code relay.tlsVerify}, {@code relay.tlsCaFile}); a bad value or a CA
   * file that is not PEM certificates fails the start (the node checks it before deploying anything).
   */
  public static void checkRelayTls(MailgateConfig config) {
    relayTls(config);
  }

  private static RelayTls relayTls(MailgateConfig config) {
    return RelayTls.of(config.get(MailgateConfig.RELAY_TLS_VERIFY), config.get(MailgateConfig.RELAY_TLS_CA_FILE),
        config.get(MailgateConfig.DELIVERY_MTA_STS_CA_FILE));
  }

  /** The node's delivery settings from its config (a configuration set overrides some of them). */
  public static DeliverySettings nodeSettings(MailgateConfig config) {
    String mode = config.get(MailgateConfig.DELIVERY_MODE).strip().toLowerCase(Locale.ROOT);
    DeliverySettings.Mode m;
    if (mode.isEmpty()) {
      m = config.get(MailgateConfig.RELAY_URL).isBlank() ? DeliverySettings.Mode.DIRECT : DeliverySettings.Mode.RELAY;
    } else if (mode.equals("relay") || mode.equals("direct")) {
      m = DeliverySettings.Mode.valueOf(mode.toUpperCase(Locale.ROOT));
    } else {
      throw new ConfigException("delivery.mode must be relay or direct, not '" + mode + "'");
    }
    DeliverySettings.TlsPolicy tls;
    try {
      tls = DeliverySettings.TlsPolicy.valueOf(config.get(MailgateConfig.DELIVERY_TLS_POLICY).strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("delivery.tlsPolicy must be OPTIONAL or REQUIRE");
    }
    if (m == DeliverySettings.Mode.RELAY && config.get(MailgateConfig.RELAY_URL).isBlank()) {
      throw new ConfigException("delivery.mode is relay but relay.url is empty");
    }
    String relayUrl = config.get(MailgateConfig.RELAY_URL);
    return new DeliverySettings(m, m == DeliverySettings.Mode.RELAY ? SmtpRoute.parse(relayUrl) : null, tls,
        Duration.ofSeconds(config.get(MailgateConfig.DELIVERY_MAX_DELIVERY_SECONDS)), sourceAddresses(config));
  }

  /** {@code delivery.sourceAddresses}: where the node's own route's connections leave from (empty: the system chooses). */
  public static List<SendingPools.Source> sourceAddresses(MailgateConfig config) {
    return SendingPools.sources(config.get(MailgateConfig.DELIVERY_SOURCE_ADDRESSES),
        MailgateConfig.DELIVERY_SOURCE_ADDRESSES.path() + " (" + MailgateConfig.DELIVERY_SOURCE_ADDRESSES.envName() + ")");
  }

  /**
   * The sending pools and the source addresses: well written, and every source an address of this machine, which a
   * socket can be bound to (a typo would otherwise fail every delivery from it). Blocks: called before the node starts.
   */
  public static void checkSources(MailgateConfig config) {
    Map<SendingPools.Source, String> all = new java.util.LinkedHashMap<>();
    sourceAddresses(config).forEach(s -> all.putIfAbsent(s, MailgateConfig.DELIVERY_SOURCE_ADDRESSES.path()));
    SendingPools.parse(config.get(MailgateConfig.DELIVERY_SENDING_POOLS)).all()
        .forEach(p -> p.sources().forEach(s -> all.putIfAbsent(s, "sending pool " + p.name())));
    String nodeName = config.get(MailgateConfig.DELIVERY_HELO_NAME);
    java.util.function.Function<SendingPools.Source, String> ehlo = s -> s.heloName() != null ? s.heloName()
        : nodeName.isBlank() ? "delivery.heloName's" : nodeName;
    Map<String, SendingPools.Source> named = new HashMap<>();
    all.forEach((source, where) -> {
      SendingPools.Source other = named.putIfAbsent(source.address(), source);
      if (other != null && !ehlo.apply(other).equalsIgnoreCase(ehlo.apply(source))) { // DNS names ignore case
        // an address has one PTR name, which a receiver compares with the EHLO name
        throw new ConfigException("source address " + source.address() + " is given two EHLO names ("
            + ehlo.apply(other) + " in " + all.get(other) + ", " + ehlo.apply(source) + " in " + where
            + "): an address has one name, its PTR name");
      }
      try (java.net.Socket probe = new java.net.Socket()) {
        probe.bind(new java.net.InetSocketAddress(java.net.InetAddress.getByName(source.address()), 0));
      } catch (java.io.IOException e) {
        throw new ConfigException("source address " + source.address() + " (" + where + ") cannot be used by this "
            + "machine (" + e.getMessage() + "): delivery connections could not leave from it");
      }
    });
  }

  @Override
  public Future<?> start() {
    maxPending = config.get(MailgateConfig.DELIVERY_MAX_PENDING);
    long maxContent = config.get(MailgateConfig.DELIVERY_MAX_CONTENT_KB) > 0
        ? config.get(MailgateConfig.DELIVERY_MAX_CONTENT_KB) * 1024L : Runtime.getRuntime().maxMemory() / 8;
    contents = (ByteBudget) vertx.sharedData().getLocalMap("mailgate.delivery")
        .computeIfAbsent("contents", k -> new ByteBudget(maxContent));
    nodeDefaults = nodeSettings(config);
    sendingPools = SendingPools.parse(config.get(MailgateConfig.DELIVERY_SENDING_POOLS));
    SmtpRoute relay = nodeDefaults.relay();
    if (relay != null && relay.username() != null && !relay.implicitTls()) {
      LOG.warning("relay " + relay.host() + " has credentials: they are sent only after STARTTLS (or to a relay on "
          + "this machine); a relay that offers no TLS gets no password and nothing is delivered through it");
    }
    RelayTls tls = relayTls(config);
    if (config.get(MailgateConfig.TLS_RPT_ENABLED) && config.get(MailgateConfig.DELIVERY_MTA_STS)) {
      // testing MTA-STS policies' certificate checks, reported (read from the trust store once, at the start)
      tls = tls.withMtaStsTrust(config.get(MailgateConfig.DELIVERY_MTA_STS_CA_FILE));
    }
    if (config.get(MailgateConfig.DELIVERY_MTA_STS)) {
      // one HTTPS client per instance (its connections are not kept: a policy is fetched once per max_age)
      mtaStsClient = vertx.createHttpClient(new HttpClientOptions().setForceSni(true).setKeepAlive(false),
          new PoolOptions().setHttp1MaxSize(4));
      MtaSts.Cache cache = (MtaSts.Cache) vertx.sharedData().getLocalMap("mailgate.delivery")
          .computeIfAbsent("mtaSts", k -> new MtaSts.Cache());
      mtaSts = new MtaSts(vertx, cache, dns, mtaStsClient, tls.mtaStsOptions(),
          config.get(MailgateConfig.DELIVERY_MTA_STS_PORT), config.get(MailgateConfig.DELIVERY_ALLOW_PRIVATE_ADDRESSES),
          config.get(MailgateConfig.DELIVERY_CONNECT_TIMEOUT_SECONDS) * 1000L, () -> clock.millis());
    }
    router = new Router(dns, config.get(MailgateConfig.DELIVERY_DIRECT_PORT),
        config.get(MailgateConfig.DELIVERY_ALLOW_PRIVATE_ADDRESSES), mtaSts, config.get(MailgateConfig.DELIVERY_DANE),
        config.get(MailgateConfig.TLS_RPT_ENABLED) ? TlsReportCounts.create(vertx, clock) : null);
    shaping = Shaping.load(config.get(MailgateConfig.DELIVERY_SHAPING_FILE));
    throttles = ThrottleRules.load(config.get(MailgateConfig.DELIVERY_THROTTLE_RULES_FILE));
    retry = new RetryPolicy(Duration.ofSeconds(config.get(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS)),
        Duration.ofSeconds(config.get(MailgateConfig.DELIVERY_RETRY_MAX_SECONDS)));
    verp = new Verp(secrets);
    netClient = vertx.createNetClient(new NetClientOptions()
        .setTcpNoDelay(true)
        .setConnectTimeout(config.get(MailgateConfig.DELIVERY_CONNECT_TIMEOUT_SECONDS) * 1000));
    db = Database.pool(vertx, config, 2);
    queue = new DeliveryQueue(db, leaseOwner, config.get(MailgateConfig.DELIVERY_LEASE_SECONDS));
    onNode = (HeldOnNode) vertx.sharedData().getLocalMap("mailgate.delivery")
        .computeIfAbsent("held/" + leaseOwner, k -> new HeldOnNode());
    suppressions = new SuppressionStore(vertx, db, config.get(MailgateConfig.FEEDBACK_GLOBAL_SUPPRESSION_DAYS),
        config.get(MailgateConfig.PG_BATCHES_IN_FLIGHT), config.get(MailgateConfig.PG_DELIVERY_LINGER_MILLIS));
    unsubscribedRecipients = new io.mailgate.lists.UnsubscribedRecipients(vertx, db,
        config.get(MailgateConfig.PG_BATCHES_IN_FLIGHT), config.get(MailgateConfig.PG_DELIVERY_LINGER_MILLIS));
    configurationSets = io.mailgate.configset.ConfigurationSets.forDelivery(
        new io.mailgate.configset.ConfigurationSetStore(db), clock, config.get(MailgateConfig.CACHE_TTL_MILLIS));
    insights = new io.mailgate.feedback.AddressInsights(validation, dns, suppressions);
    SuppressionStore accounts = suppressions;
    accountValidation = new io.mailgate.store.ReadThroughCache<>(clock, config.get(MailgateConfig.CACHE_TTL_MILLIS),
        (account, unused) -> accounts.validation(account).map(java.util.Optional::ofNullable));
    long commandTimeout = config.get(MailgateConfig.DELIVERY_COMMAND_TIMEOUT_SECONDS) * 1000L;
    // RFC 5321 4.5.3.2's 5 minutes for a reply, 10 for the one to the final dot, 3 for each block of the content
    options = new SmtpConnection.Options(config.get(MailgateConfig.DELIVERY_HELO_NAME),
        config.get(MailgateConfig.DELIVERY_CONNECT_TIMEOUT_SECONDS) * 1000L, commandTimeout,
        config.get(MailgateConfig.DELIVERY_DATA_TIMEOUT_SECONDS) * 1000L, commandTimeout * 3 / 5, tls);
    List<SendingPools.Source> sources = new ArrayList<>(nodeDefaults.sources());
    sendingPools.all().forEach(p -> sources.addAll(p.sources()));
    for (SendingPools.Source source : sources) {
      sourceClients.computeIfAbsent(source.address(), a -> vertx.createNetClient(new NetClientOptions()
          .setTcpNoDelay(true)
          .setLocalAddress(a)
          .setConnectTimeout(config.get(MailgateConfig.DELIVERY_CONNECT_TIMEOUT_SECONDS) * 1000)));
      sourceOptions.computeIfAbsent(source, k -> k.heloName() == null ? options
          : new SmtpConnection.Options(k.heloName(), options.connectTimeoutMs(), options.commandTimeoutMs(),
              options.dataTimeoutMs(), options.dataBlockTimeoutMs(), options.relayTls()));
    }
    consumer = vertx.eventBus().localConsumer(EventBusAddresses.SEND_ACCEPTED, msg -> onAccepted(msg.body()));
    long interval = config.get(MailgateConfig.DELIVERY_SCAN_INTERVAL_SECONDS) * 1000L;
    scanTimer = vertx.setPeriodic(Math.min(1000, interval), interval, id -> scan());
    poolSweeper = vertx.setPeriodic(60_000, id -> dropIdlePools());
    leaseMillis = config.get(MailgateConfig.DELIVERY_LEASE_SECONDS) * 1000L;
    outcomeOptions = new DeliveryOptions().setSendTimeout(Math.max(OUTCOME_ANSWER_MILLIS, 2 * leaseMillis));
    leaseTimer = renewingLeases();
    return consumer.completion();
  }

  /**
   * Renewals every twelfth of a lease, of leases a sixth old: a lease has three quarters of its time left or more
   * when the database goes away, and a renewal that fails is tried again a few times before half of that is gone. A
   * failover shorter than three quarters of a lease (225 s under the default 300) leaves no lease to lapse under an
   * attempt or an outcome waiting to be written, where a third and a sixth left half a lease.
   */
  private long renewingLeases() {
    return vertx.setPeriodic(renewalCheckMillis(), id -> renewLeases());
  }

  private long renewalCheckMillis() {
    return Math.max(1000, leaseMillis / 12);
  }

  /**
   * Renews the leases of recipients this instance has held for a sixth of a lease or more. An attempt may
   * legitimately outlast a lease (a server may take minutes to answer each command, and a site's connections may all
   * be busy), and so may the write of its outcome (a slow or locked database, a write tried again); a scan would then
   * take the recipient over and send it a second time. A lease is renewed only while its recipient is held here, from
   * its claim until its outcome is written: one whose outcome could not be written (given up) still expires and goes
   * to another scan.
   */
  private void renewLeases() {
    if (held.isEmpty()) {
      renewFailures = 0; // nothing left to renew: the next outage's first failure is logged again
    }
    if (renewing || held.isEmpty()) {
      return;
    }
    long now = System.nanoTime() / 1_000_000; // an age: never the wall clock, which may step back and stop renewals
    List<HeldLease> due = new ArrayList<>();
    // a sixth old, within half a check: a lease renewed at one check is renewed again two checks later, though that
    // check may come a millisecond short of the sixth (it came a check later, a quarter old, now and then)
    long dueAge = leaseMillis / 6 - renewalCheckMillis() / 2;
    for (HeldLease h : held) {
      if (now - h.since >= dueAge) {
        due.add(h);
      }
    }
    if (due.isEmpty()) {
      return;
    }
    renewing = true;
    queue.renew(due.stream().map(h -> h.messageId).toArray(String[]::new),
        due.stream().map(h -> h.idx).toArray(Integer[]::new)).onComplete(ar -> {
          renewing = false;
          if (ar.failed()) {
            if (renewFailures++ == 0) {
              LOG.warning("could not renew " + due.size() + " delivery leases (another node may take them over when "
                  + "they expire); tried again every second until it can: " + ar.cause().getMessage());
            }
            if (!cut) {
              vertx.setTimer(RENEW_RETRY_MILLIS, t -> renewLeases());
            }
            return;
          }
          if (renewFailures > 0) {
            LOG.info("delivery leases renewed again after " + renewFailures + " failed attempts");
            renewFailures = 0;
          }
          for (HeldLease h : due) {
            if (ar.result().contains(h.key)) {
              h.since = now; // one let go meanwhile is no longer read; one not renewed is tried again next time
            }
          }
        });
  }

  /**
   * Direct delivery meets many sites: a pool with nothing open and nothing waiting is dropped, and with it its hold on
   * the site's state, which the node then forgets unless it is paused or slowed down (or another pool holds it).
   */
  private void dropIdlePools() {
    if (mtaSts != null) {
      mtaSts.sweep();
    }
    long forgetBefore = System.currentTimeMillis() - TURNS_KEPT_MILLIS;
    turns.values().removeIf(t -> t[1] < forgetBefore);
    for (Iterator<SitePool> it = pools.values().iterator(); it.hasNext(); ) {
      SitePool p = it.next();
      if (p.isIdle()) {
        close(p);
        it.remove();
      }
    }
    sites.sweep(System.currentTimeMillis());
  }

  private Future<Void> close(SitePool p) {
    return p.close().onComplete(ar -> sites.release(p.site()));
  }

  /** {@code n} recipients' attempts over (their outcomes sent); the last one lets a stopping node go on. */
  private void done(int n) {
    pending -= n;
    if (drained != null && pending == 0) {
      drained.tryComplete();
    }
  }

  /**
   * Stopping waits this long for transactions under way (a message written, its reply not in yet): cutting them
   * would send those messages again from the queue, as if the node had crashed.
   */
  static final long STOP_GRACE_MILLIS = 20_000;

  /** Completes when no attempt is under way, or after {@link #STOP_GRACE_MILLIS}. */
  private Future<Void> attemptsOver() {
    if (pending == 0) {
      return Future.succeededFuture();
    }
    drained = Promise.promise();
    long timer = vertx.setTimer(STOP_GRACE_MILLIS, t -> {
      if (drained.tryComplete()) {
        LOG.warning(pending + " delivery attempts still under way as the node stops: their recipients go back to "
            + "the queue when their leases expire");
      }
    });
    return drained.future().onComplete(ar -> vertx.cancelTimer(timer));
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(scanTimer);
    vertx.cancelTimer(poolSweeper);
    vertx.cancelTimer(leaseTimer);
    // stop taking work; attempts still waiting for a connection end "not attempted" and are released; attempts under
    // way finish (their leases renewed meanwhile), so a restart does not send their messages twice
    return consumer.unregister()
        .compose(v -> {
          pools.values().forEach(SitePool::stopTaking);
          if (pending > 0) {
            leaseTimer = renewingLeases();
          }
          return attemptsOver().onComplete(ar -> {
            cut = true;
            vertx.cancelTimer(leaseTimer);
          });
        })
        .compose(v -> Future.join(pools.values().stream().map(this::close).toList()))
        .compose(v -> Future.join(new ArrayList<>(releases)))
        .eventually(() -> Future.join(closingClients()).mapEmpty())
        // attempts cut by that close give their recipients back too: before the pool closes, or their leases would
        // hold them for a whole lease
        .eventually(() -> vertx.timer(50).compose(t -> Future.join(new ArrayList<>(releases))))
        .eventually(() -> db.close());
  }

  private List<Future<Void>> closingClients() {
    List<Future<Void>> closing = new ArrayList<>();
    closing.add(netClient.close());
    sourceClients.values().forEach(c -> closing.add(c.close()));
    if (mtaStsClient != null) {
      closing.add(mtaStsClient.close());
    }
    return closing;
  }

  private void onAccepted(DeliveryJob job) {
    if (stopping || pending + job.recipients().size() > maxPending || !contents.take(job.content().length)) {
      // more than fits in memory: leave it in the queue; a scan picks it up when there is room
      track(queue.release(job.messageId(), job.recipients()));
      return;
    }
    deliver(job);
  }

  private void scan() {
    if (scanning || stopping || pending > maxPending / 2) {
      return;
    }
    scanning = true;
    queue.claim(Math.min(1000, maxPending - pending), contents).onComplete(ar -> {
      scanning = false;
      if (ar.failed()) {
        LOG.log(Level.WARNING, "queue scan failed: " + ar.cause().getMessage());
        return;
      }
      for (DeliveryJob job : ar.result()) {
        if (stopping) {
          track(queue.release(job.messageId(), job.recipients())); // claimed as the node stopped: give it back now
          contents.release(job.content().length);
        } else {
          deliver(notHeldOnNode(job));
        }
      }
    });
  }

  /**
   * The job without the recipients an attempt of this node already holds. Their lease ran out under it (renewals
   * that failed while the database was away for three quarters of a lease or more) and the scan took it again, for
   * the same owner: the attempt under way keeps it, renews it and writes its outcome (the claim leaves the outcome's
   * fence, the recipient's next_attempt_at, as it was); a second attempt would send the message twice.
   */
  private DeliveryJob notHeldOnNode(DeliveryJob job) {
    List<DeliveryJob.Recipient> free = null;
    for (int i = 0; i < job.recipients().size(); i++) {
      DeliveryJob.Recipient r = job.recipients().get(i);
      if (onNode.keys.contains(HeldLease.key(job.messageId(), r.idx()))) {
        if (free == null) {
          free = new ArrayList<>(job.recipients().subList(0, i));
        }
      } else if (free != null) {
        free.add(r);
      }
    }
    if (free == null) {
      return job;
    }
    LOG.warning((job.recipients().size() - free.size()) + " recipients of " + job.messageId() + " claimed again while "
        + "this node still holds them (their lease ran out under an attempt): not sent a second time");
    return job.withRecipients(free);
  }

  private void hold(HeldLease lease) {
    held.add(lease);
    onNode.keys.add(lease.key);
  }

  /** Lets go of the attempt's lease: no longer renewed, and claimable again by this node once it expires. */
  private void letGo(HeldLease lease) {
    if (held.remove(lease)) {
      onNode.keys.remove(lease.key);
    }
  }

  private void deliver(DeliveryJob job) {
    if (job.recipients().isEmpty()) {
      contents.release(job.content().length); // nothing to hold it for
      return;
    }
    List<String> emails = new ArrayList<>();
    for (DeliveryJob.Recipient r : job.recipients()) {
      if (!Simulator.handles(r.address())) {
        emails.add(r.address().toLowerCase(Locale.ROOT));
      }
    }
    pending += job.recipients().size();
    // the content is held (and counted in contents) until the last of its recipients is done
    int[] left = {job.recipients().size()};
    java.util.function.IntConsumer finished = n -> {
      done(n);
      left[0] -= n;
      if (left[0] == 0) {
        contents.release(job.content().length);
      }
    };
    long now = System.nanoTime() / 1_000_000; // held since: the age renewLeases measures
    List<HeldLease> leases = new ArrayList<>(job.recipients().size()); // by recipient, in order
    for (DeliveryJob.Recipient r : job.recipients()) {
      HeldLease lease = new HeldLease(job.messageId(), r.idx(), now);
      leases.add(lease);
      hold(lease);
    }
    Future<Map<String, SuppressionStore.Listed>> listed = emails.isEmpty()
        ? Future.succeededFuture(Map.of()) : suppressions.check(job.accountId(), emails);
    Future<java.util.Set<String>> unsubscribed = job.contactList() == null || emails.isEmpty()
        ? Future.succeededFuture(java.util.Set.of())
        : unsubscribedRecipients.check(job.accountId(), job.contactList(), job.contactListTopic(), emails);
    Future<java.util.Optional<io.mailgate.configset.ConfigurationSet>> setOf = job.configurationSet() == null
        ? NO_SET : configurationSets.find(job.accountId(), job.configurationSet());
    Future<DeliverySettings> settingsOf = TlsReport.isReportMail(job)
        ? setOf.map(found -> settings(found).forTlsReport()) : setOf.map(this::settings);
    // the account's Auto Validation setting (a map hit while cached), with the set's over it below
    Future<java.util.Optional<ValidationThreshold>> accountValidationOf = emails.isEmpty() ? NO_VALIDATION
        : accountValidation.get(job.accountId(), "");
    // a large message is dot-stuffed on a worker thread meanwhile
    Future<OutgoingMessage> prepared = OffLoop.when(job.content().length, () -> new OutgoingMessage(job.content()));
    Future.all(List.of(listed, settingsOf, unsubscribed, prepared, accountValidationOf)).onComplete(all -> {
      if (all.failed() || stopping) {
        // suppression lists, contacts or settings cannot be read: do not send blind, try again from the queue (and a node
        // stopping meanwhile has closed its pools: the recipients go back as they are)
        if (all.failed()) {
          LOG.warning("cannot prepare " + job.messageId() + ", it goes back to the queue: " + all.cause().getMessage());
        }
        leases.forEach(this::letGo);
        track(queue.releaseFor(job.messageId(), job.recipients(), stopping ? 0 : PREPARE_RETRY_SECONDS));
        finished.accept(job.recipients().size());
        return;
      }
      OutgoingMessage message = prepared.result();
      DeliverySettings s = settingsOf.result();
      ValidationThreshold threshold = ValidationThreshold.effective(
          setOf.result().map(io.mailgate.configset.ConfigurationSet::validation).orElse(null),
          accountValidationOf.result().orElse(null));
      for (int i = 0; i < job.recipients().size(); i++) {
        DeliveryJob.Recipient r = job.recipients().get(i);
        HeldLease lease = leases.get(i);
        String mailFrom = job.verpDomain() == null ? job.envelopeFrom()
            : verp.localPart(job.messageId(), r.idx()) + "@" + job.verpDomain();
        Future<AttemptResult> attempt;
        try {
          attempt = attempt(job, r, s, mailFrom, message, listed.result(), unsubscribed.result(), threshold);
        } catch (RuntimeException e) { // a bug: the recipient is still done (and counted), as a soft failure
          LOG.log(Level.SEVERE, "cannot attempt " + job.messageId() + "/" + r.idx(), e);
          attempt = Future.failedFuture(e);
        }
        attempt.onComplete(done -> {
          AttemptResult result = done.succeeded() ? done.result()
              : new AttemptResult.Failed("delivery error: " + done.cause().getMessage(), null);
          try {
            // the simulator answers a message with a sender only (a forwarded bounce has none: nothing answers it)
            finish(job, r, lease, result, s, result instanceof AttemptResult.Delivered
                && Simulator.handles(r.address()) && !mailFrom.isEmpty() ? simulatedFeedback(job, r, mailFrom) : null);
          } catch (RuntimeException e) {
            letGo(lease); // no outcome was handed over: nothing would let it go
            throw e;
          } finally {
            finished.accept(1);
          }
        });
      }
    });
  }

  /**
   * The attempt for one recipient: simulated, suppressed, unsubscribed, held back by Auto Validation, or sent by the
   * route its domain takes.
   */
  private Future<AttemptResult> attempt(DeliveryJob job, DeliveryJob.Recipient r, DeliverySettings s, String mailFrom,
      OutgoingMessage message, Map<String, SuppressionStore.Listed> listed, java.util.Set<String> unsubscribed,
      ValidationThreshold threshold) {
    String lower = listed.isEmpty() && unsubscribed.isEmpty() ? null : r.address().toLowerCase(Locale.ROOT);
    SuppressionStore.Listed list = lower == null ? null : listed.get(lower);
    if (Simulator.handles(r.address())) {
      return Future.succeededFuture(Simulator.attempt(r.address()));
    } else if (list != null) {
      return Future.succeededFuture(AttemptResult.Suppressed.on(list));
    } else if (lower != null && unsubscribed.contains(lower)) {
      // checked now rather than at acceptance, as suppression is: an unsubscription made while the message
      // waited still counts
      return Future.succeededFuture(new AttemptResult.Suppressed(false, "contact list " + job.contactList()
          + (job.contactListTopic() == null ? "" : " (topic " + job.contactListTopic() + ")")));
    } else if (threshold != null && threshold.enabled()) {
      // no verdict (an address the API's parser would not take) or one at the threshold: sent as without validation
      // (where a DNS failure defers); a node stopping meanwhile gives the recipient back rather than judge it
      return insights.beforeDelivery(r.address()).compose(verdict -> verdict != null && !stopping
          && threshold.suppresses(verdict)
          ? Future.succeededFuture(new AttemptResult.Suppressed(false, null, verdict + ", below the "
              + (threshold.threshold() == null ? "MANAGED" : threshold.threshold()) + " threshold"))
          : send(job, r, s, mailFrom, message));
    }
    return send(job, r, s, mailFrom, message);
  }

  /** Sends to one recipient by the route its domain takes. */
  private Future<AttemptResult> send(DeliveryJob job, DeliveryJob.Recipient r, DeliverySettings s, String mailFrom,
      OutgoingMessage message) {
    // the router answers every DNS outcome itself; a failure here is ours (the resolver closing, a bug), which
    // says nothing about the domain: a soft failure, not a bounce that would suppress the address
    return router.route(s, r.address())
        .recover(e -> Future.succeededFuture(new Router.Fail(new AttemptResult.Failed(
            "recipient domain could not be routed: " + e.getMessage(), null))))
        .compose(route -> stopping // its pools are closed: the recipient goes back untouched
            ? Future.succeededFuture(new AttemptResult.Deferred(clock.instant(), "the node is stopping", null))
            : route instanceof Router.Go go ? deliver(go, s, mailFrom, r.address(), message, job.messageId())
                : Future.succeededFuture(((Router.Fail) route).result()));
  }

  private static final Future<java.util.Optional<io.mailgate.configset.ConfigurationSet>> NO_SET =
      Future.succeededFuture(java.util.Optional.empty());
  private static final Future<java.util.Optional<ValidationThreshold>> NO_VALIDATION =
      Future.succeededFuture(java.util.Optional.empty());

  /**
   * The node's settings, with the message's configuration set's delivery options over them (those it had, when it was
   * deleted since the message was sent). A deleted set's Auto Validation setting is gone with it: the account's then.
   */
  private DeliverySettings settings(java.util.Optional<io.mailgate.configset.ConfigurationSet> found) {
    return found.map(cs -> {
      SendingPools.Pool pool = cs.sendingPoolName() == null ? null : sendingPools.get(cs.sendingPoolName()).orElse(null);
      if (cs.sendingPoolName() != null && pool == null && warnedPools.add(cs.sendingPoolName())) {
        LOG.warning("configuration set " + cs.name() + " (account " + cs.accountId() + ") names sending pool "
            + cs.sendingPoolName() + ", which delivery.sendingPools no longer has: the node's route is used");
      }
      return new DeliverySettings(pool == null ? nodeDefaults.mode() : pool.mode(),
          pool == null ? nodeDefaults.relay() : pool.relay(),
          cs.tlsPolicy() == null ? nodeDefaults.tlsPolicy() : DeliverySettings.TlsPolicy.valueOf(cs.tlsPolicy()),
          cs.maxDeliverySeconds() == null ? nodeDefaults.maxDeliveryTime() : Duration.ofSeconds(cs.maxDeliverySeconds()),
          pool == null || pool.sources().isEmpty() ? nodeDefaults.sources() : pool.sources());
    }).orElse(nodeDefaults);
  }

  /** The mailbox simulator's auto-reply or complaint, to be received as if it came from outside. */
  private InboundMail simulatedFeedback(DeliveryJob job, DeliveryJob.Recipient r, String returnPath) {
    java.time.ZonedDateTime now = java.time.ZonedDateTime.ofInstant(clock.instant(), java.time.ZoneOffset.UTC);
    byte[] report = switch (Simulator.followUp(r.address())) {
      case AUTO_REPLY -> SimulatedReports.autoReply(r.address(), returnPath, job.content(), now);
      case COMPLAINT -> SimulatedReports.complaint(r.address(), returnPath, job.content(), now);
      case NONE -> null;
    };
    return report == null ? null
        : new InboundMail(r.address(), List.of(returnPath), report, Simulator.HOST, clock.instant());
  }

  /** A site's turn through its sources is forgotten after this long without a message to it. */
  static final long TURNS_KEPT_MILLIS = 10 * 60_000L;

  /**
   * Delivers through the pool of the route's next source for the site, in turn (each site has its own turn, so every
   * address of the route meets every site), among those that can reach one of its hosts; a route without sources
   * leaves from where the system chooses.
   */
  private Future<AttemptResult> deliver(Router.Go go, DeliverySettings s, String mailFrom, String rcpt,
      OutgoingMessage message, String envelopeId) {
    return deliver(go, s, mailFrom, rcpt, message, envelopeId, FIRST_TRY);
  }

  /** A first try's {@code movedAfterWaitingSince}: the wait clock's values may be negative. */
  private static final long FIRST_TRY = Long.MIN_VALUE;

  /**
   * As above; {@code movedAfterWaitingSince} ({@link SitePool#waitClock}), {@link #FIRST_TRY} for a first try: a
   * message its address's pool gives back without an attempt because the site cannot be reached from that address now (paused for it while the message waited in its
   * pool, or its hosts set aside for it) goes, once, from another address that can go now, rather than back to the
   * queue until the first one can; its wait there counts from when it began to wait in the first pool, so the lease
   * it holds covers both waits as it covered one.
   */
  private Future<AttemptResult> deliver(Router.Go go, DeliverySettings s, String mailFrom, String rcpt,
      OutgoingMessage message, String envelopeId, long movedAfterWaitingSince) {
    List<SendingPools.Source> sources = s.sources();
    if (sources.isEmpty()) {
      return pool(go, s, null, go.endpoints()).deliver(mailFrom, rcpt, message, envelopeId);
    }
    // a turn starts at a random address: a site that gets a message now and then, and a burst of one message to each
    // of many sites, are spread over the addresses too
    long[] turn = turns.computeIfAbsent(go.siteKey() + "|" + sources,
        k -> new long[] {java.util.concurrent.ThreadLocalRandom.current().nextInt(sources.size()), 0});
    long now = System.currentTimeMillis();
    turn[1] = now;
    int n = sources.size();
    int first = (int) Math.floorMod(turn[0], (long) n);
    List<List<SmtpConnection.Endpoint>> reachable = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      reachable.add(reachableFrom(sources.get(i), go.endpoints()));
    }
    int chosen = choose(downUntil(go, sources, reachable, now), first);
    if (chosen >= 0) {
      turn[0] += Math.floorMod(chosen - first, n) + 1; // the addresses passed over have had their turn
      SitePool pool = pool(go, s, sources.get(chosen), reachable.get(chosen));
      if (movedAfterWaitingSince != FIRST_TRY) {
        return pool.deliver(mailFrom, rcpt, message, envelopeId, movedAfterWaitingSince);
      }
      long waitingSince = SitePool.waitClock();
      Future<AttemptResult> attempt = pool.deliver(mailFrom, rcpt, message, envelopeId, waitingSince);
      return n == 1 ? attempt : attempt.compose(r -> r instanceof AttemptResult.Deferred d && d.addressDown()
          && !stopping && Arrays.stream(downUntil(go, sources, reachable, System.currentTimeMillis()))
              .anyMatch(t -> t == 0)
          ? deliver(go, s, mailFrom, rcpt, message, envelopeId, waitingSince) : Future.succeededFuture(r));
    }
    // a soft failure: the site may gain an address of the family later, or the operator another source
    return Future.succeededFuture(new AttemptResult.Failed("no host of " + go.siteKey() + " has an address the route's "
        + "source addresses (" + sources.stream().map(SendingPools.Source::address).collect(Collectors.joining(", "))
        + ") can reach: an IPv4 source reaches IPv4 addresses only, an IPv6 one IPv6 only", null));
  }

  /**
   * When each source can go to the site again: 0 now; the end of its hosts' set-aside for the address, or of the
   * site's pause for it (the site asked the address to slow down), whichever is later; -1 never (none of the site's
   * hosts has an address of its family: {@code reachable}, by source, is empty).
   */
  private long[] downUntil(Router.Go go, List<SendingPools.Source> sources,
      List<List<SmtpConnection.Endpoint>> reachable, long now) {
    long[] downUntil = new long[sources.size()];
    for (int i = 0; i < downUntil.length; i++) {
      String address = sources.get(i).address();
      downUntil[i] = reachable.get(i).isEmpty() ? -1
          : Math.max(sites.hosts(address).allDownUntil(reachable.get(i), now),
              sites.pausedUntil(sourceSiteKey(go, address), now));
    }
    return downUntil;
  }

  /**
   * Which source a message takes, by when each one can go again ({@code downUntil}: 0 now, -1 never: none of the
   * site's hosts has an address of its family): the first, from {@code first} on in turn, that can go now (an address
   * whose hosts are set aside for it, a blocklist's 554 greeting say, or for which the site is paused, after a
   * throttling reply, is passed over while another can go); with none, the one that can go first (which defers the
   * message until then); -1 when none can reach the site.
   */
  static int choose(long[] downUntil, int first) {
    int n = downUntil.length;
    int soonest = -1;
    for (int k = 0; k < n; k++) {
      int i = (first + k) % n;
      if (downUntil[i] == 0) {
        return i;
      }
      if (downUntil[i] > 0 && (soonest < 0 || downUntil[i] < downUntil[soonest])) {
        soonest = i;
      }
    }
    return soonest;
  }

  /** The site as a source address meets it: a site of its own, with its own limits, rate and pauses. */
  private static String sourceSiteKey(Router.Go go, String sourceAddress) {
    return go.siteKey() + " from " + sourceAddress;
  }

  private SitePool pool(Router.Go go, DeliverySettings s, SendingPools.Source source,
      List<SmtpConnection.Endpoint> endpoints) {
    // a site's connections under an enforced MTA-STS policy are verified and go only to the hosts it allows: a pool
    // of their own for each set of allowed hosts (a connection is reused for any recipient of its pool), one site.
    // From a source address, a site is another: its limits, its slowing down and its rate are the address's, as a
    // receiving server keeps them per sending address (the relay too: its connections from each address are counted
    // apart, so pools of different addresses never wait for each other's connections, which they could not use)
    String siteKey = source == null ? go.siteKey() : sourceSiteKey(go, source.address());
    String key = siteKey + "|" + s.tlsPolicy() + (go.mtaSts() == null ? "" : "|mta-sts:" + go.mtaSts())
        + (go.dane() == null ? "" : "|dane:" + go.dane())
        + (go.reported() == null ? "" : "|tlsrpt:" + go.reported())
        + (source == null || source.heloName() == null ? "" : "|ehlo:" + source.heloName())
        + (s.tlsReport() ? "|tlsrpt-mail" : ""); // its connections are no other mail's, nor counted
    SitePool pool = pools.get(key);
    if (pool == null) {
      Shaping.Limits limits = go.relay()
          ? new Shaping.Limits(config.get(MailgateConfig.DELIVERY_MAX_CONNECTIONS),
              config.get(MailgateConfig.DELIVERY_MAX_MESSAGES_PER_CONNECTION), 0, 0)
          : shaping.forSite(go.mxHosts());
      SiteState site = sites.acquire(siteKey, k -> new SiteState(k, limits));
      site.update(limits, go.mxHosts());
      // whether a host answers, and how, may depend on the address the connection comes from (a blocklisted address
      // is refused its greeting): each source keeps its own account of the hosts
      pool = new SitePool(vertx, source == null ? netClient : sourceClients.get(source.address()), site,
          sites.hosts(source == null ? null : source.address()),
          source == null ? options : sourceOptions.get(source), s.tlsPolicy(), throttles,
          config.get(MailgateConfig.DELIVERY_INSTANCES), go.relay(),
          config.get(MailgateConfig.DELIVERY_IDLE_TIMEOUT_SECONDS) * 1000L,
          config.get(MailgateConfig.DELIVERY_LEASE_SECONDS) * 500L);
      pools.put(key, pool);
    }
    pool.endpoints(endpoints);
    return pool;
  }

  /**
   * The endpoints a connection bound to {@code source} can reach: those of its address family (an IPv4 source cannot
   * open a connection to an IPv6 address, nor the other way round); a host name (a relay's) is the system's to
   * resolve.
   */
  static List<SmtpConnection.Endpoint> reachableFrom(SendingPools.Source source, List<SmtpConnection.Endpoint> endpoints) {
    boolean v6 = source.address().indexOf(':') >= 0;
    List<SmtpConnection.Endpoint> out = new ArrayList<>(endpoints.size());
    for (SmtpConnection.Endpoint ep : endpoints) {
      byte[] ip = io.netty.util.NetUtil.createByteArrayFromIpAddressString(ep.address());
      if (ip == null || (ip.length == 16) == v6) {
        out.add(ep);
      }
    }
    return out;
  }

  /**
   * Hands the attempt's outcome to the feedback handler, which writes it; the recipient's lease stays held (renewed)
   * until the handler answers that it is written or given up. A recipient given back needs no renewal: let go at once.
   */
  private void finish(DeliveryJob job, DeliveryJob.Recipient r, HeldLease lease, AttemptResult result,
      DeliverySettings s, InboundMail followUp) {
    Instant now = clock.instant();
    boolean notAttempted = result instanceof AttemptResult.Deferred;
    if ((stopping && notAttempted) || (cut && result instanceof AttemptResult.Failed)) {
      // not attempted as the node stops, or cut short by it past the grace: give the recipient back untouched (a
      // failure within the grace is a real one: counted, retried with backoff, with its DeliveryDelay)
      letGo(lease);
      track(queue.release(job.messageId(), List.of(r)));
      return;
    }
    Instant deadline = job.acceptedAt().plus(s.maxDeliveryTime());
    int attempt = notAttempted ? r.attempts() : r.attempts() + 1;
    Disposition disposition;
    Instant next = null;
    if (result instanceof AttemptResult.Delivered) {
      disposition = Disposition.DELIVERED;
    } else if (result instanceof AttemptResult.Suppressed
        || (result instanceof AttemptResult.Rejected rej && rej.reply().isPermanent())) {
      disposition = Disposition.BOUNCED;
    } else if (result instanceof AttemptResult.Deferred d) {
      next = lastTry(d.until(), now, deadline);
      disposition = next == null ? Disposition.EXPIRED : Disposition.RESCHEDULED;
    } else {
      String text = result instanceof AttemptResult.Rejected rej ? rej.reply().toString()
          : ((AttemptResult.Failed) result).reason();
      next = lastTry(retry.next(attempt, now, text), now, deadline);
      disposition = next == null ? Disposition.EXPIRED : Disposition.DEFERRED;
    }
    vertx.eventBus().request(EventBusAddresses.DELIVERY_OUTCOME, new DeliveryOutcome(job.messageId(),
        job.accountId(), job.configurationSet(), r.idx(), r.address(), result, disposition, attempt, next, deadline,
        job.acceptedAt(), now, followUp, job.identityAccount(), job.tenantId(), r.due()), outcomeOptions)
        .onComplete(answer -> {
          // written, or given up (the handler says so, and why): either way nothing more to hold it for
          letGo(lease);
          if (answer.failed()) {
            LOG.warning("no answer about the outcome of " + job.messageId() + "/" + r.idx() + " (its lease is no "
                + "longer renewed): " + answer.cause().getMessage());
          }
        });
  }

  /**
   * When to try again: {@code next}, or the deadline itself when {@code next} falls after it and there is time left
   * (RFC 5321 4.5.4.1: retry until the give-up time, not until the last full interval before it); null when the
   * deadline has passed.
   */
  static Instant lastTry(Instant next, Instant now, Instant deadline) {
    if (!next.isAfter(deadline)) {
      return next;
    }
    return now.isBefore(deadline.minusSeconds(1)) ? deadline : null;
  }

  private void track(Future<Void> release) {
    releases.add(release);
    release.onComplete(ar -> {
      releases.remove(release);
      if (ar.failed()) {
        LOG.warning("could not release a lease (it will expire): " + ar.cause().getMessage());
      }
    });
  }
}
