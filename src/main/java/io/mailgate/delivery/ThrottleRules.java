package io.mailgate.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which replies mean "slow down", and by how much: data, not code ({@code delivery/throttle-rules.txt}
 * shipped, then an operator file tried first). See the shipped file for the format.
 */
public final class ThrottleRules {

  /**
   * What a matching reply does to its site. {@code hostOnly}: the reply is about the host that gave it (busy, shutting
   * down), not about us at the whole site, so a session it ends may take its message to the site's next MX at once;
   * a reply asking us to slow down (rate limits, policy) keeps it from the others, which would say the same.
   */
  public record Throttle(Duration pause, double rateFactor, String rule, boolean hostOnly) {}

  record Rule(Duration pause, double factor, String code, String status, Pattern text, boolean hostOnly,
      String source) {
    boolean matches(SmtpResponse r) {
      if (code != null && !digits(code, Integer.toString(r.code()))) {
        return false;
      }
      if (status != null && (r.enhancedStatus() == null || !statusMatches(status, r.enhancedStatus()))) {
        return false;
      }
      return text == null || text.matcher(r.text()).find();
    }

    boolean exempt() {
      return pause.isZero() && factor == 1.0;
    }
  }

  private final List<Rule> rules;

  private ThrottleRules(List<Rule> rules) {
    this.rules = rules;
  }

  public static ThrottleRules load(String operatorFile) {
    List<Rule> rules = new ArrayList<>();
    if (operatorFile != null && !operatorFile.isBlank()) {
      try {
        rules.addAll(parse(Files.readString(Path.of(operatorFile)), operatorFile));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + operatorFile, e);
      }
    }
    try (InputStream in = ThrottleRules.class.getClassLoader().getResourceAsStream("delivery/throttle-rules.txt")) {
      rules.addAll(parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "delivery/throttle-rules.txt"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new ThrottleRules(rules);
  }

  /**
   * The throttle a reply asks for, or null when it is not a "slow down". A rule with pause 0 and factor 1 is an
   * exception: a reply it matches is no throttle, whatever later rules say (greylisting: a deferral of that one
   * sender and recipient, which says nothing about how fast the site takes everyone else's mail).
   */
  public Throttle match(SmtpResponse reply) {
    for (Rule r : rules) {
      if (r.matches(reply)) {
        return r.exempt() ? null : new Throttle(r.pause(), r.factor(), r.source(), r.hostOnly());
      }
    }
    return null;
  }

  static List<Rule> parse(String text, String source) {
    List<Rule> out = new ArrayList<>();
    String[] lines = text.split("\n");
    for (int n = 0; n < lines.length; n++) {
      String line = lines[n].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = source + ":" + (n + 1);
      String[] head = line.split("\\s+", 3);
      if (head.length < 3) {
        throw new IllegalArgumentException(where + ": expected <pause> <factor> <condition>");
      }
      try {
        long pause = Long.parseLong(head[0]);
        double factor = Double.parseDouble(head[1]);
        if (pause < 0 || factor <= 0 || factor > 1) {
          throw new IllegalArgumentException(where + ": pause must be >= 0 and factor in (0, 1]");
        }
        String code = null;
        String status = null;
        Pattern pattern = null;
        Boolean scope = null; // host: true
        String rest = head[2].strip();
        while (!rest.isEmpty()) {
          if (rest.startsWith("/")) {
            int end = rest.lastIndexOf('/');
            if (end <= 0) {
              throw new IllegalArgumentException(where + ": unterminated /regex/");
            }
            pattern = Pattern.compile(rest.substring(1, end), Pattern.CASE_INSENSITIVE);
            rest = rest.substring(end + 1).strip();
            continue;
          }
          int space = rest.indexOf(' ');
          String token = space < 0 ? rest : rest.substring(0, space);
          rest = space < 0 ? "" : rest.substring(space + 1).strip();
          if (token.startsWith("code=")) {
            code = token.substring(5);
          } else if (token.startsWith("status=")) {
            status = token.substring(7);
          } else if (token.equals("scope=host")) {
            scope = true;
          } else if (token.equals("scope=site")) {
            scope = false;
          } else {
            throw new IllegalArgumentException(where + ": unknown condition '" + token + "'");
          }
        }
        // unsaid, a bare code=421 is a host's, as such a rule read before scopes existed (an operator's copy of the
        // shipped file's): its sessions' mail still goes on to the next MX
        boolean hostOnly = scope != null ? scope : "421".equals(code) && status == null && pattern == null;
        out.add(new Rule(Duration.ofSeconds(pause), factor, code, status, pattern, hostOnly, where));
      } catch (NumberFormatException | PatternSyntaxException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  private static boolean digits(String want, String actual) {
    if (want.length() != actual.length()) {
      return false;
    }
    for (int i = 0; i < want.length(); i++) {
      if (want.charAt(i) != 'x' && want.charAt(i) != actual.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean statusMatches(String want, String actual) {
    return want.endsWith("*") ? actual.startsWith(want.substring(0, want.length() - 1)) : want.equals(actual);
  }
}
