package io.mailgate.feedback;

import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.util.Locale;

/**
 * What email feedback forwarding mails to a sender, from MAILER-DAEMON as a mail system writes it: for a bounce an
 * RFC 3464 delivery status notification, for a complaint the ARF report that came in (its report kept byte for
 * byte), else one written from what is known. Both say {@code Auto-Submitted: auto-replied}, and are sent with an
 * empty envelope sender, so that nothing answers them (RFC 3464, RFC 5321: no bounce of a bounce).
 */
public final class ForwardedFeedback {

  /**
   * A VERP return path's local part (Verp: "b" and 47 base32 characters) in an address: the returned copy of a
   * complaint carries its recipient's (Return-Path, Original-Mail-From), which the sender has no use for and must not
   * learn, as with it the sender could write a DSN to that return path as if from the recipient's server.
   */
  private static final java.util.regex.Pattern VERP_LOCAL_PART =
      java.util.regex.Pattern.compile("(?i)(?<![A-Za-z0-9!#$%&'*+/=?^_`{|}~.-])b[a-z2-7]{47}(?=@)");

  /** A bounced recipient as the Bounce event has it ({@code status}, {@code diagnosticCode}, ... may be null). */
  public record Bounced(String recipient, String status, String diagnosticCode, String reportingMta,
      String remoteMta) {}

  private ForwardedFeedback() {}

  /**
   * The DSN for {@code b}, to {@code to}, from {@code from} (MAILER-DAEMON@ the node's domain), about the message
   * whose header section starts {@code original}.
   */
  public static byte[] bounce(String from, String to, Bounced b, byte[] original, ZonedDateTime now) {
    String headers = ReportMessage.originalHeaders(original);
    String recipient = ReportMessage.oneLine(b.recipient());
    String domain = from.substring(from.indexOf('@') + 1);
    String reportingMta = b.reportingMta() != null ? ReportMessage.oneLine(b.reportingMta()) : "dns; " + domain;
    // RFC 3464 2.3.4: a status code, whatever a remote server wrote there
    String status = b.status() != null && b.status().matches("[245]\\.\\d{1,3}\\.\\d{1,3}") ? b.status() : "5.0.0";
    String diagnostic = ReportMessage.oneLine(b.diagnosticCode());
    String text = "This is the mail system at " + reportingMta.substring(reportingMta.indexOf(';') + 1).strip()
        + ".\r\n\r\n"
        + "Your message could not be delivered to <" + recipient + ">.\r\n"
        + (diagnostic.isEmpty() ? "" : "The remote server said: " + diagnostic + "\r\n");
    String machine = "Reporting-MTA: " + reportingMta + "\r\n"
        + "\r\n"
        + "Final-Recipient: rfc822; " + recipient + "\r\n"
        + "Action: failed\r\n"
        + "Status: " + status + "\r\n"
        + (b.remoteMta() == null ? "" : "Remote-MTA: dns; " + remoteMta(ReportMessage.oneLine(b.remoteMta())) + "\r\n")
        + (diagnostic.isEmpty() ? "" : "Diagnostic-Code: " + typed(diagnostic) + "\r\n")
        + "Last-Attempt-Date: " + io.mailgate.send.MimeBuilder.rfc5322Date(now) + "\r\n";
    return ReportMessage.multipartReport(start(from, to, "Delivery Status Notification (Failure)", headers, now),
        "delivery-status", text, "message/delivery-status", machine, headers);
  }

  /**
   * The complaint of {@code recipient} about the message whose header section starts {@code original}: the
   * {@code report} received when it is an ARF report (its MIME body as it came, under new header fields, but for the
   * VERP return paths in it, made {@code bounce@}), else an ARF report of {@code feedbackType} written here.
   */
  public static byte[] complaint(String from, String to, String recipient, String feedbackType, String userAgent,
      byte[] report, byte[] original, ZonedDateTime now) {
    String headers = ReportMessage.originalHeaders(original);
    String start = start(from, to, "Complaint about your message", headers, now);
    if (report != null) {
      String received = ReportMessage.originalHeaders(report);
      String type = ReportMessage.field(received, "Content-Type");
      String encoding = ReportMessage.field(received, "Content-Transfer-Encoding");
      if (type != null && type.toLowerCase(Locale.ROOT).contains("feedback-report") && folded(type)
          && (encoding == null || folded(encoding))) {
        String body = new String(report, StandardCharsets.ISO_8859_1)
            .substring(Math.min(report.length, received.length() + 2));
        String message = start + "MIME-Version: 1.0\r\n" + type + (encoding == null ? "" : encoding) + "\r\n"
            + VERP_LOCAL_PART.matcher(body).replaceAll("bounce");
        return message.getBytes(StandardCharsets.ISO_8859_1);
      }
    }
    String type = feedbackType == null ? "abuse" : ReportMessage.oneLine(feedbackType);
    String rcpt = ReportMessage.oneLine(recipient);
    return ReportMessage.complaint(start,
        "A recipient of your message, <" + rcpt + ">, complained about it (feedback type: " + type + ").\r\n",
        type, userAgent == null ? "Mailgate" : ReportMessage.oneLine(userAgent), null, rcpt, now, null, headers);
  }

  /**
   * Whether a received header field is safe to copy into ours: ASCII, its only CRs and LFs CRLF pairs that fold it
   * (followed by a space or tab) or end it. Anything else could add header lines of its own.
   */
  static boolean folded(String field) {
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c > 126 || c == 0) {
        return false;
      }
      if (c == '\r' || c == '\n') {
        boolean pair = c == '\r' && i + 1 < field.length() && field.charAt(i + 1) == '\n';
        if (!pair) {
          return false;
        }
        i++;
        boolean end = i + 1 == field.length();
        if (!end && field.charAt(i + 1) != ' ' && field.charAt(i + 1) != '\t') {
          return false;
        }
      }
    }
    return true;
  }

  private static String start(String from, String to, String subject, String originalHeaders, ZonedDateTime now) {
    String messageId = ReportMessage.header(originalHeaders, "Message-ID");
    return ReportMessage.start(now, from, to, subject, from.substring(from.indexOf('@') + 1))
        + (messageId == null ? "" : "In-Reply-To: " + messageId + "\r\nReferences: " + messageId + "\r\n")
        + "Auto-Submitted: auto-replied\r\n";
  }

  /** A diagnostic with its type ("smtp; 550 ..."), as Diagnostic-Code wants it; SMTP when it names none. */
  private static String typed(String diagnostic) {
    int semi = diagnostic.indexOf(';');
    if (semi > 0 && diagnostic.substring(0, semi).matches("[A-Za-z0-9-]+")) {
      return diagnostic;
    }
    // an SMTP reply starts with its code; anything else is Mailgate's own words (RFC 3464 2.3.6: an X- type)
    return (diagnostic.matches("[2-5]\\d\\d([ -].*)?") ? "smtp; " : "X-Mailgate; ") + diagnostic;
  }

  /** An address as RFC 3464's "dns" type writes one: in brackets (a host name as it is). */
  private static String remoteMta(String host) {
    return io.mailgate.NetAddresses.literal(host) != null && !host.startsWith("[") ? "[" + host + "]" : host;
  }
}
