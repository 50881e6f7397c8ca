package io.mailgate.send;

import java.nio.ByteBuffer;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Ids in SES's shape ({@code 0100018c...-<uuid>-000000}): time first, so ids sort by creation,
 * then 122 random bits, so nodes never collide without coordinating. The bits are a cryptographic generator's, one per
 * thread (DRBG: no lock, no system call): a fast generator's outputs tell its next ones, and an account reading its own
 * MessageIds would know the ids of the next messages of others made on that event loop, which feedback reports are
 * matched by.
 */
public final class MessageIds {
  private static final Pattern SHAPE = Pattern.compile(
      "0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000");

  private MessageIds() {}

  /** One cryptographic generator per thread; MIME boundaries take theirs from it too. */
  static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(() -> {
    try {
      return SecureRandom.getInstance("DRBG");
    } catch (NoSuchAlgorithmException e) {
      return new SecureRandom();
    }
  });
  private static final ThreadLocal<byte[]> BITS = ThreadLocal.withInitial(() -> new byte[16]);

  /**
   * True when {@code id} has the shape {@link #next} gives every id: anything else names no message, and need not
   * reach the database (where a NUL in it would be an error rather than no row).
   */
  public static boolean isWellFormed(String id) {
    return id != null && SHAPE.matcher(id).matches();
  }

  public static String next(Instant at) {
    byte[] bits = BITS.get();
    RANDOM.get().nextBytes(bits);
    ByteBuffer b = ByteBuffer.wrap(bits);
    UUID uuid = new UUID((b.getLong() & ~0xF000L) | 0x4000L, (b.getLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L);
    return prefix(at) + "-" + uuid + "-000000";
  }

  /**
   * The time part of the ids made at {@code at}: every id made before that millisecond sorts below
   * it, and every id made at or after it above. Before 1970 that is the least prefix: a negative time's hex (16 digits
   * of ffff...) would sort above every id, and a range "below the prefix" (the retention sweep's, for a
   * {@code retention.days} reaching back before 1970) would then be the whole primary key.
   */
  public static String prefix(Instant at) {
    String millis = Long.toHexString(Math.max(0, at.toEpochMilli()));
    return "0100" + "0".repeat(Math.max(0, 12 - millis.length())) + millis;
  }
}
