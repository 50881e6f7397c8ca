package io.mailgate.feedback;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads Amazon SES bounce, complaint and delivery notifications that arrive as email (an SNS
 * email subscription, possibly wrapped in the SNS JSON envelope). A Mailgate that relays through
 * SES gets its feedback this way. Bounces and deliveries become {@link FeedbackKind#DSN}, with
 * SES's per-recipient action, status and diagnostic; complaints become {@link FeedbackKind#ARF}.
 */
final class SesNotificationReader {

  private SesNotificationReader() {}

  /** The report, or null when the text is not an SES notification. */
  static FeedbackReport read(String text, String reportFrom) {
    int brace = text.indexOf('{');
    if (brace < 0 || !(text.contains("\"notificationType\"") || text.contains("\"eventType\""))) {
      return null;
    }
    // Long JSON lines reach us folded by an MTA that breaks lines over 990 octets with "!" and a
    // continuation line ("...sim!\n ulator..."): undo that before parsing.
    String json = text.substring(brace).replaceAll("!\\r?\\n ", "");
    Map<String, Object> root;
    try {
      root = object(Json.parse(json, 0));
      if (root != null && root.get("Message") instanceof String inner && inner.strip().startsWith("{")) {
        root = object(Json.parse(inner, inner.indexOf('{'))); // SNS envelope around the event
      }
    } catch (RuntimeException e) {
      return null;
    }
    if (root == null) {
      return null;
    }
    String type = string(root, "notificationType");
    if (type == null) {
      type = string(root, "eventType");
    }
    if (type == null) {
      return null;
    }
    OriginalMessage original = original(object(root.get("mail")));
    return switch (type.toLowerCase(Locale.ROOT)) {
      case "bounce" -> bounce(object(root.get("bounce")), original, reportFrom);
      case "delivery" -> delivery(object(root.get("delivery")), original, reportFrom);
      case "complaint" -> complaint(object(root.get("complaint")), original, reportFrom);
      default -> null;
    };
  }

  private static FeedbackReport bounce(Map<String, Object> b, OriginalMessage original, String reportFrom) {
    if (b == null) {
      return null;
    }
    List<RecipientReport> recipients = new ArrayList<>();
    String verdict = verdict(b);
    for (Object o : list(b.get("bouncedRecipients"))) {
      Map<String, Object> r = object(o);
      if (r == null || string(r, "emailAddress") == null) {
        continue;
      }
      String diagnostic = SmtpText.oneLine(ReportFields.withoutType(string(r, "diagnosticCode")));
      recipients.add(new RecipientReport(
          SmtpText.normalizeAddress(string(r, "emailAddress")), null,
          DeliveryStatusReader.action(string(r, "action")),
          DeliveryStatusReader.statusOf(string(r, "status"), diagnostic),
          SmtpText.replyCode(diagnostic), diagnostic, string(b, "remoteMtaIp"), string(b, "timestamp"),
          SmtpText.command(diagnostic),
          verdict, DeliveryStatusReader.statusField(string(r, "status"))));
    }
    return new FeedbackReport(FeedbackKind.DSN, ReportFields.withoutType(string(b, "reportingMTA")), null,
        recipients, original, null, reportFrom);
  }

  /**
   * SES's own verdict on the bounce as the classifier's per-recipient category ({@code ses-permanent-noemail}, ...):
   * a recipient's entry carries status and diagnostic only when SES had a DSN, and the verdict is SES's word either
   * way. Undetermined says nothing: null. A subtype that is one of SES's suppression lists (Suppressed,
   * OnAccountSuppressionList: it sent nothing) is kept as such, and recorded as Mailgate's own suppressed sends are:
   * neither suppressed again nor counted toward the bounce rate ({@link InboundFeedback}).
   */
  static String verdict(Map<String, Object> bounce) {
    String type = string(bounce, "bounceType");
    String subType = string(bounce, "bounceSubType");
    if (type == null || subType == null || !(type.equals("Permanent") || type.equals("Transient"))) {
      return null;
    }
    return "ses-" + type.toLowerCase(Locale.ROOT) + "-" + subType.toLowerCase(Locale.ROOT);
  }

  private static FeedbackReport delivery(Map<String, Object> d, OriginalMessage original, String reportFrom) {
    if (d == null) {
      return null;
    }
    String response = string(d, "smtpResponse");
    List<RecipientReport> recipients = new ArrayList<>();
    for (Object o : list(d.get("recipients"))) {
      if (o instanceof String address) {
        recipients.add(new RecipientReport(SmtpText.normalizeAddress(address), null, "delivered",
            SmtpText.status(response), SmtpText.replyCode(response), response,
            string(d, "remoteMtaIp"), string(d, "timestamp"), null, null));
      }
    }
    return new FeedbackReport(FeedbackKind.DSN, ReportFields.withoutType(string(d, "reportingMTA")), null,
        recipients, original, null, reportFrom);
  }

  private static FeedbackReport complaint(Map<String, Object> c, OriginalMessage original, String reportFrom) {
    if (c == null) {
      return null;
    }
    List<String> addresses = new ArrayList<>();
    List<RecipientReport> recipients = new ArrayList<>();
    for (Object o : list(c.get("complainedRecipients"))) {
      Map<String, Object> r = object(o);
      String a = r == null ? null : string(r, "emailAddress");
      if (a != null) {
        addresses.add(SmtpText.normalizeAddress(a));
        recipients.add(new RecipientReport(SmtpText.normalizeAddress(a), null, null, null, null, null, null, null, null, null));
      }
    }
    String feedbackType = string(c, "complaintFeedbackType");
    ComplaintReport complaint = new ComplaintReport(
        feedbackType == null ? null : feedbackType.toLowerCase(Locale.ROOT), string(c, "userAgent"), null,
        addresses, original == null ? null : original.returnPath(), null,
        string(c, "arrivalDate") != null ? string(c, "arrivalDate") : string(c, "timestamp"), List.of(), null,
        ComplaintReport.ON_SUPPRESSION_LIST.equals(string(c, "complaintSubType"))
            ? ComplaintReport.ON_SUPPRESSION_LIST : null);
    return new FeedbackReport(FeedbackKind.ARF, null, complaint.arrivalDate(), recipients, original, complaint, reportFrom);
  }

  private static OriginalMessage original(Map<String, Object> mail) {
    if (mail == null) {
      return null;
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (Object o : list(mail.get("headers"))) {
      Map<String, Object> h = object(o);
      if (h != null && string(h, "name") != null && string(h, "value") != null) {
        headers.putIfAbsent(string(h, "name").toLowerCase(Locale.ROOT), string(h, "value"));
      }
    }
    Map<String, Object> common = object(mail.get("commonHeaders"));
    String messageId = headers.get("message-id");
    if (messageId == null && common != null) {
      messageId = string(common, "messageId");
    }
    if (messageId == null) {
      messageId = string(mail, "messageId"); // SES's own id, which SES users attribute by
    }
    Map<String, String> x = new LinkedHashMap<>();
    for (Object o : list(mail.get("headers"))) {
      Map<String, Object> h = object(o);
      String name = h == null ? null : string(h, "name");
      if (name != null && name.regionMatches(true, 0, "X-", 0, 2) && string(h, "value") != null) {
        x.putIfAbsent(name, string(h, "value"));
      }
    }
    return new OriginalMessage(
        messageId == null ? null : messageId.replace("<", "").replace(">", "").strip(),
        headers.get("from"), headers.get("to"), headers.get("subject"), headers.get("date"),
        SmtpText.address(string(mail, "source")), x);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> object(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
  }

  private static List<?> list(Object o) {
    return o instanceof List<?> l ? l : List.of();
  }

  private static String string(Map<String, Object> m, String key) {
    return m.get(key) instanceof String s && !s.isBlank() ? s : null;
  }
}
