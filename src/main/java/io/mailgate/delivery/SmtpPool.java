package io.mailgate.delivery;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Connections to one destination, reused across messages: at most {@code maxConnections} open,
 * each replaced after {@code maxMessagesPerConnection} transactions, closed after sitting idle.
 * Attempts beyond the connection limit wait in FIFO order for a free connection.
 *
 * <p>Used from one event loop only.
 */
final class SmtpPool {

  /** Limits for one destination. */
  record Limits(int maxConnections, int maxMessagesPerConnection, long idleTimeoutMs) {}

  private record Attempt(String from, String rcpt, Buffer data, int size, boolean eightBit,
      Promise<AttemptResult> result) {}

  private final Vertx vertx;
  private final NetClient client;
  private final SmtpRoute route;
  private final SmtpConnection.Options options;
  private final Limits limits;
  private final ArrayDeque<SmtpConnection> idle = new ArrayDeque<>();
  private final ArrayDeque<Attempt> waiting = new ArrayDeque<>();
  private int open; // connected or connecting
  private final long sweeper;

  SmtpPool(Vertx vertx, NetClient client, SmtpRoute route, SmtpConnection.Options options, Limits limits) {
    this.vertx = vertx;
    this.client = client;
    this.route = route;
    this.options = options;
    this.limits = limits;
    this.sweeper = vertx.setPeriodic(Math.max(1000, limits.idleTimeoutMs() / 2), id -> closeIdle());
  }

  /** Delivers one recipient; the future always succeeds with the attempt's result. */
  Future<AttemptResult> deliver(String from, String rcpt, Buffer data, int size, boolean eightBit) {
    Promise<AttemptResult> p = Promise.promise();
    waiting.add(new Attempt(from, rcpt, data, size, eightBit, p));
    dispatch();
    return p.future();
  }

  int waiting() {
    return waiting.size();
  }

  private void dispatch() {
    while (!waiting.isEmpty()) {
      SmtpConnection c = idle.pollLast(); // most recently used: keeps the others idle long enough to close
      if (c != null) {
        if (!c.isOpen()) {
          open--;
          continue;
        }
        run(c, waiting.poll());
      } else if (open < limits.maxConnections()) {
        open++;
        Attempt first = waiting.poll();
        SmtpConnection.open(vertx, client, route, options).onComplete(ar -> {
          if (ar.succeeded()) {
            run(ar.result(), first);
          } else {
            open--;
            first.result().complete(new AttemptResult.Failed(ar.cause().getMessage(), route.host()));
            dispatch();
          }
        });
      } else {
        return;
      }
    }
  }

  private void run(SmtpConnection c, Attempt a) {
    if (c.maxSize() > 0 && a.size() > c.maxSize()) {
      // RFC 1870: the server would refuse it after reading it all; say so without sending
      a.result().complete(new AttemptResult.Rejected(new SmtpResponse(552, "5.3.4",
          "Message size " + a.size() + " exceeds the fixed maximum message size of " + c.maxSize()
              + " advertised by " + route.host()), c.remoteAddress()));
      release(c);
      return;
    }
    c.send(a.from(), a.rcpt(), a.data(), a.size(), a.eightBit()).onComplete(ar -> {
      if (ar.succeeded()) {
        SmtpResponse r = ar.result();
        a.result().complete(r.isPositive()
            ? new AttemptResult.Delivered(r, c.remoteAddress())
            : new AttemptResult.Rejected(r, c.remoteAddress()));
      } else {
        a.result().complete(new AttemptResult.Failed(ar.cause().getMessage(), c.remoteAddress()));
      }
      release(c);
    });
  }

  private void release(SmtpConnection c) {
    if (c.isOpen() && c.transactions() < limits.maxMessagesPerConnection()) {
      idle.addLast(c);
    } else {
      open--;
      c.quit();
    }
    dispatch();
  }

  private void closeIdle() {
    long limit = TimeUnit.MILLISECONDS.toNanos(limits.idleTimeoutMs());
    // the oldest idle connections are at the head (see dispatch)
    while (!idle.isEmpty() && (idle.peekFirst().idleNanos() > limit || !idle.peekFirst().isOpen())) {
      SmtpConnection c = idle.pollFirst();
      open--;
      c.quit();
    }
  }

  Future<Void> close() {
    vertx.cancelTimer(sweeper);
    List<Future<Void>> quits = new ArrayList<>();
    SmtpConnection c;
    while ((c = idle.poll()) != null) {
      open--;
      quits.add(c.quit());
    }
    Attempt a;
    while ((a = waiting.poll()) != null) {
      a.result().complete(new AttemptResult.Failed("delivery stopped (node shutting down)", route.host()));
    }
    return Future.join(quits).mapEmpty();
  }
}
