package io.mailgate.store;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.function.Function;

/** Creates PostgreSQL pools from {@code pg.url}: prepared statements cached, pipelining on. */
public final class Database {
  private Database() {}

  /**
   * Whether PostgreSQL's SQLSTATE says it cannot serve now rather than anything about the statement: connection
   * exceptions (08), insufficient resources (53), the server starting or shutting down (57P).
   */
  public static boolean unavailableState(String sqlState) {
    String state = sqlState == null ? "" : sqlState;
    return state.startsWith("08") || state.startsWith("53") || state.startsWith("57P");
  }

  public static PgConnectOptions connectOptions(MailgateConfig config) {
    PgConnectOptions options = connectOptions(config.get(MailgateConfig.PG_URL))
        .setPipeliningLimit(config.get(MailgateConfig.PG_PIPELINING_LIMIT));
    int flushAfterKb = config.get(MailgateConfig.PG_BACKEND_FLUSH_AFTER_KB);
    if (flushAfterKb > 2048) { // never negative: ConfigKey refuses that
      throw new ConfigException("invalid value for " + MailgateConfig.PG_BACKEND_FLUSH_AFTER_KB.path() + " ("
          + MailgateConfig.PG_BACKEND_FLUSH_AFTER_KB.envName() + "): " + flushAfterKb + " is not between 0 and 2048");
    }
    if (flushAfterKb > 0) {
      // Sends write the tables at tens of MB/s and the backends evict most of those pages themselves; with
      // PostgreSQL's default (0) they pile up in the page cache and the kernel writes them out in one burst
      // every 30 s, during which every commit waits for its WAL flush (the rate scenario's 100-300 ms stalls)
      options.addProperty("backend_flush_after", flushAfterKb + "kB");
    }
    return options;
  }

  /**
   * Longest statement kept prepared. The client's default (2,048 characters) left the outcome
   * statement out: PostgreSQL parsed and planned it again for every batch.
   */
  static final int PREPARED_SQL_LIMIT = 16 * 1024;

  public static PgConnectOptions connectOptions(String url) {
    PgConnectOptions parsed;
    try {
      parsed = PgConnectOptions.fromUri(url);
    } catch (RuntimeException e) { // the client's message quotes the whole URL, password and all
      throw new ConfigException(MailgateConfig.PG_URL.path() + " is not a PostgreSQL URL "
          + "(postgresql://user:password@host:port/database, with a user name or password percent-encoded where it has "
          + "other characters than letters, digits, '-', '.', '_' and '~'): '"
          + io.mailgate.delivery.SmtpRoute.redacted(url.indexOf('?') < 0 ? url : url.substring(0, url.indexOf('?'))
              + (url.indexOf('?') < 0 ? "" : "?...")) + "'"); // a query string may carry the password too
    }
    return parsed
        .setCachePreparedStatements(true)
        .setPreparedStatementCacheMaxSize(64)
        .setPreparedStatementCacheSqlLimit(PREPARED_SQL_LIMIT)
        // a cached generic plan would be made while the tables are small (a seq scan of an empty
        // recipients table looks cheapest) and kept as they grow: plan with each batch's real size
        .addProperty("plan_cache_mode", "force_custom_plan")
        // Mailgate's statements are short: a plan whose estimate passes jit_above_cost (a claim across hundreds of
        // event destinations, one that believes a queue holds millions) was compiled before every execution,
        // 30-50 ms for a statement that runs in 2 (the event outbox claim, the retention scans)
        .addProperty("jit", "off");
  }

  /**
   * For the claims of the queues (recipients, event outbox, receipt outbox, feedback forwards): walk the queue's index
   * in order, as a plain index scan. Every row done with leaves a dead entry in that index until the table is vacuumed
   * (at thousands of sends a second, millions between two vacuums, and with none if autovacuum is off), and a row
   * claimed again (its next attempt pushed past its lease) one more. A plain index scan visits each dead entry's row
   * once and marks the entry dead, so later scans pass it without reading the table, and it stops at the claim's
   * limit. A bitmap scan, which the planner chooses while the table's statistics are stale or missing (a queue's
   * size swings by millions between two analyses; a new database; autovacuum off), reads every due row and every dead
   * entry again on every claim and sorts them: 190 ms of PostgreSQL's time per recipients scan after a million sends,
   * and 35 ms per event outbox claim with 12,000 events waiting, 280 µs per event claimed, which made the event
   * publisher slower the further it fell behind. {@code SET LOCAL}: this transaction only.
   */
  static final String INDEX_SCAN_ONLY = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off";

  /** {@code work} in a transaction whose statements are planned with {@link #INDEX_SCAN_ONLY}. */
  static <T> Future<T> indexScansOnly(Pool pool, Function<SqlConnection, Future<T>> work) {
    return pool.withTransaction(conn -> conn.query(INDEX_SCAN_ONLY).execute().compose(v -> work.apply(conn)));
  }

  /**
   * {@code work} in a transaction that first takes the transaction-scoped advisory lock ({@code key},
   * {@code hashtext(subject)}): one subject's transactions take turns, across nodes, where a row lock cannot hold what
   * does not exist yet (a count before an insert, a check before a write). Released at commit or rollback; two
   * subjects whose hashes collide only wait for each other.
   */
  public static <T> Future<T> inTurn(Pool pool, int key, String subject, Function<SqlConnection, Future<T>> work) {
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT 1 FROM pg_advisory_xact_lock($1, hashtext($2))")
        .execute(Tuple.of(key, subject)).compose(locked -> work.apply(conn)));
  }

  /** A pool owned by the calling verticle (its connections stay on that verticle's event loop). */
  public static Pool pool(Vertx vertx, MailgateConfig config, int size) {
    return pool(vertx, connectOptions(config), size);
  }

  /**
   * How long data sent to PostgreSQL may go unacknowledged before the connection is dropped (TCP_USER_TIMEOUT, with
   * the native transport): a server that vanished without a reset (a failover that moves an address, a dead host)
   * fails the statements waiting on it within this, rather than leaving them, and the claims, renewals and batches
   * that wait on them, pending for good. A slow statement is not affected: its request was acknowledged.
   */
  static final int TCP_USER_TIMEOUT_MILLIS = 30_000;

  private static Pool pool(Vertx vertx, PgConnectOptions options, int size) {
    return PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(size))
        .with((io.vertx.core.net.NetClientOptions) new io.vertx.core.net.NetClientOptions().setTcpKeepAlive(true)
            .setTcpUserTimeout(TCP_USER_TIMEOUT_MILLIS))
        .connectingTo(options)
        .using(vertx)
        .build();
  }

  /**
   * A pool for statements whose best plan does not depend on any table's size or on the
   * parameters (the accept statement: inserts of rows unnested from arrays, no joins): each
   * connection plans them once. Planning every batch was about a quarter of PostgreSQL's time.
   */
  public static Pool planOncePool(Vertx vertx, MailgateConfig config, int size) {
    return pool(vertx, connectOptions(config).addProperty("plan_cache_mode", "force_generic_plan"), size);
  }

  /**
   * Creates the configured database when it does not exist yet. The database itself is tried first: the {@code postgres}
   * maintenance database is connected to only when it does not exist (a login that may reach its own database alone,
   * or a pooler that lists only it, would otherwise fail every start). Fails when it can neither find nor create it.
   */
  public static Future<Void> ensureExists(Vertx vertx, MailgateConfig config) {
    PgConnectOptions target = connectOptions(config);
    return PgConnection.connect(vertx, target).compose(conn -> conn.close())
        .recover(e -> e instanceof io.vertx.pgclient.PgException pg && "3D000".equals(pg.getSqlState())
            ? create(vertx, target) : Future.failedFuture(e));
  }

  private static Future<Void> create(Vertx vertx, PgConnectOptions target) {
    PgConnectOptions admin = new PgConnectOptions(target).setDatabase("postgres");
    return PgConnection.connect(vertx, admin).compose(conn ->
        conn.preparedQuery("SELECT 1 FROM pg_database WHERE datname = $1")
            .execute(Tuple.of(target.getDatabase()))
            .compose(rows -> rows.size() > 0
                ? Future.<Void>succeededFuture()
                : conn.query("CREATE DATABASE \"" + target.getDatabase().replace("\"", "\"\"") + "\"")
                    .execute().<Void>mapEmpty()
                    // another node may have created it at the same moment
                    // (42P04 duplicate_database; or, created in the same instant, 23505 on pg_database's unique
                    // index; told by code, not by the server's message, which may not be in English)
                    .recover(e -> e instanceof io.vertx.pgclient.PgException pg
                        && ("42P04".equals(pg.getSqlState()) || "23505".equals(pg.getSqlState()))
                        ? Future.succeededFuture() : Future.failedFuture(e)))
            .eventually(conn::close));
  }
}
