package io.mailgate.loadgen;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/** What one event loop saw; merged at the end. Latencies are recorded in microseconds. */
final class Stats {
  /** Up to one hour, three significant digits. */
  static final long MAX_MICROS = 3_600_000_000L;

  final Histogram latency = new Histogram(1, MAX_MICROS, 3);
  /** Rate mode: how late requests left the generator relative to their intended time (the generator's share). */
  final Histogram sendLag = new Histogram(1, MAX_MICROS, 3);
  /**
   * Counted in the measured window: in max mode requests answered (or failed) within it, in rate mode requests
   * whose intended send time falls within it.
   */
  long requests;
  long accepted;
  long errors;
  final Map<String, Long> errorKinds = new TreeMap<>();
  /** Whole run, warmup and tail included: what the node should eventually deliver. */
  long totalSent;
  long totalAccepted;
  long totalErrors;
  /** Rate mode: measured requests still unanswered when the drain timeout ended (recorded at that time). */
  long unfinished;
  /** Connections that dropped, and reconnection attempts that failed (not request errors). */
  long connectionsLost;
  long connectFailures;
  /** First message body seen for each error kind, to print once. */
  final Map<String, String> errorSamples = new TreeMap<>();
  /**
   * Rate mode: requests slower than {@link #SLOW_MICROS}, by the wall-clock second they were answered in: {count,
   * slowest in µs}. Tells a tail that comes in bursts (a stall: GC, a checkpoint) from one spread over the window.
   */
  final Map<Long, long[]> slowBySecond = new TreeMap<>();
  static final long SLOW_MICROS = 20_000;

  void recordLatencyNanos(long nanos) {
    latency.recordValue(Math.min(MAX_MICROS, Math.max(1, nanos / 1000)));
  }

  void recordSlow(long epochMillis, long nanos) {
    long micros = nanos / 1000;
    if (micros >= SLOW_MICROS) {
      long[] v = slowBySecond.computeIfAbsent(epochMillis / 1000, k -> new long[2]);
      v[0]++;
      v[1] = Math.max(v[1], micros);
    }
  }

  void recordLagNanos(long nanos) {
    sendLag.recordValue(Math.min(MAX_MICROS, Math.max(1, nanos / 1000)));
  }

  void error(String kind, boolean inWindow, String sample) {
    totalErrors++;
    if (inWindow) {
      errors++;
      errorKinds.merge(kind, 1L, Long::sum);
    }
    if (sample != null && errorSamples.size() < 20) {
      errorSamples.putIfAbsent(kind, sample);
    }
  }

  void add(Stats o) {
    latency.add(o.latency);
    sendLag.add(o.sendLag);
    requests += o.requests;
    accepted += o.accepted;
    errors += o.errors;
    o.errorKinds.forEach((k, v) -> errorKinds.merge(k, v, Long::sum));
    totalSent += o.totalSent;
    totalAccepted += o.totalAccepted;
    totalErrors += o.totalErrors;
    unfinished += o.unfinished;
    connectionsLost += o.connectionsLost;
    connectFailures += o.connectFailures;
    o.errorSamples.forEach(errorSamples::putIfAbsent);
    o.slowBySecond.forEach((k, v) -> slowBySecond.merge(k, v, (a, b) -> new long[] {a[0] + b[0], Math.max(a[1], b[1])}));
  }

  static String ms(Histogram h, double percentile) {
    if (h.getTotalCount() == 0) {
      return "na";
    }
    long micros = percentile >= 100 ? h.getMaxValue() : h.getValueAtPercentile(percentile);
    return String.format(java.util.Locale.ROOT, "%.2f", micros / 1000.0);
  }

  String errorKindsCompact() {
    if (errorKinds.isEmpty()) {
      return "none";
    }
    StringBuilder b = new StringBuilder();
    errorKinds.forEach((k, v) -> b.append(b.length() == 0 ? "" : ",").append(k).append(':').append(v));
    return b.toString();
  }
}
