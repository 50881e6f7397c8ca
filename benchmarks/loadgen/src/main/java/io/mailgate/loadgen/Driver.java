package io.mailgate.loadgen;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * One event loop's share of the load: its connections, its signer, its statistics. Everything here runs on that
 * event loop, so nothing is shared or locked; {@link LoadGen} reads {@link #stats} after {@link #finished}.
 *
 * <p><b>max</b> (closed loop): every connection keeps {@code inflight} requests outstanding and sends the next one
 * as soon as one is answered. Latency is measured from the moment a request was sent, so it is the service time
 * under saturation, not a latency a user at a given rate would see.
 *
 * <p><b>rate</b> (open loop, coordinated omission corrected): request {@code i} is <em>intended</em> to leave at
 * {@code t0 + i/rate}, whatever happened to earlier requests. Due requests queue in the generator when every
 * connection is busy, and latency is measured from the intended time, so a stall of the node (or of the generator)
 * shows up in the percentiles with every request it delayed. The values are recorded as they are: correcting them
 * again with {@code recordValueWithExpectedInterval} would count the stall twice.
 */
final class Driver extends VerticleBase {
  private static final CharSequence X_AMZ_DATE = HttpHeaders.createOptimized("x-amz-date");
  private static final CharSequence AUTHORIZATION = HttpHeaders.createOptimized("authorization");
  private static final CharSequence CONTENT_TYPE = HttpHeaders.createOptimized("content-type");
  private static final CharSequence HOST = HttpHeaders.createOptimized("host");
  private static final CharSequence JSON = HttpHeaders.createOptimized(SendEmailBodies.CONTENT_TYPE);
  private static final CharSequence ERROR_TYPE = "x-amzn-ErrorType";

  private final Options.Load load;
  private final int index;
  private final int drivers;
  private final int connectionCount;
  private final SendEmailBodies bodies;
  private final String hostHeader;
  private final CharSequence hostHeaderValue;
  private final RequestOptions requestOptions;
  final Stats stats = new Stats();
  final CompletableFuture<Void> finished = new CompletableFuture<>();

  /** Progress, written only by this event loop, read by the main thread's progress line. */
  volatile long progressAccepted;
  volatile long progressErrors;
  volatile int progressBacklog;

  private SigV4Signer signer;
  private HttpClientAgent client;
  private final List<Conn> conns = new ArrayList<>();
  private final ArrayDeque<Conn> freeSlots = new ArrayDeque<>();
  private final Set<Req> outstanding = new HashSet<>();
  private long sequence;
  private boolean stopping;

  private long t0;
  private long windowStart;
  private long windowEnd;
  private long drainDeadline;

  // rate mode
  private double periodNanos;
  private long nextIndex;
  private final LongQueue backlog = new LongQueue();
  private long ticker = -1;

  private final class Conn {
    HttpClientConnection http;
    boolean open;
  }

  /**
   * One request in flight (identity, not value, equality: two requests are never the same one). {@code intended}
   * is its scheduled time in rate mode, its send time in max mode.
   */
  private static final class Req {
    final long intended;

    Req(long intended) {
      this.intended = intended;
    }

    long intended() {
      return intended;
    }
  }

  Driver(Options.Load load, int index, int drivers, SendEmailBodies bodies) {
    this.load = load;
    this.index = index;
    this.drivers = drivers;
    this.connectionCount = load.connections() / drivers + (index < load.connections() % drivers ? 1 : 0);
    this.bodies = bodies;
    this.hostHeader = load.port() == 80 ? load.host() : load.host() + ":" + load.port();
    this.hostHeaderValue = HttpHeaders.createOptimized(hostHeader);
    this.requestOptions = new RequestOptions().setMethod(HttpMethod.POST).setHost(load.host()).setPort(load.port())
        .setURI(SendEmailBodies.PATH).setIdleTimeout((long) (load.timeoutS() * 1000));
  }

  io.vertx.core.Context context() {
    return context;
  }

  /** Opens this driver's connections; the load starts with {@link #begin}. */
  @Override
  public Future<?> start() {
    signer = new SigV4Signer(load.accessKey(), load.secretKey(), load.region(), "ses");
    boolean pipelined = load.mode().equals("max") && load.inflight() > 1;
    client = vertx.createHttpClient(new HttpClientOptions()
        .setKeepAlive(true)
        .setKeepAliveTimeout(0)
        .setPipelining(pipelined)
        .setPipeliningLimit(Math.max(1, load.inflight()))
        .setTcpNoDelay(true));
    List<Future<?>> opened = new ArrayList<>();
    for (int i = 0; i < connectionCount; i++) {
      Conn c = new Conn();
      conns.add(c);
      opened.add(connect(c));
    }
    return Future.all(opened);
  }

  @Override
  public Future<?> stop() {
    return client.close();
  }

  private Future<Void> connect(Conn c) {
    return client.connect(new HttpConnectOptions().setHost(load.host()).setPort(load.port()).setConnectTimeout(10_000))
        .map(http -> {
          c.http = http;
          c.open = true;
          http.closeHandler(v -> onClosed(c));
          for (int i = 0; i < slotsPerConnection(); i++) {
            freeSlots.add(c);
          }
          return null;
        });
  }

  private int slotsPerConnection() {
    return load.mode().equals("max") ? load.inflight() : 1;
  }

  /** A connection dropped (the requests on it fail and count as errors): reconnect after a pause. */
  private void onClosed(Conn c) {
    boolean wasOpen = c.open;
    c.open = false;
    freeSlots.removeIf(s -> s == c);
    if (stopping) {
      return;
    }
    if (wasOpen) {
      stats.connectionsLost++;
    }
    vertx.setTimer(200, id -> {
      if (!stopping) {
        connect(c).onComplete(ar -> {
          if (ar.failed()) {
            stats.connectFailures++;
            onClosed(c);
          } else {
            dispatch();
          }
        });
      }
    });
  }

  /** Called on this driver's event loop with the shared timeline (System.nanoTime values). */
  void begin(long t0, long windowStart, long windowEnd) {
    this.t0 = t0;
    this.windowStart = windowStart;
    this.windowEnd = windowEnd;
    this.drainDeadline = windowEnd + (long) (load.drainTimeoutS() * 1e9);
    long delayMs = Math.max(1, (t0 - System.nanoTime()) / 1_000_000);
    vertx.setTimer(delayMs, id -> {
      if (load.mode().equals("rate")) {
        periodNanos = 1e9 / load.rate();
        ticker = vertx.setPeriodic(load.tickMs(), tid -> tick());
      } else {
        vertx.setTimer(Math.max(1, (windowEnd - System.nanoTime()) / 1_000_000), tid -> stopIssuing());
        dispatch();
      }
      vertx.setPeriodic(200, tid -> checkDone());
    });
  }

  private boolean inWindow(long nanos) {
    return nanos >= windowStart && nanos < windowEnd;
  }

  /** Rate mode: moves every request whose intended time has come into the backlog, then sends what it can. */
  private void tick() {
    fillBacklog(System.nanoTime());
    dispatch();
  }

  private void fillBacklog(long now) {
    if (ticker < 0 || nextIndexPastEnd()) {
      return;
    }
    while (true) {
      // driver k of n owns requests k, k+n, k+2n, ... of the global schedule, so n drivers together offer `rate`
      long intended = t0 + (long) ((nextIndex * drivers + index) * periodNanos);
      if (intended > now || intended >= windowEnd) {
        if (intended >= windowEnd) {
          vertx.cancelTimer(ticker);
          stopIssuing();
        }
        break;
      }
      backlog.add(intended);
      nextIndex++;
    }
  }

  private void stopIssuing() {
    if (load.mode().equals("max")) {
      stopping = true;
    }
  }

  private void dispatch() {
    boolean rate = load.mode().equals("rate");
    while (!freeSlots.isEmpty()) {
      if (rate ? backlog.isEmpty() : stopping) {
        break;
      }
      Conn c = freeSlots.poll();
      if (!c.open) {
        continue;
      }
      long now = System.nanoTime();
      send(c, rate ? backlog.poll() : now, now);
    }
    progressBacklog = backlog.size();
  }

  private void send(Conn c, long intended, long now) {
    Req req = new Req(intended);
    if (load.mode().equals("rate") && inWindow(req.intended())) {
      stats.recordLagNanos(now - req.intended());
    }
    outstanding.add(req);
    stats.totalSent++;
    SendEmailBodies.Body body = bodies.get(sequence++);
    String amzDate = signer.amzDate(System.currentTimeMillis());
    String authorization = signer.authorization("POST", SendEmailBodies.PATH, "", SendEmailBodies.CONTENT_TYPE,
        hostHeader, amzDate, body.sha256Hex());
    c.http.request(requestOptions)
        .compose(r -> {
          MultiMap h = r.headers();
          h.set(HOST, hostHeaderValue);
          h.set(CONTENT_TYPE, JSON);
          h.set(X_AMZ_DATE, amzDate);
          h.set(AUTHORIZATION, authorization);
          return r.send(body.buffer());
        })
        .compose(resp -> resp.body().map(b -> new Answer(resp, b.toString())))
        .onComplete(ar -> {
          if (!outstanding.remove(req)) {
            return; // already counted as unfinished at the drain deadline
          }
          long done = System.nanoTime();
          boolean counted = load.mode().equals("rate") ? inWindow(req.intended()) : inWindow(done);
          if (ar.succeeded() && ar.result().status() == 200) {
            stats.totalAccepted++;
            progressAccepted++;
            if (counted) {
              stats.accepted++;
            }
          } else if (ar.succeeded()) {
            Answer a = ar.result();
            String type = a.errorType() == null ? "none" : a.errorType();
            stats.error(a.status() + "-" + type, counted, a.body());
            progressErrors++;
          } else {
            Throwable e = ar.cause();
            stats.error(e instanceof TimeoutException ? "timeout" : "io-" + e.getClass().getSimpleName(), counted,
                e.getMessage());
            progressErrors++;
          }
          if (counted) {
            stats.requests++;
            // max: from the actual send; rate: from the intended send time (coordinated omission corrected)
            stats.recordLatencyNanos(done - req.intended());
            if (load.mode().equals("rate")) {
              stats.recordSlow(System.currentTimeMillis(), done - req.intended());
            }
          }
          if (c.open) {
            freeSlots.add(c);
          }
          if (load.mode().equals("rate")) {
            fillBacklog(done); // due requests go out now rather than at the next 1 ms tick
          }
          dispatch();
        });
  }

  private record Answer(int status, String errorType, String body) {
    Answer(HttpClientResponse resp, String body) {
      this(resp.statusCode(), resp.getHeader(ERROR_TYPE), body);
    }
  }

  /** Finishes when the schedule is over and everything sent is answered, or at the drain deadline. */
  private void checkDone() {
    if (finished.isDone()) {
      return;
    }
    long now = System.nanoTime();
    boolean scheduleOver = load.mode().equals("rate") ? now >= windowEnd && ticker >= 0 && nextIndexPastEnd()
        : stopping;
    if (scheduleOver && outstanding.isEmpty() && backlog.isEmpty()) {
      finish();
    } else if (now >= drainDeadline) {
      // what is still waiting counts with the latency it has at least reached by now
      for (Req r : outstanding) {
        if (load.mode().equals("rate") ? inWindow(r.intended()) : false) {
          stats.recordLatencyNanos(now - r.intended());
          stats.requests++;
          stats.unfinished++;
        }
      }
      outstanding.clear();
      while (!backlog.isEmpty()) {
        long intended = backlog.poll();
        if (inWindow(intended)) {
          stats.recordLatencyNanos(now - intended);
          stats.requests++;
          stats.unfinished++;
        }
      }
      finish();
    }
  }

  private boolean nextIndexPastEnd() {
    return t0 + (long) ((nextIndex * drivers + index) * periodNanos) >= windowEnd;
  }

  private void finish() {
    stopping = true;
    if (ticker >= 0) {
      vertx.cancelTimer(ticker);
    }
    finished.complete(null);
  }

  /** A growable ring of longs: the rate mode's backlog of intended send times, without boxing. */
  static final class LongQueue {
    private long[] items = new long[1024];
    private int head;
    private int size;

    void add(long v) {
      if (size == items.length) {
        long[] bigger = new long[items.length * 2];
        for (int i = 0; i < size; i++) {
          bigger[i] = items[(head + i) % items.length];
        }
        items = bigger;
        head = 0;
      }
      items[(head + size) % items.length] = v;
      size++;
    }

    long peek() {
      return items[head];
    }

    long poll() {
      long v = items[head];
      head = (head + 1) % items.length;
      size--;
      return v;
    }

    boolean isEmpty() {
      return size == 0;
    }

    int size() {
      return size;
    }
  }
}
