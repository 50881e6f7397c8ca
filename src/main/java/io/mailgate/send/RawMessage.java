package io.mailgate.send;

import io.mailgate.SesException;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.james.mime4j.dom.address.Address;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.dom.address.Group;
import org.apache.james.mime4j.field.address.LenientAddressParser;

/**
 * Prepares a caller's raw MIME message for sending, changing as little as possible and as SES does: line endings made
 * CRLF, Bcc, Resent-Bcc and Return-Path removed, Date and Message-ID replaced by ours (added when missing), a final
 * CRLF ensured. Every other byte stays as the sender wrote it. Lines over 998 octets are refused rather than
 * rewrapped (rewrapping would change what the sender signed).
 */
public final class RawMessage {

  /**
   * The message ready to store and deliver, and the addresses found in its headers.
   *
   * @param moreFroms the From header's mailboxes after {@code from}
   * @param sender the Sender header's mailbox, or none (each sender address must be a verified identity, as in SES)
   * @param returnPath the Return-Path header's value as written (unfolded), or null when it has none: the feedback
   *     address of a send that names neither a Source nor one ({@link #returnPathAddress}); removed from the content
   * @param replacedFields the caller's Date and Message-ID fields as written, each line ending in CRLF, that the
   *     content has Mailgate's in place of (its events show these, as SES's do); null when it had neither
   */
  public record Prepared(byte[] content, Mailbox from, List<Mailbox> moreFroms, List<Mailbox> sender,
      List<Mailbox> to, List<Mailbox> cc, List<Mailbox> bcc, String returnPath, byte[] replacedFields) {}

  /**
   * The fields SES refuses a raw message to repeat in its header section ("Duplicate header"), as its developer
   * guide lists them ("Amazon SES header fields"): RFC 5322's once-only fields, the MIME fields of the message
   * itself (a second Content-Type or Content-Transfer-Encoding would let filters and readers see different
   * messages), and others; Comments, Keywords and DKIM-Signature included, which RFC 5322 and 6376 would allow
   * more than once.
   */
  static final List<String> SINGLE = List.of("Accept-Language", "acceptLanguage", "Archived-At", "Auto-Submitted",
      "Bounces-to", "Comments", "Content-Alternative", "Content-Base", "Content-Class", "Content-Description",
      "Content-Disposition", "Content-Duration", "Content-ID", "Content-Language", "Content-Length",
      "Content-Location", "Content-MD5", "Content-Transfer-Encoding", "Content-Type", "Date", "Delivered-To",
      "Disposition-Notification-Options", "Disposition-Notification-To", "DKIM-Signature", "DomainKey-Signature",
      "Errors-To", "From", "Importance", "In-Reply-To", "Keywords", "List-Archive", "List-Help", "List-Id",
      "List-Owner", "List-Post", "List-Subscribe", "List-Unsubscribe", "List-Unsubscribe-Post", "Message-Context",
      "Message-ID", "MIME-Version", "Organization", "Original-From", "Original-Message-ID", "Original-Recipient",
      "Original-Subject", "Precedence", "Priority", "References", "Reply-To", "Return-Path", "Return-Receipt-To",
      "Sender", "Solicitation", "Sensitivity", "Subject", "Thread-Index", "Thread-Topic", "User-Agent", "VBR-Info",
      // not in SES's list, but RFC 5322's once-only fields: SES reads its recipients from them
      "To", "Cc", "Bcc");

  /** {@link #SINGLE} by lower-case name. */
  private static final Map<String, String> SINGLE_BY_LOWER_CASE = new HashMap<>();

  static {
    for (String name : SINGLE) {
      SINGLE_BY_LOWER_CASE.put(name.toLowerCase(Locale.ROOT), name);
    }
  }

  /** Whether a message may have the field named {@code lowerCaseName} once only ({@link #SINGLE}). */
  static boolean isSingle(String lowerCaseName) {
    return SINGLE_BY_LOWER_CASE.containsKey(lowerCaseName);
  }

  /** Fields of the caller's that the message is sent without: the receiving server adds its own Return-Path. */
  private static final List<String> REMOVED = List.of("Bcc", "Resent-Bcc", "Return-Path");

  /** SES's default recipient limit, for callers without a configuration. */
  static final int DEFAULT_MAX_RECIPIENTS = 50;

  private RawMessage() {}

  static Prepared prepare(byte[] data, String messageId, ZonedDateTime now) {
    return prepare(data, messageId, now, DEFAULT_MAX_RECIPIENTS);
  }

  /**
   * @param messageId our Message-ID (without angle brackets), which replaces the caller's
   * @param now the time the message is accepted, its Date
   * @param maxRecipients the most addresses the From header may have, and the To, Cc and Bcc headers together
   *     ({@code send.maxRecipients})
   */
  public static Prepared prepare(byte[] data, String messageId, ZonedDateTime now, int maxRecipients) {
    if (data.length == 0) {
      throw SesException.badRequest("Raw message data is empty.");
    }
    byte[] msg = normalizeLineEndings(data);
    HeaderBlock headers;
    try {
      headers = HeaderBlock.parse(msg);
    } catch (IllegalArgumentException e) {
      throw SesException.badRequest("Raw message is malformed: " + e.getMessage());
    }
    if (headers.fields().isEmpty()) {
      throw SesException.badRequest("Raw message has no header fields.");
    }
    refuseRepeated(headers);
    if (headers.first("From") == null) {
      // the Source (or FromEmailAddress) is the envelope's sender, not the message's author: a message without From
      // has nothing for DMARC to align, and receiving servers refuse it
      throw SesException.badRequest("Missing required header 'From'.");
    }
    // counted before they are parsed: a header may list any number of addresses
    if (count(msg, headers, "Sender", 1) > 1) {
      throw SesException.badRequest("The Sender header may contain only one address (RFC 5322 section 3.6.2).");
    }
    int froms = count(msg, headers, "From", maxRecipients);
    if (froms > maxRecipients) {
      throw SesException.badRequest("The From header has more than " + maxRecipients + " addresses.");
    }
    int recipients = count(msg, headers, "To", maxRecipients);
    recipients += count(msg, headers, "Cc", maxRecipients - recipients);
    recipients += count(msg, headers, "Bcc", maxRecipients - recipients);
    if (recipients > maxRecipients) {
      throw new SesException(io.mailgate.SesError.BAD_REQUEST, "Recipient count exceeds " + maxRecipients
          + ": the To, Cc and Bcc headers have more than " + maxRecipients + " addresses.");
    }

    List<Mailbox> fromList = mailboxes(headers, "From");
    Mailbox from = fromList.isEmpty() ? null : fromList.get(0);
    List<Mailbox> moreFroms = fromList.subList(Math.min(1, fromList.size()), fromList.size());
    List<Mailbox> sender = mailboxes(headers, "Sender");
    if (sender.size() > 1) {
      throw SesException.badRequest("The Sender header may contain only one address (RFC 5322 section 3.6.2).");
    }
    List<Mailbox> to = mailboxes(headers, "To");
    List<Mailbox> cc = mailboxes(headers, "Cc");
    List<Mailbox> bcc = mailboxes(headers, "Bcc");
    if (fromList.size() > maxRecipients || to.size() + cc.size() + bcc.size() > maxRecipients) {
      // more than counted (addresses the count does not see, in a header it cannot read)
      throw new SesException(io.mailgate.SesError.BAD_REQUEST, "Recipient count exceeds " + maxRecipients
          + ": the message has more than " + maxRecipients + " addresses in its From, or its To, Cc and Bcc, headers.");
    }
    HeaderBlock.Field returnPathField = headers.first("Return-Path");
    String returnPath = returnPathField == null ? null : headers.rawValue(returnPathField);

    // SES sets the Date (when it accepts the message) and the Message-ID (its own) of every message it sends, raw
    // ones included: each is replaced where the caller wrote it, or added at the top
    String date = MimeBuilder.rfc5322Date(now);
    String id = "<" + messageId + ">";
    ByteSink out = new ByteSink(msg.length + 200);
    HeaderWriter w = new HeaderWriter(out);
    if (headers.first("Date") == null) {
      w.raw("Date", date);
    }
    if (headers.first("Message-ID") == null) {
      w.raw("Message-ID", id);
    }
    ByteSink replaced = null;
    for (HeaderBlock.Field f : headers.fields()) {
      if (f.is("Date") || f.is("Message-ID")) {
        w.raw(f.is("Date") ? "Date" : "Message-ID", f.is("Date") ? date : id);
        replaced = replaced == null ? new ByteSink(256) : replaced;
        // its line breaks made CRLF, as the content's are (a bare LF or CR; none on a message's last line)
        for (int i = f.start(); i < f.end(); i++) {
          if (msg[i] == '\r' || msg[i] == '\n') {
            replaced.crlf();
            i += msg[i] == '\r' && i + 1 < f.end() && msg[i + 1] == '\n' ? 1 : 0;
          } else {
            replaced.append(msg[i]);
          }
        }
        if (!replaced.endsWithCrlf()) {
          replaced.crlf();
        }
      } else if (!removed(f)) {
        out.append(msg, f.start(), f.end() - f.start());
        if (msg[f.end() - 1] != '\n') { // last line of a message without a final line break
          out.crlf();
        }
      }
    }
    out.crlf();
    int body = headers.hasSeparator() ? headers.bodyStart() : msg.length;
    out.append(msg, body, msg.length - body);
    if (msg.length > body && !(msg[msg.length - 2] == '\r' && msg[msg.length - 1] == '\n')) {
      out.crlf();
    }
    byte[] content = out.toByteArray();
    RawAttachments.check(content);
    return new Prepared(content, from, moreFroms, sender, to, cc, bcc, returnPath,
        replaced == null ? null : replaced.toByteArray());
  }

  /**
   * The address a Return-Path header's value names, or null for the null path {@code <>} (and an empty value).
   *
   * @throws SesException (BadRequest) when it names no valid address
   */
  public static Mailbox returnPathAddress(String value) {
    String v = value.strip();
    if (v.isEmpty() || v.replace(" ", "").replace("\t", "").equals("<>")) {
      return null;
    }
    try {
      return MailboxParser.parse(v);
    } catch (SesException e) {
      throw SesException.badRequest("Invalid address in Return-Path header: " + MailboxParser.abbreviate(value));
    }
  }

  private static boolean removed(HeaderBlock.Field f) {
    for (String name : REMOVED) {
      if (f.is(name)) {
        return true;
      }
    }
    return false;
  }

  /** Refuses a field of {@link #SINGLE} that the header section has more than once, as SES does: one pass. */
  private static void refuseRepeated(HeaderBlock headers) {
    Set<String> seen = new HashSet<>();
    for (HeaderBlock.Field f : headers.fields()) {
      String single = SINGLE_BY_LOWER_CASE.get(f.name().toLowerCase(Locale.ROOT));
      if (single != null && !seen.add(single)) {
        throw SesException.badRequest("Duplicate header '" + single + "'.");
      }
    }
  }

  /**
   * How many addresses the fields named {@code name} list, counted without parsing them, up to {@code limit + 1} (the
   * count stops there): the entries between the commas outside quoted strings, comments and domain literals that
   * have an {@code @} (a group's name, and an empty group, are no address). Never more than a parser finds in a
   * well-formed field; an obsolete route ({@code <@a.example,@b.example:x@y.example>}) counts once per hop.
   */
  static int count(byte[] msg, HeaderBlock headers, String name, int limit) {
    int count = 0;
    for (HeaderBlock.Field f : headers.fields()) {
      if (!f.is(name)) {
        continue;
      }
      boolean quoted = false;
      boolean literal = false;
      int comment = 0;
      boolean at = false;
      for (int i = f.start() + f.name().length() + 1; i < f.end() && count <= limit; i++) {
        byte b = msg[i];
        if (quoted || literal || comment > 0) {
          if (b == '\\') {
            i++;
          } else if (quoted && b == '"') {
            quoted = false;
          } else if (literal && b == ']') {
            literal = false;
          } else if (comment > 0 && b == '(') {
            comment++;
          } else if (comment > 0 && b == ')') {
            comment--;
          }
          continue;
        }
        switch (b) {
          case '"' -> quoted = true;
          case '[' -> literal = true;
          case '(' -> comment = 1;
          case '@' -> at = true;
          case ',' -> {
            if (at) {
              count++;
            }
            at = false;
          }
          default -> { }
        }
      }
      if (at) {
        count++;
      }
      if (count > limit) {
        break;
      }
    }
    return count;
  }

  /**
   * mime4j's lenient address list, read to the end of the text's bytes: its parseAddressList(String) stops as many bytes
   * in as the text has characters, so a UTF-8 display name (RFC 6532) cut the address after it short, and
   * {@code "ÄÄÄÄÄÄÄÄÄÄÄ" <x@verified.example.victim.example>} was checked as x@verified.example while the header kept
   * the address whole.
   */
  static AddressList addressList(String text) {
    org.apache.james.mime4j.util.ByteSequence bytes = org.apache.james.mime4j.util.ContentUtil.encode(text);
    return LenientAddressParser.DEFAULT.parseAddressList(bytes,
        new org.apache.james.mime4j.stream.ParserCursor(0, bytes.length()));
  }

  private static List<Mailbox> mailboxes(HeaderBlock headers, String name) {
    List<Mailbox> out = new ArrayList<>();
    for (HeaderBlock.Field f : headers.all(name)) {
      String value = headers.rawValue(f);
      AddressList list = addressList(EncodedWordDecoder.forAddressParsing(value));
      Set<String> quotedLocalParts = null;
      for (Address a : list) {
        List<org.apache.james.mime4j.dom.address.Mailbox> boxes = new ArrayList<>();
        if (a instanceof Group g) {
          boxes.addAll(g.getMailboxes());
        } else if (a instanceof org.apache.james.mime4j.dom.address.Mailbox m) {
          boxes.add(m);
        }
        for (org.apache.james.mime4j.dom.address.Mailbox m : boxes) {
          if (m.getDomain() == null || m.getDomain().isEmpty()) {
            throw SesException.badRequest("Invalid address in " + name + " header: " + MailboxParser.abbreviate(value));
          }
          // mime4j gives a quoted local part without its quotes: quoted again where the header wrote it so,
          // "john doe"@x is as valid here as in a Destination (an unquoted john doe@x, which mime4j joins, is not)
          String local = m.getLocalPart();
          String quoted = MailboxParser.quotedIfNeeded(local);
          if (!quoted.equals(local)) {
            if (quotedLocalParts == null) {
              quotedLocalParts = quotedLocalParts(value); // once per field: linear, whatever the number of addresses
            }
            if (quotedLocalParts.contains(quoted)) {
              local = quoted;
            }
          }
          Mailbox parsed = MailboxParser.parseAddrSpec(local + "@" + m.getDomain());
          out.add(new Mailbox(m.getName(), parsed.localPart(), parsed.domain()));
        }
      }
    }
    return out;
  }

  /** Every quoted string of {@code value} that an {@code @} follows, with its quotes, as written. */
  static Set<String> quotedLocalParts(String value) {
    Set<String> out = new HashSet<>();
    int comment = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (comment > 0) {
        if (c == '\\') {
          i++;
        } else if (c == '(') {
          comment++;
        } else if (c == ')') {
          comment--;
        }
      } else if (c == '(') {
        comment = 1;
      } else if (c == '"') {
        int start = i;
        for (i++; i < value.length() && value.charAt(i) != '"'; i++) {
          if (value.charAt(i) == '\\') {
            i++;
          }
        }
        if (i + 1 < value.length() && value.charAt(i + 1) == '@') {
          out.add(value.substring(start, i + 1));
        }
      }
    }
    return out;
  }

  /**
   * Returns {@code data} with every line ending as CRLF (the same array when it already is), and
   * refuses lines longer than 998 octets and NUL bytes.
   */
  static byte[] normalizeLineEndings(byte[] data) {
    boolean clean = true;
    int lineLen = 0;
    for (int i = 0; i < data.length; i++) {
      byte b = data[i];
      if (b == '\r') {
        if (i + 1 < data.length && data[i + 1] == '\n') {
          i++;
        } else {
          clean = false;
        }
        lineLen = 0;
      } else if (b == '\n') {
        clean = false;
        lineLen = 0;
      } else if (++lineLen > 998) {
        throw SesException.badRequest("Raw message has a line longer than 998 octets (RFC 5322 section 2.1.1).");
      } else if (b == 0) { // RFC 5322 4.1: obsolete syntax only, and refused by many receiving servers
        throw SesException.badRequest("Raw message contains a NUL byte.");
      }
    }
    if (clean) {
      return data;
    }
    ByteSink out = new ByteSink(data.length + data.length / 32);
    for (int i = 0; i < data.length; i++) {
      byte b = data[i];
      if (b == '\r') {
        if (i + 1 < data.length && data[i + 1] == '\n') {
          i++;
        }
        out.crlf();
      } else if (b == '\n') {
        out.crlf();
      } else {
        out.append(b);
      }
    }
    return out.toByteArray();
  }
}
