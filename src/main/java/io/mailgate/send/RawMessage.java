package io.mailgate.send;

import io.mailgate.SesException;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import org.apache.james.mime4j.dom.address.Address;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.dom.address.Group;
import org.apache.james.mime4j.field.address.LenientAddressParser;

/**
 * Prepares a caller's raw MIME message for sending, changing as little as possible: line endings
 * made CRLF, Bcc removed, Date and Message-ID added when missing, a final CRLF ensured. Lines over
 * 998 octets are refused rather than rewrapped (rewrapping would change what the sender signed).
 */
public final class RawMessage {

  /**
   * The message ready to store and deliver, and the addresses found in its headers.
   *
   * @param moreFroms the From header's mailboxes after {@code from}
   * @param sender the Sender header's mailboxes (each sender address must be a verified identity, as in SES)
   */
  public record Prepared(byte[] content, Mailbox from, List<Mailbox> moreFroms, List<Mailbox> sender,
      List<Mailbox> to, List<Mailbox> cc, List<Mailbox> bcc) {}

  /** The fields a message has at most once (RFC 5322 section 3.6): SES refuses a message that repeats one. */
  static final List<String> SINGLE = List.of("From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject", "Date",
      "Message-ID", "In-Reply-To", "References");

  private RawMessage() {}

  public static Prepared prepare(byte[] data, String messageId, ZonedDateTime now) {
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
    for (String single : SINGLE) {
      if (headers.all(single).size() > 1) {
        throw SesException.badRequest("Raw message has more than one " + single + " header (RFC 5322 section 3.6).");
      }
    }
    if (headers.first("From") == null) {
      // the Source (or FromEmailAddress) is the envelope's sender, not the message's author: a message without From
      // has nothing for DMARC to align, and receiving servers refuse it
      throw SesException.badRequest("Missing required header 'From'.");
    }
    List<Mailbox> froms = mailboxes(headers, "From");
    Mailbox from = froms.isEmpty() ? null : froms.get(0);
    List<Mailbox> moreFroms = froms.subList(Math.min(1, froms.size()), froms.size());
    List<Mailbox> sender = mailboxes(headers, "Sender");
    List<Mailbox> to = mailboxes(headers, "To");
    List<Mailbox> cc = mailboxes(headers, "Cc");
    List<Mailbox> bcc = mailboxes(headers, "Bcc");

    ByteSink out = new ByteSink(msg.length + 200);
    HeaderWriter w = new HeaderWriter(out);
    if (headers.first("Date") == null) {
      w.raw("Date", MimeBuilder.rfc5322Date(now));
    }
    if (headers.first("Message-ID") == null) {
      w.raw("Message-ID", "<" + messageId + ">");
    }
    for (HeaderBlock.Field f : headers.fields()) {
      if (!f.is("Bcc")) {
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
    return new Prepared(out.toByteArray(), from, moreFroms, sender, to, cc, bcc);
  }

  private static List<Mailbox> mailboxes(HeaderBlock headers, String name) {
    List<Mailbox> out = new ArrayList<>();
    for (HeaderBlock.Field f : headers.all(name)) {
      String value = headers.rawValue(f);
      AddressList list = LenientAddressParser.DEFAULT.parseAddressList(value);
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
          String quoted = MailboxParser.quotedIfNeeded(m.getLocalPart());
          String local = value.contains(quoted + "@") ? quoted : m.getLocalPart();
          Mailbox parsed = MailboxParser.parseAddrSpec(local + "@" + m.getDomain());
          out.add(new Mailbox(m.getName(), parsed.localPart(), parsed.domain()));
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
