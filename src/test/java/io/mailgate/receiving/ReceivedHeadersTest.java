package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReceivedHeadersTest {

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void fieldsAreFoundPastWhatAStrictParseWouldGiveUpOn() {
    byte[] message = bytes("Received: from x\r\nX Bad line\r\nfrom :  a@one.example\r\nSubject: s\r\n"
        + "From: \"B\"\r\n <b@two.example>\r\n\r\nFrom: c@body.example\r\n");
    assertEquals(List.of("  a@one.example", " \"B\" <b@two.example>"), ReceivedHeaders.values(message, "From"));
    assertEquals(List.of(), ReceivedHeaders.values(bytes("\r\nFrom: a@body.example\r\n"), "From"),
        "nothing after the empty line");
    assertEquals(List.of(" a@lf.example"), ReceivedHeaders.values(bytes("From: a@lf.example\nTo: x\n\n"), "From"));
  }

  @Test
  void whatOtherReadersTakeForAFieldIsOne() {
    assertEquals(List.of(" ceo@bank.example", " x@evil.example"), ReceivedHeaders.values(
        bytes("Subject: hi\rFrom: ceo@bank.example\r\nFrom: x@evil.example\r\n\r\n"), "From"),
        "a bare CR ends a line, as for mime4j and mail clients");
    assertEquals(List.of(" a@one.example", " b@two.example"), ReceivedHeaders.values(
        bytes("(x)From: a@one.example\r\nFrom (y) : b@two.example\r\n\r\n"), "From"), "comments around the name");
    assertEquals(List.of(" a@one.example"), ReceivedHeaders.values(
        bytes(" From: a@one.example\r\nSubject: s\r\n\r\n"), "From"), "an indented first line continues nothing");
    assertEquals(List.of(" a@one.example From: b@two.example"), ReceivedHeaders.values(
        bytes("From: a@one.example\r\n From: b@two.example\r\n\r\n"), "From"), "a continuation after a field");
  }

  @Test
  void aHeaderSectionTooLongToReadIsSaid() {
    byte[] longHeader = bytes("X-Filler: " + "a".repeat(ReceivedHeaders.MAX_HEADER_BYTES) + "\r\n\r\n");
    assertThrows(ReceivedHeaders.TooLong.class, () -> ReceivedHeaders.values(longHeader, "From"));
    assertEquals(Set.of("one.example"), DmarcVerdict.authorDomains(
        bytes("From: a@one.example\r\n\r\n" + "b".repeat(2_000_000))), "the body is not read");
  }

  @Test
  void aDkimSignatureIsFoundDespiteAMalformedLine() {
    byte[] message = bytes("X Bad: 1\r\nDKIM-Signature: v=1; a=rsa-sha256; d=Signer.Example;\r\n\ts=sel; "
        + "h=from; bh=x; b=y\r\nFrom: a@signer.example\r\n\r\nbody\r\n");
    assertEquals(List.of("sel._domainkey.signer.example"), DkimVerdict.keyNames(message));
  }

  /** The fields a receipt notification shows: found leniently, as the checks find them, not given up on. */
  @Test
  void aNotificationsFieldsArePassedOverOnlyWhereMalformed() {
    byte[] message = bytes("Received: from x\r\n\tby y\r\nNo colon here\r\n continued\r\nSubject : hi\r\n"
        + "X-Caf\u00e9: cr\u00e8me\r\nFrom: a@one.example\r\n\r\nTo: body@example\r\n");
    io.mailgate.events.SesEvents.ReceivedFields f = ReceivedHeaders.notified(message, 10 * 1024,
        io.mailgate.events.SesEvents.COMMON_HEADERS);
    assertEquals(List.of("Received", "Subject", "X-Caf\u00e9", "From"),
        f.head().stream().map(io.mailgate.events.SesEvents.ReceivedField::name).toList(),
        "a line without a colon, with its continuation, is passed over; the rest is kept");
    assertEquals(" from x\tby y", f.head().get(0).value(), "unfolded");
    assertEquals(" cr\u00e8me", f.head().get(2).value(), "8-bit names and values, as UTF-8");
    assertEquals(" hi", f.common().get("subject").value());
    assertEquals(null, f.common().get("to"), "nothing after the empty line");
    assertTrue(f.complete());
  }

  @Test
  void aNotificationsFieldsStopAtTheirCaps() {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 2000; i++) {
      b.append("X-Filler-").append(i).append(": ").append("v".repeat(20)).append("\r\n");
    }
    byte[] message = bytes(b + "Subject: late\r\n\r\nbody");
    io.mailgate.events.SesEvents.ReceivedFields f = ReceivedHeaders.notified(message, 10 * 1024,
        io.mailgate.events.SesEvents.COMMON_HEADERS);
    assertFalse(f.complete());
    assertTrue(f.head().stream().mapToInt(io.mailgate.events.SesEvents.ReceivedField::size).sum() <= 10 * 1024);
    assertEquals(" late", f.common().get("subject").value(), "a common field past the head is still found");
    // 10 MB of fields and no empty line: read no further than its first megabyte
    byte[] endless = bytes("a:b\r\n".repeat(2_000_000));
    long start = System.nanoTime();
    io.mailgate.events.SesEvents.ReceivedFields e = ReceivedHeaders.notified(endless, 10 * 1024,
        io.mailgate.events.SesEvents.COMMON_HEADERS);
    assertFalse(e.complete());
    assertEquals(10 * 1024 / 5, e.head().size());
    assertTrue(System.nanoTime() - start < 2_000_000_000L);
  }
}
