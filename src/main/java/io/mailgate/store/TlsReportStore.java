package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/**
 * SMTP TLS Reporting's rows (RFC 8460): the sessions every node counted, by day, policy domain and kind, added to as
 * nodes write their counts; and the daily reports, one per day and policy domain, each claimed by one node at a time
 * (a lease: the claim's attempt count fences a node whose lease ran out) and done once sent or given up, its counts
 * then deleted with it in one transaction.
 */
public final class TlsReportStore {
  /**
   * One kind of session on a day and how many there were: {@code result} empty for successful ones; the policy's
   * strings and MX hosts a line each.
   */
  public record Count(LocalDate day, String policyDomain, String policyType, String policyStrings, String mxHosts,
      String result, String sendingIp, String receivingMx, String receivingIp, String detail, long sessions) {

    /** A digest of everything but the day, the domain and the number: what the row of this kind is found by. */
    String kind() {
      try {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (String s : List.of(policyType, policyStrings, mxHosts, result, sendingIp, receivingMx, receivingIp,
            detail)) {
          sha.update(s.getBytes(StandardCharsets.UTF_8));
          sha.update((byte) 0);
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 16);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** A report claimed for sending: its day, domain and the attempt this claim is (its fence). */
  public record Due(LocalDate day, String policyDomain, int attempts) {}

  private final Pool pool;

  public TlsReportStore(Pool pool) {
    this.pool = pool;
  }

  private static final String ADD = "INSERT INTO tls_report_counts (day, policy_domain, kind, policy_type, "
      + "policy_strings, mx_hosts, result, sending_ip, receiving_mx, receiving_ip, detail, sessions) "
      + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
      + "ON CONFLICT (day, policy_domain, kind) "
      + "DO UPDATE SET sessions = tls_report_counts.sessions + excluded.sessions";

  /**
   * Adds a node's counts to what other nodes (and this one before) wrote, in one transaction; rows in one order, so
   * that two nodes writing at once wait for each other rather than deadlock.
   */
  public Future<Void> add(List<Count> counts) {
    if (counts.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> rows = new ArrayList<>(counts.size());
    counts.stream().map(c -> Tuple.tuple().addValue(c.day()).addString(c.policyDomain()).addString(c.kind())
            .addString(c.policyType()).addString(c.policyStrings()).addString(c.mxHosts()).addString(c.result())
            .addString(c.sendingIp()).addString(c.receivingMx()).addString(c.receivingIp()).addString(c.detail())
            .addLong(c.sessions()))
        .sorted(Comparator.comparing((Tuple t) -> t.getLocalDate(0)).thenComparing(t -> t.getString(1))
            .thenComparing(t -> t.getString(2)))
        .forEach(rows::add);
    return pool.withTransaction(conn -> conn.preparedQuery(ADD).executeBatch(rows)).mapEmpty();
  }

  private static final String OPEN = "INSERT INTO tls_reports (day, policy_domain, next_attempt_at) "
      + "SELECT DISTINCT day, policy_domain, $2::timestamptz FROM tls_report_counts WHERE day < $1 "
      + "ON CONFLICT DO NOTHING";

  private static final String CLAIM = """
      UPDATE tls_reports r
      SET next_attempt_at = $3::timestamptz + $2::int * interval '1 second', attempts = r.attempts + 1
      WHERE (r.day, r.policy_domain) IN (SELECT day, policy_domain FROM tls_reports
                                         WHERE done_at IS NULL AND next_attempt_at <= $3::timestamptz
                                         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING r.day, r.policy_domain, r.attempts""";

  /**
   * The reports of the days before {@code before} made due (one per day and domain with counts), then up to
   * {@code limit} of those due at {@code now} (the node's clock, which retries are also timed by), leased for
   * {@code leaseSeconds}.
   */
  public Future<List<Due>> claim(LocalDate before, Instant now, int limit, int leaseSeconds) {
    java.time.OffsetDateTime at = Timestamps.utc(now);
    return pool.preparedQuery(OPEN).execute(Tuple.of(before, at))
        .compose(v -> pool.preparedQuery(CLAIM).execute(Tuple.of(limit, leaseSeconds, at)))
        .map(rows -> {
          List<Due> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new Due(r.getLocalDate(0), r.getString(1), r.getInteger(2)));
          }
          return out;
        });
  }

  /** The counts of a report: every node's, every kind of session. */
  public Future<List<Count>> counts(Due d) {
    return pool.preparedQuery("SELECT policy_type, policy_strings, mx_hosts, result, sending_ip, receiving_mx, "
            + "receiving_ip, detail, sessions FROM tls_report_counts WHERE day = $1 AND policy_domain = $2 "
            + "ORDER BY policy_type, policy_strings, mx_hosts, result, receiving_mx, receiving_ip")
        .execute(Tuple.of(d.day(), d.policyDomain()))
        .map(rows -> {
          List<Count> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new Count(d.day(), d.policyDomain(), r.getString(0), r.getString(1), r.getString(2),
                r.getString(3), r.getString(4), r.getString(5), r.getString(6), r.getString(7), r.getLong(8)));
          }
          return out;
        });
  }

  /**
   * The report sent (error null) or given up, its counts deleted; with {@code mail}, the messages that carry it
   * committed in the same transaction (recipients leased to {@code leaseOwner}), so that it is neither lost nor sent
   * twice. Fails, committing nothing, when the report was claimed again since this claim.
   */
  public Future<Void> done(Due d, String error, List<NewMessage> mail, String leaseOwner, int leaseSeconds) {
    return pool.withTransaction(conn -> conn.preparedQuery("UPDATE tls_reports SET done_at = now(), last_error = $4 "
            + "WHERE day = $1 AND policy_domain = $2 AND attempts = $3 AND done_at IS NULL")
        .execute(Tuple.of(d.day(), d.policyDomain(), d.attempts(), error == null ? null : clip(error)))
        .compose(updated -> updated.rowCount() != 1
            ? Future.failedFuture(new IllegalStateException("claimed again since (its lease ran out)"))
            : conn.preparedQuery("DELETE FROM tls_report_counts WHERE day = $1 AND policy_domain = $2")
                .execute(Tuple.of(d.day(), d.policyDomain())))
        .compose(v -> mail.isEmpty() ? Future.succeededFuture()
            : MessageStore.insertOn(conn, mail, leaseOwner, leaseSeconds))).mapEmpty();
  }

  /** The report to try again at {@code at}, with what went wrong (unless it was claimed again since). */
  public Future<Void> retry(Due d, Instant at, String error) {
    return pool.preparedQuery("UPDATE tls_reports SET next_attempt_at = $4, last_error = $5 "
            + "WHERE day = $1 AND policy_domain = $2 AND attempts = $3 AND done_at IS NULL")
        .execute(Tuple.of(d.day(), d.policyDomain(), d.attempts(), Timestamps.utc(at), clip(error))).mapEmpty();
  }

  /**
   * Forgets reports done before {@code before}, and counts of days before it that no report took (a node that wrote
   * them after their day's report was sent).
   */
  public Future<Void> sweep(LocalDate before) {
    return pool.preparedQuery("DELETE FROM tls_reports WHERE day < $1 AND done_at IS NOT NULL")
        .execute(Tuple.of(before))
        .compose(v -> pool.preparedQuery("DELETE FROM tls_report_counts c WHERE day < $1 AND NOT EXISTS "
            + "(SELECT 1 FROM tls_reports r WHERE r.day = c.day AND r.policy_domain = c.policy_domain "
            + "AND r.done_at IS NULL)").execute(Tuple.of(before)))
        .mapEmpty();
  }

  private static String clip(String s) {
    String t = s == null ? "failed" : s;
    return t.length() > 500 ? t.substring(0, 500) : t;
  }
}
