package io.mailgate.feedback;

import io.mailgate.send.MimeBuilder;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.UUID;

/**
 * Builds the reports Mailgate writes itself, as a mail system would: RFC 6522 multipart/report messages (an RFC 3464
 * delivery status notification, an RFC 5965 ARF complaint) carrying the original message's headers. Used by the
 * mailbox simulator and by email feedback forwarding. Bytes are ISO-8859-1 throughout, so original headers keep their
 * exact bytes.
 */
final class ReportMessage {

  private ReportMessage() {}

  /** The header section of a message (up to the blank line), ending with CRLF. */
  static String originalHeaders(byte[] original) {
    String s = new String(original, StandardCharsets.ISO_8859_1);
    int end = s.indexOf("\r\n\r\n");
    if (end >= 0) {
      return s.substring(0, end + 2);
    }
    return s.endsWith("\r\n") ? s : s + "\r\n"; // cut short: longer than what was read
  }

  /** The unfolded value of a header field, or null. */
  static String header(String headers, String name) {
    String field = field(headers, name);
    if (field == null) {
      return null;
    }
    return field.substring(field.indexOf(':') + 1).replace("\r\n", "").strip();
  }

  /** A header field as it is written (its folded lines and final CRLF included), or null. */
  static String field(String headers, String name) {
    int at = 0;
    while (at < headers.length()) {
      int end = headers.indexOf("\r\n", at);
      if (end < 0) {
        end = headers.length();
      }
      int colon = headers.indexOf(':', at);
      if (colon > at && colon < end && headers.substring(at, colon).strip().equalsIgnoreCase(name)) {
        int next = end + 2;
        while (next < headers.length() && (headers.charAt(next) == ' ' || headers.charAt(next) == '\t')) {
          int more = headers.indexOf("\r\n", next);
          next = more < 0 ? headers.length() : more + 2;
        }
        return headers.substring(at, Math.min(next, headers.length()));
      }
      at = end + 2;
    }
    return null;
  }

  /** Date, From, To, Subject and a new Message-ID on {@code domain}: the start of a report's header section. */
  static String start(ZonedDateTime date, String from, String to, String subject, String domain) {
    return "Date: " + MimeBuilder.rfc5322Date(date) + "\r\n"
        + "From: " + from + "\r\n"
        + "To: " + to + "\r\n"
        + "Subject: " + subject + "\r\n"
        + "Message-ID: <" + UUID.randomUUID() + "@" + domain + ">\r\n";
  }

  /**
   * A multipart/report: the header section {@code start} (from {@link #start}, with any further fields), a
   * human-readable {@code text}, the machine-readable part ({@code machineType}, its fields {@code machine}) and the
   * original message's {@code headers} as text/rfc822-headers.
   */
  static byte[] multipartReport(String start, String reportType, String text, String machineType, String machine,
      String headers) {
    return multipartReport(start, reportType, "text/plain; charset=us-ascii", text, machineType, machine, headers);
  }

  /** The same with the human-readable part's own header fields ({@code textType}: its Content-Type and any more). */
  static byte[] multipartReport(String start, String reportType, String textType, String text, String machineType,
      String machine, String headers) {
    String boundary = "=_report_" + UUID.randomUUID();
    String message = start
        + "MIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=" + reportType + "; boundary=\"" + boundary + "\"\r\n"
        + "\r\n"
        + "--" + boundary + "\r\n"
        + "Content-Type: " + textType + "\r\n\r\n"
        + text
        + "--" + boundary + "\r\n"
        + "Content-Type: " + machineType + "\r\n\r\n"
        + machine
        + "\r\n"
        + "--" + boundary + "\r\n"
        + "Content-Type: text/rfc822-headers\r\n\r\n"
        + headers
        + "\r\n--" + boundary + "--\r\n";
    return message.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** An ARF complaint (RFC 5965) about the message whose {@code headers} these are. */
  static byte[] complaint(String start, String text, String feedbackType, String userAgent, String originalMailFrom,
      String originalRcptTo, ZonedDateTime arrival, String reportedDomain, String headers) {
    String machine = "Feedback-Type: " + feedbackType + "\r\n"
        + "User-Agent: " + userAgent + "\r\n"
        + "Version: 1\r\n"
        + (originalMailFrom == null ? "" : "Original-Mail-From: <" + originalMailFrom + ">\r\n")
        + "Original-Rcpt-To: <" + originalRcptTo + ">\r\n"
        + "Arrival-Date: " + MimeBuilder.rfc5322Date(arrival.withZoneSameInstant(ZoneOffset.UTC)) + "\r\n"
        + (reportedDomain == null ? "" : "Reported-Domain: " + reportedDomain + "\r\n");
    return multipartReport(start, "feedback-report", text, "message/feedback-report", machine, headers);
  }

  /**
   * Text from another server (a diagnostic, an address) made safe for one header or body line: control characters
   * become spaces, anything not ASCII a question mark, and it is cut at 900 characters.
   */
  static String oneLine(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(Math.min(s.length(), 900));
    for (int i = 0; i < s.length() && b.length() < 900; i++) {
      char c = s.charAt(i);
      b.append(c < 0x20 || c == 0x7f ? ' ' : c > 0x7e ? '?' : c);
    }
    return b.toString().strip();
  }
}
