package io.mailgate.smtp;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.MailgateConfig;
import io.mailgate.feedback.InboundMail;
import io.mailgate.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The inbound SMTP server: accepts mail for the bounce domains (the configured ones and every
 * verified custom MAIL FROM domain) and hands each message to the feedback handler, answering 250
 * only once it is stored. Mail for any other domain is refused: this is not an open relay.
 */
public final class InboundSmtpVerticle extends VerticleBase {
  private static final long CACHE_MILLIS = 60_000;

  private record Cached(boolean accepted, long until) {}

  private final MailgateConfig config;
  private final Clock clock;
  private final Set<String> bounceDomains = new HashSet<>();
  private final Map<String, Cached> mailFromDomains = new HashMap<>();
  private Pool db;
  private SmtpServer server;

  public InboundSmtpVerticle(MailgateConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    for (String d : (config.get(MailgateConfig.FEEDBACK_BOUNCE_DOMAINS) + "," + config.get(MailgateConfig.DELIVERY_BOUNCE_DOMAIN))
        .split(",")) {
      if (!d.isBlank()) {
        bounceDomains.add(d.strip().toLowerCase(Locale.ROOT));
      }
    }
    db = Database.pool(vertx, config, 1);
    SmtpServerOptions options = new SmtpServerOptions()
        .setHost(config.get(MailgateConfig.SMTP_INBOUND_HOST))
        .setPort(config.get(MailgateConfig.SMTP_INBOUND_PORT))
        .setServerName(config.get(MailgateConfig.DELIVERY_HELO_NAME))
        .setMaxMessageSize(config.get(MailgateConfig.SMTP_INBOUND_MAX_MESSAGE_BYTES))
        .setMaxRecipients(100);
    return SmtpServer.start(vertx, options, new Handler()).onSuccess(s -> server = s);
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
    long now = clock.millis();
    if (c != null && c.until() > now) {
      return Future.succeededFuture(c.accepted());
    }
    return db.preparedQuery("SELECT 1 FROM identities WHERE mail_from_domain = $1 LIMIT 1").execute(Tuple.of(domain))
        .map(rows -> {
          boolean ok = rows.size() > 0;
          if (mailFromDomains.size() > 10_000) {
            mailFromDomains.clear();
          }
          mailFromDomains.put(domain, new Cached(ok, now + CACHE_MILLIS));
          return ok;
        });
  }

  private final class Handler implements SmtpSessionHandler {
    @Override
    public CompletionStage<SmtpReply> onRcptTo(SessionInfo session, String forwardPath, Map<String, String> params) {
      int at = forwardPath.lastIndexOf('@');
      String domain = at < 0 ? "" : forwardPath.substring(at + 1).toLowerCase(Locale.ROOT);
      return accepts(domain).map(ok -> ok ? SmtpReply.RECIPIENT_OK
              : new SmtpReply(550, "5.7.1", "Relay access denied: " + domain + " is not a domain of this server"))
          .otherwise(SmtpReply.tryAgainLater("Cannot check the recipient domain now"))
          .toCompletionStage();
    }

    @Override
    public CompletionStage<SmtpReply> onMessage(SessionInfo session, Envelope envelope, byte[] message) {
      InboundMail mail = new InboundMail(envelope.reversePath(),
          envelope.recipients().stream().map(Recipient::address).toList(), message,
          envelope.remoteAddress() == null ? null : envelope.remoteAddress().getAddress().getHostAddress(),
          clock.instant());
      return vertx.eventBus().<String>request(EventBusAddresses.FEEDBACK_INBOUND, mail)
          .map(reply -> SmtpReply.queued(reply.body()))
          .otherwise(SmtpReply.tryAgainLater("Feedback could not be stored now"))
          .toCompletionStage();
    }
  }
}
