package io.mailgate.store;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * A log line for the database being away now and then, not one for each request that meets it: an outage under load
 * is thousands of failed requests, each of them the same news. A line says how many were not logged since the last.
 */
public final class OutageLog {
  private static final long EVERY_NANOS = 10_000_000_000L;

  private final Logger log;
  private final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - EVERY_NANOS);
  private final AtomicLong notLogged = new AtomicLong();

  public OutageLog(Logger log) {
    this.log = log;
  }

  /**
   * Whether the failure says the database cannot be reached or cannot serve now (and not something about the
   * request): a connection refused or lost, or PostgreSQL's own answer that it is starting, stopping, out of
   * connections or resources (SQLSTATE classes 08, 53 and 57P), here or as a cause.
   */
  public static boolean unreachable(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof io.vertx.pgclient.PgException pg) {
        return Database.unavailableState(pg.getSqlState());
      }
      if (t instanceof java.net.ConnectException || t instanceof io.vertx.sqlclient.ClosedConnectionException
          || t instanceof java.nio.channels.ClosedChannelException) {
        return true;
      }
    }
    return false;
  }

  /** Logs the line (a warning, without a stack trace) unless one was logged within the last 10 seconds. */
  public void warn(Supplier<String> line) {
    long now = System.nanoTime();
    long last = lastLogged.get();
    if (now - last >= EVERY_NANOS && lastLogged.compareAndSet(last, now)) {
      log.warning(line.get() + "; " + notLogged.getAndSet(0) + " more since the last such line");
    } else {
      notLogged.incrementAndGet();
    }
  }
}
