package io.mailgate.smtp;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * Everything the server learnt about one mail transaction, handed over with the message.
 *
 * <p>It exists so that the handler of the message ({@link SmtpSessionHandler#onMessage}) gets the
 * transaction as one immutable value: the paths and their parameters, and the facts about the
 * client that later steps record (Received header, authentication results, feedback).
 *
 * @param reversePath the MAIL FROM address, {@code ""} for the null reverse path {@code <>}
 * @param mailParameters the MAIL FROM parameters
 * @param recipients the accepted recipients, in the order given, at least one
 * @param heloName the name the client gave in HELO/EHLO
 * @param remoteAddress the client's address, or {@code null} if unknown
 * @param tls whether the transaction was encrypted
 * @param authenticatedUser the user accepted by AUTH, or {@code null}
 * @param longLines whether a line of the content was longer than the configured limit
 *     (RFC 5322 allows 998 octets); the message is accepted but may need re-encoding
 * @param bareLineFeeds whether a content line ended in LF alone (it was turned into CRLF)
 * @param tlsProtocol the TLS protocol the message came over ({@code TLSv1.3}), or {@code null}
 */
public record Envelope(
    String reversePath,
    MailParameters mailParameters,
    List<Recipient> recipients,
    String heloName,
    InetSocketAddress remoteAddress,
    boolean tls,
    String authenticatedUser,
    boolean longLines,
    boolean bareLineFeeds,
    String tlsProtocol) {

  public Envelope {
    recipients = List.copyOf(recipients);
  }

  /** An envelope whose TLS protocol, if any, is not known. */
  public Envelope(String reversePath, MailParameters mailParameters, List<Recipient> recipients, String heloName,
      InetSocketAddress remoteAddress, boolean tls, String authenticatedUser, boolean longLines,
      boolean bareLineFeeds) {
    this(reversePath, mailParameters, recipients, heloName, remoteAddress, tls, authenticatedUser, longLines,
        bareLineFeeds, null);
  }
}
