package io.mailgate.identity;

import io.mailgate.SesException;
import io.mailgate.send.Mailbox;
import io.mailgate.send.MailboxParser;
import java.util.Locale;

/**
 * Normal form of identity names, so the same identity is always the same row: a domain or an
 * address in lower case (domains in punycode). Matching is case-insensitive, as mailbox providers
 * treat local parts in practice.
 */
public final class IdentityNames {
  private IdentityNames() {}

  public static boolean isAddress(String raw) {
    return raw.indexOf('@') >= 0;
  }

  /** Parses what a user gave as an identity; a BadRequest when it is neither address nor domain. */
  public static String normalize(String raw) {
    if (raw == null || raw.isBlank()) {
      throw SesException.badRequest("EmailIdentity is required.");
    }
    if (isAddress(raw)) {
      Mailbox m = MailboxParser.parseAddrSpec(raw);
      return (m.localPart() + "@" + m.domain()).toLowerCase(Locale.ROOT);
    }
    // a domain is checked with the address rules by giving it a local part
    Mailbox m = MailboxParser.parseAddrSpec("x@" + raw.strip());
    return m.domain().toLowerCase(Locale.ROOT);
  }

  public static String domainOf(String address) {
    return address.substring(address.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
  }
}
