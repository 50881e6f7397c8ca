package io.mailgate.configset;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.feedback.ValidationThreshold;
import io.mailgate.store.Database;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** SQL for configuration sets; every query is scoped to one account. */
public final class ConfigurationSetStore {
  private static final String COLUMNS =
      "account_id, name, tls_policy, max_delivery_seconds, sending_enabled, suppressed_reasons, tags, sending_pool_name, "
      + "redirect_domain, https_policy, " + tracks("Open") + ", " + tracks("Click")
      + ", validation_enabled, validation_threshold, engagement_metrics, signing_scheme";

  /** Whether an enabled destination of the set (row {@code c}) takes events of this type: tracking is wanted. */
  private static String tracks(String type) {
    return "EXISTS (SELECT 1 FROM event_destinations d WHERE d.account_id = c.account_id AND d.configuration_set = "
        + "c.name AND d.enabled AND '" + type + "' = ANY(d.event_types))";
  }

  /** SES's quota of configuration sets per account (per region, there). */
  public static final int MAX_PER_ACCOUNT = 10_000;

  /** The first key of the advisory locks that put one account's set creations in turn: "CSet". */
  private static final int CREATE_LOCK = 0x43536574;

  private final Pool pool;

  public ConfigurationSetStore(Pool pool) {
    this.pool = pool;
  }

  /** Stores a new set: ALREADY_EXISTS when the name is taken, LIMIT_EXCEEDED when the account has its quota. */
  public Future<Void> create(ConfigurationSet c) {
    // the quota and the insert in one statement; a set of the same name fails on the key first (AlreadyExists).
    // Creations of one account take turns (an advisory lock): two at once would each count the other's as not there
    return Database.inTurn(pool, CREATE_LOCK, c.accountId(), conn -> conn.preparedQuery(
            "INSERT INTO configuration_sets (account_id, name, tls_policy, max_delivery_seconds, sending_enabled, "
                + "suppressed_reasons, tags, sending_pool_name, redirect_domain, https_policy, validation_enabled, "
                + "validation_threshold, engagement_metrics, signing_scheme) "
                + "SELECT $1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $12, $13, $14, $15 "
                + "WHERE (SELECT count(*) FROM configuration_sets WHERE account_id = $1 AND name <> $2) < $11")
        .execute(Tuple.from(new Object[] {c.accountId(), c.name(), c.tlsPolicy(), c.maxDeliverySeconds(),
            c.sendingEnabled(), c.suppressedReasons() == null ? null : c.suppressedReasons().toArray(String[]::new),
            c.tags() == null ? "[]" : c.tags().encode(), c.sendingPoolName(), c.redirectDomain(), c.httpsPolicy(),
            MAX_PER_ACCOUNT, c.validation() == null ? null : c.validation().enabled(),
            c.validation() == null ? null : c.validation().threshold(), c.engagementMetrics(), c.signingScheme()})))
        .recover(e -> Future.failedFuture(e instanceof PgException pg && "23505".equals(pg.getSqlState())
            ? new SesException(SesError.CONFIGURATION_SET_ALREADY_EXISTS,
                "Configuration set <" + c.name() + "> already exists.") : e))
        .compose(r -> r.rowCount() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED,
                "An account may have at most " + MAX_PER_ACCOUNT + " configuration sets; delete one first.")));
  }

  public Future<Optional<ConfigurationSet>> find(String accountId, String name) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM configuration_sets c WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(toSet(rows.iterator().next())));
  }

  /**
   * The set a queued message was sent with, as delivery reads it: the set, or, once it is deleted, the delivery options
   * it had ({@code deleted_configuration_sets}): a message sent with TlsPolicy REQUIRE does not go in plain text
   * because its set was deleted while it waited, nor leave its sending pool or its MaxDeliverySeconds.
   */
  public Future<Optional<ConfigurationSet>> findForDelivery(String accountId, String name) {
    return find(accountId, name).compose(live -> live.isPresent() ? Future.succeededFuture(live)
        : pool.preparedQuery("SELECT tls_policy, max_delivery_seconds, sending_pool_name FROM deleted_configuration_sets "
                + "WHERE account_id = $1 AND name = $2")
            .execute(Tuple.of(accountId, name))
            .map(rows -> rows.size() == 0 ? Optional.<ConfigurationSet>empty() : Optional.of(deleted(accountId, name,
                rows.iterator().next()))));
  }

  private static ConfigurationSet deleted(String accountId, String name, Row r) {
    return new ConfigurationSet(accountId, name, r.getString(0), r.getInteger(1), r.getString(2), true, null,
        new JsonArray(), null, null, false, false, null, null, null);
  }

  /** Up to {@code limit} sets by name after {@code after} (null: from the first); with a name that contains
   * {@code nameContains} (null: any). */
  public Future<List<ConfigurationSet>> page(String accountId, String after, int limit, String nameContains) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM configuration_sets c WHERE account_id = $1 "
            + "AND ($2::text IS NULL OR name > $2) AND ($4::text IS NULL OR strpos(name, $4) > 0) "
            + "ORDER BY name LIMIT $3")
        .execute(Tuple.of(accountId, after, limit, nameContains))
        .map(rows -> {
          List<ConfigurationSet> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(toSet(r));
          }
          return out;
        });
  }

  /**
   * Deletes the set, its event destinations (cascade) and the events waiting for them, and keeps its delivery options
   * for the messages sent with it that are still queued ({@link #findForDelivery}).
   */
  public Future<Boolean> delete(String accountId, String name) {
    return pool.withTransaction(conn -> conn.preparedQuery("DELETE FROM event_outbox WHERE destination_id IN "
            + "(SELECT id FROM event_destinations WHERE account_id = $1 AND configuration_set = $2)")
        .execute(Tuple.of(accountId, name))
        .compose(v -> conn.preparedQuery(DELETE).execute(Tuple.of(accountId, name)))
        .map(r -> r.iterator().next().getLong(0) == 1));
  }

  private static final String DELETE = """
      WITH gone AS (
        DELETE FROM configuration_sets WHERE account_id = $1 AND name = $2
        RETURNING account_id, name, tls_policy, max_delivery_seconds, sending_pool_name
      ), kept AS (
        INSERT INTO deleted_configuration_sets (account_id, name, tls_policy, max_delivery_seconds, sending_pool_name,
                                                deleted_at)
        SELECT account_id, name, tls_policy, max_delivery_seconds, sending_pool_name, now() FROM gone
        ON CONFLICT (account_id, name) DO UPDATE SET tls_policy = excluded.tls_policy,
          max_delivery_seconds = excluded.max_delivery_seconds, sending_pool_name = excluded.sending_pool_name,
          deleted_at = excluded.deleted_at
      )
      SELECT count(*) FROM gone""";

  public Future<Boolean> setDeliveryOptions(String accountId, String name, String tlsPolicy, Integer maxDeliverySeconds,
      String sendingPoolName) {
    return pool.preparedQuery("UPDATE configuration_sets SET tls_policy = $3, max_delivery_seconds = $4, "
            + "sending_pool_name = $5 WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name, tlsPolicy, maxDeliverySeconds, sendingPoolName)).map(r -> r.rowCount() == 1);
  }

  /** The TLS policy alone (v1's delivery options), whatever else a concurrent change sets. */
  /** PutConfigurationSetVdmOptions: its engagement metrics, ENABLED, DISABLED or null (the account's decide). */
  public Future<Boolean> setEngagementMetrics(String accountId, String name, String status) {
    return pool.preparedQuery(
            "UPDATE configuration_sets SET engagement_metrics = $3 WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name, status))
        .map(r -> r.rowCount() == 1);
  }

  /** UpdateConfigurationSet's MessageSecurityOptions: {@link ConfigurationSet#SMIME} or null (DefaultScheme). */
  public Future<Boolean> setSigningScheme(String accountId, String name, String scheme) {
    return pool.preparedQuery("UPDATE configuration_sets SET signing_scheme = $3 WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name, scheme)).map(r -> r.rowCount() == 1);
  }

  public Future<Boolean> setTlsPolicy(String accountId, String name, String tlsPolicy) {
    return pool.preparedQuery("UPDATE configuration_sets SET tls_policy = $3 WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name, tlsPolicy)).map(r -> r.rowCount() == 1);
  }

  /** The tracking links' domain and HTTPS policy (both null: the node's {@code http.publicUrl}). */
  public Future<Boolean> setTrackingOptions(String accountId, String name, String domain, String policy) {
    return pool.preparedQuery("UPDATE configuration_sets SET redirect_domain = $3, https_policy = $4 "
            + "WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name, domain, policy)).map(r -> r.rowCount() == 1);
  }

  public Future<Boolean> setSendingEnabled(String accountId, String name, boolean enabled) {
    return pool.preparedQuery("UPDATE configuration_sets SET sending_enabled = $3 WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name, enabled)).map(r -> r.rowCount() == 1);
  }

  /**
   * PutConfigurationSetSuppressionOptions: the reasons and the Auto Validation setting, each replaced when given (null
   * leaves it as it is: a client that only knows SuppressedReasons does not undo a set's DISABLED, and one that only
   * sets validation does not change the reasons).
   */
  public Future<Boolean> setSuppressionOptions(String accountId, String name, List<String> reasons,
      ValidationThreshold validation) {
    return pool.preparedQuery("UPDATE configuration_sets SET suppressed_reasons = CASE WHEN $6 THEN $3 "
            + "ELSE suppressed_reasons END, "
            + "validation_enabled = CASE WHEN $7 THEN $4 ELSE validation_enabled END, "
            + "validation_threshold = CASE WHEN $7 THEN $5 ELSE validation_threshold END "
            + "WHERE account_id = $1 AND name = $2")
        .execute(Tuple.from(new Object[] {accountId, name,
            reasons == null ? new String[0] : reasons.toArray(String[]::new),
            validation != null && validation.enabled(), validation == null ? null : validation.threshold(),
            reasons != null, validation != null}))
        .map(r -> r.rowCount() == 1);
  }

  private static ConfigurationSet toSet(Row r) {
    String[] reasons = r.getArrayOfStrings(5);
    Object tags = r.getValue(6);
    return new ConfigurationSet(r.getString(0), r.getString(1), r.getString(2), r.getInteger(3), r.getString(7),
        r.getBoolean(4),
        reasons == null ? null : List.of(reasons), tags instanceof JsonArray a ? a : new JsonArray(String.valueOf(tags)),
        r.getString(8), r.getString(9), r.getBoolean(10), r.getBoolean(11),
        ValidationThreshold.of(r.getBoolean(12), r.getString(13)), r.getString(14), r.getString(15));
  }
}
