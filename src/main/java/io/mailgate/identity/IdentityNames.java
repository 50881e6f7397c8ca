package io.mailgate.identity;

import io.mailgate.SesException;
import io.mailgate.send.Mailbox;
import io.mailgate.send.MailboxParser;
import java.util.ArrayList;
import java.util.List;
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

  /**
   * The domain identities that may cover an address of {@code domain}, most specific first: the domain, then each
   * parent of two labels or more ({@code a.b.example.com}, {@code b.example.com}, {@code example.com}). In SES a
   * verified domain lets every subdomain's addresses send too, without identities of their own; the most specific
   * verified one decides their settings (DKIM key, MAIL FROM, default configuration set).
   */
  public static List<String> domainAndParents(String domain) {
    List<String> names = new ArrayList<>(3);
    names.add(domain);
    for (int dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
      String parent = domain.substring(dot + 1);
      if (parent.indexOf('.') < 0) {
        break;
      }
      names.add(parent);
    }
    return names;
  }

  /** Whether a domain identity covers addresses of {@code domain}: it is that domain or one of its parents. */
  public static boolean domainCovers(String identity, String domain) {
    return domain.equals(identity) || (domain.endsWith(identity) && domain.length() > identity.length()
        && domain.charAt(domain.length() - identity.length() - 1) == '.');
  }
}
