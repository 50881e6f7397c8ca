package io.mailgate.feedback;

import java.util.List;

/**
 * Everything {@link FeedbackParser} found in one inbound message.
 *
 * @param kind what the message is
 * @param reportingMta the MTA that wrote the report ({@code Reporting-MTA} without its type), or
 *     null
 * @param arrivalDate when the reporting MTA received the original ({@code Arrival-Date}) as
 *     written, or null
 * @param recipients one entry per recipient the report is about, in the report's order; for ARF
 *     the complained-about recipients
 * @param original headers of the returned original message, or null when none were included
 * @param complaint the feedback report fields, non-null only for {@link FeedbackKind#ARF}
 * @param reportFrom the {@code From} address of the report itself (the bouncing system or the
 *     auto-replying person), or null
 */
public record FeedbackReport(
    FeedbackKind kind,
    String reportingMta,
    String arrivalDate,
    List<RecipientReport> recipients,
    OriginalMessage original,
    ComplaintReport complaint,
    String reportFrom) {

  public FeedbackReport {
    recipients = List.copyOf(recipients);
  }
}
