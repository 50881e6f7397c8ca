package io.mailgate.send;

import io.mailgate.SesException;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A custom header of a Simple message (SES {@code Headers}). The name must be printable ASCII
 * without a colon, at most 126 characters; the value printable ASCII (SES's {@code [ -~]*}: no control characters,
 * so no CR/LF to inject headers, and nothing to encode: it is written as given, an RFC 2047 encoded word of the
 * caller's included), 1 to 995 characters, the name and the value together at most 996, so that the header's line
 * ("Name: value") fits RFC 5322's 998 octets unfolded (SES's model and its documented limits). Headers Mailgate
 * writes itself cannot be overridden, as in SES; those SES lets a message have once (the list a raw message is held
 * to, {@link RawMessage#SINGLE}) may be given once.
 */
public record MessageHeader(String name, String value) {
  private static final Set<String> RESERVED = Set.of(
      "bcc", "cc", "content-disposition", "content-type", "content-transfer-encoding", "date", "from",
      "message-id", "mime-version", "reply-to", "return-path", "subject", "to", "dkim-signature", "resent-from",
      "resent-sender", "resent-to", "resent-cc", "resent-bcc", "resent-date", "resent-message-id");

  /** SES's limits on a value, and on a name and value together. */
  static final int MAX_VALUE = 995;
  static final int MAX_NAME_AND_VALUE = 996;

  /** Refuses a name of {@link RawMessage#SINGLE} given twice in {@code headers}. */
  static void requireSingles(List<MessageHeader> headers) {
    Set<String> seen = new java.util.HashSet<>();
    for (MessageHeader h : headers) {
      String name = h.name().toLowerCase(Locale.ROOT);
      if (RawMessage.isSingle(name) && !seen.add(name)) {
        throw SesException.badRequest("Header '" + h.name() + "' may appear only once.");
      }
    }
  }

  public MessageHeader {
    if (name == null || name.isEmpty()) {
      throw SesException.badRequest("Header name is missing.");
    }
    if (name.length() > 126) {
      throw SesException.badRequest("Header name is longer than 126 characters: " + MailboxParser.abbreviate(name));
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 33 || c > 126 || c == ':') {
        throw SesException.badRequest("Invalid character in header name: " + MailboxParser.abbreviate(name));
      }
    }
    if (RESERVED.contains(name.toLowerCase(Locale.ROOT))) {
      throw SesException.badRequest("Header '" + name + "' is set by the service and cannot be specified.");
    }
    if (value == null) {
      throw SesException.badRequest("Header '" + name + "' has no value.");
    }
    if (value.isEmpty()) {
      throw SesException.badRequest("Header '" + name + "' has an empty value.");
    }
    if (value.length() > MAX_VALUE) {
      throw SesException.badRequest("Value of header '" + name + "' is longer than " + MAX_VALUE + " characters.");
    }
    if (name.length() + value.length() > MAX_NAME_AND_VALUE) {
      throw SesException.badRequest("Header '" + name + "': its name and value together are longer than "
          + MAX_NAME_AND_VALUE + " characters.");
    }
    requireNoControl(value, "value of header '" + name + "'");
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw SesException.badRequest("Value of header '" + name + "' must be printable ASCII, as in SES: encode "
            + "other text as RFC 2047 encoded words.");
      }
    }
  }

  /** Refuses CR, LF and other control characters (tab allowed) in text that becomes a header. */
  public static void requireNoControl(String s, String what) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        throw SesException.badRequest("Illegal control character (CR, LF or other) in " + what + ".");
      }
    }
  }
}
