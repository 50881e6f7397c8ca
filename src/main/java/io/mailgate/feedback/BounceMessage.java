package io.mailgate.feedback;

import io.mailgate.SesException;
import io.mailgate.send.Mailbox;
import io.mailgate.send.MimeBuilder;
import io.mailgate.send.TransferEncoding;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The bounce SES v1 SendBounce sends for a message Mailgate received: an RFC 3464 delivery status notification in an
 * RFC 6522 multipart/report, from the bounce sender to the message's envelope sender. Its parts: the explanation (the
 * caller's, or one written from the recipients' fields), the message/delivery-status fields (Reporting-MTA,
 * Arrival-Date and the caller's extension fields, then a group for each bounced recipient: from SES's BounceType, or as
 * the caller gave them in RecipientDsnFields) and the received message's header section (text/rfc822-headers).
 *
 * <p>Every value that goes into a field is checked here first: RFC 3464's syntax for actions and status codes, SES's
 * limits for extension fields (a name of 1 to 50 letters, digits and hyphens, a value under 2,048 characters), and
 * printable ASCII on one line for the rest, so that nothing a caller gives can add a field of its own. A refusal is a
 * BadRequest (v1's InvalidParameterValue) naming the parameter.
 */
public final class BounceMessage {
  /** An extension field (RFC 3464 2.4): a name and a value, as SES's ExtensionField. */
  public record Field(String name, String value) {}

  /** The per-message fields: Reporting-MTA (as {@code type; name}), Arrival-Date and extension fields. */
  public record MessageFields(String reportingMta, Instant arrivalDate, List<Field> extensions) {}

  /**
   * One bounced recipient's fields; {@code remoteMta}, {@code diagnosticCode} and {@code lastAttemptDate} may be
   * null (the field is then left out).
   */
  public record RecipientFields(String finalRecipient, String action, String status, String remoteMta,
      String diagnosticCode, Instant lastAttemptDate, List<Field> extensions) {}

  /** What SES's BounceType values stand for: a status code, and the SMTP reply a server would have given. */
  private record TypeFields(String action, String status, String reply) {}

  private static final Map<String, TypeFields> TYPES = Map.of(
      "DoesNotExist", new TypeFields("failed", "5.1.1", "550 5.1.1 The mailbox does not exist"),
      "MessageTooLarge", new TypeFields("failed", "5.3.4", "552 5.3.4 The message is too large"),
      "ExceededQuota", new TypeFields("failed", "5.2.2", "552 5.2.2 The mailbox is full"),
      "ContentRejected", new TypeFields("failed", "5.6.0", "550 5.6.0 The message content was rejected"),
      "Undefined", new TypeFields("failed", "5.0.0", "550 5.0.0 The message could not be delivered"),
      "TemporaryFailure", new TypeFields("delayed", "4.0.0", "450 4.0.0 The message could not be delivered yet"));

  /** RFC 3464 2.3.3's actions, as SES's DsnAction names them. */
  public static final Set<String> ACTIONS = Set.of("failed", "delayed", "delivered", "relayed", "expanded");

  /** RFC 3464 2.3.4 (RFC 3463's status-code): class 2, 4 or 5, subject and detail of one to three digits. */
  private static final Pattern STATUS = Pattern.compile("[245]\\.\\d{1,3}\\.\\d{1,3}");
  /** SES's ExtensionField name. */
  private static final Pattern EXTENSION_NAME = Pattern.compile("[A-Za-z0-9-]{1,50}");
  /** SES: an extension field's value is "less than 2048 characters". */
  static final int MAX_EXTENSION_VALUE = 2047;
  /** The longest value of a field this class checks otherwise: its line stays within RFC 5322's 998. */
  static final int MAX_VALUE = 900;
  /** RFC 5322 2.1.1: a line is at most 998 characters; longer lines of a quoted header section are cut there. */
  static final int MAX_LINE = 998;
  /** RFC 3464's fields, which an extension field may not repeat: a report with two Status fields says nothing. */
  private static final Set<String> DSN_FIELDS = Set.of("original-envelope-id", "reporting-mta", "dsn-gateway",
      "received-from-mta", "arrival-date", "original-recipient", "final-recipient", "action", "status", "remote-mta",
      "diagnostic-code", "last-attempt-date", "final-log-id", "will-retry-until");

  private BounceMessage() {}

  /** The fields SES's {@code bounceType} stands for, for {@code recipient}; a BadRequest for an unknown type. */
  public static RecipientFields ofType(String recipient, String bounceType, String parameter) {
    TypeFields t = TYPES.get(bounceType);
    if (t == null) {
      throw SesException.badRequest("Invalid value for " + parameter + ": '" + oneLine(bounceType) + "'. Use one of "
          + String.join(", ", List.of("DoesNotExist", "MessageTooLarge", "ExceededQuota", "ContentRejected",
              "Undefined", "TemporaryFailure")) + ".");
    }
    return new RecipientFields(recipient, t.action(), t.status(), null, "smtp; " + t.reply(), null, List.of());
  }

  /** An action as RFC 3464 spells it (lower case), or a BadRequest. */
  public static String action(String value, String parameter) {
    String a = value.toLowerCase(Locale.ROOT);
    if (!ACTIONS.contains(a)) {
      throw SesException.badRequest("Invalid value for " + parameter + ": '" + oneLine(value)
          + "'. Use one of failed, delayed, delivered, relayed, expanded.");
    }
    return a;
  }

  /** A status code ({@code 5.1.1}), or a BadRequest. */
  public static String status(String value, String parameter) {
    if (!STATUS.matcher(value).matches()) {
      throw SesException.badRequest("Invalid value for " + parameter + ": '" + oneLine(value)
          + "'. A status code is class.subject.detail, its class 2, 4 or 5 (RFC 3463): 5.1.1, for one.");
    }
    return value;
  }

  /**
   * An MTA's name as RFC 3464 writes it ({@code dns; mx.example.com}); one without a type is a DNS name. A BadRequest
   * when it is not printable ASCII on one line.
   */
  public static String mtaName(String value, String parameter) {
    String v = text(value, parameter).strip();
    int semicolon = v.indexOf(';');
    if (semicolon < 0) {
      return "dns; " + v;
    }
    if (semicolon == 0 || v.substring(semicolon + 1).isBlank()) {
      throw SesException.badRequest("Invalid value for " + parameter + ": '" + v
          + "'. Give a name-type and a name: dns; mx.example.com.");
    }
    return v;
  }

  /** A diagnostic as RFC 3464 writes it ({@code smtp; 550 5.1.1 ...}); one without a type is an SMTP reply. */
  public static String diagnostic(String value, String parameter) {
    String v = text(value, parameter).strip();
    int semicolon = v.indexOf(';');
    // a type is an atom: "smtp", "x-unix"; text that only happens to hold a semicolon is a reply
    return semicolon > 0 && v.substring(0, semicolon).strip().matches("[A-Za-z0-9-]+") ? v : "smtp; " + v;
  }

  /** An extension field, checked as SES checks one, and not one of RFC 3464's own fields. */
  public static Field extension(String name, String value, String parameter) {
    if (!EXTENSION_NAME.matcher(name).matches()) {
      throw SesException.badRequest("Invalid value for " + parameter + ".Name: '" + oneLine(name)
          + "'. A name is 1 to 50 letters, digits and hyphens.");
    }
    if (DSN_FIELDS.contains(name.toLowerCase(Locale.ROOT))) {
      throw SesException.badRequest("Invalid value for " + parameter + ".Name: " + name + " is a field of RFC 3464 "
          + "itself; give it through its own parameter.");
    }
    String v = text(value, parameter + ".Value", MAX_EXTENSION_VALUE);
    if (name.length() + 2 + v.length() > MAX_LINE) { // folded at its spaces (field()): no word may outgrow a line
      for (String word : v.split(" ")) {
        if (word.length() > MAX_VALUE) {
          throw SesException.badRequest("Invalid value for " + parameter + ".Value: a value longer than a line ("
              + (MAX_LINE - name.length() - 2) + " characters here) is folded at its spaces, and it has a run of "
              + word.length() + " characters without one (at most " + MAX_VALUE + ").");
        }
      }
    }
    return new Field(name, v);
  }

  /** Printable ASCII on one line, at most {@link #MAX_VALUE} characters; a BadRequest otherwise. */
  public static String text(String value, String parameter) {
    return text(value, parameter, MAX_VALUE);
  }

  private static String text(String value, String parameter, int max) {
    if (value.length() > max) {
      throw SesException.badRequest("Invalid value for " + parameter + ": longer than " + max + " characters.");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\r' || c == '\n') {
        throw SesException.badRequest("Invalid value for " + parameter + ": it may not hold a line break.");
      }
      if (c < 0x20 && c != '\t' || c >= 0x7f) {
        throw SesException.badRequest("Invalid value for " + parameter
            + ": only printable ASCII characters may be given (RFC 3464's fields are ASCII).");
      }
    }
    return value;
  }

  /**
   * The bounce, without Date and Message-ID (the send path writes both).
   *
   * @param from the bounce sender
   * @param to the received message's envelope sender
   * @param explanation the caller's text, or null: one is written from the recipients' fields
   * @param originalHeaders the received message's header section, as kept for this
   */
  public static byte[] build(Mailbox from, Mailbox to, String explanation, MessageFields message,
      List<RecipientFields> recipients, byte[] originalHeaders) {
    String headers = quotable(originalHeaders);
    boolean delayedOnly = recipients.stream().allMatch(r -> r.action().equals("delayed"));
    StringBuilder start = new StringBuilder()
        .append(MimeBuilder.addressField("From", List.of(from)))
        .append(MimeBuilder.addressField("To", List.of(to)))
        .append("Subject: Delivery Status Notification (").append(delayedOnly ? "Delay" : "Failure").append(")\r\n");
    String originalId = ReportMessage.header(headers, "Message-ID");
    if (originalId != null && originalId.startsWith("<") && originalId.endsWith(">") && originalId.length() < 900
        && originalId.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      start.append("In-Reply-To: ").append(originalId).append("\r\n")
          .append("References: ").append(originalId).append("\r\n");
    }
    start.append("Auto-Submitted: auto-replied\r\n"); // RFC 3834: no vacation reply to this, no report of it

    StringBuilder machine = new StringBuilder()
        .append("Reporting-MTA: ").append(message.reportingMta()).append("\r\n");
    if (message.arrivalDate() != null) {
      machine.append("Arrival-Date: ").append(date(message.arrivalDate())).append("\r\n");
    }
    fields(machine, message.extensions());
    for (RecipientFields r : recipients) {
      machine.append("\r\n")
          .append("Final-Recipient: ").append(typed(r.finalRecipient())).append("\r\n")
          .append("Action: ").append(r.action()).append("\r\n")
          .append("Status: ").append(r.status()).append("\r\n");
      if (r.remoteMta() != null) {
        machine.append("Remote-MTA: ").append(r.remoteMta()).append("\r\n");
      }
      if (r.diagnosticCode() != null) {
        machine.append("Diagnostic-Code: ").append(r.diagnosticCode()).append("\r\n");
      }
      if (r.lastAttemptDate() != null) {
        machine.append("Last-Attempt-Date: ").append(date(r.lastAttemptDate())).append("\r\n");
      }
      fields(machine, r.extensions());
    }

    String text = explanation != null ? explanation : explanation(recipients, delayedOnly);
    byte[] utf8 = MimeBuilder.crlf(text.getBytes(StandardCharsets.UTF_8));
    String textPart = new String(TransferEncoding.quotedPrintable(utf8), StandardCharsets.ISO_8859_1);
    if (!textPart.endsWith("\r\n")) {
      textPart += "\r\n";
    }
    return ReportMessage.multipartReport(start.toString(), "delivery-status",
        "text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable", textPart,
        "message/delivery-status", machine.toString(), headers);
  }

  private static void fields(StringBuilder out, List<Field> extensions) {
    for (Field f : extensions) {
      field(out, f.name(), f.value());
    }
  }

  /** {@code name: value}, folded before a space wherever the line would be longer than {@link #MAX_LINE}. */
  static void field(StringBuilder out, String name, String value) {
    String line = name + ": " + value;
    int start = 0;
    while (line.length() - start > MAX_LINE) {
      int cut = line.lastIndexOf(' ', start + MAX_LINE);
      if (cut <= start) {
        break; // a word longer than a line: refused before it gets here ({@link #extension})
      }
      out.append(line, start, cut).append("\r\n");
      start = cut; // the continuation line starts with the space
    }
    out.append(line, start, line.length()).append("\r\n");
  }

  /** An address with RFC 3464's address type: as given when it names one ({@code rfc822; a@b}), else rfc822. */
  private static String typed(String address) {
    int semicolon = address.indexOf(';');
    return semicolon > 0 && address.substring(0, semicolon).strip().matches("[A-Za-z0-9-]+") ? address
        : "rfc822; " + address;
  }

  /**
   * A header section as the text/rfc822-headers part may carry it: CRLF line breaks, each line cut at {@link
   * #MAX_LINE} characters (the inbound server takes longer ones), no NUL, a line break at the end.
   */
  static String quotable(byte[] headers) {
    String in = new String(MimeBuilder.crlf(headers), StandardCharsets.ISO_8859_1).replace("\0", "");
    StringBuilder out = new StringBuilder(in.length() + 2);
    int at = 0;
    while (at < in.length()) {
      int end = in.indexOf("\r\n", at);
      int next = end < 0 ? in.length() : end + 2;
      end = end < 0 ? in.length() : end;
      out.append(in, at, Math.min(end, at + MAX_LINE)).append("\r\n");
      at = next;
    }
    return out.toString();
  }

  private static String date(Instant t) {
    return MimeBuilder.rfc5322Date(t.atZone(ZoneOffset.UTC));
  }

  /** The human-readable part when the caller gave none: each recipient and what happened, as MTAs write it. */
  private static String explanation(List<RecipientFields> recipients, boolean delayedOnly) {
    StringBuilder b = new StringBuilder(delayedOnly
        ? "Your message has not been delivered to the following recipients yet:\r\n\r\n"
        : "Your message could not be delivered to the following recipients:\r\n\r\n");
    for (RecipientFields r : recipients) {
      b.append("    ").append(r.finalRecipient()).append(" (").append(r.action()).append(", ").append(r.status())
          .append(r.diagnosticCode() == null ? "" : ": " + r.diagnosticCode()).append(")\r\n");
    }
    return b.toString();
  }

  private static String oneLine(String s) {
    return ReportMessage.oneLine(s.length() > 60 ? s.substring(0, 60) + "..." : s);
  }
}
