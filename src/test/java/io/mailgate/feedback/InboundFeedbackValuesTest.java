package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Values a report writes its own way, recorded the way SES's events write them. */
class InboundFeedbackValuesTest {

  /** A Bounce event's diagnosticCode is typed as SES types it when it is an SMTP reply, and only then. */
  @Test
  void aReplyIsTypedSmtpAndNothingElseIs() {
    assertEquals("smtp; 550 5.1.1 User unknown", InboundFeedback.typed("550 5.1.1 User unknown"));
    assertEquals("smtp; 552-5.2.2 Over quota", InboundFeedback.typed("552-5.2.2 Over quota"));
    assertEquals("255", InboundFeedback.typed("255"), "an exit status (X-Unix; 255) is no reply");
    assertEquals("mailbox unavailable", InboundFeedback.typed("mailbox unavailable"));
  }

  @Test
  void arrivalDatesBecomeIso8601() {
    assertEquals("2026-11-28T10:00:00.000Z", InboundFeedback.isoTime("Sat, 28 Nov 2026 10:00:00 +0000"));
    assertEquals("2005-03-08T18:00:00.000Z", InboundFeedback.isoTime("Thu, 8 Mar 2005 14:00:00 EDT"));
    assertEquals("2024-09-03T10:15:01.000Z", InboundFeedback.isoTime("Tue, 3 Sep 2024 10:15:01 +0000 (UTC)"));
    assertEquals("2024-01-01T00:00:00.000Z", InboundFeedback.isoTime("2024-01-01T00:00:00Z"), "SES's own");
    assertEquals(null, InboundFeedback.isoTime("yesterday"));
    assertEquals(null, InboundFeedback.isoTime(null));
  }

  @Test
  void remoteMtaIpIsAnAddressOrNothing() {
    assertEquals(null, InboundFeedback.ipLiteral("mx.remote.example"));
    assertEquals("192.0.2.25", InboundFeedback.ipLiteral("mx.remote.example (192.0.2.25)"));
    assertEquals("192.0.2.5", InboundFeedback.ipLiteral("[192.0.2.5]"));
    assertEquals("2001:db8::1", InboundFeedback.ipLiteral("[IPv6:2001:db8::1]"));
    assertEquals(null, InboundFeedback.ipLiteral("mx 25"));
  }
}
