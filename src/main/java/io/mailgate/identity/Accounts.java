package io.mailgate.identity;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * Account and access key administration: what {@code mailgate admin} does against a node's
 * database. New accounts start in the sandbox, as in SES.
 */
public final class Accounts {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  private static final String SECRET_ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  /** A new access key; the secret is shown once and stored only encrypted. */
  public record NewKey(String accountId, String accessKeyId, String secretAccessKey) {}

  /**
   * An account row as stored (its own limits, not the sandbox's); {@code sendingEnabled}: whether it sends, no pause
   * holding; {@code productionAccessRequested}: its owner asked for production access (PutAccountDetails), which only
   * an operator grants; {@code pausedBy}: who holds a pause of its sending (empty while it sends), in the order
   * {@link #update} lifts them: "operator", "reputation" (a shutdown, which only an operator lifts too), "owner"
   * (PutAccountSendingAttributes).
   */
  public record AccountRow(String id, String name, double maxSendRate, long max24HourSend, boolean sendingEnabled,
      boolean productionAccess, String createdAt, boolean productionAccessRequested, List<String> pausedBy) {}

  /** A key without its secret. */
  public record KeyRow(String accessKeyId, String accountId, boolean enabled, String createdAt) {}

  private final Pool pool;
  private final SecretBox secrets;

  public Accounts(Pool pool, SecretBox secrets) {
    this.pool = pool;
    this.secrets = secrets;
  }

  public static String newAccountId() {
    StringBuilder sb = new StringBuilder(12);
    sb.append((char) ('1' + RANDOM.nextInt(9)));
    for (int i = 1; i < 12; i++) {
      sb.append((char) ('0' + RANDOM.nextInt(10)));
    }
    return sb.toString();
  }

  public static String newAccessKeyId() {
    StringBuilder sb = new StringBuilder("AKIA");
    for (int i = 0; i < 16; i++) {
      sb.append(KEY_ALPHABET.charAt(RANDOM.nextInt(KEY_ALPHABET.length())));
    }
    return sb.toString();
  }

  public static String newSecret() {
    StringBuilder sb = new StringBuilder(40);
    for (int i = 0; i < 40; i++) {
      sb.append(SECRET_ALPHABET.charAt(RANDOM.nextInt(SECRET_ALPHABET.length())));
    }
    return sb.toString();
  }

  /** Creates an account and its first access key. */
  public Future<NewKey> create(String name, double maxSendRate, long max24HourSend, boolean production) {
    String id = newAccountId();
    return pool.withTransaction(conn -> conn.preparedQuery(
                "INSERT INTO accounts (id, name, max_send_rate, max_24h_send, sending_enabled, production_access) "
                    + "VALUES ($1, $2, $3, $4, true, $5)")
            .execute(Tuple.of(id, name, maxSendRate, max24HourSend, production))
            .compose(r -> insertKey(conn, id, newAccessKeyId(), newSecret())));
  }

  public Future<NewKey> createKey(String accountId) {
    return requireAccount(accountId).compose(v -> insertKey(pool, accountId, newAccessKeyId(), newSecret()));
  }

  private Future<NewKey> insertKey(SqlClient client, String accountId, String keyId, String secret) {
    return client.preparedQuery(
            "INSERT INTO access_keys (access_key_id, account_id, secret, enabled) VALUES ($1, $2, $3, true)")
        .execute(Tuple.of(keyId, accountId, Buffer.buffer(secrets.encryptString(secret, keyId))))
        .map(r -> new NewKey(accountId, keyId, secret));
  }

  /**
   * Creates or replaces an account with a given key (start-dev's default account, at every start). Its name and limits
   * are the configured ones; whether it sends is left as it is, like any other state of the account: its owner's pause
   * (PutAccountSendingAttributes), an operator's and a reputation shutdown all hold across restarts. A key an operator
   * disabled stays disabled.
   */
  public Future<Void> upsert(Account a, String accessKeyId, String secret) {
    return pool.withTransaction(conn -> conn.preparedQuery(
                "INSERT INTO accounts (id, name, max_send_rate, max_24h_send, sending_enabled, production_access) "
                    + "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
                    + "max_send_rate = EXCLUDED.max_send_rate, max_24h_send = EXCLUDED.max_24h_send, "
                    + "production_access = EXCLUDED.production_access")
            .execute(Tuple.of(a.id(), a.name(), a.maxSendRate(), a.max24HourSend(), a.sendingEnabled(),
                a.productionAccess()))
            .compose(r -> conn.preparedQuery(
                    "INSERT INTO access_keys (access_key_id, account_id, secret, enabled) VALUES ($1, $2, $3, true) "
                        + "ON CONFLICT (access_key_id) DO UPDATE SET account_id = EXCLUDED.account_id, "
                        + "secret = EXCLUDED.secret")
                .execute(Tuple.of(accessKeyId, a.id(), Buffer.buffer(secrets.encryptString(secret, accessKeyId))))))
        .mapEmpty();
  }

  public Future<List<AccountRow>> list() {
    return pool.query("SELECT " + ROW_COLUMNS + " FROM accounts a WHERE a.id <> 'system' "
            + "ORDER BY a.created_at, a.id").execute()
        .map(rows -> {
          List<AccountRow> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(row(r));
          }
          return out;
        });
  }

  private static final String ROW_COLUMNS = "a.id, a.name, a.max_send_rate, a.max_24h_send, a.sending_enabled, "
      + "a.production_access, a.created_at, a.production_access_requested, a.paused_by_operator, a.enforcement_status";

  /**
   * An {@link AccountRow} from {@link #ROW_COLUMNS}: it sends while none of its operator, reputation enforcement and
   * its owner paused it (as {@link AccountDirectory#ACCOUNT_COLUMNS} reads it).
   */
  private static AccountRow row(Row r) {
    List<String> pausedBy = new ArrayList<>(3);
    if (r.getBoolean(8)) {
      pausedBy.add("operator");
    }
    if ("SHUTDOWN".equals(r.getString(9))) {
      pausedBy.add("reputation");
    }
    if (!r.getBoolean(4)) {
      pausedBy.add("owner");
    }
    return new AccountRow(r.getString(0), r.getString(1), r.getDouble(2), r.getLong(3), pausedBy.isEmpty(),
        r.getBoolean(5), r.getOffsetDateTime(6).toString(), r.getBoolean(7), List.copyOf(pausedBy));
  }

  public Future<List<KeyRow>> keys(String accountIdOrNull) {
    return pool.preparedQuery("SELECT access_key_id, account_id, enabled, created_at FROM access_keys "
            + "WHERE $1::text IS NULL OR account_id = $1 ORDER BY account_id, created_at").execute(Tuple.of(accountIdOrNull))
        .map(rows -> {
          List<KeyRow> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(new KeyRow(r.getString(0), r.getString(1), r.getBoolean(2), r.getOffsetDateTime(3).toString()));
          }
          return out;
        });
  }

  public Future<Void> setKeyEnabled(String accessKeyId, boolean enabled) {
    return pool.preparedQuery("UPDATE access_keys SET enabled = $2 WHERE access_key_id = $1")
        .execute(Tuple.of(accessKeyId, enabled))
        .compose(r -> r.rowCount() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new IllegalArgumentException("no access key " + accessKeyId)));
  }

  /**
   * Changes an account's limits and flags, null leaving a value as it is, and answers the account as it is then.
   * {@code sendingEnabled} is the operator's pause, stored apart from the owner's choice (PutAccountSendingAttributes)
   * and from a reputation shutdown ({@code enforcement_status}, {@code ReputationVerticle}):
   * <ul>
   *   <li>false pauses the account, the owner's choice as it was; its owner cannot lift that pause, as with a pause AWS
   *       imposes in SES;
   *   <li>true, while the operator's pause holds, lifts it and nothing else: the owner's own pause, made before or
   *       during the operator's, still holds, and so does a reputation shutdown (lifted by the next true);
   *   <li>true, no operator's pause holding but a shutdown, lifts the shutdown and nothing else: a pause the owner
   *       made before or during it still holds (lifted by the owner, or the next true);
   *   <li>true, neither holding, enables the account's sending outright: out of a pause its owner made (or one made
   *       before Mailgate recorded who paused).
   * </ul>
   * Resuming (lifting the operator's pause of an account not shut down; lifting a shutdown; or, neither holding,
   * resuming a paused one) also clears its reputation status and starts a fresh reputation window;
   * {@code sendingEnabled} true for an account that was sending changes neither: passed along with another change
   * ({@code account set <id> --max-send-rate 50 --sending true}), it would wipe a PROBATION and what led to it.
   */
  public Future<AccountRow> update(String accountId, Double maxSendRate, Long max24HourSend, Boolean production,
      Boolean sendingEnabled) {
    // the old row's values, in SET: whether this resumes the account
    String resumes = "$5 AND CASE WHEN a.paused_by_operator THEN a.enforcement_status <> 'SHUTDOWN' "
        + "ELSE NOT a.sending_enabled OR a.enforcement_status = 'SHUTDOWN' END";
    return pool.preparedQuery("UPDATE accounts a SET max_send_rate = coalesce($2, a.max_send_rate), "
            + "max_24h_send = coalesce($3, a.max_24h_send), production_access = coalesce($4, a.production_access), "
            + "sending_enabled = CASE WHEN $5 AND NOT a.paused_by_operator AND a.enforcement_status <> 'SHUTDOWN' "
            + "THEN true ELSE a.sending_enabled END, "
            + "paused_by_operator = coalesce(NOT $5, a.paused_by_operator), "
            + "enforcement_status = CASE WHEN " + resumes + " THEN 'HEALTHY' ELSE a.enforcement_status END, "
            + "reputation_since = CASE WHEN " + resumes + " THEN now() ELSE a.reputation_since END, "
            // what the bucket the resume falls in holds by now is before the fresh window (V23)
            + "reputation_base_sent = CASE WHEN " + resumes + " THEN coalesce(b.sent, 0) "
            + "ELSE a.reputation_base_sent END, "
            + "reputation_base_hard_bounces = CASE WHEN " + resumes + " THEN coalesce(b.hard_bounces, 0) "
            + "ELSE a.reputation_base_hard_bounces END, "
            + "reputation_base_complaints = CASE WHEN " + resumes + " THEN coalesce(b.complaints, 0) "
            + "ELSE a.reputation_base_complaints END "
            + "FROM (SELECT NULL) AS one LEFT JOIN reputation_buckets b ON b.account_id = $1 "
            + "AND b.bucket = to_timestamp(floor(extract(epoch FROM now()) / 300) * 300) "
            + "WHERE a.id = $1 AND a.id <> 'system' RETURNING " + ROW_COLUMNS)
        .execute(Tuple.of(accountId, maxSendRate, max24HourSend, production, sendingEnabled))
        .compose(rows -> rows.size() == 1 ? Future.succeededFuture(row(rows.iterator().next()))
            : Future.failedFuture(new IllegalArgumentException("no account " + accountId)));
  }

  /**
   * Where an account's webhook secret is: its generation, and until when the previous generation still signs too
   * (null: it does not).
   */
  public record WebhookSecretState(int generation, java.time.Instant previousUntil) {}

  public Future<WebhookSecretState> webhookSecret(String accountId) {
    return pool.preparedQuery("SELECT webhook_secret_generation, webhook_previous_until FROM accounts "
            + "WHERE id = $1 AND id <> 'system'").execute(Tuple.of(accountId))
        .compose(rows -> rows.size() == 1 ? Future.succeededFuture(state(rows.iterator().next()))
            : Future.failedFuture(new IllegalArgumentException("no account " + accountId)));
  }

  /**
   * Moves the account to the next generation of its webhook secret; events are signed with the previous one too for
   * {@code graceHours} (0: not at all), so receivers can change theirs meanwhile. Refused while a rotation's grace
   * period runs (the secret before it would stop verifying at once), unless {@code force}.
   */
  public Future<WebhookSecretState> rotateWebhookSecret(String accountId, int graceHours, boolean force) {
    return pool.preparedQuery("UPDATE accounts SET webhook_secret_generation = webhook_secret_generation + 1, "
            + "webhook_previous_until = CASE WHEN $2 > 0 THEN now() + $2 * interval '1 hour' END "
            + "WHERE id = $1 AND id <> 'system' AND ($3 OR webhook_previous_until IS NULL OR webhook_previous_until <= now()) "
            + "RETURNING webhook_secret_generation, webhook_previous_until")
        .execute(Tuple.of(accountId, graceHours, force))
        .compose(rows -> rows.size() == 1 ? Future.succeededFuture(state(rows.iterator().next()))
            : webhookSecret(accountId).compose(s -> Future.failedFuture(new IllegalArgumentException(
                "account " + accountId + " is in a rotation's grace period until " + s.previousUntil()
                    + ": rotating again now would stop the secret before it at once (--force does it anyway)"))));
  }

  private static WebhookSecretState state(Row r) {
    return new WebhookSecretState(r.getInteger(0), r.getOffsetDateTime(1) == null ? null
        : r.getOffsetDateTime(1).toInstant());
  }

  private Future<Void> requireAccount(String accountId) {
    return pool.preparedQuery("SELECT 1 FROM accounts WHERE id = $1 AND id <> 'system'").execute(Tuple.of(accountId))
        .compose(r -> r.size() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new IllegalArgumentException("no account " + accountId)));
  }
}
