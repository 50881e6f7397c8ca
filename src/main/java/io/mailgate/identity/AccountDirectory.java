package io.mailgate.identity;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Finds the account behind an access key. Lookups are cached per verticle instance for a short
 * time so the send path does not pay a database round trip per request; a disabled key or changed
 * limit takes effect within {@link #TTL_MILLIS}.
 */
public final class AccountDirectory {
  static final long TTL_MILLIS = 10_000;

  private record Cached(Optional<AccessKey> key, long expiresAt) {}

  private final Pool pool;
  private final Clock clock;
  private final Map<String, Cached> cache = new HashMap<>();
  private final Map<String, Future<Optional<AccessKey>>> inFlight = new HashMap<>();

  public AccountDirectory(Pool pool, Clock clock) {
    this.pool = pool;
    this.clock = clock;
  }

  public Future<Optional<AccessKey>> byAccessKey(String accessKeyId) {
    long now = clock.millis();
    Cached c = cache.get(accessKeyId);
    if (c != null && c.expiresAt() > now) {
      return Future.succeededFuture(c.key());
    }
    Future<Optional<AccessKey>> pending = inFlight.get(accessKeyId);
    if (pending != null) {
      return pending; // a burst of requests with a cold cache makes one query
    }
    Future<Optional<AccessKey>> f = pool.preparedQuery(
            "SELECT k.access_key_id, k.secret, k.enabled, a.id, a.name, a.max_send_rate, a.max_24h_send, "
                + "a.sending_enabled, a.production_access FROM access_keys k JOIN accounts a ON a.id = k.account_id "
                + "WHERE k.access_key_id = $1")
        .execute(Tuple.of(accessKeyId))
        .map(rows -> rows.size() == 0 ? Optional.<AccessKey>empty() : Optional.of(toKey(rows.iterator().next())));
    inFlight.put(accessKeyId, f);
    return f.andThen(ar -> {
      inFlight.remove(accessKeyId);
      if (ar.succeeded()) {
        if (cache.size() > 10_000) {
          cache.clear();
        }
        cache.put(accessKeyId, new Cached(ar.result(), clock.millis() + TTL_MILLIS));
      }
    });
  }

  private static AccessKey toKey(Row r) {
    Account account = new Account(r.getString(3), r.getString(4), r.getDouble(5), r.getLong(6), r.getBoolean(7),
        r.getBoolean(8));
    return new AccessKey(r.getString(0), r.getString(1), r.getBoolean(2), account);
  }

  /** Creates or updates an account and one access key for it (start-dev's default account). */
  public static Future<Void> upsert(Pool pool, Account a, String accessKeyId, String secret) {
    return pool.withTransaction(conn -> conn.preparedQuery(
                "INSERT INTO accounts (id, name, max_send_rate, max_24h_send, sending_enabled, production_access) "
                    + "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
                    + "max_send_rate = EXCLUDED.max_send_rate, max_24h_send = EXCLUDED.max_24h_send, "
                    + "sending_enabled = EXCLUDED.sending_enabled, production_access = EXCLUDED.production_access")
            .execute(Tuple.of(a.id(), a.name(), a.maxSendRate(), a.max24HourSend(), a.sendingEnabled(),
                a.productionAccess()))
            .compose(r -> conn.preparedQuery(
                    "INSERT INTO access_keys (access_key_id, account_id, secret, enabled) VALUES ($1, $2, $3, true) "
                        + "ON CONFLICT (access_key_id) DO UPDATE SET account_id = EXCLUDED.account_id, "
                        + "secret = EXCLUDED.secret, enabled = true")
                .execute(Tuple.of(accessKeyId, a.id(), secret))))
        .mapEmpty();
  }
}
