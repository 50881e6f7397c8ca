package io.mailgate.delivery;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When to try a soft-failed recipient again: exponential backoff from {@code base} (about a
 * minute), doubling up to {@code max}, with ±20% jitter so retries of a burst do not arrive
 * together; a longer "try again in N seconds" (or milter-greylist's "come back in 00:05:00") in the server's
 * reply is honoured instead.
 */
public record RetryPolicy(Duration base, Duration max) {
  private static final Pattern HINT = Pattern.compile(
      "(?:try|retry|again|come back)[^0-9]{0,20}?(?:in|after)\\s+(?:(\\d{1,6})\\s*(s|sec|secs|seconds?|m|min|mins|minutes?"
          + "|h|hours?)\\b|(\\d{1,2}):(\\d{2}):(\\d{2})\\b)");

  /** The time of the next attempt after {@code attempts} attempts, the last answered by {@code reply}. */
  public Instant next(int attempts, Instant now, String reply) {
    double exponential = base.toMillis() * Math.pow(2, Math.max(0, attempts - 1));
    double capped = Math.min(exponential, max.toMillis());
    long jittered = (long) (capped * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble()));
    Duration hint = hint(reply);
    if (hint != null && hint.toMillis() > jittered) {
      // a longer wait the server asked for is honoured; a shorter one does not undo the backoff (a server that
      // says "try again in 1 second" at every attempt would otherwise be tried every second)
      return now.plus(hint.compareTo(max) > 0 ? max : hint);
    }
    return now.plusMillis(jittered);
  }

  /** A wait the server asked for, e.g. "421 4.7.0 Try again in 120 seconds", or null. */
  static Duration hint(String reply) {
    if (reply == null) {
      return null;
    }
    Matcher m = HINT.matcher(reply.toLowerCase(Locale.ROOT));
    if (!m.find()) {
      return null;
    }
    Duration d;
    if (m.group(1) != null) {
      long n = Long.parseLong(m.group(1));
      char unit = m.group(2).charAt(0);
      d = unit == 'h' ? Duration.ofHours(n) : unit == 'm' ? Duration.ofMinutes(n) : Duration.ofSeconds(n);
    } else {
      d = Duration.ofHours(Long.parseLong(m.group(3))).plusMinutes(Long.parseLong(m.group(4)))
          .plusSeconds(Long.parseLong(m.group(5)));
    }
    return d.isZero() ? Duration.ofSeconds(1) : d;
  }
}
