package io.mailgate.send;

import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ids in SES's shape ({@code 0100018c...-<uuid>-000000}): time first, so ids sort by creation,
 * then 122 random bits, so nodes never collide without coordinating.
 */
public final class MessageIds {
  private MessageIds() {}

  public static String next(Instant at) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    UUID uuid = new UUID((r.nextLong() & ~0xF000L) | 0x4000L, (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L);
    return prefix(at) + "-" + uuid + "-000000";
  }

  /**
   * The time part of the ids made at {@code at}: every id made before that millisecond sorts below
   * it, and every id made at or after it above.
   */
  public static String prefix(Instant at) {
    String millis = Long.toHexString(at.toEpochMilli());
    return "0100" + "0".repeat(Math.max(0, 12 - millis.length())) + millis;
  }
}
