package io.mailgate.store;

import io.mailgate.ratelimit.QuotaHistory;
import io.mailgate.send.SendAuthorization;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.HashMap;
import java.util.Map;

/**
 * An account's accepted recipients of the last 24 hours by five-minute bucket, read from the messages they were
 * accepted with: what the rate limiter seeds a 24-hour count from when Redis lost it.
 */
public final class SendingHistory implements QuotaHistory {
  /**
   * The newest {@code $2} recipients of the account's messages of the last 24 hours and 5 minutes (the longest a send
   * counts), the simulator's left out as they are at acceptance: walked newest first on
   * {@code messages_account_created}, each message's recipients by its key ({@link Database#INDEX_SCAN_ONLY}).
   */
  static final String SENT = """
      SELECT floor(extract(epoch FROM created_at) / 300)::bigint, count(*)
      FROM (SELECT m.created_at FROM messages m JOIN recipients r ON r.message_id = m.id
            WHERE m.account_id = $1 AND m.created_at > now() - interval '1445 minutes'
              AND lower(substring(r.address from '[^@]*$')) <> $3
            ORDER BY m.created_at DESC LIMIT $2) sent
      GROUP BY 1""";

  private final Pool pool;

  public SendingHistory(Pool pool) {
    this.pool = pool;
  }

  @Override
  public Future<Map<Long, Long>> sentByBucket(String accountId, long limit) {
    return Database.indexScansOnly(pool, conn -> conn.preparedQuery(SENT).execute(Tuple.of(accountId, limit,
            SendAuthorization.SIMULATOR_DOMAIN)))
        .map(rows -> {
          Map<Long, Long> out = new HashMap<>();
          for (Row r : rows) {
            out.put(r.getLong(0), r.getLong(1));
          }
          return out;
        });
  }
}
