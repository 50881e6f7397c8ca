package io.mailgate.delivery;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Whether a server certificate names a host by a DNS-ID (RFC 6125 6.4, as RFC 8461 4.2 asks of an MX under an
 * MTA-STS policy): a dNSName subjectAltName equal to the host, or {@code *.} and the host's parent domain (the whole
 * leftmost label, exactly one label). Nothing else counts: not the subject's CN, not an IP address entry. The JDK's
 * own check would take an IP address entry for the address that was dialled when the name does not match, which
 * would let a certificate for an attacker's address stand in for the MX's name.
 */
final class CertificateNames {
  private CertificateNames() {}

  /** The certificate's dNSName entries, lower case, without a final dot. */
  static List<String> dnsNames(X509Certificate certificate) {
    List<String> names = new ArrayList<>();
    try {
      Collection<List<?>> alternatives = certificate.getSubjectAlternativeNames();
      if (alternatives == null) {
        return names;
      }
      for (List<?> entry : alternatives) {
        if (entry.size() >= 2 && Integer.valueOf(2).equals(entry.get(0)) && entry.get(1) instanceof String name) {
          names.add(canonical(name));
        }
      }
    } catch (CertificateParsingException e) {
      // a certificate whose names cannot be read names nothing
    }
    return names;
  }

  /** Whether {@code certificate} is valid for {@code host} by one of its DNS-IDs. */
  static boolean valid(X509Certificate certificate, String host) {
    String h = canonical(host);
    for (String name : dnsNames(certificate)) {
      // a wildcard over at least two labels only: *.example.com, never *.com
      boolean wildcard = name.startsWith("*.");
      if ((!wildcard || name.indexOf('*', 1) < 0 && name.indexOf('.', 2) > 2) && matches(name, h)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code host} is {@code name}, or one label more than a {@code *.} name's domain ({@code *.example.com}
   * takes {@code mx1.example.com}, neither {@code example.com} nor {@code a.b.example.com}); both canonical. The rule
   * of RFC 6125 6.4.3 for certificates, and of RFC 8461 4.1 for an MTA-STS policy's mx patterns.
   */
  static boolean matches(String name, String host) {
    if (name.startsWith("*.")) {
      int dot = host.indexOf('.');
      return dot > 0 && host.substring(dot + 1).equals(name.substring(2));
    }
    return name.equals(host);
  }

  /** A DNS name lower case, without a final dot. */
  static String canonical(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }
}
