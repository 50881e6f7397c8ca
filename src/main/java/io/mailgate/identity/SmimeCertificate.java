package io.mailgate.identity;

import io.mailgate.SesException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * An S/MIME certificate with its private key, as ImportCertificate takes them (PEM: the certificate, its key in PKCS#8,
 * PKCS#1 or SEC1, and its chain) and as the signing path uses them. Parsing checks what ACM checks on import (one
 * certificate, a key of an algorithm it takes that belongs to it, not expired) and what signing mail needs of it
 * ({@link #usableFor}). Plain Java: the PEM and key formats are read by Bouncy Castle, the certificates by the JDK.
 */
public final class SmimeCertificate {
  /** ACM's limits on what ImportCertificate takes. */
  public static final int MAX_CERTIFICATE_BYTES = 32_768;
  public static final int MAX_KEY_BYTES = 5_120;
  /** ACM takes a chain of up to 2 MB; here a chain is a few certificates of a mail CA: 256 KB. */
  public static final int MAX_CHAIN_BYTES = 262_144;
  private static final String EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4";
  private static final String ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

  private final X509Certificate certificate;
  private final List<X509Certificate> chain;
  private final PrivateKey key;
  private final String keyAlgorithm;

  private SmimeCertificate(X509Certificate certificate, List<X509Certificate> chain, PrivateKey key,
      String keyAlgorithm) {
    this.certificate = certificate;
    this.chain = chain;
    this.key = key;
    this.keyAlgorithm = keyAlgorithm;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public List<X509Certificate> chain() {
    return chain;
  }

  public PrivateKey key() {
    return key;
  }

  /** ACM's name of the key's algorithm: {@code RSA_2048}, {@code EC_prime256v1}... */
  public String keyAlgorithm() {
    return keyAlgorithm;
  }

  /** The JCA signature algorithm signing uses with this key: SHA-256 with RSA or ECDSA. */
  public String signatureAlgorithm() {
    return io.mailgate.KeyChecks.signatureAlgorithm(key);
  }

  public Instant notAfter() {
    return certificate.getNotAfter().toInstant();
  }

  /** The serial number as ACM writes it: hex bytes separated by colons. */
  public String serial() {
    byte[] bytes = certificate.getSerialNumber().toByteArray();
    StringBuilder b = new StringBuilder();
    for (byte x : bytes) {
      b.append(b.length() == 0 ? "" : ":").append(HexFormat.of().toHexDigits(x));
    }
    return b.toString();
  }

  /**
   * Reads and checks an import: {@code certificate} one PEM certificate, {@code key} its private key (RSA of 2,048
   * to 4,096 bits, or EC on P-256, P-384 or P-521), {@code chain} null or PEM certificates. ACM's ValidationException
   * for anything else.
   */
  public static SmimeCertificate parse(byte[] certificate, byte[] key, byte[] chain, Instant now) {
    List<X509Certificate> leaf = certificates(certificate, "Certificate");
    if (leaf.size() != 1) {
      throw invalid("The certificate field must hold exactly one PEM certificate, not " + leaf.size() + ".");
    }
    List<X509Certificate> rest = chain == null ? List.of() : certificates(chain, "CertificateChain");
    X509Certificate cert = leaf.get(0);
    PrivateKey privateKey = privateKey(key);
    String algorithm = keyAlgorithm(privateKey);
    if (!io.mailgate.KeyChecks.matches(privateKey, cert.getPublicKey())) {
      throw invalid("The private key does not match the public key in the certificate.");
    }
    if (!cert.getNotAfter().toInstant().isAfter(now)) {
      throw invalid("The certificate has expired (" + cert.getNotAfter().toInstant() + ").");
    }
    if (cert.getNotBefore().toInstant().isAfter(now)) {
      throw invalid("The certificate is not valid yet (" + cert.getNotBefore().toInstant() + ").");
    }
    return new SmimeCertificate(cert, rest, privateKey, algorithm);
  }

  /** A certificate as stored (PEM, and the PKCS#8 key unsealed), for signing: checked when it was imported. */
  public static SmimeCertificate stored(String certificatePem, String chainPem, byte[] pkcs8) {
    X509Certificate cert = certificates(certificatePem.getBytes(StandardCharsets.US_ASCII), "Certificate").get(0);
    List<X509Certificate> rest = chainPem == null ? List.of()
        : certificates(chainPem.getBytes(StandardCharsets.US_ASCII), "CertificateChain");
    PrivateKey key;
    try {
      key = privateKey(PrivateKeyInfo.getInstance(pkcs8));
    } catch (IOException e) {
      throw new IllegalStateException("a stored key that does not read", e);
    }
    return new SmimeCertificate(cert, rest, key, keyAlgorithm(key));
  }

  /** A stored certificate read for what it names (no key: it signs nothing). */
  public static SmimeCertificate view(String certificatePem) {
    X509Certificate cert = certificates(certificatePem.getBytes(StandardCharsets.US_ASCII), "Certificate").get(0);
    return new SmimeCertificate(cert, List.of(), null, null);
  }

  /**
   * Why the certificate cannot sign mail from {@code address}, or null when it can: it must name the address (a
   * subjectAltName rfc822Name, or the subject's emailAddress), allow digital signatures (when it has a KeyUsage) and
   * email protection (when it has an ExtendedKeyUsage), and be valid at {@code now}. A signature by any other would be
   * shown as not the sender's by every mail reader.
   */
  public String unusableFor(String address, Instant now) {
    if (!notAfter().isAfter(now)) {
      return "The certificate expired on " + notAfter() + ".";
    }
    boolean[] usage = certificate.getKeyUsage();
    if (usage != null && !usage[0] && !usage[1]) { // digitalSignature or nonRepudiation (RFC 8550 4.4.2)
      return "The certificate's KeyUsage does not allow digital signatures.";
    }
    try {
      List<String> extended = certificate.getExtendedKeyUsage();
      if (extended != null && !extended.contains(EMAIL_PROTECTION) && !extended.contains(ANY_EXTENDED_KEY_USAGE)) {
        return "The certificate's ExtendedKeyUsage does not allow email protection.";
      }
    } catch (CertificateParsingException e) {
      return "The certificate's ExtendedKeyUsage cannot be read.";
    }
    if (!emailAddresses().contains(address.toLowerCase(Locale.ROOT))) {
      return "The certificate is not for " + address + " (it names " + (emailAddresses().isEmpty() ? "no address"
          : String.join(", ", emailAddresses())) + ").";
    }
    return null;
  }

  /** The addresses the certificate names, lower-cased: its subjectAltName rfc822Names and subject emailAddress. */
  public List<String> emailAddresses() {
    List<String> out = new ArrayList<>();
    try {
      Collection<List<?>> names = certificate.getSubjectAlternativeNames();
      if (names != null) {
        for (List<?> name : names) {
          if (Integer.valueOf(1).equals(name.get(0))) { // rfc822Name
            out.add(name.get(1).toString().toLowerCase(Locale.ROOT));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // read as naming none
    }
    org.bouncycastle.asn1.x500.X500Name subject = org.bouncycastle.asn1.x500.X500Name.getInstance(
        certificate.getSubjectX500Principal().getEncoded());
    for (org.bouncycastle.asn1.x500.RDN rdn : subject.getRDNs(org.bouncycastle.asn1.x500.style.BCStyle.EmailAddress)) {
      out.add(org.bouncycastle.asn1.x500.style.IETFUtils.valueToString(rdn.getFirst().getValue())
          .toLowerCase(Locale.ROOT));
    }
    return out;
  }

  /** The certificate's common name, or its first address: ACM's DomainName. */
  public String commonName() {
    org.bouncycastle.asn1.x500.X500Name subject = org.bouncycastle.asn1.x500.X500Name.getInstance(
        certificate.getSubjectX500Principal().getEncoded());
    org.bouncycastle.asn1.x500.RDN[] cn = subject.getRDNs(org.bouncycastle.asn1.x500.style.BCStyle.CN);
    if (cn.length > 0) {
      return org.bouncycastle.asn1.x500.style.IETFUtils.valueToString(cn[0].getFirst().getValue());
    }
    List<String> addresses = emailAddresses();
    return addresses.isEmpty() ? certificate.getSubjectX500Principal().getName() : addresses.get(0);
  }

  private static List<X509Certificate> certificates(byte[] pem, String field) {
    List<X509Certificate> out = new ArrayList<>();
    try (PEMParser parser = new PEMParser(reader(pem))) {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (!(o instanceof org.bouncycastle.cert.X509CertificateHolder holder)) {
          throw invalid("The " + field + " field holds something else than PEM certificates.");
        }
        out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(holder.getEncoded())));
      }
    } catch (IOException | CertificateException | RuntimeException e) {
      if (e instanceof SesException s) {
        throw s;
      }
      throw invalid("The " + field + " field is not PEM-encoded X.509 certificates: " + e.getMessage());
    }
    if (out.isEmpty()) {
      throw invalid("The " + field + " field holds no PEM certificate.");
    }
    return out;
  }

  private static PrivateKey privateKey(byte[] pem) {
    try (PEMParser parser = new PEMParser(reader(pem))) {
      Object o = parser.readObject();
      if (parser.readObject() != null) {
        throw invalid("The PrivateKey field must hold one key.");
      }
      if (o instanceof PEMKeyPair pair) { // PKCS#1 (RSA PRIVATE KEY) or SEC1 (EC PRIVATE KEY)
        return privateKey(pair.getPrivateKeyInfo());
      }
      if (o instanceof PrivateKeyInfo info) { // PKCS#8
        return privateKey(info);
      }
      throw invalid(o == null ? "The PrivateKey field holds no PEM key."
          : "The PrivateKey field must hold an unencrypted private key in PEM (PKCS#8, PKCS#1 or SEC1).");
    } catch (IOException | RuntimeException e) {
      if (e instanceof SesException s) {
        throw s;
      }
      throw invalid("The PrivateKey field is not a PEM private key: " + e.getMessage());
    }
  }

  /** The JCA key of a PKCS#8 structure (SEC1's EC keys must name their curve, as OpenSSL writes them). */
  private static PrivateKey privateKey(PrivateKeyInfo info) throws IOException {
    return new JcaPEMKeyConverter().getPrivateKey(info);
  }

  /** ACM's algorithms for imported certificates' keys, as it names them; another is a ValidationException. */
  private static String keyAlgorithm(PrivateKey key) {
    if (key instanceof RSAKey rsa) {
      int bits = rsa.getModulus().bitLength();
      if (bits == 2048 || bits == 3072 || bits == 4096) {
        return "RSA_" + bits;
      }
      throw invalid("An RSA key must have 2048, 3072 or 4096 bits, not " + bits + ".");
    }
    if (key instanceof ECKey ec) {
      return switch (ec.getParams().getOrder().bitLength()) {
        case 256 -> "EC_prime256v1";
        case 384 -> "EC_secp384r1";
        case 521 -> "EC_secp521r1";
        default -> throw invalid("An EC key must be on P-256, P-384 or P-521.");
      };
    }
    throw invalid("The private key must be RSA or EC, not " + key.getAlgorithm() + ".");
  }

  private static Reader reader(byte[] pem) {
    return new InputStreamReader(new ByteArrayInputStream(pem), StandardCharsets.US_ASCII);
  }

  private static SesException invalid(String message) {
    return new SesException(io.mailgate.SesError.ACM_VALIDATION, message);
  }
}
