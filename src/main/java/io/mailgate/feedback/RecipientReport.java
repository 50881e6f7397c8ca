package io.mailgate.feedback;

/**
 * What a report says about one recipient, as found in the message (nothing is classified here).
 *
 * @param finalRecipient the recipient address, without the RFC 3464 address type
 * @param originalRecipient the address as originally submitted, when the report gives it
 * @param action {@code failed}, {@code delayed}, {@code delivered}, {@code relayed} or {@code
 *     expanded}, lower case; null when the report does not say
 * @param status the RFC 3463 enhanced status code such as {@code 5.1.1}, or null: the report's Status field, unless
 *     the remote server's reply carries a more specific code (what classification goes by)
 * @param replyCode the SMTP reply code such as 550, or null
 * @param diagnosticCode the remote server's reply or the reporting MTA's explanation, with the
 *     diagnostic type ({@code smtp;}) removed and lines unfolded; for non-standard bounces the
 *     human-readable text about this recipient; null when there is none
 * @param remoteMta the remote host name or address, without the type, or null
 * @param lastAttemptDate the date as written in the report, or null
 * @param smtpCommand the SMTP command the remote server rejected (CONNECT, HELO, MAIL, RCPT or
 *     DATA) when the report says, else null
 * @param mtaCategory the reporting MTA's own classification of this recipient's failure where its
 *     report carries one per recipient (PowerMTA's {@code X-PowerMTA-BounceCategory: bad-mailbox}),
 *     lower case, else null
 * @param statusField the report's own Status field (x.y.z), when it has one: what SES records as the recipient's
 *     status; null for a report without one (a text bounce)
 */
public record RecipientReport(
    String finalRecipient,
    String originalRecipient,
    String action,
    String status,
    Integer replyCode,
    String diagnosticCode,
    String remoteMta,
    String lastAttemptDate,
    String smtpCommand,
    String mtaCategory,
    String statusField) {

  /** A recipient of a report without a Status field of its own. */
  public RecipientReport(String finalRecipient, String originalRecipient, String action, String status,
      Integer replyCode, String diagnosticCode, String remoteMta, String lastAttemptDate, String smtpCommand,
      String mtaCategory) {
    this(finalRecipient, originalRecipient, action, status, replyCode, diagnosticCode, remoteMta, lastAttemptDate,
        smtpCommand, mtaCategory, null);
  }
}
