package io.mailgate.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {
  static Map<String, String> lines(LatencyHistogram h, String labels) {
    StringBuilder b = new StringBuilder();
    h.render(b, "x_seconds", labels);
    Map<String, String> m = new LinkedHashMap<>();
    for (String line : b.toString().split("\n")) {
      int sp = line.lastIndexOf(' ');
      m.put(line.substring(0, sp), line.substring(sp + 1));
    }
    return m;
  }

  @Test
  void bucketsAreCumulativeWithTheBoundInclusive() {
    LatencyHistogram h = new LatencyHistogram();
    h.record(1_000_000); // exactly 1 ms: in le="0.001"
    h.record(1_000_001); // just over: le="0.002"
    h.record(-5); // a clock that went back: zero
    h.record(60_000_000_000L); // a minute: only +Inf
    Map<String, String> m = lines(h, "");
    assertEquals("1", m.get("x_seconds_bucket{le=\"0.0005\"}"));
    assertEquals("2", m.get("x_seconds_bucket{le=\"0.001\"}"));
    assertEquals("3", m.get("x_seconds_bucket{le=\"0.002\"}"));
    assertEquals("3", m.get("x_seconds_bucket{le=\"10\"}"));
    assertEquals("4", m.get("x_seconds_bucket{le=\"+Inf\"}"));
    assertEquals("4", m.get("x_seconds_count"));
    assertEquals(60.002000001, Double.parseDouble(m.get("x_seconds_sum")), 1e-9);
    assertEquals(LatencyHistogram.BOUNDS_SECONDS.length + 3, m.size());
  }

  @Test
  void labelsComeBeforeTheBound() {
    LatencyHistogram h = new LatencyHistogram();
    h.record(20_000_000);
    Map<String, String> m = lines(h, "on=\"commit\"");
    assertEquals("0", m.get("x_seconds_bucket{on=\"commit\",le=\"0.015\"}"));
    assertEquals("1", m.get("x_seconds_bucket{on=\"commit\",le=\"0.02\"}"));
    assertEquals("1", m.get("x_seconds_count{on=\"commit\"}"));
  }
}
