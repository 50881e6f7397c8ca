package io.mailgate.feedback;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Measures {@link FeedbackParser} and {@link BounceClassifier} (the server's own instances and
 * default rules) against a labelled corpus: a directory of .eml files and a labels.tsv with
 * columns file, recipient (1-based index within the message), status, reply_code, reason,
 * hard_bounce, feedback_type. Run by {@code benchmarks/bounce-corpus.sh}, which documents the
 * figures. The last line printed is the summary.
 */
public final class CorpusBenchmark {

  /**
   * Labels from sisimai use pseudo status codes x.0.9xx when the message carried no status at
   * all; they are not RFC 3463 codes, so for them "agree" means we also extracted none.
   */
  private static final Pattern PSEUDO_STATUS = Pattern.compile("[245]\\.0\\.9\\d\\d");

  private record Label(String file, int index, String status, String replyCode, String reason, boolean hard,
      String feedbackType) {}

  private CorpusBenchmark() {}

  public static void main(String[] args) throws IOException {
    boolean verbose = false;
    List<String> positional = new ArrayList<>();
    for (String a : args) {
      if (a.equals("--verbose") || a.equals("-v")) {
        verbose = true;
      } else {
        positional.add(a);
      }
    }
    if (positional.size() != 2) {
      System.err.println("usage: CorpusBenchmark [--verbose] <eml-dir> <labels.tsv>");
      System.exit(2);
    }
    Path dir = Path.of(positional.get(0));
    List<Label> labels = readLabels(Path.of(positional.get(1)));

    FeedbackParser parser = new FeedbackParser();
    BounceClassifier classifier = BounceClassifier.defaults();

    Map<String, FeedbackReport> reports = new HashMap<>();
    Map<FeedbackKind, Integer> kinds = new EnumMap<>(FeedbackKind.class);
    long parseNanos = 0;
    for (Label l : labels) {
      if (!reports.containsKey(l.file())) {
        byte[] raw = Files.readAllBytes(dir.resolve(l.file()));
        long t0 = System.nanoTime();
        FeedbackReport report = parser.parse(raw);
        parseNanos += System.nanoTime() - t0;
        reports.put(l.file(), report);
        kinds.merge(report.kind(), 1, Integer::sum);
      }
    }

    int found = 0;
    int statusRows = 0;
    int statusAgree = 0;
    int realStatusRows = 0;
    int realStatusAgree = 0;
    int bounceRows = 0;
    int hardSoftAgree = 0;
    int feedbackRows = 0;
    int feedbackAgree = 0;
    long classifyNanos = 0;
    int classifications = 0;
    for (Label l : labels) {
      FeedbackReport report = reports.get(l.file());
      RecipientReport r = l.index() <= report.recipients().size() ? report.recipients().get(l.index() - 1) : null;
      boolean isFound = r != null && r.finalRecipient() != null && r.finalRecipient().contains("@");
      List<String> problems = new ArrayList<>();
      if (isFound) {
        found++;
      } else {
        problems.add("recipient not found (" + report.kind() + ", " + report.recipients().size() + " recipients)");
      }

      if (!l.status().isEmpty()) {
        statusRows++;
        boolean pseudo = PSEUDO_STATUS.matcher(l.status()).matches();
        String ours = isFound ? r.status() : null;
        boolean agree = isFound && (pseudo ? ours == null : l.status().equals(ours));
        if (agree) {
          statusAgree++;
        } else {
          problems.add("status " + ours + " != " + l.status());
        }
        if (!pseudo) {
          realStatusRows++;
          realStatusAgree += agree ? 1 : 0;
        }
      }

      if (!l.reason().equals("feedback")) {
        bounceRows++;
        Classification c = null;
        if (isFound) {
          long t0 = System.nanoTime();
          c = classifier.classify(r);
          classifyNanos += System.nanoTime() - t0;
          classifications++;
        }
        if (c != null && c.isHardBounce() == l.hard()) {
          hardSoftAgree++;
        } else {
          problems.add("hard=" + (c == null ? "?" : c.isHardBounce()) + " != " + l.hard() + " ("
              + (c == null ? "-" : c.type().sesName() + "/" + c.subType().sesName() + " " + c.reason() + " @" + c.rule())
              + " vs " + l.reason() + ")");
        }
      }

      if (!l.feedbackType().isEmpty()) {
        feedbackRows++;
        String ours = report.complaint() == null ? null : report.complaint().feedbackType();
        if (l.feedbackType().equalsIgnoreCase(ours == null ? "" : ours)) {
          feedbackAgree++;
        } else {
          problems.add("feedback_type " + ours + " != " + l.feedbackType());
        }
      }

      if (verbose && !problems.isEmpty()) {
        System.out.println("MISMATCH " + l.file() + " #" + l.index() + ": " + String.join("; ", problems)
            + (isFound ? " | " + brief(r) : ""));
      }
    }

    System.out.println("kinds " + kinds);
    System.out.println(warmClassifierTiming(classifier, reports));
    System.out.printf(Locale.ROOT, "status_agree_excluding_sisimai_pseudo_codes=%s (%d rows)%n",
        pct(realStatusAgree, realStatusRows), realStatusRows);
    System.out.printf(Locale.ROOT, "timing parse_avg_us=%.1f classify_avg_us=%.2f (single pass, JIT cold)%n",
        parseNanos / 1000.0 / Math.max(1, reports.size()), classifyNanos / 1000.0 / Math.max(1, classifications));
    System.out.printf(Locale.ROOT, "counts rows=%d recipients_found=%d/%d status_agree=%d/%d hard_soft_agree=%d/%d "
        + "feedback_type_agree=%d/%d%n", labels.size(), found, labels.size(), statusAgree, statusRows, hardSoftAgree,
        bounceRows, feedbackAgree, feedbackRows);
    System.out.printf(Locale.ROOT, "summary files=%d recipients_found=%s status_agree=%s hard_soft_agree=%s feedback_type_agree=%s%n",
        reports.size(), pct(found, labels.size()), pct(statusAgree, statusRows), pct(hardSoftAgree, bounceRows),
        pct(feedbackAgree, feedbackRows));
  }

  /**
   * Hot-path cost of the classifier, warmed up: every recipient of the corpus classified over and
   * over for about a second (their diagnostics are whole bounce paragraphs), and the same for just
   * the first line of each (what the delivery engine passes: one SMTP reply).
   */
  private static String warmClassifierTiming(BounceClassifier classifier, Map<String, FeedbackReport> reports) {
    List<RecipientReport> all = new ArrayList<>();
    reports.values().forEach(r -> all.addAll(r.recipients()));
    List<String[]> replies = new ArrayList<>();
    for (RecipientReport r : all) {
      String d = r.diagnosticCode() == null ? "" : r.diagnosticCode();
      replies.add(new String[] {r.status(), d.length() > 200 ? d.substring(0, 200) : d});
    }
    if (all.isEmpty()) {
      return "timing classifier n/a";
    }
    long sink = 0;
    double fullNs = 0;
    double replyNs = 0;
    for (int round = 0; round < 2; round++) { // the first round is warm-up
      long calls = 0;
      long t0 = System.nanoTime();
      while (System.nanoTime() - t0 < 500_000_000L) {
        for (RecipientReport r : all) {
          sink += classifier.classify(r).reason().length();
        }
        calls += all.size();
      }
      fullNs = (System.nanoTime() - t0) / (double) calls;
      calls = 0;
      t0 = System.nanoTime();
      while (System.nanoTime() - t0 < 500_000_000L) {
        for (String[] r : replies) {
          sink += classifier.classify(null, r[0], r[1]).reason().length();
        }
        calls += replies.size();
      }
      replyNs = (System.nanoTime() - t0) / (double) calls;
    }
    return String.format(Locale.ROOT, "timing classifier_warm_us full_diagnostic=%.1f first_200_chars=%.1f (%d recipients, sink %d)",
        fullNs / 1000, replyNs / 1000, all.size(), sink % 10);
  }

  private static String brief(RecipientReport r) {
    String d = r.diagnosticCode() == null ? "" : r.diagnosticCode();
    return r.finalRecipient() + " " + r.action() + " " + r.status() + " " + r.replyCode() + " \""
        + (d.length() > 160 ? d.substring(0, 160) + "..." : d) + "\"";
  }

  private static String pct(int n, int d) {
    return d == 0 ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100.0 * n / d);
  }

  private static List<Label> readLabels(Path tsv) throws IOException {
    List<Label> labels = new ArrayList<>();
    List<String> lines = Files.readAllLines(tsv, StandardCharsets.UTF_8);
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.isBlank()) {
        continue;
      }
      String[] c = line.split("\t", -1);
      String[] f = new String[7];
      for (int j = 0; j < 7; j++) {
        f[j] = j < c.length ? c[j].strip() : "";
      }
      labels.add(new Label(f[0], Integer.parseInt(f[1]), f[2], f[3], f[4], Boolean.parseBoolean(f[5]), f[6]));
    }
    return labels;
  }
}
