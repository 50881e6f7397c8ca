package io.mailgate.feedback;

import io.mailgate.feedback.AddressValidation.Verdict;

/**
 * SES Auto Validation's setting (SuppressionConditionThreshold), an account's or a configuration set's: when enabled,
 * delivery validates each recipient ({@link AddressInsights}) before sending and suppresses those whose overall verdict
 * is below the threshold: MEDIUM lets MEDIUM and HIGH through, HIGH only HIGH. SES's MANAGED threshold, and none given,
 * let MEDIUM and HIGH through, as MEDIUM does: Mailgate does not tune it from the account's sending.
 *
 * @param threshold MEDIUM, HIGH, MANAGED, or null when none was given
 */
public record ValidationThreshold(boolean enabled, String threshold) {
  public static final java.util.List<String> THRESHOLDS = java.util.List.of("MEDIUM", "HIGH", "MANAGED");

  public ValidationThreshold {
    if (threshold != null && !THRESHOLDS.contains(threshold)) {
      throw new IllegalArgumentException("no such threshold: " + threshold);
    }
  }

  /** The lowest verdict sent to. */
  public Verdict minimum() {
    return "HIGH".equals(threshold) ? Verdict.HIGH : Verdict.MEDIUM;
  }

  /** Enabled, and {@code overall} is below the threshold. */
  public boolean suppresses(Verdict overall) {
    return enabled && !overall.atLeast(minimum());
  }

  /** A set's own setting when it has one, else the account's (null: neither has one). */
  public static ValidationThreshold effective(ValidationThreshold set, ValidationThreshold account) {
    return set != null ? set : account;
  }

  /**
   * From the two columns that keep it (enabled null: never set). A threshold this version does not know (a newer one's,
   * after a rollback) reads as none given: MANAGED's behaviour, not a failure of every read of the row.
   */
  public static ValidationThreshold of(Boolean enabled, String threshold) {
    return enabled == null ? null : new ValidationThreshold(enabled, threshold != null && THRESHOLDS.contains(threshold) ? threshold
        : null);
  }
}
