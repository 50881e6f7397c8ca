package io.mailgate.send;

import io.mailgate.SesException;
import java.util.Locale;
import java.util.Set;

/**
 * A custom header of a Simple message (SES {@code Headers}). The name must be printable ASCII
 * without a colon, at most 126 characters; the value must not contain control characters (CR/LF
 * would inject headers). Headers Mailgate writes itself cannot be overridden, as in SES.
 */
public record MessageHeader(String name, String value) {
  private static final Set<String> RESERVED = Set.of(
      "bcc", "cc", "content-disposition", "content-type", "content-transfer-encoding", "date", "from",
      "message-id", "mime-version", "reply-to", "return-path", "subject", "to", "dkim-signature", "resent-from",
      "resent-sender", "resent-to", "resent-cc", "resent-bcc", "resent-date", "resent-message-id");

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
    if (value.length() > 870) {
      throw SesException.badRequest("Value of header '" + name + "' is longer than 870 characters.");
    }
    requireNoControl(value, "value of header '" + name + "'");
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
