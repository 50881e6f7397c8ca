package io.mailgate.smtp;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The application's side of an SMTP conversation: the session parses and sequences the protocol
 * and asks this handler only for decisions.
 *
 * <p>It exists so one protocol implementation serves the capture sink, the inbound server and the
 * submission server, which differ only in these decisions. Every method answers asynchronously
 * with a {@link CompletionStage} (plain Java, so the protocol code stays free of Vert.x); the
 * session processes no further command of that connection until the stage completes, and then
 * continues on its own event loop whatever thread completed it. A stage that fails, or a method
 * that throws, is answered with {@link SmtpReply#LOCAL_ERROR} (451 4.3.0; 454 4.7.0 for AUTH).
 * Any reply with code 421 closes the connection after it is sent.
 *
 * <p>Only {@link #onMessage} has no default: by default every connection, sender and recipient
 * is accepted.
 */
@FunctionalInterface
public interface SmtpSessionHandler {

  /**
   * A client connected. Answer with the greeting: a 2xx reply accepts (default: {@code 220
   * <serverName> ESMTP}), 421 refuses and closes, any other code (554) refuses and then answers
   * every command but QUIT with 503, as RFC 5321 section 3.1 asks.
   */
  default CompletionStage<SmtpReply> onConnect(SessionInfo session) {
    return CompletableFuture.completedFuture(SmtpReply.greeting(session.serverName()));
  }

  /**
   * The client sent HELO or EHLO with {@code domain}. A 2xx reply accepts (its text is replaced
   * by the standard HELO/EHLO answer listing the extensions); any other reply is sent as is.
   */
  default CompletionStage<SmtpReply> onHelo(SessionInfo session, String domain) {
    return CompletableFuture.completedFuture(SmtpReply.OK);
  }

  /**
   * Check credentials from AUTH PLAIN or AUTH LOGIN. Only called when AUTH is enabled and allowed
   * on this connection. {@code true} accepts (235 2.7.0), {@code false} refuses (535 5.7.8), a
   * failed stage is a temporary failure (454 4.7.0), logged unless it failed with {@link TemporaryRefusal}.
   *
   * @param mechanism {@code PLAIN} or {@code LOGIN}
   * @param authzid the authorization identity PLAIN may carry, or {@code null}
   */
  default CompletionStage<Boolean> onAuth(
      SessionInfo session, String mechanism, String authzid, String username, String password) {
    return CompletableFuture.completedFuture(false);
  }

  /**
   * MAIL FROM, after syntax, sequence and size checks passed. A 2xx reply starts the transaction.
   *
   * @param reversePath the address, {@code ""} for {@code <>}
   * @param esmtpParams keyword (upper case) to value as sent ({@code ""} if none)
   */
  default CompletionStage<SmtpReply> onMailFrom(
      SessionInfo session, String reversePath, Map<String, String> esmtpParams) {
    return CompletableFuture.completedFuture(SmtpReply.SENDER_OK);
  }

  /**
   * RCPT TO, after syntax, sequence and recipient-count checks passed. A 2xx reply adds the
   * recipient to the transaction.
   *
   * @param forwardPath the address without angle brackets
   * @param esmtpParams keyword (upper case) to value as sent ({@code ""} if none)
   */
  default CompletionStage<SmtpReply> onRcptTo(
      SessionInfo session, String forwardPath, Map<String, String> esmtpParams) {
    return CompletableFuture.completedFuture(SmtpReply.RECIPIENT_OK);
  }

  /**
   * RCPT TO, knowing the recipients the transaction accepted so far (a handler that must keep a
   * transaction's recipients alike, answering 452 to one that is not, overrides this one). By
   * default, {@link #onRcptTo(SessionInfo, String, Map)}.
   *
   * @param accepted the transaction's recipients accepted before this one, in order
   */
  default CompletionStage<SmtpReply> onRcptTo(
      SessionInfo session, String forwardPath, Map<String, String> esmtpParams, List<Recipient> accepted) {
    return onRcptTo(session, forwardPath, esmtpParams);
  }

  /**
   * The end of DATA: a complete message within the size limit. The reply is the final answer for
   * the whole transaction; only a 2xx reply means the message is now the server's
   * responsibility, so answer only after it is stored.
   *
   * @param message the content with dot-stuffing undone, CRLF line endings, the CRLF of the last
   *     line included and the terminating {@code .} line excluded; the handler owns the array
   */
  CompletionStage<SmtpReply> onMessage(SessionInfo session, Envelope envelope, byte[] message);
}
