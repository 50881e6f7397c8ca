package io.mailgate.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * A Prometheus histogram of durations, with fixed buckets from half a millisecond to ten seconds (finer where a send's
 * time usually falls: 1 to 50 ms). Recording is a short scan and two {@link LongAdder} increments, from any thread.
 */
public final class LatencyHistogram {
  /** Upper bounds of the buckets, in seconds, as rendered. */
  static final double[] BOUNDS_SECONDS = {0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
      0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  private static final long[] BOUNDS_NANOS = new long[BOUNDS_SECONDS.length];
  /** The {@code le} label of each bucket, the last one +Inf ("0.0005", "1", "10": no exponent, no trailing zero). */
  private static final String[] LE = new String[BOUNDS_SECONDS.length + 1];

  static {
    for (int i = 0; i < BOUNDS_SECONDS.length; i++) {
      BOUNDS_NANOS[i] = Math.round(BOUNDS_SECONDS[i] * 1e9);
      LE[i] = java.math.BigDecimal.valueOf(BOUNDS_SECONDS[i]).stripTrailingZeros().toPlainString();
    }
    LE[BOUNDS_SECONDS.length] = "+Inf";
  }

  /** Per bucket, not cumulative; the last one is above every bound (+Inf). */
  private final LongAdder[] counts = new LongAdder[BOUNDS_NANOS.length + 1];
  private final LongAdder sumNanos = new LongAdder();

  public LatencyHistogram() {
    for (int i = 0; i < counts.length; i++) {
      counts[i] = new LongAdder();
    }
  }

  /** One duration; a negative one (a clock that went back) counts as zero. */
  public void record(long nanos) {
    long n = Math.max(0, nanos);
    int i = 0;
    while (i < BOUNDS_NANOS.length && n > BOUNDS_NANOS[i]) {
      i++;
    }
    counts[i].increment();
    sumNanos.add(n);
  }

  /** Records the time since {@code startNanos} ({@link System#nanoTime()}). */
  public void since(long startNanos) {
    record(System.nanoTime() - startNanos);
  }

  /** The sample lines of this histogram: {@code name_bucket{labels,le="..."}}, {@code name_sum}, {@code name_count}. */
  void render(StringBuilder b, String name, String labels) {
    String prefix = labels.isEmpty() ? "{" : "{" + labels + ",";
    String plain = labels.isEmpty() ? "" : "{" + labels + "}";
    long cumulative = 0;
    for (int i = 0; i < counts.length; i++) {
      cumulative += counts[i].sum();
      b.append(name).append("_bucket").append(prefix).append("le=\"").append(LE[i]).append("\"} ").append(cumulative)
          .append('\n');
    }
    b.append(name).append("_sum").append(plain).append(' ').append(sumNanos.sum() / 1e9).append('\n');
    b.append(name).append("_count").append(plain).append(' ').append(cumulative).append('\n');
  }
}
