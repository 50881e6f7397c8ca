package io.mailgate.feedback;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Finds SMTP reply codes, RFC 3463 status codes and addresses inside free text. */
final class SmtpText {

  /** x.y.z not part of a dotted number (an IPv4 address or a version string). */
  static final Pattern STATUS =
      Pattern.compile("(?<![\\d.])([245])\\.(\\d{1,3})\\.(\\d{1,3})(?![\\d]|\\.\\d)");

  /** A three-digit reply code standing alone, as servers write it before their text. */
  private static final Pattern REPLY =
      Pattern.compile("(?<![\\w.,:+/#=$\\-\\[])([245][0-5]\\d)(?=[ \\t-]|$|\\r|\\n)", Pattern.MULTILINE);

  /**
   * An address in running text. Possessive quantifiers and the look-behind (start only where a
   * local part can start) keep matching linear on hostile input such as a 200 kB line of letters.
   * A label's dot must be followed by another label: the possessive run of labels cannot give one
   * back, and would otherwise take the period that ends a sentence ("mail to john@example.com.")
   * and leave no top-level domain, finding no address at all.
   */
  static final Pattern ADDRESS =
      Pattern.compile(
          "(?<![\\p{L}\\p{N}._%+\\-=!#$&'*/?^`{|}~])[\\p{L}\\p{N}._%+\\-=!#$&'*/?^`{|}~]++@"
              + "(?:[\\p{L}\\p{N}][\\p{L}\\p{N}\\-]*+\\.(?=[\\p{L}\\p{N}]))++[\\p{L}]{2,}+(?![\\p{L}\\p{N}\\-])");

  /**
   * Phrases MTAs use to say which command the remote server rejected, most specific first. Written
   * with single spaces; {@link #phrase} lets each space match any run of white space, because
   * reports wrap their text ("... (in reply to end of DATA\n    command)" in Postfix bounces).
   */
  private static final List<Map.Entry<Pattern, String>> COMMAND_PHRASES =
      List.of(
          Map.entry(phrase("in reply to (?:the )?(?:end of )?DATA command|after (?:end of )?data\\b|final DATA|SMTP command:? DATA\\b|SMTP:DATA\\b|after DATA\\b"), "DATA"),
          Map.entry(phrase("in reply to (?:the )?RCPT(?: TO)? command|after RCPT\\b|our RCPT TO|does not like recipient|most progress was RCPT|SMTP:RCPT\\b|\\[RCPT_TO\\]|SMTP command:? RCPT\\b"), "RCPT"),
          Map.entry(phrase("in reply to (?:the )?MAIL(?: FROM)? command|after MAIL\\b|our MAIL FROM|sender was rejected|SMTP:MAIL\\b|SMTP command:? MAIL\\b"), "MAIL"),
          Map.entry(phrase("in reply to (?:the )?(?:HELO|EHLO) command|after (?:HELO|EHLO)\\b|my name was rejected|SMTP command:? (?:HELO|EHLO)\\b"), "HELO"),
          Map.entry(phrase("after initial connection|in reply to (?:the )?initial (?:greeting|connection)|before (?:sending )?(?:HELO|EHLO)|while (?:connecting|connected)"), "CONNECT"));

  /** The last client command of a transcript ("&gt;&gt;&gt; DATA" in Sendmail reports). */
  private static final Pattern TRANSCRIPT_COMMAND =
      Pattern.compile("(?im)^\\s*>>>\\s*(RCPT|MAIL|DATA|EHLO|HELO|BDAT|STARTTLS)\\b");

  private SmtpText() {}

  private static Pattern phrase(String regex) {
    return Pattern.compile("(?i)" + regex.replace(" ", "\\s+"));
  }

  /**
   * The SMTP command the failure answered, when the text says so: CONNECT, HELO, MAIL, RCPT or
   * DATA; null when unknown.
   */
  static String command(String text) {
    if (text == null) {
      return null;
    }
    for (Map.Entry<Pattern, String> e : COMMAND_PHRASES) {
      if (e.getKey().matcher(text).find()) {
        return e.getValue();
      }
    }
    Matcher m = TRANSCRIPT_COMMAND.matcher(text);
    String last = null;
    while (m.find()) {
      last = m.group(1).toUpperCase(Locale.ROOT);
    }
    if (last == null) {
      return null;
    }
    return switch (last) {
      case "EHLO", "STARTTLS" -> "HELO";
      case "BDAT" -> "DATA";
      default -> last;
    };
  }

  /**
   * The enhanced status code in the text: a failure code (4.x.x or 5.x.x) before a success one,
   * and a specific code before a class-only one such as 5.0.0.
   */
  static String status(String text) {
    if (text == null) {
      return null;
    }
    Matcher m = STATUS.matcher(text);
    String generic = null;
    String success = null;
    while (m.find()) {
      String code = m.group(1) + "." + Integer.parseInt(m.group(2)) + "." + Integer.parseInt(m.group(3));
      if (m.group(1).equals("2")) {
        success = success == null ? code : success;
      } else if (isGeneric(code)) {
        generic = generic == null ? code : generic;
      } else {
        return code;
      }
    }
    return generic != null ? generic : success;
  }

  /**
   * The first failure reply code (4xx/5xx) in the text; a success code (2xx) only when the text
   * starts with it, as in a delivered DSN's "250 2.6.0 OK" (elsewhere 2xx numbers are sizes, ids,
   * counts).
   */
  static Integer replyCode(String text) {
    if (text == null) {
      return null;
    }
    Matcher m = REPLY.matcher(text);
    Integer success = null;
    int firstNonBlank = 0; // where the text starts: a success code counts only there (found once, not per match)
    while (firstNonBlank < text.length() && Character.isWhitespace(text.charAt(firstNonBlank))) {
      firstNonBlank++;
    }
    while (m.find()) {
      int code = Integer.parseInt(m.group(1));
      if (code >= 400) {
        return code;
      }
      if (success == null && m.start() <= firstNonBlank) {
        success = code;
      }
    }
    return success;
  }

  /** The first failure code in the text with a non-zero subject and detail (5.7.1, not 5.1.0). */
  static String specificStatus(String text) {
    if (text == null) {
      return null;
    }
    Matcher m = STATUS.matcher(text);
    while (m.find()) {
      if (!m.group(1).equals("2") && Integer.parseInt(m.group(2)) != 0 && Integer.parseInt(m.group(3)) != 0) {
        return m.group(1) + "." + Integer.parseInt(m.group(2)) + "." + Integer.parseInt(m.group(3));
      }
    }
    return null;
  }

  /** A status such as 5.0.0 or 4.0.0 that only gives the class. */
  static boolean isGeneric(String status) {
    return status.endsWith(".0.0");
  }

  /** The first address in the text, lower-cased domain, or null. */
  static String address(String text) {
    if (text == null) {
      return null;
    }
    Matcher m = ADDRESS.matcher(text);
    return m.find() ? normalizeAddress(m.group()) : null;
  }

  static String normalizeAddress(String address) {
    String a = address.strip();
    while (a.startsWith("<") || a.startsWith("\"") || a.startsWith("'")) {
      a = a.substring(1);
    }
    while (a.endsWith(">") || a.endsWith(".") || a.endsWith("\"") || a.endsWith("'")) {
      a = a.substring(0, a.length() - 1);
    }
    int at = a.lastIndexOf('@');
    return at < 0 ? a : a.substring(0, at) + "@" + a.substring(at + 1).toLowerCase(Locale.ROOT);
  }

  static String oneLine(String text) {
    if (text == null) {
      return null;
    }
    String s = text.replaceAll("\\s+", " ").strip();
    return s.isEmpty() ? null : s;
  }
}
