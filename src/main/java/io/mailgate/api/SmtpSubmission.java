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
import java.net.InetAddress;
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

  public SmtpSubmission(io.vertx.core.Vertx vertx, AccountDirectory accounts, SendService sends, String region,
      io.mailgate.metrics.Metrics metrics) {
    this.failures = vertx.sharedData().getLocalMap("mailgate.smtp.authFailures");
    this.knownKeys = vertx.sharedData().getLocalMap("mailgate.smtp.knownKeys");
    this.metrics = metrics;
    this.accounts = accounts;
    this.sends = sends;
    this.region = region;
  }

  /** Failed logins one client address may make in {@link #FAILURE_WINDOW_MILLIS}, across its connections. */
  static final int MAX_AUTH_FAILURES = 10;
  static final long FAILURE_WINDOW_MILLIS = 10 * 60_000L;
  /** Addresses whose failures are kept at most: beyond it, those whose window ended go. */
  private static final int MAX_TRACKED = 10_000;

  /** An address's failed logins: how many since {@code since}. */
  private record Failures(int count, long since) implements io.vertx.core.shareddata.Shareable {}

  /**
   * Failed logins by client address (loopback excepted: a proxy in front would make every client one), shared by the
   * node's event loops: a client's connections are spread over them.
   */
  private final io.vertx.core.shareddata.LocalMap<String, Failures> failures;

  /**
   * Access key ids found to exist, and when last, shared by the node's event loops (each has its own key cache, kept
   * for seconds): a key known within {@link #FAILURE_WINDOW_MILLIS} is checked even from an address that is locked out,
   * whichever event loop its connection lands on.
   */
  private final io.vertx.core.shareddata.LocalMap<String, Long> knownKeys;

  /**
   * Checks the credentials: the key must be enabled, and the password derived from its secret for the node's region or
   * any SES region. An address that failed {@link #MAX_AUTH_FAILURES} times within the window is answered 454 (try
   * later) until the window ends for every user name that is not a key the node found to exist in that time: guessing
   * is hopeless (the password is an HMAC of a 40 character secret), but each new user name guessed would cost a query,
   * on the database the sends share. A key the node knows (found on any of its event loops within the window, or being
   * looked up) is still checked: one client retrying a stale password must not lock out every application behind the
   * same address (a NAT, a PaaS's egress).
   * An attempt that costs a query (a user name neither cached nor being looked up) is counted as failed before the
   * query, and given back if it succeeds (or could not be checked): guesses made at once, on the address's many
   * connections, see each other, so no more than the limit are looked up however many arrive together; a burst of
   * logins with the right key shares one query and takes one count while it runs.
   */
  @Override
  public CompletionStage<Boolean> onAuth(
      SessionInfo session, String mechanism, String authzid, String username, String password) {
    InetAddress client = session.remoteAddress() == null ? null : session.remoteAddress().getAddress();
    String counted = client == null || client.isLoopbackAddress() ? null : client.getHostAddress();
    long now = System.currentTimeMillis();
    long[] reserved = {-1}; // the window the attempt was counted in, when it was counted before the lookup
    if (counted != null) {
      Long seen = knownKeys.get(username);
      boolean known = seen != null && now - seen < FAILURE_WINDOW_MILLIS;
      boolean reserve = !known && !accounts.answersWithoutQuery(username);
      boolean[] refused = {false};
      failures.compute(counted, (ip, f) -> {
        Failures live = f == null || now - f.since() >= FAILURE_WINDOW_MILLIS ? null : f;
        refused[0] = live != null && live.count() >= MAX_AUTH_FAILURES;
        if (refused[0] || !reserve) {
          return live;
        }
        Failures taken = live == null ? new Failures(1, now) : new Failures(live.count() + 1, live.since());
        reserved[0] = taken.since();
        return taken;
      });
      if (refused[0] && reserve) {
        return CompletableFuture.failedFuture(new io.mailgate.smtp.TemporaryRefusal("too many failed logins from "
            + counted));
      }
      if (failures.size() > MAX_TRACKED) {
        failures.keySet().forEach(ip -> failures.computeIfPresent(ip,
            (k, f) -> now - f.since() >= FAILURE_WINDOW_MILLIS ? null : f));
        if (failures.size() > MAX_TRACKED) {
          failures.clear(); // that many addresses at once: memory first
        }
      }
    }
    return accounts.byAccessKey(username)
        .onSuccess(key -> {
          if (key.isPresent()) {
            rememberKey(username, now);
          }
        })
        .map(key -> key.isPresent() && key.get().enabled()
            && (authzid == null || authzid.isEmpty() || authzid.equals(username))
            && SmtpCredentials.matchesAnyRegion(password, key.get().secret(), region))
        .onComplete(ar -> {
          if (counted == null) {
            return;
          }
          boolean failed = ar.succeeded() && !ar.result();
          if (reserved[0] >= 0 && !failed) {
            // not a failed login after all: given back, in the window it was counted in
            failures.computeIfPresent(counted, (ip, f) -> f.since() != reserved[0] ? f
                : f.count() <= 1 ? null : new Failures(f.count() - 1, f.since()));
          } else if (reserved[0] < 0 && failed) {
            failures.compute(counted, (ip, f) -> f == null || now - f.since() >= FAILURE_WINDOW_MILLIS
                ? new Failures(1, now) : new Failures(f.count() + 1, f.since()));
          }
        })
        .toCompletionStage();
  }

  /** {@code keyId} exists; the ids not seen for a window go once there are many (there are as many as keys). */
  private void rememberKey(String keyId, long now) {
    knownKeys.put(keyId, now);
    if (knownKeys.size() > MAX_TRACKED) {
      knownKeys.keySet().forEach(id -> knownKeys.computeIfPresent(id,
          (k, at) -> now - at >= FAILURE_WINDOW_MILLIS ? null : at));
      if (knownKeys.size() > MAX_TRACKED) {
        knownKeys.clear();
      }
    }
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
            new RawContent(message), envelope.reversePath())))
        .compose(request -> sends.send(new Caller(key.account(), key.accessKeyId(), ip), request))
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
