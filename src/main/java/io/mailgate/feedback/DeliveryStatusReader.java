package io.mailgate.feedback;

import io.mailgate.feedback.ReportFields.Field;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the fields of a message/delivery-status or message/global-delivery-status body (RFC 3464,
 * RFC 6533). Tolerates what real MTAs send: no blank line between the per-message and the
 * per-recipient groups, several recipients in one group, non-standard address and MTA types.
 */
final class DeliveryStatusReader {

  /** The per-message fields and the recipients. */
  record DeliveryStatus(String reportingMta, String arrivalDate, List<RecipientReport> recipients) {}

  private static final Pattern UTF8_ESCAPE = Pattern.compile("\\\\x\\{([0-9A-Fa-f]{1,6})}");

  private DeliveryStatusReader() {}

  static DeliveryStatus read(String text) {
    String reportingMta = null;
    String arrivalDate = null;
    List<RecipientReport> recipients = new ArrayList<>();
    for (List<Field> group : ReportFields.groups(text)) {
      Map<String, String> current = null;
      for (Field f : group) {
        String name = f.name().toLowerCase(Locale.ROOT);
        switch (name) {
          case "reporting-mta" -> reportingMta = reportingMta != null ? reportingMta : ReportFields.withoutType(f.value());
          case "arrival-date" -> arrivalDate = arrivalDate != null ? arrivalDate : blankToNull(f.value());
          case "final-recipient", "original-recipient", "x-actual-recipient", "action", "status",
              "remote-mta", "diagnostic-code", "last-attempt-date", "will-retry-until",
              "x-powermta-bouncecategory" -> {
            boolean startsRecipient = name.endsWith("recipient");
            // A repeated recipient, action or status field starts the next recipient even when
            // the MTA left out the blank line between them.
            if (current == null || (current.containsKey(name) && (startsRecipient || name.equals("action") || name.equals("status")))) {
              if (current != null) {
                add(recipients, current);
              }
              current = new LinkedHashMap<>();
            }
            current.putIfAbsent(name, f.value());
          }
          default -> {
            // Received-From-MTA, X-Postfix-Queue-ID, DSN-Gateway, ...: not needed downstream.
          }
        }
      }
      if (current != null) {
        add(recipients, current);
      }
    }
    return new DeliveryStatus(reportingMta, arrivalDate, recipients);
  }

  private static void add(List<RecipientReport> recipients, Map<String, String> f) {
    // A local delivery (Exim's "save to /path", a pipe) can name a file instead of an address;
    // that is left empty here and filled from the text or X-Failed-Recipients by the caller.
    String finalRecipient = address(f.get("final-recipient"));
    String original = address(f.get("original-recipient"));
    if (finalRecipient == null) {
      finalRecipient = original != null ? original : address(f.get("x-actual-recipient"));
    }
    String diagnostic = SmtpText.oneLine(ReportFields.withoutType(f.get("diagnostic-code")));
    String status = statusOf(f.get("status"), diagnostic);
    Integer reply = SmtpText.replyCode(diagnostic);
    if (reply != null && reply < 400 && !isSmtpDiagnostic(f.get("diagnostic-code"))) {
      // "X-Unix; 255" is a program's exit status, not a success reply.
      reply = null;
    }
    if (reply == null && f.get("status") != null) {
      // A few MTAs write the reply code into Status: ("553 Exceeded maximum inbound message size").
      reply = SmtpText.replyCode(f.get("status"));
    }
    if (finalRecipient == null && status == null && diagnostic == null) {
      return;
    }
    recipients.add(
        new RecipientReport(
            finalRecipient,
            original,
            action(f.get("action")),
            status,
            reply,
            diagnostic,
            ReportFields.withoutType(f.get("remote-mta")),
            blankToNull(f.get("last-attempt-date")),
            SmtpText.command(diagnostic),
            category(f.get("x-powermta-bouncecategory")),
            statusField(f.get("status"))));
  }

  /**
   * The Status field, unless the remote server's reply carries a code with a non-zero subject and
   * detail (5.7.1, 4.2.2): that is the receiving system's own judgement and says more than the
   * reporting MTA's summary (Sendmail reports 5.1.1 or 4.4.7 for many causes, others 5.0.0).
   */
  static String statusOf(String statusField, String diagnostic) {
    return preferSpecific(statusField(statusField), diagnostic);
  }

  /** The code a Status field holds (x.y.z), or null. */
  static String statusField(String value) {
    if (value == null) {
      return null;
    }
    Matcher m = SmtpText.STATUS.matcher(value);
    return m.find() ? m.group(1) + "." + Integer.parseInt(m.group(2)) + "." + Integer.parseInt(m.group(3)) : null;
  }

  /** {@code status} unless the reply text carries a specific code; then that code. */
  static String preferSpecific(String status, String replyText) {
    String specific = SmtpText.specificStatus(replyText);
    if (specific != null) {
      return specific;
    }
    String any = SmtpText.status(replyText);
    if (status == null || (SmtpText.isGeneric(status) && any != null && !SmtpText.isGeneric(any) && !any.startsWith("2"))) {
      return any != null ? any : status;
    }
    return status;
  }

  static String action(String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String a = value.strip().toLowerCase(Locale.ROOT).split("[\\s;(]", 2)[0];
    return switch (a) {
      case "failed", "failure", "fail", "expired", "bounced", "undeliverable" -> "failed";
      case "delayed", "delay", "deferred", "queued" -> "delayed";
      case "delivered", "deliverable", "sent" -> "delivered";
      case "relayed", "expanded" -> a;
      default -> a.isEmpty() ? null : a;
    };
  }

  /**
   * The address in a recipient field: type removed, RFC 6533 \x{..} escapes decoded. An escape that names no
   * character (above U+10FFFF, or a surrogate) stays as written: one bad field must not lose the whole report.
   */
  static String address(String value) {
    String v = ReportFields.withoutType(value);
    if (v == null) {
      return null;
    }
    Matcher m = UTF8_ESCAPE.matcher(v);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      int c = Integer.parseInt(m.group(1), 16);
      boolean character = Character.isValidCodePoint(c) && !(c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE);
      m.appendReplacement(sb, Matcher.quoteReplacement(character ? Character.toString(c) : m.group()));
    }
    m.appendTail(sb);
    v = sb.toString().strip();
    String found = SmtpText.address(v);
    if (found != null) {
      return found;
    }
    return null;
  }

  /** True when the Diagnostic-Code is typed smtp, or untyped. */
  private static boolean isSmtpDiagnostic(String value) {
    String rest = ReportFields.withoutType(value);
    if (rest == null || value.strip().equals(rest)) {
      return true;
    }
    return value.substring(0, value.indexOf(';')).strip().equalsIgnoreCase("smtp");
  }

  /** A vendor's per-recipient category ({@code bad-mailbox}): one lower-case word, else null. */
  private static String category(String value) {
    String v = blankToNull(value);
    return v == null || !v.matches("[A-Za-z][A-Za-z0-9_-]{0,40}") ? null : v.toLowerCase(Locale.ROOT);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }
}
