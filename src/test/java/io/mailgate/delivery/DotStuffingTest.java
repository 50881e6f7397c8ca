package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.send.SevenBitConversion;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DotStuffingTest {

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void linesStartingWithADotGetOneMore() {
    assertArrayEquals(ascii("..a\r\nb\r\n..\r\n...x\r\n"), DotStuffing.prepare(ascii(".a\r\nb\r\n.\r\n..x\r\n")).data());
    // a dot right after a word boundary (offset 8, 16) and at the end
    assertArrayEquals(ascii("0123456\n..9abcde\n..\r\n"), DotStuffing.prepare(ascii("0123456\n.9abcde\n.")).data());
    assertArrayEquals(ascii("a.b\r\n"), DotStuffing.prepare(ascii("a.b")).data(), "a dot inside a line stays");
    assertArrayEquals(ascii("\r\n"), DotStuffing.prepare(new byte[0]).data());
  }

  @Test
  void nothingToChangeIsNotCopied() {
    byte[] m = ascii("Subject: x\r\n\r\nno dots at line starts. none.\r\n");
    DotStuffing.Prepared p = DotStuffing.prepare(m);
    assertSame(m, p.data());
    assertFalse(p.eightBit());
  }

  @Test
  void eightBitAnywhere() {
    for (int at = 0; at < 20; at++) {
      byte[] m = ascii("abcdefghijklmnopqrst\r\n");
      m[at] = (byte) 0xC3;
      assertTrue(DotStuffing.prepare(m).eightBit(), "8-bit byte at " + at);
    }
  }

  /**
   * RFC 6532: an 8-bit byte before the end of the header section (the first empty line) makes the message an
   * internationalized one, wherever in the header fields it is; one only in the body does not.
   */
  @Test
  void eightBitHeadersAreThoseBeforeTheFirstEmptyLine() {
    assertEightBitHeaders(false, "Subject: plain\r\nFrom: a@example.com\r\n\r\nGrüße\r\n");
    assertEightBitHeaders(true, "Subject: Grüße\r\n\r\nplain\r\n");
    assertEightBitHeaders(true, "From: a@example.com\r\nTo: b@example.org\r\nSubject: long\r\n folded ü\r\n\r\nx\r\n");
    assertEightBitHeaders(true, "Subject: only headers ö\r\n");
    assertEightBitHeaders(true, "ü: at the very start\r\n\r\n");
    assertEightBitHeaders(false, "\r\nno header fields at all: ü\r\n");
    assertEightBitHeaders(false, "Subject: bare LF\n\nü\n");
    assertEightBitHeaders(false, "Subject: plain\r\n\r\n" + "x".repeat(100) + "\r\n\r\nü\r\n");
    assertEightBitHeaders(false, "Subject: nothing 8-bit\r\n\r\nat all\r\n");
  }

  private static void assertEightBitHeaders(boolean expected, String message) {
    DotStuffing.Prepared p = DotStuffing.prepare(message.getBytes(StandardCharsets.UTF_8));
    assertEquals(expected, p.eightBitHeaders(), message);
    assertEquals(!message.chars().allMatch(c -> c < 0x80), p.eightBit(), message);
  }

  /** The word-at-a-time scan agrees with the byte-by-byte definition on any input. */
  @Test
  void agreesWithTheByteByByteDefinition() {
    Random random = new Random(42);
    byte[] alphabet = {'.', '.', '\n', '\n', '\r', 'a', ' ', (byte) 0x80, (byte) 0xFF, 0};
    for (int round = 0; round < 20_000; round++) {
      byte[] m = new byte[random.nextInt(40)];
      for (int i = 0; i < m.length; i++) {
        m[i] = random.nextInt(4) == 0 ? alphabet[random.nextInt(alphabet.length)] : (byte) ('a' + random.nextInt(26));
      }
      DotStuffing.Prepared p = DotStuffing.prepare(m);
      assertArrayEquals(reference(m), p.data());
      boolean eightBit = false;
      for (byte b : m) {
        eightBit |= b < 0;
      }
      assertEquals(eightBit, p.eightBit());
      assertEquals(referenceEightBitHeaders(m), p.eightBitHeaders(), java.util.Arrays.toString(m));
    }
  }

  /** Whether an 8-bit byte comes before the first empty line (CRLF or LF alone), line by line. */
  private static boolean referenceEightBitHeaders(byte[] m) {
    int start = 0;
    while (start < m.length) {
      int end = start;
      while (end < m.length && m[end] != '\n') {
        end++;
      }
      int contentEnd = end > start && end < m.length && m[end - 1] == '\r' ? end - 1 : end;
      if (end < m.length && contentEnd == start) {
        return false; // the empty line: the header section is over
      }
      for (int i = start; i < end; i++) {
        if (m[i] < 0) {
          return true;
        }
      }
      start = end + 1;
    }
    return false;
  }

  /**
   * Quoted-printable may start a line with a dot (a soft break before one, or a line that was ".x"); DATA's
   * transparency (RFC 5321 4.5.2) is applied to the converted message, so the server reads it back intact.
   */
  @Test
  void dotLinesAreStuffedAfterConversion() {
    String body = "a".repeat(75) + ".ü\r\n.\r\n..ö\r\n";
    byte[] out = SevenBitConversion.convert(("Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)
        .getBytes(StandardCharsets.UTF_8));
    String s = new String(out, StandardCharsets.ISO_8859_1);
    assertTrue(s.contains("a".repeat(75) + "=\r\n.=C3=BC\r\n.\r\n..=C3=B6\r\n"), s);

    DotStuffing.Prepared wire = DotStuffing.prepare(out);
    assertFalse(wire.eightBit());
    String sent = new String(wire.data(), StandardCharsets.ISO_8859_1);
    assertTrue(sent.contains("\r\n..=C3=BC\r\n..\r\n...=C3=B6\r\n"), sent);
    assertArrayEquals(reference(out), wire.data());
  }

  private static byte[] reference(byte[] m) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < m.length; i++) {
      if (m[i] == '.' && (i == 0 || m[i - 1] == '\n')) {
        out.write('.');
      }
      out.write(m[i]);
    }
    if (!(m.length >= 2 && m[m.length - 2] == '\r' && m[m.length - 1] == '\n')) {
      out.write('\r');
      out.write('\n');
    }
    return out.toByteArray();
  }
}
