package io.mailgate.delivery;

import io.mailgate.delivery.dns.TlsaRecord;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertPathValidator;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * DANE for SMTP (RFC 7672): whether the certificate chain an MX host presented is one its TLSA records stand for.
 *
 * <p>Of the four usages, SMTP uses two (RFC 7672 3.1): DANE-EE(3), which matches the server's own certificate (or its
 * key), and nothing else is checked, not its names nor its dates, since the record in signed DNS is the trust; and
 * DANE-TA(2), which matches a certificate of the chain the server sent (RFC 7672 3.1.2: it must send it, a root too),
 * under which the server's certificate must validate and be valid for the MX host's name. PKIX-TA(0) and PKIX-EE(1)
 * lean on CAs an SMTP client has no agreed set of, and are unusable (RFC 7672 3.1.3), as are selectors and matching
 * types this does not know: a host whose records are all unusable is not a DANE host.
 */
final class Dane {
  private Dane() {}

  static final int DANE_TA = 2;
  static final int DANE_EE = 3;

  /**
   * The records DANE can use: usage DANE-TA or DANE-EE, selector 0 or 1, matching type 0 (data of its own), 1 (a
   * SHA-256 digest: 32 bytes) or 2 (a SHA-512 digest: 64 bytes). A digest of another length could match nothing.
   */
  static List<TlsaRecord> usable(List<TlsaRecord> records) {
    List<TlsaRecord> out = new ArrayList<>(records.size());
    for (TlsaRecord r : records) {
      int hex = r.data().length();
      boolean data = switch (r.matchingType()) {
        case 0 -> hex > 0;
        case 1 -> hex == 64;
        case 2 -> hex == 128;
        default -> false;
      };
      if ((r.usage() == DANE_TA || r.usage() == DANE_EE) && r.selector() <= 1 && data) {
        out.add(r);
      }
    }
    return out;
  }

  /**
   * Null when {@code chain} (the server's certificate first) is one of {@code records} stands for, with {@code host}
   * the MX host's name; otherwise why not, for a diagnostic.
   */
  static String mismatch(List<? extends Certificate> chain, List<TlsaRecord> records, String host) {
    if (chain.isEmpty() || !(chain.get(0) instanceof X509Certificate leaf)) {
      return "it presented no certificate";
    }
    for (TlsaRecord r : records) {
      if (r.usage() == DANE_EE && matches(leaf, r)) {
        return null;
      }
    }
    String why = "its certificate matches none of the TLSA records of " + host;
    for (int i = 1; i < chain.size(); i++) {
      if (!(chain.get(i) instanceof X509Certificate anchor)) {
        continue;
      }
      for (TlsaRecord r : records) {
        if (r.usage() == DANE_TA && matches(anchor, r)) {
          String invalid = validUnder(chain.subList(0, i), anchor);
          if (invalid != null) {
            why = "its certificate does not validate under the trust anchor its DANE-TA record names: " + invalid;
          } else if (!CertificateNames.valid(leaf, host)) {
            why = "its certificate, issued under the trust anchor its DANE-TA record names, is not valid for " + host;
          } else {
            return null;
          }
        }
      }
    }
    return why;
  }

  /** Whether {@code certificate}'s selected part, hashed as the record says, is the record's data. */
  static boolean matches(X509Certificate certificate, TlsaRecord record) {
    try {
      byte[] selected = record.selector() == 0 ? certificate.getEncoded() : certificate.getPublicKey().getEncoded();
      byte[] value = switch (record.matchingType()) {
        case 0 -> selected;
        case 1 -> MessageDigest.getInstance("SHA-256").digest(selected);
        case 2 -> MessageDigest.getInstance("SHA-512").digest(selected);
        default -> null;
      };
      return value != null && MessageDigest.isEqual(value, record.bytes());
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  /** Null when {@code path} (the server's certificate first) validates with {@code anchor} as its trust anchor. */
  private static String validUnder(List<? extends Certificate> path, X509Certificate anchor) {
    try {
      PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(anchor, null)));
      parameters.setRevocationEnabled(false); // no OCSP or CRL fetches from a delivery
      CertPathValidator.getInstance("PKIX").validate(
          CertificateFactory.getInstance("X.509").generateCertPath(new ArrayList<>(path)), parameters);
      return null;
    } catch (GeneralSecurityException e) {
      return String.valueOf(e.getMessage());
    }
  }
}
