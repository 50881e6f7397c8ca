package io.mailgate.feedback;

import java.util.List;

/**
 * The machine-readable part of an RFC 5965 feedback report (a complaint).
 *
 * @param feedbackType {@code Feedback-Type}, lower case: abuse, fraud, virus, other, not-spam,
 *     auth-failure, opt-out, ...
 * @param userAgent {@code User-Agent} of the reporting system
 * @param version {@code Version}
 * @param originalRecipients every {@code Original-Rcpt-To}, in order
 * @param originalMailFrom {@code Original-Mail-From}, the envelope sender of the reported message
 * @param sourceIp {@code Source-IP}
 * @param arrivalDate {@code Arrival-Date} (or {@code Received-Date}) as written
 * @param reportedDomains every {@code Reported-Domain}
 * @param reportingMta {@code Reporting-MTA} without its type
 * @param sesSubType a relayed SES notification's {@code complaintSubType} when it is {@value #ON_SUPPRESSION_LIST}
 *     (SES sent nothing: the address is on its account's suppression list); null otherwise, and for an ARF report
 */
public record ComplaintReport(
    String feedbackType,
    String userAgent,
    String version,
    List<String> originalRecipients,
    String originalMailFrom,
    String sourceIp,
    String arrivalDate,
    List<String> reportedDomains,
    String reportingMta,
    String sesSubType) {

  /** SES's complaintSubType for a send it did not make. */
  public static final String ON_SUPPRESSION_LIST = "OnAccountSuppressionList";

  public ComplaintReport {
    originalRecipients = List.copyOf(originalRecipients);
    reportedDomains = List.copyOf(reportedDomains);
  }
}
