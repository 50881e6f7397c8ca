package io.mailgate.feedback;

import java.util.List;

/**
 * One line of a bounce rules file: when every condition holds, the failure is {@code reason} with
 * that SES type and sub-type.
 */
record BounceRule(String reason, BounceType type, BounceSubType subType, List<Condition> conditions, String source) {

  /** What a rule can test. Cheap tests are listed (and evaluated) before text patterns. */
  sealed interface Condition permits StatusIs, ReplyIs, FailureClass, CommandIs, CategoryIs, TextMatches, Not {
    boolean test(Failure failure);

    default boolean readsText() {
      return false;
    }
  }

  /** The failure as the classifier sees it, normalised once. */
  record Failure(Integer replyCode, String status, String text, String lowerText, String command, String category) {
    /** '5' or '4' from the enhanced status, else from the reply code; 0 when neither is known. */
    char failureClass() {
      if (status != null && !status.isEmpty()) {
        return status.charAt(0);
      }
      return replyCode == null ? 0 : Character.forDigit(replyCode / 100, 10);
    }
  }

  /**
   * Enhanced status: {@code 5.1.1} exactly, or with {@code *} for any number in a position
   * ({@code *.2.2}, {@code 5.7.*}, {@code 5.*}: trailing positions may be left out).
   */
  record StatusIs(List<String[]> alternatives) implements Condition {
    @Override
    public boolean test(Failure f) {
      if (f.status() == null) {
        return false;
      }
      String[] actual = f.status().split("\\.");
      for (String[] want : alternatives) {
        if (matches(want, actual)) {
          return true;
        }
      }
      return false;
    }

    private static boolean matches(String[] want, String[] actual) {
      if (want.length > actual.length) {
        return false;
      }
      for (int i = 0; i < want.length; i++) {
        if (!want[i].equals("*") && !want[i].equals(actual[i])) {
          return false;
        }
      }
      return want.length == actual.length || want[want.length - 1].equals("*");
    }
  }

  /** SMTP reply code: {@code 550}, or with {@code x} for any digit ({@code 55x}, {@code 4xx}). */
  record ReplyIs(List<String> alternatives) implements Condition {
    @Override
    public boolean test(Failure f) {
      if (f.replyCode() == null) {
        return false;
      }
      String actual = Integer.toString(f.replyCode());
      for (String want : alternatives) {
        if (want.length() == actual.length() && matches(want, actual)) {
          return true;
        }
      }
      return false;
    }

    private static boolean matches(String want, String actual) {
      for (int i = 0; i < want.length(); i++) {
        if (want.charAt(i) != 'x' && want.charAt(i) != actual.charAt(i)) {
          return false;
        }
      }
      return true;
    }
  }

  /** Permanent (5) or transient (4) failure, from the status or else the reply code. */
  record FailureClass(char digit) implements Condition {
    @Override
    public boolean test(Failure f) {
      return f.failureClass() == digit;
    }
  }

  /** The SMTP command the failure answered: CONNECT, HELO, MAIL, RCPT or DATA. */
  record CommandIs(List<String> alternatives) implements Condition {
    @Override
    public boolean test(Failure f) {
      return f.command() != null && alternatives.contains(f.command());
    }
  }

  /** The reporting MTA's own category for the recipient ({@link RecipientReport#mtaCategory()}). */
  record CategoryIs(List<String> alternatives) implements Condition {
    @Override
    public boolean test(Failure f) {
      return f.category() != null && alternatives.contains(f.category());
    }
  }

  /** A case-insensitive pattern found in the diagnostic text. */
  record TextMatches(TextPattern pattern) implements Condition {
    @Override
    public boolean test(Failure f) {
      return f.text() != null && pattern.find(f.text(), f.lowerText());
    }

    @Override
    public boolean readsText() {
      return true;
    }
  }

  /** Any condition negated with a leading '!'. */
  record Not(Condition inner) implements Condition {
    @Override
    public boolean test(Failure f) {
      return !inner.test(f);
    }

    @Override
    public boolean readsText() {
      return inner.readsText();
    }
  }

  boolean matches(Failure failure) {
    for (Condition c : conditions) {
      if (!c.test(failure)) {
        return false;
      }
    }
    return true;
  }
}
