package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.james.mime4j.dom.Header;
import org.junit.jupiter.api.Test;

class FeedbackParserTest {

  private final FeedbackParser parser = new FeedbackParser();

  private static byte[] fixture(String name) throws IOException {
    try (InputStream in = FeedbackParserTest.class.getResourceAsStream("/feedback/" + name)) {
      assertNotNull(in, "missing fixture " + name);
      return in.readAllBytes();
    }
  }

  private static void assertPostfixDsn(FeedbackReport report) {
    assertEquals(FeedbackKind.DSN, report.kind());
    assertEquals("mx1.mailgate.test", report.reportingMta());
    assertEquals("Tue, 3 Sep 2024 10:15:01 +0000 (UTC)", report.arrivalDate().replace("  ", " "));
    assertEquals("MAILER-DAEMON@mx1.mailgate.test", report.reportFrom());
    assertEquals(1, report.recipients().size());
    RecipientReport r = report.recipients().get(0);
    assertEquals("ghost@receiver.test", r.finalRecipient());
    assertEquals("ghost@receiver.test", r.originalRecipient());
    assertEquals("failed", r.action());
    assertEquals("5.1.1", r.status());
    assertEquals(550, r.replyCode());
    assertEquals("550 5.1.1 <ghost@receiver.test>: Recipient address rejected: User unknown in virtual mailbox table",
        r.diagnosticCode());
    assertEquals("mx.receiver.test", r.remoteMta());
    assertEquals("RCPT", r.smtpCommand(), "stage taken from the human-readable part");

    OriginalMessage o = report.original();
    assertEquals("0100019123abcdef-1111-2222@mailgate.test", o.messageId());
    assertEquals("\"Shop\" <orders@shop.test>", o.from());
    assertEquals("ghost@receiver.test", o.to());
    assertEquals("Your order № 42", o.subject());
    assertEquals("Tue, 03 Sep 2024 10:15:00 +0000", o.date());
    assertEquals("bounces+0f1e2d@mailgate.test", o.returnPath());
    assertEquals("0100019123abcdef-1111-2222", o.xHeader("x-mailgate-message-id"));
    assertEquals("transactional", o.xHeaders().get("X-Mailgate-Configuration-Set"));
  }

  @Test
  void standardDsnWithLfLineEnds() throws IOException {
    byte[] raw = fixture("dsn-postfix.eml");
    assertTrue(new String(raw, StandardCharsets.US_ASCII).indexOf('\r') < 0);
    assertPostfixDsn(parser.parse(raw));
  }

  @Test
  void standardDsnWithCrlfLineEnds() throws IOException {
    byte[] raw = fixture("dsn-postfix-crlf.eml");
    assertTrue(new String(raw, StandardCharsets.US_ASCII).contains("\r\n"));
    assertPostfixDsn(parser.parse(raw));
  }

  @Test
  void standardDsnWithBareCrLineEnds() throws IOException {
    String lf = new String(fixture("dsn-postfix.eml"), StandardCharsets.UTF_8);
    assertPostfixDsn(parser.parse(lf.replace('\n', '\r').getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void multiRecipientDsnKeepsOrderAndPerRecipientFields() throws IOException {
    FeedbackReport report = parser.parse(fixture("dsn-multi-recipient.eml"));
    assertEquals(FeedbackKind.DSN, report.kind());
    assertEquals("relay.example.net", report.reportingMta());
    assertEquals("Wed, 4 Sep 2024 07:00:00 +0200", report.arrivalDate());
    List<RecipientReport> rs = report.recipients();
    assertEquals(3, rs.size());
    assertEquals(new RecipientReport("alice@one.example", null, "failed", "5.1.1", 550,
        "550 5.1.1 <alice@one.example>... User unknown", "mx.one.example", "Wed, 4 Sep 2024 07:59:58 +0200", null, null,
        "5.1.1"), rs.get(0));
    assertEquals(new RecipientReport("bob@two.example", null, "failed", "5.2.2", 552,
        "552 5.2.2 <bob@two.example>... Mailbox full", "mx.two.example", "Wed, 4 Sep 2024 07:59:59 +0200", null, null,
        "5.2.2"), rs.get(1));
    assertEquals(new RecipientReport("carol@three.example", null, "delayed", "4.4.1", 421,
        "421 4.4.1 Connection timed out", null, null, null, null, "4.4.1"), rs.get(2));
    assertEquals("weekly-77@mailgate.test", report.original().messageId());
  }

  @Test
  void globalDeliveryStatusWithUtf8Addresses() throws IOException {
    FeedbackReport report = parser.parse(fixture("dsn-global.eml"));
    assertEquals(FeedbackKind.DSN, report.kind());
    assertEquals("mx.beispiel.test", report.reportingMta());
    RecipientReport r = report.recipients().get(0);
    assertEquals("jürgen@büro.beispiel.test", r.finalRecipient());
    assertEquals("jürgen@büro.beispiel.test", r.originalRecipient(), "\\x{00FC} escapes decoded");
    assertEquals("5.1.1", r.status());
    assertEquals("550 5.1.1 Postfach unbekannt", r.diagnosticCode());
    assertEquals("gruss-1@mailgate.test", report.original().messageId());
    assertEquals("Grüße", report.original().subject());
  }

  @Test
  void arfAbuseComplaint() throws IOException {
    FeedbackReport report = parser.parse(fixture("arf-abuse.eml"));
    assertEquals(FeedbackKind.ARF, report.kind());
    ComplaintReport c = report.complaint();
    assertEquals("abuse", c.feedbackType());
    assertEquals("SomeGenerator/1.0", c.userAgent());
    assertEquals("1", c.version());
    assertEquals(List.of("reader@hotmail.example"), c.originalRecipients());
    assertEquals("bounces+9a8b@mailgate.test", c.originalMailFrom());
    assertEquals("192.0.2.10", c.sourceIp());
    assertEquals("Thu, 5 Sep 2024 11:58:00 +0000", c.arrivalDate());
    assertEquals(List.of("mailgate.test"), c.reportedDomains());
    assertEquals("mail.hotmail.example", c.reportingMta());
    assertEquals(List.of("reader@hotmail.example"),
        report.recipients().stream().map(RecipientReport::finalRecipient).toList());
    assertEquals("sale-2024@mailgate.test", report.original().messageId());
    assertEquals("01000191aaaa-bbbb", report.original().xHeader("X-Mailgate-Message-Id"));
    assertEquals("bounces+9a8b@mailgate.test", report.original().returnPath(),
        "envelope sender from Original-Mail-From when the copy has no Return-Path");
  }

  @Test
  void arfOptOutWithHeadersOnlyCopy() throws IOException {
    FeedbackReport report = parser.parse(fixture("arf-opt-out.eml"));
    assertEquals(FeedbackKind.ARF, report.kind());
    assertEquals("opt-out", report.complaint().feedbackType());
    assertEquals("ISP-FBL/2.3", report.complaint().userAgent());
    assertEquals("Fri, 6 Sep 2024 09:00:00 +0000", report.complaint().arrivalDate());
    assertEquals(List.of(), report.complaint().originalRecipients());
    assertEquals("member@isp.example", report.recipients().get(0).finalRecipient(), "Removal-Recipient");
    assertEquals("letter-9@mailgate.test", report.original().messageId());
    assertEquals("list-bounces@mailgate.test", report.original().returnPath());
  }

  @Test
  void qmailBounceWithTwoRecipients() throws IOException {
    FeedbackReport report = parser.parse(fixture("qmail.eml"));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, report.kind());
    List<RecipientReport> rs = report.recipients();
    assertEquals(2, rs.size());
    assertEquals("nobody@remote.example", rs.get(0).finalRecipient());
    assertEquals("5.1.1", rs.get(0).status(), "qmail's (#5.1.1)");
    assertNull(rs.get(0).replyCode());
    assertEquals("<nobody@remote.example>: Sorry, no mailbox here by that name. (#5.1.1)", rs.get(0).diagnosticCode());
    assertEquals("full@remote.example", rs.get(1).finalRecipient());
    assertEquals("5.2.2", rs.get(1).status());
    assertEquals(552, rs.get(1).replyCode());
    assertEquals("198.51.100.20", rs.get(1).remoteMta());
    assertEquals("RCPT", rs.get(1).smtpCommand());
    assertEquals("failed", rs.get(1).action());
    assertEquals("q-1@mailgate.test", report.original().messageId());
    assertEquals("bounces@mailgate.test", report.original().returnPath());
  }

  @Test
  void eximBounceUsesFailedRecipientsAndStopsAtTheCopy() throws IOException {
    FeedbackReport report = parser.parse(fixture("exim.eml"));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, report.kind());
    RecipientReport r = report.recipients().get(0);
    assertEquals(1, report.recipients().size());
    assertEquals("blocked@corp.example", r.finalRecipient());
    assertEquals("5.7.1", r.status());
    assertEquals(550, r.replyCode());
    assertEquals("mx.corp.example", r.remoteMta());
    assertEquals("RCPT", r.smtpCommand());
    assertEquals("blocked@corp.example host mx.corp.example [203.0.113.5] SMTP error from remote mail server after "
        + "RCPT TO:<blocked@corp.example>: 550 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using "
        + "zen.spamhaus.org", r.diagnosticCode());
    assertEquals("exim-3@mailgate.test", report.original().messageId());
    assertEquals("bounces@mailgate.test", report.original().returnPath());
  }

  @Test
  void sendmailTranscriptGivesEachConversationToTheRecipientItLeadsTo() throws IOException {
    FeedbackReport report = parser.parse(fixture("sendmail-transcript.eml"));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, report.kind());
    List<RecipientReport> rs = report.recipients();
    assertEquals(List.of("pupil@school.example", "old@gone.example", "buyer@shop.example"),
        rs.stream().map(RecipientReport::finalRecipient).toList());
    // The DATA conversation is written before the line naming its recipient...
    RecipientReport pupil = rs.get(0);
    assertEquals("DATA", pupil.smtpCommand());
    assertEquals("mx.school.example", pupil.remoteMta());
    assertTrue(pupil.diagnosticCode().startsWith("While talking to mx.school.example: >>> DATA <<< 552"),
        pupil.diagnosticCode());
    // ...and the mailer's "550 gone.example (smtp)... Host unknown" line belongs to the next one.
    assertTrue(!pupil.diagnosticCode().contains("Host unknown"), pupil.diagnosticCode());
    assertEquals("550 gone.example (smtp)... 550 Host unknown 554 <old@gone.example>... 550 Host unknown "
        + "(Authoritative answer from name server)", rs.get(1).diagnosticCode());
    assertEquals(550, rs.get(1).replyCode());
    assertEquals("RCPT", rs.get(2).smtpCommand());
    assertEquals("mail.shop.example", rs.get(2).remoteMta());
    assertTrue(!rs.get(1).diagnosticCode().contains("shop.example"), rs.get(1).diagnosticCode());
  }

  @Test
  void stageReadAcrossAWrappedLine() throws IOException {
    FeedbackReport report = parser.parse(fixture("postfix-wrapped-stage.eml"));
    assertEquals(FeedbackKind.DSN, report.kind());
    RecipientReport r = report.recipients().get(0);
    assertEquals("550 Unknown user reader@carrier.example", r.diagnosticCode());
    assertEquals("DATA", r.smtpCommand(), "'(in reply to end of DATA\\n    command)' in the notification");
  }

  @Test
  void headerCopyIntroducedInPlainWordsIsNotTheExplanation() throws IOException {
    FeedbackReport report = parser.parse(fixture("header-copy-after-text.eml"));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, report.kind());
    RecipientReport r = report.recipients().get(0);
    assertEquals("someone@dept.example", r.finalRecipient());
    assertEquals("<someone@dept.example>: 550 unknown user <someone@dept.example>", r.diagnosticCode());
    assertNull(r.status(), "a version number in the copied Received header is not a status");
    assertEquals("hdr-2@mailgate.test", report.original().messageId());
  }

  @Test
  void exitStatusOfALocalProgramIsNotAReplyCode() {
    String dsn = "From: MAILER-DAEMON@mx.example.org\nSubject: Returned mail\nMIME-Version: 1.0\n"
        + "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
        + "--b\nContent-Type: text/plain\n\nThe pipe failed.\n\n"
        + "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        + "Final-Recipient: RFC822; ann@example.org\nX-Actual-Recipient: X-Unix; |/home/ann/bin/filter\n"
        + "Action: failed\nStatus: 5.0.0\nDiagnostic-Code: X-Unix; 255\n\n--b--\n";
    RecipientReport r = parser.parse(dsn.getBytes(StandardCharsets.US_ASCII)).recipients().get(0);
    assertEquals("255", r.diagnosticCode());
    assertNull(r.replyCode(), "X-Unix; 255 is an exit status");
  }

  @Test
  void office365NonDeliveryReport() throws IOException {
    FeedbackReport report = parser.parse(fixture("office365.eml"));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, report.kind());
    RecipientReport r = report.recipients().get(0);
    assertEquals(1, report.recipients().size());
    assertEquals("someone@contoso.example", r.finalRecipient());
    assertEquals("5.1.10", r.status());
    assertEquals(550, r.replyCode());
    assertTrue(r.diagnosticCode().contains("RESOLVER.ADR.RecipientNotFound"), r.diagnosticCode());
    assertEquals("inv-1001@mailgate.test", report.original().messageId());
  }

  @Test
  void outOfOfficeIsAnAutoReplyNotABounce() throws IOException {
    FeedbackReport report = parser.parse(fixture("auto-reply.eml"));
    assertEquals(FeedbackKind.AUTO_REPLY, report.kind());
    assertEquals(List.of(), report.recipients());
    assertEquals("dana@partner.example", report.reportFrom());
  }

  @Test
  void garbageNeverThrows() {
    assertEquals(FeedbackKind.UNKNOWN, parser.parse(null).kind());
    assertEquals(FeedbackKind.UNKNOWN, parser.parse(new byte[0]).kind());
    byte[] noise = new byte[64 * 1024];
    new Random(42).nextBytes(noise);
    FeedbackReport report = parser.parse(noise);
    assertEquals(FeedbackKind.UNKNOWN, report.kind());
    assertEquals(List.of(), report.recipients());
    String truncated = "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n"
        + "Content-Type: message/delivery-status\n\nReporting-MTA: dns; cut.example\n\nFinal-Recip";
    FeedbackReport cut = parser.parse(truncated.getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.UNKNOWN, cut.kind());
    String deep = "Content-Type: multipart/mixed; boundary=a\n\n" + "--a\nContent-Type: message/rfc822\n\n".repeat(200);
    assertEquals(FeedbackKind.UNKNOWN, parser.parse(deep.getBytes(StandardCharsets.US_ASCII)).kind());
  }

  /** Guards against patterns that backtrack without bound (the bound is hang protection only). */
  @Test
  void hostileLongLinesFinish() {
    String head = "From: mailer-daemon@x.example\nSubject: Undelivered Mail\n\n";
    for (String body : List.of("a".repeat(200_000), "a@".repeat(50_000), "user@" + "a".repeat(100_000),
        "550 ".repeat(50_000), "5.1.1.".repeat(30_000), "<".repeat(100_000) + "x@y.example")) {
      FeedbackReport report = assertTimeoutPreemptively(Duration.ofSeconds(20),
          () -> parser.parse((head + body + "\n").getBytes(StandardCharsets.US_ASCII)));
      assertNotNull(report.kind());
      assertTimeoutPreemptively(Duration.ofSeconds(20), () -> BounceClassifier.defaults().classify(550, null, body));
    }
  }

  @Test
  void plainMessageIsUnknown() {
    String mail = "From: friend@example.org\nTo: news@mailgate.test\nSubject: lunch?\n\nAre you free on Friday?\n";
    FeedbackReport report = parser.parse(mail.getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.UNKNOWN, report.kind());
    assertEquals("friend@example.org", report.reportFrom());
  }

  private static final String POWERMTA_DSN = """
      From: Mail Delivery Subsystem <postmaster@mta.sender.test>
      To: bounces+x@mailgate.test
      Subject: Delivery report
      MIME-Version: 1.0
      Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

      --b1
      Content-Type: text/plain

      <ghost@receiver.test>  delivery failed; will not continue trying

      --b1
      Content-Type: message/delivery-status

      Reporting-MTA: dns; mta.sender.test
      X-PowerMTA-VirtualMTA: vmta1
      Arrival-Date: Tue, 3 Sep 2024 10:15:00 +0000

      Final-Recipient: rfc822;ghost@receiver.test
      Action: failed
      Status: 5.2.1 (mailbox disabled)
      Remote-MTA: dns;mx.receiver.test (192.0.2.5)
      Diagnostic-Code: smtp;550 5.2.1 <ghost@receiver.test>... User Unknown
      X-PowerMTA-BounceCategory: bad-mailbox

      Final-Recipient: rfc822;full@receiver.test
      Action: failed
      Status: 5.2.2
      Diagnostic-Code: smtp;552 5.2.2 Mailbox full
      X-PowerMTA-BounceCategory: Quota-Issues

      --b1--
      """;

  @Test
  void powerMtaBounceCategoryIsKeptPerRecipient() {
    FeedbackReport report = parser.parse(POWERMTA_DSN.getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.DSN, report.kind());
    assertEquals(2, report.recipients().size());
    assertEquals("bad-mailbox", report.recipients().get(0).mtaCategory());
    assertEquals("quota-issues", report.recipients().get(1).mtaCategory());
    BounceClassifier classifier = BounceClassifier.defaults();
    assertEquals(BounceType.PERMANENT, classifier.classify(report.recipients().get(0)).type());
    assertEquals(BounceSubType.MAILBOX_FULL, classifier.classify(report.recipients().get(1)).subType());
    // Without the category line the same reply is not taken as a missing mailbox.
    FeedbackReport plain = parser.parse(POWERMTA_DSN.replace("X-PowerMTA-BounceCategory: bad-mailbox\n", "")
        .getBytes(StandardCharsets.US_ASCII));
    assertNull(plain.recipients().get(0).mtaCategory());
    assertEquals(BounceType.TRANSIENT, classifier.classify(plain.recipients().get(0)).type());
  }

  private static final String LIST_NOTICE = """
      From: announce-admin@lists.receiver.test
      To: orders@shop.test
      Subject: You orders@shop.test are not member (announce ML)
      Message-ID: <notice-1@lists.receiver.test>
      References: <0100019123abcdef-1111-2222@mailgate.test>
      X-MLServer: fml [fml 4.0.3 release]
      Date: Tue, 3 Sep 2024 10:15:02 +0000

      You are not a member of this mailing list <announce@lists.receiver.test>.

      If you know the general guide of this list, please send mail with the body "guide" to
      announce-ctl@lists.receiver.test
      """;

  @Test
  void mailingListRefusalNoticeFailsForTheListAddress() {
    FeedbackReport report = parser.parse(LIST_NOTICE.getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, report.kind());
    assertEquals(1, report.recipients().size());
    RecipientReport r = report.recipients().get(0);
    assertEquals("announce@lists.receiver.test", r.finalRecipient());
    assertEquals("failed", r.action());
    assertEquals("You are not a member of this mailing list <announce@lists.receiver.test>.", r.diagnosticCode());
    assertEquals("0100019123abcdef-1111-2222@mailgate.test", report.original().messageId(), "from References");
    Classification c = BounceClassifier.defaults().classify(r);
    assertEquals(BounceType.TRANSIENT, c.type(), "the list exists; the sender was refused");
    assertEquals("rejected", c.reason());

    String loop = LIST_NOTICE.replace("Subject: You orders@shop.test are not member (announce ML)",
            "Subject: Loop Alert: Duplicated Message-ID (announce ML)\nIn-Reply-To: <first@shop.test>")
        .replace("You are not a member of this mailing list <announce@lists.receiver.test>.",
            "Duplicated Message-ID in <announce@lists.receiver.test>.");
    FeedbackReport loopReport = parser.parse(loop.getBytes(StandardCharsets.US_ASCII));
    assertEquals("announce@lists.receiver.test", loopReport.recipients().get(0).finalRecipient());
    assertEquals("first@shop.test", loopReport.original().messageId(), "In-Reply-To before References");

    // The same sentence without a list server's header, or list traffic without the sentence, is no notice.
    assertEquals(FeedbackKind.UNKNOWN,
        parser.parse(LIST_NOTICE.replace("X-MLServer", "X-Other").getBytes(StandardCharsets.US_ASCII)).kind());
    assertEquals(FeedbackKind.UNKNOWN, parser.parse(LIST_NOTICE.replace("not a member", "a member")
        .getBytes(StandardCharsets.US_ASCII)).kind());
  }

  /**
   * Bounce text written against the patterns: long runs that the marker, HTML and bounce-text patterns would each
   * try every split of. Parsing runs on a worker thread without a time limit, so it must stay linear-ish.
   */
  @Test
  void hostileTextIsParsedInBoundedTime() {
    String spaces = " ".repeat(200_000);
    String dashes = "- ".repeat(100_000);
    String newlines = "\n".repeat(250_000);
    String angles = "<".repeat(1_000_000);
    String scripts = "<script>".repeat(100_000);
    for (String body : new String[] {spaces, dashes, newlines}) {
      byte[] raw = ("From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
          + "Content-Type: text/plain\r\n\r\n" + body + "\r\n").getBytes(StandardCharsets.UTF_8);
      assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> parser.parse(raw));
    }
    for (String body : new String[] {angles, scripts}) {
      byte[] raw = ("From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
          + "Content-Type: text/html\r\n\r\n" + body + "\r\n").getBytes(StandardCharsets.UTF_8);
      assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> parser.parse(raw));
    }
  }

  /** A sentence's period after an address is no part of it: the address was not found at all. */
  @Test
  void anAddressEndingASentenceIsFound() {
    assertEquals("john@example.com", SmtpText.address("Mail to john@example.com."));
    assertEquals("john@mail.example.co.uk", SmtpText.address("Write to john@mail.example.co.uk.\n"));
    assertEquals("john@example.com.au", SmtpText.address("Mail to john@example.com.au"));
    assertEquals("john@example.com", SmtpText.address("<john@example.com>."));
  }

  private static String dsn(String deliveryStatus) {
    return "From: MAILER-DAEMON@mx.example.org\r\nTo: bounces@mailgate.test\r\nSubject: Undelivered Mail\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        + "--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        + "--B\r\nContent-Type: message/global-delivery-status\r\n\r\n" + deliveryStatus + "\r\n--B--\r\n";
  }

  /** RFC 6533 escapes name code points; one above U+10FFFF is text, and the rest of the report is still read. */
  @Test
  void anEscapeThatNamesNoCharacterDoesNotLoseTheReport() {
    FeedbackReport report = parser.parse(dsn("Reporting-MTA: dns; mx.example.org\r\n\r\n"
        + "Final-Recipient: utf-8; j\\x{FFFFFF}rg@x.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        + "Final-Recipient: utf-8; j\\x{FC}rg@y.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        + "Final-Recipient: utf-8; j\\x{D800}rg@z.example\r\nAction: failed\r\nStatus: 5.1.1\r\n")
        .getBytes(StandardCharsets.UTF_8));
    assertEquals(FeedbackKind.DSN, report.kind());
    assertEquals(List.of("x{FFFFFF}rg@x.example", "jürg@y.example", "x{D800}rg@z.example"),
        report.recipients().stream().map(RecipientReport::finalRecipient).toList());
  }

  /** The DSN's own Status field is kept beside the code the classifier goes by (the remote reply's, when specific). */
  @Test
  void theStatusFieldIsKeptBesideTheReplysCode() {
    RecipientReport r = parser.parse(dsn("Reporting-MTA: dns; mx.example.org\r\n\r\n"
        + "Final-Recipient: rfc822; gone@x.example\r\nAction: failed\r\nStatus: 5.0.0\r\n"
        + "Diagnostic-Code: smtp; 550 5.1.1 <gone@x.example>: user unknown\r\n")
        .getBytes(StandardCharsets.UTF_8)).recipients().get(0);
    assertEquals("5.1.1", r.status());
    assertEquals("5.0.0", r.statusField());
  }

  /**
   * RFC 5965: a complaint is a multipart/report of report-type feedback-report. Any message with a "Feedback-Type:"
   * line is not one; a report whose report part is mislabelled text/plain still is.
   */
  @Test
  void onlyAFeedbackReportIsAComplaint() {
    String plain = "From: someone@else.example\r\nTo: postmaster@mailgate.test\r\nSubject: hello\r\n\r\n"
        + "Hi,\r\nFeedback-Type: abuse\r\nOriginal-Rcpt-To: b@y.example\r\n\r\n"
        + "Message-ID: <0100018c0a0b0c0d-11111111-2222-3333-4444-555555555555-000000@email.mailgate.local>\r\n";
    assertEquals(FeedbackKind.UNKNOWN, parser.parse(plain.getBytes(StandardCharsets.US_ASCII)).kind());
    String mislabelled = "From: fbl@isp.example\r\nTo: fbl@mailgate.test\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=feedback-report; boundary=\"f\"\r\n\r\n"
        + "--f\r\nContent-Type: text/plain\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n"
        + "Original-Rcpt-To: b@y.example\r\n\r\n--f--\r\n";
    FeedbackReport report = parser.parse(mislabelled.getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.ARF, report.kind());
    assertEquals(List.of("b@y.example"), report.complaint().originalRecipients());
  }

  /**
   * RFC 3834: an automatic message that is not a reply (auto-generated, an acknowledgement) is no bounce, whatever
   * addresses and words ("rejected") it has; an auto-reply is not one either because its subject quotes the
   * original's ("Automatic reply: ... rejected", "retour"). A text bounce from a mailer daemon says auto-replied too
   * (Exim): it stays a bounce.
   */
  @Test
  void automaticMessagesAreNotBounces() {
    String ack = "From: Support <support@helpdesk.example>\r\nTo: <bxxx@bounces.mailgate.test>\r\n"
        + "Subject: [Ticket #4411] We received your request\r\nAuto-Submitted: auto-generated\r\n\r\n"
        + "Thank you for contacting us. Please note: replies from an invalid address are rejected.\r\n"
        + "For urgent matters write to urgent@helpdesk.example (24/7)\r\n";
    assertEquals(FeedbackKind.AUTO_REPLY, parser.parse(ack.getBytes(StandardCharsets.US_ASCII)).kind());
    String away = "From: Jean <jean@corp.example>\r\nTo: <bxxx@bounces.mailgate.test>\r\n"
        + "Subject: Automatic reply: Re: Your claim was rejected\r\nAuto-Submitted: auto-replied\r\n\r\n"
        + "I am out of office until Monday. For urgent matters contact marie@corp.example please\r\n";
    assertEquals(FeedbackKind.AUTO_REPLY, parser.parse(away.getBytes(StandardCharsets.US_ASCII)).kind());
    String absent = away.replace("Automatic reply: Re: Your claim was rejected", "Absent - retour le lundi 12");
    assertEquals(FeedbackKind.AUTO_REPLY, parser.parse(absent.getBytes(StandardCharsets.US_ASCII)).kind());
    String exim = "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\nTo: bxxx@bounces.mailgate.test\r\n"
        + "Subject: Mail delivery failed: returning message to sender\r\nAuto-Submitted: auto-replied\r\n"
        + "X-Failed-Recipients: gone@example.org\r\n\r\n"
        + "This message was created automatically by mail delivery software.\r\n\r\n"
        + "A message that you sent could not be delivered to one or more of its recipients. This is a permanent "
        + "error. The following address(es) failed:\r\n\r\n  gone@example.org\r\n    SMTP error from remote mail "
        + "server after RCPT TO:<gone@example.org>:\r\n    550 5.1.1 User unknown\r\n";
    FeedbackReport bounce = parser.parse(exim.getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, bounce.kind());
    assertEquals("gone@example.org", bounce.recipients().get(0).finalRecipient());
    // a non-MIME bounce marked auto-generated, as RFC 3834 asks of bounces: what only a bounce has decides
    String generated = exim.replace("Auto-Submitted: auto-replied", "Auto-Submitted: auto-generated");
    FeedbackReport generatedBounce = parser.parse(generated.getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, generatedBounce.kind());
    assertEquals("gone@example.org", generatedBounce.recipients().get(0).finalRecipient());
  }

  /** An Exim bounce of a full mailbox, pasting the original message (headers and body) inline after its marker. */
  static String eximPasting(String originalBody) {
    return "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\nTo: bxxx@bounces.mailgate.test\r\n"
        + "Subject: Mail delivery failed: returning message to sender\r\nAuto-Submitted: auto-replied\r\n"
        + "X-Failed-Recipients: full@example.org\r\n\r\n"
        + "This message was created automatically by mail delivery software.\r\n\r\n"
        + "A message that you sent could not be delivered to one or more of its recipients. This is a temporary "
        + "error. The following address(es) deferred:\r\n\r\n  full@example.org\r\n"
        + "    552 5.2.2 Mailbox full\r\n\r\n"
        + "------ This is a copy of the message, including all the headers. ------\r\n\r\n"
        + "Return-Path: <bxxx@bounces.mailgate.test>\r\nFrom: news@example.com\r\nTo: full@example.org\r\n"
        + "Subject: hello\r\nMessage-ID: <copy@example.com>\r\n\r\n" + originalBody;
  }

  /**
   * What a bounce or an auto-reply returns of the original message is the original, not the report: an SES complaint
   * notification, or DSN fields about another address, in the body of a message that then bounced for a full mailbox
   * are text of that message. The bounce stays the full mailbox's.
   */
  @Test
  void aReportInsideTheReturnedCopyIsNotTheReport() {
    String sesComplaint = "{\"notificationType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":"
        + "[{\"emailAddress\":\"full@example.org\"}],\"complaintFeedbackType\":\"abuse\"},"
        + "\"mail\":{\"source\":\"bxxx@bounces.mailgate.test\"}}\r\n";
    FeedbackReport ses = parser.parse(eximPasting(sesComplaint).getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, ses.kind());
    assertNull(ses.complaint());
    assertEquals("full@example.org", ses.recipients().get(0).finalRecipient());
    assertEquals("5.2.2", ses.recipients().get(0).status());
    // the same notification as the text itself is one
    FeedbackReport own = parser.parse(("From: no-reply@sns.amazonaws.com\r\nSubject: AWS Notification Message\r\n"
        + "\r\n" + sesComplaint).getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.ARF, own.kind());

    String dsnFields = "Reporting-MTA: dns; mx.other.example\r\n\r\nFinal-Recipient: rfc822; full@example.org\r\n"
        + "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n";
    FeedbackReport dsn = parser.parse(eximPasting(dsnFields).getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, dsn.kind());
    assertEquals("5.2.2", dsn.recipients().get(0).status(), "the full mailbox, not the pasted User unknown");
    assertNull(dsn.reportingMta());
  }

  /**
   * An auto-reply that returns the original as an attachment, a message that held a DSN: it is an auto-reply, not that
   * DSN (only a report forwarded by something that is no automatic answer is read from inside the message it returns).
   */
  @Test
  void anAutoReplyReturningAMessageThatHeldADsnIsAnAutoReply() {
    String forwarded = "Content-Type: multipart/report; report-type=delivery-status; boundary=\"in\"\r\n\r\n"
        + "--in\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n"
        + "--in\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.other.example\r\n\r\n"
        + "Final-Recipient: rfc822; someone@other.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--in--\r\n";
    String reply = "From: Jean <jean@corp.example>\r\nTo: <bxxx@bounces.mailgate.test>\r\n"
        + "Subject: Automatic reply: hello\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n"
        + "--out\r\nContent-Type: text/plain\r\n\r\nI am out of office until Monday.\r\n"
        + "--out\r\nContent-Type: message/rfc822\r\n\r\nFrom: news@example.com\r\nTo: jean@corp.example\r\n"
        + "Subject: hello\r\nMIME-Version: 1.0\r\n" + forwarded + "--out--\r\n";
    assertEquals(FeedbackKind.AUTO_REPLY, parser.parse(reply.getBytes(StandardCharsets.US_ASCII)).kind());
    // passed on by a person (no automatic answer): the report it forwards is read
    String passedOn = reply.replace("Subject: Automatic reply: hello\r\nAuto-Submitted: auto-replied\r\n",
        "Subject: Fwd: Undeliverable\r\n");
    FeedbackReport report = parser.parse(passedOn.getBytes(StandardCharsets.US_ASCII));
    assertEquals(FeedbackKind.DSN, report.kind());
    assertEquals("someone@other.example", report.recipients().get(0).finalRecipient());
  }

  /**
   * A text of tens of thousands of short distinct addresses (a 262 KB message): each recipient found was compared
   * with every one found before it, some 30 s of a worker thread shared with every other report.
   */
  @Test
  void manyAddressesAreReadInBoundedTime() {
    StringBuilder text = new StringBuilder("From: MAILER-DAEMON@mx.example\r\nTo: b@bounces.mailgate.test\r\n"
        + "Subject: Undelivered\r\n\r\n");
    for (int i = 0; text.length() < 262_000; i++) {
      text.append(Integer.toString(i, 36)).append("@q.io\n");
    }
    byte[] raw = text.toString().getBytes(StandardCharsets.US_ASCII);
    FeedbackReport report = assertTimeoutPreemptively(Duration.ofSeconds(15), () -> parser.parse(raw));
    assertEquals(FeedbackKind.NON_STANDARD_BOUNCE, report.kind());
    assertEquals(500, report.recipients().size(), "the first 500 addresses found");
    assertEquals("0@q.io", report.recipients().get(0).finalRecipient());
  }

  /**
   * A report of two million header fields, or of a million empty parts (about 10 MB each): mime4j built the whole tree,
   * hundreds of MB of a worker thread's heap; the parse stops at the first {@link MimeParts#MAX_PARTS} entities and
   * {@link MimeParts#MAX_FIELDS} fields, and what came first (here the delivery status) is still read.
   */
  @Test
  void aReportOfMillionsOfFieldsOrPartsIsReadOnlyAsFarAsAnyReportGoes() {
    String head = "From: MAILER-DAEMON@mx.example\r\nTo: b@bounces.mailgate.test\r\nSubject: Undelivered\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
        + "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        + "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n";
    String fields = head + "--b\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <m1@mailgate.test>\r\n"
        + "a:b\r\n".repeat(2_000_000) + "\r\nbody\r\n--b--\r\n";
    String parts = head + "--b\r\n\r\n".repeat(1_000_000) + "--b--\r\n";
    for (String report : List.of(fields, parts)) {
      byte[] raw = report.getBytes(StandardCharsets.US_ASCII);
      MimeParts mime = assertDoesNotThrow(() -> MimeParts.parse(raw));
      assertTrue(mime.parts.size() <= MimeParts.MAX_PARTS, mime.parts.size() + " parts kept");
      Set<Header> headers = Collections.newSetFromMap(new IdentityHashMap<>()); // an enclosed message's is kept twice
      mime.parts.forEach(p -> headers.add(p.header()));
      headers.remove(null);
      assertTrue(headers.stream().mapToInt(h -> h.getFields().size()).sum() <= MimeParts.MAX_FIELDS,
          "header fields kept");
      FeedbackReport r = parser.parse(raw);
      assertEquals(FeedbackKind.DSN, r.kind());
      assertEquals("gone@example.org", r.recipients().get(0).finalRecipient());
    }
    assertEquals("m1@mailgate.test", parser.parse(fields.getBytes(StandardCharsets.US_ASCII)).original().messageId(),
        "the returned message's first fields");
  }
}
