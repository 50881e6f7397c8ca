package io.mailgate.config;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The one typed configuration schema. Every key has a default and a description; values come from
 * {@code conf/mailgate.json} (nested objects, e.g. {@code {"http": {"port": 8080}}}) and are
 * overridden by {@code MAILGATE_*} environment variables. {@link #describe()} prints the schema, and
 * a test checks that the README documents every key.
 */
public final class MailgateConfig {

  private static final Logger LOG = Logger.getLogger(MailgateConfig.class.getName());
  private static final List<ConfigKey<?>> KEYS = new ArrayList<>();

  public static final ConfigKey<String> NODE_ID = key("node.id", String.class, "",
      "Unique name of this node among those sharing a database; it owns the delivery leases it takes, and takes back its own at restart. Empty: the host name. A node does not start while another runs with its name (they would take each other's deliveries).");
  public static final ConfigKey<Integer> NODE_ID_WAIT_SECONDS = key("node.idWaitSeconds", Integer.class, 60,
      "How long a starting node waits for another running with its node.id (its previous run, still stopping) before it refuses to start.");
  public static final ConfigKey<String> REGION = key("region", String.class, "us-east-1",
      "Region name used in ARNs and SES messages.");
  public static final ConfigKey<String> HTTP_HOST = key("http.host", String.class, "0.0.0.0",
      "Address the HTTP API listens on. start-dev: 127.0.0.1 unless set.");
  public static final ConfigKey<Integer> HTTP_PORT = key("http.port", Integer.class, 8080,
      "Port of the SES HTTP API (v2 REST, v1 Query) and the /_mailgate endpoints.");
  public static final ConfigKey<Integer> HTTP_INSTANCES = key("http.instances", Integer.class, 0,
      "HTTP verticle instances (one per event loop). 0: one per CPU core.");
  public static final ConfigKey<String> HTTP_OPERATOR_ACCOUNTS = key("http.operatorAccounts", String.class, "",
      "Account ids, comma-separated, whose keys may read node-wide state (GET /_mailgate/delivery/sites: every tenant's destination sites and their last replies). start-dev adds its own account.");
  public static final ConfigKey<String> METRICS_TOKEN = key("metrics.token", String.class, "",
      "Bearer token a scraper must give for GET /_mailgate/metrics (Prometheus text), from anywhere (behind a local proxy every client looks local); without one, only clients on the node's own machine may read it, naming it as the Host (localhost or a loopback address) and not through a proxy (no X-Forwarded-For or Forwarded).");
  public static final ConfigKey<String> PG_URL = key("pg.url", String.class,
      "postgresql://postgres@127.0.0.1:5432/mailgate",
      "PostgreSQL connection URL (postgresql://user:password@host:port/database). start-dev uses an embedded server unless this is set.");
  public static final ConfigKey<Integer> PG_POOL_SIZE = key("pg.poolSize", Integer.class, 4,
      "PostgreSQL connections of each API and feedback verticle instance (one of each per core by default): a node opens up to 2 x this + 2 per core, plus about 10.");
  public static final ConfigKey<Integer> PG_PIPELINING_LIMIT = key("pg.pipeliningLimit", Integer.class, 256,
      "Statements pipelined on one PostgreSQL connection.");
  public static final ConfigKey<Integer> PG_BACKEND_FLUSH_AFTER_KB = key("pg.backendFlushAfterKb", Integer.class, 256,
      "PostgreSQL's backend_flush_after for Mailgate's connections, in kB (0 to 2048): its backends ask the kernel to write out the table pages they evict every this many kB, instead of leaving them dirty in the page cache until the kernel writes them all at once (every 30 s on Linux), which stalls commits (WAL flushes) for 100-300 ms. 0: PostgreSQL's setting.");
  public static final ConfigKey<Integer> PG_BATCHES_IN_FLIGHT = key("pg.batchesInFlight", Integer.class, 1,
      "Group commit: batches of writes one verticle instance has in flight at once. While they run, new writes queue and go together in the next batch; 1 makes the largest batches (fewest commits).");
  public static final ConfigKey<Integer> PG_ACCEPT_LINGER_MILLIS = key("pg.acceptLingerMillis", Integer.class, 1,
      "Accepted sends wait up to this long to be committed with others (each answer waits for its commit). Under moderate load a commit per send costs PostgreSQL about twice a batched one; 0 commits at once.");
  public static final ConfigKey<Integer> PG_DELIVERY_LINGER_MILLIS = key("pg.deliveryLingerMillis", Integer.class, 20,
      "The delivery path's database work (suppression checks before an attempt, outcomes after it) waits up to this long to go together: no client waits on it, and fewer, larger statements leave PostgreSQL to the sends. Outcomes of a node that dies within it are lost and those recipients delivered again when their lease expires. 0 goes at once.");
  public static final ConfigKey<String> REDIS_URL = key("redis.url", String.class, "redis://127.0.0.1:6379",
      "Redis URL for token buckets and shared counters. start-dev uses an embedded server unless this is set.");
  public static final ConfigKey<String> REDIS_KEY_PREFIX = key("redis.keyPrefix", String.class, "mg:",
      "Prefix of every Redis key Mailgate writes; nodes sharing limits must use the same prefix.");
  public static final ConfigKey<String> RELAY_URL = key("relay.url", String.class, "",
      "SMTP relay (smarthost): smtp://[user:password@]host:port, or smtps:// for implicit TLS. When set (and delivery.mode is not direct) all mail goes there. start-dev captures mail locally when empty.");
  public static final ConfigKey<String> RELAY_TLS_VERIFY = key("relay.tlsVerify", String.class, "credentials",
      "When a relay's TLS certificate must be valid for its host name (chain checked against relay.tlsCaFile or the JVM's trust store): credentials: when it gets a password and is not on this machine (localhost, 127.0.0.1, [::1]); always: every relay connection must be TLS with a valid certificate; never: opportunistic TLS, unverified (as to an MX). A verified relay gets no plain-text fallback.");
  public static final ConfigKey<String> RELAY_TLS_CA_FILE = key("relay.tlsCaFile", String.class, "",
      "PEM file of the certificates (or CAs) trusted for relay TLS when relay.tlsVerify applies. Empty: the JVM's trust store.");
  public static final ConfigKey<String> DELIVERY_MODE = key("delivery.mode", String.class, "",
      "relay: everything goes to relay.url; direct: to each recipient domain's MX hosts. Empty: relay when relay.url is set, else direct. A configuration set overrides it with a sending pool (delivery.sendingPools).");
  public static final ConfigKey<String> DELIVERY_TLS_POLICY = key("delivery.tlsPolicy", String.class, "OPTIONAL",
      "OPTIONAL: STARTTLS when offered (plain text if not, or if the server's TLS is broken); REQUIRE: no delivery without TLS (SES's TlsPolicy).");
  public static final ConfigKey<Integer> DELIVERY_MAX_DELIVERY_SECONDS = key("delivery.maxDeliverySeconds",
      Integer.class, 50400, "How long soft failures are retried before the recipient gets a Transient bounce (SES: 14 hours; MaxDeliverySeconds).");
  public static final ConfigKey<Integer> DELIVERY_RETRY_BASE_SECONDS = key("delivery.retryBaseSeconds",
      Integer.class, 60, "First retry after about this long; each further wait doubles (with jitter).");
  public static final ConfigKey<Integer> DELIVERY_RETRY_MAX_SECONDS = key("delivery.retryMaxSeconds",
      Integer.class, 3600, "Longest wait between two attempts.");
  public static final ConfigKey<String> DELIVERY_SENDING_POOLS = key("delivery.sendingPools", String.class, "",
      "Named routes a configuration set can choose with DeliveryOptions.SendingPoolName: name=direct or name=smtp://[user:password@]host:port, each optionally followed by the local addresses its connections leave from, SES's dedicated IPs (source=ADDRESS or source=ADDRESS/EHLO-NAME, separated by spaces, taken in turn by each destination site from a random first one), entries separated by commas (e.g. bulk=direct source=192.0.2.10/mta1.example.com source=192.0.2.11/mta2.example.com,tx=smtp://relay2:25). Empty: none; every message takes the node's route.");
  public static final ConfigKey<String> DELIVERY_SOURCE_ADDRESSES = key("delivery.sourceAddresses", String.class, "",
      "Local addresses the node's own route's delivery connections leave from (and a sending pool's without sources of its own): ADDRESS or ADDRESS/EHLO-NAME (the name given in EHLO from that address, which should be its PTR name; else delivery.heloName), separated by commas or spaces, taken in turn by each destination site from a random first one. Each must be an address of this machine (checked at start). Empty: the system chooses.");
  public static final ConfigKey<Boolean> DELIVERY_ALLOW_PRIVATE_ADDRESSES = key("delivery.allowPrivateAddresses",
      Boolean.class, false, "Direct mode: deliver to MX hosts (and address literals) at loopback, private, link-local, unique-local, CGNAT, multicast or unspecified addresses. Off, a tenant's domain cannot point the node at the internal network; turn on for tests and private networks.");
  public static final ConfigKey<Integer> EVENTS_CONCURRENCY = key("events.concurrency", Integer.class, 64,
      "Webhook requests (event publishing) one node has open at once; one destination gets at most half of them.");
  public static final ConfigKey<Integer> EVENTS_TIMEOUT_SECONDS = key("events.timeoutSeconds", Integer.class, 10,
      "How long a webhook has to answer an event before the attempt counts as failed and is retried.");
  public static final ConfigKey<Integer> EVENTS_RETRY_BASE_SECONDS = key("events.retryBaseSeconds", Integer.class, 10,
      "Delay before an event that failed is posted again; each further retry waits three times longer, up to an hour.");
  public static final ConfigKey<Integer> EVENTS_MAX_AGE_HOURS = key("events.maxAgeHours", Integer.class, 24,
      "How long an event that its webhook keeps refusing is retried (see events.retryBaseSeconds) before it is dropped and logged.");
  public static final ConfigKey<Integer> EVENTS_POLL_MILLIS = key("events.pollMillis", Integer.class, 1000,
      "How often each node looks for events to publish when it has none in hand (an event waits at most about this long).");
  public static final ConfigKey<Boolean> EVENTS_ALLOW_PRIVATE_ADDRESSES = key("events.allowPrivateAddresses",
      Boolean.class, false, "Post events to webhooks at loopback, private, link-local, unique-local, CGNAT, multicast or unspecified addresses. Off, a tenant cannot make the node call into the internal network; start-dev turns it on (webhooks on the developer's machine).");
  public static final ConfigKey<Integer> DELIVERY_DIRECT_PORT = key("delivery.directPort", Integer.class, 25,
      "Port of MX hosts in direct delivery (25 on the internet).");
  public static final ConfigKey<Boolean> DELIVERY_MTA_STS = key("delivery.mtaSts", Boolean.class, true,
      "Direct mode: honour recipient domains' MTA-STS policies (RFC 8461). Under an enforce policy mail goes only to the MX hosts it names, over TLS with a certificate valid for the MX's name, or waits (a soft failure, retried); testing and none deliver as without a policy. Policies are fetched over HTTPS and cached for their max_age.");
  public static final ConfigKey<Boolean> DELIVERY_DANE = key("delivery.dane", Boolean.class, true,
      "Direct mode: DANE for SMTP (RFC 7672). DNS queries ask for DNSSEC (the DO bit); an MX host whose MX records, addresses and TLSA records (_25._tcp.<host>) the resolver says are authentic (the AD bit) gets its mail only over TLS with a certificate its DANE-EE(3) or DANE-TA(2) records match, or it waits (a soft failure, retried), and before MTA-STS (RFC 8461 2). Only as trustworthy as the resolver and the path to it: dns.servers should be a validating resolver on the machine (unbound, systemd-resolved with DNSSEC=yes; the AD bit of one elsewhere is believed only with dns.trustAd); one that validates nothing changes nothing.");
  public static final ConfigKey<String> DELIVERY_BLOCKLISTS = key("delivery.blocklists", String.class,
      "zen.spamhaus.org,bl.spamcop.net",
      "DNS blocklist zones (DNSBLs) the node's sending addresses (delivery.sourceAddresses and the sending pools' sources) are looked up in, separated by commas: a listing is logged as a warning and answered by GetBlacklistReports. Spamhaus refuses queries that come through public resolvers (dns.servers should be your own resolver). Empty, or no source address: nothing is looked up.");
  public static final ConfigKey<Integer> DELIVERY_BLOCKLIST_CHECK_SECONDS = key("delivery.blocklistCheckSeconds",
      Integer.class, 3600,
      "How often each sending address is looked up in each of delivery.blocklists (by one node of those that send from it at a time).");
  public static final ConfigKey<String> DELIVERY_MTA_STS_CA_FILE = key("delivery.mtaStsCaFile", String.class, "",
      "PEM file of the certificates (or CAs) trusted for MTA-STS: the policy host's HTTPS certificate and, under an enforce policy, the MX hosts'. Empty: the JVM's trust store (the web PKI, as RFC 8461 asks).");
  public static final ConfigKey<Integer> DELIVERY_MTA_STS_PORT = key("delivery.mtaStsPort", Integer.class, 443,
      "Port of the HTTPS server of MTA-STS policies (443 on the internet).");
  public static final ConfigKey<Boolean> TLS_RPT_ENABLED = key("tlsRpt.enabled", Boolean.class, false,
      "Direct mode: SMTP TLS Reporting (RFC 8460). The node counts its TLS sessions with recipient domains' MX hosts (successes; failures by result type: starttls-not-supported, certificate-host-mismatch, certificate-expired, certificate-not-trusted, tlsa-invalid, dnssec-invalid, sts-policy-fetch-error, sts-policy-invalid, validation-failure) by UTC day, policy domain and policy (sts, tlsa, no-policy-found), writes them to PostgreSQL each minute, and after each UTC day mails or posts a daily JSON report to every domain that publishes a _smtp._tls TXT record (v=TLSRPTv1; rua=mailto:...,https://...). Off: nothing counted, nothing sent.");
  public static final ConfigKey<String> TLS_RPT_ORGANIZATION = key("tlsRpt.organization", String.class, "",
      "organization-name of the node's TLS reports. Empty: the reporting domain (the domain of tlsRpt.from).");
  public static final ConfigKey<String> TLS_RPT_CONTACT = key("tlsRpt.contact", String.class, "",
      "contact-info of the node's TLS reports (an address or URL where their recipients can reach the operator). Empty: none given.");
  public static final ConfigKey<String> TLS_RPT_FROM = key("tlsRpt.from", String.class, "",
      "From address of TLS reports; its domain is the reporting domain (the Submitter, the report ids, the DKIM domain), so give every node the same. Empty: tls-reports at delivery.bounceDomain, else at delivery.heloName.");
  public static final ConfigKey<String> TLS_RPT_DKIM_KEY_FILE = key("tlsRpt.dkimKeyFile", String.class, "",
      "PEM file of the private key (RSA or Ed25519) TLS reports sent by mail are DKIM-signed with, for the domain of tlsRpt.from (RFC 8460 3: receivers ignore unsigned reports). Empty: no report is mailed, only posted to https destinations.");
  public static final ConfigKey<String> TLS_RPT_DKIM_SELECTOR = key("tlsRpt.dkimSelector", String.class, "tlsrpt",
      "Selector of tlsRpt.dkimKeyFile's public key, published in the TXT record selector._domainkey.domain (the domain of tlsRpt.from).");
  public static final ConfigKey<Integer> TLS_RPT_INTERVAL_SECONDS = key("tlsRpt.intervalSeconds", Integer.class, 300,
      "How often a node looks for TLS reports to send (a day's reports go out from 15 minutes after its end, each by one node; a failed one is retried with backoff for a day).");
  public static final ConfigKey<String> DELIVERY_SHAPING_FILE = key("delivery.shapingFile", String.class, "",
      "Operator shaping file merged over the shipped delivery/shaping.json (limits per destination site).");
  public static final ConfigKey<String> DELIVERY_THROTTLE_RULES_FILE = key("delivery.throttleRulesFile", String.class,
      "", "Operator rules for \"slow down\" replies, tried before the shipped delivery/throttle-rules.txt.");
  public static final ConfigKey<String> FEEDBACK_BOUNCE_RULES_FILE = key("feedback.bounceRulesFile", String.class, "",
      "Operator bounce classification rules, tried before the shipped feedback/bounce-rules.txt.");
  public static final ConfigKey<String> SMTP_INBOUND_HOST = key("smtp.inboundHost", String.class, "0.0.0.0",
      "Address the inbound SMTP server (bounces, complaints, received mail) listens on. start-dev: 127.0.0.1 unless set.");
  public static final ConfigKey<Integer> SMTP_INBOUND_PORT = key("smtp.inboundPort", Integer.class, 2525,
      "Port of the inbound SMTP server; point the MX of the bounce domains and of the domains accounts receive mail for here (forward port 25 to it). 0: no inbound server.");
  public static final ConfigKey<Integer> SMTP_INBOUND_MAX_MESSAGE_BYTES = key("smtp.inboundMaxMessageBytes",
      Integer.class, 10 * 1024 * 1024, "Largest message the inbound SMTP server accepts (reports and received mail).");
  public static final ConfigKey<Integer> SMTP_INBOUND_MAX_CONNECTIONS_PER_CLIENT = key(
      "smtp.inboundMaxConnectionsPerClient", Integer.class, 50,
      "Connections one client IP address (an IPv6 client: its first 84 bits, as Postfix counts it) may hold open at once on the inbound port (loopback excepted), as Postfix's smtpd_client_connection_count_limit; more are answered 421. Behind a TCP proxy or NAT that hides clients' addresses, raise it or set 0 (no such limit).");
  public static final ConfigKey<Integer> SMTP_INBOUND_CONNECTION_RATE_PER_CLIENT = key(
      "smtp.inboundConnectionRatePerClient", Integer.class, 600,
      "Connections one client IP address (counted as for smtp.inboundMaxConnectionsPerClient, loopback excepted) may open in a minute on the inbound port, as Postfix's smtpd_client_connection_rate_limit (anvil's minute); more are answered 421 4.7.0 and closed until its minute is over. A mail server that reuses its connections opens a few; a flood of connections, each closed at once, is held to it. 0: no limit.");
  public static final ConfigKey<Integer> SMTP_INBOUND_MESSAGE_RATE_PER_CLIENT = key(
      "smtp.inboundMessageRatePerClient", Integer.class, 0,
      "Messages one client IP address (counted as above) may start (MAIL FROM, accepted or not) in a minute on the inbound port, over all its connections, as Postfix's smtpd_client_message_rate_limit; more are answered 450 4.7.1, to try again later. 0: no limit.");
  public static final ConfigKey<String> SMTP_INBOUND_TLS_CERT = key("smtp.inboundTlsCert", String.class, "",
      "PEM certificate chain for STARTTLS on the inbound port (receipt rules with TlsPolicy Require need it: without one, their recipients are answered 454 4.7.0, to try again). Empty: smtp.submissionTlsCert's, if any.");
  public static final ConfigKey<String> SMTP_INBOUND_TLS_KEY = key("smtp.inboundTlsKey", String.class, "",
      "PEM private key of smtp.inboundTlsCert.");
  public static final ConfigKey<String> SMTP_SUBMISSION_HOST = key("smtp.submissionHost", String.class, "0.0.0.0",
      "Address the SMTP submission interface listens on. start-dev: 127.0.0.1 unless set.");
  public static final ConfigKey<Integer> SMTP_SUBMISSION_PORT = key("smtp.submissionPort", Integer.class, 2587,
      "Port of the SMTP submission interface (as SES's SMTP endpoint: AUTH PLAIN or LOGIN with SES SMTP credentials); "
          + "587 in production. 0: no submission interface.");
  public static final ConfigKey<Integer> SMTP_SUBMISSION_TLS_PORT = key("smtp.submissionTlsPort", Integer.class, 2465,
      "Port of the SMTP submission interface with implicit TLS (RFC 8314: TLS from the first byte, as SES's TLS Wrapper "
          + "ports 465 and 2465; what nodemailer's secure: true and Django's EMAIL_USE_SSL connect to); 465 in "
          + "production. Opened only when smtp.submissionTlsCert is set. 0: none.");
  public static final ConfigKey<String> SMTP_SUBMISSION_TLS_CERT = key("smtp.submissionTlsCert", String.class, "",
      "PEM certificate chain for STARTTLS on the submission port and for smtp.submissionTlsPort. Empty: no STARTTLS and no implicit TLS port.");
  public static final ConfigKey<String> SMTP_SUBMISSION_TLS_KEY = key("smtp.submissionTlsKey", String.class, "",
      "PEM private key of smtp.submissionTlsCert.");
  public static final ConfigKey<Integer> SMTP_TLS_RELOAD_SECONDS = key("smtp.tlsReloadSeconds", Integer.class, 60,
      "How often the SMTP ports' certificate and key files (smtp.submissionTlsCert, smtp.inboundTlsCert and their keys) are read again: a renewed pair (certbot, cert-manager) is presented from the next connection on, without a restart. A pair that does not parse, whose key does not match its certificate, or whose certificate has expired is not taken: the port keeps the one it has, with a warning (mailgate_tls_certificate_reloads_total{result=\"refused\"}). 0: read once, at start.");
  public static final ConfigKey<Integer> SMTP_SUBMISSION_MAX_CONNECTIONS_PER_CLIENT = key(
      "smtp.submissionMaxConnectionsPerClient", Integer.class, 50,
      "Connections one client IP address (an IPv6 client: its first 84 bits, as Postfix counts it) may hold open at once on the submission ports (loopback excepted), logged in or not; more are answered 421 (on the implicit TLS port closed, before any handshake). Behind a TCP proxy or NAT that hides clients' addresses, raise it or set 0 (no such limit).");
  public static final ConfigKey<Integer> SMTP_SUBMISSION_CONNECTION_RATE_PER_CLIENT = key(
      "smtp.submissionConnectionRatePerClient", Integer.class, 0,
      "Connections one client IP address (counted as for smtp.submissionMaxConnectionsPerClient, loopback excepted) may open in a minute on each submission port, logged in or not; more are answered 421 4.7.0 (on the implicit TLS port closed, before any handshake) until its minute is over. 0: no limit, as SES's SMTP endpoint, which limits accounts by their sending rate: an application that opens a connection per message opens as many as it sends.");
  public static final ConfigKey<Integer> SMTP_SUBMISSION_MESSAGE_RATE_PER_CLIENT = key(
      "smtp.submissionMessageRatePerClient", Integer.class, 0,
      "Messages one client IP address may start (MAIL FROM) in a minute on each submission port, whoever it logs in as; more are answered 450 4.7.1. 0: no limit (accounts have their sending rate and quota).");
  public static final ConfigKey<Boolean> SMTP_SUBMISSION_PLAINTEXT_AUTH = key("smtp.submissionPlaintextAuth",
      Boolean.class, false, "Accept AUTH on submission connections without TLS (credentials in clear). start-dev turns "
          + "it on when no certificate is configured; otherwise AUTH needs STARTTLS.");
  public static final ConfigKey<String> FEEDBACK_BOUNCE_DOMAINS = key("feedback.bounceDomains", String.class, "",
      "More domains (comma separated) whose mail the inbound server accepts as feedback, besides delivery.bounceDomain and verified custom MAIL FROM domains.");
  public static final ConfigKey<Integer> REPUTATION_WINDOW_HOURS = key("reputation.windowHours", Integer.class, 24,
      "Bounce and complaint rates are computed over this rolling window, reaching further back when it holds fewer sends than a representative volume (reputation.maxWindowDays).");
  public static final ConfigKey<Integer> REPUTATION_MAX_WINDOW_DAYS = key("reputation.maxWindowDays", Integer.class, 7,
      "How far back the window reaches for an account (or tenant) whose last reputation.windowHours hold fewer sent recipients than reputation.complaintMinVolume and reputation.minVolume: it takes the newest five minutes after five minutes back to that volume, at most this many days, so that an account sending a little every day is judged (as SES judges on a representative volume, not a fixed period), and complaints about a large send arriving days later count with it. At most 13 (counters are kept two weeks).");
  public static final ConfigKey<Integer> REPUTATION_MIN_VOLUME = key("reputation.minVolume", Integer.class, 200,
      "Rates act only once the window holds at least this many sent recipients.");
  public static final ConfigKey<Integer> REPUTATION_COMPLAINT_MIN_VOLUME = key("reputation.complaintMinVolume",
      Integer.class, 1000, "The complaint rate acts only once the window holds at least this many sent recipients (and reputation.minVolume): at 0.1% and 0.5%, fewer would judge an account by one or two complaints.");
  public static final ConfigKey<Double> REPUTATION_BOUNCE_WARNING = key("reputation.bounceWarning", Double.class, 0.05,
      "Bounce rate (hard bounces / sent) from which EnforcementStatus becomes PROBATION (SES: 5%).");
  public static final ConfigKey<Double> REPUTATION_BOUNCE_SHUTDOWN = key("reputation.bounceShutdown", Double.class, 0.10,
      "Bounce rate from which sending is paused until an admin resumes it (SES: 10%).");
  public static final ConfigKey<Double> REPUTATION_COMPLAINT_WARNING = key("reputation.complaintWarning", Double.class,
      0.001, "Complaint rate from which EnforcementStatus becomes PROBATION (SES: 0.1%).");
  public static final ConfigKey<Double> REPUTATION_COMPLAINT_SHUTDOWN = key("reputation.complaintShutdown",
      Double.class, 0.005, "Complaint rate from which sending is paused (SES: 0.5%).");
  public static final ConfigKey<Integer> REPUTATION_CHECK_INTERVAL_SECONDS = key("reputation.checkIntervalSeconds",
      Integer.class, 60, "How often account reputations are recomputed.");
  public static final ConfigKey<Integer> VDM_INTERVAL_SECONDS = key("vdm.intervalSeconds", Integer.class, 300,
      "How often a node computes the Virtual Deliverability Manager metrics (BatchGetMetricData) of today (and of the day before, for an hour after its end) again, for the accounts with VDM on (each day by one node at a time); the other recent days are computed again every 6 hours. Nothing runs while no account has VDM on.");
  public static final ConfigKey<Integer> VDM_RECOMPUTE_DAYS = key("vdm.recomputeDays", Integer.class, 14,
      "For how many days (today included) a day's VDM metrics are computed again, so that late bounces, complaints, opens and clicks count with the messages they are about; then they are kept as they are (after retention.days the messages are gone, so never past that).");
  public static final ConfigKey<Integer> VDM_RETENTION_DAYS = key("vdm.retentionDays", Integer.class, 400,
      "The VDM metrics of days more than this many days before today (UTC) are deleted by the retention sweep (400: over 13 months, for a year-over-year comparison); they are aggregates, kept whatever retention.days says. 0 keeps them. At least vdm.recomputeDays, and 14: the days ListRecommendations judges bounce and complaint rates by.");
  /** The days (today's included) of VDM metrics the advisor judges bounce and complaint rates by. */
  public static final int VDM_ADVICE_DAYS = 14;
  public static final ConfigKey<Integer> RETENTION_DAYS = key("retention.days", Integer.class, 30,
      "A message is deleted, with its recipients and events, this many days after it was accepted once every recipient has reached an end (delivered or bounced); inbound feedback and reputation counters older than this go too (the counters stay two weeks at least, for GetSendStatistics). One node at a time deletes, every few minutes, in batches. 0 keeps everything.");
  public static final ConfigKey<Integer> RECEIVING_RETENTION_DAYS = key("receiving.retentionDays", Integer.class, 0,
      "Received mail that receipt rules' S3 actions stored is deleted this many days after it arrived (by the retention sweep, in batches). 0 keeps it until it is deleted through the S3 endpoint, as in S3.");
  public static final ConfigKey<Long> RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT = key(
      "receiving.maxStoredBytesPerAccount", Long.class, 10L * 1024 * 1024 * 1024,
      "What one account's receipt rules' S3 actions may keep in the database, in bytes (counted as stored, with the headers added); once it is reached, a recipient whose rules would store more is answered 452 4.2.2 (mailbox full) and the sending server tries again later, until objects are deleted (S3 API, receiving.retentionDays). Mail to a receiving domain comes from anyone: without a bound one sender could fill the disk every send writes to. 0: no limit.");
  public static final ConfigKey<Double> RECEIVING_BOUNCES_PER_SECOND = key("receiving.bouncesPerSecond",
      Double.class, 1.0,
      "SendBounce calls one account may make per second, counted across the nodes in Redis (SES: one); beyond it the call is a Throttling error and sends nothing. A call that sends nothing (refused by the send path) does not count. 0: no limit.");
  public static final ConfigKey<Integer> FEEDBACK_GLOBAL_SUPPRESSION_DAYS = key("feedback.globalSuppressionDays",
      Integer.class, 14, "An address that hard-bounced for any account is suppressed for everyone this many days (0: no global list).");
  public static final ConfigKey<Integer> DELIVERY_INSTANCES = key("delivery.instances", Integer.class, 0,
      "Delivery verticle instances, each with its own connection pool. 0: one per CPU core.");
  public static final ConfigKey<Integer> DELIVERY_MAX_CONNECTIONS = key("delivery.maxConnections", Integer.class, 16,
      "Maximum simultaneous SMTP connections to the relay, per delivery instance and per source address (direct delivery uses the shaping file).");
  public static final ConfigKey<Integer> DELIVERY_MAX_MESSAGES_PER_CONNECTION = key(
      "delivery.maxMessagesPerConnection", Integer.class, 1000,
      "SMTP transactions on one relay connection before it is closed and replaced.");
  public static final ConfigKey<Integer> DELIVERY_HOST_RETRY_SECONDS = key("delivery.hostRetrySeconds", Integer.class,
      60, "A host that could not be connected to (refused, unreachable, timed out), or that sent no greeting within delivery.commandTimeoutSeconds or refused service in its greeting or EHLO reply with a 5yz (a 4yz, busy, is left to the throttle rules), or that failed a session before the message went (no reply to MAIL, RCPT or DATA within delivery.commandTimeoutSeconds; the connection dropped under its first transaction while another host of the site could take the message), is not tried again for this long, doubling with each further failure up to ten times it: its site's other hosts are tried, and with none left an attempt fails at once instead of waiting out a connect timeout. One successful connection clears it. 0: every attempt tries every host.");
  public static final ConfigKey<Integer> DELIVERY_CONNECT_TIMEOUT_SECONDS = key(
      "delivery.connectTimeoutSeconds", Integer.class, 30, "Timeout to connect (the greeting then has delivery.commandTimeoutSeconds, as RFC 5321 4.5.3.2.1 asks).");
  public static final ConfigKey<Integer> DELIVERY_COMMAND_TIMEOUT_SECONDS = key(
      "delivery.commandTimeoutSeconds", Integer.class, 300,
      "Timeout for each SMTP reply but the one to the final dot (RFC 5321 4.5.3.2 suggests 5 minutes); while a message is written, each block of it must be taken by the server within three fifths of this (RFC 5321's 3 minutes).");
  public static final ConfigKey<Integer> DELIVERY_DATA_TIMEOUT_SECONDS = key(
      "delivery.dataTimeoutSeconds", Integer.class, 600,
      "Timeout for the reply to the final dot, counted from when the message has been written (RFC 5321 4.5.3.2.6: 10 minutes). Apart from delivery.commandTimeoutSeconds because the server may have taken the message by then: giving up on its reply sends the message again.");
  public static final ConfigKey<Integer> DELIVERY_IDLE_TIMEOUT_SECONDS = key(
      "delivery.idleTimeoutSeconds", Integer.class, 30, "An unused pooled SMTP connection is closed after this.");
  public static final ConfigKey<Integer> DELIVERY_LEASE_SECONDS = key("delivery.leaseSeconds", Integer.class, 300,
      "How long a node owns a recipient it is delivering; it renews the lease once a sixth of it has passed (checking every twelfth) while the attempt goes on and until its outcome is written. A lease not renewed in time (its node died, or lost its database) may be taken over by any node's queue scan.");
  public static final ConfigKey<Integer> DELIVERY_SCAN_INTERVAL_SECONDS = key(
      "delivery.scanIntervalSeconds", Integer.class, 5,
      "How often each node scans the queue for recipients whose lease expired (a crashed node's work).");
  public static final ConfigKey<Integer> DELIVERY_MAX_PENDING = key("delivery.maxPending", Integer.class, 20000,
      "Recipients a delivery instance keeps in memory; beyond that they wait in PostgreSQL for the queue scan.");
  public static final ConfigKey<Integer> DELIVERY_MAX_CONTENT_KB = key("delivery.maxContentKb", Integer.class, 0,
      "Message content the node's delivery instances hold in memory at once, in KB (one message alone always goes); beyond that, messages wait in PostgreSQL for the queue scan, which reads a backlog of large messages a few at a time. 0: an eighth of the heap.");
  public static final ConfigKey<String> DELIVERY_HELO_NAME = key("delivery.heloName", String.class, "",
      "Name sent in EHLO and used as reportingMTA in events: a domain name (letters, digits and hyphens; an internationalized one in its xn-- form) or an address literal ([192.0.2.1], [IPv6:2001:db8::1]); anything else fails the start. Empty: the host name. A source address's own name (delivery.sourceAddresses, a sending pool's source=) is sent in EHLO from that address instead; reportingMTA stays this name.");
  public static final ConfigKey<Integer> SEND_MAX_MESSAGE_BYTES = key("send.maxMessageBytes", Integer.class,
      40 * 1024 * 1024, "Largest message accepted, attachments and encoding included (SES: 40 MB).");
  public static final ConfigKey<Integer> SEND_MAX_RECIPIENTS = key("send.maxRecipients", Integer.class, 50,
      "Most recipients (To, Cc and Bcc together) of one message (SES: 50; at most 32767).");
  public static final ConfigKey<Boolean> SEND_RENDERING_FAILURE_EVENTS = key("send.renderingFailureEvents",
      Boolean.class, true, "As SES: a templated send whose data lacks an attribute the template prints is accepted (a MessageId), not delivered, and published as a Rendering Failure event (and shown as RENDERING_FAILED by the message's status). false: such a send is refused at once with a 400 MissingRenderingAttribute naming the attribute.");
  public static final ConfigKey<String> SEND_MESSAGE_ID_DOMAIN = key("send.messageIdDomain", String.class,
      "email.mailgate.local", "Domain part of the Message-ID headers Mailgate generates.");
  public static final ConfigKey<String> HTTP_TRUSTED_PROXIES = key("http.trustedProxies", String.class, "",
      "Load balancers and proxies in front of the HTTP port (IP addresses and CIDR ranges, comma separated): from these, the client's address is taken from X-Forwarded-For (events' ipAddress and ses:source-ip). Empty: the peer's address.");
  public static final ConfigKey<String> HTTP_PUBLIC_URL = key("http.publicUrl", String.class, "",
      "Base URL users reach this service at, used in identity verification links and in open and click tracking links (unless a configuration set has a CustomRedirectDomain): recipients must reach it; http(s), its host in ASCII (xn-- for an internationalized name) without _. Empty: http://127.0.0.1:<http.port>.");
  public static final ConfigKey<String> SECURITY_MASTER_KEY = key("security.masterKey", String.class, "",
      "Base64 of 32 random bytes (openssl rand -base64 32). Encrypts access key secrets and DKIM private keys at rest and signs verification and tracking links. Required by start; start-dev uses a fixed development key when empty.");
  public static final ConfigKey<String> DNS_SERVERS = key("dns.servers", String.class, "",
      "DNS resolvers (IP[:port], comma separated) for DKIM, MAIL FROM and MX lookups. Empty: the system's (/etc/resolv.conf).");
  public static final ConfigKey<Boolean> DNS_TRUST_AD = key("dns.trustAd", Boolean.class, false,
      "Believe the AD bit (the answer is DNSSEC-validated, which DANE relies on) from a resolver of dns.servers that is not on this machine. Off: only a loopback resolver's (127.0.0.1, ::1) is believed, as glibc believes it only with trust-ad: between machines it crosses the network unauthenticated, and whoever can alter DNS answers on the way could set it. On only for a validating resolver reached over a trusted network.");
  public static final ConfigKey<Integer> DNS_TIMEOUT_MILLIS = key("dns.timeoutMillis", Integer.class, 5000,
      "Timeout of one DNS query (each resolver is tried, twice in all).");
  public static final ConfigKey<Integer> DNS_MIN_TTL_SECONDS = key("dns.minTtlSeconds", Integer.class, 10,
      "DNS answers are cached for their TTL but at least this long.");
  public static final ConfigKey<Integer> DNS_MAX_TTL_SECONDS = key("dns.maxTtlSeconds", Integer.class, 86400,
      "DNS answers are cached for their TTL but at most this long.");
  public static final ConfigKey<String> VALIDATION_DISPOSABLE_DOMAINS_FILE = key("validation.disposableDomainsFile",
      String.class, "", "A file of disposable mailbox domains (one a line, '#' comments) that email validation (GetEmailAddressInsights, Auto Validation) adds to the list Mailgate bundles. Empty: the bundled list only.");
  public static final ConfigKey<Double> VALIDATION_INSIGHTS_PER_SECOND = key("validation.insightsPerSecond",
      Double.class, 10.0, "GetEmailAddressInsights calls one account may make per second, counted across the nodes in Redis (each may look up a domain's MX hosts and addresses); beyond it the call is a 429 TooManyRequests. 0: no limit.");
  public static final ConfigKey<Integer> IDENTITY_DNS_CHECK_INTERVAL_SECONDS = key(
      "identity.dnsCheckIntervalSeconds", Integer.class, 300,
      "How often each domain identity's DKIM and MAIL FROM records are checked.");
  public static final ConfigKey<Integer> IDENTITY_PENDING_TIMEOUT_HOURS = key("identity.pendingTimeoutHours",
      Integer.class, 72, "A DKIM or MAIL FROM record still missing after this long makes the status FAILED (SES: 72 hours).");
  public static final ConfigKey<String> IDENTITY_MAIL_FROM_MX_HOSTS = key("identity.mailFromMxHosts", String.class, "",
      "Host names the MX record of a custom MAIL FROM domain must name (this deployment's inbound SMTP hosts, as SES requires feedback-smtp.<region>.amazonses.com), comma separated. Empty: any MX (set it: an MX elsewhere takes the domain's bounces, and its senders' bounce rate, away).");
  public static final ConfigKey<Integer> IDENTITY_VERIFICATION_TTL_HOURS = key("identity.verificationTtlHours",
      Integer.class, 24, "How long the link in an email address verification message stays valid (SES: 24 hours); an address identity whose link went unfollowed that long reads FAILED until it is sent a new one (v1 VerifyEmailIdentity).");
  public static final ConfigKey<Double> IDENTITY_VERIFICATION_EMAILS_PER_SECOND = key(
      "identity.verificationEmailsPerSecond", Double.class, 1.0,
      "Verification emails (CreateEmailIdentity, VerifyEmailIdentity for a pending address) one account may have sent, per second, counted across the nodes in Redis; beyond it the request is a 429 TooManyRequests and creates nothing. They go out from identity.verificationSender and count toward no tenant's sending limits. 0: no limit.");
  public static final ConfigKey<Integer> IDENTITY_VERIFICATION_EMAILS_PER_DAY = key(
      "identity.verificationEmailsPerDay", Integer.class, 1000,
      "Verification emails one account may have sent in 24 hours (as identity.verificationEmailsPerSecond). 0: no limit.");
  public static final ConfigKey<String> IDENTITY_VERIFICATION_SENDER = key("identity.verificationSender",
      String.class, "no-reply-verification@mailgate.local", "From address of identity verification emails.");
  public static final ConfigKey<Double> ACCOUNTS_DEFAULT_MAX_SEND_RATE = key("accounts.defaultMaxSendRate",
      Double.class, 14.0, "MaxSendRate given to a new account when it leaves the sandbox, unless set explicitly.");
  public static final ConfigKey<Long> ACCOUNTS_DEFAULT_MAX_24_HOUR_SEND = key("accounts.defaultMax24HourSend",
      Long.class, 50_000L, "Max24HourSend given to a new account when it leaves the sandbox, unless set explicitly.");
  public static final ConfigKey<Double> ACCOUNTS_SANDBOX_MAX_SEND_RATE = key("accounts.sandboxMaxSendRate",
      Double.class, 1.0, "MaxSendRate of an account in the sandbox (SES: 1 per second).");
  public static final ConfigKey<Long> ACCOUNTS_SANDBOX_MAX_24_HOUR_SEND = key("accounts.sandboxMax24HourSend",
      Long.class, 200L, "Max24HourSend of an account in the sandbox (SES: 200).");
  public static final ConfigKey<Integer> CACHE_TTL_MILLIS = key("cache.ttlMillis", Integer.class, 5000,
      "How long a node caches access keys, account limits and identities; changes made by the admin command or on another node take effect within this.");
  public static final ConfigKey<String> DELIVERY_BOUNCE_DOMAIN = key("delivery.bounceDomain", String.class, "",
      "Domain of the envelope sender (MAIL FROM) of messages without a verified custom MAIL FROM domain; bounces come back to it. Empty: the message's Return-Path (ReturnPath, FeedbackForwardingEmailAddress or the SMTP MAIL FROM) is the envelope sender, else its From address.");
  public static final ConfigKey<String> DEV_ACCOUNT_ID = key("dev.accountId", String.class, "000000000000",
      "start-dev: id of the default account.");
  public static final ConfigKey<String> DEV_ACCESS_KEY_ID = key("dev.accessKeyId", String.class,
      "AKIAMAILGATEDEV00001", "start-dev: access key id of the default account.");
  public static final ConfigKey<String> DEV_SECRET_ACCESS_KEY = key("dev.secretAccessKey", String.class,
      "mailgate/dev/secret/key/0000000000000000", "start-dev: secret access key of the default account.");
  public static final ConfigKey<Double> DEV_MAX_SEND_RATE = key("dev.maxSendRate", Double.class, 1000.0,
      "start-dev: MaxSendRate (recipients per second) of the default account.");
  public static final ConfigKey<Long> DEV_MAX_24_HOUR_SEND = key("dev.max24HourSend", Long.class, 10_000_000L,
      "start-dev: Max24HourSend of the default account.");
  public static final ConfigKey<Boolean> DEV_AUTO_VERIFY_SENDERS = key("dev.autoVerifySenders", Boolean.class, true,
      "start-dev: a send from an address that is not a verified identity creates and verifies it on the spot (logged).");
  public static final ConfigKey<Integer> DEV_CAPTURE_LIMIT = key("dev.captureLimit", Integer.class, 1000,
      "start-dev: how many captured messages /_mailgate/captured keeps, within 32 MB in all (oldest dropped first).");

  private static <T> ConfigKey<T> key(String path, Class<T> type, T def, String description) {
    ConfigKey<T> k = new ConfigKey<>(path, type, def, description);
    KEYS.add(k);
    return k;
  }

  public static List<ConfigKey<?>> keys() {
    return Collections.unmodifiableList(KEYS);
  }

  private final Map<String, Object> values;

  private MailgateConfig(Map<String, Object> values) {
    this.values = values;
  }

  /** Defaults only (no file, no environment). */
  public static MailgateConfig defaults() {
    return new MailgateConfig(new LinkedHashMap<>());
  }

  /**
   * Loads {@code file} when it exists, then applies overrides from {@code env}. Unknown keys in the
   * file are an error (a typo should not silently fall back to a default).
   */
  public static MailgateConfig load(Path file, Map<String, String> env) {
    Map<String, Object> values = new LinkedHashMap<>();
    if (file != null && !Files.exists(file) && env.containsKey("MAILGATE_CONFIG")) {
      // named on purpose: a typo must not start a node on the defaults (no TLS policy, no metrics token, ...)
      throw new ConfigException("MAILGATE_CONFIG names " + file + ", which does not exist");
    }
    if (file != null && Files.exists(file)) {
      JsonObject json;
      try {
        json = new JsonObject(Files.readString(file));
      } catch (IOException | DecodeException e) {
        throw new ConfigException("cannot read " + file + ": " + e.getMessage(), e);
      }
      flatten("", json, values);
      for (String path : values.keySet()) {
        if (find(path) == null) {
          throw new ConfigException("unknown configuration key '" + path + "' in " + file);
        }
      }
    }
    MailgateConfig config = new MailgateConfig(values);
    for (ConfigKey<?> k : KEYS) {
      String v = env.get(k.envName());
      if (v != null) {
        values.put(k.path(), v);
      }
    }
    for (ConfigKey<?> k : KEYS) {
      Object v = config.get(k); // validates types eagerly: a bad value fails at start, not on first use
      Number min = MINIMUMS.get(k.path());
      if (min != null && v instanceof Number n && n.doubleValue() < min.doubleValue()) {
        throw new ConfigException("invalid value for " + k.path() + " (" + k.envName() + "): " + v + " is below its "
            + "least, " + min);
      }
      Number max = MAXIMUMS.get(k.path());
      if (max != null && v instanceof Number n && n.doubleValue() > max.doubleValue()) {
        throw new ConfigException("invalid value for " + k.path() + " (" + k.envName() + "): " + v + " is above its "
            + "most, " + max);
      }
    }
    checkRates(config);
    checkListeners(config);
    int vdmKept = config.get(VDM_RETENTION_DAYS);
    if (vdmKept > 0 && vdmKept < config.get(VDM_RECOMPUTE_DAYS)) {
      // a day still computed again would be deleted and written again, sweep after sweep
      throw new ConfigException("invalid values: " + VDM_RETENTION_DAYS.path() + " (" + vdmKept + ") is below "
          + VDM_RECOMPUTE_DAYS.path() + " (" + config.get(VDM_RECOMPUTE_DAYS) + "): the days still computed are kept");
    }
    if (vdmKept > 0 && vdmKept < VDM_ADVICE_DAYS) {
      // the rates recommendations judge by would shrink to the days kept
      throw new ConfigException("invalid value for " + VDM_RETENTION_DAYS.path() + " (" + VDM_RETENTION_DAYS.envName()
          + "): " + vdmKept + " is below " + VDM_ADVICE_DAYS + ", the days ListRecommendations judges rates by");
    }
    String helo = config.get(DELIVERY_HELO_NAME);
    String heloProblem = helo.isBlank() ? null : HeloName.problem(helo);
    if (heloProblem != null) {
      // it goes into every EHLO (and greeting): a name the command line cannot carry would fail every delivery
      throw new ConfigException("invalid value for " + DELIVERY_HELO_NAME.path() + " (" + DELIVERY_HELO_NAME.envName()
          + "): '" + helo + "' is no domain name or address literal (RFC 5321 4.1.2): " + heloProblem);
    }
    Set<String> known = new HashSet<>();
    KEYS.forEach(k -> known.add(k.envName()));
    for (String name : env.keySet()) {
      if (name.startsWith("MAILGATE_") && !known.contains(name) && !NOT_KEYS.contains(name)) {
        LOG.warning("environment variable " + name + " is no configuration key (a typo?): ignored");
      }
    }
    return config;
  }

  /**
   * The reputation thresholds are rates, above 0 and at most 1, and an account is warned before it is paused: a rate
   * of 0 would be reached by every account with no bounce or complaint at all (0 >= 0: every account with enough
   * sends paused, each to be resumed by hand).
   */
  private static void checkRates(MailgateConfig config) {
    for (ConfigKey<Double> k : List.of(REPUTATION_BOUNCE_WARNING, REPUTATION_BOUNCE_SHUTDOWN,
        REPUTATION_COMPLAINT_WARNING, REPUTATION_COMPLAINT_SHUTDOWN)) {
      double v = config.get(k);
      if (!(v > 0 && v <= 1)) {
        throw new ConfigException("invalid value for " + k.path() + " (" + k.envName() + "): " + v + " is no rate "
            + "above 0 and at most 1 (0.05 is 5 %)");
      }
    }
    for (List<ConfigKey<Double>> pair : List.of(List.of(REPUTATION_BOUNCE_WARNING, REPUTATION_BOUNCE_SHUTDOWN),
        List.of(REPUTATION_COMPLAINT_WARNING, REPUTATION_COMPLAINT_SHUTDOWN))) {
      ConfigKey<Double> warning = pair.get(0);
      ConfigKey<Double> shutdown = pair.get(1);
      if (config.get(warning) > config.get(shutdown)) {
        throw new ConfigException("invalid values: " + warning.path() + " (" + config.get(warning) + ") is above "
            + shutdown.path() + " (" + config.get(shutdown) + "): an account is warned before it is paused");
      }
    }
  }

  /**
   * The node's listeners each have a port of their own (0: none): Vert.x shares one bound address among the servers
   * that ask for it, so two listeners on one port would each get every other connection (an HTTP client greeted by
   * the SMTP server, bounces from the internet on the submission port), without an error.
   */
  private static void checkListeners(MailgateConfig config) {
    record Listener(ConfigKey<Integer> port, ConfigKey<String> host) {}
    List<Listener> open = new ArrayList<>(List.of(new Listener(HTTP_PORT, HTTP_HOST),
        new Listener(SMTP_SUBMISSION_PORT, SMTP_SUBMISSION_HOST), new Listener(SMTP_INBOUND_PORT, SMTP_INBOUND_HOST)));
    if (!config.get(SMTP_SUBMISSION_TLS_CERT).isBlank()) {
      open.add(new Listener(SMTP_SUBMISSION_TLS_PORT, SMTP_SUBMISSION_HOST));
    }
    for (int i = 0; i < open.size(); i++) {
      for (int j = i + 1; j < open.size(); j++) {
        Listener a = open.get(i);
        Listener b = open.get(j);
        int port = config.get(a.port());
        String hostA = config.get(a.host());
        String hostB = config.get(b.host());
        if (port > 0 && port == config.get(b.port())
            && (hostA.equalsIgnoreCase(hostB) || anyAddress(hostA) || anyAddress(hostB))) {
          throw new ConfigException("invalid values: " + a.port().path() + " (" + a.port().envName() + ") and "
              + b.port().path() + " (" + b.port().envName() + ") are both " + port + ": each listener needs a port "
              + "of its own");
        }
      }
    }
  }

  private static boolean anyAddress(String host) {
    return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") || host.isBlank();
  }

  /**
   * The least a key may be where less would break the node rather than tune it (every number is at least 0 anyway):
   * a lease of a few seconds would have every delivery under way taken over by the next scan and sent twice; a
   * reputation check every 0 seconds is a timer Vert.x refuses (the node would not start, with its message, not this
   * one); a minimum volume of 0 would judge a window with a complaint and nothing sent (1/0: paused).
   */
  private static final Map<String, Number> MINIMUMS = Map.ofEntries(
      Map.entry("delivery.leaseSeconds", 30), Map.entry("delivery.scanIntervalSeconds", 1),
      Map.entry("delivery.maxPending", 1), Map.entry("delivery.maxConnections", 1), Map.entry("pg.poolSize", 1),
      Map.entry("events.concurrency", 1), Map.entry("events.timeoutSeconds", 1), Map.entry("send.maxRecipients", 1),
      Map.entry("dns.timeoutMillis", 1), Map.entry("reputation.checkIntervalSeconds", 1),
      Map.entry("reputation.minVolume", 1), Map.entry("smtp.tlsReloadSeconds", 0),
      // a timeout of 0 fails every reply at once (or, for a connection, means none at all); a retry delay of 0 retries
      // every deferral at every scan; no pipelined statement, or no batch in flight, is a pool that cannot work
      Map.entry("delivery.connectTimeoutSeconds", 1), Map.entry("delivery.commandTimeoutSeconds", 1),
      Map.entry("delivery.dataTimeoutSeconds", 1),
      Map.entry("delivery.retryBaseSeconds", 1), Map.entry("delivery.retryMaxSeconds", 1),
      Map.entry("pg.pipeliningLimit", 1), Map.entry("pg.batchesInFlight", 1), Map.entry("tlsRpt.intervalSeconds", 1),
      Map.entry("vdm.intervalSeconds", 1), Map.entry("vdm.recomputeDays", 1),
      Map.entry("delivery.blocklistCheckSeconds", 1));

  /**
   * The most a key may be where more would break the node: a recipient's place in its message is a smallint, and a
   * message of more recipients would fail every message committed with it; a port is at most 65535.
   */
  private static final Map<String, Number> MAXIMUMS = Map.of("send.maxRecipients", Short.MAX_VALUE,
      "http.port", 65535, "smtp.inboundPort", 65535, "smtp.submissionPort", 65535, "smtp.submissionTlsPort", 65535,
      "delivery.directPort", 65535, "delivery.mtaStsPort", 65535);

  /** The MAILGATE_ variable that names the file rather than a key. */
  private static final Set<String> NOT_KEYS = Set.of("MAILGATE_CONFIG");

  private static void flatten(String prefix, JsonObject json, Map<String, Object> out) {
    for (Map.Entry<String, Object> e : json) {
      String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
      if (e.getValue() instanceof JsonObject nested) {
        flatten(path, nested, out);
      } else {
        out.put(path, e.getValue());
      }
    }
  }

  private static ConfigKey<?> find(String path) {
    for (ConfigKey<?> k : KEYS) {
      if (k.path().equals(path)) {
        return k;
      }
    }
    return null;
  }

  public <T> T get(ConfigKey<T> key) {
    Object raw = values.get(key.path());
    return raw == null ? key.defaultValue() : key.convert(raw);
  }

  /**
   * The operator's own bounce domains (delivery.bounceDomain and feedback.bounceDomains), lower case: unlike an
   * account's custom MAIL FROM domain, whose DNS (SPF macros, MX) the account runs, no account sees the return paths
   * on them.
   */
  public Set<String> operatorBounceDomains() {
    Set<String> domains = new HashSet<>();
    for (String d : (get(FEEDBACK_BOUNCE_DOMAINS) + "," + get(DELIVERY_BOUNCE_DOMAIN)).split(",")) {
      if (!d.isBlank()) {
        domains.add(d.strip().toLowerCase(java.util.Locale.ROOT));
      }
    }
    return Set.copyOf(domains);
  }

  /**
   * A listener that could not open its port (taken by another process, an address the host does not have, a port
   * below 1024 without the right), said with the keys that chose it: the start fails with this, not a bare bind error.
   */
  public ConfigException cannotListen(ConfigKey<Integer> port, ConfigKey<String> host, Throwable e) {
    return new ConfigException("cannot listen on " + get(host) + ":" + get(port) + " (" + port.path() + ", "
        + port.envName() + "; " + host.path() + ", " + host.envName() + "): " + e.getMessage(), e);
  }

  public boolean isSet(ConfigKey<?> key) {
    return values.containsKey(key.path());
  }

  /** A copy with {@code key} set; used by start-dev (embedded services) and tests. */
  public <T> MailgateConfig with(ConfigKey<T> key, T value) {
    Map<String, Object> copy = new LinkedHashMap<>(values);
    copy.put(key.path(), value);
    return new MailgateConfig(copy);
  }

  /** The schema as documentation: key, environment variable, default, description. */
  public static String describe() {
    StringBuilder sb = new StringBuilder();
    for (ConfigKey<?> k : KEYS) {
      sb.append(k.path()).append("  (").append(k.envName()).append(")  default: ")
          .append(k.defaultValue()).append("\n    ").append(k.description()).append('\n');
    }
    return sb.toString();
  }

  /** The schema as a Markdown table (the README's configuration section is this output). */
  public static String markdownTable() {
    StringBuilder sb = new StringBuilder("| key | environment variable | default | description |\n|---|---|---|---|\n");
    for (ConfigKey<?> k : KEYS) {
      String def = String.valueOf(k.defaultValue());
      sb.append("| `").append(k.path()).append("` | `").append(k.envName()).append("` | ")
          .append(def.isEmpty() ? "(empty)" : "`" + def + "`").append(" | ").append(k.description()).append(" |\n");
    }
    return sb.toString();
  }

  /** The defaults as a nested JSON document, the shape of {@code conf/mailgate.json}. */
  public static JsonObject defaultsAsJson() {
    JsonObject root = new JsonObject();
    for (ConfigKey<?> k : KEYS) {
      String[] parts = k.path().split("\\.");
      JsonObject node = root;
      for (int i = 0; i < parts.length - 1; i++) {
        JsonObject next = node.getJsonObject(parts[i]);
        if (next == null) {
          next = new JsonObject();
          node.put(parts[i], next);
        }
        node = next;
      }
      node.put(parts[parts.length - 1], k.defaultValue());
    }
    return root;
  }
}
