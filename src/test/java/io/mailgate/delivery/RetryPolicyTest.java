package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  final RetryPolicy policy = new RetryPolicy(Duration.ofSeconds(60), Duration.ofHours(1));
  final Instant now = Instant.parse("2026-11-29T12:00:00Z");

  /** Each attempt's wait after {@code reply} is the doubling backoff from a minute, capped at an hour, ±20%. */
  void assertBackoff(String reply) {
    for (int attempts = 1; attempts <= 10; attempts++) {
      long expected = Math.min(60L << (attempts - 1), 3600) * 1000;
      long wait = Duration.between(now, policy.next(attempts, now, reply)).toMillis();
      assertTrue(wait >= expected * 0.8 && wait <= expected * 1.2, attempts + ": " + wait);
    }
  }

  @Test
  void backoffDoublesWithJitterUpToTheMaximum() {
    assertBackoff("451 4.3.0 try later");
  }

  @Test
  void theServersOwnWaitIsHonouredUpToTheMaximum() {
    assertEquals(Duration.ofSeconds(120), RetryPolicy.hint("421 4.7.0 Try again in 120 seconds"));
    assertEquals(Duration.ofMinutes(5), RetryPolicy.hint("450 4.2.0 Greylisted, please retry after 5 minutes"));
    assertEquals(Duration.ofMinutes(5), RetryPolicy.hint("451 4.7.1 Greylisting in action, please come back in 00:05:00"));
    assertEquals(Duration.ofHours(1).plusSeconds(30), RetryPolicy.hint("451 come back in 01:00:30"));
    assertEquals(Duration.ofSeconds(1), RetryPolicy.hint("421 try again in 0 s"));
    assertNull(RetryPolicy.hint("451 4.3.0 Temporary local problem"));
    assertNull(RetryPolicy.hint(null));
    assertEquals(now.plus(Duration.ofMinutes(5)),
        policy.next(1, now, "451 4.7.1 Greylisting in action, please come back in 00:05:00"));
    assertEquals(now.plus(Duration.ofHours(1)), policy.next(1, now, "421 try again in 5 hours"), "capped");
  }

  /** A short wait asked for at every attempt does not undo the backoff (RFC 5321 4.5.4.1: at least 30 minutes). */
  @Test
  void aShorterWaitThanTheBackoffDoesNotShortenIt() {
    assertBackoff("451 4.7.1 try again in 1 second");
  }
}
