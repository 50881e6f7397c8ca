package io.mailgate.feedback;

import io.mailgate.feedback.BounceRule.Failure;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Classifies a delivery failure into SES's bounce type and sub-type plus a finer reason, from
 * whatever of the SMTP reply code, enhanced status code and diagnostic text is known. The same
 * instance serves synchronous SMTP replies on the delivery path and DSN entries from {@link
 * FeedbackParser}.
 *
 * <p>The rules are data: the shipped {@code feedback/bounce-rules.txt} on the classpath, preceded
 * by the operator's own file when one is given, so an operator rule wins over a default. The first
 * rule whose conditions all hold decides. Immutable and thread-safe; patterns are compiled once,
 * and each rule compares codes before running its patterns.
 */
public final class BounceClassifier {

  /** Classpath location of the shipped defaults. */
  public static final String DEFAULT_RULES = "feedback/bounce-rules.txt";

  private static final Classification NO_RULE =
      new Classification(BounceType.UNDETERMINED, BounceSubType.UNDETERMINED, "undetermined", "none");

  /** Diagnostics beyond this are cut: causes are stated up front, and patterns cost per char. */
  private static final int MAX_TEXT = 4096;

  private final List<BounceRule> rules;

  private BounceClassifier(List<BounceRule> rules) {
    this.rules = List.copyOf(rules);
  }

  /** The shipped defaults only. */
  public static BounceClassifier defaults() {
    return new BounceClassifier(defaultRules());
  }

  /**
   * The operator's rules (tried first) and then the shipped defaults.
   *
   * @param operatorRules a rules file in the same format, or null for defaults only
   * @throws IOException when the file cannot be read
   * @throws IllegalArgumentException when a line is malformed (the message names file and line)
   */
  public static BounceClassifier load(Path operatorRules) throws IOException {
    if (operatorRules == null) {
      return defaults();
    }
    List<BounceRule> all = new ArrayList<>(
        BounceRules.parse(Files.readString(operatorRules, StandardCharsets.UTF_8), operatorRules.toString()));
    all.addAll(defaultRules());
    return new BounceClassifier(all);
  }

  /** Operator rules given as text (tried first), then the defaults; for tests and tooling. */
  public static BounceClassifier withRules(String operatorRules, String sourceName) {
    List<BounceRule> all = new ArrayList<>(BounceRules.parse(operatorRules, sourceName));
    all.addAll(defaultRules());
    return new BounceClassifier(all);
  }

  /**
   * Classifies one failure. Any argument may be null: a missing reply code or status is looked
   * for in the text (so a raw reply line such as {@code 550 5.1.1 <a@b>: User unknown} works on
   * its own).
   */
  public Classification classify(Integer replyCode, String enhancedStatus, String diagnosticText) {
    return classify(replyCode, enhancedStatus, diagnosticText, null);
  }

  /**
   * Classifies one failure whose SMTP stage is known, as on the delivery path.
   *
   * @param smtpCommand CONNECT, HELO, MAIL, RCPT or DATA (the command the reply answered), or null
   *     to take it from the text when the text says ("in reply to RCPT TO command")
   */
  public Classification classify(Integer replyCode, String enhancedStatus, String diagnosticText, String smtpCommand) {
    return classify(replyCode, enhancedStatus, diagnosticText, smtpCommand, null);
  }

  private Classification classify(
      Integer replyCode, String enhancedStatus, String diagnosticText, String smtpCommand, String mtaCategory) {
    String command = smtpCommand != null ? smtpCommand.strip().toUpperCase(java.util.Locale.ROOT) : SmtpText.command(diagnosticText);
    String status = normalizeStatus(enhancedStatus);
    if (status == null) {
      status = SmtpText.status(diagnosticText);
      if (status != null && replyCode != null && status.charAt(0) != Character.forDigit(replyCode / 100, 10)) {
        status = null; // the reply we were given outranks a code quoted somewhere in its text
      }
    }
    Integer reply = replyCode != null ? replyCode : SmtpText.replyCode(diagnosticText);
    String text = diagnosticText != null && diagnosticText.length() > MAX_TEXT
        ? diagnosticText.substring(0, MAX_TEXT) : diagnosticText;
    Failure failure = new Failure(reply, status, text, text == null ? null : text.toLowerCase(java.util.Locale.ROOT), command,
        mtaCategory);
    for (BounceRule rule : rules) {
      if (rule.matches(failure)) {
        return new Classification(rule.type(), rule.subType(), rule.reason(), rule.source());
      }
    }
    return NO_RULE;
  }

  /** Classifies one recipient of a parsed report. */
  public Classification classify(RecipientReport recipient) {
    return classify(recipient.replyCode(), recipient.status(), recipient.diagnosticCode(), recipient.smtpCommand(),
        recipient.mtaCategory());
  }

  int ruleCount() {
    return rules.size();
  }

  private static String normalizeStatus(String status) {
    if (status == null || status.isBlank()) {
      return null;
    }
    return SmtpText.status(status);
  }

  private static List<BounceRule> defaultRules() {
    return Defaults.RULES;
  }

  /** Loaded once per JVM: the defaults never change at run time. */
  private static final class Defaults {
    static final List<BounceRule> RULES = load();

    private static List<BounceRule> load() {
      try (InputStream in = BounceClassifier.class.getClassLoader().getResourceAsStream(DEFAULT_RULES)) {
        if (in == null) {
          throw new IllegalStateException("missing classpath resource " + DEFAULT_RULES);
        }
        return List.copyOf(BounceRules.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), DEFAULT_RULES));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
