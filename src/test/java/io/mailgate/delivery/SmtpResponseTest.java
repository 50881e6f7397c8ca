package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SmtpResponseTest {

  @Test
  void enhancedStatusAtTheStartOfTheText() {
    assertEquals("5.1.1", SmtpResponse.enhancedStatus("5.1.1 <a@b.example>: Recipient address rejected", 550));
    assertEquals("4.7.28", SmtpResponse.enhancedStatus("4.7.28 slow down", 421));
    assertEquals("5.123.999", SmtpResponse.enhancedStatus("5.123.999", 554));
    assertEquals("2.0.0", SmtpResponse.enhancedStatus("2.0.0 Ok: queued as 4B2C1", 250));
  }

  /** RFC 5321 4.5.3.1.10: 452, or 552 as older servers say it, to RCPT, by its enhanced status or its words. */
  @Test
  void tooManyRecipientsIsTheRcptReplyThatSaysSo() {
    assertTrue(new SmtpResponse(452, "4.5.3", "Too many recipients").answering("RCPT").tooManyRecipients());
    assertTrue(new SmtpResponse(552, "5.5.3", "Too many recipients").answering("RCPT").tooManyRecipients());
    assertTrue(new SmtpResponse(452, "4.5.3", "Recipient limit reached").answering("RCPT").tooManyRecipients());
    assertTrue(new SmtpResponse(452, null, "Error: too many recipients").answering("RCPT").tooManyRecipients());
    assertFalse(new SmtpResponse(552, "5.5.3", "Too many recipients").answering("DATA").tooManyRecipients());
    assertFalse(new SmtpResponse(452, "4.2.2", "Mailbox full").answering("RCPT").tooManyRecipients());
    assertFalse(new SmtpResponse(550, "5.5.3", "Too many recipients").answering("RCPT").tooManyRecipients());
    assertFalse(new SmtpResponse(452, "4.15.3", "Insufficient storage").answering("RCPT").tooManyRecipients());
  }

  @Test
  void notAnEnhancedStatus() {
    assertNull(SmtpResponse.enhancedStatus("4.1.1 class does not match the reply", 550));
    assertNull(SmtpResponse.enhancedStatus("5.1 too short", 550));
    assertNull(SmtpResponse.enhancedStatus("5..1 empty", 550));
    assertNull(SmtpResponse.enhancedStatus("5.1.1234 detail too long", 550));
    assertNull(SmtpResponse.enhancedStatus("5.1234.1 subject too long", 550));
    assertNull(SmtpResponse.enhancedStatus("55.1.1 class too long", 550));
    assertNull(SmtpResponse.enhancedStatus("5.1.1: glued", 550));
    assertNull(SmtpResponse.enhancedStatus("5.1.", 550));
    assertNull(SmtpResponse.enhancedStatus("Mailbox unavailable", 550));
    assertNull(SmtpResponse.enhancedStatus("", 550));
  }

  @Test
  void multiLineReplyKeepsTheStatusOnceAndJoinsTheText() {
    SmtpResponse r = SmtpResponse.parse(List.of("550-5.1.1 The email account that you tried to reach does",
        "550-5.1.1 not exist. Please try", "550 5.1.1 double-checking the address."));
    assertEquals(550, r.code());
    assertEquals("5.1.1", r.enhancedStatus());
    assertEquals("The email account that you tried to reach does not exist. Please try double-checking the address.",
        r.text());
  }

  /** The code is the last line's; lines of one reply with different codes make it malformed (-1). */
  @Test
  void aReplyWhoseLinesDisagreeHasNoCode() {
    assertEquals(-1, SmtpResponse.parse(List.of("250-2.1.0 Sender ok", "550 5.7.1 Rejected")).code());
    assertEquals(-1, SmtpResponse.parse(List.of("550-5.7.1 Rejected", "250 2.1.0 Ok")).code());
    assertEquals(-1, SmtpResponse.parse(List.of("250-first", "250-second", "251 last")).code());
    assertEquals(-1, SmtpResponse.parse(List.of("garbage-line", "250 Ok")).code());
    assertEquals(250, SmtpResponse.parse(List.of("250-first", "250-second", "250 last")).code());
    assertEquals(421, SmtpResponse.parse(List.of("421")).code());
  }

  /** RFC 3461 xtext, as ENVID and ORCPT carry it: what is printable and not '+' or '=' goes as it is. */
  @Test
  void xtextEncodesOnlyWhatItMust() {
    String id = "0100019abc-def0-4a1b.example@mailgate";
    assertEquals(id, SmtpConnection.xtext(id));
    assertEquals("a+2Bb+3Dc@example.org", SmtpConnection.xtext("a+b=c@example.org"));
    assertEquals("caf+C3+A9+20x", SmtpConnection.xtext("caf\u00e9 x"));
    assertEquals("", SmtpConnection.xtext(""));
    assertEquals("+7F+0D+0A", SmtpConnection.xtext("\u007f\r\n"));
  }
}
