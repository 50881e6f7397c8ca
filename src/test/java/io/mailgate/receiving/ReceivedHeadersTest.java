package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
