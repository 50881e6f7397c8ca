package io.mailgate.receiving;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * SQL for email receiving's configuration: an account's receipt rule sets (one of them active at most), each set's
 * rules in order, and the account's IP address filters. Every statement is scoped to one account; a change of more
 * than one row is one transaction, so a refused or failed change leaves nothing half-written.
 *
 * <p>Changes to an account's sets and filters (create, clone, delete, activate) hold a transaction-scoped advisory
 * lock of the account, so that the limits hold and two activations cannot race into the unique index. Changes to the
 * order of a set's rules lock the set's row, so that its positions stay dense (0 to n-1) under concurrent changes.
 */
public final class ReceiptRuleStore {
  /** SES's quotas for receiving: rule sets per account, rules per set, IP address filters per account. */
  public static final int MAX_RULE_SETS = 40;
  public static final int MAX_RULES_PER_SET = 200;
  public static final int MAX_FILTERS = 100;
  /** The advisory locks' first key (the second is the account's hash): "RcPt". */
  private static final int ACCOUNT_LOCK = 0x52635074;

  /** A rule set's name and when it was created (ReceiptRuleSetMetadata). */
  public record RuleSet(String name, Instant createdAt) {}

  /** A rule set and its rules, in order. */
  public record RuleSetRules(RuleSet metadata, List<ReceiptRule> rules) {}

  /**
   * An IP address filter: {@code policy} {@link #BLOCK} or {@link #ALLOW}, {@code cidr} a network ({@code
   * 192.0.2.0/24}) or a single address ({@code 192.0.2.1}).
   */
  public record Filter(String name, String policy, String cidr) {
    public static final String BLOCK = "Block";
    public static final String ALLOW = "Allow";
  }

  private static final String RULE_COLUMNS = "r.name, r.enabled, r.tls_policy, r.recipients, r.actions::text, "
      + "r.scan_enabled";

  private final Pool pool;

  public ReceiptRuleStore(Pool pool) {
    this.pool = pool;
  }

  // ---- rule sets

  /** Creates an empty set: AlreadyExists when the name is taken, LimitExceeded at {@link #MAX_RULE_SETS}. */
  public Future<Void> createSet(String accountId, String name) {
    return pool.withTransaction(conn -> lockAccount(conn, accountId)
            .compose(v -> checkSetLimit(conn, accountId))
            .compose(v -> insertSet(conn, accountId, name)))
        .recover(e -> Future.failedFuture(taken(e, "Receipt rule set <" + name + "> already exists.")));
  }

  /**
   * Creates {@code name} with copies of the rules of {@code original}, in their order: RuleSetDoesNotExist for a
   * missing original, AlreadyExists when the name is taken, LimitExceeded at {@link #MAX_RULE_SETS}.
   */
  public Future<Void> cloneSet(String accountId, String name, String original) {
    return pool.withTransaction(conn -> lockAccount(conn, accountId)
            .compose(v -> conn.preparedQuery("SELECT 1 FROM receipt_rule_sets WHERE account_id = $1 AND name = $2")
                .execute(Tuple.of(accountId, original)))
            .compose(rows -> rows.size() == 0 ? Future.failedFuture(setNotFound(original))
                : checkSetLimit(conn, accountId))
            .compose(v -> insertSet(conn, accountId, name))
            // one statement: a consistent copy of the original's rules, whatever changes them meanwhile
            .compose(v -> conn.preparedQuery("INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, "
                    + "tls_policy, recipients, actions, scan_enabled) SELECT account_id, $3, name, position, enabled, "
                    + "tls_policy, recipients, actions, scan_enabled FROM receipt_rules "
                    + "WHERE account_id = $1 AND rule_set = $2")
                .execute(Tuple.of(accountId, original, name)))
            .<Void>mapEmpty())
        .recover(e -> Future.failedFuture(taken(e, "Receipt rule set <" + name + "> already exists.")));
  }

  /**
   * Deletes a set and its rules. The active set is not deleted (CannotDelete, as in SES); a set that does not exist
   * is not an error (SES answers its deletion without one).
   */
  public Future<Void> deleteSet(String accountId, String name) {
    return pool.withTransaction(conn -> lockAccount(conn, accountId)
        .compose(v -> conn.preparedQuery("SELECT active FROM receipt_rule_sets WHERE account_id = $1 AND name = $2")
            .execute(Tuple.of(accountId, name)))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture();
          }
          if (rows.iterator().next().getBoolean(0)) {
            return Future.failedFuture(new SesException(SesError.CANNOT_DELETE, "Receipt rule set <" + name
                + "> is the active rule set and cannot be deleted: make another active, or none, first."));
          }
          return conn.preparedQuery("DELETE FROM receipt_rule_sets WHERE account_id = $1 AND name = $2")
              .execute(Tuple.of(accountId, name)).<Void>mapEmpty();
        }));
  }

  /** Sets after {@code after} (null: from the first), in name order. */
  public Future<List<RuleSet>> pageSets(String accountId, String after, int limit) {
    return pool.preparedQuery("SELECT name, created_at FROM receipt_rule_sets WHERE account_id = $1 "
            + "AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3")
        .execute(Tuple.of(accountId, after, limit))
        .map(rows -> {
          List<RuleSet> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new RuleSet(r.getString(0), r.getOffsetDateTime(1).toInstant()));
          }
          return out;
        });
  }

  /** The set and its rules in order; RuleSetDoesNotExist when there is no such set. */
  public Future<RuleSetRules> describeSet(String accountId, String name) {
    return describe("s.name = $2", Tuple.of(accountId, name)).compose(found -> found.isPresent()
        ? Future.succeededFuture(found.get()) : Future.failedFuture(setNotFound(name)));
  }

  /** The active set and its rules in order, if the account has one active. */
  public Future<Optional<RuleSetRules>> describeActive(String accountId) {
    return describe("s.active", Tuple.of(accountId));
  }

  private Future<Optional<RuleSetRules>> describe(String condition, Tuple args) {
    return pool.preparedQuery("SELECT s.name, s.created_at, " + RULE_COLUMNS + " FROM receipt_rule_sets s "
            + "LEFT JOIN receipt_rules r ON r.account_id = s.account_id AND r.rule_set = s.name "
            + "WHERE s.account_id = $1 AND " + condition + " ORDER BY r.position")
        .execute(args)
        .map(rows -> {
          RuleSet set = null;
          List<ReceiptRule> rules = new ArrayList<>();
          for (Row r : rows) {
            set = new RuleSet(r.getString(0), r.getOffsetDateTime(1).toInstant());
            if (r.getString(2) != null) {
              rules.add(rule(r, 2));
            }
          }
          return set == null ? Optional.empty() : Optional.of(new RuleSetRules(set, rules));
        });
  }

  /** Makes {@code name} the active set and the others inactive; null makes none active. */
  public Future<Void> setActive(String accountId, String name) {
    return pool.withTransaction(conn -> lockAccount(conn, accountId)
        .compose(v -> conn.preparedQuery("UPDATE receipt_rule_sets SET active = false "
                + "WHERE account_id = $1 AND active AND name IS DISTINCT FROM $2::text")
            .execute(Tuple.of(accountId, name)))
        .compose(v -> name == null ? Future.<Void>succeededFuture()
            : conn.preparedQuery("UPDATE receipt_rule_sets SET active = true WHERE account_id = $1 AND name = $2")
                .execute(Tuple.of(accountId, name))
                .compose(r -> r.rowCount() == 1 ? Future.<Void>succeededFuture()
                    : Future.failedFuture(setNotFound(name)))));
  }

  // ---- rules

  /**
   * Adds a rule to a set, right after the rule named {@code after}, or first when {@code after} is null (as SES
   * places it). RuleSetDoesNotExist, RuleDoesNotExist (for {@code after}), AlreadyExists for a name the set has,
   * LimitExceeded at {@link #MAX_RULES_PER_SET}.
   */
  public Future<Void> createRule(String accountId, String ruleSet, ReceiptRule rule, String after) {
    return pool.withTransaction(conn -> order(conn, accountId, ruleSet).compose(names -> {
      if (names.contains(rule.name())) {
        return Future.failedFuture(ruleExists(rule.name(), ruleSet));
      }
      if (names.size() >= MAX_RULES_PER_SET) {
        return Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED, "Receipt rule set <" + ruleSet
            + "> already has " + MAX_RULES_PER_SET + " rules."));
      }
      int at = after == null ? 0 : names.indexOf(after) + 1;
      if (at == 0 && after != null) {
        return Future.failedFuture(ruleNotFound(after, ruleSet));
      }
      names.add(at, rule.name());
      return conn.preparedQuery("INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, "
              + "recipients, actions, scan_enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9)")
          .execute(Tuple.from(new Object[] {accountId, ruleSet, rule.name(), at, rule.enabled(), rule.tlsPolicy(),
              rule.recipients().toArray(String[]::new), rule.actionsJson().encode(), rule.scanEnabled()}))
          .compose(v -> writeOrder(conn, accountId, ruleSet, names));
    })).recover(e -> Future.failedFuture(taken(e, ruleExists(rule.name(), ruleSet).getMessage())));
  }

  /** Replaces a rule's definition; it keeps its place. RuleSetDoesNotExist, RuleDoesNotExist. */
  public Future<Void> updateRule(String accountId, String ruleSet, ReceiptRule rule) {
    return pool.preparedQuery("UPDATE receipt_rules SET enabled = $4, tls_policy = $5, recipients = $6, "
            + "actions = $7::text::jsonb, scan_enabled = $8 WHERE account_id = $1 AND rule_set = $2 AND name = $3")
        .execute(Tuple.from(new Object[] {accountId, ruleSet, rule.name(), rule.enabled(), rule.tlsPolicy(),
            rule.recipients().toArray(String[]::new), rule.actionsJson().encode(), rule.scanEnabled()}))
        .compose(r -> r.rowCount() == 1 ? Future.succeededFuture() : missing(accountId, ruleSet, rule.name()));
  }

  /**
   * Deletes a rule; the rules after it move up. RuleSetDoesNotExist; a rule the set does not have is not an error
   * (as in SES).
   */
  public Future<Void> deleteRule(String accountId, String ruleSet, String name) {
    return pool.withTransaction(conn -> order(conn, accountId, ruleSet).compose(names -> !names.remove(name)
        ? Future.<Void>succeededFuture()
        : conn.preparedQuery("DELETE FROM receipt_rules WHERE account_id = $1 AND rule_set = $2 AND name = $3")
            .execute(Tuple.of(accountId, ruleSet, name))
            .compose(v -> writeOrder(conn, accountId, ruleSet, names))));
  }

  /** One rule; RuleSetDoesNotExist, RuleDoesNotExist. */
  public Future<ReceiptRule> describeRule(String accountId, String ruleSet, String name) {
    return pool.preparedQuery("SELECT " + RULE_COLUMNS + " FROM receipt_rules r "
            + "WHERE r.account_id = $1 AND r.rule_set = $2 AND r.name = $3")
        .execute(Tuple.of(accountId, ruleSet, name))
        .compose(rows -> rows.size() == 0 ? missing(accountId, ruleSet, name)
            : Future.succeededFuture(rule(rows.iterator().next(), 0)));
  }

  /**
   * Moves a rule right after the rule named {@code after}, or first when {@code after} is null. RuleSetDoesNotExist,
   * RuleDoesNotExist for either rule.
   */
  public Future<Void> setRulePosition(String accountId, String ruleSet, String name, String after) {
    if (name.equals(after)) {
      return Future.failedFuture(SesException.badRequest("A rule cannot be placed after itself."));
    }
    return pool.withTransaction(conn -> order(conn, accountId, ruleSet).compose(names -> {
      if (!names.remove(name)) {
        return Future.failedFuture(ruleNotFound(name, ruleSet));
      }
      int at = after == null ? 0 : names.indexOf(after) + 1;
      if (at == 0 && after != null) {
        return Future.failedFuture(ruleNotFound(after, ruleSet));
      }
      names.add(at, name);
      return writeOrder(conn, accountId, ruleSet, names);
    }));
  }

  /**
   * Puts the set's rules in the order given, which must name each of them once: RuleSetDoesNotExist,
   * RuleDoesNotExist for a name the set does not have, BadRequest for a rule named twice or left out.
   */
  public Future<Void> reorder(String accountId, String ruleSet, List<String> order) {
    return pool.withTransaction(conn -> order(conn, accountId, ruleSet).compose(names -> {
      Set<String> seen = new HashSet<>();
      for (String n : order) {
        if (!names.contains(n)) {
          return Future.failedFuture(ruleNotFound(n, ruleSet));
        }
        if (!seen.add(n)) {
          return Future.failedFuture(SesException.badRequest("RuleNames names rule <" + n + "> twice."));
        }
      }
      if (seen.size() != names.size()) {
        names.removeAll(seen);
        return Future.failedFuture(SesException.badRequest("RuleNames must name every rule of receipt rule set <"
            + ruleSet + ">; it leaves out " + names + "."));
      }
      return writeOrder(conn, accountId, ruleSet, order);
    }));
  }

  /**
   * The set's rule names in order, its row locked for the rest of the transaction (RuleSetDoesNotExist when there is
   * none). Two statements: a read in the locking statement would see the rules as they were before the lock was
   * granted.
   */
  private static Future<List<String>> order(SqlConnection conn, String accountId, String ruleSet) {
    return conn.preparedQuery("SELECT 1 FROM receipt_rule_sets WHERE account_id = $1 AND name = $2 FOR UPDATE")
        .execute(Tuple.of(accountId, ruleSet))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(setNotFound(ruleSet))
            : conn.preparedQuery("SELECT name FROM receipt_rules WHERE account_id = $1 AND rule_set = $2 "
                    + "ORDER BY position")
                .execute(Tuple.of(accountId, ruleSet))
                .map(names -> {
                  List<String> out = new ArrayList<>(names.size() + 1);
                  names.forEach(r -> out.add(r.getString(0)));
                  return out;
                }));
  }

  /** Numbers the set's rules 0 to n-1 in this order, writing only the rows whose position changes. */
  private static Future<Void> writeOrder(SqlConnection conn, String accountId, String ruleSet, List<String> names) {
    return conn.preparedQuery("UPDATE receipt_rules r SET position = v.pos - 1 "
            + "FROM unnest($3::text[]) WITH ORDINALITY AS v(name, pos) "
            + "WHERE r.account_id = $1 AND r.rule_set = $2 AND r.name = v.name AND r.position <> v.pos - 1")
        .execute(Tuple.of(accountId, ruleSet, names.toArray(String[]::new)))
        .mapEmpty();
  }

  /** RuleSetDoesNotExist when it is the set that is missing, RuleDoesNotExist otherwise. */
  private <T> Future<T> missing(String accountId, String ruleSet, String name) {
    return pool.preparedQuery("SELECT 1 FROM receipt_rule_sets WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, ruleSet))
        .compose(rows -> Future.failedFuture(rows.size() == 0 ? setNotFound(ruleSet) : ruleNotFound(name, ruleSet)));
  }

  private static ReceiptRule rule(Row r, int from) {
    String[] recipients = r.getArrayOfStrings(from + 3);
    return new ReceiptRule(r.getString(from), r.getBoolean(from + 1), r.getString(from + 2),
        recipients == null ? List.of() : List.of(recipients),
        ReceiptRule.actions(new JsonArray(r.getString(from + 4))), r.getBoolean(from + 5));
  }

  // ---- IP address filters

  /**
   * Adds a filter: AlreadyExists when the name is taken, LimitExceeded at {@link #MAX_FILTERS}. A network given with
   * host bits set ({@code 10.0.0.1/24}) matches as its network ({@code 10.0.0.0/24}) and is listed as given
   * ({@code given}).
   */
  public Future<Void> createFilter(String accountId, Filter f, String given) {
    return pool.withTransaction(conn -> lockAccount(conn, accountId)
            .compose(v -> conn.preparedQuery("SELECT count(*) FROM receipt_filters WHERE account_id = $1")
                .execute(Tuple.of(accountId)))
            .compose(rows -> rows.iterator().next().getLong(0) >= MAX_FILTERS
                ? Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED,
                    "An account may have at most " + MAX_FILTERS + " IP address filters."))
                : conn.preparedQuery("INSERT INTO receipt_filters (account_id, name, policy, cidr, given_cidr) "
                        + "VALUES ($1, $2, $3, $4::text::inet::cidr, $5)")
                    .execute(Tuple.of(accountId, f.name(), f.policy(), f.cidr(), given)))
            .<Void>mapEmpty())
        .recover(e -> Future.failedFuture(taken(e, "IP address filter <" + f.name() + "> already exists.")));
  }

  /** Deletes a filter; one that does not exist is not an error (as in SES). */
  public Future<Void> deleteFilter(String accountId, String name) {
    return pool.preparedQuery("DELETE FROM receipt_filters WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name)).mapEmpty();
  }

  /**
   * The account's filters by name, their Cidr as given (as SES lists it); a filter made before that was kept, in its
   * normal form: a single address without its prefix length, as it is usually given.
   */
  public Future<List<Filter>> filters(String accountId) {
    return pool.preparedQuery("SELECT name, policy, coalesce(given_cidr, CASE WHEN masklen(cidr) = CASE family(cidr) "
            + "WHEN 4 THEN 32 ELSE 128 END THEN host(cidr) ELSE cidr::text END) FROM receipt_filters "
            + "WHERE account_id = $1 ORDER BY name")
        .execute(Tuple.of(accountId))
        .map(rows -> {
          List<Filter> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new Filter(r.getString(0), r.getString(1), r.getString(2)));
          }
          return out;
        });
  }

  // ---- shared

  private static Future<Void> lockAccount(SqlConnection conn, String accountId) {
    return conn.preparedQuery("SELECT 1 FROM pg_advisory_xact_lock(" + ACCOUNT_LOCK + ", hashtext($1))")
        .execute(Tuple.of(accountId)).mapEmpty();
  }

  private static Future<Void> checkSetLimit(SqlConnection conn, String accountId) {
    return conn.preparedQuery("SELECT count(*) FROM receipt_rule_sets WHERE account_id = $1")
        .execute(Tuple.of(accountId))
        .compose(rows -> rows.iterator().next().getLong(0) < MAX_RULE_SETS ? Future.<Void>succeededFuture()
            : Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED,
                "An account may have at most " + MAX_RULE_SETS + " receipt rule sets.")));
  }

  private static Future<Void> insertSet(SqlConnection conn, String accountId, String name) {
    return conn.preparedQuery("INSERT INTO receipt_rule_sets (account_id, name) VALUES ($1, $2)")
        .execute(Tuple.of(accountId, name)).mapEmpty();
  }

  /** A unique violation as AlreadyExists: the name was taken, by an earlier request or a concurrent one. */
  private static Throwable taken(Throwable e, String message) {
    return e instanceof PgException pg && "23505".equals(pg.getSqlState())
        ? new SesException(SesError.ALREADY_EXISTS, message) : e;
  }

  private static SesException setNotFound(String name) {
    return new SesException(SesError.RULE_SET_NOT_FOUND, "Receipt rule set <" + name + "> does not exist.");
  }

  private static SesException ruleNotFound(String name, String ruleSet) {
    return new SesException(SesError.RULE_NOT_FOUND, "Receipt rule <" + name + "> does not exist in receipt rule set <"
        + ruleSet + ">.");
  }

  private static SesException ruleExists(String name, String ruleSet) {
    return new SesException(SesError.ALREADY_EXISTS, "Receipt rule <" + name + "> already exists in receipt rule set <"
        + ruleSet + ">.");
  }
}
