package io.mailgate.delivery.dns;

import java.net.IDN;
import java.net.InetAddress;
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

  /**
   * The name an address's PTR records are kept under: {@code 1.2.0.192.in-addr.arpa} for 192.0.2.1 (RFC 1035 3.5),
   * the 32 nibbles of an IPv6 address in reverse under {@code ip6.arpa} (RFC 3596 2.5).
   */
  static String reverse(InetAddress ip) {
    byte[] bytes = ip.getAddress();
    StringBuilder name = new StringBuilder();
    for (int i = bytes.length - 1; i >= 0; i--) {
      int b = bytes[i] & 0xff;
      if (bytes.length == 4) {
        name.append(b).append('.');
      } else {
        name.append(Character.forDigit(b & 0xf, 16)).append('.').append(Character.forDigit(b >> 4, 16)).append('.');
      }
    }
    return name.append(bytes.length == 4 ? "in-addr.arpa" : "ip6.arpa").toString();
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
