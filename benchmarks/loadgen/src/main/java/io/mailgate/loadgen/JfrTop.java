package io.mailgate.loadgen;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where the CPU samples of a JFR recording are: {@code jdk.ExecutionSample} events (Java code running on a CPU)
 * aggregated by top frame (self time), by the package of the top frame, by method anywhere on the stack (total
 * time; also only our methods), by the innermost of our frames on the stack (which of our code paths the time is
 * spent under, the library code it calls included), and by thread. JDK 17's {@code jfr} tool has no such view, hence this.
 *
 * <p>Usage: {@code java -cp loadgen.jar io.mailgate.loadgen.JfrTop recording.jfr [rows] [our-package-prefix]}
 */
public final class JfrTop {
  private JfrTop() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: JfrTop recording.jfr [rows] [our-package-prefix, default io.mailgate.]");
      System.exit(2);
    }
    int rows = args.length > 1 ? Integer.parseInt(args[1]) : 25;
    String ours = args.length > 2 ? args[2] : "io.mailgate.";
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> selfPackage = new HashMap<>();
    Map<String, Long> total = new HashMap<>();
    Map<String, Long> threads = new HashMap<>();
    Map<String, Long> underOurs = new HashMap<>();
    Map<String, Long> totalOurs = new HashMap<>();
    Map<String, Long> gc = new HashMap<>();
    long samples = 0;
    long truncated = 0;
    try (RecordingFile f = new RecordingFile(Path.of(args[0]))) {
      while (f.hasMoreEvents()) {
        RecordedEvent e = f.readEvent();
        String type = e.getEventType().getName();
        if (type.equals("jdk.GarbageCollection")) {
          gc.merge("collections", 1L, Long::sum);
          gc.merge("pause_us", e.getDuration("sumOfPauses").toNanos() / 1000, Long::sum);
          continue;
        }
        if (!type.equals("jdk.ExecutionSample")) {
          continue;
        }
        RecordedStackTrace st = e.getStackTrace();
        if (st == null || st.getFrames().isEmpty()) {
          continue;
        }
        samples++;
        if (st.isTruncated()) {
          truncated++;
        }
        List<RecordedFrame> frames = st.getFrames();
        String top = name(frames.get(0));
        self.merge(top, 1L, Long::sum);
        selfPackage.merge(pkg(frames.get(0)), 1L, Long::sum);
        Set<String> seen = new HashSet<>();
        String firstOurs = null;
        for (RecordedFrame fr : frames) {
          String n = name(fr);
          if (seen.add(n)) {
            total.merge(n, 1L, Long::sum);
            if (n.startsWith(ours)) {
              totalOurs.merge(n, 1L, Long::sum);
            }
          }
          if (firstOurs == null && fr.getMethod() != null && fr.getMethod().getType().getName().startsWith(ours)) {
            firstOurs = n;
          }
        }
        underOurs.merge(firstOurs == null ? "(no " + ours + " frame: Netty/Vert.x/JDK only)" : firstOurs, 1L,
            Long::sum);
        String thread = e.getThread("sampledThread") == null ? "?" : e.getThread("sampledThread").getJavaName();
        threads.merge(thread == null ? "?" : thread.replaceAll("-\\d+$", "-N"), 1L, Long::sum);
      }
    }
    System.out.printf(Locale.ROOT, "%d CPU samples (jdk.ExecutionSample)%s%n", samples,
        truncated > 0 ? ", " + truncated + " with truncated stacks" : "");
    if (!gc.isEmpty()) {
      System.out.printf(Locale.ROOT, "GC: %d collections, %.1f ms of pauses in all%n", gc.get("collections"),
          gc.get("pause_us") / 1000.0);
    }
    print("self time by top frame", self, samples, rows);
    print("self time by package of the top frame", selfPackage, samples, rows);
    print("total time by method on the stack", total, samples, rows);
    print("total time by " + ours + " method on the stack", totalOurs, samples, rows);
    print("total time under the innermost " + ours + " frame on the stack", underOurs, samples, rows);
    print("samples by thread", threads, samples, 10);
  }

  private static String name(RecordedFrame f) {
    RecordedMethod m = f.getMethod();
    if (m == null) {
      return "?";
    }
    return m.getType().getName() + "." + m.getName();
  }

  private static String pkg(RecordedFrame f) {
    RecordedMethod m = f.getMethod();
    if (m == null) {
      return "?";
    }
    String t = m.getType().getName();
    int dot = t.lastIndexOf('.');
    return dot < 0 ? "(default)" : t.substring(0, dot);
  }

  private static void print(String title, Map<String, Long> counts, long samples, int rows) {
    System.out.println();
    System.out.println(title + ":");
    List<Map.Entry<String, Long>> list = new ArrayList<>(counts.entrySet());
    list.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
    for (int i = 0; i < Math.min(rows, list.size()); i++) {
      System.out.printf(Locale.ROOT, "  %5.1f%%  %s%n", 100.0 * list.get(i).getValue() / samples, list.get(i).getKey());
    }
  }
}
