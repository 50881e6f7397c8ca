package io.mailgate.smtp;

import java.util.Objects;

/**
 * The protocol settings of one {@link SmtpServerSession}, in plain Java.
 *
 * <p>It exists so the session can be built and tested without the network layer; {@link
 * SmtpServerOptions#sessionConfig()} derives it from the server options, which hold the defaults.
 *
 * @param serverName the host name announced in the greeting and EHLO
 * @param maxMessageSize the SIZE limit in octets (advertised, checked at MAIL and during DATA)
 * @param maxRecipients the most RCPT accepted per message; more get 452 4.5.3
 * @param maxCommandLineLength the longest command line accepted, CRLF included; longer ones get
 *     500 5.5.2 and are skipped without being buffered
 * @param maxDataLineLength the line length in DATA above which the message is flagged ({@link
 *     Envelope#longLines()}), CRLF excluded
 * @param maxConsecutiveErrors protocol errors in a row after which the session says 421 and closes
 * @param maxJunkCommands commands that move no mail, since the session's last accepted message, after which it says
 *     421 and closes
 * @param dsn whether EHLO offers DSN (RFC 3461)
 * @param smtpUtf8 whether EHLO offers SMTPUTF8 (RFC 6531); when it does not, the MAIL parameter is refused 555 and a
 *     non-ASCII address 553
 * @param startTlsAvailable whether STARTTLS is offered (a certificate is configured and the
 *     connection is not already encrypted)
 * @param authEnabled whether AUTH PLAIN and LOGIN are offered
 * @param plainTextAuthAllowed whether AUTH is allowed without TLS
 * @param authRequired whether MAIL needs a successful AUTH first (530 5.7.0 otherwise)
 * @param tlsRequired whether MAIL and AUTH need TLS first (530 5.7.0 otherwise)
 */
public record SmtpSessionConfig(
    String serverName,
    long maxMessageSize,
    int maxRecipients,
    int maxCommandLineLength,
    int maxDataLineLength,
    int maxConsecutiveErrors,
    int maxJunkCommands,
    boolean dsn,
    boolean smtpUtf8,
    boolean startTlsAvailable,
    boolean authEnabled,
    boolean plainTextAuthAllowed,
    boolean authRequired,
    boolean tlsRequired) {

  /** Messages are held in one array, so they stay well below 2 GiB. */
  public static final long MAX_MESSAGE_SIZE_LIMIT = 1L << 30;

  public SmtpSessionConfig {
    Objects.requireNonNull(serverName, "serverName");
    positive(maxMessageSize, "maxMessageSize");
    if (maxMessageSize > MAX_MESSAGE_SIZE_LIMIT) {
      throw new IllegalArgumentException("maxMessageSize above " + MAX_MESSAGE_SIZE_LIMIT);
    }
    positive(maxRecipients, "maxRecipients");
    positive(maxDataLineLength, "maxDataLineLength");
    positive(maxConsecutiveErrors, "maxConsecutiveErrors");
    positive(maxJunkCommands, "maxJunkCommands");
    if (maxCommandLineLength < 512) {
      throw new IllegalArgumentException("maxCommandLineLength must be at least 512 (RFC 5321)");
    }
    if (authRequired && !authEnabled) {
      throw new IllegalArgumentException("authRequired needs authEnabled");
    }
  }

  private static void positive(long value, String name) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive");
    }
  }
}
