package io.mailgate.api;

import io.mailgate.ByteBudget;
import io.mailgate.EventBusAddresses;
import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.sesv1.QueryApi;
import io.mailgate.api.sesv1.SendBounceAction;
import io.mailgate.api.sigv4.SesApi;
import io.mailgate.api.sigv4.SigV4Result;
import io.mailgate.api.sesv2.AccountHandler;
import io.mailgate.api.sesv2.BulkEmailHandler;
import io.mailgate.api.sesv2.ConfigurationSetsHandler;
import io.mailgate.api.sesv2.DedicatedIpsHandler;
import io.mailgate.api.sesv2.ContactListsHandler;
import io.mailgate.api.sesv2.CustomVerificationHandler;
import io.mailgate.api.console.ConsoleHandler;
import io.mailgate.api.s3.S3Api;
import io.mailgate.api.tracking.TrackingHandler;
import io.mailgate.configset.TrackingOptions;
import io.mailgate.lists.ContactListStore;
import io.mailgate.lists.UnsubscribeLinks;
import io.mailgate.lists.UnsubscribeTokens;
import io.mailgate.store.ReceivedMessages;
import io.mailgate.store.TrackingStore;
import io.mailgate.tracking.LinkTracking;
import io.mailgate.tracking.TrackingTokens;
import io.mailgate.api.sesv2.EventDestinationsHandler;
import io.mailgate.api.sesv2.IdentitiesHandler;
import io.mailgate.api.sesv2.IdentityPoliciesHandler;
import io.mailgate.api.sesv2.EmailAddressInsightsHandler;
import io.mailgate.api.sesv2.MessageInsightsHandler;
import io.mailgate.api.sesv2.BlacklistReportsHandler;
import io.mailgate.api.sesv2.ExportJobsHandler;
import io.mailgate.api.sesv2.ImportJobsHandler;
import io.mailgate.api.sesv2.MetricDataHandler;
import io.mailgate.api.sesv2.RecommendationsHandler;
import io.mailgate.api.sesv2.SendEmailHandler;
import io.mailgate.api.sesv2.SuppressionHandler;
import io.mailgate.api.sesv2.TagsHandler;
import io.mailgate.api.sesv2.TemplatesHandler;
import io.mailgate.api.sesv2.TenantsHandler;
import io.mailgate.events.EventDestinationStore;
import io.mailgate.config.MailgateConfig;
import io.mailgate.configset.ConfigurationSetStore;
import io.mailgate.configset.ConfigurationSets;
import io.mailgate.delivery.SendingPools;
import io.mailgate.delivery.Sites;
import io.mailgate.identity.Account;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.identity.CustomVerificationEmails;
import io.mailgate.identity.CustomVerificationTemplate;
import io.mailgate.identity.CustomVerificationTemplateStore;
import io.mailgate.identity.IdentityDirectory;
import io.mailgate.identity.IdentityPolicies;
import io.mailgate.identity.IdentityPolicyStore;
import io.mailgate.identity.IdentityService;
import io.mailgate.identity.IdentityStore;
import io.mailgate.identity.SecretBox;
import io.mailgate.identity.CertificateStore;
import io.mailgate.api.acm.AcmApi;
import io.mailgate.api.sesv2.IdentityCertificatesHandler;
import io.mailgate.send.smime.SmimeKeys;
import io.mailgate.metrics.Metrics;
import io.mailgate.identity.VerificationLinks;
import io.mailgate.ratelimit.RateCheck;
import io.mailgate.ratelimit.SendLimiter;
import io.mailgate.receiving.ReceiptRuleStore;
import io.mailgate.send.Caller;
import io.mailgate.send.SendAuthorization;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SendService;
import io.mailgate.send.SimpleContent;
import io.mailgate.send.TemplateRenderer;
import io.mailgate.send.Templates;
import io.mailgate.send.TextBody;
import io.mailgate.send.dkim.DkimSigner;
import io.mailgate.smtp.SmtpServer;
import io.mailgate.smtp.SmtpServerOptions;
import io.mailgate.store.Database;
import io.mailgate.store.ExportJobStore;
import io.mailgate.store.ImportJobStore;
import io.mailgate.store.MessageQuery;
import io.mailgate.store.IpListingStore;
import io.mailgate.store.MessageStore;
import io.mailgate.store.RecommendationStore;
import io.mailgate.store.MultipartStore;
import io.mailgate.store.ReceivedObjectStore;
import io.mailgate.store.SendStatisticsQuery;
import io.mailgate.store.SendingHistory;
import io.mailgate.store.SuppressionStore;
import io.mailgate.store.TemplateStore;
import io.mailgate.store.TenantStore;
import io.mailgate.store.VdmStore;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.sqlclient.Pool;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * The HTTP side of a node: the SES v2 REST API, the SES v1 Query API, the S3 API of received mail under
 * {@code /s3}, and Mailgate's own {@code /_mailgate} endpoints.
 * One instance per event loop, each with its own database pool, caches and send service.
 */
public final class ApiVerticle extends VerticleBase {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(ApiVerticle.class.getName());
  /** What the S3 endpoint's GETs and PUTs of one node hold at once (an object is sent, or read, in memory). */
  static final long MAX_S3_READS_IN_FLIGHT = 64L * 1024 * 1024;

  /**
   * The request bodies one node holds at once (see {@link ByteBudget}), like the SMTP ports' DATA budget: 128 MB, or a
   * tenth of the heap when that is less. A large send's body takes about six times its size in the heap while it is
   * read (the JSON string, its characters, the decoded message, the message built), so -Xmx512m holds one 40 MB
   * message at a time beside the small ones; four 30 MB sends at once ran it out of memory.
   */
  static final long MAX_BODIES_IN_FLIGHT = Math.min(128L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 10);
  /** Small bodies a largest one must still get in beside (they go on while it waits, and would starve it). */
  static final long SMALL_BODIES_BESIDE_LARGEST = 4L * 1024 * 1024;

  /**
   * {@link #MAX_BODIES_IN_FLIGHT}, but never so little that the largest body a route allows cannot get in while small
   * ones are in flight (large bodies may take fifteen sixteenths of the budget): with -Xmx512m a 40 MB message's 56 MB
   * request would otherwise wait for a moment with no other request at all, which a busy node never has.
   */
  static long bodyBudget(long largestBody, long maxBodies) {
    return Math.max(maxBodies, (largestBody + SMALL_BODIES_BESIDE_LARGEST) * 16 / 15);
  }
  /** Requests other than sends carry small bodies (a template is at most 500 KB, as JSON up to six times that). */
  static final long MAX_OTHER_BODY = 4L * 1024 * 1024;
  private static final String BODY_READ = "mailgate.bodyRead";
  /** RCPT commands one submission transaction takes (the message is then refused whole if it has too many). */
  static final int SUBMISSION_RECIPIENTS = 1000;
  /**
   * A body claimed up to this is counted before its key is looked up (ordinary sends: a lookup of a cached key costs
   * little, but the request must wait paused for it); beyond it only for a key that exists. A made-up header holds at
   * most this much of the budget per connection, for at most 30 s.
   */
  static final long UNCHECKED_BODY = 64 * 1024;
  /** Their content may be 10 MB (SES): their requests may be as large as a send's. */
  private static final String CUSTOM_VERIFICATION_TEMPLATES = "/v2/email/custom-verification-email-templates";
  private static final String V1_DKIM_SIGNING = "/v1/email/identities/:identity/dkim/signing";
  /** An HTTP connection that sends and receives nothing for this long is closed. */
  static final int IDLE_TIMEOUT_SECONDS = 120;
  /** A rendered template part is held to this, whatever the message size limit. */
  private static final int MAX_RENDERED_PART_CHARS = 10 * 1024 * 1024;

  private final MailgateConfig config;
  private final String leaseOwner;
  private final Clock clock;
  private final SecretBox secrets;
  private final Sites sites;
  private final boolean dev;
  private Pool db;
  private Pool accepts;
  private HttpServer server;
  private SendService sends;
  private SendLimiter limiter;
  private IdentityService identities;
  private SmtpServer submission;
  private final io.mailgate.delivery.dns.DnsResolver dns;
  private final io.mailgate.feedback.AddressValidation validation;
  private SmtpServer submissionTls;

  public ApiVerticle(MailgateConfig config, String leaseOwner, Clock clock, SecretBox secrets, Sites sites, boolean dev,
      io.mailgate.delivery.dns.DnsResolver dns, io.mailgate.feedback.AddressValidation validation) {
    this.sites = sites;
    this.dns = dns;
    this.validation = validation;
    this.config = config;
    this.leaseOwner = leaseOwner;
    this.clock = clock;
    this.secrets = secrets;
    this.dev = dev;
  }

  @Override
  public Future<?> start() {
    int poolSize = config.get(MailgateConfig.PG_POOL_SIZE);
    db = Database.pool(vertx, config, poolSize);
    String region = config.get(MailgateConfig.REGION);
    AccountDirectory accounts = new AccountDirectory(db, clock, secrets, new AccountDirectory.SandboxLimits(
        config.get(MailgateConfig.ACCOUNTS_SANDBOX_MAX_SEND_RATE), config.get(MailgateConfig.ACCOUNTS_SANDBOX_MAX_24_HOUR_SEND)),
        config.get(MailgateConfig.CACHE_TTL_MILLIS));
    IdentityStore identityStore = new IdentityStore(db);
    CertificateStore certificates = new CertificateStore(db, secrets);
    SmimeKeys smimeKeys = new SmimeKeys(certificates, clock, config.get(MailgateConfig.CACHE_TTL_MILLIS));
    IdentityDirectory identityCache = new IdentityDirectory(identityStore, secrets, clock,
        config.get(MailgateConfig.CACHE_TTL_MILLIS));
    vertx.eventBus().<String>localConsumer(EventBusAddresses.IDENTITY_CHANGED, msg -> {
      int nl = msg.body().indexOf('\n');
      identityCache.invalidate(msg.body().substring(0, nl), msg.body().substring(nl + 1));
    });
    IdentityPolicies identityPolicies = new IdentityPolicies(new IdentityPolicyStore(db), region, clock);
    SendAuthorization authorization = new SendAuthorization(identityCache, identityPolicies, region,
        config.get(MailgateConfig.DELIVERY_BOUNCE_DOMAIN), dev && config.get(MailgateConfig.DEV_AUTO_VERIFY_SENDERS),
        // read at each delegated send (as the owner's policies are): an owner let out of the sandbox counts at once
        owner -> accounts.byId(owner).map(d -> d.isPresent() && d.get().account().productionAccess()));
    accepts = Database.planOncePool(vertx, config, config.get(MailgateConfig.PG_BATCHES_IN_FLIGHT));
    MessageStore store = new MessageStore(vertx, accepts, leaseOwner, config.get(MailgateConfig.DELIVERY_LEASE_SECONDS),
        config.get(MailgateConfig.PG_BATCHES_IN_FLIGHT), config.get(MailgateConfig.PG_ACCEPT_LINGER_MILLIS));
    ConfigurationSetStore configurationSetStore = new ConfigurationSetStore(db);
    limiter = new SendLimiter(vertx, config, new SendingHistory(db, clock));
    TemplateStore templateStore = new TemplateStore(db);
    Templates templates = new Templates(vertx, templateStore,
        new TemplateRenderer(Math.min(config.get(MailgateConfig.SEND_MAX_MESSAGE_BYTES), MAX_RENDERED_PART_CHARS)),
        clock, config.get(MailgateConfig.CACHE_TTL_MILLIS));
    ConfigurationSets configurationSetCache = new ConfigurationSets(configurationSetStore, clock,
        config.get(MailgateConfig.CACHE_TTL_MILLIS));
    TrackingTokens trackingTokens = new TrackingTokens(secrets.derive("mailgate/tracking-links/v1"));
    ContactListStore contactLists = new ContactListStore(db);
    UnsubscribeTokens unsubscribeTokens = new UnsubscribeTokens(secrets.derive("mailgate/list-unsubscribe/v1"));
    TenantStore tenantStore = new TenantStore(db);
    sends = new SendService(vertx, config, store, limiter, authorization, configurationSetCache, new DkimSigner(clock),
        templates, new LinkTracking(trackingTokens, publicUrl()),
        new UnsubscribeLinks(contactLists, unsubscribeTokens, publicUrl(), clock,
            config.get(MailgateConfig.CACHE_TTL_MILLIS)), tenantStore, smimeKeys, clock);
    vertx.eventBus().<String>localConsumer(EventBusAddresses.TENANT_CHANGED, msg -> {
      int nl = msg.body().indexOf('\n');
      sends.tenantChanged(msg.body().substring(0, nl), msg.body().substring(nl + 1));
    });
    VerificationLinks links = new VerificationLinks(secrets, clock,
        Duration.ofHours(config.get(MailgateConfig.IDENTITY_VERIFICATION_TTL_HOURS)));
    identities = new IdentityService(vertx, identityStore, secrets, links, this::sendVerification,
        new io.mailgate.identity.VerificationAllowance() {
          @Override
          public Future<Void> take(String accountId) {
            return verificationAllowed(accountId);
          }

          @Override
          public void giveBack(String accountId) {
            limiter.refund(verificationCheck(accountId));
          }
        }, publicUrl(), dev);
    CustomVerificationEmails customVerification = new CustomVerificationEmails(
        new CustomVerificationTemplateStore(db), identities, links, sends, publicUrl());
    ClientAddress clients = ClientAddress.parse(config.get(MailgateConfig.HTTP_TRUSTED_PROXIES));
    LoginFailures logins = new LoginFailures(vertx, accounts);
    RequestAuthenticator auth = new RequestAuthenticator(accounts, clock, clients, logins);

    SendEmailHandler sendEmail = new SendEmailHandler(sends);
    BulkEmailHandler bulkEmail = new BulkEmailHandler(sends);
    TemplatesHandler templateOps = new TemplatesHandler(templateStore, templates, clock);
    IdentitiesHandler identityOps = new IdentitiesHandler(identities, configurationSetStore, identityPolicies);
    AccountHandler account = new AccountHandler(accounts, limiter);
    DedicatedIpsHandler dedicatedIps = new DedicatedIpsHandler(
        io.mailgate.delivery.SendingPools.parse(config.get(MailgateConfig.DELIVERY_SENDING_POOLS)),
        io.mailgate.delivery.DeliveryVerticle.sourceAddresses(config));
    BlacklistReportsHandler blacklists = new BlacklistReportsHandler(new IpListingStore(db),
        io.mailgate.delivery.BlocklistVerticle.addresses(config));
    MessageQuery messages = new MessageQuery(db);
    MessageStatusHandler status = new MessageStatusHandler(messages, region);
    MessageInsightsHandler insights = new MessageInsightsHandler(messages);
    MetricDataHandler metricData = new MetricDataHandler(new VdmStore(db), accounts, this::metricDataAllowed);
    RecommendationsHandler recommendations = new RecommendationsHandler(new RecommendationStore(db), accounts, region,
        this::recommendationsAllowed);
    ExportJobsHandler exportJobs = new ExportJobsHandler(new ExportJobStore(db), accounts, region, clock,
        this::exportJobsAllowed, () -> vertx.eventBus().publish(EventBusAddresses.EXPORT_CREATED, null));
    ImportJobsHandler importJobs = new ImportJobsHandler(new ImportJobStore(db), new ReceivedObjectStore(db),
        new ContactListStore(db), accounts, region, clock, this::importJobsAllowed,
        () -> vertx.eventBus().publish(EventBusAddresses.IMPORT_CREATED, null));
    TrackingOptions trackingOptions = new TrackingOptions(identityStore);
    ConfigurationSetsHandler configurationSets = new ConfigurationSetsHandler(configurationSetStore,
        SendingPools.parse(config.get(MailgateConfig.DELIVERY_SENDING_POOLS)).names(), trackingOptions);
    TrackingHandler trackingLinks = new TrackingHandler(trackingTokens,
        new TrackingStore(vertx, db), clock, Metrics.of(vertx), clients);
    EventDestinationStore eventDestinationStore = new EventDestinationStore(db);
    EventDestinationsHandler eventDestinations = new EventDestinationsHandler(eventDestinationStore,
        config.get(MailgateConfig.EVENTS_ALLOW_PRIVATE_ADDRESSES));
    SuppressionStore suppressionStore = new SuppressionStore(vertx, db,
        config.get(MailgateConfig.FEEDBACK_GLOBAL_SUPPRESSION_DAYS), 1, 0);
    SuppressionHandler suppression = new SuppressionHandler(suppressionStore);
    EmailAddressInsightsHandler addressInsights = new EmailAddressInsightsHandler(
        new io.mailgate.feedback.AddressInsights(validation, dns, suppressionStore), this::insightsAllowed);
    ReceiptRuleStore receiptRules = new ReceiptRuleStore(db);
    ConsoleHandler console = new ConsoleHandler(logins, clients, accounts, account, identityStore,
        configurationSetStore, eventDestinationStore, suppressionStore, receiptRules, new ReceivedObjectStore(db),
        new ConsoleHandler.Audience(contactLists, tenantStore), status,
        new ConsoleHandler.Changes(identityOps, configurationSets, eventDestinations, suppression, sendEmail,
            templateOps), new io.mailgate.events.DestinationSecrets(new io.mailgate.identity.Accounts(db, secrets),
        new io.mailgate.events.WebhookSigner(secrets)), clock);

    Router router = Router.router(vertx);
    HttpDate date = new HttpDate(clock);
    io.mailgate.metrics.Metrics metrics = io.mailgate.metrics.Metrics.of(vertx);
    metrics.probeEventLoop(vertx);
    router.route().handler(ctx -> {
      long start = System.nanoTime();
      ctx.addEndHandler(ended -> metrics.httpTime().since(start)); // answered, or the connection closed first
      ctx.response().putHeader("Date", date.now());
      ctx.next();
    });
    // base64 makes a message 4/3 larger in JSON; leave room for the rest of the request
    long bodyLimit = (long) sends.maxMessageBytes() * 4 / 3 + 1024 * 1024;
    ByteBudget budget = (ByteBudget) vertx.sharedData().getLocalMap("mailgate.http")
        .computeIfAbsent("bodies", k -> new ByteBudget(bodyBudget(bodyLimit, MAX_BODIES_IN_FLIGHT)));
    // a custom verification template's content is up to 10 MB of HTML, its quotes escaped in JSON: twice that
    long templateLimit = 2L * CustomVerificationTemplate.MAX_CONTENT_BYTES + 1024 * 1024;
    ToLongFunction<String> v2Limit = path -> path.startsWith("/v2/email/outbound-") ? bodyLimit
        : path.equals(CUSTOM_VERIFICATION_TEMPLATES) || path.startsWith(CUSTOM_VERIFICATION_TEMPLATES + "/")
            ? templateLimit : MAX_OTHER_BODY;
    // each body read up to what the gate counted for its route, no more: a chunked body (whose length is not known
    // until it has arrived) counted as 4 MB must not be read to the 54 MB a send may be
    Map<Long, BodyHandler> bodies = new HashMap<>();
    for (long limit : new long[] {bodyLimit, templateLimit, MAX_OTHER_BODY}) {
      bodies.put(limit, BodyHandler.create(false).setBodyLimit(limit));
    }
    // the one v2 operation whose path SES's API reference and model give under /v1 (what most SDKs' generated clients
    // send; some newer ones send /v2)
    for (String v2 : List.of("/v2/*", V1_DKIM_SIGNING, AcmApi.PATH + "/*")) {
      router.route(v2).handler(bodyGate(auth, budget, v2Limit, SesErrors::failV2, SesApi.V2_REST_JSON));
      router.route(v2).handler(ctx -> bodies.get(v2Limit.applyAsLong(ctx.request().path())).handle(ctx));
      router.route(v2).handler(ctx -> {
        ctx.put(BODY_READ, Boolean.TRUE);
        ctx.next();
      });
    }
    // the ACM-compatible endpoint, where S/MIME certificates are imported ("/acm/*" matches "/acm" too)
    AcmApi acm = new AcmApi(auth, certificates, region);
    router.post(AcmApi.PATH + "/*").handler(acm::handle);
    IdentityCertificatesHandler identityCertificates = new IdentityCertificatesHandler(certificates, identityStore,
        smimeKeys, region, clock);
    router.post("/v2/email/identity/certificates").handler(V2Route.of(auth, identityCertificates::associate));
    router.post("/v2/email/identity/certificates/delete").handler(V2Route.of(auth, identityCertificates::disassociate));
    router.post("/v2/email/identity/certificates/list").handler(V2Route.of(auth, identityCertificates::list));
    router.post("/v2/email/outbound-emails").handler(V2Route.of(auth, sendEmail::sendEmail));
    router.post("/v2/email/outbound-bulk-emails").handler(V2Route.of(auth, bulkEmail::sendBulk));
    router.post("/v2/email/templates").handler(V2Route.of(auth, templateOps::create));
    router.get("/v2/email/templates").handler(V2Route.of(auth, templateOps::list));
    router.get("/v2/email/templates/:name").handler(V2Route.of(auth, templateOps::get));
    router.put("/v2/email/templates/:name").handler(V2Route.of(auth, templateOps::update));
    router.delete("/v2/email/templates/:name").handler(V2Route.of(auth, templateOps::delete));
    router.post("/v2/email/templates/:name/render").handler(V2Route.of(auth, templateOps::render));
    CustomVerificationHandler customVerificationOps = new CustomVerificationHandler(customVerification);
    router.post(CUSTOM_VERIFICATION_TEMPLATES).handler(V2Route.of(auth, customVerificationOps::create));
    router.get(CUSTOM_VERIFICATION_TEMPLATES).handler(V2Route.of(auth, customVerificationOps::list));
    router.get(CUSTOM_VERIFICATION_TEMPLATES + "/:name").handler(V2Route.of(auth, customVerificationOps::get));
    router.put(CUSTOM_VERIFICATION_TEMPLATES + "/:name").handler(V2Route.of(auth, customVerificationOps::update));
    router.delete(CUSTOM_VERIFICATION_TEMPLATES + "/:name").handler(V2Route.of(auth, customVerificationOps::delete));
    router.post("/v2/email/outbound-custom-verification-emails").handler(V2Route.of(auth, customVerificationOps::send));
    router.post("/v2/email/identities").handler(V2Route.of(auth, identityOps::create));
    router.get("/v2/email/identities").handler(V2Route.of(auth, identityOps::list));
    router.post("/v2/email/list-identities").handler(V2Route.of(auth, identityOps::list));
    router.get("/v2/email/identities/:identity").handler(V2Route.of(auth, identityOps::get));
    router.delete("/v2/email/identities/:identity").handler(V2Route.of(auth, identityOps::delete));
    router.put("/v2/email/identities/:identity/dkim").handler(V2Route.of(auth, identityOps::putDkim));
    router.put("/v2/email/identities/:identity/dkim/signing").handler(V2Route.of(auth, identityOps::putDkimSigning));
    router.put(V1_DKIM_SIGNING).handler(V2Route.of(auth, identityOps::putDkimSigning));
    router.put("/v2/email/identities/:identity/mail-from").handler(V2Route.of(auth, identityOps::putMailFrom));
    IdentityPoliciesHandler policyOps = new IdentityPoliciesHandler(identityPolicies);
    router.get("/v2/email/identities/:identity/policies").handler(V2Route.of(auth, policyOps::get));
    router.post("/v2/email/identities/:identity/policies/:policy").handler(V2Route.of(auth, policyOps::create));
    router.put("/v2/email/identities/:identity/policies/:policy").handler(V2Route.of(auth, policyOps::update));
    router.delete("/v2/email/identities/:identity/policies/:policy").handler(V2Route.of(auth, policyOps::delete));
    router.put("/v2/email/identities/:identity/configuration-set")
        .handler(V2Route.of(auth, identityOps::putConfigurationSet));
    TagsHandler tagOps = new TagsHandler(new io.mailgate.store.ResourceTags(db));
    router.get("/v2/email/tags").handler(V2Route.of(auth, tagOps::list));
    router.post("/v2/email/tags").handler(V2Route.of(auth, tagOps::tag));
    router.delete("/v2/email/tags").handler(V2Route.of(auth, tagOps::untag));
    router.put("/v2/email/identities/:identity/feedback").handler(V2Route.of(auth, identityOps::putFeedback));
    router.get("/v2/email/account").handler(V2Route.of(auth, account::getAccount));
    router.put("/v2/email/account/sending").handler(V2Route.of(auth, account::putSending));
    router.post("/v2/email/account/details").handler(V2Route.of(auth, account::putDetails));
    router.put("/v2/email/account/vdm").handler(V2Route.of(auth, account::putVdm));
    router.put("/v2/email/account/dedicated-ips/warmup").handler(V2Route.of(auth, account::putDedicatedIpWarmup));
    router.get("/v2/email/dedicated-ip-pools").handler(V2Route.of(auth, dedicatedIps::listPools));
    router.get("/v2/email/dedicated-ip-pools/:name").handler(V2Route.of(auth, dedicatedIps::getPool));
    router.get("/v2/email/dedicated-ips").handler(V2Route.of(auth, dedicatedIps::listIps));
    router.get("/v2/email/dedicated-ips/:ip").handler(V2Route.of(auth, dedicatedIps::getIp));
    router.get("/v2/email/deliverability-dashboard/blacklist-report").handler(V2Route.of(auth, blacklists::report));
    router.post("/v2/email/dedicated-ip-pools").handler(V2Route.of(auth, dedicatedIps::refuseChange));
    router.delete("/v2/email/dedicated-ip-pools/:name").handler(V2Route.of(auth, dedicatedIps::refuseChange));
    router.put("/v2/email/dedicated-ip-pools/:name/scaling").handler(V2Route.of(auth, dedicatedIps::refuseChange));
    router.put("/v2/email/dedicated-ips/:ip/pool").handler(V2Route.of(auth, dedicatedIps::refuseChange));
    router.put("/v2/email/dedicated-ips/:ip/warmup").handler(V2Route.of(auth, dedicatedIps::refuseChange));
    router.post("/v2/email/configuration-sets").handler(V2Route.of(auth, configurationSets::create));
    router.get("/v2/email/configuration-sets").handler(V2Route.of(auth, configurationSets::list));
    router.post("/v2/email/list-configuration-sets").handler(V2Route.of(auth, configurationSets::list));
    router.get("/v2/email/configuration-sets/:name").handler(V2Route.of(auth, configurationSets::get));
    router.delete("/v2/email/configuration-sets/:name").handler(V2Route.of(auth, configurationSets::delete));
    router.put("/v2/email/configuration-sets/:name/delivery-options")
        .handler(V2Route.of(auth, configurationSets::putDeliveryOptions));
    router.put("/v2/email/configuration-sets/:name/tracking-options")
        .handler(V2Route.of(auth, configurationSets::putTrackingOptions));
    router.put("/v2/email/configuration-sets/:name/sending").handler(V2Route.of(auth, configurationSets::putSendingOptions));
    router.put("/v2/email/configuration-sets/:name/reputation-options")
        .handler(V2Route.of(auth, configurationSets::putReputationOptions));
    router.put("/v2/email/configuration-sets/:name/vdm-options")
        .handler(V2Route.of(auth, configurationSets::putVdmOptions));
    router.post("/v2/email/update-configuration-sets").handler(V2Route.of(auth, configurationSets::update));
    router.put("/v2/email/configuration-sets/:name/archiving-options")
        .handler(V2Route.of(auth, configurationSets::putArchivingOptions));
    router.put("/v2/email/configuration-sets/:name/suppression-options")
        .handler(V2Route.of(auth, configurationSets::putSuppressionOptions));
    router.post("/v2/email/configuration-sets/:name/event-destinations")
        .handler(V2Route.of(auth, eventDestinations::create));
    router.get("/v2/email/configuration-sets/:name/event-destinations")
        .handler(V2Route.of(auth, eventDestinations::list));
    router.put("/v2/email/configuration-sets/:name/event-destinations/:destination")
        .handler(V2Route.of(auth, eventDestinations::update));
    router.delete("/v2/email/configuration-sets/:name/event-destinations/:destination")
        .handler(V2Route.of(auth, eventDestinations::delete));
    ContactListsHandler lists = new ContactListsHandler(contactLists);
    router.post("/v2/email/contact-lists").handler(V2Route.of(auth, lists::createList));
    router.get("/v2/email/contact-lists").handler(V2Route.of(auth, lists::listLists));
    router.get("/v2/email/contact-lists/:name").handler(V2Route.of(auth, lists::getList));
    router.put("/v2/email/contact-lists/:name").handler(V2Route.of(auth, lists::updateList));
    router.delete("/v2/email/contact-lists/:name").handler(V2Route.of(auth, lists::deleteList));
    router.post("/v2/email/contact-lists/:name/contacts").handler(V2Route.of(auth, lists::createContact));
    router.post("/v2/email/contact-lists/:name/contacts/list").handler(V2Route.of(auth, lists::listContacts));
    // ListContacts as earlier SDKs send it: a GET, paging in the query string, the filter in a body
    router.get("/v2/email/contact-lists/:name/contacts").handler(V2Route.of(auth, lists::listContacts));
    router.get("/v2/email/contact-lists/:name/contacts/:email").handler(V2Route.of(auth, lists::getContact));
    router.put("/v2/email/contact-lists/:name/contacts/:email").handler(V2Route.of(auth, lists::updateContact));
    router.delete("/v2/email/contact-lists/:name/contacts/:email").handler(V2Route.of(auth, lists::deleteContact));
    router.get("/v2/email/insights/:messageId/").handler(V2Route.of(auth, insights::get));
    router.post("/v2/email/email-address-insights/").handler(V2Route.of(auth, addressInsights::get));
    router.post("/v2/email/metrics/batch").handler(V2Route.of(auth, metricData::batch));
    router.post("/v2/email/vdm/recommendations").handler(V2Route.of(auth, recommendations::list));
    router.post("/v2/email/export-jobs").handler(V2Route.of(auth, exportJobs::create));
    router.get("/v2/email/export-jobs/:jobId").handler(V2Route.of(auth, exportJobs::get));
    router.put("/v2/email/export-jobs/:jobId/cancel").handler(V2Route.of(auth, exportJobs::cancel));
    router.post("/v2/email/list-export-jobs").handler(V2Route.of(auth, exportJobs::list));
    router.post("/v2/email/import-jobs").handler(V2Route.of(auth, importJobs::create));
    router.post("/v2/email/import-jobs/list").handler(V2Route.of(auth, importJobs::list));
    router.get("/v2/email/import-jobs/:jobId").handler(V2Route.of(auth, importJobs::get));
    TenantsHandler tenants = new TenantsHandler(vertx, tenantStore, region);
    router.post("/v2/email/tenants").handler(V2Route.of(auth, tenants::create));
    router.post("/v2/email/tenants/get").handler(V2Route.of(auth, tenants::get));
    router.post("/v2/email/tenants/list").handler(V2Route.of(auth, tenants::list));
    router.post("/v2/email/tenants/delete").handler(V2Route.of(auth, tenants::delete));
    router.post("/v2/email/tenants/resources").handler(V2Route.of(auth, tenants::associate));
    router.post("/v2/email/tenants/resources/delete").handler(V2Route.of(auth, tenants::dissociate));
    router.post("/v2/email/tenants/resources/list").handler(V2Route.of(auth, tenants::listResources));
    router.post("/v2/email/resources/tenants/list").handler(V2Route.of(auth, tenants::listResourceTenants));
    router.post("/v2/email/reputation/entities").handler(V2Route.of(auth, tenants::listReputationEntities));
    router.get("/v2/email/reputation/entities/:type/:reference").handler(V2Route.of(auth, tenants::getReputationEntity));
    router.put("/v2/email/reputation/entities/:type/:reference/customer-managed-status")
        .handler(V2Route.of(auth, tenants::updateCustomerManagedStatus));
    router.put("/v2/email/reputation/entities/:type/:reference/policy")
        .handler(V2Route.of(auth, tenants::updatePolicy));
    router.put("/v2/email/account/suppression").handler(V2Route.of(auth, suppression::putAccountAttributes));
    router.put("/v2/email/suppression/addresses").handler(V2Route.of(auth, suppression::put));
    router.get("/v2/email/suppression/addresses").handler(V2Route.of(auth, suppression::list));
    router.get("/v2/email/suppression/addresses/:email").handler(V2Route.of(auth, suppression::get));
    router.delete("/v2/email/suppression/addresses/:email").handler(V2Route.of(auth, suppression::delete));
    router.get("/_mailgate/global-suppression/:email").handler(V2Route.of(auth, suppression::getGlobal));
    router.get("/_mailgate/messages/:messageId").handler(V2Route.of(auth, status::get));
    router.get("/_mailgate/reputation").handler(V2Route.of(auth, (caller, ctx) -> accounts.byId(caller.account().id())
        .map(d -> d.map(x -> x.reputation() == null ? new JsonObject().put("EnforcementStatus", x.enforcementStatus())
            : x.reputation().copy().put("EnforcementStatus", x.enforcementStatus())).orElse(new JsonObject()))));
    java.util.Set<String> operators = new java.util.HashSet<>();
    for (String id : config.get(MailgateConfig.HTTP_OPERATOR_ACCOUNTS).split(",")) {
      if (!id.isBlank()) {
        operators.add(id.strip());
      }
    }
    if (dev) {
      operators.add(config.get(MailgateConfig.DEV_ACCOUNT_ID));
    }
    // every tenant's sites, with the remote servers' last replies (which can name recipients): operators only
    router.get("/_mailgate/delivery/sites").handler(V2Route.of(auth, (caller, ctx) -> operators.contains(caller.account().id())
        // the system clock, as the delivery engine keeps these times by it
        ? Future.succeededFuture(new JsonObject().put("Node", leaseOwner)
            .put("Sites", sites.toJson(System.currentTimeMillis()))
            .put("UnreachableHosts", sites.unreachableHosts(System.currentTimeMillis())))
        : Future.failedFuture(new SesException(io.mailgate.SesError.UNKNOWN_OPERATION, "Unknown operation."))));
    router.get("/_mailgate/metrics").handler(metricsHandler(budget));
    router.get("/_mailgate/verify-email").handler(new VerifyEmailHandler(identities, customVerification)::handle);
    router.get("/t/o/:token").handler(trackingLinks::open);
    router.get("/t/c/:token").handler(trackingLinks::click);
    router.head("/t/o/:token").handler(trackingLinks::open);
    router.head("/t/c/:token").handler(trackingLinks::click);
    UnsubscribeHandler unsubscribe = new UnsubscribeHandler(unsubscribeTokens, contactLists);
    router.get("/t/u/:token").handler(unsubscribe::page);
    router.head("/t/u/:token").handler(unsubscribe::page); // a link checker's: the page's status, no body
    router.post("/t/u/:token").handler(BodyHandler.create(false).setBodyLimit(UnsubscribeHandler.MAX_BODY))
        .handler(unsubscribe::unsubscribe).failureHandler(unsubscribe::failed);
    router.get("/_mailgate/console").handler(console::handle);
    router.get("/_mailgate/console/object").handler(console::object);
    // the form read here, not by BodyHandler, whose decoder takes form fields of at most 8 KB
    router.post("/_mailgate/console").handler(ctx -> consoleForm(ctx, console, budget))
        .failureHandler(console::failed);
    router.get("/_mailgate/health").handler(ctx -> ctx.json(new JsonObject().put("status", "UP").put("node", leaseOwner)));
    router.get("/_mailgate/ready").handler(this::ready);
    if (dev) {
      router.get("/_mailgate/captured").handler(this::captured);
      router.delete("/_mailgate/captured").handler(this::captured);
    }
    // received mail (and files of jobs) through S3's API, path-style under its own prefix ("/s3/*" matches "/s3" too);
    // only the bodies of uploads (PutObject, UploadPart, CompleteMultipartUpload) are read, by S3Api itself once their
    // key is known; an HTML form's (POST Object: its credentials are in it) before, within a share of its own
    S3Api s3 = new S3Api(auth, new ReceivedObjectStore(db), new MultipartStore(db), (ByteBudget) vertx.sharedData()
        .getLocalMap("mailgate.http").computeIfAbsent("s3-reads", k -> new ByteBudget(MAX_S3_READS_IN_FLIGHT)),
        (ByteBudget) vertx.sharedData().getLocalMap("mailgate.http")
            .computeIfAbsent("s3-forms", k -> new ByteBudget(S3Api.MAX_FORMS_IN_FLIGHT)),
        config.get(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT));
    router.route(S3Api.PATH + "/*").handler(s3::handle).failureHandler(s3::fail);
    // SES v1 (Query API) at the root, as SES's own endpoint serves both APIs. Its form body is read here rather than
    // by BodyHandler, which would also decode the form through Netty's multipart decoder and its field limits.
    QueryApi queryApi = new QueryApi(auth, sends, bulkEmail, identities, templateOps, account,
        new SendStatisticsQuery(db), configurationSetStore, trackingOptions, eventDestinationStore, eventDestinations,
        receiptRules, customVerification, identityPolicies, new SendBounceAction(sends,
            new ReceivedMessages(db), config.get(MailgateConfig.DELIVERY_HELO_NAME), clock, limiter,
            config.get(MailgateConfig.RECEIVING_BOUNCES_PER_SECOND)), clock);
    long v1BodyLimit = v1BodyLimit(sends.maxMessageBytes());
    router.post("/").handler(bodyGate(auth, budget, path -> v1BodyLimit, QueryApi::fail, SesApi.V1_QUERY))
        .handler(ctx -> readBody(ctx, v1BodyLimit, body -> queryApi.handle(ctx, body)));
    router.get("/").handler(bodyGate(auth, budget, path -> MAX_OTHER_BODY, QueryApi::fail, SesApi.V1_QUERY))
        .handler(ctx -> queryApi.handle(ctx, null));
    router.route("/").failureHandler(ctx -> QueryApi.fail(ctx, ctx.failure()));
    router.route().handler(ctx -> ctx.fail(404));
    router.route().failureHandler(ctx -> SesErrors.failV2(ctx, ctx.failure()));
    // a request the router cannot take at all (a malformed escape in its path): still an SES-shaped answer, and no
    // stack trace in the log for each one
    router.errorHandler(400, ctx -> {
      if (S3Api.serves(ctx.request().path())) {
        s3.malformed(ctx);
      } else {
        SesErrors.failV2(ctx, SesException.badRequest("Malformed request: "
            + (ctx.failure() == null ? "bad request line" : String.valueOf(ctx.failure().getMessage()))));
      }
    });

    server = vertx.createHttpServer(new HttpServerOptions()
        .setHost(config.get(MailgateConfig.HTTP_HOST))
        .setPort(config.get(MailgateConfig.HTTP_PORT))
        .setTcpNoDelay(true)
        // a tracking link's request line: its token may be up to 8 KB (the target URL and its tags are in it)
        .setMaxInitialLineLength(TrackingTokens.MAX_TOKEN_LENGTH + 1024)
        .setIdleTimeout(IDLE_TIMEOUT_SECONDS)
        // no cleartext HTTP/2: Vert.x's h2c upgrade (the JDK HttpClient asks for it by default) garbles or stalls some
        // responses (one of 65,535 bytes arrives as a protocol error); such a client is answered in HTTP/1.1
        .setHttp2ClearTextEnabled(false)
        .setCompressionSupported(false));
    return limiter.start()
        .compose(v -> server.requestHandler(router).listen().recover(e -> Future.failedFuture(
            config.cannotListen(MailgateConfig.HTTP_PORT, MailgateConfig.HTTP_HOST, e))))
        .compose(v -> startSubmission(new SmtpSubmission(logins, accounts, sends, region,
            io.mailgate.metrics.Metrics.of(vertx))));
  }

  /**
   * The gate before a body is read: a request without any signature is refused at once (BodyHandler would hold up to
   * the route's limit for each one, for anyone who can connect); what the body will hold is counted against the node's
   * {@link ByteBudget} before it is read, and released when the request ends; a large body must arrive at a modest
   * pace (256 KB/s after 30 s): a claim held by a trickle is a claim taken from everyone else.
   */
  private Handler<RoutingContext> bodyGate(RequestAuthenticator auth, ByteBudget budget,
      ToLongFunction<String> limitOfPath, BiConsumer<RoutingContext, Throwable> fail, SesApi api) {
    return ctx -> {
      String query = ctx.request().query();
      // the raw query: getParam would decode every parameter, and throw on a malformed escape
      if (ctx.request().getHeader("Authorization") == null && (query == null || !query.contains("X-Amz-Credential="))) {
        fail.accept(ctx, new SesException(io.mailgate.SesError.MISSING_AUTHENTICATION_TOKEN,
            SigV4Result.Rejected.missingTokenMessage(api)));
        return;
      }
      long limit = limitOfPath.applyAsLong(ctx.request().path());
      // an HTTP/2 request may carry a body with neither header: it may be as large as the route allows
      boolean framed = ctx.request().version() == io.vertx.core.http.HttpVersion.HTTP_2
          && ctx.request().method() != io.vertx.core.http.HttpMethod.GET
          && ctx.request().method() != io.vertx.core.http.HttpMethod.HEAD;
      long claim = claimedLength(ctx.request().getHeader("Content-Length"),
          framed ? "http/2" : ctx.request().getHeader("Transfer-Encoding"), limit);
      if (claim > limit) {
        fail.accept(ctx, SesException.badRequest("Request body of " + claim + " bytes is over the limit of " + limit + "."));
        return;
      }
      if (claim <= UNCHECKED_BODY) {
        admit(ctx, budget, claim, fail);
        return;
      }
      // a body over a few ordinary sends is admitted only for a key that exists: made-up headers must not hold the
      // budget the node's sends share, while their bodies trickle in for as long as the read timer lets them (at 1 MB
      // each, 128 idle connections that cost their client nothing stopped every send on the node). The request waits
      // paused meanwhile (its body's reader resumes it), or what arrives before the reader would be lost. Not a GET: the
      // v1 GET route reads no body, and would leave it paused
      if (ctx.request().method() != io.vertx.core.http.HttpMethod.GET) {
        ctx.request().pause();
      }
      auth.keyBeforeBody(ctx.request(), api).onComplete(known -> {
        if (known.failed()) {
          fail.accept(ctx, known.cause() instanceof SesException ? known.cause()
              : new SesException(io.mailgate.SesError.SERVICE_UNAVAILABLE, "Cannot check credentials right now; "
                  + "retry later."));
        } else {
          admit(ctx, budget, claim, fail);
        }
      });
    };
  }

  /** The request's body counted in the node's budget until the request ends (or refused 503), then on. */
  private void admit(RoutingContext ctx, ByteBudget budget, long claim, BiConsumer<RoutingContext, Throwable> fail) {
    if (claim > 0) {
      if (!budget.take(claim)) {
        fail.accept(ctx, new SesException(io.mailgate.SesError.SERVICE_UNAVAILABLE,
            "Too many large requests in progress on this node; retry later."));
        return;
      }
      // every body must arrive at 256 KB/s or better after 30 s, however small: one trickling in a byte at a time, the
      // idle timeout never ends
      long timer = vertx.setTimer(30_000 + claim / 256, t -> {
        if (ctx.get(BODY_READ) == null) {
          ctx.request().connection().close();
        }
      });
      ctx.addEndHandler(v -> {
        budget.release(claim);
        vertx.cancelTimer(timer);
      });
    }
    ctx.next();
  }

  /**
   * {@code GET /_mailgate/metrics}: the node's counters and gauges for Prometheus. Volume, not tenants (no account in
   * any label), still not for everyone (see {@link #metricsAllowed}). The backlogs (queued recipients, events and
   * receipt notifications waiting) are counted in the background, so that a scrape never waits on the database: at the
   * first scrape, then every 5 s while scrapes go on, however far apart they are. Each count reads what the queues did
   * since the last one ({@link io.mailgate.store.Backlogs}), so a count at each scrape only, a minute apart as
   * Prometheus scrapes by default, read a minute of deliveries at once: at half of the benchmark's max, 260,000 rows
   * and the scenario's slowest second. The gauges are never more than 5 s old either.
   */
  private Handler<RoutingContext> metricsHandler(ByteBudget budget) {
    String token = config.get(MailgateConfig.METRICS_TOKEN);
    io.mailgate.metrics.Metrics metrics = io.mailgate.metrics.Metrics.of(vertx);
    vertx.setPeriodic(io.mailgate.metrics.Metrics.BACKLOG_COUNT_MILLIS, id -> countBacklogs(metrics));
    return ctx -> {
      ByteBudget deliveryContents = (ByteBudget) vertx.sharedData().getLocalMap("mailgate.delivery").get("contents");
      HttpServerRequest request = ctx.request();
      io.vertx.core.net.HostAndPort authority = request.authority();
      if (!metricsAllowed(request.remoteAddress(), authority == null ? null : authority.host(),
          request.headers().contains("X-Forwarded-For") || request.headers().contains("Forwarded"),
          request.getHeader("Authorization"), token)) {
        ctx.response().setStatusCode(403).putHeader("content-type", "text/plain").end("Forbidden\n");
        return;
      }
      metrics.scraped(clock.millis());
      countBacklogs(metrics);
      Sites.Summary s = sites.summary();
      ctx.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
          .end(metrics.render(new io.mailgate.metrics.Metrics.Gauges(s.sites(), s.connections(), s.waiting(),
              budget.held(), deliveryContents == null ? 0 : deliveryContents.held())));
    };
  }

  /**
   * The backlogs counted for the gauges, if they are due ({@link io.mailgate.metrics.Metrics#queueCountDue}). A count
   * that fails leaves the gauges out, with a warning at the first failure of a run of them (the node's first count
   * too).
   */
  private void countBacklogs(io.mailgate.metrics.Metrics metrics) {
    if (metrics.queueCountDue(clock.millis())) {
      io.mailgate.store.Backlogs.count(db, io.mailgate.metrics.Metrics.QUEUE_COUNT_CAP).onComplete(
          metrics::backlogs, e -> {
            if (metrics.backlogs(null)) {
              LOG.warning("Backlog count for the metrics failed (its gauges are left out until one succeeds): " + e);
            }
          });
    }
  }

  /**
   * Who may scrape: with {@code metrics.token} set, whoever gives {@code Bearer <token>} (and only they: behind a
   * reverse proxy on the same host every client would look local); without one, clients on the node's own machine,
   * and only as themselves: a request a proxy forwarded ({@code X-Forwarded-For} or {@code Forwarded}) is someone
   * else's, and one whose Host is not this machine's (null: none given) is a web page whose name was rebound to it.
   */
  static boolean metricsAllowed(io.vertx.core.net.SocketAddress remote, String host, boolean forwarded,
      String authorization, String token) {
    if (token.isEmpty()) {
      return io.mailgate.NetAddresses.isLoopback(remote) && !forwarded
          && (host == null || io.mailgate.NetAddresses.isLoopbackName(host));
    }
    if (authorization == null || authorization.length() < 7
        || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    return java.security.MessageDigest.isEqual(token.getBytes(StandardCharsets.UTF_8),
        authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8));
  }

  /** A Query API body may be as large as a raw message, base64 (4/3) and form-encoded ('+' and '/' triple). */
  static long v1BodyLimit(int maxMessageBytes) {
    return (long) maxMessageBytes * 3 / 2 + 1024 * 1024;
  }

  /**
   * A console form's body: one of up to {@link ConsoleHandler#SMALL_FORM} is read for anyone (its credentials and token
   * are checked once it is read); a larger one (a template's editor, up to {@link ConsoleHandler#MAX_FORM}) only once
   * the request's credentials name an access key and match its secret, and counted in the node's budget of bodies
   * while it is read: made-up credentials hold no memory of the node's. Refused unread, it is answered and its
   * connection closed.
   */
  private void consoleForm(RoutingContext ctx, ConsoleHandler console, ByteBudget budget) {
    HttpServerRequest request = ctx.request();
    long claim = claimedLength(request.getHeader("Content-Length"), request.getHeader("Transfer-Encoding"),
        ConsoleHandler.MAX_FORM);
    if (claim <= ConsoleHandler.SMALL_FORM) {
      readBody(ctx, ConsoleHandler.SMALL_FORM, body -> console.act(ctx, body));
      return;
    }
    // refused unread: said in the answer, and the connection closed after it
    boolean[] admitted = {false};
    ctx.addHeadersEndHandler(v -> {
      if (!admitted[0] && request.version() != io.vertx.core.http.HttpVersion.HTTP_2) {
        ctx.response().putHeader("Connection", "close");
      }
    });
    ctx.addEndHandler(v -> {
      if (!admitted[0]) {
        request.connection().close();
      }
    });
    // one over the limit is read up to it, then refused (413): a client still sending it hears the answer
    long held = Math.min(claim, ConsoleHandler.MAX_FORM);
    request.pause(); // until the body's reader is there
    console.signedIn(ctx, () -> {
      if (!budget.take(held)) {
        ctx.response().putHeader("Retry-After", "1");
        ctx.fail(503);
        return;
      }
      admitted[0] = true;
      ctx.addEndHandler(v -> budget.release(held));
      readBody(ctx, ConsoleHandler.MAX_FORM, body -> console.act(ctx, body));
    });
  }

  /**
   * The answer says the connection closes, and it is closed once the answer is written (its body was left unread).
   * Through the context's end handlers: the response's own end handler is theirs, and replacing it would drop them
   * (a budget's release among them).
   */
  private static void closeAfter(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    ctx.addEndHandler(v -> request.connection().close());
    if (request.version() != io.vertx.core.http.HttpVersion.HTTP_2) {
      ctx.response().putHeader("Connection", "close");
    }
  }

  /** Reads the request body (at most {@code limit} bytes, else a 413) and hands it on. */
  private static void readBody(RoutingContext ctx, long limit, Consumer<Buffer> then) {
    HttpServerRequest request = ctx.request();
    Buffer body = Buffer.buffer();
    boolean[] over = {false};
    request.handler(chunk -> {
      if (over[0]) {
        return;
      }
      if (body.length() + (long) chunk.length() > limit) {
        over[0] = true;
        // answered, then closed: the rest of the body is not read. Said in the answer, so that a client does not send
        // its next request on a connection about to close (the JDK's client did, and failed it)
        closeAfter(ctx);
        ctx.fail(413);
        return;
      }
      body.appendBuffer(chunk);
    });
    request.exceptionHandler(e -> {
      if (!over[0]) {
        over[0] = true;
        ctx.fail(e);
      }
    });
    request.endHandler(v -> {
      if (!over[0]) {
        ctx.put(BODY_READ, Boolean.TRUE);
        then.accept(body);
      }
    });
    continueIfAwaited(ctx);
    request.resume();
  }

  /**
   * Tells a client that waits to be told before it sends its body ({@code Expect: 100-continue}) to send it; call once
   * the body is wanted. Curl and Guzzle over 1 MB, and the AWS SDK for Java's S3 uploads over 1 MB, would otherwise
   * wait for nothing each time (a second, 3 s, 5 s) before sending it anyway; BodyHandler answers it for its routes.
   */
  public static void continueIfAwaited(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (request.version() == io.vertx.core.http.HttpVersion.HTTP_1_1 && awaitsContinue(request)) {
      ctx.response().writeContinue();
    }
  }

  /** Whether the client waits for a 100 Continue before it sends its body. */
  public static boolean awaitsContinue(HttpServerRequest request) {
    return "100-continue".equalsIgnoreCase(request.getHeader("Expect"));
  }

  /**
   * What a request's body will take: its Content-Length; for a body of unknown length (chunked, or HTTP/2 frames), the
   * most the route's body may be; for neither (a GET), nothing.
   */
  static long claimedLength(String header, String transferEncoding, long limit) {
    if (header == null) {
      return transferEncoding == null ? 0 : limit;
    }
    try {
      long n = Long.parseLong(header.strip());
      return n < 0 ? limit : n;
    } catch (NumberFormatException e) {
      return limit;
    }
  }

  /** How long readiness waits for PostgreSQL and Redis to answer. */
  static final long READY_TIMEOUT_MILLIS = 2_000;

  /**
   * Readiness (a load balancer's or an orchestrator's check): 200 when PostgreSQL and Redis both answer within
   * {@link #READY_TIMEOUT_MILLIS} and Redis holds the 24-hour send counts, else 503 with which does not and why: while
   * the counts Redis lost are counted again, every node refuses the sends of limited accounts.
   * {@code /_mailgate/health} only says the process is up.
   */
  private void ready(io.vertx.ext.web.RoutingContext ctx) {
    long now = System.nanoTime();
    // anyone may ask, and each answer costs a statement and a Redis call on the pools the sends use: requests at once
    // share one check, and a check's answer serves for READY_FRESH_NANOS
    if (readiness == null || readiness.isComplete() && now - readinessAt > READY_FRESH_NANOS) {
      readinessAt = now;
      Future<Void> pg = db.query("SELECT 1").execute()
          .timeout(READY_TIMEOUT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS).mapEmpty();
      Future<Boolean> redis = limiter.holdsCounts(READY_TIMEOUT_MILLIS);
      readiness = Future.join(pg, redis).transform(done -> {
        boolean counts = redis.succeeded() && redis.result();
        JsonObject body = new JsonObject()
            .put("status", pg.succeeded() && counts ? "READY" : "NOT_READY")
            .put("node", leaseOwner).put("postgres", pg.succeeded() ? "UP" : "DOWN")
            .put("redis", redis.succeeded() ? "UP" : "DOWN")
            .put("sendCounts", redis.failed() ? "UNKNOWN" : counts ? "HELD" : "COUNTING");
        java.util.List<String> reasons = new java.util.ArrayList<>();
        if (pg.failed()) {
          reasons.add("PostgreSQL does not answer");
        }
        if (redis.failed()) {
          reasons.add("Redis does not answer");
        } else if (!counts) {
          reasons.add("Redis lost the 24-hour send counts; they are being counted again from the database (sends of "
              + "accounts with a daily quota are refused until they are)");
        }
        if (!reasons.isEmpty()) {
          body.put("reason", String.join("; ", reasons));
        }
        return Future.succeededFuture(body);
      });
    }
    readiness.onSuccess(body -> {
      ctx.response().setStatusCode("READY".equals(body.getString("status")) ? 200 : 503);
      ctx.json(body);
    });
  }

  /** How long a readiness check's answer is given again (this verticle's requests share it). */
  static final long READY_FRESH_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
  /** The last readiness check (null before the first) and when it began, on this verticle's event loop. */
  private Future<JsonObject> readiness;
  private long readinessAt;

  /**
   * How long a stopping node lets the requests under way finish (a send arriving, its commit): cutting one would
   * leave its client without the answer to a send that may be committed, which its SDK would send again.
   */
  public static final long STOP_GRACE_SECONDS = 10;

  /**
   * Stops taking connections and requests, lets those under way finish (idle connections close at once, the others
   * after their answer, {@link #STOP_GRACE_SECONDS} at most), then closes the pools their commits used.
   */
  @Override
  public Future<?> stop() {
    Future<Void> smtp = submission == null ? Future.succeededFuture() : submission.close();
    Future<Void> smtpTls = submissionTls == null ? Future.succeededFuture() : submissionTls.close();
    return Future.join(server.shutdown(STOP_GRACE_SECONDS, java.util.concurrent.TimeUnit.SECONDS), smtp, smtpTls)
        .eventually(() -> Future.join(db.close(), accepts.close(), limiter.close(), identities.close()));
  }

  /** SES's SMTP interface on this event loop, when a port is configured (every instance shares it). */
  private Future<Void> startSubmission(SmtpSubmission handler) {
    int port = config.get(MailgateConfig.SMTP_SUBMISSION_PORT);
    if (port <= 0) {
      return Future.succeededFuture();
    }
    SmtpServerOptions options = new SmtpServerOptions()
        .setHost(config.get(MailgateConfig.SMTP_SUBMISSION_HOST))
        .setPort(port)
        .setServerName(config.get(MailgateConfig.DELIVERY_HELO_NAME))
        .setShutdownTimeout(java.time.Duration.ofSeconds(STOP_GRACE_SECONDS)) // as the HTTP requests under way get
        .setMaxMessageSize(sends.maxMessageBytes())
        // every RCPT is taken, as SES takes them, and a message over send.maxRecipients refused whole at the end of
        // DATA: refused at RCPT, the recipients past it were dropped while Django (which ignores refused recipients)
        // and nodemailer reported the message sent. The session's own cap only bounds what one transaction holds
        .setMaxRecipients(Math.max(SUBMISSION_RECIPIENTS, config.get(MailgateConfig.SEND_MAX_RECIPIENTS)))
        .setAuthEnabled(true)
        .setAuthRequired(true)
        .setDsn(false) // as SES's endpoint: the send path keeps no NOTIFY, RET or ENVID, so DSN is not offered
        // nor SMTPUTF8, as SES's: the send path takes ASCII local parts only (RFC 6531 addresses were taken at RCPT, the
        // whole message uploaded, and then refused)
        .setSmtpUtf8(false)
        .setMaxConnectionsPerClient(config.get(MailgateConfig.SMTP_SUBMISSION_MAX_CONNECTIONS_PER_CLIENT))
        .setConnectionRatePerClient(config.get(MailgateConfig.SMTP_SUBMISSION_CONNECTION_RATE_PER_CLIENT))
        .setMessageRatePerClient(config.get(MailgateConfig.SMTP_SUBMISSION_MESSAGE_RATE_PER_CLIENT))
        .setPlainTextAuthAllowed(config.get(MailgateConfig.SMTP_SUBMISSION_PLAINTEXT_AUTH));
    String cert = config.get(MailgateConfig.SMTP_SUBMISSION_TLS_CERT);
    int tlsPort = config.get(MailgateConfig.SMTP_SUBMISSION_TLS_PORT);
    if (cert.isBlank()) {
      return SmtpServer.start(vertx, options, handler).recover(e -> Future.failedFuture(config.cannotListen(
          MailgateConfig.SMTP_SUBMISSION_PORT, MailgateConfig.SMTP_SUBMISSION_HOST, e)))
          .onSuccess(s -> submission = s).mapEmpty();
    }
    options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert)
        .setKeyPath(config.get(MailgateConfig.SMTP_SUBMISSION_TLS_KEY)));
    options.setTlsReloadInterval(
        java.time.Duration.ofSeconds(config.get(MailgateConfig.SMTP_TLS_RELOAD_SECONDS)));
    Future<SmtpServer> startTls = SmtpServer.start(vertx, options, handler).recover(e -> Future.failedFuture(
        config.cannotListen(MailgateConfig.SMTP_SUBMISSION_PORT, MailgateConfig.SMTP_SUBMISSION_HOST, e)))
        .onSuccess(s -> submission = s);
    if (tlsPort <= 0) {
      return startTls.mapEmpty();
    }
    // RFC 8314's implicit TLS: the same interface, TLS from the first byte (no STARTTLS to offer or to strip)
    SmtpServerOptions implicit = new SmtpServerOptions(options).setPort(tlsPort).setImplicitTls(true);
    return startTls.compose(s -> SmtpServer.start(vertx, implicit, handler).recover(e -> Future.failedFuture(
            config.cannotListen(MailgateConfig.SMTP_SUBMISSION_TLS_PORT, MailgateConfig.SMTP_SUBMISSION_HOST, e))))
        .onSuccess(s -> submissionTls = s)
        .mapEmpty();
  }

  private String publicUrl() {
    String url = config.get(MailgateConfig.HTTP_PUBLIC_URL);
    return url.isBlank() ? "http://127.0.0.1:" + config.get(MailgateConfig.HTTP_PORT) : url.replaceAll("/+$", "");
  }

  /**
   * Counts one verification email of {@code accountId}'s in Redis, as its sends are counted (under a name of its own),
   * across the nodes: they go out from the operator's sender and count toward no tenant's limits, so without this an
   * account could mail strangers from it without end, and spend the system's own quota that every tenant's
   * verification emails share.
   */
  private Future<Void> verificationAllowed(String accountId) {
    double perSecond = config.get(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_SECOND);
    long perDay = config.get(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_DAY);
    return limiter.admit(verificationCheck(accountId),
        "Maximum verification email rate exceeded (" + perSecond + " per second).",
        "Daily verification email quota exceeded (" + perDay + " in 24 hours).",
        "Sending limits cannot be checked right now; retry later.");
  }

  /** One verification email of {@code accountId}'s, as the limiter counts it. */
  private RateCheck verificationCheck(String accountId) {
    double perSecond = config.get(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_SECOND);
    long perDay = config.get(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_DAY);
    return new RateCheck("verification:" + accountId, perSecond > 0 ? perSecond : Double.MAX_VALUE, 1,
        perDay > 0 ? perDay : -1, 1);
  }

  /**
   * GetEmailAddressInsights: {@code validation.insightsPerSecond} calls a second per account, across the nodes. Each
   * may look up a domain's MX hosts and addresses through the resolver delivery uses: without a limit, one account's
   * loop over made-up domains would fill its cache and its queries.
   */
  private Future<Void> insightsAllowed(String accountId) {
    double perSecond = config.get(MailgateConfig.VALIDATION_INSIGHTS_PER_SECOND);
    if (perSecond <= 0) {
      return Future.succeededFuture();
    }
    return limiter.admit(new RateCheck("insights:" + accountId, perSecond, 1, -1, 0),
        "Maximum GetEmailAddressInsights rate exceeded (" + perSecond + " per second).",
        "GetEmailAddressInsights quota exceeded.", "Limits cannot be checked right now; retry later.");
  }

  /**
   * BatchGetMetricData: SES's 16 calls and 160 queries a second per account, counted across the nodes. Each query
   * sums an account's days of VDM metrics in PostgreSQL.
   */
  private Future<Void> metricDataAllowed(String accountId, int queries) {
    return limiter.admit(new RateCheck("vdm-calls:" + accountId, 16, 1, -1, 0),
            "Maximum BatchGetMetricData rate exceeded (16 calls per second).", "BatchGetMetricData quota exceeded.",
            "Limits cannot be checked right now; retry later.")
        .compose(v -> limiter.admit(new RateCheck("vdm-queries:" + accountId, 160, queries, -1, 0),
            "Maximum BatchGetMetricData rate exceeded (160 queries per second).", "BatchGetMetricData quota exceeded.",
            "Limits cannot be checked right now; retry later."));
  }

  /** ListRecommendations: SES's one call a second per account, counted across the nodes. */
  private Future<Void> recommendationsAllowed(String accountId) {
    return limiter.admit(new RateCheck("vdm-recommendations:" + accountId, 1, 1, -1, 0),
        "Maximum ListRecommendations rate exceeded (1 call per second).", "ListRecommendations quota exceeded.",
        "Limits cannot be checked right now; retry later.");
  }

  /** CreateExportJob: SES's one call a second per account, counted across the nodes. */
  private Future<Void> exportJobsAllowed(String accountId) {
    return limiter.admit(new RateCheck("export-jobs:" + accountId, 1, 1, -1, 0),
        "Maximum CreateExportJob rate exceeded (1 call per second).", "CreateExportJob quota exceeded.",
        "Limits cannot be checked right now; retry later.");
  }

  /** CreateImportJob: one call a second per account, counted across the nodes, as CreateExportJob. */
  private Future<Void> importJobsAllowed(String accountId) {
    return limiter.admit(new RateCheck("import-jobs:" + accountId, 1, 1, -1, 0),
        "Maximum CreateImportJob rate exceeded (1 call per second).", "CreateImportJob quota exceeded.",
        "Limits cannot be checked right now; retry later.");
  }

  /** The verification email, sent by Mailgate's own system account through the normal send path. */
  private Future<Void> sendVerification(String accountId, String address, String link) {
    String region = config.get(MailgateConfig.REGION).toUpperCase(Locale.ROOT);
    String text = "Dear Mailgate customer,\n\n"
        + "We have received a request to authorize this email address for use with Mailgate in region " + region
        + " (account " + accountId + "). If you requested this verification, go to the following URL to confirm "
        + "that you are authorized to use this email address:\n\n" + link + "\n\n"
        + "Your request will not be processed unless you confirm the address using this URL. This link expires "
        + config.get(MailgateConfig.IDENTITY_VERIFICATION_TTL_HOURS) + " hours after your original verification "
        + "request.\n\nIf you did not request to verify this email address, do not click on the link.\n";
    SimpleContent content = new SimpleContent("Mailgate Email Address Verification Request in region " + region,
        StandardCharsets.UTF_8, new TextBody(text, StandardCharsets.UTF_8), null, List.of(), List.of());
    SendRequest request = new SendRequest(config.get(MailgateConfig.IDENTITY_VERIFICATION_SENDER),
        new SendRequest.Destination(List.of(address), null, null), null, null, null, content);
    Account system = new Account(Caller.SYSTEM_ACCOUNT, "mailgate-system", 100, 1_000_000, true, true);
    return sends.send(new Caller(system, null, null), request).mapEmpty();
  }

  /**
   * start-dev: the capture sink's messages (GET, newest first) or clearing them (DELETE), to clients on the node's own
   * machine only: start-dev may listen beyond it, and the mail it captured (verification links among it) is not for
   * the rest of the network to read or clear. The Host must name this machine too: a web page whose name was rebound
   * to 127.0.0.1 is a local client that names its own site.
   */
  private void captured(RoutingContext ctx) {
    io.vertx.core.net.HostAndPort authority = ctx.request().authority();
    if (!io.mailgate.NetAddresses.isLoopback(ctx.request().remoteAddress())
        || authority != null && !io.mailgate.NetAddresses.isLoopbackName(authority.host())) {
      ctx.fail(new SesException(SesError.ACCESS_DENIED, "Captured mail is shown to clients on this machine only "
          + "(Host localhost, 127.0.0.1 or [::1])."));
      return;
    }
    JsonObject query = new JsonObject().put("clear", ctx.request().method().name().equals("DELETE"));
    String limit;
    try {
      limit = ctx.request().getParam("limit");
    } catch (IllegalArgumentException e) {
      ctx.fail(SesException.badRequest("The query string is not valid percent-encoding."));
      return;
    }
    if (limit != null) {
      try {
        query.put("limit", Integer.parseInt(limit));
      } catch (NumberFormatException e) {
        ctx.fail(SesException.badRequest("limit must be a number."));
        return;
      }
    }
    vertx.eventBus().<JsonArray>request(EventBusAddresses.DEV_CAPTURED, query)
        .onSuccess(reply -> ctx.response().putHeader("content-type", "application/json").end(reply.body().encode()))
        .onFailure(e -> ctx.fail(e instanceof io.vertx.core.eventbus.ReplyException r
            && r.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS
            ? new SesException(SesError.NOT_FOUND, "This node captures no mail (start-dev captures it when "
                + "MAILGATE_RELAY_URL is not set).") : e));
  }
}
