package io.mailgate.store;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.send.EmailTemplate;
import io.mailgate.send.Templates;
import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** SQL for email templates; every statement is scoped to one account. */
public final class TemplateStore implements Templates.Source {
  /** SES's default quota of templates per account. */
  public static final int MAX_PER_ACCOUNT = 20_000;

  /** A template's name and when it was created (ListEmailTemplates). */
  public record Listed(String name, Instant createdAt) {}

  private final Pool pool;

  public TemplateStore(Pool pool) {
    this.pool = pool;
  }

  public Future<Void> create(String accountId, EmailTemplate t) {
    // the count and the insert in one statement; two creations racing past the quota by one is acceptable
    return pool.preparedQuery("INSERT INTO email_templates (account_id, name, subject, text_part, html_part) "
            + "SELECT $1, $2, $3, $4, $5 WHERE (SELECT count(*) FROM email_templates WHERE account_id = $1) < $6")
        .execute(Tuple.of(accountId, t.name(), t.subject(), t.text(), t.html(), MAX_PER_ACCOUNT))
        .recover(e -> Future.failedFuture(e instanceof PgException pg && "23505".equals(pg.getSqlState())
            ? new SesException(SesError.ALREADY_EXISTS, "Template " + t.name() + " already exists.") : e))
        .compose(r -> r.rowCount() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new SesException(SesError.LIMIT_EXCEEDED,
                "An account may have at most " + MAX_PER_ACCOUNT + " templates.")));
  }

  @Override
  public Future<Optional<EmailTemplate>> find(String accountId, String name) {
    return pool.preparedQuery("SELECT name, subject, text_part, html_part FROM email_templates "
            + "WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(template(rows.iterator().next())));
  }

  public Future<Boolean> update(String accountId, EmailTemplate t) {
    return pool.preparedQuery("UPDATE email_templates SET subject = $3, text_part = $4, html_part = $5, "
            + "updated_at = now() WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, t.name(), t.subject(), t.text(), t.html()))
        .map(r -> r.rowCount() == 1);
  }

  public Future<Boolean> delete(String accountId, String name) {
    return pool.preparedQuery("DELETE FROM email_templates WHERE account_id = $1 AND name = $2")
        .execute(Tuple.of(accountId, name)).map(r -> r.rowCount() == 1);
  }

  /** Names after {@code after} (null: from the first), in name order. */
  public Future<List<Listed>> page(String accountId, String after, int limit) {
    return pool.preparedQuery("SELECT name, created_at FROM email_templates WHERE account_id = $1 "
            + "AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3")
        .execute(Tuple.of(accountId, after, limit))
        .map(rows -> {
          List<Listed> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new Listed(r.getString(0), r.getOffsetDateTime(1).toInstant()));
          }
          return out;
        });
  }

  private static EmailTemplate template(Row r) {
    return new EmailTemplate(r.getString(0), r.getString(1), r.getString(2), r.getString(3));
  }
}
