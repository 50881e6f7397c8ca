package io.mailgate;

import io.mailgate.api.ApiVerticle;
import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.DeliveryJob;
import io.mailgate.delivery.DeliveryOutcome;
import io.mailgate.delivery.DeliveryVerticle;
import io.mailgate.delivery.Sites;
import io.mailgate.feedback.FeedbackVerticle;
import io.mailgate.identity.Account;
import io.mailgate.identity.Accounts;
import io.mailgate.identity.IdentityDnsVerticle;
import io.mailgate.identity.SecretBox;
import io.mailgate.send.dkim.CryptoProvider;
import io.mailgate.ratelimit.RateLimiterVerticle;
import io.mailgate.store.Database;
import io.mailgate.store.Migrations;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.DnsResolverOptions;
import java.time.Duration;
import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * One Mailgate node: prepares the database (creates it if needed, applies migrations), then
 * deploys the verticles. Stopping undeploys them in the reverse order, so the node stops taking
 * requests before delivery gives back what it has not finished.
 */
public final class MailgateNode {
  private static final Logger LOG = Logger.getLogger(MailgateNode.class.getName());

  /** start-dev's master key when none is configured: development data is not secret. */
  static final String DEV_MASTER_KEY = "bWFpbGdhdGUtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQhIQ==";

  private final Vertx vertx;
  private final MailgateConfig config;
  private final SecretBox secrets;
  private final DnsResolver dns;
  private final io.mailgate.feedback.AddressValidation validation;
  private final Sites sites;
  private final List<String> deployments = new ArrayList<>();
  /** The front: stopped together, before the rest (see {@link #stop}). */
  private final List<String> front = new ArrayList<>();
  /** This node's claim to its node.id, held while it runs (null before the start took it). */
  private volatile io.mailgate.store.NodeLock nodeLock;

  private MailgateNode(Vertx vertx, MailgateConfig config, SecretBox secrets, DnsResolver dns,
      io.mailgate.feedback.AddressValidation validation) {
    this.vertx = vertx;
    this.config = config;
    this.secrets = secrets;
    this.dns = dns;
    this.validation = validation;
    this.sites = new Sites(config.get(MailgateConfig.DELIVERY_HOST_RETRY_SECONDS) * 1000L);
  }

  public MailgateConfig config() {
    return config;
  }

  public String nodeId() {
    return config.get(MailgateConfig.NODE_ID);
  }

  /**
   * Starts a node. Called from a plain thread (it resolves the host name once, which may block).
   *
   * @param dev start-dev: creates the default account and serves /_mailgate/captured
   */
  public static Future<MailgateNode> start(Vertx vertx, MailgateConfig given, Clock clock, boolean dev) {
    MailgateConfig config = withDefaults(given);
    try {
      DeliveryVerticle.nodeSettings(config); // a wrong delivery mode or TLS policy fails the start, not each send
      DeliveryVerticle.checkRelayTls(config);
      io.mailgate.delivery.TlsReportVerticle.check(config);
      DeliveryVerticle.checkSources(config); // a source address this machine does not have fails the start
      io.mailgate.delivery.BlocklistVerticle.zones(config);
      io.mailgate.store.RetentionVerticle.days(config);
      io.mailgate.store.RetentionVerticle.receivedDays(config);
    } catch (io.mailgate.config.ConfigException e) {
      return Future.failedFuture(e);
    }
    String masterKey = config.get(MailgateConfig.SECURITY_MASTER_KEY);
    if (masterKey.isBlank() && !dev) {
      return Future.failedFuture(new io.mailgate.config.ConfigException("security.masterKey (MAILGATE_SECURITY_MASTER_KEY) "
          + "is required: generate one with 'openssl rand -base64 32' and keep it safe"));
    }
    String publicUrl = config.get(MailgateConfig.HTTP_PUBLIC_URL);
    if (!publicUrl.isBlank() && publicUrlHost(publicUrl) == null) {
      // tracking links are signed for the host this URL names: one java.net.URI cannot read (an '_' in it, a name
      // beyond ASCII) signs them for none, and every open and click would be refused as not valid
      return Future.failedFuture(new io.mailgate.config.ConfigException(MailgateConfig.HTTP_PUBLIC_URL.path() + " ("
          + MailgateConfig.HTTP_PUBLIC_URL.envName() + ") '" + publicUrl + "' has no host name a URL may have: "
          + "http(s)://host[:port], the host in ASCII (an internationalized name in its xn-- form), without '_'"));
    }
    if (!dev && config.get(MailgateConfig.HTTP_PUBLIC_URL).isBlank()) {
      LOG.warning("http.publicUrl (MAILGATE_HTTP_PUBLIC_URL) is empty: identity verification links, open and click "
          + "tracking links and list unsubscribe links will point at http://127.0.0.1:"
          + config.get(MailgateConfig.HTTP_PORT) + ", which recipients cannot reach");
    } else if (!dev && !config.get(MailgateConfig.HTTP_PUBLIC_URL).regionMatches(true, 0, "https://", 0, 8)) {
      LOG.warning("http.publicUrl (MAILGATE_HTTP_PUBLIC_URL) is not https: mailbox providers ignore one-click "
          + "unsubscribe (List-Unsubscribe-Post, RFC 8058) on any other link, and recipients' clients may warn");
    }
    SecretBox secrets;
    try {
      secrets = SecretBox.fromBase64(masterKey.isBlank() ? DEV_MASTER_KEY : masterKey);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new io.mailgate.config.ConfigException(e.getMessage()));
    }
    LOG.info("crypto provider: " + CryptoProvider.install() + " (" + CryptoProvider.description() + ")");
    // the first DRBG seeds the JDK's shared seeder from the system (which may wait for entropy on an old kernel): here,
    // on the starting thread, not on the first event loop to make a message id
    io.mailgate.send.MessageIds.next(java.time.Instant.now());
    // and the charsets' names encoded words are checked against (Java's providers, read once)
    io.mailgate.send.EncodedWordDecoder.decode("=?utf-8?q?warm?=");
    LocalCodec.register(vertx, DeliveryJob.class, DeliveryOutcome.class,
        io.mailgate.feedback.InboundMail.class, io.mailgate.ratelimit.SiteTokenRequest.class,
        io.mailgate.ratelimit.SiteTokens.class, io.mailgate.ratelimit.SiteThrottleRequest.class,
        io.mailgate.ratelimit.SiteThrottleState.class);
    DnsResolverOptions dnsOptions;
    try {
      dnsOptions = DnsResolverOptions.defaults()
          .withServers(config.get(MailgateConfig.DNS_SERVERS))
          .withQueryTimeout(Duration.ofMillis(config.get(MailgateConfig.DNS_TIMEOUT_MILLIS)))
          .withTtlBounds(Duration.ofSeconds(config.get(MailgateConfig.DNS_MIN_TTL_SECONDS)),
              Duration.ofSeconds(config.get(MailgateConfig.DNS_MAX_TTL_SECONDS)))
          .withDnssec(config.get(MailgateConfig.DELIVERY_DANE))
          .withTrustRemoteAd(config.get(MailgateConfig.DNS_TRUST_AD));
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new io.mailgate.config.ConfigException("dns settings (" + MailgateConfig.DNS_SERVERS.path()
          + ", " + MailgateConfig.DNS_TIMEOUT_MILLIS.path() + ", " + MailgateConfig.DNS_MIN_TTL_SECONDS.path() + ", "
          + MailgateConfig.DNS_MAX_TTL_SECONDS.path() + "): " + e.getMessage()));
    }
    DnsResolver dns = DnsResolver.create(vertx, dnsOptions);
    io.mailgate.feedback.AddressValidation validation;
    try {
      validation = io.mailgate.feedback.AddressValidation.load(
          config.get(MailgateConfig.VALIDATION_DISPOSABLE_DOMAINS_FILE));
    } catch (java.io.UncheckedIOException | java.nio.file.InvalidPathException e) { // unreadable, or not a path
      return dns.close().transform(x -> Future.failedFuture(new io.mailgate.config.ConfigException(
          MailgateConfig.VALIDATION_DISPOSABLE_DOMAINS_FILE.path() + ": " + e.getMessage())));
    }
    MailgateNode node = new MailgateNode(vertx, config, secrets, dns, validation);
    return Database.ensureExists(vertx, config)
        .compose(v -> {
          Pool setup = Database.pool(vertx, config, 1);
          Future<Void> prepared = Migrations.apply(setup)
              .compose(n -> dev ? devAccount(setup, config, secrets) : opensSecrets(setup, secrets));
          return prepared.eventually(setup::close);
        })
        .compose(v -> io.mailgate.store.NodeLock.acquire(vertx, config))
        .compose(lock -> {
          node.nodeLock = lock;
          return node.deployAll(clock, dev);
        })
        .map(v -> node)
        .recover(e -> node.stop().transform(x -> Future.failedFuture(e)));
  }

  /** The host of {@code url} as java.net.URI reads it (what tracking tokens are signed for), or null. */
  static String publicUrlHost(String url) {
    try {
      java.net.URI uri = new java.net.URI(url.strip());
      String scheme = uri.getScheme();
      return scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https")) ? null
          : uri.getHost();
    } catch (java.net.URISyntaxException e) {
      return null;
    }
  }

  /**
   * The machine's name as EHLO takes it: an address (what a host without a name reports) as an address literal,
   * {@code [192.0.2.1]} or {@code [IPv6:2001:db8::1]} (RFC 5321 4.1.3), a name as it is.
   */
  static String heloLiteral(String host) {
    java.net.InetAddress address = host.startsWith("[") ? null : NetAddresses.literal(host);
    if (address == null) {
      return host;
    }
    return address instanceof java.net.Inet6Address ? "[IPv6:" + address.getHostAddress() + "]"
        : "[" + address.getHostAddress() + "]";
  }

  private static MailgateConfig withDefaults(MailgateConfig c) {
    String host = "localhost";
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      LOG.warning("cannot resolve the local host name, using 'localhost': " + e.getMessage());
    }
    if (c.get(MailgateConfig.NODE_ID).isBlank()) {
      c = c.with(MailgateConfig.NODE_ID, host);
    }
    if (c.get(MailgateConfig.NODE_ID).contains("/")) {
      throw new io.mailgate.config.ConfigException("node.id must not contain '/': " + c.get(MailgateConfig.NODE_ID));
    }
    if (c.get(MailgateConfig.DELIVERY_HELO_NAME).isBlank()) {
      String helo = heloLiteral(host);
      String problem = io.mailgate.config.HeloName.problem(helo);
      if (problem != null) {
        // the machine's name is not ours to refuse, but servers that check EHLO will refuse the node's mail
        LOG.warning("the host name '" + helo + "' goes into EHLO but is no domain name (" + problem + "): set "
            + MailgateConfig.DELIVERY_HELO_NAME.path() + " (" + MailgateConfig.DELIVERY_HELO_NAME.envName()
            + ") to the name the node's address resolves back to");
      }
      c = c.with(MailgateConfig.DELIVERY_HELO_NAME, helo);
    }
    int cores = Runtime.getRuntime().availableProcessors();
    if (c.get(MailgateConfig.HTTP_INSTANCES) <= 0) {
      c = c.with(MailgateConfig.HTTP_INSTANCES, cores);
    }
    if (c.get(MailgateConfig.DELIVERY_INSTANCES) <= 0) {
      c = c.with(MailgateConfig.DELIVERY_INSTANCES, cores);
    }
    return c;
  }

  /**
   * start-dev's account, with the configured (by default the README's) key. Not into a database whose secrets another
   * master key sealed: that is some other installation's, perhaps production's, and its nodes would accept the
   * published key once they share the master key.
   */
  private static Future<Void> devAccount(Pool pool, MailgateConfig c, SecretBox secrets) {
    return Admin.opens(pool, secrets, false)
        .recover(e -> Future.failedFuture(!(e instanceof Admin.ForeignSecrets) ? e
            : new io.mailgate.config.ConfigException("start-dev: the database at pg.url holds secrets sealed under "
                + "another master key (another installation's): start-dev does not add its development account to it. "
                + "Set security.masterKey as that installation has it, or use another database")))
        .compose(v -> upsertDevAccount(pool, c, secrets));
  }

  /**
   * A node whose master key does not open the database's secrets does not start: it would answer every signed request
   * 403 and every link the other nodes made as forged, and sign the envelope senders of the queued mail it delivers
   * under a key no node checks bounces with (they would match no message: no Bounce event, no suppression), all while
   * its readiness said 200.
   */
  private static Future<Void> opensSecrets(Pool pool, SecretBox secrets) {
    return Admin.opens(pool, secrets, false)
        .recover(e -> Future.failedFuture(!(e instanceof Admin.ForeignSecrets) ? e
            : new io.mailgate.config.ConfigException("security.masterKey (" + MailgateConfig.SECURITY_MASTER_KEY.envName()
                + ") does not open the secrets of the database at pg.url (sealed under another key): set it as the "
                + "other nodes have it")));
  }

  private static Future<Void> upsertDevAccount(Pool pool, MailgateConfig c, SecretBox secrets) {
    Account account = new Account(c.get(MailgateConfig.DEV_ACCOUNT_ID), "dev", c.get(MailgateConfig.DEV_MAX_SEND_RATE),
        c.get(MailgateConfig.DEV_MAX_24_HOUR_SEND), true, true);
    return new Accounts(pool, secrets).upsert(account, c.get(MailgateConfig.DEV_ACCESS_KEY_ID),
        c.get(MailgateConfig.DEV_SECRET_ACCESS_KEY));
  }

  private Future<Void> deployAll(Clock clock, boolean dev) {
    int http = config.get(MailgateConfig.HTTP_INSTANCES);
    int delivery = config.get(MailgateConfig.DELIVERY_INSTANCES);
    String nodeId = nodeId();
    // leases belong to this run of the node: a restarted node recognises its previous run's leases
    // as dead and takes them back at once, without confusing them with work in flight now
    String leaseOwner = nodeId + "/" + Long.toString(System.currentTimeMillis(), 36);
    return deploy(() -> new FeedbackVerticle(config, leaseOwner, secrets, clock), delivery)
        // site tokens serve the delivery instances only (account limits are checked on the sending verticles)
        .compose(v -> deploy(() -> new RateLimiterVerticle(config), delivery))
        // TLS reporting's counts are made before delivery counts into them
        .compose(v -> config.get(MailgateConfig.TLS_RPT_ENABLED)
            ? deploy(() -> new io.mailgate.delivery.TlsReportVerticle(config, leaseOwner, clock, dns), 1)
            : Future.<Void>succeededFuture())
        .compose(v -> deploy(() -> new DeliveryVerticle(config, leaseOwner, clock, dns, sites, secrets, validation), delivery))
        // start-dev verifies identities at once; checking DNS would take that back (a dev machine's
        // DNS has none of their records) and stop DKIM signing a minute later
        .compose(v -> dev ? Future.<Void>succeededFuture() : deploy(() -> new IdentityDnsVerticle(config, clock, dns, secrets), 1))
        .compose(v -> deploy(() -> new io.mailgate.feedback.ReputationVerticle(config, clock), 1))
        .compose(v -> deploy(() -> new io.mailgate.feedback.VdmVerticle(config, leaseOwner, clock, dns), 1))
        .compose(v -> deploy(() -> new io.mailgate.feedback.ExportVerticle(config, leaseOwner, clock), 1))
        .compose(v -> deploy(() -> new io.mailgate.feedback.ImportVerticle(config, leaseOwner, clock), 1))
        .compose(v -> deploy(() -> new io.mailgate.store.RetentionVerticle(config, clock), 1))
        .compose(v -> io.mailgate.delivery.BlocklistVerticle.wanted(config)
            ? deploy(() -> new io.mailgate.delivery.BlocklistVerticle(config, clock, dns), 1)
            : Future.<Void>succeededFuture())
        .compose(v -> deployFront(() -> new io.mailgate.events.EventPublisherVerticle(config, secrets, clock), 1))
        .compose(v -> config.get(MailgateConfig.SMTP_INBOUND_PORT) > 0
            ? deployFront(() -> new io.mailgate.smtp.InboundSmtpVerticle(config, clock, dns), 1)
            : Future.<Void>succeededFuture())
        .compose(v -> deployFront(() -> new ApiVerticle(config, leaseOwner, clock, secrets, sites, dev, dns, validation),
            http))
        .onSuccess(v -> LOG.info("node " + nodeId + " started: HTTP on " + config.get(MailgateConfig.HTTP_HOST) + ":"
            + config.get(MailgateConfig.HTTP_PORT) + ", delivery " + describeDelivery(config)));
  }

  private static String describeDelivery(MailgateConfig config) {
    return DeliveryVerticle.nodeSettings(config).mode() == io.mailgate.delivery.DeliverySettings.Mode.RELAY
        ? "through relay " + io.mailgate.delivery.SmtpRoute.redacted(config.get(MailgateConfig.RELAY_URL))
        : "direct to MX (port " + config.get(MailgateConfig.DELIVERY_DIRECT_PORT) + ")";
  }

  private Future<Void> deploy(java.util.function.Supplier<io.vertx.core.Deployable> verticle, int instances) {
    return deployInto(deployments, verticle, instances);
  }

  /** A verticle of the front: what takes work in (HTTP, SMTP) or posts it out (events); stopped together, first. */
  private Future<Void> deployFront(java.util.function.Supplier<io.vertx.core.Deployable> verticle, int instances) {
    return deployInto(front, verticle, instances);
  }

  private Future<Void> deployInto(List<String> ids, java.util.function.Supplier<io.vertx.core.Deployable> verticle,
      int instances) {
    return vertx.deployVerticle(verticle, new DeploymentOptions().setInstances(instances)).map(id -> {
      ids.add(id);
      return null;
    });
  }

  /**
   * Stops the front all at once (HTTP and submission, inbound SMTP, event posting: each lets what is under way finish,
   * 10 to 12 s at most), then the rest in reverse order: delivery (20 s at most for its attempts), feedback last (it
   * records what delivery finishes). One after another, the front alone could take 50 s, past a container's grace.
   */
  public Future<Void> stop() {
    List<Future<Void>> fronts = new ArrayList<>();
    for (String id : front) {
      fronts.add(vertx.undeploy(id).otherwiseEmpty());
    }
    Future<Void> chain = Future.join(fronts).<Void>mapEmpty().otherwiseEmpty();
    for (int i = deployments.size() - 1; i >= 0; i--) {
      String id = deployments.get(i);
      chain = chain.compose(v -> vertx.undeploy(id).otherwiseEmpty());
    }
    return chain.onComplete(ar -> {
      front.clear();
      deployments.clear();
    }).eventually(dns::close).eventually(() -> nodeLock == null ? Future.succeededFuture() : nodeLock.release());
  }
}
