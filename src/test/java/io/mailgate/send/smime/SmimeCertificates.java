package io.mailgate.send.smime;

import java.io.StringWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Test certificates for S/MIME: a mail CA and the certificates it issues, as a CA issues them to mailboxes. */
final class SmimeCertificates {
  private static final AtomicLong SERIAL = new AtomicLong(1000);

  /** A key pair and its certificate. */
  record Issued(KeyPair keys, X509Certificate certificate) {
    String certificatePem() {
      return pem(certificate);
    }

    /** The key as PKCS#8 ({@code PRIVATE KEY}). */
    String keyPkcs8() {
      try {
        return pem(new JcaPKCS8Generator(keys.getPrivate(), null));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    /**
     * The key in its traditional form: {@code RSA PRIVATE KEY} (PKCS#1). (Bouncy Castle writes a JDK EC key's SEC1
     * form without its curve, which no reader takes: EC keys are written as PKCS#8 here.)
     */
    String keyTraditional() {
      return pem(keys.getPrivate());
    }

    PrivateKey key() {
      return keys.getPrivate();
    }
  }

  private SmimeCertificates() {}

  static KeyPair rsa(int bits) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", "SunRsaSign");
    g.initialize(bits);
    return g.generateKeyPair();
  }

  static KeyPair ec() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC", "SunEC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  /** A self-signed mail CA. */
  static Issued authority(String name) throws Exception {
    KeyPair keys = rsa(2048);
    X500Name subject = new X500Name("CN=" + name);
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(), date(Instant.now()
        .minus(Duration.ofDays(1))), date(Instant.now().plus(Duration.ofDays(3650))), subject, keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    return new Issued(keys, sign(b, keys.getPrivate()));
  }

  /** A mailbox's certificate for {@code address}, issued by {@code ca}, valid until {@code notAfter}. */
  static Issued mailbox(Issued ca, KeyPair keys, String address, Instant notAfter, KeyPurposeId purpose)
      throws Exception {
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.certificate(), serial(),
        date(Instant.now().minus(Duration.ofDays(2))), date(notAfter), new X500Name("CN=" + address),
        keys.getPublic());
    b.addExtension(Extension.subjectAlternativeName, false,
        new GeneralNames(new GeneralName(GeneralName.rfc822Name, address)));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
    return new Issued(keys, sign(b, ca.key()));
  }

  static Issued mailbox(Issued ca, String address) throws Exception {
    return mailbox(ca, rsa(2048), address, Instant.now().plus(Duration.ofDays(365)),
        KeyPurposeId.id_kp_emailProtection);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey issuerKey) throws Exception {
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA")
        .build(issuerKey)));
  }

  private static BigInteger serial() {
    return BigInteger.valueOf(SERIAL.incrementAndGet());
  }

  private static Date date(Instant t) {
    return Date.from(t);
  }

  static String pem(Object o) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(o);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }
}
