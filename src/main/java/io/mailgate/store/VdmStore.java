package io.mailgate.store;

import io.mailgate.feedback.MailboxProviders;
import io.mailgate.send.MessageIds;
import io.mailgate.send.SendAuthorization;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Virtual Deliverability Manager's metrics (V48): each UTC day's counts of the messages sent that day by the accounts
 * that turned VDM on, by account, sending identity, configuration set and the recipient's mailbox provider, computed
 * from the messages themselves ({@link #count}) and kept in {@code vdm_metrics} for BatchGetMetricData to sum
 * ({@link #series}). A day is computed whole, by one node at a time (a lease on its {@code vdm_days} row), and its rows
 * replaced at once; it is computed again while it is recent, so a late bounce, complaint, open or click counts too, on
 * the day of the message it is about (SES's VDM rates are of the messages sent: a day's bounce rate is of that day's
 * sends). Nothing is counted on the send or delivery path.
 *
 * <p>As SES: only messages with one recipient count, none to the mailbox simulator, none never sent (a template that
 * could not be rendered); bounces and complaints SES made for the account's suppression list are left out (a bounce
 * for the global list is not); an unconfirmed complaint (V31: nothing ties it to its recipient) does not count, as it
 * does not for reputation. OPEN and CLICK are unique: a message opened twice counts once.
 */
public final class VdmStore {
  /** BatchGetMetricData's metrics, each a column of {@code vdm_metrics}. */
  public enum Metric {
    SEND, DELIVERY, PERMANENT_BOUNCE, TRANSIENT_BOUNCE, COMPLAINT, OPEN, CLICK, DELIVERY_OPEN, DELIVERY_CLICK,
    DELIVERY_COMPLAINT;

    /** Its column: its name in lower case (an enum's, never a caller's text). */
    String column() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** The dimensions a day's counts are kept by; {@code configurationSet} empty for messages sent without one. */
  public record Group(String accountId, String identity, String configurationSet, String isp) {}

  /** One day of a series: its start (midnight UTC) and the metric's sum. */
  public record Point(LocalDate day, long value) {}

  /**
   * What a query is narrowed to: each non-null list the values its dimension may have (identities and providers
   * compared in lower case, configuration sets as given).
   */
  public record Filter(List<String> identities, List<String> configurationSets, List<String> isps) {
    public static final Filter NONE = new Filter(null, null, null);
  }

  /** The most messages one statement reads: well under a second's work (as {@link SendingHistory}'s). */
  static final int MESSAGES_PER_STATEMENT = 20_000;

  /** Far longer than a statement's messages take. */
  private static final String TIMEOUT = "SET LOCAL statement_timeout = '120s'";

  /**
   * The next messages of a day after id $1 and before $2, $4 at most of any account; of those of the accounts $3, what
   * each one's recipient, bounces, complaints and tracking came to, grouped; with every group, how many messages the
   * statement read and the last one's id, where the walk goes on from (one row of them alone when no message counted).
   * The limit is on the messages read, not on those counted: where the accounts with VDM on send a small share of the
   * day, a limit on theirs would read the rest of the day in one statement. Each message's recipients, events and
   * tracking counts are found by their keys (laterals: the planner cannot start from those tables instead).
   */
  static final String COUNT = """
      WITH read AS MATERIALIZED (
        SELECT id, account_id, source, identity_name, configuration_set, trackers FROM messages
        WHERE id > $1 AND id < $2 ORDER BY id LIMIT $4
      ), walked AS (
        SELECT count(*) AS n, max(id) AS last FROM read
      ), m AS (
        SELECT * FROM read WHERE account_id = ANY($3)
      ), one AS (
        SELECT m.*, r.address, r.delivered_at FROM m CROSS JOIN LATERAL (
          SELECT min(address) AS address, min(delivered_at) AS delivered_at, count(*) AS n,
                 bool_or(state = 'rendering_failed') AS unsent
          FROM recipients WHERE message_id = m.id) r
        WHERE r.n = 1 AND NOT r.unsent AND lower(substring(r.address from '[^@]*$')) <> $5
      ), g AS (
        SELECT one.account_id, coalesce(one.identity_name, lower(substring(one.source from '[^@]*$'))) AS identity,
               coalesce(one.configuration_set, '') AS cs, lower(substring(one.address from '[^@]*$')) AS domain,
               count(*) AS send,
               count(*) FILTER (WHERE one.delivered_at IS NOT NULL) AS delivery,
               count(*) FILTER (WHERE ev.permanent) AS permanent_bounce,
               count(*) FILTER (WHERE ev.transient) AS transient_bounce,
               count(*) FILTER (WHERE ev.complaint) AS complaint,
               count(*) FILTER (WHERE tc.opened) AS open,
               count(*) FILTER (WHERE tc.clicked) AS click,
               count(*) FILTER (WHERE one.delivered_at IS NOT NULL AND (one.trackers & 1) <> 0) AS delivery_open,
               count(*) FILTER (WHERE one.delivered_at IS NOT NULL AND (one.trackers & 2) <> 0) AS delivery_click
        FROM one
        LEFT JOIN LATERAL (
          SELECT bool_or(e.type = 'Bounce' AND e.detail->>'bounceType' = 'Permanent'
                         AND e.detail->>'bounceSubType' IS DISTINCT FROM 'OnAccountSuppressionList') AS permanent,
                 bool_or(e.type = 'Bounce' AND e.detail->>'bounceType' IS DISTINCT FROM 'Permanent') AS transient,
                 bool_or(e.type = 'Complaint' AND NOT e.unconfirmed
                         AND e.detail->>'complaintSubType' IS DISTINCT FROM 'OnAccountSuppressionList') AS complaint
          FROM events e WHERE e.message_id = one.id AND e.type IN ('Bounce', 'Complaint')) ev ON true
        LEFT JOIN LATERAL (
          SELECT bool_or(t.type = 'Open') AS opened, bool_or(t.type = 'Click') AS clicked
          FROM tracking_counts t WHERE t.message_id = one.id AND t.n > 0) tc ON true
        GROUP BY 1, 2, 3, 4
      )
      SELECT w.n, w.last, g.* FROM walked w LEFT JOIN g ON true""";

  /**
   * The day's lease for node $2 until $3 seconds from now, when no other node holds it and the day was not computed
   * since $4 (a day never computed has no row yet).
   */
  static final String CLAIM = """
      INSERT INTO vdm_days AS d (day, lease_owner, lease_until) VALUES ($1, $2, now() + $3 * interval '1 second')
      ON CONFLICT (day) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until
      WHERE (d.lease_until IS NULL OR d.lease_until < now()) AND (d.computed_at IS NULL OR d.computed_at < $4)
      RETURNING day""";

  static final String DONE = """
      UPDATE vdm_days SET computed_at = $3, lease_owner = NULL, lease_until = NULL
      WHERE day = $1 AND lease_owner = $2""";

  /** The day's lease for node $2 extended to $3 seconds from now, while node $2 holds it. */
  static final String RENEW = """
      UPDATE vdm_days SET lease_until = now() + $3 * interval '1 second' WHERE day = $1 AND lease_owner = $2""";

  static final String RELEASE = """
      UPDATE vdm_days SET lease_owner = NULL, lease_until = NULL WHERE day = $1 AND lease_owner = $2""";

  /** The day's rows: $2 to $5 their dimensions, $6 to $15 their metrics in the order of {@link Metric}. */
  static final String INSERT = """
      INSERT INTO vdm_metrics (account_id, day, identity, configuration_set, isp, send, delivery, permanent_bounce,
        transient_bounce, complaint, open, click, delivery_open, delivery_click, delivery_complaint)
      SELECT a, $1, i, c, p, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10
      FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],
                  $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[],
                  $15::bigint[]) AS g(a, i, c, p, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10)""";

  private final Pool pool;
  private final int perStatement;

  public VdmStore(Pool pool) {
    this(pool, MESSAGES_PER_STATEMENT);
  }

  VdmStore(Pool pool, int perStatement) {
    this.pool = pool;
    this.perStatement = perStatement;
  }

  /** The accounts with VDM turned on (PutAccountVdmAttributes' VdmEnabled), in id order. */
  public Future<List<String>> enabledAccounts() {
    return pool.query("SELECT id FROM accounts WHERE vdm_attributes->>'VdmEnabled' = 'ENABLED' ORDER BY id").execute()
        .map(rows -> {
          List<String> out = new ArrayList<>(rows.size());
          rows.forEach(r -> out.add(r.getString(0)));
          return out;
        });
  }

  /**
   * Takes {@code day} for {@code owner} for {@code leaseSeconds}, when it was not computed since {@code notSince} and
   * no other node has it: true when taken.
   */
  public Future<Boolean> claim(LocalDate day, String owner, int leaseSeconds, Instant notSince) {
    return pool.preparedQuery(CLAIM)
        .execute(Tuple.of(day, owner, leaseSeconds, Timestamps.utc(notSince)))
        .map(rows -> rows.rowCount() > 0);
  }

  /** Gives {@code day} up (its computation failed): another pass, of any node, may take it at once. */
  public Future<Void> release(LocalDate day, String owner) {
    return pool.preparedQuery(RELEASE).execute(Tuple.of(day, owner)).mapEmpty();
  }

  /**
   * The day's counts of the messages of {@code accounts} sent on {@code day} (UTC), by group, in the order of
   * {@link Metric}: read in statements of a bounded number of messages each, along the primary key (message ids begin
   * with their time), {@code owner}'s lease on the day renewed for {@code leaseSeconds} before each statement after
   * the first; fails, having read no further, once the lease is no longer {@code owner}'s (another node took the day
   * over: its computation replaces this one's).
   */
  public Future<Map<Group, long[]>> count(LocalDate day, List<String> accounts, String owner, int leaseSeconds) {
    return count(day, accounts, () -> pool.preparedQuery(RENEW).execute(Tuple.of(day, owner, leaseSeconds))
        .map(rows -> rows.rowCount() > 0));
  }

  /** {@link #count(LocalDate, List, String, int)} holding no lease (a benchmark's, a test's). */
  public Future<Map<Group, long[]>> count(LocalDate day, List<String> accounts) {
    return count(day, accounts, () -> Future.succeededFuture(true));
  }

  /**
   * {@link #count(LocalDate, List, String, int)} with {@code goOn} asked before each statement after the first: false
   * fails the count (a lost lease).
   */
  Future<Map<Group, long[]>> count(LocalDate day, List<String> accounts, Supplier<Future<Boolean>> goOn) {
    Map<Group, long[]> out = new HashMap<>();
    if (accounts.isEmpty()) {
      return Future.succeededFuture(out);
    }
    String from = MessageIds.prefix(day.atStartOfDay(ZoneOffset.UTC).toInstant());
    String until = MessageIds.prefix(day.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant());
    return counted(from, until, accounts.toArray(String[]::new), out, goOn).map(v -> out);
  }

  private Future<Void> counted(String after, String until, String[] accounts, Map<Group, long[]> out,
      Supplier<Future<Boolean>> goOn) {
    Tuple args = Tuple.of(after, until, accounts, perStatement, SendAuthorization.SIMULATOR_DOMAIN);
    return Database.indexScansOnly(pool, conn -> conn.query(TIMEOUT).execute()
            .compose(v -> conn.preparedQuery(COUNT).execute(args)))
        .compose(rows -> {
          long messages = 0;
          String last = null;
          for (Row r : rows) {
            messages = r.getLong(0);
            last = r.getString(1);
            if (r.getString(2) != null) {
              add(r, out);
            }
          }
          if (messages < perStatement) {
            return Future.<Void>succeededFuture();
          }
          String next = last;
          return goOn.get().compose(more -> more ? counted(next, until, accounts, out, goOn)
              : Future.failedFuture(new LeaseLost()));
        });
  }

  /** A row of {@link #COUNT}'s groups added to {@code out}, its recipient domain made a provider. */
  private static void add(Row r, Map<Group, long[]> out) {
    String provider = MailboxProviders.ofDomain(r.getString(5));
    String isp = provider == null ? MailboxProviders.OTHER : provider;
    long[] counts = out.computeIfAbsent(new Group(r.getString(2), r.getString(3), r.getString(4), isp),
        k -> new long[Metric.values().length]);
    for (int i = 0; i < Metric.DELIVERY_COMPLAINT.ordinal(); i++) {
      counts[i] += r.getLong(6 + i);
    }
    if (MailboxProviders.hasFeedbackLoop(provider)) {
      counts[Metric.DELIVERY_COMPLAINT.ordinal()] += r.getLong(6 + Metric.DELIVERY.ordinal());
    }
  }

  /** The day's lease is no longer this node's: another node took the day over. */
  public static final class LeaseLost extends RuntimeException {
    LeaseLost() {
      super("another node took the day over", null, false, false);
    }
  }

  /**
   * The day's rows of {@code accounts} replaced by {@code counts} and the day marked computed at {@code at}, in one
   * transaction, while {@code owner} still holds its lease: false (nothing written) when it does not.
   */
  public Future<Boolean> replace(LocalDate day, String owner, List<String> accounts, Map<Group, long[]> counts,
      Instant at) {
    List<Map.Entry<Group, long[]>> rows = new ArrayList<>(counts.entrySet());
    // one order of keys: two nodes' writes of a day (one whose lease ran out) wait for each other, never deadlock
    rows.sort(Comparator.comparing((Map.Entry<Group, long[]> e) -> e.getKey().accountId())
        .thenComparing(e -> e.getKey().identity()).thenComparing(e -> e.getKey().configurationSet())
        .thenComparing(e -> e.getKey().isp()));
    int n = rows.size();
    int width = Metric.values().length;
    Object[] args = new Object[5 + width];
    args[0] = day;
    String[][] dimensions = new String[4][n];
    Long[][] metrics = new Long[width][n];
    for (int i = 0; i < n; i++) {
      Group g = rows.get(i).getKey();
      dimensions[0][i] = g.accountId();
      dimensions[1][i] = g.identity();
      dimensions[2][i] = g.configurationSet();
      dimensions[3][i] = g.isp();
      long[] v = rows.get(i).getValue();
      for (int k = 0; k < width; k++) {
        metrics[k][i] = v[k];
      }
    }
    System.arraycopy(dimensions, 0, args, 1, 4);
    System.arraycopy(metrics, 0, args, 5, width);
    return pool.withTransaction(conn -> conn.preparedQuery(DONE).execute(Tuple.of(day, owner, Timestamps.utc(at)))
            .compose(done -> done.rowCount() == 0 ? Future.failedFuture(new LeaseLost())
                : conn.preparedQuery("DELETE FROM vdm_metrics WHERE day = $1 AND account_id = ANY($2)")
                    .execute(Tuple.tuple().addValue(day).addArrayOfString(accounts.toArray(String[]::new))))
            .compose(gone -> n == 0 ? Future.succeededFuture()
                : conn.preparedQuery(INSERT).execute(Tuple.from(args))))
        .map(v -> true)
        .recover(e -> e instanceof LeaseLost ? Future.succeededFuture(false) : Future.failedFuture(e));
  }

  /**
   * A series asked for: {@code metric} each day from {@code from} to {@code to} (both included) that has any row,
   * summed over the groups {@code filter} lets through.
   */
  public record Series(Metric metric, LocalDate from, LocalDate to, Filter filter) {}

  /** The account's one {@link Series}, in day order. */
  public Future<List<Point>> series(String accountId, Metric metric, LocalDate from, LocalDate to, Filter filter) {
    return series(accountId, List.of(new Series(metric, from, to, filter))).map(all -> all.get(0));
  }

  /**
   * The account's {@code asked} series, in its order, each in day order, all read from one snapshot: a batch read
   * while a day is computed again has the day's rows from before or from after, never some metrics of each.
   */
  public Future<List<List<Point>>> series(String accountId, List<Series> asked) {
    return pool.withTransaction(conn -> conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute()
        .compose(v -> {
          List<Future<List<Point>>> each = new ArrayList<>(asked.size());
          for (Series q : asked) {
            each.add(series(conn, accountId, q));
          }
          return Future.all(each).map(all -> each.stream().map(Future::result).toList());
        }));
  }

  private static Future<List<Point>> series(SqlConnection conn, String accountId, Series q) {
    String sql = "SELECT day, sum(" + q.metric().column() + ")::bigint FROM vdm_metrics "
        + "WHERE account_id = $1 AND day >= $2 AND day <= $3 "
        + "AND ($4::text[] IS NULL OR lower(identity) IN (SELECT lower(v) FROM unnest($4::text[]) v)) "
        + "AND ($5::text[] IS NULL OR configuration_set = ANY($5)) "
        + "AND ($6::text[] IS NULL OR lower(isp) IN (SELECT lower(v) FROM unnest($6::text[]) v)) "
        + "GROUP BY day ORDER BY day";
    Filter filter = q.filter();
    return conn.preparedQuery(sql)
        .execute(Tuple.of(accountId, q.from(), q.to(), array(filter.identities()), array(filter.configurationSets()),
            array(filter.isps())))
        .map(rows -> {
          List<Point> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new Point(r.getLocalDate(0), r.getLong(1)));
          }
          return out;
        });
  }

  /** One row of {@link #table}: a day, the values of the dimensions grouped by, and every metric's sum. */
  public record Sums(LocalDate day, List<String> dimensions, long[] metrics) {
    public long get(Metric m) {
      return metrics[m.ordinal()];
    }
  }

  /** The dimensions {@link #table} may group by, by their names in the API: their columns. */
  public static final Map<String, String> DIMENSION_COLUMNS = Map.of("EMAIL_IDENTITY", "identity",
      "CONFIGURATION_SET", "configuration_set", "ISP", "isp");

  /**
   * The account's metrics each day from {@code from} to {@code to} (both included), summed over the groups
   * {@code filter} lets through by day and by the dimensions {@code groupBy} names (of {@link #DIMENSION_COLUMNS}), in
   * order of day then dimensions; {@code limit} rows at most.
   */
  public Future<List<Sums>> table(String accountId, LocalDate from, LocalDate to, Filter filter, List<String> groupBy,
      int limit) {
    StringBuilder columns = new StringBuilder();
    for (String d : groupBy) {
      String column = DIMENSION_COLUMNS.get(d);
      if (column == null) {
        throw new IllegalArgumentException("no dimension " + d);
      }
      columns.append(", ").append(column);
    }
    StringBuilder sums = new StringBuilder();
    for (Metric m : Metric.values()) {
      sums.append(", sum(").append(m.column()).append(")::bigint");
    }
    String sql = "SELECT day" + columns + sums + " FROM vdm_metrics "
        + "WHERE account_id = $1 AND day >= $2 AND day <= $3 "
        + "AND ($4::text[] IS NULL OR lower(identity) IN (SELECT lower(v) FROM unnest($4::text[]) v)) "
        + "AND ($5::text[] IS NULL OR configuration_set = ANY($5)) "
        + "AND ($6::text[] IS NULL OR lower(isp) IN (SELECT lower(v) FROM unnest($6::text[]) v)) "
        + "GROUP BY day" + columns + " ORDER BY day" + columns + " LIMIT $7";
    int width = groupBy.size();
    return pool.preparedQuery(sql)
        .execute(Tuple.of(accountId, from, to, array(filter.identities()), array(filter.configurationSets()),
            array(filter.isps()), limit))
        .map(rows -> {
          List<Sums> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            List<String> dims = new ArrayList<>(width);
            for (int i = 0; i < width; i++) {
              dims.add(r.getString(1 + i));
            }
            long[] metrics = new long[Metric.values().length];
            for (int i = 0; i < metrics.length; i++) {
              metrics[i] = r.getLong(1 + width + i);
            }
            out.add(new Sums(r.getLocalDate(0), dims, metrics));
          }
          return out;
        });
  }

  private static String[] array(List<String> values) {
    return values == null ? null : values.toArray(String[]::new);
  }
}
