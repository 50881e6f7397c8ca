package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What a bounce of a received message quotes of it: its trace and header section, never its body, bounded. */
class QuotedHeadersTest {
  static final String TRACE = "Return-Path: <a@x.example>\r\nReceived: from x by y; Tue, 1 Dec 2026 08:00:00 +0000\r\n";

  static String quoted(String message) {
    return new String(MailReceiver.quotedHeaders(TRACE, message.getBytes(StandardCharsets.ISO_8859_1)),
        StandardCharsets.ISO_8859_1);
  }

  @Test
  void theHeaderSectionUpToTheBlankLine() {
    assertEquals(TRACE + "From: a@x.example\r\nSubject: hi\r\n", quoted("From: a@x.example\r\nSubject: hi\r\n\r\nbody"));
    assertEquals(TRACE + "From: a@x.example\n", quoted("From: a@x.example\n\nbody with bare line feeds"));
    assertEquals(TRACE + "Subject: only headers\r\n", quoted("Subject: only headers\r\n"));
    assertEquals(TRACE, quoted("\r\nno headers at all"));
    assertEquals(TRACE, quoted(""));
  }

  @Test
  void aHugeHeaderSectionIsCutAfterAWholeLine() {
    StringBuilder m = new StringBuilder();
    for (int i = 0; i < 2_000; i++) {
      m.append("X-Filler-").append(i).append(": ").append("v".repeat(60)).append("\r\n");
    }
    String q = quoted(m + "\r\nbody");
    assertTrue(q.length() <= MailReceiver.MAX_QUOTED_HEADER_BYTES, "at most the bound: " + q.length());
    assertTrue(q.length() > MailReceiver.MAX_QUOTED_HEADER_BYTES - 100, "and nearly all of it: " + q.length());
    assertTrue(q.endsWith("v\r\n"), "a whole line last");
    assertTrue(q.startsWith(TRACE + "X-Filler-0: "));
  }
}
