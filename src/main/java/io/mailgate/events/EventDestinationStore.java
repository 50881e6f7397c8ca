package io.mailgate.events;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;

/** SQL for event destinations; every query is scoped to one account and configuration set. */
public final class EventDestinationStore {
  /** SES's limit of event destinations per configuration set. */
  public static final int MAX_PER_CONFIGURATION_SET = 10;

  private final Pool pool;

  public EventDestinationStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * Adds a destination. Fails with NotFound when the configuration set does not exist, AlreadyExists when it has a
   * destination of that name, LimitExceeded when it has {@link #MAX_PER_CONFIGURATION_SET}. The count and the insert
   * are one statement, so two concurrent creates cannot both pass the limit: the set's row is locked first.
   */
  public Future<Void> create(EventDestination d) {
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT (SELECT count(*) FROM event_destinations e "
                + "WHERE e.account_id = c.account_id AND e.configuration_set = c.name) FROM configuration_sets c "
                + "WHERE c.account_id = $1 AND c.name = $2 FOR UPDATE")
            .execute(Tuple.of(d.accountId(), d.configurationSet()))
            .compose(rows -> {
              if (rows.size() == 0) {
                return Future.failedFuture(setNotFound(d.configurationSet()));
              }
              if (rows.iterator().next().getLong(0) >= MAX_PER_CONFIGURATION_SET) {
                return Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED, "Configuration set <"
                    + d.configurationSet() + "> already has " + MAX_PER_CONFIGURATION_SET + " event destinations."));
              }
              return conn.preparedQuery("INSERT INTO event_destinations (account_id, configuration_set, name, enabled, "
                      + "event_types, url) VALUES ($1, $2, $3, $4, $5, $6)")
                  .execute(Tuple.of(d.accountId(), d.configurationSet(), d.name(), d.enabled(), names(d.types()),
                      d.url()))
                  .<Void>mapEmpty();
            }))
        .recover(e -> e instanceof PgException pg && "23505".equals(pg.getSqlState())
            ? Future.failedFuture(new SesException(SesError.EVENT_DESTINATION_ALREADY_EXISTS, "Event destination <" + d.name()
                + "> already exists in configuration set <" + d.configurationSet() + ">."))
            : Future.failedFuture(e));
  }

  /** The set's destinations by name; NotFound when the configuration set does not exist. */
  public Future<List<EventDestination>> list(String accountId, String configurationSet) {
    return pool.preparedQuery("SELECT c.name IS NOT NULL, e.name, e.enabled, e.event_types, e.url "
            + "FROM (SELECT $1::text AS account_id, $2::text AS name) k "
            + "LEFT JOIN configuration_sets c ON c.account_id = k.account_id AND c.name = k.name "
            + "LEFT JOIN event_destinations e ON e.account_id = c.account_id AND e.configuration_set = c.name "
            + "ORDER BY e.name")
        .execute(Tuple.of(accountId, configurationSet))
        .compose(rows -> {
          List<EventDestination> out = new ArrayList<>();
          for (Row r : rows) {
            if (!r.getBoolean(0)) {
              return Future.failedFuture(setNotFound(configurationSet));
            }
            if (r.getString(1) != null) {
              out.add(new EventDestination(accountId, configurationSet, r.getString(1), r.getBoolean(2),
                  types(r.getArrayOfStrings(3)), r.getString(4)));
            }
          }
          return Future.succeededFuture(out);
        });
  }

  /**
   * Sets whether a destination is enabled and, when given (not null), its types and URL. A destination that is
   * disabled loses the events still waiting for it.
   */
  public Future<Void> update(String accountId, String configurationSet, String name, boolean enabled,
      List<EventType> types, String url) {
    return pool.withTransaction(conn -> conn.preparedQuery("UPDATE event_destinations SET "
                + "enabled = $4, event_types = coalesce($5, event_types), url = coalesce($6, url) "
                + "WHERE account_id = $1 AND configuration_set = $2 AND name = $3 RETURNING id, enabled")
            .execute(Tuple.of(accountId, configurationSet, name, enabled, types == null ? null : names(types), url))
            .compose(rows -> {
              if (rows.size() == 0) {
                return missing(accountId, configurationSet, name);
              }
              Row r = rows.iterator().next();
              return r.getBoolean(1) ? Future.<Void>succeededFuture()
                  : conn.preparedQuery("DELETE FROM event_outbox WHERE destination_id = $1")
                      .execute(Tuple.of(r.getLong(0))).<Void>mapEmpty();
            }));
  }

  /**
   * Deletes a destination and the events still waiting for it (one written by a statement that ran meanwhile is
   * dropped by its publisher).
   */
  public Future<Void> delete(String accountId, String configurationSet, String name) {
    return pool.withTransaction(conn -> conn.preparedQuery("DELETE FROM event_destinations WHERE account_id = $1 "
                + "AND configuration_set = $2 AND name = $3 RETURNING id")
            .execute(Tuple.of(accountId, configurationSet, name))
            .compose(rows -> rows.size() == 0 ? missing(accountId, configurationSet, name)
                : conn.preparedQuery("DELETE FROM event_outbox WHERE destination_id = $1")
                    .execute(Tuple.of(rows.iterator().next().getLong(0))).<Void>mapEmpty()));
  }

  /** NotFound for the configuration set when it is the set that is missing, for the destination otherwise. */
  private Future<Void> missing(String accountId, String configurationSet, String name) {
    return pool.preparedQuery("SELECT 1 FROM configuration_sets WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, configurationSet))
        .compose(rows -> Future.failedFuture(rows.size() == 0 ? setNotFound(configurationSet)
            : new SesException(SesError.EVENT_DESTINATION_NOT_FOUND, "Event destination <" + name
                + "> does not exist in configuration set <" + configurationSet + ">.")));
  }

  private static SesException setNotFound(String name) {
    return new SesException(SesError.CONFIGURATION_SET_NOT_FOUND, "Configuration set <" + name + "> does not exist.");
  }

  private static String[] names(List<EventType> types) {
    return types.stream().map(t -> t.sesName).toArray(String[]::new);
  }

  private static List<EventType> types(String[] names) {
    List<EventType> out = new ArrayList<>(names.length);
    for (String n : names) {
      out.add(EventType.fromSesName(n));
    }
    return out;
  }
}
