package io.mailgate.store;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/** Instants as the {@code timestamptz} parameters the pg client takes. */
public final class Timestamps {
  private Timestamps() {}

  /**
   * {@code t} as a timestamptz column keeps it: to the microsecond. What is compared with a stored value later (a
   * recipient's next_attempt_at, its claim's fence) is written so, not left to how the client rounds the nanoseconds.
   */
  public static Instant stored(Instant t) {
    return t.truncatedTo(java.time.temporal.ChronoUnit.MICROS);
  }

  /**
   * {@code t} at UTC, null for null. The same value as {@code OffsetDateTime.ofInstant(t, ZoneOffset.UTC)}, without
   * the zone rules that asks for (a new {@code ZoneRules} object for a fixed offset, every time): this runs for every
   * message and every delivery outcome.
   */
  public static OffsetDateTime utc(Instant t) {
    if (t == null) {
      return null;
    }
    return OffsetDateTime.of(LocalDateTime.ofEpochSecond(t.getEpochSecond(), t.getNano(), ZoneOffset.UTC),
        ZoneOffset.UTC);
  }
}
