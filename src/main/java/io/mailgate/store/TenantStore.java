package io.mailgate.store;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * SES tenants (V34): an account's containers for the resources one of its customers sends with, their associations
 * with identities, configuration sets and templates, and their sending status (the owner's, and the one the tenant's
 * reputation policy sets, which {@code ReputationVerticle} keeps).
 */
public final class TenantStore {

  /** A resource kind a tenant can be associated with: SES's ResourceType, its table and the column naming it. */
  public enum ResourceType {
    EMAIL_IDENTITY("identities", "identity"),
    CONFIGURATION_SET("configuration_sets", "name"),
    EMAIL_TEMPLATE("email_templates", "name");

    private final String table;
    private final String nameColumn;

    ResourceType(String table, String nameColumn) {
      this.table = table;
      this.nameColumn = nameColumn;
    }
  }

  /**
   * A tenant as stored. {@code customerStatus}: the owner's (ENABLED, DISABLED, REINSTATED); {@code managedStatus}: the
   * service's (DISABLED when the reputation policy paused it, {@code managedCause} saying why); {@code impact}: the last
   * reputation check's finding (null, LOW or HIGH).
   */
  public record Tenant(String name, String id, JsonArray tags, Instant createdAt, String policy, String customerStatus,
      Instant customerStatusAt, String managedStatus, String managedCause, Instant managedStatusAt, String impact,
      JsonObject reputation) {

    /**
     * Whether it may send, SES's SendingStatusAggregate: DISABLED while its owner or the service disables it (a
     * reinstatement lifts the service's pause, {@link TenantStore#setCustomerStatus}); else its owner's status,
     * ENABLED or REINSTATED.
     */
    public String sendingStatus() {
      return managedStatus.equals("DISABLED") ? "DISABLED" : customerStatus;
    }
  }

  /**
   * What the send path needs of a tenant: whether it may send, and the names of the resources associated with it
   * (identities as {@code identities.identity} spells them).
   */
  public record SendingView(String name, String id, String sendingStatus, Set<String> identities,
      Set<String> configurationSets, Set<String> templates) {}

  /** A resource associated with a tenant, and since when. */
  public record Association(String tenantName, String tenantId, ResourceType type, String name, Instant at) {}

  /** What an association request found. */
  public enum Associated { DONE, ALREADY, NO_TENANT, NO_RESOURCE }

  private static final String COLUMNS = "name, id, tags, created_at, policy, customer_status, customer_status_at, "
      + "managed_status, managed_cause, managed_status_at, impact, reputation";

  private final Pool pool;

  public TenantStore(Pool pool) {
    this.pool = pool;
  }

  /** A new tenant; AlreadyExists when the account has one of that name. */
  public Future<Tenant> create(String accountId, String name, String id, JsonArray tags) {
    return pool.preparedQuery("INSERT INTO tenants (account_id, name, id, tags) VALUES ($1, $2, $3, $4) RETURNING "
            + COLUMNS).execute(Tuple.of(accountId, name, id, tags))
        .map(rows -> tenant(rows.iterator().next()))
        .recover(e -> Future.failedFuture(e instanceof PgException pg && "23505".equals(pg.getSqlState())
            ? new SesException(SesError.ALREADY_EXISTS, "Tenant " + name + " already exists.") : e));
  }

  public Future<Optional<Tenant>> find(String accountId, String name) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM tenants WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(tenant(rows.iterator().next())));
  }

  /**
   * Up to {@code size} tenants after {@code after} (by name), one more when there are more; {@code status}: only those
   * whose aggregate sending status is this one (null: any); {@code nameContains}: only those whose name contains it.
   */
  public Future<List<Tenant>> page(String accountId, String after, int size, String status, String nameContains) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM tenants WHERE account_id = $1 AND name > $2 "
            + "AND ($4::text IS NULL OR strpos(name, $4) > 0) "
            + "AND ($5::text IS NULL OR $5 = CASE WHEN managed_status = 'DISABLED' THEN 'DISABLED' "
            + "ELSE customer_status END) "
            + "ORDER BY name LIMIT $3")
        .execute(Tuple.of(accountId, after == null ? "" : after, size, nameContains, status))
        .map(rows -> {
          List<Tenant> out = new ArrayList<>();
          rows.forEach(r -> out.add(tenant(r)));
          return out;
        });
  }

  /**
   * Deletes a tenant, its associations and its reputation counters; whether there was one. (Outcomes of its messages
   * still under way count toward its id: they are nobody's, and go with the retention sweep.)
   */
  public Future<Boolean> delete(String accountId, String name) {
    return pool.withTransaction(conn -> conn.preparedQuery("DELETE FROM tenants WHERE account_id = $1 AND name = $2 "
            + "RETURNING id").execute(Tuple.of(accountId, name))
        .compose(gone -> gone.size() == 0 ? Future.succeededFuture(false)
            : conn.preparedQuery("DELETE FROM tenant_reputation_buckets WHERE account_id = $1 AND tenant_id = $2")
                .execute(Tuple.of(accountId, gone.iterator().next().getString(0))).map(true)));
  }

  /**
   * Associates a resource with a tenant, when both exist. The resource's row is locked (key share) while the
   * association is written: a delete of it waits, and its trigger (V34) then removes the association too.
   */
  public Future<Associated> associate(String accountId, String tenant, ResourceType type, String resource) {
    return pool.preparedQuery("WITH t AS (SELECT 1 FROM tenants WHERE account_id = $1 AND name = $2 FOR KEY SHARE), "
            + "r AS (SELECT 1 FROM " + type.table + " WHERE account_id = $1 AND " + type.nameColumn
            + " = $4 FOR KEY SHARE), "
            + "i AS (INSERT INTO tenant_resources (account_id, tenant_name, resource_type, resource_name) "
            + "SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM t) AND EXISTS (SELECT 1 FROM r) "
            + "ON CONFLICT DO NOTHING RETURNING 1) "
            + "SELECT EXISTS (SELECT 1 FROM t), EXISTS (SELECT 1 FROM r), EXISTS (SELECT 1 FROM i)")
        .execute(Tuple.of(accountId, tenant, type.name(), resource))
        .map(rows -> {
          Row r = rows.iterator().next();
          return !r.getBoolean(0) ? Associated.NO_TENANT : !r.getBoolean(1) ? Associated.NO_RESOURCE
              : r.getBoolean(2) ? Associated.DONE : Associated.ALREADY;
        });
  }

  /** Removes an association; whether there was one. */
  public Future<Boolean> dissociate(String accountId, String tenant, ResourceType type, String resource) {
    return pool.preparedQuery("DELETE FROM tenant_resources WHERE account_id = $1 AND tenant_name = $2 "
            + "AND resource_type = $3 AND resource_name = $4")
        .execute(Tuple.of(accountId, tenant, type.name(), resource)).map(rows -> rows.rowCount() == 1);
  }

  /**
   * Up to {@code size} of a tenant's resources after {@code after} (type and name, {@link #position}), one more when
   * there are more; {@code type}: only those of this type (null: all).
   */
  public Future<List<Association>> resources(String accountId, String tenant, ResourceType type, String after,
      int size) {
    return pool.preparedQuery("SELECT r.tenant_name, t.id, r.resource_type, r.resource_name, r.associated_at "
            + "FROM tenant_resources r JOIN tenants t ON t.account_id = r.account_id AND t.name = r.tenant_name "
            + "WHERE r.account_id = $1 AND r.tenant_name = $2 AND ($3::text IS NULL OR r.resource_type = $3) "
            + "AND r.resource_type || '/' || r.resource_name > $4 ORDER BY r.resource_type || '/' || r.resource_name "
            + "LIMIT $5")
        .execute(Tuple.of(accountId, tenant, type == null ? null : type.name(), after == null ? "" : after, size))
        .map(TenantStore::associations);
  }

  /** Up to {@code size} tenants a resource is associated with, after tenant {@code after}; one more when there are more. */
  public Future<List<Association>> tenantsOf(String accountId, ResourceType type, String resource, String after,
      int size) {
    return pool.preparedQuery("SELECT r.tenant_name, t.id, r.resource_type, r.resource_name, r.associated_at "
            + "FROM tenant_resources r JOIN tenants t ON t.account_id = r.account_id AND t.name = r.tenant_name "
            + "WHERE r.account_id = $1 AND r.resource_type = $2 AND r.resource_name = $3 AND r.tenant_name > $4 "
            + "ORDER BY r.tenant_name LIMIT $5")
        .execute(Tuple.of(accountId, type.name(), resource, after == null ? "" : after, size))
        .map(TenantStore::associations);
  }

  /** Whether the account has this resource. */
  public Future<Boolean> exists(String accountId, ResourceType type, String resource) {
    return pool.preparedQuery("SELECT 1 FROM " + type.table + " WHERE account_id = $1 AND " + type.nameColumn + " = $2")
        .execute(Tuple.of(accountId, resource)).map(rows -> rows.size() > 0);
  }

  /** Where a page of {@link #resources} continues after this association. */
  public static String position(Association a) {
    return a.type().name() + "/" + a.name();
  }

  /**
   * The owner's sending status. REINSTATED lifts the reputation policy's pause and accepts the tenant's current
   * finding: it sends on with it, until the findings clear (ENABLED again) or get worse (paused again). Whether there
   * is such a tenant, of this id.
   */
  public Future<Boolean> setCustomerStatus(String accountId, String name, String id, String status) {
    return pool.preparedQuery("UPDATE tenants SET customer_status = $3, customer_status_at = now(), "
            + "reinstated_impact = CASE WHEN $3 = 'REINSTATED' THEN impact END, "
            + "managed_status = CASE WHEN $3 = 'REINSTATED' THEN 'ENABLED' ELSE managed_status END, "
            + "managed_cause = CASE WHEN $3 = 'REINSTATED' THEN NULL ELSE managed_cause END, "
            + "managed_status_at = CASE WHEN $3 = 'REINSTATED' AND managed_status <> 'ENABLED' THEN now() "
            + "ELSE managed_status_at END "
            + "WHERE account_id = $1 AND name = $2 AND id = $4")
        .execute(Tuple.of(accountId, name, status, id)).map(rows -> rows.rowCount() == 1);
  }

  /** The tenant's reputation policy (none, standard or strict); whether there is such a tenant, of this id. */
  public Future<Boolean> setPolicy(String accountId, String name, String id, String policy) {
    return pool.preparedQuery("UPDATE tenants SET policy = $3 WHERE account_id = $1 AND name = $2 AND id = $4")
        .execute(Tuple.of(accountId, name, policy, id)).map(rows -> rows.rowCount() == 1);
  }

  /** The tenant as the send path checks it, with every resource associated with it; empty when there is none. */
  public Future<Optional<SendingView>> sendingView(String accountId, String name) {
    return find(accountId, name).compose(found -> {
      if (found.isEmpty()) {
        return Future.succeededFuture(Optional.empty());
      }
      return pool.preparedQuery("SELECT resource_type, resource_name FROM tenant_resources "
              + "WHERE account_id = $1 AND tenant_name = $2").execute(Tuple.of(accountId, name))
          .map(rows -> {
            Set<String> identities = new HashSet<>();
            Set<String> sets = new HashSet<>();
            Set<String> templates = new HashSet<>();
            for (Row r : rows) {
              switch (ResourceType.valueOf(r.getString(0))) {
                case EMAIL_IDENTITY -> identities.add(r.getString(1));
                case CONFIGURATION_SET -> sets.add(r.getString(1));
                case EMAIL_TEMPLATE -> templates.add(r.getString(1));
              }
            }
            return Optional.of(new SendingView(name, found.get().id(), found.get().sendingStatus(), Set.copyOf(identities),
                Set.copyOf(sets), Set.copyOf(templates)));
          });
    });
  }

  private static List<Association> associations(io.vertx.sqlclient.RowSet<Row> rows) {
    List<Association> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(new Association(r.getString(0), r.getString(1), ResourceType.valueOf(r.getString(2)), r.getString(3),
          r.getOffsetDateTime(4).toInstant()));
    }
    return out;
  }

  private static Tenant tenant(Row r) {
    Object tags = r.getValue("tags");
    Object reputation = r.getValue("reputation");
    return new Tenant(r.getString("name"), r.getString("id"), tags instanceof JsonArray a ? a : new JsonArray(),
        r.getOffsetDateTime("created_at").toInstant(), r.getString("policy"), r.getString("customer_status"),
        r.getOffsetDateTime("customer_status_at").toInstant(), r.getString("managed_status"),
        r.getString("managed_cause"), r.getOffsetDateTime("managed_status_at").toInstant(), r.getString("impact"),
        reputation instanceof JsonObject o ? o : null);
  }
}
