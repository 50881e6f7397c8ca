package io.mailgate.feedback;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Regular expressions over text from other servers, with a bound on the work: the text is read through a
 * {@link CharSequence} that counts its reads and gives up past a budget. Some of the feedback patterns backtrack
 * badly on text written against them (a 200 KB line of spaces tried against a marker that starts with {@code \s*}
 * and then {@code [-=*_ ]{2,}} takes cubic time); parsing runs on a worker thread without a time limit, so a report
 * must not be able to hold one. Past the budget the answer is "no match", as for text that was never meant to match.
 */
final class BoundedMatch {
  private BoundedMatch() {}

  private static final class TooMuchWork extends RuntimeException {
    TooMuchWork() {
      super(null, null, false, false);
    }
  }

  private static final class Counting implements CharSequence {
    private final CharSequence text;
    private long left;

    Counting(CharSequence text, long budget) {
      this.text = text;
      this.left = budget;
    }

    @Override
    public char charAt(int index) {
      if (--left < 0) {
        throw new TooMuchWork();
      }
      return text.charAt(index);
    }

    @Override
    public int length() {
      return text.length();
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      return text.subSequence(start, end);
    }

    @Override
    public String toString() {
      return text.toString();
    }
  }

  /** Whether {@code pattern} matches all of {@code text}; false also when it would read more than {@code budget}. */
  static boolean matches(Pattern pattern, CharSequence text, long budget) {
    try {
      return pattern.matcher(new Counting(text, budget)).matches();
    } catch (TooMuchWork e) {
      return false;
    }
  }

  /** Whether {@code pattern} occurs in {@code text}; false also when finding out would read more than {@code budget}. */
  static boolean find(Pattern pattern, CharSequence text, long budget) {
    try {
      return pattern.matcher(new Counting(text, budget)).find();
    } catch (TooMuchWork e) {
      return false;
    }
  }

  /** {@code text} with every match replaced; {@code text} unchanged when that would read more than {@code budget}. */
  static String replaceAll(Pattern pattern, String text, String replacement, long budget) {
    try {
      Matcher m = pattern.matcher(new Counting(text, budget));
      return m.replaceAll(replacement);
    } catch (TooMuchWork e) {
      return text;
    }
  }
}
