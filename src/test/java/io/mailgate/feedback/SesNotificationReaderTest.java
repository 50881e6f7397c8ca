package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * An Amazon SES bounce notification relayed to us (SNS to an email address, a forward): SES's own bounceType and
 * bounceSubType decide, as its recipients' entries carry a status and a diagnostic only when SES had a DSN.
 */
class SesNotificationReaderTest {
  private final BounceClassifier classifier = BounceClassifier.defaults();

  private String classified(String type, String subType, String recipientFields) {
    String json = "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"" + type + "\",\"bounceSubType\":\""
        + subType + "\",\"bouncedRecipients\":[{\"emailAddress\":\"a@x.example\"" + recipientFields + "}],"
        + "\"timestamp\":\"2026-11-30T01:00:00.000Z\"},\"mail\":{\"messageId\":\"0100-abc\"}}";
    FeedbackReport report = SesNotificationReader.read(json, "no-reply@sns.amazonaws.com");
    Classification c = classifier.classify(report.recipients().get(0));
    return c.type().sesName() + "/" + c.subType().sesName();
  }

  @Test
  void sesVerdictDecidesWhereTheEntryHasNoDiagnostic() {
    assertEquals("Permanent/NoEmail", classified("Permanent", "NoEmail", ""));
    assertEquals("Permanent/General", classified("Permanent", "General", ""));
    assertEquals("Transient/MailboxFull", classified("Transient", "MailboxFull", ""));
    assertEquals("Transient/MessageTooLarge", classified("Transient", "MessageTooLarge", ""));
    assertEquals("Transient/ContentRejected", classified("Transient", "ContentRejected", ""));
    assertEquals("Transient/General", classified("Transient", "General", ""));
    // SES's own suppression lists sent nothing: kept as SES says (InboundFeedback neither suppresses nor counts them)
    assertEquals("Permanent/Suppressed", classified("Permanent", "Suppressed", ""));
    assertEquals("Permanent/OnAccountSuppressionList", classified("Permanent", "OnAccountSuppressionList", ""));
    assertEquals("Undetermined/Undetermined", classified("Undetermined", "Undetermined", ""));
  }

  @Test
  void aDiagnosticStillNamesTheCauseAndA4xxStaysTransient() {
    assertEquals("Permanent/NoEmail", classified("Permanent", "General", ",\"action\":\"failed\",\"status\":\"5.1.1\","
        + "\"diagnosticCode\":\"smtp; 550 5.1.1 <a@x.example>: Recipient address rejected: User unknown\""));
    assertEquals("Transient/General", classified("Permanent", "NoEmail", ",\"action\":\"failed\",\"status\":\"4.4.7\","
        + "\"diagnosticCode\":\"smtp; 451 4.4.7 timed out\""));
  }
}
