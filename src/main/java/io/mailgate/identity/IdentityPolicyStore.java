package io.mailgate.identity;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * SQL for sending authorization policies, by identity and name; every query is scoped to one account (the identity's
 * owner). The text is stored as given, so the owner reads back exactly what was put.
 */
public final class IdentityPolicyStore {
  /** How a policy is written: CreateEmailIdentityPolicy, UpdateEmailIdentityPolicy, or v1's PutIdentityPolicy. */
  public enum Write { CREATE, UPDATE, PUT }

  private final Pool pool;

  public IdentityPolicyStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * Writes one policy. NotFound when the account has no such identity (or, to update, no such policy); then {@code
   * check} runs (it throws what is wrong with the policy); AlreadyExists when creating a name taken; LimitExceeded for
   * a 21st policy. The identity's row is locked first, so two writes at once cannot both take the 20th place; a
   * refused write changes nothing.
   */
  public Future<Void> write(String accountId, String identity, String name, String policy, Write how,
      Runnable check) {
    return pool.withTransaction(conn -> lockIdentity(conn, accountId, identity)
        .compose(v -> {
          check.run();
          return conn.preparedQuery("SELECT count(*), count(*) FILTER (WHERE name = $3) FROM identity_policies "
                + "WHERE account_id = $1 AND identity = $2").execute(Tuple.of(accountId, identity, name));
        })
        .compose(rows -> {
          Row r = rows.iterator().next();
          boolean exists = r.getLong(1) > 0;
          if (exists && how == Write.CREATE) {
            return Future.failedFuture(new SesException(SesError.ALREADY_EXISTS, "Policy " + name
                + " already exists for identity " + identity + "."));
          }
          if (!exists && how == Write.UPDATE) {
            return Future.failedFuture(new SesException(SesError.NOT_FOUND, "Policy " + name
                + " does not exist for identity " + identity + "."));
          }
          if (!exists && r.getLong(0) >= IdentityPolicy.MAX_PER_IDENTITY) {
            return Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED, "Identity " + identity + " has "
                + IdentityPolicy.MAX_PER_IDENTITY + " policies, the most it may have."));
          }
          return conn.preparedQuery("INSERT INTO identity_policies (account_id, identity, name, policy) "
                  + "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, identity, name) "
                  + "DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()")
              .execute(Tuple.of(accountId, identity, name, policy)).<Void>mapEmpty();
        }));
  }

  /** The identity's policies by name, in name order; empty when the account has no such identity. */
  public Future<Optional<Map<String, String>>> policies(String accountId, String identity) {
    return pool.preparedQuery("SELECT p.name, p.policy FROM identities i LEFT JOIN identity_policies p "
            + "ON p.account_id = i.account_id AND p.identity = i.identity "
            + "WHERE i.account_id = $1 AND i.identity = $2 ORDER BY p.name")
        .execute(Tuple.of(accountId, identity))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Map<String, String> out = new LinkedHashMap<>();
          for (Row r : rows) {
            if (r.getString(0) != null) {
              out.put(r.getString(0), r.getString(1));
            }
          }
          return Optional.of(out);
        });
  }

  /**
   * Deletes one policy; NotFound when the account has no such identity. A policy that does not exist is no error
   * (SES).
   */
  public Future<Void> delete(String accountId, String identity, String name) {
    return pool.withTransaction(conn -> lockIdentity(conn, accountId, identity)
        .compose(v -> conn.preparedQuery("DELETE FROM identity_policies WHERE account_id = $1 AND identity = $2 "
            + "AND name = $3").execute(Tuple.of(accountId, identity, name)))
        .mapEmpty());
  }

  private static Future<Void> lockIdentity(SqlConnection conn, String accountId, String identity) {
    return conn.preparedQuery("SELECT 1 FROM identities WHERE account_id = $1 AND identity = $2 FOR UPDATE")
        .execute(Tuple.of(accountId, identity))
        .compose(rows -> rows.size() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(notFound(identity)));
  }

  static SesException notFound(String identity) {
    return new SesException(SesError.NOT_FOUND, "Email identity " + identity + " does not exist.");
  }
}
