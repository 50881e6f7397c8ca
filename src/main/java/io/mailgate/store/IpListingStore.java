package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The sending addresses' DNS blocklist listings (V52): claims to look one up, what was found, the listings. */
public final class IpListingStore {
  /** A current listing: the zone, since when, and what the blocklist says of it. */
  public record Listing(String zone, Instant listedAt, String description) {}

  static final String CLAIM = """
      INSERT INTO ip_listings AS l (address, zone, checked_at) VALUES ($1, $2, $3)
      ON CONFLICT (address, zone) DO UPDATE SET checked_at = $3 WHERE l.checked_at < $4
      RETURNING listed_at""";

  /** Listed: since the first time it was found so (kept while it stays listed). */
  static final String LISTED = """
      UPDATE ip_listings SET listed_at = coalesce(listed_at, $3), description = $4 WHERE address = $1 AND zone = $2
      RETURNING listed_at""";

  static final String CLEAR = """
      UPDATE ip_listings SET listed_at = NULL, description = NULL WHERE address = $1 AND zone = $2""";

  static final String LISTINGS = """
      SELECT address, zone, listed_at, description FROM ip_listings
      WHERE address = ANY($1) AND listed_at IS NOT NULL ORDER BY address, zone""";

  private final Pool pool;

  public IpListingStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * Takes the look-up of {@code address} in {@code zone}, at {@code now}, when no node took it since
   * {@code notSince}: whether it was listed until now (null: not), empty when not taken.
   */
  public Future<java.util.Optional<Listed>> claim(String address, String zone, Instant now, Instant notSince) {
    return pool.preparedQuery(CLAIM).execute(Tuple.of(address, zone, Timestamps.utc(now), Timestamps.utc(notSince)))
        .map(rows -> rows.size() == 0 ? java.util.Optional.empty() : java.util.Optional.of(new Listed(
            rows.iterator().next().getOffsetDateTime(0) == null ? null
                : rows.iterator().next().getOffsetDateTime(0).toInstant())));
  }

  /** Whether an address was listed when it was claimed: since when, null when not. */
  public record Listed(Instant since) {}

  /** {@code address} is listed in {@code zone}, found so at {@code now}: since when it is. */
  public Future<Instant> listed(String address, String zone, String description, Instant now) {
    return pool.preparedQuery(LISTED).execute(Tuple.of(address, zone, Timestamps.utc(now), description))
        .map(rows -> rows.size() == 0 ? now : rows.iterator().next().getOffsetDateTime(0).toInstant());
  }

  /** {@code address} is not listed in {@code zone}. */
  public Future<Void> clear(String address, String zone) {
    return pool.preparedQuery(CLEAR).execute(Tuple.of(address, zone)).mapEmpty();
  }

  /** The current listings of {@code addresses}, by address (those without any absent). */
  public Future<Map<String, List<Listing>>> listings(List<String> addresses) {
    return pool.preparedQuery(LISTINGS).execute(Tuple.tuple().addArrayOfString(addresses.toArray(String[]::new)))
        .map(rows -> {
          Map<String, List<Listing>> out = new HashMap<>();
          for (Row r : rows) {
            out.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(new Listing(r.getString(1),
                r.getOffsetDateTime(2).toInstant(), r.getString(3)));
          }
          return out;
        });
  }
}
