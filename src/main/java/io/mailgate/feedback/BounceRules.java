package io.mailgate.feedback;

import io.mailgate.feedback.BounceRule.CategoryIs;
import io.mailgate.feedback.BounceRule.CommandIs;
import io.mailgate.feedback.BounceRule.Condition;
import io.mailgate.feedback.BounceRule.FailureClass;
import io.mailgate.feedback.BounceRule.Not;
import io.mailgate.feedback.BounceRule.ReplyIs;
import io.mailgate.feedback.BounceRule.StatusIs;
import io.mailgate.feedback.BounceRule.TextMatches;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.PatternSyntaxException;

/**
 * Reads the bounce rules line format; the format is documented at the top of the shipped {@code
 * feedback/bounce-rules.txt}. A malformed line is an error naming the file and line, so an
 * operator's typo fails startup instead of silently misclassifying.
 */
final class BounceRules {

  private BounceRules() {}

  static List<BounceRule> parse(String text, String sourceName) {
    List<BounceRule> rules = new ArrayList<>();
    String[] lines = text.split("\r?\n|\r", -1);
    StringBuilder logical = null;
    int logicalLine = 0;
    for (int i = 0; i <= lines.length; i++) {
      String line = i < lines.length ? lines[i] : "";
      boolean continuation = i < lines.length && !line.isBlank() && Character.isWhitespace(line.charAt(0))
          && !line.strip().startsWith("#");
      if (continuation && logical != null) {
        String more = line.strip();
        boolean alternation = more.startsWith("|") || logical.charAt(logical.length() - 1) == '|';
        logical.append(alternation ? "" : " ").append(more);
        continue;
      }
      if (logical != null) {
        rules.add(rule(logical.toString(), sourceName + ":" + logicalLine));
        logical = null;
      }
      if (i == lines.length || line.isBlank() || line.strip().startsWith("#")) {
        continue;
      }
      if (continuation) {
        throw new IllegalArgumentException(sourceName + ":" + (i + 1) + ": continuation line without a rule");
      }
      logical = new StringBuilder(line.strip());
      logicalLine = i + 1;
    }
    return rules;
  }

  private static BounceRule rule(String line, String source) {
    List<String> tokens = tokens(line, source);
    if (tokens.size() < 2) {
      throw new IllegalArgumentException(source + ": expected '<reason> <Type>/<SubType> [conditions]'");
    }
    String reason = tokens.get(0);
    if (!reason.matches("[a-z][a-z0-9_-]*")) {
      throw new IllegalArgumentException(source + ": reason must be a lower-case word: " + reason);
    }
    String[] kind = tokens.get(1).split("/", 2);
    if (kind.length != 2) {
      throw new IllegalArgumentException(source + ": expected Type/SubType, got " + tokens.get(1));
    }
    BounceType type;
    BounceSubType subType;
    try {
      type = BounceType.fromSesName(kind[0]);
      subType = BounceSubType.fromSesName(kind[1]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
    }
    if (!subType.belongsTo(type)) {
      throw new IllegalArgumentException(source + ": " + tokens.get(1) + " is not an SES type/sub-type pair");
    }
    List<Condition> conditions = new ArrayList<>();
    for (String token : tokens.subList(2, tokens.size())) {
      conditions.add(condition(token, source));
    }
    // Codes are compared before any pattern runs: most rules fail on them for free.
    conditions.sort(Comparator.comparing(Condition::readsText));
    return new BounceRule(reason, type, subType, List.copyOf(conditions), source);
  }

  private static Condition condition(String token, String source) {
    if (token.startsWith("!") && token.length() > 1) {
      return new Not(condition(token.substring(1), source));
    }
    if (token.startsWith("/")) {
      String regex = token.substring(1, token.length() - 1);
      try {
        return new TextMatches(new TextPattern(regex));
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException(source + ": bad pattern: " + e.getDescription(), e);
      }
    }
    if (token.startsWith("status=")) {
      List<String[]> alternatives = new ArrayList<>();
      for (String alt : token.substring(7).split(",")) {
        if (!alt.matches("(?:[245*])(?:\\.(?:\\d{1,3}|\\*)){0,2}")) {
          throw new IllegalArgumentException(source + ": bad status pattern: " + alt);
        }
        alternatives.add(alt.split("\\."));
      }
      return new StatusIs(List.copyOf(alternatives));
    }
    if (token.startsWith("code=")) {
      List<String> alternatives = List.of(token.substring(5).toLowerCase().split(","));
      for (String alt : alternatives) {
        if (!alt.matches("[245x][0-9x]{2}")) {
          throw new IllegalArgumentException(source + ": bad reply code pattern: " + alt);
        }
      }
      return new ReplyIs(alternatives);
    }
    if (token.startsWith("command=")) {
      List<String> alternatives = List.of(token.substring(8).toUpperCase(java.util.Locale.ROOT).split(","));
      for (String alt : alternatives) {
        if (!List.of("CONNECT", "HELO", "MAIL", "RCPT", "DATA").contains(alt)) {
          throw new IllegalArgumentException(source + ": bad SMTP command: " + alt);
        }
      }
      return new CommandIs(alternatives);
    }
    if (token.startsWith("category=")) {
      List<String> alternatives = List.of(token.substring(9).toLowerCase(java.util.Locale.ROOT).split(","));
      for (String alt : alternatives) {
        if (!alt.matches("[a-z][a-z0-9_-]*")) {
          throw new IllegalArgumentException(source + ": bad category: " + alt);
        }
      }
      return new CategoryIs(alternatives);
    }
    if (token.equals("class=4") || token.equals("class=5")) {
      return new FailureClass(token.charAt(6));
    }
    throw new IllegalArgumentException(source + ": unknown condition: " + token);
  }

  /** Splits on whitespace, except inside /pattern/ which ends at an unescaped '/' before a space. */
  private static List<String> tokens(String line, String source) {
    List<String> tokens = new ArrayList<>();
    int i = 0;
    int n = line.length();
    while (i < n) {
      while (i < n && Character.isWhitespace(line.charAt(i))) {
        i++;
      }
      if (i >= n) {
        break;
      }
      int start = i;
      if (line.startsWith("/", i) || line.startsWith("!/", i)) {
        i = line.indexOf('/', i) + 1;
        int end = -1;
        for (int j = i; j < n; j++) {
          char c = line.charAt(j);
          if (c == '\\') {
            j++;
          } else if (c == '/' && (j + 1 == n || Character.isWhitespace(line.charAt(j + 1)))) {
            end = j;
            break;
          }
        }
        if (end < 0) {
          throw new IllegalArgumentException(source + ": pattern not closed with /");
        }
        tokens.add(line.substring(start, end + 1));
        i = end + 1;
      } else {
        while (i < n && !Character.isWhitespace(line.charAt(i))) {
          i++;
        }
        tokens.add(line.substring(start, i));
      }
    }
    return tokens;
  }
}
