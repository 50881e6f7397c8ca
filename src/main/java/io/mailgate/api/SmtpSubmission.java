package io.mailgate.api;

import io.mailgate.SesException;
import io.mailgate.identity.AccessKey;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.identity.SmtpCredentials;
import io.mailgate.send.Caller;
import io.mailgate.send.RawContent;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SendService;
import io.mailgate.smtp.Envelope;
import io.mailgate.smtp.Recipient;
import io.mailgate.smtp.SessionInfo;
import io.mailgate.smtp.SmtpReply;
import io.mailgate.smtp.SmtpSessionHandler;
import io.vertx.core.Future;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The SMTP submission interface, as SES's SMTP endpoint: a mailer logs in with SES SMTP credentials
 * (the access key ID and the password derived from its secret, {@link SmtpCredentials}), and each
 * message goes through the same send path as SendEmail with Raw content: identity and sandbox
 * checks, limits, suppression, DKIM, committed before the 250. Both the From header's and the MAIL FROM
 * address must be verified identities (as in SES); the From address chooses the DKIM key. The envelope recipients are the
 * destinations; the message is sent as given, Bcc header removed. SES's {@code X-SES-CONFIGURATION-SET} and
 * {@code X-SES-MESSAGE-TAGS} headers name the configuration set and the tags, and are removed.
 *
 * <p>Replies follow SES's SMTP interface: {@code 250 Ok <MessageId>}; {@code 535 Authentication
 * Credentials Invalid}; {@code 454 Throttling failure: ...} over the sending rate or the daily
 * quota; {@code 554 Message rejected: ...} for an unverified identity or a message SendRawEmail
 * would refuse; {@code 451} when the message cannot be stored now (retry).
 */
public final class SmtpSubmission implements SmtpSessionHandler {
  private final io.mailgate.metrics.Metrics metrics;
  private static final Logger LOG = Logger.getLogger(SmtpSubmission.class.getName());

  private final AccountDirectory accounts;
  private final SendService sends;
  private final String region;
  private final LoginFailures logins;

  public SmtpSubmission(LoginFailures logins, AccountDirectory accounts, SendService sends, String region,
      io.mailgate.metrics.Metrics metrics) {
    this.logins = logins;
    this.metrics = metrics;
    this.accounts = accounts;
    this.sends = sends;
    this.region = region;
  }

  /**
   * Checks the credentials: the key must be enabled, and the password derived from its secret for the node's region or
   * any SES region. An address that failed {@link LoginFailures#MAX_FAILURES} times within the window (here or over
   * HTTP) is answered 454 (try later) for every user name that would cost a query ({@link LoginFailures}).
   */
  @Override
  public CompletionStage<Boolean> onAuth(
      SessionInfo session, String mechanism, String authzid, String username, String password) {
    LoginFailures.Attempt attempt = logins.begin(
        session.remoteAddress() == null ? null : session.remoteAddress().getAddress(), username);
    if (attempt == null) {
      return CompletableFuture.failedFuture(new io.mailgate.smtp.TemporaryRefusal("too many failed logins from "
          + session.remoteAddress().getAddress().getHostAddress()));
    }
    return accounts.byAccessKey(username)
        .map(key -> {
          boolean ok = key.isPresent() && key.get().enabled()
              && (authzid == null || authzid.isEmpty() || authzid.equals(username))
              && SmtpCredentials.matchesAnyRegion(password, key.get().secret(), region);
          attempt.end(key.isPresent(), !ok);
          return ok;
        })
        .onFailure(e -> attempt.end(false, false)) // not checked: no one's failure
        .toCompletionStage();
  }

  @Override
  public CompletionStage<SmtpReply> onMessage(SessionInfo session, Envelope envelope, byte[] message) {
    String keyId = session.authenticatedUser();
    if (keyId == null) {
      return Future.succeededFuture(new SmtpReply(530, "5.7.0", "Authentication required")).toCompletionStage();
    }
    return accounts.byAccessKey(keyId)
        .compose(key -> key.isPresent() && key.get().enabled() ? send(key.get(), envelope, message)
            : Future.succeededFuture(new SmtpReply(535, "5.7.8", "Authentication Credentials Invalid")))
        .otherwise(this::refused)
        .toCompletionStage();
  }

  private Future<SmtpReply> send(AccessKey key, Envelope envelope, byte[] message) {
    List<String> recipients = envelope.recipients().stream().map(Recipient::address).toList();
    String ip = envelope.remoteAddress() == null ? null : envelope.remoteAddress().getAddress().getHostAddress();
    // the X-SES-* headers are read, and the message scanned, on a worker thread when it is large (a refusal fails
    // the future: onMessage answers it)
    return io.mailgate.OffLoop.when(message.length, () -> SesRawHeaders.applyTo(new SendRequest(null,
            new SendRequest.Destination(recipients, List.of(), List.of()), List.of(), null, List.of(),
            new RawContent(message), envelope.reversePath()).withOperation("SendSmtpEmail")))
        .compose(request -> sends.send(new Caller(key.account(), key.accessKeyId(), ip, envelope.tlsProtocol()),
            request))
        .map(id -> new SmtpReply(250, null, "Ok " + id));
  }

  /** {@link #reply}, counted. */
  private SmtpReply refused(Throwable failure) {
    metrics.refused("smtp", failure instanceof SesException e ? e.error().v1Code : "InternalFailure");
    return reply(failure);
  }

  /** SES's SMTP answer for a send that was refused. */
  static SmtpReply reply(Throwable failure) {
    if (!(failure instanceof SesException e)) {
      LOG.log(Level.WARNING, "submission failed", failure);
      return SmtpReply.tryAgainLater("Local error in processing, try again later");
    }
    String text = e.getMessage() == null ? "" : e.getMessage().replaceAll("[\\r\\n]+", " ");
    // wrapped: a refusal naming fifty unverified recipients would be one line of kilobytes, past RFC 5321's 512
    return switch (e.error()) {
      case TOO_MANY_REQUESTS -> SmtpReply.wrapped(454, "4.7.0", "Throttling failure: " + text);
      case SERVICE_UNAVAILABLE, INTERNAL_FAILURE -> SmtpReply.wrapped(451, "4.3.0", text);
      case SENDING_PAUSED, CONFIGURATION_SET_SENDING_PAUSED -> SmtpReply.wrapped(554, "5.7.1", "Sending paused: " + text);
      case MESSAGE_REJECTED, MAIL_FROM_DOMAIN_NOT_VERIFIED -> SmtpReply.wrapped(554, "5.7.1", "Message rejected: " + text);
      case ACCESS_DENIED -> SmtpReply.wrapped(554, "5.7.1", "Access denied: " + text);
      // SES's words for a request it cannot take ("554 Transaction failed: Recipient count exceeds 50.")
      default -> SmtpReply.wrapped(554, "5.6.0", "Transaction failed: " + text);
    };
  }
}
