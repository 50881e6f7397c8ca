package io.mailgate.feedback;

import io.mailgate.send.MimeBuilder;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.UUID;

/**
 * The messages the mailbox simulator sends back, written as a real mailbox provider would: an
 * out-of-office reply, and an RFC 5965 ARF complaint carrying the original headers. They go
 * through the same parser and attribution as anything received from outside.
 */
public final class SimulatedReports {

  private SimulatedReports() {}

  /** The header section of a message (up to the blank line). */
  static String headers(byte[] original) {
    String s = new String(original, StandardCharsets.ISO_8859_1);
    int end = s.indexOf("\r\n\r\n");
    return end < 0 ? s : s.substring(0, end + 2);
  }

  static String header(String headers, String name) {
    for (String line : headers.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) {
        return line.substring(colon + 1).strip();
      }
    }
    return null;
  }

  public static byte[] autoReply(String simulatorAddress, String returnPath, byte[] original, ZonedDateTime now) {
    String headers = headers(original);
    String messageId = header(headers, "Message-ID");
    String subject = header(headers, "Subject");
    String text = "Date: " + MimeBuilder.rfc5322Date(now) + "\r\n"
        + "From: " + simulatorAddress + "\r\n"
        + "To: " + returnPath + "\r\n"
        + "Subject: Out of the office" + (subject == null ? "" : " (Re: " + subject + ")") + "\r\n"
        + "Message-ID: <" + UUID.randomUUID() + "@" + io.mailgate.delivery.Simulator.DOMAIN + ">\r\n"
        + (messageId == null ? "" : "In-Reply-To: " + messageId + "\r\nReferences: " + messageId + "\r\n")
        + "Auto-Submitted: auto-replied\r\n"
        + "MIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=us-ascii\r\n"
        + "\r\n"
        + "I am out of the office and will reply when I return.\r\n";
    return text.getBytes(StandardCharsets.ISO_8859_1);
  }

  public static byte[] complaint(String simulatorAddress, String returnPath, byte[] original, ZonedDateTime now) {
    String headers = headers(original);
    String boundary = "=_arf_" + UUID.randomUUID();
    String text = "Date: " + MimeBuilder.rfc5322Date(now) + "\r\n"
        + "From: complaints@" + io.mailgate.delivery.Simulator.DOMAIN + "\r\n"
        + "To: " + returnPath + "\r\n"
        + "Subject: Complaint about a message\r\n"
        + "Message-ID: <" + UUID.randomUUID() + "@" + io.mailgate.delivery.Simulator.DOMAIN + ">\r\n"
        + "MIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=feedback-report; boundary=\"" + boundary + "\"\r\n"
        + "\r\n"
        + "--" + boundary + "\r\n"
        + "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        + "This is an email abuse report for a message received by " + simulatorAddress + ".\r\n"
        + "--" + boundary + "\r\n"
        + "Content-Type: message/feedback-report\r\n\r\n"
        + "Feedback-Type: abuse\r\n"
        + "User-Agent: Mailgate-Mailbox-Simulator/1.0\r\n"
        + "Version: 1\r\n"
        + "Original-Mail-From: <" + returnPath + ">\r\n"
        + "Original-Rcpt-To: <" + simulatorAddress + ">\r\n"
        + "Arrival-Date: " + MimeBuilder.rfc5322Date(now.withZoneSameInstant(ZoneOffset.UTC)) + "\r\n"
        + "Reported-Domain: " + io.mailgate.delivery.Simulator.DOMAIN + "\r\n"
        + "\r\n"
        + "--" + boundary + "\r\n"
        + "Content-Type: text/rfc822-headers\r\n\r\n"
        + headers
        + "\r\n--" + boundary + "--\r\n";
    return text.getBytes(StandardCharsets.ISO_8859_1);
  }
}
