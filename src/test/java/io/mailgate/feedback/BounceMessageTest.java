package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.send.MailboxParser;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.Test;

/** SES v1 SendBounce's report: what it says, how it is built, and which fields a caller cannot break. */
class BounceMessageTest {
  static final byte[] ORIGINAL = ("Return-Path: <customer@outside.example>\r\n"
      + "Received: from client.outside.example (192.0.2.1)\r\n\tby mx.mailgate.test with ESMTP id abc;\r\n"
      + "\tTue, 1 Dec 2026 08:00:00 +0000\r\n"
      + "From: Customer <customer@outside.example>\r\nTo: orders@shop.example\r\nSubject: my order\r\n"
      + "Message-ID: <order-1@outside.example>\r\n").getBytes(StandardCharsets.ISO_8859_1);
  static final Instant ARRIVED = Instant.parse("2026-12-01T08:00:00Z");

  static byte[] build(String explanation, List<BounceMessage.RecipientFields> recipients) {
    return BounceMessage.build(MailboxParser.parse("Shop Mail Système <mailer@shop.example>"),
        MailboxParser.parse("customer@outside.example"), explanation,
        new BounceMessage.MessageFields("dns; mx.mailgate.test", ARRIVED,
            List.of(new BounceMessage.Field("X-Shop-Ticket", "T-17"))), recipients, ORIGINAL);
  }

  @Test
  void aBounceTypeIsADeliveryStatusNotificationThatParsesBack() throws Exception {
    byte[] dsn = build(null, List.of(BounceMessage.ofType("orders@shop.example", "DoesNotExist", "BounceType")));
    FeedbackReport report = new FeedbackParser().parse(dsn);
    assertEquals(FeedbackKind.DSN, report.kind());
    assertEquals("mx.mailgate.test", report.reportingMta());
    RecipientReport r = report.recipients().get(0);
    assertEquals("orders@shop.example", r.finalRecipient());
    assertEquals("failed", r.action());
    assertEquals("5.1.1", r.status());
    assertEquals(550, r.replyCode());
    assertEquals("<order-1@outside.example>", "<" + report.original().messageId() + ">");

    String text = new String(dsn, StandardCharsets.ISO_8859_1);
    assertTrue(text.contains("Subject: Delivery Status Notification (Failure)\r\n"), text);
    assertTrue(text.contains("\r\nIn-Reply-To: <order-1@outside.example>\r\n"
        + "References: <order-1@outside.example>\r\n"));
    assertTrue(text.contains("\r\nAuto-Submitted: auto-replied\r\n"));
    assertTrue(text.contains("\r\nArrival-Date: Tue, 1 Dec 2026 08:00:00 +0000\r\nX-Shop-Ticket: T-17\r\n"), text);
    assertTrue(text.contains("\r\nDiagnostic-Code: smtp; 550 5.1.1 The mailbox does not exist\r\n"), text);
    assertTrue(text.startsWith("From: =?UTF-8?"), "a display name that is not ASCII is an encoded word: " + text);
    String head = text.substring(0, text.indexOf("\r\n\r\n") + 2);
    assertFalse(head.contains("\r\nDate:") || head.contains("\r\nMessage-ID:"),
        "Date and Message-ID are the send path's to write: " + head);

    Message m = new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(dsn));
    assertEquals("multipart/report", m.getMimeType());
    assertEquals("delivery-status", m.getHeader().getField("Content-Type").getBody().replaceAll(".*report-type=(["
        + "a-z-]+).*", "$1"));
    List<org.apache.james.mime4j.dom.Entity> parts = ((Multipart) m.getBody()).getBodyParts();
    assertEquals(List.of("text/plain", "message/delivery-status", "text/rfc822-headers"),
        parts.stream().map(org.apache.james.mime4j.dom.Entity::getMimeType).toList());
    String headers = new String(((TextBody) parts.get(2).getBody()).getInputStream().readAllBytes(),
        StandardCharsets.ISO_8859_1);
    assertEquals(new String(ORIGINAL, StandardCharsets.ISO_8859_1), headers.stripTrailing() + "\r\n");
  }

  @Test
  void anExplanationIsQuotedPrintableUtf8WhateverItHolds() throws Exception {
    String explanation = "Die Adresse gibt es nicht mehr.\nBitte schreiben Sie an kontakt@shop.example — danke!\r\n"
        + "Content-Type: text/html\r\n\r\n<b>not a part</b>";
    byte[] dsn = build(explanation, List.of(BounceMessage.ofType("orders@shop.example", "ExceededQuota", "t")));
    Message m = new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(dsn));
    org.apache.james.mime4j.dom.Entity text = ((Multipart) m.getBody()).getBodyParts().get(0);
    assertEquals("quoted-printable", text.getContentTransferEncoding());
    assertEquals("UTF-8", text.getCharset());
    String decoded = new String(((TextBody) text.getBody()).getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(explanation.replace("\r\n", "\n").replace("\n", "\r\n"), decoded.stripTrailing());
    assertEquals(3, ((Multipart) m.getBody()).getBodyParts().size(), "the explanation adds no part");
  }

  @Test
  void aTemporaryFailureIsADelay() {
    String text = new String(build(null, List.of(BounceMessage.ofType("orders@shop.example", "TemporaryFailure",
        "t"))), StandardCharsets.ISO_8859_1);
    assertTrue(text.contains("Subject: Delivery Status Notification (Delay)\r\n"), text);
    assertTrue(text.contains("\r\nAction: delayed\r\nStatus: 4.0.0\r\n"), text);
    assertTrue(text.contains("has not been delivered to the following recipients yet"), text);
  }

  /** SES takes extension values of up to 2,047 characters: folded at their spaces, every line stays within 998. */
  @Test
  void longValuesAreFoldedAndLongHeaderLinesCut() throws Exception {
    String words = ("lorem ipsum dolor sit amet " + "x".repeat(40) + " ").repeat(40).strip();
    BounceMessage.Field f = BounceMessage.extension("X-Long", words.substring(0, 2047).strip(), "e");
    byte[] original = ("Subject: " + "s".repeat(1500) + "\r\nX-Nul: a\0b\r\n").getBytes(StandardCharsets.ISO_8859_1);
    byte[] dsn = BounceMessage.build(MailboxParser.parse("mailer@shop.example"),
        MailboxParser.parse("customer@outside.example"), null,
        new BounceMessage.MessageFields("dns; mx.mailgate.test", ARRIVED, List.of(f)),
        List.of(BounceMessage.ofType("rfc822; orders@shop.example", "Undefined", "t")), original);
    String text = new String(dsn, StandardCharsets.ISO_8859_1);
    for (String line : text.split("\r\n")) {
      assertTrue(line.length() <= 998, "a line of " + line.length());
    }
    assertTrue(text.contains("\r\nSubject: " + "s".repeat(989) + "\r\nX-Nul: ab\r\n"), "cut, and no NUL");
    assertTrue(text.contains("\r\nFinal-Recipient: rfc822; orders@shop.example\r\n"), "a type given is kept");
    String unfolded = text.replace("\r\n ", " ");
    assertTrue(unfolded.contains("\r\nX-Long: " + f.value() + "\r\n"), "unfolded, the value as given");

    SesException e = assertThrows(SesException.class, () -> BounceMessage.extension("X-Long", "y".repeat(1200), "e"));
    assertTrue(e.getMessage().contains("without one"), e.getMessage());
  }

  @Test
  void callerFieldsAreCheckedBeforeTheyBecomeFields() {
    assertEquals("dns; mx.shop.example", BounceMessage.mtaName("mx.shop.example", "RemoteMta"));
    assertEquals("dns; mx.shop.example", BounceMessage.mtaName(" dns; mx.shop.example ", "RemoteMta"));
    assertEquals("smtp; 552 5.2.2 full", BounceMessage.diagnostic("552 5.2.2 full", "DiagnosticCode"));
    assertEquals("x-local; quota; full", BounceMessage.diagnostic("x-local; quota; full", "DiagnosticCode"));
    assertEquals("smtp; 550 see: http://x.example/a;b", BounceMessage.diagnostic("550 see: http://x.example/a;b",
        "DiagnosticCode"));
    assertEquals("failed", BounceMessage.action("Failed", "Action"));
    assertEquals("4.7.500", BounceMessage.status("4.7.500", "Status"));

    for (Runnable bad : List.<Runnable>of(
        () -> BounceMessage.status("6.1.1", "Status"),
        () -> BounceMessage.status("5.1.1 extra", "Status"),
        () -> BounceMessage.status("5.1234.1", "Status"),
        () -> BounceMessage.action("bounced", "Action"),
        () -> BounceMessage.ofType("a@b.example", "Bogus", "BounceType"),
        () -> BounceMessage.diagnostic("smtp; 550 gone\r\nX-Injected: yes", "DiagnosticCode"),
        () -> BounceMessage.mtaName("mx.example\nStatus: 2.0.0", "RemoteMta"),
        () -> BounceMessage.mtaName("; mx.example", "RemoteMta"),
        () -> BounceMessage.mtaName("dns;  ", "RemoteMta"),
        () -> BounceMessage.text("bücher@shop.example", "FinalRecipient"),
        () -> BounceMessage.text("x".repeat(901), "DiagnosticCode"),
        () -> BounceMessage.extension("X Ticket", "1", "ExtensionFields.member.1"),
        () -> BounceMessage.extension("x".repeat(51), "1", "ExtensionFields.member.1"),
        () -> BounceMessage.extension("Status", "2.0.0", "ExtensionFields.member.1"),
        () -> BounceMessage.extension("X-Ticket", "1\r\nStatus: 2.0.0", "ExtensionFields.member.1"),
        () -> BounceMessage.extension("X-Ticket", "v".repeat(2048), "ExtensionFields.member.1"))) {
      SesException e = assertThrows(SesException.class, bad::run);
      assertEquals(SesError.BAD_REQUEST, e.error(), e.getMessage());
    }
    String spaced = ("v".repeat(99) + " ").repeat(21).substring(0, 2047);
    assertEquals(spaced, BounceMessage.extension("X-Ticket", spaced, "e").value());
    assertEquals("v".repeat(900), BounceMessage.extension("X-Ticket", "v".repeat(900), "e").value(), "one line");
    assertEquals("x".repeat(900), BounceMessage.text("x".repeat(900), "d"));
  }
}
