package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.LocalDate;
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
   * with a null description, nothing to fix (an open one is FIXED).
   */
  public record Finding(String identity, String type, String description, String impact) {
    public static Finding fine(String identity, String type) {
      return new Finding(identity, type, null, null);
    }
  }

  /** ListRecommendations' filter: null where a key is not given; {@code identity} compared without case. */
  public record Filter(String type, String impact, String status, String identity) {}

  /** An identity's VDM sums over some days. */
  public record Sums(long send, long permanentBounce, long complaint, long deliveryComplaint) {}

  static final String CLAIM = """
      INSERT INTO vdm_advised AS a (account_id, advised_at) VALUES ($1, $2)
      ON CONFLICT (account_id) DO UPDATE SET advised_at = $2 WHERE a.advised_at < $3
      RETURNING account_id""";

  static final String SUMS = """
      SELECT lower(identity), sum(send), sum(permanent_bounce), sum(complaint), sum(delivery_complaint)
      FROM vdm_metrics WHERE account_id = $1 AND day >= $2 GROUP BY 1""";

  static final String FORGET = """
      DELETE FROM vdm_recommendations WHERE account_id = $1 AND NOT (identity = ANY($2))""";

  /** Open (again): changed only when something about it changed, so updated_at says when it last did. */
  static final String OPEN = """
      INSERT INTO vdm_recommendations AS r (account_id, identity, type, description, impact, status, created_at,
        updated_at)
      VALUES ($1, $2, $3, $4, $5, 'OPEN', $6, $6)
      ON CONFLICT (account_id, identity, type) DO UPDATE SET description = $4, impact = $5, status = 'OPEN',
        updated_at = $6
      WHERE r.status <> 'OPEN' OR r.description <> $4 OR r.impact <> $5""";

  static final String FIXED = """
      UPDATE vdm_recommendations SET status = 'FIXED', updated_at = $4
      WHERE account_id = $1 AND identity = $2 AND type = $3 AND status = 'OPEN'""";

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

  /**
   * Takes the account's check, at {@code now}, when no node took it since {@code notSince}: true when taken (a node
   * that dies with it leaves the next check to the next period).
   */
  public Future<Boolean> claim(String accountId, Instant now, Instant notSince) {
    return pool.preparedQuery(CLAIM).execute(Tuple.of(accountId, Timestamps.utc(now), Timestamps.utc(notSince)))
        .map(rows -> rows.rowCount() == 1);
  }

  /** The account's sums by identity (lower case) over the days from {@code from} on. */
  public Future<Map<String, Sums>> sums(String accountId, LocalDate from) {
    return pool.preparedQuery(SUMS).execute(Tuple.of(accountId, from)).map(rows -> {
      Map<String, Sums> out = new HashMap<>();
      for (Row r : rows) {
        out.put(r.getString(0), new Sums(r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4)));
      }
      return out;
    });
  }

  /**
   * Writes a check's findings, at {@code now}, in one transaction: a recommendation found is OPEN, one found fixed is
   * FIXED, one not checked this time (DNS could not say) as it was; those of identities not in {@code identities} (no
   * longer the account's, or not verified) are forgotten.
   */
  public Future<Void> record(String accountId, Collection<String> identities, List<Finding> findings, Instant now) {
    List<Tuple> open = new ArrayList<>();
    List<Tuple> fixed = new ArrayList<>();
    for (Finding f : findings) {
      if (f.description() != null) {
        open.add(Tuple.of(accountId, f.identity(), f.type(), f.description(), f.impact(), Timestamps.utc(now)));
      } else {
        fixed.add(Tuple.of(accountId, f.identity(), f.type(), Timestamps.utc(now)));
      }
    }
    return pool.withTransaction(conn -> conn.preparedQuery(FORGET)
            .execute(Tuple.tuple().addValue(accountId).addArrayOfString(identities.toArray(String[]::new)))
            .compose(v -> open.isEmpty() ? Future.succeededFuture() : conn.preparedQuery(OPEN).executeBatch(open))
            .compose(v -> fixed.isEmpty() ? Future.succeededFuture() : conn.preparedQuery(FIXED).executeBatch(fixed)))
        .mapEmpty();
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
