package io.mailgate.feedback;

import io.mailgate.delivery.Simulator;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;

/**
 * The messages the mailbox simulator sends back, written as a real mailbox provider would: an
 * out-of-office reply, and an RFC 5965 ARF complaint carrying the original headers. They go
 * through the same parser and attribution as anything received from outside.
 */
public final class SimulatedReports {

  private SimulatedReports() {}

  public static byte[] autoReply(String simulatorAddress, String returnPath, byte[] original, ZonedDateTime now) {
    String headers = ReportMessage.originalHeaders(original);
    String messageId = ReportMessage.header(headers, "Message-ID");
    String subject = ReportMessage.header(headers, "Subject");
    String text = ReportMessage.start(now, simulatorAddress, returnPath,
            "Out of the office" + (subject == null ? "" : " (Re: " + subject + ")"), Simulator.DOMAIN)
        + (messageId == null ? "" : "In-Reply-To: " + messageId + "\r\nReferences: " + messageId + "\r\n")
        + "Auto-Submitted: auto-replied\r\n"
        + "MIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=us-ascii\r\n"
        + "\r\n"
        + "I am out of the office and will reply when I return.\r\n";
    return text.getBytes(StandardCharsets.ISO_8859_1);
  }

  public static byte[] complaint(String simulatorAddress, String returnPath, byte[] original, ZonedDateTime now) {
    return ReportMessage.complaint(
        ReportMessage.start(now, "complaints@" + Simulator.DOMAIN, returnPath, "Complaint about a message",
            Simulator.DOMAIN),
        "This is an email abuse report for a message received by " + simulatorAddress + ".\r\n",
        "abuse", "Mailgate-Mailbox-Simulator/1.0", returnPath, simulatorAddress, now, Simulator.DOMAIN,
        ReportMessage.originalHeaders(original));
  }
}
