package io.mailgate.store;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Open and Click events, kept with the message (its events, as GetMessageInsights and the status API read them) and
 * written to the event outbox for the enabled destinations of the message's configuration set that take them, read
 * in the statement (a destination disabled since the send gets none; a message retention has deleted gets nothing).
 * Concurrent hits are grouped into one statement ({@link GroupCommit}), at most two at a time: a newsletter's opens
 * come in bursts, and the endpoints that feed this are open to anyone holding a link, so they must not take the
 * connections sends need. Beyond {@link #MAX_WAITING} hits waiting, more are refused at once; beyond
 * {@link #MAX_PER_MESSAGE} Opens (or Clicks) of one message, more are not recorded.
 */
public final class TrackingStore {
  /** Hits waiting to be written, per instance, beyond which new ones are not recorded. */
  static final int MAX_WAITING = 20_000;
  /**
   * The Opens, and the Clicks, one message has recorded at most; later ones are answered (the image, the redirect)
   * but leave no event. No reader opens a message a thousand times: past that it is a script looping on a link, which
   * would otherwise grow the events table and flood the tenant's destinations without end. The count is kept per
   * message and type ({@code tracking_counts}): statements running at the same moment wait for each other's count, so
   * the cap is exact. Messages tracked before that table (V29) start counting from 0.
   */
  public static final int MAX_PER_MESSAGE = 1_000;

  /** A recipient's open or click of a message: the SES event type and its detail object. */
  public record Hit(String messageId, String type, String detailJson, Instant at) {}

  /** Refused without being tried: too many hits are waiting. */
  public static final class Busy extends RuntimeException {
    Busy() {
      super("too many open and click events waiting to be written", null, false, false);
    }
  }

  private static final Busy BUSY = new Busy();

  /**
   * The hits of messages that exist, each within its message's {@link #MAX_PER_MESSAGE} of its type: the message's
   * count of that type ({@code tracking_counts}, one row per message and type, upserted once per batch in a fixed
   * order, so concurrent statements take their row locks alike and each counts what the other added) before the
   * batch, and the batch's own hits before it. Returns the (message, type) pairs the batch left full.
   */
  static final String INSERT = """
      WITH t AS (
        SELECT t.*, row_number() OVER (PARTITION BY t.mid, t.type ORDER BY t.n) AS nth
        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
          WITH ORDINALITY AS t(mid, type, detail, ts, n)
      ), batch AS (
        SELECT t.mid, t.type, count(*) AS hits FROM t JOIN messages m ON m.id = t.mid GROUP BY t.mid, t.type
      ), counted AS (
        INSERT INTO tracking_counts (message_id, type, n)
        SELECT mid, type, hits FROM batch ORDER BY mid, type
        ON CONFLICT (message_id, type) DO UPDATE SET n = tracking_counts.n + EXCLUDED.n
        RETURNING message_id, type, n
      ), counts AS (
        SELECT k.message_id AS mid, k.type, k.n - b.hits AS before, k.n AS after
        FROM counted k JOIN batch b ON b.mid = k.message_id AND b.type = k.type
      ), hits AS (
        SELECT m.id, m.account_id, m.configuration_set, t.type, t.detail::jsonb AS detail, t.ts
        FROM t JOIN counts c ON c.mid = t.mid AND c.type = t.type JOIN messages m ON m.id = t.mid
        WHERE c.before + t.nth <= %1$d
      ), recorded AS (
        INSERT INTO events (message_id, account_id, type, recipient, detail, created_at)
        SELECT h.id, h.account_id, h.type, NULL, h.detail, h.ts FROM hits h
      ), published AS (
        INSERT INTO event_outbox (destination_id, message_id, type, detail, created_at, next_attempt_at)
        SELECT d.id, h.id, h.type, h.detail, h.ts, h.ts FROM hits h
        JOIN event_destinations d ON d.account_id = h.account_id AND d.configuration_set = h.configuration_set
        WHERE d.enabled AND h.type = ANY(d.event_types)
      )
      SELECT mid, type FROM counts WHERE after >= %1$d""".formatted(MAX_PER_MESSAGE);

  /**
   * How many (message, type) pairs found full an instance remembers, the last learned kept: a looping script or a
   * link checker on one link then costs no statement per hit (each read {@link #MAX_PER_MESSAGE} index entries to
   * learn that nothing is to be written).
   */
  static final int MAX_KNOWN_FULL = 10_000;

  private final Pool pool;
  /** Message id and type (a space between) of those known to have their {@link #MAX_PER_MESSAGE}, oldest first. */
  private final Map<String, Boolean> full = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > MAX_KNOWN_FULL;
    }
  };
  /** Each hit's own outcome: in a batch PostgreSQL refused, one hit may fail and the others be recorded. */
  private final GroupCommit<Hit, Future<Void>> commits;
  private int waiting;

  public TrackingStore(Vertx vertx, Pool pool) {
    this.pool = pool;
    this.commits = new GroupCommit<>(vertx, 0, 500, 2, this::insert);
  }

  /**
   * Completes once the hit's events are committed (none, when nobody takes them or the message has its
   * {@link #MAX_PER_MESSAGE}); fails with {@link Busy} at once, or when it was not, or may not have been, recorded.
   */
  public Future<Void> record(Hit hit) {
    if (!full.isEmpty() && full.containsKey(hit.messageId() + ' ' + hit.type())) {
      return RECORDED; // as the statement would: answered, nothing recorded
    }
    if (waiting >= MAX_WAITING) {
      return Future.failedFuture(BUSY);
    }
    waiting++;
    return commits.submit(hit).compose(outcome -> outcome).andThen(ar -> waiting--);
  }

  private static final Future<Void> RECORDED = Future.succeededFuture();

  /**
   * A batch in one statement, and each hit's outcome. A batch PostgreSQL refused (a data exception or a constraint:
   * nothing of it was written) is written again in halves, one after the other, down to the hit it refuses, so one bad
   * hit fails alone. Any other failure fails the whole batch, not written again: without PostgreSQL's answer (a
   * connection dropped, a timeout) the statement may have been committed, and writing its hits again would record
   * each twice; and a database that is failing is not to be sent a statement per hit.
   */
  private Future<List<Future<Void>>> insert(List<Hit> batch) {
    return execute(batch).map(r -> Collections.nCopies(batch.size(), RECORDED)).recover(e -> {
      if (!OutcomeStore.refused(e)) {
        return Future.failedFuture(e);
      }
      if (batch.size() == 1) {
        return Future.succeededFuture(List.of(Future.<Void>failedFuture(e)));
      }
      int half = batch.size() / 2;
      List<Hit> second = batch.subList(half, batch.size());
      return insert(batch.subList(0, half)).compose(
          first -> insert(second).otherwise(x -> Collections.nCopies(second.size(), Future.<Void>failedFuture(x)))
              .map(rest -> {
                List<Future<Void>> all = new ArrayList<>(first);
                all.addAll(rest);
                return all;
              }),
          x -> Future.succeededFuture(Collections.nCopies(batch.size(), Future.<Void>failedFuture(x))));
    });
  }

  private Future<?> execute(List<Hit> batch) {
    return statement(batch).onSuccess(rows -> {
      for (Row r : rows) { // those this batch filled, or found full
        full.put(r.getString(0) + ' ' + r.getString(1), Boolean.TRUE);
      }
    });
  }

  private Future<RowSet<Row>> statement(List<Hit> batch) {
    int n = batch.size();
    String[] ids = new String[n];
    String[] types = new String[n];
    String[] details = new String[n];
    OffsetDateTime[] times = new OffsetDateTime[n];
    for (int i = 0; i < n; i++) {
      Hit h = batch.get(i);
      ids[i] = h.messageId();
      types[i] = h.type();
      details[i] = h.detailJson();
      times[i] = Timestamps.utc(h.at());
    }
    return pool.preparedQuery(INSERT).execute(Tuple.of(ids, types, details, times));
  }
}
