package io.mailgate.api;

import java.time.Clock;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The {@code Date} header of every response (RFC 9110 section 6.6.1). The AWS SDKs read it to correct a client's
 * clock after a signature is refused as expired; without it a client whose clock is off fails every call. Formatted
 * once a second per event loop, not per response.
 */
final class HttpDate {
  /** IMF-fixdate: a two-digit day (RFC_1123_DATE_TIME writes "3 Jun", which strict parsers such as Rust's refuse). */
  static final DateTimeFormatter IMF_FIXDATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'",
      java.util.Locale.US);

  private final Clock clock;
  private long second = Long.MIN_VALUE;
  private String value;

  HttpDate(Clock clock) {
    this.clock = clock;
  }

  /** Not thread-safe: one per verticle instance. */
  String now() {
    long millis = clock.millis();
    long s = Math.floorDiv(millis, 1000);
    if (s != second) {
      second = s;
      value = IMF_FIXDATE.format(ZonedDateTime.ofInstant(java.time.Instant.ofEpochSecond(s), ZoneOffset.UTC));
    }
    return value;
  }
}
