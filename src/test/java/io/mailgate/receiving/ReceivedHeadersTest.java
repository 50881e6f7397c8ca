package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
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
  void aDkimSignatureIsFoundDespiteAMalformedLine() {
    byte[] message = bytes("X Bad: 1\r\nDKIM-Signature: v=1; a=rsa-sha256; d=Signer.Example;\r\n\ts=sel; "
        + "h=from; bh=x; b=y\r\nFrom: a@signer.example\r\n\r\nbody\r\n");
    assertEquals(List.of("sel._domainkey.signer.example"), DkimVerdict.keyNames(message));
  }
}
