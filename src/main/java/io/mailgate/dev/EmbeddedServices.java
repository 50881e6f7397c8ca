package io.mailgate.dev;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.logging.Logger;
import redis.embedded.RedisServer;

/**
 * PostgreSQL and Redis started in-process for start-dev and the tests, on free ports, so neither
 * needs anything installed. Blocking: call it before Vert.x work starts, never on an event loop.
 */
public final class EmbeddedServices implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(EmbeddedServices.class.getName());

  private final EmbeddedPostgres postgres;
  private final RedisServer redis;
  private final int redisPort;

  private EmbeddedServices(EmbeddedPostgres postgres, RedisServer redis, int redisPort) {
    this.postgres = postgres;
    this.redis = redis;
    this.redisPort = redisPort;
  }

  /**
   * Starts what is asked for.
   *
   * @param durable false for tests: PostgreSQL without fsync, much faster and nothing to keep
   */
  public static EmbeddedServices start(boolean withPostgres, boolean withRedis, boolean durable) {
    EmbeddedPostgres pg = null;
    RedisServer redis = null;
    int redisPort = -1;
    try {
      if (withPostgres) {
        EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
            .setPort(freePort())
            .setServerConfig("max_connections", "300")
            .setServerConfig("shared_buffers", "128MB");
        if (!durable) {
          b.setServerConfig("fsync", "off").setServerConfig("synchronous_commit", "off")
              .setServerConfig("full_page_writes", "off");
        }
        pg = b.start();
        LOG.info("embedded PostgreSQL on port " + pg.getPort());
      }
      if (withRedis) {
        redisPort = freePort();
        redis = RedisServer.newRedisServer().port(redisPort).bind("127.0.0.1")
            .setting("save \"\"").setting("appendonly no").build();
        redis.start();
        LOG.info("embedded Redis on port " + redisPort);
      }
      return new EmbeddedServices(pg, redis, redisPort);
    } catch (IOException e) {
      closeQuietly(pg, redis);
      throw new UncheckedIOException("cannot start embedded services: " + e.getMessage(), e);
    }
  }

  public String pgUrl(String database) {
    return "postgresql://postgres@127.0.0.1:" + postgres.getPort() + "/" + database;
  }

  public String redisUrl() {
    return "redis://127.0.0.1:" + redisPort;
  }

  public boolean hasPostgres() {
    return postgres != null;
  }

  public boolean hasRedis() {
    return redis != null;
  }

  /** Stops Redis (to test how the node copes), keeping its port for {@link #restartRedis}. */
  public void stopRedis() throws IOException {
    redis.stop();
  }

  public void restartRedis() throws IOException {
    redis.start();
  }

  @Override
  public void close() {
    closeQuietly(postgres, redis);
  }

  private static void closeQuietly(EmbeddedPostgres pg, RedisServer redis) {
    try {
      if (redis != null) {
        redis.stop();
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("stopping embedded Redis: " + e.getMessage());
    }
    try {
      if (pg != null) {
        pg.close();
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("stopping embedded PostgreSQL: " + e.getMessage());
    }
  }

  /**
   * A port free now, and not handed out before in this process: the kernel may give the same free port to two bind(0)s
   * in a row, and two servers of one Vert.x instance told the same port share it (Vert.x's server sharing), an HTTP
   * server's connections then landing on an SMTP server's handler now and then.
   */
  public static int freePort() {
    for (int tries = 0; ; tries++) {
      try (ServerSocket s = new ServerSocket(0)) {
        s.setReuseAddress(true);
        int port = s.getLocalPort();
        if (HANDED_OUT.add(port) || tries >= 100) {
          return port;
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();
}
