package io.mailgate.ratelimit;

import io.vertx.core.Future;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What the accounts sent in the last 24 hours as PostgreSQL recorded it, to count again what a Redis that lost its
 * data no longer holds (restarted without persistence, failed over to an empty replica, flushed): without it every
 * account's Max24HourSend would start again from zero.
 */
@FunctionalInterface
public interface QuotaHistory {
  /**
   * By account, then by five-minute bucket (epoch seconds / 300): the recipients that count against Max24HourSend
   * (not the mailbox simulator's) of the messages accepted in the last 24 hours and 5 minutes. A count that takes
   * long is done in parts (a few of them at once): {@code counting} is called before a part that follows another (and
   * waited for), to say the count goes on; its failure ends the count.
   */
  Future<Map<String, Map<Long, Long>>> sentLastDay(Supplier<Future<?>> counting);
}
