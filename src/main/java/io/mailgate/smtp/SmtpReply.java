package io.mailgate.smtp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * One SMTP reply: a three-digit code, an optional RFC 3463 enhanced status code and one or more
 * lines of text.
 *
 * <p>It exists so that application code (the {@link SmtpSessionHandler}) answers with a value
 * instead of writing to the wire: the session decides when and how it is sent, and a reply can
 * never smuggle a line break into the conversation (the constructor rejects CR and LF).
 *
 * <p>On the wire every line carries the code, a {@code -} on all but the last line, and the
 * enhanced status code when there is one, as RFC 5321 section 4.2.1 and RFC 2034 describe:
 *
 * <pre>
 * 550-5.1.1 first line
 * 550 5.1.1 last line
 * </pre>
 *
 * @param code the reply code, 200 to 599
 * @param enhancedStatus the enhanced status code such as {@code 2.1.5}, or {@code null}; its
 *     class must match the reply code's first digit
 * @param lines the text, at least one line (a line may be empty)
 */
public record SmtpReply(int code, String enhancedStatus, List<String> lines) {

  /** 250 2.0.0 Ok: the generic positive answer, also "accept" for HELO/EHLO. */
  public static final SmtpReply OK = new SmtpReply(250, "2.0.0", "Ok");
  /** 250 2.1.0 Ok: sender accepted. */
  public static final SmtpReply SENDER_OK = new SmtpReply(250, "2.1.0", "Ok");
  /** 250 2.1.5 Ok: recipient accepted. */
  public static final SmtpReply RECIPIENT_OK = new SmtpReply(250, "2.1.5", "Ok");
  /** 421 4.3.2: the service is going away; the session closes after sending it. */
  public static final SmtpReply SERVICE_UNAVAILABLE =
      new SmtpReply(421, "4.3.2", "Service not available, closing transmission channel");
  /** 451 4.3.0: something failed on our side; the client retries later. */
  public static final SmtpReply LOCAL_ERROR =
      new SmtpReply(451, "4.3.0", "Requested action aborted: local error in processing");
  /** 452 4.3.1: out of storage; the client retries later. */
  public static final SmtpReply INSUFFICIENT_STORAGE =
      new SmtpReply(452, "4.3.1", "Insufficient system storage");
  /** 550 5.1.1: the recipient does not exist. */
  public static final SmtpReply NO_SUCH_USER =
      new SmtpReply(550, "5.1.1", "Recipient address rejected: user unknown");
  /** 554 5.7.1: refused by policy. */
  public static final SmtpReply REJECTED = new SmtpReply(554, "5.7.1", "Rejected by policy");

  public SmtpReply {
    if (code < 200 || code > 599) {
      throw new IllegalArgumentException("SMTP reply code out of range: " + code);
    }
    if (enhancedStatus != null && !isEnhancedStatusFor(code, enhancedStatus)) {
      throw new IllegalArgumentException(
          "enhanced status " + enhancedStatus + " does not fit reply code " + code);
    }
    lines = List.copyOf(lines);
    if (lines.isEmpty()) {
      throw new IllegalArgumentException("a reply needs at least one line");
    }
    for (String line : lines) {
      if (line.indexOf('\r') >= 0 || line.indexOf('\n') >= 0) {
        throw new IllegalArgumentException("reply text must not contain CR or LF");
      }
    }
  }

  /** The longest reply line, its code and CRLF included (RFC 5321 section 4.5.3.1.5). */
  public static final int MAX_LINE_OCTETS = 512;

  /**
   * A reply with {@code text} on as many lines as it takes for each to be at most {@link #MAX_LINE_OCTETS} on the wire,
   * in UTF-8 (a refusal may quote an internationalized address): cut at the last space that fits (the space is
   * dropped), or, in a word longer than a line, where the line is full, never inside a character. Text that fits is
   * one line, as it is.
   */
  public static SmtpReply wrapped(int code, String enhancedStatus, String text) {
    // "550-" or "550 ", the status and its space, and CRLF
    int max = MAX_LINE_OCTETS - 4 - (enhancedStatus == null ? 0 : enhancedStatus.length() + 1) - 2;
    List<String> lines = new java.util.ArrayList<>();
    String rest = text;
    for (int fit = fitting(rest, max); fit < rest.length(); fit = fitting(rest, max)) {
      fit = Math.max(fit, Character.charCount(rest.codePointAt(0))); // a line holds one character at least
      int cut = rest.lastIndexOf(' ', fit);
      if (cut <= 0) {
        lines.add(rest.substring(0, fit));
        rest = rest.substring(fit);
      } else {
        lines.add(rest.substring(0, cut));
        rest = rest.substring(cut + 1);
      }
    }
    if (lines.isEmpty() || !rest.isEmpty()) { // not an empty last line for a space where the text was cut
      lines.add(rest);
    }
    return new SmtpReply(code, enhancedStatus, lines);
  }

  /** How many of {@code s}'s chars, whole characters, take at most {@code octets} in UTF-8. */
  private static int fitting(String s, int octets) {
    int used = 0;
    int i = 0;
    while (i < s.length()) {
      int cp = s.codePointAt(i);
      int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (used + n > octets) {
        break;
      }
      used += n;
      i += Character.charCount(cp);
    }
    return i;
  }

  /** A single-line reply. */
  public SmtpReply(int code, String enhancedStatus, String text) {
    this(code, enhancedStatus, List.of(text));
  }

  /** A reply with one or more lines. */
  public static SmtpReply of(int code, String enhancedStatus, String... lines) {
    return new SmtpReply(code, enhancedStatus, List.of(lines));
  }

  /** 250 2.0.0 Ok: queued as {@code id}, the usual answer to the end of DATA. */
  public static SmtpReply queued(String id) {
    return new SmtpReply(250, "2.0.0", "Ok: queued as " + id);
  }

  /** 451 4.3.0 with the given text: try again later. */
  public static SmtpReply tryAgainLater(String text) {
    return new SmtpReply(451, "4.3.0", text);
  }

  /** 550 5.1.1 naming the unknown recipient. */
  public static SmtpReply noSuchUser(String address) {
    return new SmtpReply(
        550, "5.1.1", "<" + address + ">: Recipient address rejected: user unknown");
  }

  /** 554 5.7.1 with the given text: refused by policy. */
  public static SmtpReply rejected(String text) {
    return new SmtpReply(554, "5.7.1", text);
  }

  /** The 220 greeting naming the server. */
  public static SmtpReply greeting(String serverName) {
    return new SmtpReply(220, null, serverName + " ESMTP");
  }

  /** The text, lines joined with a line feed. */
  public String text() {
    return String.join("\n", lines);
  }

  /** 2xx: the command was accepted. */
  public boolean isPositive() {
    return code < 300;
  }

  /** 4xx: a temporary failure; the client may retry. */
  public boolean isTransientFailure() {
    return code >= 400 && code < 500;
  }

  /** 5xx: a permanent failure. */
  public boolean isPermanentFailure() {
    return code >= 500;
  }

  /** 421: the server closes the connection after sending this reply. */
  public boolean closesConnection() {
    return code == 421;
  }

  /** The reply as sent, every line ending in CRLF. */
  public String toWire() {
    StringBuilder sb = new StringBuilder(16 + lines.size() * 48);
    appendWire(sb);
    return sb.toString();
  }

  /** Appends the wire form without building an intermediate string. */
  void appendWire(Appendable out) {
    try {
      int last = lines.size() - 1;
      for (int i = 0; i <= last; i++) {
        String line = lines.get(i);
        out.append((char) ('0' + code / 100))
            .append((char) ('0' + code / 10 % 10))
            .append((char) ('0' + code % 10))
            .append(i == last ? ' ' : '-');
        if (enhancedStatus != null) {
          out.append(enhancedStatus);
          if (!line.isEmpty()) {
            out.append(' ');
          }
        }
        out.append(line).append('\r').append('\n');
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code class.subject.detail}: class 2, 4 or 5 matching the code, then 1-3 digits twice. */
  private static boolean isEnhancedStatusFor(int code, String status) {
    int n = status.length();
    if (n < 5 || status.charAt(0) - '0' != code / 100 || status.charAt(1) != '.') {
      return false;
    }
    int i = 2;
    for (int part = 0; part < 2; part++) {
      int start = i;
      while (i < n && status.charAt(i) >= '0' && status.charAt(i) <= '9') {
        i++;
      }
      int digits = i - start;
      if (digits < 1 || digits > 3) {
        return false;
      }
      if (part == 0) {
        if (i >= n || status.charAt(i) != '.') {
          return false;
        }
        i++;
      }
    }
    return i == n && code / 100 != 3;
  }
}
