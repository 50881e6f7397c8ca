package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class HttpDateTest {
  /** RFC 9110's IMF-fixdate has a two-digit day: strict parsers (the AWS SDK for Rust's) refuse "Tue, 3 Jun". */
  @Test
  void theDayHasTwoDigits() {
    Clock clock = Clock.fixed(Instant.parse("2008-06-03T11:05:30.250Z"), ZoneOffset.UTC);
    assertEquals("Tue, 03 Jun 2008 11:05:30 GMT", new HttpDate(clock).now());
    Clock later = Clock.fixed(Instant.parse("2026-12-21T23:59:59Z"), ZoneOffset.UTC);
    assertEquals("Mon, 21 Dec 2026 23:59:59 GMT", new HttpDate(later).now());
  }
}
