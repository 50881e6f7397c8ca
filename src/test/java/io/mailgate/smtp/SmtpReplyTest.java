package io.mailgate.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SmtpReplyTest {

  @Test
  void singleAndMultiLineWireForm() {
    assertEquals("250 2.1.5 Ok\r\n", SmtpReply.RECIPIENT_OK.toWire());
    assertEquals("354 go ahead\r\n", new SmtpReply(354, null, "go ahead").toWire());
    assertEquals("334 \r\n", new SmtpReply(334, null, "").toWire());
    assertEquals("550-5.1.1 first\r\n550-5.1.1 second\r\n550 5.1.1 third\r\n",
        SmtpReply.of(550, "5.1.1", "first", "second", "third").toWire());
    assertEquals("250-mx.test\r\n250 PIPELINING\r\n",
        new SmtpReply(250, null, List.of("mx.test", "PIPELINING")).toWire());
  }

  @Test
  void longTextIsWrappedIntoLinesOfAtMost512Octets() {
    String text = "word ".repeat(150) + "x".repeat(600) + " end";
    SmtpReply reply = SmtpReply.wrapped(550, "5.1.1", text);
    for (String line : reply.toWire().split("(?<=\r\n)")) {
      assertTrue(line.length() <= SmtpReply.MAX_LINE_OCTETS, line.length() + ": " + line);
    }
    assertEquals(text.replace(" ", ""), String.join("", reply.lines()).replace(" ", ""), "nothing but spaces lost");
    assertTrue(reply.lines().get(0).endsWith("word") && reply.lines().get(1).startsWith("word"), "cut at a space");
    assertEquals(List.of("short text"), SmtpReply.wrapped(550, "5.1.1", "short text").lines());
    String exact = "y".repeat(SmtpReply.MAX_LINE_OCTETS - "550 5.1.1 \r\n".length());
    assertEquals(List.of(exact), SmtpReply.wrapped(550, "5.1.1", exact).lines(), "a line that just fits");
    assertEquals(2, SmtpReply.wrapped(550, "5.1.1", exact + "y").lines().size());
  }

  /** Lines are measured in UTF-8 octets, as they go on the wire, and never cut inside a character. */
  @Test
  void nonAsciiTextIsWrappedByItsOctets() {
    String text = "Адреса не проверены: " + "почта@пример.рф ".repeat(40) + "😀".repeat(300);
    SmtpReply reply = SmtpReply.wrapped(554, "5.7.1", text);
    for (String line : reply.toWire().split("(?<=\r\n)")) {
      int octets = line.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      assertTrue(octets <= SmtpReply.MAX_LINE_OCTETS, octets + ": " + line);
    }
    for (String line : reply.lines()) {
      assertTrue(!Character.isHighSurrogate(line.charAt(line.length() - 1))
          && !Character.isLowSurrogate(line.charAt(0)), "a character cut in two: " + line);
    }
    assertEquals(text.replace(" ", ""), String.join("", reply.lines()).replace(" ", ""), "nothing but spaces lost");
    // a text whose cut falls on its last space ends with the word before it, not with an empty line
    String fits = "z".repeat(SmtpReply.MAX_LINE_OCTETS - "554 5.7.1 \r\n".length());
    assertEquals(List.of(fits), SmtpReply.wrapped(554, "5.7.1", fits + " ").lines());
  }

  @Test
  void nonAsciiTextIsSentAsUtf8() {
    ReplyWriter writer = new ReplyWriter();
    writer.reply(new SmtpReply(550, "5.1.1", "<jörg@x.test> unknown"));
    FakeTransport transport = new FakeTransport();
    writer.flushTo(transport);
    assertEquals("550 5.1.1 <jörg@x.test> unknown\r\n", transport.take());
  }

  @Test
  void refusesWhatCannotGoOnTheWire() {
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(250, null, "a\r\n250 b"));
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(250, null, "a\nb"));
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(199, null, "x"));
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(600, null, "x"));
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(250, "5.0.0", "x"));
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(250, "2.0", "x"));
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(250, "2.0.0000", "x"));
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(354, "3.0.0", "x"));
    assertThrows(IllegalArgumentException.class, () -> new SmtpReply(250, null, List.of()));
  }

  @Test
  void classification() {
    assertTrue(SmtpReply.OK.isPositive());
    assertTrue(SmtpReply.LOCAL_ERROR.isTransientFailure());
    assertTrue(SmtpReply.NO_SUCH_USER.isPermanentFailure());
    assertTrue(SmtpReply.SERVICE_UNAVAILABLE.closesConnection());
    assertFalse(SmtpReply.REJECTED.closesConnection());
  }
}
