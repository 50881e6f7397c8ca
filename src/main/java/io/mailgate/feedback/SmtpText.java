package io.mailgate.feedback;

import java.util.Locale;
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

  static final Pattern ADDRESS =
      Pattern.compile(
          "[\\p{L}\\p{N}._%+\\-=!#$&'*/?^`{|}~]+@(?:[\\p{L}\\p{N}](?:[\\p{L}\\p{N}\\-]*[\\p{L}\\p{N}])?\\.)+"
              + "[\\p{L}]{2,}(?![\\p{L}\\p{N}\\-])");

  private SmtpText() {}

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

  /** The first failure reply code (4xx/5xx) in the text, else the first success code. */
  static Integer replyCode(String text) {
    if (text == null) {
      return null;
    }
    Matcher m = REPLY.matcher(text);
    Integer success = null;
    while (m.find()) {
      int code = Integer.parseInt(m.group(1));
      if (code >= 400) {
        return code;
      }
      success = success == null ? code : success;
    }
    return success;
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
