package io.mailgate.feedback;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A case-insensitive rule pattern made cheap to try. Rule patterns are long alternations, and
 * java.util.regex tries every branch at every position of the text. Each top-level branch is
 * therefore compiled on its own with the longest literal it cannot match without (its gate); a
 * branch runs only when its gate occurs in the lower-cased text, which a plain {@code indexOf}
 * checks. Matching is unchanged: the pattern is found iff some branch is found.
 */
final class TextPattern {

  /** A branch and the literals of which at least one must occur (null: always try it). */
  private record Branch(List<String> gate, Pattern pattern) {}

  private final String source;
  private final List<Branch> branches;

  TextPattern(String regex) {
    Pattern.compile(regex, Pattern.CASE_INSENSITIVE); // whole-pattern syntax check, clear errors
    this.source = regex;
    List<Branch> list = new ArrayList<>();
    for (String branch : topLevelBranches(regex)) {
      list.add(new Branch(gate(branch), Pattern.compile(branch, Pattern.CASE_INSENSITIVE)));
    }
    this.branches = List.copyOf(list);
  }

  /** Whether the pattern occurs in {@code text}; {@code lowerText} is the same text lower-cased. */
  boolean find(String text, String lowerText) {
    for (Branch b : branches) {
      if (passes(b.gate(), lowerText) && b.pattern().matcher(text).find()) {
        return true;
      }
    }
    return false;
  }

  private static boolean passes(List<String> gate, String lowerText) {
    if (gate == null) {
      return true;
    }
    for (String literal : gate) {
      if (lowerText.contains(literal)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Literals of which the branch needs at least one: its longest mandatory literal when that is
   * long enough, else a mandatory group whose every alternative has one ("(?:mailbox|user) ...").
   */
  static List<String> gate(String branch) {
    String literal = mandatoryLiteral(branch);
    if (literal.length() >= 4) {
      return List.of(literal.toLowerCase(Locale.ROOT));
    }
    for (int i = 0; i < branch.length(); i++) {
      char c = branch.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '[') {
        i = classEnd(branch, i);
      } else if (c == '(') {
        int end = groupEnd(branch, i);
        char after = end + 1 < branch.length() ? branch.charAt(end + 1) : 0;
        String inner = branch.substring(i + 1, end);
        boolean plainGroup = !inner.startsWith("?") || inner.startsWith("?:");
        if (plainGroup && after != '?' && after != '*' && after != '{') {
          List<String> any = new ArrayList<>();
          for (String alt : topLevelBranches(inner.startsWith("?:") ? inner.substring(2) : inner)) {
            String l = mandatoryLiteral(alt);
            if (l.length() < 3) {
              any = null;
              break;
            }
            any.add(l.toLowerCase(Locale.ROOT));
          }
          if (any != null && !any.isEmpty()) {
            return List.copyOf(any);
          }
        }
        i = end;
      }
    }
    return literal.length() >= 3 ? List.of(literal.toLowerCase(Locale.ROOT)) : null;
  }

  String source() {
    return source;
  }

  /** Splits at '|' outside groups and character classes. */
  static List<String> topLevelBranches(String regex) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < regex.length(); i++) {
      char c = regex.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '[') {
        i = classEnd(regex, i);
      } else if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == '|' && depth == 0) {
        out.add(regex.substring(start, i));
        start = i + 1;
      }
    }
    out.add(regex.substring(start));
    return out;
  }

  /**
   * The longest run of literal characters the branch must contain: characters at group depth 0
   * that are not made optional by a following quantifier. Anything unsure ends a run, so the
   * result is always safe to require (possibly shorter than it could be).
   */
  static String mandatoryLiteral(String branch) {
    String best = "";
    StringBuilder run = new StringBuilder();
    int i = 0;
    while (i < branch.length()) {
      char c = branch.charAt(i);
      char literal = 0;
      int next = i + 1;
      if (c == '\\' && i + 1 < branch.length()) {
        char e = branch.charAt(i + 1);
        next = i + 2;
        if (!Character.isLetterOrDigit(e)) {
          literal = e; // \. \- \/ \' ...
        }
      } else if (c == '[') {
        next = classEnd(branch, i) + 1;
      } else if (c == '(') {
        next = groupEnd(branch, i) + 1;
      } else if (".^$)|".indexOf(c) < 0 && "?*+{".indexOf(c) < 0) {
        literal = c;
      }
      char quantifier = next < branch.length() ? branch.charAt(next) : 0;
      boolean optional = quantifier == '?' || quantifier == '*' || quantifier == '{';
      if (literal != 0 && !optional) {
        run.append(literal);
        if (quantifier == '+') {
          best = longer(best, run);
          run.setLength(0);
        }
      } else {
        best = longer(best, run);
        run.setLength(0);
      }
      i = next;
      if (literal == 0 || optional) {
        // skip the quantifier itself, including {m,n}
        while (i < branch.length() && "?*+".indexOf(branch.charAt(i)) >= 0) {
          i++;
        }
        if (i < branch.length() && branch.charAt(i) == '{') {
          int close = branch.indexOf('}', i);
          i = close < 0 ? branch.length() : close + 1;
          if (i < branch.length() && branch.charAt(i) == '?') {
            i++;
          }
        }
      }
    }
    return longer(best, run);
  }

  private static String longer(String best, StringBuilder run) {
    return run.length() > best.length() ? run.toString() : best;
  }

  private static int classEnd(String s, int open) {
    int i = open + 1;
    if (i < s.length() && s.charAt(i) == '^') {
      i++;
    }
    if (i < s.length() && s.charAt(i) == ']') {
      i++;
    }
    for (; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == ']') {
        return i;
      }
    }
    return s.length() - 1;
  }

  private static int groupEnd(String s, int open) {
    int depth = 0;
    for (int i = open; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '[') {
        i = classEnd(s, i);
      } else if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        return i;
      }
    }
    return s.length() - 1;
  }
}
