package io.mailgate.store;

import io.mailgate.feedback.ValidationThreshold;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The suppression lists: each account's own (SES's account-level list, reasons BOUNCE and
 * COMPLAINT) and the global one (addresses that hard-bounced for anyone in the last days). The
 * delivery path asks about many recipients at once; its questions are grouped across messages.
 */
public final class SuppressionStore {

  /**
   * Which list holds an address: the account's for a bounce (or a reason given by hand other than a complaint), the
   * account's for a complaint (SES publishes a send to it as a Complaint, not a Bounce), or the global one.
   */
  public enum Listed { ACCOUNT, ACCOUNT_COMPLAINT, GLOBAL }

  /** An entry of an account's list. */
  public record Entry(String email, String reason, Instant lastUpdate, String messageId, String feedbackId) {}

  /** A question from the delivery path: these addresses, for this account. */
  private record Question(String accountId, List<String> emails) {}

  private final Pool pool;
  private final int globalDays;
  private final GroupCommit<Question, Map<String, Listed>> checks;

  /** @param lingerMillis how long a batch of questions waits for more before it is asked (0: at once) */
  public SuppressionStore(Vertx vertx, Pool pool, int globalDays, int maxInFlight, int lingerMillis) {
    this.pool = pool;
    this.globalDays = globalDays;
    this.checks = new GroupCommit<>(vertx, lingerMillis, 200, maxInFlight, this::checkAll);
  }

  /** The addresses among {@code emails} (lower case) that must not be sent to, and why. */
  public Future<Map<String, Listed>> check(String accountId, List<String> emails) {
    return checks.submit(new Question(accountId, emails));
  }

  private Future<List<Map<String, Listed>>> checkAll(List<Question> questions) {
    List<String> accounts = new ArrayList<>();
    List<String> emails = new ArrayList<>();
    for (Question q : questions) {
      for (String e : q.emails()) {
        accounts.add(q.accountId());
        emails.add(e);
      }
    }
    return pool.preparedQuery("""
            SELECT q.acct, q.email, s.reason
            FROM unnest($1::text[], $2::text[]) AS q(acct, email)
            LEFT JOIN suppressed_destinations s ON s.account_id = q.acct AND s.email = q.email
            LEFT JOIN global_suppression g ON g.email = q.email AND $3::int > 0
                 AND g.last_bounce > now() - $3::int * interval '1 day'
            WHERE s.email IS NOT NULL OR g.email IS NOT NULL""")
        .execute(Tuple.of(accounts.toArray(String[]::new), emails.toArray(String[]::new), globalDays))
        .map(rows -> {
          Map<String, Map<String, Listed>> byAccount = new HashMap<>();
          for (Row r : rows) {
            byAccount.computeIfAbsent(r.getString(0), k -> new HashMap<>())
                .put(r.getString(1), listed(r.getString(2)));
          }
          List<Map<String, Listed>> answers = new ArrayList<>(questions.size());
          for (Question q : questions) {
            answers.add(byAccount.getOrDefault(q.accountId(), Map.of()));
          }
          return answers;
        });
  }

  /** The list of an account's entry of {@code reason}, the global list's when there is none. */
  static Listed listed(String reason) {
    return reason == null ? Listed.GLOBAL : "COMPLAINT".equals(reason) ? Listed.ACCOUNT_COMPLAINT : Listed.ACCOUNT;
  }

  public Future<Void> put(String accountId, String email, String reason) {
    return pool.preparedQuery("INSERT INTO suppressed_destinations (account_id, email, reason, last_update) "
            + "VALUES ($1, $2, $3, now()) ON CONFLICT (account_id, email) DO UPDATE SET reason = EXCLUDED.reason, "
            + "last_update = now(), message_id = NULL, feedback_id = NULL")
        .execute(Tuple.of(accountId, email, reason)).mapEmpty();
  }

  public Future<Optional<Entry>> get(String accountId, String email) {
    return pool.preparedQuery("SELECT email, reason, last_update, message_id, feedback_id FROM suppressed_destinations "
            + "WHERE account_id = $1 AND email = $2").execute(Tuple.of(accountId, email))
        .map(rows -> rows.size() == 0 ? Optional.<Entry>empty() : Optional.of(entry(rows.iterator().next())));
  }

  public Future<Boolean> delete(String accountId, String email) {
    return pool.preparedQuery("DELETE FROM suppressed_destinations WHERE account_id = $1 AND email = $2")
        .execute(Tuple.of(accountId, email)).map(r -> r.rowCount() == 1);
  }

  /** The entries updated last, the latest first (the console's view). */
  public Future<List<Entry>> recent(String accountId, int limit) {
    return pool.preparedQuery("""
            SELECT email, reason, last_update, message_id, feedback_id FROM suppressed_destinations
            WHERE account_id = $1 ORDER BY last_update DESC, email DESC LIMIT $2""")
        .execute(Tuple.of(accountId, limit))
        .map(rows -> {
          List<Entry> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(entry(r));
          }
          return out;
        });
  }

  /**
   * A page of the list, filtered by reasons (empty: all) and update time, in address order; the cursor is the last
   * address of the previous page. By address, which an entry keeps, not by its update time, which a new bounce or a
   * Put changes: an entry updated while a client paged through the list jumped ahead of its cursor and was never
   * listed (SES promises no order, only the whole list).
   */
  public Future<List<Entry>> list(String accountId, List<String> reasons, Instant start, Instant end,
      String afterEmail, int limit) {
    return pool.preparedQuery("""
            SELECT email, reason, last_update, message_id, feedback_id FROM suppressed_destinations
            WHERE account_id = $1 AND (cardinality($2::text[]) = 0 OR reason = ANY($2::text[]))
              AND ($3::timestamptz IS NULL OR last_update >= $3) AND ($4::timestamptz IS NULL OR last_update <= $4)
              AND ($5::text IS NULL OR email > $5)
            ORDER BY email LIMIT $6""")
        .execute(Tuple.from(new Object[] {accountId, reasons.toArray(String[]::new), Timestamps.utc(start),
            Timestamps.utc(end), afterEmail, limit}))
        .map(rows -> {
          List<Entry> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(entry(r));
          }
          return out;
        });
  }

  /**
   * PutAccountSuppressionAttributes: the reasons and the Auto Validation setting, each replaced when given (null leaves
   * it as it is: a client that only knows SuppressedReasons does not turn validation off, and one that only turns
   * validation on does not turn suppression for bounces and complaints off).
   */
  public Future<Void> setAttributes(String accountId, List<String> reasons, ValidationThreshold validation) {
    return pool.preparedQuery("UPDATE accounts SET "
            + "suppressed_reasons = CASE WHEN $6 THEN $2 ELSE suppressed_reasons END, "
            + "validation_enabled = CASE WHEN $3 THEN $4 ELSE validation_enabled END, "
            + "validation_threshold = CASE WHEN $3 THEN $5 ELSE validation_threshold END WHERE id = $1")
        .execute(Tuple.of(accountId, (Object) (reasons == null ? new String[0] : reasons.toArray(String[]::new)),
            validation != null, validation != null && validation.enabled(),
            validation == null ? null : validation.threshold(), reasons != null))
        .mapEmpty();
  }

  /** The account's Auto Validation setting, null when it never had one (for delivery, which caches it). */
  public Future<ValidationThreshold> validation(String accountId) {
    return pool.preparedQuery("SELECT validation_enabled, validation_threshold FROM accounts WHERE id = $1")
        .execute(Tuple.of(accountId))
        .map(rows -> {
          if (rows.size() == 0) {
            return null;
          }
          Row r = rows.iterator().next();
          return ValidationThreshold.of(r.getBoolean(0), r.getString(1));
        });
  }

  /**
   * What the lists say of one address for an account: the reason of the account's entry (null without one), and
   * whether the global list holds it now.
   */
  public record Standing(String accountReason, boolean global) {}

  public Future<Standing> standing(String accountId, String email) {
    return pool.preparedQuery("""
            SELECT (SELECT reason FROM suppressed_destinations WHERE account_id = $1 AND email = $2),
                   EXISTS (SELECT 1 FROM global_suppression WHERE email = $2 AND $3::int > 0
                           AND last_bounce > now() - $3::int * interval '1 day')""")
        .execute(Tuple.of(accountId, email, globalDays))
        .map(rows -> {
          Row r = rows.iterator().next();
          return new Standing(r.getString(0), r.getBoolean(1));
        });
  }

  /** The global list's entry for an address, when it is suppressed now. */
  public Future<Optional<Instant>> globalSince(String email) {
    return pool.preparedQuery("SELECT last_bounce FROM global_suppression WHERE email = $1 AND $2::int > 0 "
            + "AND last_bounce > now() - $2::int * interval '1 day'").execute(Tuple.of(email, globalDays))
        .map(rows -> rows.size() == 0 ? Optional.<Instant>empty()
            : Optional.of(rows.iterator().next().getOffsetDateTime(0).toInstant()));
  }

  public Future<Boolean> removeGlobal(String email) {
    return pool.preparedQuery("DELETE FROM global_suppression WHERE email = $1").execute(Tuple.of(email))
        .map(r -> r.rowCount() == 1);
  }

  private static Entry entry(Row r) {
    return new Entry(r.getString(0), r.getString(1), r.getOffsetDateTime(2).toInstant(), r.getString(3), r.getString(4));
  }
}
