package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What feedback forwarding mails, read back by Mailgate's own report parser, as any mail system would read it. */
class ForwardedFeedbackTest {
  static final ZonedDateTime NOW = ZonedDateTime.of(2026, 3, 1, 12, 0, 0, 0, ZoneOffset.UTC);
  static final byte[] ORIGINAL = ("From: Shop <shop@example.com>\r\nTo: someone@example.org\r\nSubject: Your order\r\n"
      + "Message-ID: <0100018e00000000-11111111-2222-3333-4444-555555555555-000000@eu-west-1.amazonses.com>\r\n"
      + "\r\nThanks.\r\n").getBytes(StandardCharsets.ISO_8859_1);

  @Test
  void aBounceIsADeliveryStatusNotificationThatParsesBack() {
    byte[] dsn = ForwardedFeedback.bounce("MAILER-DAEMON@bounces.example.net", "shop@example.com",
        new ForwardedFeedback.Bounced("someone@example.org", "5.1.1", "smtp; 550 5.1.1 User unknown\r\nInjected: x",
            "dns; mta1.example.net", "192.0.2.7"), ORIGINAL, NOW);

    FeedbackReport report = new FeedbackParser().parse(dsn);
    assertEquals(FeedbackKind.DSN, report.kind());
    assertEquals("mta1.example.net", report.reportingMta());
    RecipientReport r = report.recipients().get(0);
    assertEquals("someone@example.org", r.finalRecipient());
    assertEquals("failed", r.action());
    assertEquals("5.1.1", r.status());
    assertTrue(r.diagnosticCode().contains("550 5.1.1 User unknown"), r.diagnosticCode());
    assertEquals("0100018e00000000-11111111-2222-3333-4444-555555555555-000000@eu-west-1.amazonses.com",
        report.original().messageId());
    String text = new String(dsn, StandardCharsets.ISO_8859_1);
    assertFalse(text.contains("\r\nInjected:"), "a remote server's line breaks cannot add fields");
    assertTrue(text.contains("\r\nAuto-Submitted: auto-replied\r\n"));
    assertTrue(text.contains("\r\nRemote-MTA: dns; [192.0.2.7]\r\n"), text);
  }

  /** What a remote server or Mailgate wrote becomes fields RFC 3464 allows: a status code, a typed diagnostic. */
  @Test
  void statusAndDiagnosticAreWellFormed() {
    String odd = new String(ForwardedFeedback.bounce("MAILER-DAEMON@bounces.example.net", "shop@example.com",
        new ForwardedFeedback.Bounced("someone@example.org", "5.1.1 extra", "The address could not be routed",
            null, "mx.example.org"), ORIGINAL, NOW), StandardCharsets.ISO_8859_1);
    assertTrue(odd.contains("\r\nStatus: 5.0.0\r\n"), odd);
    assertTrue(odd.contains("\r\nDiagnostic-Code: X-Mailgate; The address could not be routed\r\n"), odd);
    assertTrue(odd.contains("\r\nRemote-MTA: dns; mx.example.org\r\n"), odd);
    String smtp = new String(ForwardedFeedback.bounce("MAILER-DAEMON@bounces.example.net", "shop@example.com",
        new ForwardedFeedback.Bounced("someone@example.org", "4.4.7", "451 4.4.7 retried until the maximum", null,
            null), ORIGINAL, NOW), StandardCharsets.ISO_8859_1);
    assertTrue(smtp.contains("\r\nStatus: 4.4.7\r\n"), smtp);
    assertTrue(smtp.contains("\r\nDiagnostic-Code: smtp; 451 4.4.7 retried until the maximum\r\n"), smtp);
  }

  @Test
  void aComplaintThatCameAsArfIsForwardedWithItsReportAsItCame() {
    byte[] arf = SimulatedReports.complaint("complaint@simulator.amazonses.com", "shop@example.com", ORIGINAL, NOW);
    byte[] forwarded = ForwardedFeedback.complaint("MAILER-DAEMON@bounces.example.net", "shop@example.com",
        "complaint@simulator.amazonses.com", "abuse", null, arf, ORIGINAL, NOW);

    String received = new String(arf, StandardCharsets.ISO_8859_1);
    String body = received.substring(received.indexOf("\r\n\r\n"));
    assertTrue(new String(forwarded, StandardCharsets.ISO_8859_1).endsWith(body), "the report byte for byte");
    FeedbackReport report = new FeedbackParser().parse(forwarded);
    assertEquals(FeedbackKind.ARF, report.kind());
    assertEquals("abuse", report.complaint().feedbackType());
    assertEquals(List.of("complaint@simulator.amazonses.com"), report.complaint().originalRecipients());
  }

  /**
   * The copy a complaint returns carries its recipient's VERP return path (Return-Path, Original-Mail-From): with it
   * the sender could write a DSN to that return path as if from the recipient's server. The forward names none.
   */
  @Test
  void aForwardedComplaintCarriesNoVerpReturnPath() {
    String token = "b" + "a2z7".repeat(11) + "qmn";
    byte[] arf = ("From: feedback@isp.example\r\nTo: fbl@bounces.example.net\r\nSubject: complaint\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"f\"\r\n\r\n"
        + "--f\r\nContent-Type: message/feedback-report\r\n\r\n"
        + "Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Mail-From: <" + token.toUpperCase(java.util.Locale.ROOT)
        + "@bounces.example.net>\r\nOriginal-Rcpt-To: someone@example.org\r\n\r\n"
        + "--f\r\nContent-Type: text/rfc822-headers\r\n\r\nReturn-Path: <" + token + "@bounces.example.net>\r\n"
        + "From: shop@example.com\r\nTo: someone@example.org\r\n\r\n--f--\r\n")
        .getBytes(StandardCharsets.ISO_8859_1);
    String forwarded = new String(ForwardedFeedback.complaint("MAILER-DAEMON@bounces.example.net", "shop@example.com",
        "someone@example.org", "abuse", null, arf, ORIGINAL, NOW), StandardCharsets.ISO_8859_1);

    assertFalse(forwarded.toLowerCase(java.util.Locale.ROOT).contains(token), forwarded);
    assertTrue(forwarded.contains("\r\nReturn-Path: <bounce@bounces.example.net>\r\n"), forwarded);
    FeedbackReport report = new FeedbackParser().parse(forwarded.getBytes(StandardCharsets.ISO_8859_1));
    assertEquals(FeedbackKind.ARF, report.kind());
    assertEquals(List.of("someone@example.org"), report.complaint().originalRecipients());
  }

  @Test
  void aComplaintWithoutArfIsWrittenAsOne() {
    byte[] forwarded = ForwardedFeedback.complaint("MAILER-DAEMON@bounces.example.net", "shop@example.com",
        "someone@example.org", "fraud", "SomeISP/2.0", "Thanks for your order!\r\n".getBytes(StandardCharsets.US_ASCII),
        ORIGINAL, NOW);

    FeedbackReport report = new FeedbackParser().parse(forwarded);
    assertEquals(FeedbackKind.ARF, report.kind());
    assertEquals("fraud", report.complaint().feedbackType());
    assertEquals(List.of("someone@example.org"), report.complaint().originalRecipients());
  }

  /** A received report whose Content-Type would add header lines of its own is not copied: one is written instead. */
  @Test
  void aReportWhoseHeaderCouldAddLinesIsNotCopied() {
    assertTrue(ForwardedFeedback.folded("Content-Type: multipart/report;\r\n\treport-type=feedback-report\r\n"));
    assertFalse(ForwardedFeedback.folded("Content-Type: multipart/report; report-type=feedback-report\nBcc: x\r\n"));
    assertFalse(ForwardedFeedback.folded("Content-Type: multipart/report;\r\nBcc: x@example.org\r\n"));
    assertFalse(ForwardedFeedback.folded("Content-Type: multipart/report; report-type=feedback-report\rX\r\n"));
    byte[] arf = SimulatedReports.complaint("complaint@simulator.amazonses.com", "shop@example.com", ORIGINAL, NOW);
    String received = new String(arf, StandardCharsets.ISO_8859_1);
    byte[] evil = received.replaceFirst("Content-Type: multipart/report;",
        "Content-Type: multipart/report;\nX-Evil: 1;").getBytes(StandardCharsets.ISO_8859_1);
    String forwarded = new String(ForwardedFeedback.complaint("MAILER-DAEMON@bounces.example.net", "shop@example.com",
        "complaint@simulator.amazonses.com", "abuse", null, evil, ORIGINAL, NOW), StandardCharsets.ISO_8859_1);
    assertFalse(forwarded.contains("X-Evil"), forwarded);
    assertEquals(FeedbackKind.ARF, new FeedbackParser().parse(forwarded.getBytes(StandardCharsets.ISO_8859_1)).kind());
  }
}
