package io.mailgate.store;

import io.mailgate.config.MailgateConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Tuple;

/** Creates PostgreSQL pools from {@code pg.url}: prepared statements cached, pipelining on. */
public final class Database {
  private Database() {}

  public static PgConnectOptions connectOptions(MailgateConfig config) {
    return connectOptions(config.get(MailgateConfig.PG_URL))
        .setPipeliningLimit(config.get(MailgateConfig.PG_PIPELINING_LIMIT));
  }

  public static PgConnectOptions connectOptions(String url) {
    return PgConnectOptions.fromUri(url)
        .setCachePreparedStatements(true)
        .setPreparedStatementCacheMaxSize(64);
  }

  /** A pool owned by the calling verticle (its connections stay on that verticle's event loop). */
  public static Pool pool(Vertx vertx, MailgateConfig config, int size) {
    return PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(size))
        .connectingTo(connectOptions(config))
        .using(vertx)
        .build();
  }

  /**
   * Creates the configured database when it does not exist yet (connecting to the {@code postgres}
   * maintenance database). Does nothing when it exists; fails when it can neither find nor create it.
   */
  public static Future<Void> ensureExists(Vertx vertx, MailgateConfig config) {
    PgConnectOptions target = connectOptions(config);
    PgConnectOptions admin = new PgConnectOptions(target).setDatabase("postgres");
    return PgConnection.connect(vertx, admin).compose(conn ->
        conn.preparedQuery("SELECT 1 FROM pg_database WHERE datname = $1")
            .execute(Tuple.of(target.getDatabase()))
            .compose(rows -> rows.size() > 0
                ? Future.<Void>succeededFuture()
                : conn.query("CREATE DATABASE \"" + target.getDatabase().replace("\"", "\"\"") + "\"")
                    .execute().<Void>mapEmpty()
                    // another node may have created it at the same moment
                    .recover(e -> e.getMessage() != null && e.getMessage().contains("already exists")
                        ? Future.succeededFuture() : Future.failedFuture(e)))
            .eventually(conn::close));
  }
}
