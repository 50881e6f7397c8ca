package io.mailgate.loadgen;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * SES v2 SendEmail load generator for Mailgate's benchmarks. Prints human-readable lines and, last, one
 * {@code result key=value ...} line for scripts. See {@link Options#USAGE} and benchmarks/README.md.
 */
public final class LoadGen {
  private LoadGen() {}

  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
      if (options.has("help")) {
        System.out.print(Options.USAGE);
        return;
      }
      SigV4Signer.selfTest(); // cheap, and a wrong signer would make every number meaningless
      if (options.has("self-test")) {
        System.out.println("SigV4 signer matches AWS's documented example");
        return;
      }
      if (options.string("mode", "max").equals("smtp")) {
        SmtpLoad.run(options);
        return;
      }
      if (options.string("mode", "max").equals("webhook")) {
        WebhookReceiver.run(options);
        return;
      }
      if (options.string("mode", "max").equals("rsa")) {
        RsaSpeed.run(options.decimal("duration", 5), options.integer("threads", 1));
        return;
      }
      run(options.load());
    } catch (IllegalArgumentException e) {
      System.err.println("loadgen: " + e.getMessage());
      System.err.print(Options.USAGE);
      System.exit(2);
    }
  }

  private static void run(Options.Load load) throws Exception {
    SendEmailBodies bodies = new SendEmailBodies(load.bodyBytes(), load.recipients(), load.from(),
        load.configurationSet());
    SinkCounter sink = load.sinkFile() == null ? null : new SinkCounter(load.sinkFile());
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(load.threads()).setWorkerPoolSize(1)
        .setInternalBlockingPoolSize(1));
    List<Driver> drivers = new ArrayList<>();
    try {
      for (int i = 0; i < load.threads(); i++) {
        Driver d = new Driver(load, i, load.threads(), bodies);
        drivers.add(d);
        try {
          vertx.deployVerticle(d).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          System.err.println("loadgen: cannot open connections to http://" + load.host() + ":" + load.port() + ": "
              + e.getCause().getMessage());
          System.exit(1);
        }
      }
      System.out.printf(Locale.ROOT, "loadgen: mode=%s url=http://%s:%d connections=%d inflight=%d%s "
              + "request_bytes=%d text_bytes=%d recipients=%d warmup=%.0fs duration=%.0fs threads=%d%n",
          load.mode(), load.host(), load.port(), load.connections(), load.mode().equals("max") ? load.inflight() : 1,
          load.mode().equals("rate") ? String.format(Locale.ROOT, " rate=%.0f/s", load.rate()) : "",
          bodies.length(), load.bodyBytes(), load.recipients(), load.warmupS(), load.durationS(), load.threads());

      long t0 = System.nanoTime() + 50_000_000L;
      long windowStart = t0 + load.warmupNanos();
      long windowEnd = windowStart + load.durationNanos();
      for (Driver d : drivers) {
        d.context().runOnContext(v -> d.begin(t0, windowStart, windowEnd));
      }

      // the main thread only watches the clock: progress lines and the sink count at the window's edges
      long sinkStart = -1;
      long sinkEnd = -1;
      long sinkStartAt = 0;
      long sinkEndAt = 0;
      long nextProgress = t0 + (long) (load.progressS() * 1e9);
      long lastAccepted = 0;
      long lastProgressAt = t0;
      boolean startRead = false;
      while (true) {
        long now = System.nanoTime();
        if (!startRead && now >= windowStart) {
          startRead = true;
          sinkStartAt = System.nanoTime();
          sinkStart = sink == null ? -1 : sink.messages();
        }
        if (now >= windowEnd) {
          sinkEndAt = System.nanoTime();
          sinkEnd = sink == null ? -1 : sink.messages();
          break;
        }
        if (load.progressS() > 0 && now >= nextProgress) {
          long accepted = 0;
          long errors = 0;
          int backlog = 0;
          for (Driver d : drivers) {
            accepted += d.progressAccepted;
            errors += d.progressErrors;
            backlog += d.progressBacklog;
          }
          double secs = (now - lastProgressAt) / 1e9;
          System.out.printf(Locale.ROOT, "  t=%5.1fs %s accepted/s=%.0f errors=%d%s%s%n", (now - t0) / 1e9,
              now < windowStart ? "warmup " : "measure", (accepted - lastAccepted) / secs, errors,
              load.mode().equals("rate") ? " backlog=" + backlog : "",
              sink == null ? "" : " sink=" + sink.messages());
          lastAccepted = accepted;
          lastProgressAt = now;
          nextProgress += (long) (load.progressS() * 1e9);
        }
        long sleepTo = Math.min(windowEnd, startRead ? nextProgress : Math.min(windowStart, nextProgress));
        if (load.progressS() <= 0) {
          sleepTo = startRead ? windowEnd : windowStart;
        }
        long sleep = sleepTo - System.nanoTime();
        if (sleep > 0) {
          TimeUnit.NANOSECONDS.sleep(sleep);
        }
      }

      Stats all = new Stats();
      for (Driver d : drivers) {
        // the driver completes `finished` on its event loop after its last write to its stats
        d.finished.get((long) load.drainTimeoutS() + 30, TimeUnit.SECONDS);
        all.add(d.stats);
      }
      report(load, all, sink != null, sinkStart, sinkEnd, (sinkEndAt - sinkStartAt) / 1e9);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static void report(Options.Load load, Stats s, boolean hasSink, long sinkStart, long sinkEnd,
      double sinkSeconds) {
    double window = load.durationS();
    double acceptedPerS = s.accepted / window;
    String deliveredPerS = "na";
    String sinkWindow = "na";
    if (hasSink && sinkStart >= 0 && sinkEnd >= 0 && sinkSeconds > 0) {
      sinkWindow = Long.toString(sinkEnd - sinkStart);
      deliveredPerS = fmt(Math.max(0, sinkEnd - sinkStart) / sinkSeconds);
    }
    boolean rate = load.mode().equals("rate");
    System.out.printf(Locale.ROOT, "window %.1f s: %d requests, %d accepted (HTTP 200) = %s/s, %d errors%n", window,
        s.requests, s.accepted, fmt(acceptedPerS), s.errors);
    if (s.errors > 0) {
      System.out.println("errors by kind (status-x-amzn-ErrorType): " + s.errorKindsCompact());
    }
    s.errorSamples.forEach((k, v) -> System.out.println("  first " + k + ": " + oneLine(v)));
    if (rate) {
      System.out.printf(Locale.ROOT, "offered %.0f/s; latency from intended send time (coordinated omission "
              + "corrected), ms: p50=%s p90=%s p99=%s p99.9=%s max=%s (%d requests%s)%n", load.rate(),
          Stats.ms(s.latency, 50), Stats.ms(s.latency, 90), Stats.ms(s.latency, 99), Stats.ms(s.latency, 99.9),
          Stats.ms(s.latency, 100), s.latency.getTotalCount(),
          s.unfinished > 0 ? ", " + s.unfinished + " unanswered at the drain deadline, counted at that age" : "");
      System.out.printf(Locale.ROOT, "generator send lag behind schedule, ms: p50=%s p99=%s max=%s%n",
          Stats.ms(s.sendLag, 50), Stats.ms(s.sendLag, 99), Stats.ms(s.sendLag, 100));
      System.out.println(slowTimeline(s));
    } else {
      System.out.printf(Locale.ROOT, "latency from actual send (closed loop, not a user-facing latency), ms: "
              + "p50=%s p90=%s p99=%s p99.9=%s max=%s%n", Stats.ms(s.latency, 50), Stats.ms(s.latency, 90),
          Stats.ms(s.latency, 99), Stats.ms(s.latency, 99.9), Stats.ms(s.latency, 100));
    }
    if (hasSink) {
      System.out.printf(Locale.ROOT, "sink: %s messages received in the window = %s/s%n", sinkWindow, deliveredPerS);
    }
    System.out.printf(Locale.ROOT, "whole run: %d sent, %d accepted, %d errors%s%n", s.totalSent, s.totalAccepted,
        s.totalErrors, s.connectionsLost + s.connectFailures == 0 ? ""
            : "; connections lost " + s.connectionsLost + ", failed reconnects " + s.connectFailures);
    StringBuilder r = new StringBuilder("result");
    kv(r, "mode", load.mode());
    kv(r, "connections", load.connections());
    kv(r, "inflight", rate ? 1 : load.inflight());
    kv(r, "rate", rate ? fmt(load.rate()) : "na");
    kv(r, "text_bytes", load.bodyBytes());
    kv(r, "recipients", load.recipients());
    kv(r, "warmup_s", fmt(load.warmupS()));
    kv(r, "duration_s", fmt(window));
    kv(r, "requests", s.requests);
    kv(r, "accepted", s.accepted);
    kv(r, "accepted_per_s", fmt(acceptedPerS));
    kv(r, "errors", s.errors);
    kv(r, "error_kinds", s.errorKindsCompact());
    kv(r, "p50_ms", Stats.ms(s.latency, 50));
    kv(r, "p90_ms", Stats.ms(s.latency, 90));
    kv(r, "p99_ms", Stats.ms(s.latency, 99));
    kv(r, "p999_ms", Stats.ms(s.latency, 99.9));
    kv(r, "max_ms", Stats.ms(s.latency, 100));
    kv(r, "lag_p99_ms", rate ? Stats.ms(s.sendLag, 99) : "na");
    kv(r, "unfinished", s.unfinished);
    kv(r, "sink_window", sinkWindow);
    kv(r, "delivered_per_s", deliveredPerS);
    kv(r, "total_sent", s.totalSent);
    kv(r, "total_accepted", s.totalAccepted);
    kv(r, "total_errors", s.totalErrors);
    kv(r, "connections_lost", s.connectionsLost);
    System.out.println(r);
  }

  private static void kv(StringBuilder b, String k, Object v) {
    b.append(' ').append(k).append('=').append(v);
  }

  static String fmt(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  /** The seconds (UTC, of the answer) with requests slower than 20 ms: when the tail happened. */
  private static String slowTimeline(Stats s) {
    StringBuilder b = new StringBuilder("slow (>= 20 ms) answers by second (UTC time: count/slowest ms):");
    if (s.slowBySecond.isEmpty()) {
      return b.append(" none").toString();
    }
    java.time.format.DateTimeFormatter f = java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss")
        .withZone(java.time.ZoneOffset.UTC);
    s.slowBySecond.forEach((sec, v) -> b.append(' ').append(f.format(java.time.Instant.ofEpochSecond(sec)))
        .append('=').append(v[0]).append('/').append(v[1] / 1000));
    return b.toString();
  }

  private static String oneLine(String s) {
    if (s == null) {
      return "";
    }
    String t = s.replaceAll("\\s+", " ");
    return t.length() > 200 ? t.substring(0, 200) + "..." : t;
  }
}
