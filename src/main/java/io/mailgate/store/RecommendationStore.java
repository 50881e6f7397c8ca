package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Virtual Deliverability Manager's recommendations (V51), by account, identity and type: what the advisor found
 * ({@link #record}), read a page at a time ({@link #page}), and the claim that has one node check an account at a time
 * ({@link #claim}).
 */
public final class RecommendationStore {
  /** A stored recommendation: OPEN or FIXED, LOW or HIGH. */
  public record Recommendation(String identity, String type, String description, String status, String impact,
      Instant createdAt, Instant updatedAt) {}

  /**
   * What a check found for one identity and type: a recommendation ({@code description} and {@code impact}), or,
   * with a null description, nothing to fix (an open one is FIXED), or, {@code withdrawn}, nothing to judge by (one
   * stored is forgotten: BIMI while DMARC is not enforced, a rate of an identity that sent nothing).
   */
  public record Finding(String identity, String type, String description, String impact, boolean withdrawn) {
    public Finding(String identity, String type, String description, String impact) {
      this(identity, type, description, impact, false);
    }

    public static Finding fine(String identity, String type) {
      return new Finding(identity, type, null, null, false);
    }

    public static Finding withdrawn(String identity, String type) {
      return new Finding(identity, type, null, null, true);
    }
  }

  /** ListRecommendations' filter: null where a key is not given; {@code identity} compared without case. */
  public record Filter(String type, String impact, String status, String identity) {}

  /** An identity's VDM sums over some days. */
  public record Sums(long send, long permanentBounce, long complaint, long deliveryComplaint) {}

  static final String CLAIM = """
      INSERT INTO vdm_advised AS a (account_id, advised_at, advised_by) VALUES ($1, $2, $4)
      ON CONFLICT (account_id) DO UPDATE SET advised_at = $2, advised_by = $4 WHERE a.advised_at < $3
      RETURNING account_id""";

  /** The check's claim, locked until the findings are written (a node claiming it meanwhile waits), while it holds. */
  static final String FENCE = """
      SELECT 1 FROM vdm_advised WHERE account_id = $1 AND advised_at = $2 AND advised_by = $3 FOR UPDATE""";

  /** The complaints counted are those of the providers whose deliveries delivery_complaint counts ($3). */
  static final String SUMS = """
      SELECT lower(identity), sum(send), sum(permanent_bounce), sum(complaint) FILTER (WHERE isp = ANY($3)),
        sum(delivery_complaint)
      FROM vdm_metrics WHERE account_id = $1 AND day >= $2 GROUP BY 1""";

  static final String FORGET = """
      DELETE FROM vdm_recommendations WHERE account_id = $1 AND NOT (identity = ANY($2))""";

  static final String WITHDRAW = """
      DELETE FROM vdm_recommendations r USING unnest($2::text[], $3::text[]) AS w(identity, type)
      WHERE r.account_id = $1 AND r.identity = w.identity AND r.type = w.type""";

  /** Open (again): changed only when something about it changed, so updated_at says when it last did. */
  static final String OPEN = """
      INSERT INTO vdm_recommendations AS r (account_id, identity, type, description, impact, status, created_at,
        updated_at)
      VALUES ($1, $2, $3, $4, $5, 'OPEN', $6, $6)
      ON CONFLICT (account_id, identity, type) DO UPDATE SET description = $4, impact = $5, status = 'OPEN',
        updated_at = $6
      WHERE r.status <> 'OPEN' OR r.description <> $4 OR r.impact <> $5""";

  static final String FIXED = """
      UPDATE vdm_recommendations r SET status = 'FIXED', updated_at = $4
      FROM unnest($2::text[], $3::text[]) AS f(identity, type)
      WHERE r.account_id = $1 AND r.identity = f.identity AND r.type = f.type AND r.status = 'OPEN'""";

  static final String PAGE = """
      SELECT identity, type, description, status, impact, created_at, updated_at FROM vdm_recommendations
      WHERE account_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR impact = $3)
        AND ($4::text IS NULL OR status = $4) AND ($5::text IS NULL OR lower(identity) = lower($5))
        AND ($6::text IS NULL OR (identity, type) > ($6, $7))
      ORDER BY identity, type LIMIT $8""";

  private final Pool pool;

  public RecommendationStore(Pool pool) {
    this.pool = pool;
  }

  /** A node's claim of an account's check: who took it, when ({@link #claim}, {@link #record}). */
  public record Claim(String accountId, Instant at, String owner) {}

  /**
   * Takes the account's check for {@code owner}, at {@code now}, when no node took it since {@code notSince}: the
   * claim, or null when not taken (a node that dies with it leaves the next check to the next period).
   */
  public Future<Claim> claim(String accountId, String owner, Instant now, Instant notSince) {
    Instant at = now.truncatedTo(ChronoUnit.MICROS); // as PostgreSQL keeps it: the fence compares it
    return pool.preparedQuery(CLAIM)
        .execute(Tuple.of(accountId, Timestamps.utc(at), Timestamps.utc(notSince), owner))
        .map(rows -> rows.rowCount() == 1 ? new Claim(accountId, at, owner) : null);
  }

  /**
   * The account's sums by identity (lower case) over the days from {@code from} on, complaints of the providers
   * {@code feedbackLoops} only (those delivery_complaint counts the deliveries to).
   */
  public Future<Map<String, Sums>> sums(String accountId, LocalDate from, List<String> feedbackLoops) {
    return pool.preparedQuery(SUMS).execute(Tuple.tuple().addValue(accountId).addValue(from)
        .addArrayOfString(feedbackLoops.toArray(String[]::new))).map(rows -> {
      Map<String, Sums> out = new HashMap<>();
      for (Row r : rows) {
        Long complaints = r.getLong(3); // null: no row of those providers
        out.put(r.getString(0), new Sums(r.getLong(1), r.getLong(2), complaints == null ? 0 : complaints,
            r.getLong(4)));
      }
      return out;
    });
  }

  /**
   * Writes a check's findings, at {@code now}, in one transaction, while {@code claim} is still the account's (false,
   * nothing written, when another node took the check over): a recommendation found is OPEN, one found fixed is FIXED,
   * one withdrawn is forgotten, one not checked this time (DNS could not say) stays as it was; those of identities not
   * in {@code identities} (no longer the account's, or not verified) are forgotten.
   */
  public Future<Boolean> record(Claim claim, Collection<String> identities, List<Finding> findings, Instant now) {
    String accountId = claim.accountId();
    List<Tuple> open = new ArrayList<>();
    List<String> fixed = new ArrayList<>();
    List<String> withdrawn = new ArrayList<>();
    for (Finding f : findings) {
      if (f.description() != null) {
        open.add(Tuple.of(accountId, f.identity(), f.type(), f.description(), f.impact(), Timestamps.utc(now)));
      } else {
        List<String> to = f.withdrawn() ? withdrawn : fixed;
        to.add(f.identity());
        to.add(f.type());
      }
    }
    return pool.withTransaction(conn -> conn.preparedQuery(FENCE)
        .execute(Tuple.of(accountId, Timestamps.utc(claim.at()), claim.owner()))
        .compose(held -> held.size() == 0 ? Future.succeededFuture(false) : conn.preparedQuery(FORGET)
            .execute(Tuple.tuple().addValue(accountId).addArrayOfString(identities.toArray(String[]::new)))
            .compose(v -> open.isEmpty() ? Future.succeededFuture() : conn.preparedQuery(OPEN).executeBatch(open))
            .compose(v -> pairs(conn, FIXED, accountId, fixed, Timestamps.utc(now)))
            .compose(v -> pairs(conn, WITHDRAW, accountId, withdrawn, null))
            .map(true)));
  }

  /** {@code sql} run once with the account, the identities and types of {@code pairs} as arrays, and {@code at}. */
  private static Future<Void> pairs(SqlConnection conn, String sql, String accountId, List<String> pairs,
      OffsetDateTime at) {
    if (pairs.isEmpty()) {
      return Future.succeededFuture();
    }
    String[] identities = new String[pairs.size() / 2];
    String[] types = new String[identities.length];
    for (int i = 0; i < identities.length; i++) {
      identities[i] = pairs.get(2 * i);
      types[i] = pairs.get(2 * i + 1);
    }
    Tuple t = Tuple.tuple().addValue(accountId).addArrayOfString(identities).addArrayOfString(types);
    return conn.preparedQuery(sql).execute(at == null ? t : t.addValue(at)).mapEmpty();
  }

  /** Up to {@code limit} of the account's recommendations by identity and type, after {@code after} (null: first). */
  public Future<List<Recommendation>> page(String accountId, Filter filter, Position after, int limit) {
    return pool.preparedQuery(PAGE).execute(Tuple.from(new Object[] {accountId, filter.type(), filter.impact(),
            filter.status(), filter.identity(), after == null ? null : after.identity(),
            after == null ? null : after.type(), limit}))
        .map(rows -> {
          List<Recommendation> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(new Recommendation(r.getString(0), r.getString(1), r.getString(2), r.getString(3),
                r.getString(4), r.getOffsetDateTime(5).toInstant(), r.getOffsetDateTime(6).toInstant()));
          }
          return out;
        });
  }

  /** Where a page ends: its last recommendation's identity and type ({@link #of}, {@link #toString}). */
  public record Position(String identity, String type) {
    /** A position written by {@link #toString}, or null when {@code s} is not one. */
    public static Position of(String s) {
      int at = s.lastIndexOf('\n');
      return at < 0 ? null : new Position(s.substring(0, at), s.substring(at + 1));
    }

    @Override
    public String toString() {
      return identity + "\n" + type;
    }
  }
}
