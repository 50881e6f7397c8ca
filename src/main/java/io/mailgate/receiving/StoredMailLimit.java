package io.mailgate.receiving;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Whether an account's S3 actions have filled its share of the database ({@code receiving.maxStoredBytesPerAccount}):
 * mail to a tenant's receiving domain comes from anyone on the internet, and without a bound one sender could fill
 * the disk the whole service writes to. A recipient whose rules would store the message for a full account is
 * answered {@link #FULL} (452 4.2.2, mailbox full): the sending server keeps the message and tries again, and it
 * arrives once the account deletes objects (the S3 API) or the retention sweep ({@code receiving.retentionDays}) made
 * room. What the account keeps is counted by triggers in {@code received_usage}; this reads it, cached for a second at
 * most (one query per account and second), so an account may pass its limit by what arrives in that second.
 */
public final class StoredMailLimit {
  /** The reply to a recipient whose account has no room left: temporary, as a full mailbox is (RFC 3463 4.2.2). */
  public static final io.mailgate.smtp.SmtpReply FULL = new io.mailgate.smtp.SmtpReply(452, "4.2.2",
      "Mailbox full: the recipient's stored mail is at its limit; try again later");

  private static final String USAGE = "SELECT coalesce(sum(bytes), 0) FROM received_usage WHERE account_id = $1";
  private static final int MAX_ENTRIES = 10_000;
  static final long MAX_TTL_MILLIS = 1_000;

  private record Cached(Future<Boolean> full, long until) {}

  private final Pool db;
  private final Clock clock;
  private final long maxBytes;
  private final long ttlMillis;
  /** Least recently used first; a query under way is cached too, so the recipients meanwhile share it. */
  private final Map<String, Cached> byAccount = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
      return size() > MAX_ENTRIES;
    }
  };

  /**
   * {@code maxBytes}: what an account may keep, 0 for no limit; {@code ttlMillis}: how long an account's usage is
   * cached (the node's cache TTL), a second at most.
   */
  public StoredMailLimit(Pool db, Clock clock, long maxBytes, long ttlMillis) {
    this.db = db;
    this.clock = clock;
    this.maxBytes = maxBytes;
    this.ttlMillis = Math.min(ttlMillis, MAX_TTL_MILLIS);
  }

  /** Whether the account keeps as much received mail as it may, or more. */
  public Future<Boolean> full(String accountId) {
    if (maxBytes <= 0) {
      return Future.succeededFuture(false);
    }
    long now = clock.millis();
    Cached c = byAccount.get(accountId);
    if (c != null && c.until() > now) {
      return c.full();
    }
    Future<Boolean> loading = db.preparedQuery(USAGE).execute(Tuple.of(accountId))
        .map(rows -> rows.iterator().next().getLong(0) >= maxBytes);
    Cached entry = new Cached(loading, now + ttlMillis);
    byAccount.put(accountId, entry);
    loading.onFailure(e -> byAccount.remove(accountId, entry));
    return loading;
  }
}
