package io.mailgate.store;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * A node's claim to its {@code node.id} in the database: a session advisory lock held on a connection of its own for
 * as long as the node runs. A node takes back its earlier run's delivery leases at once, by their owner's name: two
 * nodes running under one name (machines cloned from one image, both named after it) would take each other's
 * recipients on every scan and deliver them again and again. The second one waits for the first to stop (its
 * previous run, draining), up to {@link MailgateConfig#NODE_ID_WAIT_SECONDS}, then refuses to start. The lock goes
 * with its session: a node killed holds nothing, and one whose machine or network went without a word holds it for
 * {@link #KEEPALIVES} at most (PostgreSQL's keepalives on the session find it gone; the system's default would take
 * over two hours, and the node's restart would be refused meanwhile).
 */
public final class NodeLock {
  private static final Logger LOG = Logger.getLogger(NodeLock.class.getName());
  static final String TRY = "SELECT pg_try_advisory_lock(hashtextextended('mailgate node.id ' || $1, 0))";
  private static final long RETRY_MILLIS = 500;
  private static final long RELOCK_MILLIS = 5_000;
  /** The session's keepalives: a peer silent for 10 s is probed every 5 s, and given up after 3 probes (25 s). */
  static final String KEEPALIVES =
      "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";
  /** A statement on the session this often: a connection lost without a word is found lost by this node too. */
  private static final long HEARTBEAT_MILLIS = 10_000;

  /** A statement on the lock's session answered within this, or the session is taken as lost. */
  private static final long STATEMENT_MILLIS = 10_000;

  private final Vertx vertx;
  private final MailgateConfig config;
  private final String nodeId;
  /** The lock's own pool of one connection (TCP keepalive and user timeout, as the node's other connections). */
  private Pool pool;
  private volatile SqlConnection connection;
  private volatile boolean released;
  private long heartbeat = -1;

  private NodeLock(Vertx vertx, MailgateConfig config, String nodeId) {
    this.vertx = vertx;
    this.config = config;
    this.nodeId = nodeId;
  }

  /** The lock of {@code config}'s node.id, once it is this node's; fails when another node keeps it. */
  public static Future<NodeLock> acquire(Vertx vertx, MailgateConfig config) {
    NodeLock lock = new NodeLock(vertx, config, config.get(MailgateConfig.NODE_ID));
    long deadline = System.nanoTime() + config.get(MailgateConfig.NODE_ID_WAIT_SECONDS) * 1_000_000_000L;
    Promise<NodeLock> result = Promise.promise();
    lock.attempt(deadline, result, true);
    return result.future().onFailure(e -> lock.discardPool());
  }

  private void attempt(long deadline, Promise<NodeLock> result, boolean first) {
    tryLock().onComplete(ar -> {
      if (ar.failed()) {
        result.fail(ar.cause());
      } else if (ar.result()) {
        result.complete(this);
      } else if (System.nanoTime() >= deadline) {
        result.fail(new ConfigException("another node runs with node.id '" + nodeId + "' on this database (it "
            + "holds that name's lock): give each node a name of its own (" + MailgateConfig.NODE_ID.path() + ", "
            + MailgateConfig.NODE_ID.envName() + "); two under one name would deliver each other's mail again and "
            + "again"));
      } else {
        if (first) {
          LOG.info("another node runs with node.id '" + nodeId + "' (its previous run, stopping?): waiting up to "
              + config.get(MailgateConfig.NODE_ID_WAIT_SECONDS) + " s for it");
        }
        vertx.setTimer(RETRY_MILLIS, t -> attempt(deadline, result, false));
      }
    });
  }

  /**
   * Whether this node holds the lock now: on its session, or on a new one if it has none. A session that does not
   * answer in time is given up with its pool (its socket closed: a pooled connection closed goes back to its pool,
   * and its session, lock and all, with it).
   */
  private Future<Boolean> tryLock() {
    SqlConnection held = connection;
    if (held == null && pool == null) {
      pool = Database.pool(vertx, config, 1);
    }
    Pool from = pool;
    Future<SqlConnection> conn = held != null ? Future.succeededFuture(held)
        : from.getConnection().compose(c -> c.query(KEEPALIVES).execute()
            .otherwise(e -> {
              LOG.warning("cannot set keepalives on the node.id lock's session: " + e.getMessage());
              return null;
            })
            .map(c));
    return conn.compose(c -> c.preparedQuery(TRY).execute(Tuple.of(nodeId))
            .map(rows -> rows.iterator().next().getBoolean(0))
            .onComplete(ar -> {
              if (ar.succeeded() && ar.result()) {
                if (connection != c) {
                  connection = c;
                  c.closeHandler(v -> lost(c));
                  startHeartbeat(c);
                }
              } else if (connection != c) {
                c.close(); // not ours: the session holds no lock, and may serve the next try
              }
            }))
        .timeout(STATEMENT_MILLIS, TimeUnit.MILLISECONDS)
        .onFailure(e -> {
          if (connection == null && pool == from) {
            discardPool();
          }
        });
  }

  private void startHeartbeat(SqlConnection c) {
    if (heartbeat >= 0) {
      vertx.cancelTimer(heartbeat);
    }
    heartbeat = vertx.setPeriodic(HEARTBEAT_MILLIS, t -> {
      if (connection != c) {
        vertx.cancelTimer(t);
        return;
      }
      c.query("SELECT 1").execute().timeout(STATEMENT_MILLIS, TimeUnit.MILLISECONDS).onFailure(e -> {
        LOG.warning("the node.id lock's session does not answer: " + e.getMessage());
        lost(c);
      });
    });
  }

  /** The lock's session ended (the database restarted, or the connection was cut): taken again when it can be. */
  private void lost(SqlConnection c) {
    if (released || connection != c) {
      return;
    }
    connection = null;
    discardPool();
    LOG.warning("the database session holding node.id '" + nodeId + "' ended: taking it again");
    vertx.setTimer(RELOCK_MILLIS, t -> relock());
  }

  private void discardPool() {
    Pool p = pool;
    pool = null;
    if (p != null) {
      p.close();
    }
  }

  private void relock() {
    if (released) {
      return;
    }
    tryLock().onComplete(ar -> {
      if (released) {
        release();
      } else if (ar.succeeded() && ar.result()) {
        LOG.info("node.id '" + nodeId + "' is this node's again");
      } else {
        if (ar.succeeded()) {
          LOG.severe("another node took node.id '" + nodeId + "' while this one's database session was down: the two "
              + "take each other's deliveries; stop one");
        }
        vertx.setTimer(RELOCK_MILLIS, t -> relock());
      }
    });
  }

  /** Gives the name up (its session ends): the node has stopped. */
  public Future<Void> release() {
    released = true;
    if (heartbeat >= 0) {
      vertx.cancelTimer(heartbeat);
    }
    connection = null;
    Pool p = pool;
    pool = null;
    return p == null ? Future.succeededFuture() : p.close().otherwiseEmpty();
  }
}
