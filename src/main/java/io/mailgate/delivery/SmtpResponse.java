package io.mailgate.delivery;

import java.util.List;

/**
 * A reply from a remote SMTP server: the code, the RFC 3463 enhanced status when the server sent
 * one, the text (lines joined with a space, as SES reports {@code smtpResponse}), and the command
 * it answered (CONNECT, HELO, MAIL, RCPT or DATA; null when not from a conversation), which the
 * bounce rules use: an unknown user at RCPT is not the same as one after DATA.
 */
public record SmtpResponse(int code, String enhancedStatus, String text, List<String> lines, String command) {

  public SmtpResponse(int code, String enhancedStatus, String text) {
    this(code, enhancedStatus, text, List.of(text), null);
  }

  /** The same reply, as the answer to {@code command}. */
  SmtpResponse answering(String command) {
    return new SmtpResponse(code, enhancedStatus, text, lines, command);
  }

  public boolean isPositive() {
    return code >= 200 && code < 400;
  }

  public boolean isPermanent() {
    return code >= 500;
  }

  public boolean isTransient() {
    return code >= 400 && code < 500;
  }

  /**
   * A recipient refused for their number (RFC 5321 4.5.3.1.10: 452, or the 552 older servers answer, which the client
   * is to take as temporary; enhanced status x.5.3, or the words): a limit of the transaction or, one recipient to a
   * transaction as here, of the session. Nothing about the recipient, nor about the site's rate: a new transaction on
   * another connection is the answer.
   */
  boolean tooManyRecipients() {
    if (!"RCPT".equals(command) || (code != 452 && code != 552)) {
      return false;
    }
    return enhancedStatus != null && enhancedStatus.length() == 5 && enhancedStatus.endsWith(".5.3")
        || text.toLowerCase(java.util.Locale.ROOT).contains("too many recipients");
  }

  /**
   * Builds a reply from its lines (without CRLF): "250-first", ..., "250 last". The code is the last line's (RFC 5321
   * 4.2.1); lines that carry another code make the reply malformed (code -1): "250-" then "550 ..." is neither.
   */
  static SmtpResponse parse(List<String> lines) {
    int code = code(lines.get(lines.size() - 1));
    for (int i = 0; i < lines.size() - 1 && code >= 0; i++) {
      if (code(lines.get(i)) != code) {
        code = -1;
      }
    }
    String status = null;
    StringBuilder text = new StringBuilder();
    List<String> texts = new java.util.ArrayList<>(lines.size());
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      String t = line.length() > 4 ? line.substring(4) : "";
      texts.add(t);
      if (i == 0) {
        status = enhancedStatus(t, code);
      }
      if (status != null && t.startsWith(status)) {
        t = t.substring(status.length()).stripLeading();
      }
      if (text.length() > 0) {
        text.append(' ');
      }
      text.append(t);
    }
    return new SmtpResponse(code, status, text.toString(), List.copyOf(texts), null);
  }

  static int code(String line) {
    if (line.length() < 3) {
      return -1;
    }
    int c = 0;
    for (int i = 0; i < 3; i++) {
      char ch = line.charAt(i);
      if (ch < '0' || ch > '9') {
        return -1;
      }
      c = c * 10 + (ch - '0');
    }
    return c;
  }

  /** "5.1.1" at the start of the text when its class matches the reply code's first digit. */
  static String enhancedStatus(String text, int code) {
    // class "." subject "." detail: one digit, then one to three digits twice (RFC 3463), then a space or the end
    int n = text.length();
    if (n < 5 || text.charAt(0) != Character.forDigit(code / 100, 10) || text.charAt(1) != '.') {
      return null;
    }
    int i = digits(text, 2);
    if (i < 0 || i >= n || text.charAt(i) != '.') {
      return null;
    }
    i = digits(text, i + 1);
    if (i < 0 || (i < n && text.charAt(i) != ' ')) {
      return null;
    }
    return text.substring(0, i);
  }

  /** The index after one to three digits starting at {@code from}, or -1. */
  private static int digits(String text, int from) {
    int i = from;
    while (i < text.length() && i - from < 4 && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
      i++;
    }
    return i == from || i - from > 3 ? -1 : i;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder().append(code);
    if (enhancedStatus != null) {
      sb.append(' ').append(enhancedStatus);
    }
    if (!text.isEmpty()) {
      sb.append(' ').append(text);
    }
    return sb.toString();
  }
}
