package io.mailgate.delivery.dns;

import java.net.IDN;
import java.util.Locale;

/** The one spelling of a domain name used as a cache key and in results. */
final class DnsNames {
  private DnsNames() {}

  private static final int MAX_NAME = 253;
  private static final int MAX_LABEL = 63;

  /**
   * A-labels (IDNA), lower case, no trailing dot. Underscores are allowed ({@code _domainkey},
   * {@code _dmarc}); anything else outside letters, digits and hyphens is refused.
   *
   * @throws IllegalArgumentException when the name cannot be a DNS name
   */
  static String canonical(String name) {
    if (name == null) {
      throw new IllegalArgumentException("no domain name");
    }
    String n = name.strip();
    if (n.endsWith(".")) {
      n = n.substring(0, n.length() - 1);
    }
    if (n.isEmpty()) {
      throw new IllegalArgumentException("empty domain name");
    }
    String ascii = IDN.toASCII(n, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
    if (ascii.length() > MAX_NAME) {
      throw new IllegalArgumentException("domain name longer than " + MAX_NAME + " characters: " + name);
    }
    int labelStart = 0;
    for (int i = 0; i <= ascii.length(); i++) {
      if (i == ascii.length() || ascii.charAt(i) == '.') {
        int length = i - labelStart;
        if (length == 0 || length > MAX_LABEL) {
          throw new IllegalArgumentException("bad label in domain name '" + name + "'");
        }
        labelStart = i + 1;
        continue;
      }
      char c = ascii.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        throw new IllegalArgumentException("bad character in domain name '" + name + "'");
      }
    }
    return ascii;
  }

  /** A name as Netty's decoder gives it ({@code "mx.example.com."}, {@code "."}), canonical; the root stays ".". */
  static String fromWire(String decoded) {
    if (decoded.equals(".") || decoded.isEmpty()) {
      return MxRecord.ROOT;
    }
    String n = decoded.endsWith(".") ? decoded.substring(0, decoded.length() - 1) : decoded;
    return n.toLowerCase(Locale.ROOT);
  }
}
