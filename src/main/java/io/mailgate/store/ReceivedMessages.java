package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * What SES v1 SendBounce reads of a message an account received ({@code received_messages}, written with the message
 * by the receiving server before its 250, and deleted by {@link RetentionVerticle} once past {@link #BOUNCE_WINDOW}).
 */
public final class ReceivedMessages {
  /** SES: a received message may be bounced up to 24 hours after it arrived. */
  public static final Duration BOUNCE_WINDOW = Duration.ofHours(24);

  /**
   * A received message's id begins with this many characters of the time it arrived ({@link #timePrefix}): 9 digits
   * of base 36 milliseconds last until the year 5188.
   */
  public static final int TIME_CHARS = 9;
  /** The last time {@link #TIME_CHARS} base-36 digits hold ("zzzzzzzzz"). */
  private static final long MAX_MILLIS = 101_559_956_668_415L;

  /** The first {@link #TIME_CHARS} characters of the ids of messages that arrive at {@code millis}. */
  public static String timePrefix(long millis) {
    String time = Long.toString(Math.min(Math.max(0, millis), MAX_MILLIS), 36);
    return "0".repeat(TIME_CHARS - time.length()) + time;
  }

  /**
   * A received message as SendBounce needs it.
   *
   * @param reversePath its envelope sender, empty for a null reverse-path
   * @param recipients the account's recipients of it (those its receipt rules accepted)
   * @param headers its header section, Mailgate's Return-Path and Received first
   */
  public record Received(String messageId, String reversePath, List<String> recipients, byte[] headers,
      Instant receivedAt) {}

  static final String FIND = """
      SELECT reverse_path, recipients, headers, received_at FROM received_messages
      WHERE account_id = $1 AND message_id = $2 AND received_at >= $3""";

  private final Pool pool;

  public ReceivedMessages(Pool pool) {
    this.pool = pool;
  }

  /** The message {@code accountId} received under {@code messageId} within the window before {@code now}, if any. */
  public Future<Optional<Received>> find(String accountId, String messageId, Instant now) {
    return pool.preparedQuery(FIND)
        .execute(Tuple.of(accountId, messageId, Timestamps.utc(now.minus(BOUNCE_WINDOW))))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new Received(messageId, r.getString(0), Arrays.asList(r.getArrayOfStrings(1)),
              r.getBuffer(2).getBytes(), r.getOffsetDateTime(3).toInstant()));
        });
  }
}
