package io.mailgate.smtp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Parses the arguments of MAIL FROM and RCPT TO: the path in angle brackets and the ESMTP
 * parameters after it (RFC 5321 section 4.1.2, RFC 1870, 6152, 6531, 3461).
 *
 * <p>It exists to keep address syntax out of the state machine. It is lenient where real clients
 * differ from the RFC and harmless (a space after the colon, a missing pair of brackets, source
 * routes, which are dropped) and strict where leniency would let garbage into the envelope
 * (control characters, unbalanced quotes, a missing domain). A single hand-written scan per
 * argument, no regular expressions.
 */
final class PathSyntax {

  /** A parsed path and its parameters (keywords upper-cased, in order). */
  record PathArgument(String address, Map<String, String> params) {}

  private static final SmtpReply BAD_SENDER =
      new SmtpReply(501, "5.1.7", "Bad sender address syntax");
  private static final SmtpReply BAD_RECIPIENT =
      new SmtpReply(501, "5.1.3", "Bad recipient address syntax");
  private static final SmtpReply MAIL_SYNTAX =
      new SmtpReply(501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]");
  private static final SmtpReply RCPT_SYNTAX =
      new SmtpReply(501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]");
  private static final SmtpReply BAD_PARAMETER =
      new SmtpReply(501, "5.5.4", "Invalid parameter syntax");
  private static final SmtpReply NEEDS_SMTPUTF8 =
      new SmtpReply(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter");

  private PathSyntax() {}

  /** {@code args} is everything after the verb, e.g. {@code " FROM:<a@b> SIZE=10"}. */
  static PathArgument mailFrom(String args) throws SmtpSyntaxException {
    return parse(args, "FROM:", MAIL_SYNTAX, BAD_SENDER, true);
  }

  /** {@code args} is everything after the verb, e.g. {@code " TO:<a@b> NOTIFY=NEVER"}. */
  static PathArgument rcptTo(String args) throws SmtpSyntaxException {
    return parse(args, "TO:", RCPT_SYNTAX, BAD_RECIPIENT, false);
  }

  /**
   * Checks the MAIL parameters and returns them typed.
   *
   * @param authParameterAllowed whether {@code AUTH=} (RFC 4954) is accepted
   * @param smtpUtf8Offered whether EHLO offered SMTPUTF8 (else the parameter is one this server does not know)
   * @param dsnOffered whether EHLO offered DSN (else RET and ENVID are parameters this server does not know: taken
   *     and ignored, the client would believe its DSN requests honoured)
   */
  static MailParameters mailParameters(Map<String, String> params, long maxMessageSize, boolean authParameterAllowed,
      boolean smtpUtf8Offered, boolean dsnOffered) throws SmtpSyntaxException {
    if (params.isEmpty()) {
      return MailParameters.NONE;
    }
    long size = -1;
    MailParameters.BodyType body = MailParameters.BodyType.UNSPECIFIED;
    boolean smtpUtf8 = false;
    MailParameters.DsnReturn ret = null;
    String envelopeId = null;
    for (Map.Entry<String, String> p : params.entrySet()) {
      String value = p.getValue();
      switch (p.getKey()) {
        case "SIZE" -> {
          size = parseSize(value);
          if (size > maxMessageSize) {
            throw new SmtpSyntaxException(Replies.MESSAGE_TOO_BIG);
          }
        }
        case "BODY" -> {
          if (value.equalsIgnoreCase("7BIT")) {
            body = MailParameters.BodyType.SEVEN_BIT;
          } else if (value.equalsIgnoreCase("8BITMIME")) {
            body = MailParameters.BodyType.EIGHT_BIT_MIME;
          } else {
            throw error(501, "5.5.4", "Unsupported BODY type, use 7BIT or 8BITMIME");
          }
        }
        case "SMTPUTF8" -> {
          if (!smtpUtf8Offered) {
            throw unsupported(p.getKey());
          }
          if (!value.isEmpty()) {
            throw error(501, "5.5.4", "SMTPUTF8 takes no value");
          }
          smtpUtf8 = true;
        }
        case "RET" -> {
          if (!dsnOffered) {
            throw unsupported(p.getKey());
          }
          if (value.equalsIgnoreCase("FULL")) {
            ret = MailParameters.DsnReturn.FULL;
          } else if (value.equalsIgnoreCase("HDRS")) {
            ret = MailParameters.DsnReturn.HDRS;
          } else {
            throw error(501, "5.5.4", "RET must be FULL or HDRS");
          }
        }
        case "ENVID" -> {
          if (!dsnOffered) {
            throw unsupported(p.getKey());
          }
          if (value.isEmpty() || value.length() > 100 || !isXtext(value)) {
            throw error(501, "5.5.4", "Invalid ENVID");
          }
          envelopeId = value;
        }
        case "AUTH" -> {
          if (!authParameterAllowed || value.isEmpty()) {
            throw unsupported(p.getKey());
          }
        }
        default -> throw unsupported(p.getKey());
      }
    }
    return new MailParameters(size, body, smtpUtf8, ret, envelopeId, params);
  }

  /**
   * Checks the RCPT parameters (NOTIFY and ORCPT from RFC 3461).
   *
   * @param dsnOffered whether EHLO offered DSN (else NOTIFY and ORCPT are parameters this server does not know)
   */
  static void checkRcptParameters(Map<String, String> params, boolean dsnOffered) throws SmtpSyntaxException {
    for (Map.Entry<String, String> p : params.entrySet()) {
      String value = p.getValue();
      if (!dsnOffered && (p.getKey().equals("NOTIFY") || p.getKey().equals("ORCPT"))) {
        throw unsupported(p.getKey());
      }
      switch (p.getKey()) {
        case "NOTIFY" -> {
          if (!isNotifyList(value)) {
            throw error(501, "5.5.4", "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY");
          }
        }
        case "ORCPT" -> {
          int semicolon = value.indexOf(';');
          if (semicolon <= 0 || semicolon == value.length() - 1 || value.length() > 500) {
            throw error(501, "5.5.4", "ORCPT must be addr-type;address");
          }
        }
        default -> throw unsupported(p.getKey());
      }
    }
  }

  /** Whether the address needs SMTPUTF8. */
  static boolean isInternational(String address) {
    for (int i = 0; i < address.length(); i++) {
      if (address.charAt(i) >= 0x80) {
        return true;
      }
    }
    return false;
  }

  static SmtpReply needsSmtpUtf8() {
    return NEEDS_SMTPUTF8;
  }

  private static PathArgument parse(
      String s, String keyword, SmtpReply usage, SmtpReply badAddress, boolean reversePath)
      throws SmtpSyntaxException {
    int n = s.length();
    int i = skipSpaces(s, 0);
    if (!s.regionMatches(true, i, keyword, 0, keyword.length())) {
      throw new SmtpSyntaxException(usage);
    }
    i = skipSpaces(s, i + keyword.length()); // "FROM: <a@b>" is common enough to accept
    if (i >= n) {
      throw new SmtpSyntaxException(usage);
    }
    String address;
    if (s.charAt(i) == '<') {
      int close = closingBracket(s, i + 1);
      if (close < 0) {
        throw new SmtpSyntaxException(badAddress);
      }
      address = s.substring(i + 1, close);
      i = close + 1;
    } else {
      int end = s.indexOf(' ', i);
      end = end < 0 ? n : end;
      address = s.substring(i, end);
      i = end;
    }
    if (i < n && s.charAt(i) != ' ') {
      throw new SmtpSyntaxException(badAddress);
    }
    address = withoutSourceRoute(address, badAddress);
    if (!(address.isEmpty() && reversePath || isMailbox(address, !reversePath))) {
      throw new SmtpSyntaxException(badAddress);
    }
    return new PathArgument(address, parameters(s, i));
  }

  /** Index of the {@code >} closing a path, honouring quoted local parts, or -1. */
  private static int closingBracket(String s, int from) {
    boolean quoted = false;
    for (int i = from; i < s.length(); i++) {
      char c = s.charAt(i);
      if (quoted) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '>') {
        return i;
      }
    }
    return -1;
  }

  /** {@code @relay1,@relay2:user@host} becomes {@code user@host} (RFC 5321 appendix C). */
  private static String withoutSourceRoute(String address, SmtpReply badAddress)
      throws SmtpSyntaxException {
    if (address.isEmpty() || address.charAt(0) != '@') {
      return address;
    }
    int colon = address.indexOf(':');
    if (colon < 0) {
      throw new SmtpSyntaxException(badAddress);
    }
    return address.substring(colon + 1);
  }

  /**
   * A local part and a domain. The local part may be quoted; the domain is a host name (letters,
   * digits, hyphens, dots, or non-ASCII for internationalized names) or an address literal.
   * {@code postmaster} alone is a valid recipient (RFC 5321 section 4.1.1.3).
   */
  static boolean isMailbox(String address, boolean allowBarePostmaster) {
    int n = address.length();
    if (n == 0 || n > 512) {
      return false;
    }
    if (allowBarePostmaster && address.equalsIgnoreCase("postmaster")) {
      return true;
    }
    int at = -1;
    boolean quoted = false;
    for (int i = 0; i < n; i++) {
      char c = address.charAt(i);
      if (c < 0x20 || c == 0x7F) {
        return false;
      }
      if (quoted) {
        if (c == '\\') {
          // quoted-pairSMTP (RFC 5321 section 4.1.2): a backslash escapes printable ASCII only, never CR, LF or NUL
          if (++i >= n || address.charAt(i) < 0x20 || address.charAt(i) > 0x7E) {
            return false;
          }
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        // a quoted string is a whole local part or one of its dot-separated words, never part of the domain
        if (at >= 0 || i != 0 && address.charAt(i - 1) != '.') {
          return false;
        }
        quoted = true;
      } else if (c == '@') {
        at = i;
      } else if (c == ' ' || c == '<' || c == '>' || c == '(' || c == ')' || c == ','
          || c == ';' || c == '\\' || c == '[' && at < 0) {
        return false;
      }
    }
    return !quoted && at > 0 && isDomain(address, at + 1, n);
  }

  private static boolean isDomain(String s, int from, int to) {
    if (from >= to || to - from > 255) {
      return false;
    }
    if (s.charAt(from) == '[') {
      return s.charAt(to - 1) == ']' && to - from > 2 && isAddressLiteral(s, from + 1, to - 1);
    }
    char previous = '.';
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
          || c == '-' || c == '.' || c >= 0x80;
      if (!ok || c == '.' && previous == '.') {
        return false;
      }
      previous = c;
    }
    return previous != '.';
  }

  /**
   * The inside of an address literal (RFC 5321 section 4.1.3): an IPv4 address, or a tag and a colon ({@code IPv6:},
   * or a general tag) before printable ASCII other than brackets and backslash.
   */
  private static boolean isAddressLiteral(String s, int from, int to) {
    int colon = -1;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < 0x21 || c > 0x7E || c == '[' || c == ']' || c == '\\') {
        return false;
      }
      if (c == ':' && colon < 0) {
        colon = i;
      }
    }
    if (colon < 0) {
      return io.netty.util.NetUtil.isValidIpV4Address(s.substring(from, to));
    }
    if (colon == from || colon == to - 1) {
      return false;
    }
    for (int i = from; i < colon; i++) { // the tag: letters, digits and hyphens
      char c = s.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /** {@code KEYWORD[=value]} separated by spaces; keywords upper-cased, duplicates refused. */
  private static Map<String, String> parameters(String s, int i) throws SmtpSyntaxException {
    int n = s.length();
    i = skipSpaces(s, i);
    if (i >= n) {
      return Map.of();
    }
    Map<String, String> params = new LinkedHashMap<>(4);
    while (i < n) {
      int end = s.indexOf(' ', i);
      end = end < 0 ? n : end;
      int eq = s.indexOf('=', i);
      int keywordEnd = eq >= 0 && eq < end ? eq : end;
      if (!isKeyword(s, i, keywordEnd)) {
        throw new SmtpSyntaxException(BAD_PARAMETER);
      }
      String keyword = s.substring(i, keywordEnd).toUpperCase(Locale.ROOT);
      String value = "";
      if (keywordEnd < end) {
        value = s.substring(keywordEnd + 1, end);
        if (!isParameterValue(value)) {
          throw new SmtpSyntaxException(BAD_PARAMETER);
        }
      }
      if (params.put(keyword, value) != null) {
        throw error(501, "5.5.4", "Duplicate parameter " + keyword);
      }
      i = skipSpaces(s, end);
    }
    return Collections.unmodifiableMap(params);
  }

  private static boolean isKeyword(String s, int from, int to) {
    if (from >= to || to - from > 64) {
      return false;
    }
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      boolean alnum = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
      if (!alnum && (c != '-' || i == from)) {
        return false;
      }
    }
    return true;
  }

  /** RFC 5321 esmtp-value: printable, no {@code =}; UTF-8 allowed (RFC 6531). */
  private static boolean isParameterValue(String v) {
    if (v.isEmpty()) {
      return false;
    }
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c <= ' ' || c == '=' || c == 0x7F) {
        return false;
      }
    }
    return true;
  }

  /** RFC 3461 xtext: printable ASCII, {@code +} only as {@code +XX} hex escape. */
  private static boolean isXtext(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < '!' || c > '~' || c == '=') {
        return false;
      }
      if (c == '+') {
        if (i + 2 >= v.length() || !isUpperHex(v.charAt(i + 1)) || !isUpperHex(v.charAt(i + 2))) {
          return false;
        }
        i += 2;
      }
    }
    return true;
  }

  private static boolean isUpperHex(char c) {
    return c >= '0' && c <= '9' || c >= 'A' && c <= 'F';
  }

  private static boolean isNotifyList(String v) {
    if (v.equalsIgnoreCase("NEVER")) {
      return true;
    }
    int start = 0;
    while (start <= v.length()) {
      int comma = v.indexOf(',', start);
      int end = comma < 0 ? v.length() : comma;
      String item = v.substring(start, end);
      if (!item.equalsIgnoreCase("SUCCESS") && !item.equalsIgnoreCase("FAILURE")
          && !item.equalsIgnoreCase("DELAY")) {
        return false;
      }
      start = end + 1;
    }
    return true;
  }

  /** RFC 1870: up to 20 digits; a value beyond a long is only ever too big (Long.MAX_VALUE stands for it). */
  private static long parseSize(String value) throws SmtpSyntaxException {
    if (value.isEmpty() || value.length() > 20) {
      throw error(501, "5.5.4", "Invalid SIZE");
    }
    long size = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        throw error(501, "5.5.4", "Invalid SIZE");
      }
      size = size > (Long.MAX_VALUE - 9) / 10 ? Long.MAX_VALUE : size * 10 + (c - '0');
    }
    return size;
  }

  private static int skipSpaces(String s, int i) {
    while (i < s.length() && s.charAt(i) == ' ') {
      i++;
    }
    return i;
  }

  /**
   * 555 for a parameter this server does not know, or knows but did not offer (RFC 5321 section 4.1.1.11): after HELO
   * it offered none.
   */
  static SmtpSyntaxException unsupported(String keyword) {
    return error(555, "5.5.4", "Unsupported parameter " + keyword);
  }

  private static SmtpSyntaxException error(int code, String status, String text) {
    return new SmtpSyntaxException(new SmtpReply(code, status, text));
  }
}
