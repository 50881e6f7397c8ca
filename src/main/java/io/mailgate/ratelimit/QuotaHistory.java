package io.mailgate.ratelimit;

import io.vertx.core.Future;
import java.util.Map;

/**
 * What an account sent in the last 24 hours as PostgreSQL recorded it, for a rolling count Redis no longer holds (a
 * Redis restarted without persistence, a failover to an empty replica, a flushed database): without it every account's
 * Max24HourSend would start again from zero.
 */
@FunctionalInterface
public interface QuotaHistory {
  /**
   * Recipients that count against Max24HourSend (not the mailbox simulator's) of the account's messages accepted in the
   * last 24 hours and 5 minutes, by five-minute bucket (epoch seconds / 300), the newest {@code limit} of them at most:
   * an account already past its quota need not be counted further.
   */
  Future<Map<Long, Long>> sentByBucket(String accountId, long limit);
}
