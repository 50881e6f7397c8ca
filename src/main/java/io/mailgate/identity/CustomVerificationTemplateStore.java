package io.mailgate.identity;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.store.Database;
import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** SQL for custom verification email templates; every statement is scoped to one account. */
public final class CustomVerificationTemplateStore {
  /** SES's quota of custom verification email templates per account. */
  public static final int MAX_PER_ACCOUNT = 50;

  /** A template without its content (ListCustomVerificationEmailTemplates). */
  public record Listed(String name, String fromAddress, String subject, String successUrl, String failureUrl) {}

  /** Where a followed link of the template leads. */
  public record Redirections(String successUrl, String failureUrl) {}

  private static final String COLUMNS = "name, from_address, subject, content, success_url, failure_url";

  /** The first key of the advisory locks that put one account's template creations in turn: "CVtc". */
  private static final int CREATE_LOCK = 0x43567463;

  private final Pool pool;

  public CustomVerificationTemplateStore(Pool pool) {
    this.pool = pool;
  }

  public Future<Void> create(String accountId, CustomVerificationTemplate t) {
    // the count and the insert in one statement, one account's creations in turn (an advisory lock): creations at
    // once would each count the others' as not there, and pass the quota together
    return Database.inTurn(pool, CREATE_LOCK, accountId, conn -> conn.preparedQuery(
            "INSERT INTO custom_verification_templates (account_id, " + COLUMNS + ") SELECT $1, $2, $3, $4, $5, $6, $7 "
                + "WHERE (SELECT count(*) FROM custom_verification_templates WHERE account_id = $1) < $8")
        .execute(Tuple.from(new Object[] {accountId, t.name(), t.fromAddress(), t.subject(), t.content(),
            t.successUrl(), t.failureUrl(), MAX_PER_ACCOUNT})))
        .recover(e -> Future.failedFuture(e instanceof PgException pg && "23505".equals(pg.getSqlState())
            ? new SesException(SesError.CUSTOM_VERIFICATION_TEMPLATE_ALREADY_EXISTS,
                "Custom verification email template " + t.name() + " already exists.") : e))
        .compose(r -> r.rowCount() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED,
                "An account may have at most " + MAX_PER_ACCOUNT + " custom verification email templates.")));
  }

  public Future<Optional<CustomVerificationTemplate>> find(String accountId, String name) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM custom_verification_templates "
            + "WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(template(rows.iterator().next())));
  }

  /** Only the redirection URLs (a followed link's redirect), not the content. */
  public Future<Optional<Redirections>> redirections(String accountId, String name) {
    return pool.preparedQuery("SELECT success_url, failure_url FROM custom_verification_templates "
            + "WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new Redirections(r.getString(0), r.getString(1)));
        });
  }

  public Future<Boolean> update(String accountId, CustomVerificationTemplate t) {
    return pool.preparedQuery("UPDATE custom_verification_templates SET from_address = $3, subject = $4, content = $5, "
            + "success_url = $6, failure_url = $7, updated_at = now() WHERE account_id = $1 AND name = $2")
        .execute(Tuple.from(new Object[] {accountId, t.name(), t.fromAddress(), t.subject(), t.content(),
            t.successUrl(), t.failureUrl()}))
        .map(r -> r.rowCount() == 1);
  }

  public Future<Boolean> delete(String accountId, String name) {
    return pool.preparedQuery("DELETE FROM custom_verification_templates WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name)).map(r -> r.rowCount() == 1);
  }

  /** Templates after {@code after} (null: from the first), in name order. */
  public Future<List<Listed>> page(String accountId, String after, int limit) {
    return pool.preparedQuery("SELECT name, from_address, subject, success_url, failure_url "
            + "FROM custom_verification_templates WHERE account_id = $1 "
            + "AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3")
        .execute(Tuple.of(accountId, after, limit))
        .map(rows -> {
          List<Listed> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new Listed(r.getString(0), r.getString(1), r.getString(2), r.getString(3), r.getString(4)));
          }
          return out;
        });
  }

  private static CustomVerificationTemplate template(Row r) {
    return new CustomVerificationTemplate(r.getString(0), r.getString(1), r.getString(2), r.getString(3),
        r.getString(4), r.getString(5));
  }
}
