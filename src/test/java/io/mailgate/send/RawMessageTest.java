package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesException;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import org.junit.jupiter.api.Test;

class RawMessageTest {
  static final ZonedDateTime NOW = ZonedDateTime.of(2026, 11, 28, 10, 0, 0, 0, ZoneOffset.UTC);

  static RawMessage.Prepared prepare(String raw) {
    return RawMessage.prepare(raw.getBytes(StandardCharsets.UTF_8), "gen@example.com", NOW);
  }

  static String text(RawMessage.Prepared p) {
    return new String(p.content(), StandardCharsets.UTF_8);
  }

  @Test
  void keepsWhatTheSenderWroteAndRemovesBcc() {
    String raw = "From: A <a@example.com>\r\nDate: Fri, 27 Nov 2026 09:00:00 +0000\r\nMessage-ID: <mine@example.com>\r\n"
        + "To: b@example.org,\r\n  \"C, Person\" <c@example.org>\r\nBcc: hidden@example.org,\r\n other@example.org\r\n"
        + "Subject: folded\r\n subject\r\n\r\nbody\r\n";
    RawMessage.Prepared p = prepare(raw);
    assertEquals(raw.replace("Bcc: hidden@example.org,\r\n other@example.org\r\n", ""), text(p));
    assertEquals("a@example.com", p.from().address());
    assertEquals(List.of("b@example.org", "c@example.org"), p.to().stream().map(Mailbox::address).toList());
    assertEquals(List.of("hidden@example.org", "other@example.org"), p.bcc().stream().map(Mailbox::address).toList());
  }

  @Test
  void addsMissingDateAndMessageIdAndNormalizesLineEndings() {
    RawMessage.Prepared p = prepare("From: a@example.com\nTo: b@example.org\nSubject: x\n\nline\rnext\nlast");
    String s = text(p);
    assertTrue(s.startsWith("Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <gen@example.com>\r\n"), s);
    assertTrue(s.endsWith("\r\n\r\nline\r\nnext\r\nlast\r\n"), s);
    assertTrue(!s.replace("\r\n", "").contains("\n") && !s.replace("\r\n", "").contains("\r"), s);
  }

  @Test
  void groupsAndHeaderOnlyMessages() {
    RawMessage.Prepared p = prepare("From: a@example.com\r\nTo: Team: x@example.org, y@example.org;\r\nSubject: s");
    assertEquals(List.of("x@example.org", "y@example.org"), p.to().stream().map(Mailbox::address).toList());
    assertTrue(text(p).endsWith("Subject: s\r\n\r\n"), text(p));
  }

  /** A quoted local part is as valid in a raw message's header as in a Destination; one with CR or 8 bits is not. */
  @Test
  void quotedLocalPartsInHeaders() {
    RawMessage.Prepared p = prepare("From: a@example.com\r\nTo: \"john doe\"@example.org, \"x\\\"y\"@example.org\r\n"
        + "Subject: s\r\n\r\nbody\r\n");
    assertEquals(List.of("\"john doe\"@example.org", "\"x\\\"y\"@example.org"),
        p.to().stream().map(Mailbox::address).toList());
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\nTo: \"jöhn\"@example.org\r\n\r\nx\r\n"));
    // not quoted, a space is no part of an address (mime4j would join the words)
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\nTo: john doe@example.org\r\n\r\nx\r\n"));
  }

  @Test
  void refusesWhatCannotBeSentUnchanged() {
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\n\r\n" + "z".repeat(999) + "\r\n"));
    assertThrows(SesException.class, () -> prepare("not a header line\r\n\r\nbody"));
    assertThrows(SesException.class, () -> prepare(" continuation first\r\n\r\nbody"));
    assertThrows(SesException.class, () -> prepare(""));
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\nTo: broken@\r\n\r\nbody"));
  }

  /** RFC 5322 3.6: fields a message has once; a From always (the Source is the envelope's); no NUL. */
  @Test
  void refusesRepeatedFieldsAMissingFromAndNul() {
    SesException twice = assertThrows(SesException.class,
        () -> prepare("From: a@example.com\r\nSubject: one\r\nsubject: two\r\n\r\nb\r\n"));
    assertTrue(twice.getMessage().contains("more than one Subject"), twice.getMessage());
    for (String field : List.of("Date: Mon, 1 Jan 2024 00:00:00 +0000", "Message-ID: <a@b>", "To: b@example.org",
        "In-Reply-To: <x@y>", "Sender: s@example.com")) {
      assertThrows(SesException.class, () -> prepare("From: a@example.com\r\n" + field + "\r\n" + field
          + "\r\n\r\nb\r\n"), field);
    }
    SesException noFrom = assertThrows(SesException.class, () -> prepare("To: b@example.org\r\n\r\nb\r\n"));
    assertEquals("Missing required header 'From'.", noFrom.getMessage());
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\nSubject: a\u0000b\r\n\r\nb\r\n"));
    assertThrows(SesException.class, () -> prepare("From: a@example.com\r\n\r\nb\u0000\r\n"));
    // fields a message may repeat stay allowed
    assertEquals(2, text(prepare("From: a@example.com\r\nComments: x\r\nComments: y\r\nReceived: a\r\n"
        + "Received: b\r\n\r\nb\r\n")).split("Comments:").length - 1);
  }

  @Test
  void cleanInputIsNotCopied() {
    byte[] clean = "a: b\r\n\r\nc\r\n".getBytes(StandardCharsets.US_ASCII);
    assertSame(clean, RawMessage.normalizeLineEndings(clean));
  }
}
