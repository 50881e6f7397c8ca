package io.mailgate.smtp;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.feedback.InboundMail;
import io.mailgate.metrics.Metrics;
import io.mailgate.receiving.MailReceiver;
import io.mailgate.receiving.ReceiptPlan;
import io.mailgate.receiving.ReceivingDirectory;
import io.mailgate.receiving.SenderAuthentication;
import io.mailgate.receiving.StoredMailLimit;
import io.mailgate.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.logging.Logger;

/**
 * The inbound SMTP server. Mail for the bounce domains (the configured ones and every verified custom
 * MAIL FROM domain, but one that another account receives for: {@link #MAIL_FROM_DOMAIN}) goes to the feedback handler; mail for an address an account receives for (a
 * verified identity of an account with an active receipt rule set whose rules take the address) goes
 * through those rules ({@link ReceiptPlan}, {@link MailReceiver}). Either is answered 250 only once
 * it is stored. Mail for any other address is refused: this is not an open relay.
 *
 * <p>The end of DATA has one reply for all recipients, so a transaction's recipients must share it:
 * feedback, received, or bounced by the same Bounce action; and received by the same accounts, so that
 * one tenant's rules cannot refuse a message for another's. A recipient that does not share the
 * first one's gets 452 4.5.3, and the sending server sends it in a transaction of its own (RFC 5321
 * section 3.3).
 */
public final class InboundSmtpVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(InboundSmtpVerticle.class.getName());
  /** How long a report's storing is waited for, at most: well within the 10 minutes a client waits (RFC 5321). */
  private static final long FEEDBACK_TIMEOUT_MILLIS = 5 * 60_000;

  private record Cached(boolean accepted, long until) {}

  private final MailgateConfig config;
  private final Clock clock;
  private final DnsResolver dns;
  private final Set<String> bounceDomains = new HashSet<>();
  /**
   * What the last lookups said of recipient domains: which are verified MAIL FROM domains (few), and which are not,
   * apart and the second bounded by use, so that a client naming a new domain in each RCPT pushes out only the
   * refusals it caused, never the domains bounces come back to.
   */
  /** Whether the server offers STARTTLS (a certificate is configured): rules that require TLS need it. */
  private boolean tlsOffered;
  private final Map<String, Cached> mailFromDomains = new HashMap<>();
  private final Map<String, Cached> notMailFromDomains = new java.util.LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
      return size() > MAX_REFUSED_DOMAINS;
    }
  };
  static final int MAX_REFUSED_DOMAINS = 10_000;
  /**
   * Whether a domain ($1, with its parents $2) is a verified custom MAIL FROM domain whose mail is feedback
   * (identities_by_mail_from_domain finds the few candidates; the rest is looked up by name for those alone). Not
   * when another account receives for it through a verified domain covering it (as {@link ReceivingDirectory} finds
   * them), unless the MAIL FROM domain's account verified such a domain too: the MX a MAIL FROM domain's check finds
   * may be the one the receiving account set up, and an account that verified only an address of the domain (a
   * MAIL FROM domain may be a subdomain of an address identity's) would take that account's mail.
   */
  public static final String MAIL_FROM_DOMAIN = """
      SELECT 1 FROM identities m
      WHERE m.mail_from_domain = $1 AND m.mail_from_status = 'SUCCESS' AND m.verification_status = 'SUCCESS'
        AND (EXISTS (SELECT 1 FROM identities o WHERE o.account_id = m.account_id AND o.identity = ANY($2)
                     AND o.type = 'DOMAIN' AND o.verification_status = 'SUCCESS' AND o.dkim_lost_at IS NULL)
             OR NOT EXISTS (SELECT 1 FROM identities d JOIN receipt_rule_sets s ON s.account_id = d.account_id
                            WHERE s.active AND d.identity = ANY($2) AND d.type = 'DOMAIN'
                              AND d.verification_status = 'SUCCESS' AND d.dkim_lost_at IS NULL
                              AND d.account_id <> m.account_id))
      LIMIT 1""";
  private static final SmtpReply NOT_ALIKE = new SmtpReply(452, "4.5.3",
      "Too many recipients: this one takes a transaction of its own");
  /** The class of a feedback recipient, beside receiving's {@link ReceiptPlan.Outcome}s. */
  private static final Object FEEDBACK = new Object();

  private Pool db;
  private SmtpServer server;
  private ReceivingDirectory directory;
  private StoredMailLimit storedMail;
  private MailReceiver receiver;
  private Metrics metrics;

  public InboundSmtpVerticle(MailgateConfig config, Clock clock, DnsResolver dns) {
    this.config = config;
    this.clock = clock;
    this.dns = dns;
  }

  @Override
  public Future<?> start() {
    bounceDomains.addAll(config.operatorBounceDomains());
    db = Database.pool(vertx, config, 4); // lookups, and received messages written while others are looked up
    metrics = Metrics.of(vertx);
    directory = new ReceivingDirectory(db, clock, config.get(MailgateConfig.CACHE_TTL_MILLIS));
    storedMail = new StoredMailLimit(db, clock, config.get(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT),
        config.get(MailgateConfig.CACHE_TTL_MILLIS));
    receiver = new MailReceiver(vertx, db, clock, config.get(MailgateConfig.DELIVERY_HELO_NAME), 2,
        config.get(MailgateConfig.SMTP_INBOUND_MAX_MESSAGE_BYTES), new SenderAuthentication(vertx, dns));
    SmtpServerOptions options = new SmtpServerOptions()
        .setHost(config.get(MailgateConfig.SMTP_INBOUND_HOST))
        .setPort(config.get(MailgateConfig.SMTP_INBOUND_PORT))
        .setServerName(config.get(MailgateConfig.DELIVERY_HELO_NAME))
        .setMaxMessageSize(config.get(MailgateConfig.SMTP_INBOUND_MAX_MESSAGE_BYTES))
        .setMaxRecipients(100)
        // as long as the API's requests under way get: a stopping node's whole stop fits its orchestrator's grace
        .setShutdownTimeout(java.time.Duration.ofSeconds(io.mailgate.api.ApiVerticle.STOP_GRACE_SECONDS))
        .setDsn(false) // no success report is written, nor NOTIFY=NEVER kept for a Bounce action's refusal
        .setMaxConnectionsPerClient(config.get(MailgateConfig.SMTP_INBOUND_MAX_CONNECTIONS_PER_CLIENT))
        .setConnectionRatePerClient(config.get(MailgateConfig.SMTP_INBOUND_CONNECTION_RATE_PER_CLIENT))
        .setMessageRatePerClient(config.get(MailgateConfig.SMTP_INBOUND_MESSAGE_RATE_PER_CLIENT));
    boolean own = !config.get(MailgateConfig.SMTP_INBOUND_TLS_CERT).isBlank();
    String cert = config.get(own ? MailgateConfig.SMTP_INBOUND_TLS_CERT : MailgateConfig.SMTP_SUBMISSION_TLS_CERT);
    tlsOffered = !cert.isBlank();
    if (!cert.isBlank()) {
      options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert)
          .setKeyPath(config.get(own ? MailgateConfig.SMTP_INBOUND_TLS_KEY : MailgateConfig.SMTP_SUBMISSION_TLS_KEY)));
      options.setTlsReloadInterval(
          java.time.Duration.ofSeconds(config.get(MailgateConfig.SMTP_TLS_RELOAD_SECONDS)));
    }
    return SmtpServer.start(vertx, options, new Handler()).recover(e -> Future.failedFuture(config.cannotListen(
        MailgateConfig.SMTP_INBOUND_PORT, MailgateConfig.SMTP_INBOUND_HOST, e))).onSuccess(s -> server = s);
  }

  @Override
  public Future<?> stop() {
    return (server == null ? Future.succeededFuture() : server.close()).eventually(() -> db.close());
  }

  public int port() {
    return server.actualPort();
  }

  private Future<Boolean> accepts(String domain) {
    if (bounceDomains.contains(domain)) {
      return Future.succeededFuture(true);
    }
    Cached c = mailFromDomains.get(domain);
    if (c == null) {
      c = notMailFromDomains.get(domain);
    }
    long now = clock.millis();
    if (c != null && c.until() > now) {
      return Future.succeededFuture(c.accepted());
    }
    return db.preparedQuery(MAIL_FROM_DOMAIN).execute(Tuple.of(domain)
            .addArrayOfString(ReceivingDirectory.domains(domain).toArray(String[]::new)))
        .map(rows -> {
          boolean ok = rows.size() > 0;
          Map<String, Cached> into = ok ? mailFromDomains : notMailFromDomains;
          if (ok && mailFromDomains.size() > 100_000) {
            mailFromDomains.clear(); // as many verified MAIL FROM domains as that: a bound, not a working size
          }
          mailFromDomains.remove(domain);
          notMailFromDomains.remove(domain);
          into.put(domain, new Cached(ok, now + config.get(MailgateConfig.CACHE_TTL_MILLIS)));
          return ok;
        });
  }

  /**
   * The address with its domain in ASCII (Punycode), the form identities and rule conditions are kept in: with
   * SMTPUTF8 (RFC 6531) a sender may write bücher.example for xn--bcher-kva.example. One that IDNA cannot convert, or
   * not for certain (faß.example: the JDK's IDNA2003 would make it another domain, fass.example), stays as it is,
   * and matches nothing.
   */
  static String asciiDomain(String address) {
    int at = address.lastIndexOf('@');
    if (at < 0) {
      return address;
    }
    String domain = address.substring(at + 1);
    for (int i = 0; i < domain.length(); i++) {
      if (domain.charAt(i) >= 0x80) {
        try {
          String ascii = io.mailgate.send.MailboxParser.unambiguousAscii(domain);
          return ascii == null ? address : address.substring(0, at + 1) + ascii.toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
          return address;
        }
      }
    }
    return address;
  }

  private static String domainOf(String address) {
    int at = address.lastIndexOf('@');
    return at < 0 ? "" : address.substring(at + 1).toLowerCase(Locale.ROOT);
  }

  /** Feedback, a receiving plan, or null: nobody takes mail for the address's domain. */
  private Future<Object> route(String rawAddress, SessionInfo session) {
    String address = asciiDomain(rawAddress);
    if (address.indexOf('@') < 0) {
      // the bare <Postmaster> (the only address without a domain the syntax lets through) must always be accepted
      // (RFC 5321 section 4.5.1): what is written to this server's postmaster is kept with the reports, to be read
      return Future.succeededFuture(FEEDBACK);
    }
    return accepts(domainOf(address)).compose(feedback -> feedback ? Future.succeededFuture(FEEDBACK)
        : directory.receivers(address).compose(receivers -> receivers.isEmpty() ? Future.succeededFuture()
            : roomFor(ReceiptPlan.of(address, receivers, session.tls(), tlsOffered,
                session.remoteAddress() == null ? null : session.remoteAddress().getAddress().getAddress()))));
  }

  /**
   * The plan, or the recipient refused {@link StoredMailLimit#FULL} when an account whose rules would store the
   * message has no room left: the sender tries again later, and the other accounts' copies wait with it (one
   * transaction, one reply).
   */
  private Future<Object> roomFor(ReceiptPlan plan) {
    if (plan.refusal() != null) {
      return Future.succeededFuture(plan);
    }
    List<Future<Boolean>> full = new ArrayList<>();
    for (ReceiptPlan.Chain c : plan.chains()) {
      if (c.stores()) {
        full.add(storedMail.full(c.account().accountId()));
      }
    }
    if (full.isEmpty()) {
      return Future.succeededFuture(plan);
    }
    return Future.all(full).map(all -> full.stream().anyMatch(Future::result)
        ? plan.refused(StoredMailLimit.FULL) : plan);
  }

  /** The class a recipient's transaction ends in: {@link #FEEDBACK} or its plan's outcome. */
  private static Object classOf(Object route) {
    return route instanceof ReceiptPlan plan && plan.refusal() == null ? plan.outcome() : route;
  }

  /** What a stored feedback message (a report, or mail to a postmaster) is answered, attributed or not. */
  static final SmtpReply FEEDBACK_QUEUED = new SmtpReply(250, "2.0.0", "Ok: queued");

  private Future<SmtpReply> feedback(Envelope envelope, byte[] message) {
    InboundMail mail = new InboundMail(envelope.reversePath(),
        envelope.recipients().stream().map(Recipient::address).toList(), message,
        envelope.remoteAddress() == null ? null : envelope.remoteAddress().getAddress().getHostAddress(),
        clock.instant());
    // the feedback handler answers in time itself (a report it could not parse in time is not recorded, and fails):
    // waiting less than it takes to record one it parsed would answer 451 for a report recorded all the same, and
    // the sender's retry would be a second copy; this only bounds a database that does not answer
    return vertx.eventBus().<String>request(EventBusAddresses.FEEDBACK_INBOUND, mail,
            new DeliveryOptions().setSendTimeout(FEEDBACK_TIMEOUT_MILLIS))
        // the same words whatever became of it: what the report was matched to (a send of this node, or nothing) is
        // for the logs and metrics, never for whoever sent it, who would learn which guessed Message-ID or VERP
        // address names a real send
        .map(reply -> FEEDBACK_QUEUED)
        .otherwise(SmtpReply.tryAgainLater("Feedback could not be stored now"));
  }

  private final class Handler implements SmtpSessionHandler {
    @Override
    public CompletionStage<SmtpReply> onMessage(SessionInfo session, Envelope envelope, byte[] message) {
      List<Future<Object>> routes = new ArrayList<>();
      envelope.recipients().forEach(r -> routes.add(route(r.address(), session)));
      return Future.all(routes).compose(all -> {
        List<ReceiptPlan> plans = new ArrayList<>();
        Object first = classOf(routes.get(0).result());
        for (Future<Object> f : routes) {
          Object route = f.result();
          if (route instanceof ReceiptPlan plan && plan.refusal() == StoredMailLimit.FULL) {
            return Future.succeededFuture(StoredMailLimit.FULL); // filled up since RCPT TO: tried again later
          }
          if (route == null || route instanceof ReceiptPlan plan && plan.refusal() != null
              || !classOf(route).equals(first)) {
            // the rules changed since RCPT TO: the sending server tries again, and meets the new ones
            return Future.succeededFuture(SmtpReply.tryAgainLater("The recipients' receipt rules changed; try again"));
          }
          if (route instanceof ReceiptPlan plan) {
            plans.add(plan);
          }
        }
        return plans.isEmpty() ? feedback(envelope, message) : receiver.receive(envelope, message, plans,
            clock.instant()).onSuccess(reply -> metrics.received(reply.isPositive() ? Metrics.Received.STORED
                : Metrics.Received.BOUNCED)).otherwise(e -> {
              if (e instanceof io.mailgate.store.GroupCommit.Full full) {
                // the database stalls: the statements in flight tell why; this is one of many refused meanwhile
                LOG.fine(() -> "a received message refused: " + full.getMessage());
                return MailReceiver.BUSY;
              }
              LOG.warning("cannot store a received message: " + e.getMessage());
              return SmtpReply.tryAgainLater("The message could not be stored now");
            });
      }, e -> {
        LOG.warning("cannot route a message: " + e);
        return Future.succeededFuture(SmtpReply.tryAgainLater("Cannot route the message now"));
      }).toCompletionStage();
    }

    @Override
    public CompletionStage<SmtpReply> onRcptTo(SessionInfo session, String forwardPath, Map<String, String> params) {
      return onRcptTo(session, forwardPath, params, List.of());
    }

    @Override
    public CompletionStage<SmtpReply> onRcptTo(SessionInfo session, String forwardPath, Map<String, String> params,
        List<Recipient> accepted) {
      return route(forwardPath, session).compose(route -> {
        if (route == null) {
          return Future.succeededFuture(new SmtpReply(550, "5.7.1", "Relay access denied: " + domainOf(forwardPath)
              + " is not a domain of this server"));
        }
        SmtpReply reply = route instanceof ReceiptPlan plan ? plan.rcptReply() : SmtpReply.RECIPIENT_OK;
        if (route instanceof ReceiptPlan plan && !reply.isPositive()) {
          metrics.received(plan.refusal() != null ? Metrics.Received.REFUSED : Metrics.Received.BOUNCED);
        }
        if (!reply.isPositive() || accepted.isEmpty()) {
          return Future.succeededFuture(reply);
        }
        return route(accepted.get(0).address(), session)
            .map(first -> classOf(first).equals(classOf(route)) ? reply : NOT_ALIKE);
      }).otherwise(e -> {
        LOG.warning("cannot route a recipient: " + e);
        return SmtpReply.tryAgainLater("Cannot check the recipient now");
      }).toCompletionStage();
    }
  }
}
