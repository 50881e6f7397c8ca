package io.mailgate.api.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TrackingHandlerTest {
  @Test
  void theLocationHeaderIsAsciiWithoutLineBreaks() {
    assertEquals("https://x.example/a?b=c&d=%20e", TrackingHandler.location("https://x.example/a?b=c&d= e"));
    assertEquals("https://x.example/ab", TrackingHandler.location("https://x.example/a\r\n\tb"));
    assertEquals("https://x.example/%C3%BC%E2%82%AC", TrackingHandler.location("https://x.example/ü€"));
  }

  @Test
  void theUserAgentIsKeptShortAndWithoutControlCharacters() {
    assertEquals("", TrackingHandler.userAgent(null));
    assertEquals("Mozilla/5.0 (X)", TrackingHandler.userAgent("Mozilla/5.0 (X)"));
    assertEquals("a b c", TrackingHandler.userAgent("a\u0000b\u007fc"));
    assertEquals(TrackingHandler.MAX_USER_AGENT, TrackingHandler.userAgent("x".repeat(5000)).length());
  }
}
