package io.mailgate.send.smime;

import io.mailgate.identity.SmimeCertificate;
import io.mailgate.send.HeaderBlock;
import io.mailgate.send.SevenBitConversion;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * Signs a message with S/MIME (RFC 8551), as SES does for a configuration set whose MessageSecurityOptions say so: the
 * message's MIME entity (its content header fields and body) becomes the first part of a {@code multipart/signed}
 * (RFC 1847) whose second part is a detached CMS SignedData (RFC 5652) over that part's bytes, made with the From
 * address's certificate and key (SHA-256 with RSA or ECDSA; the certificate and its chain included, so a reader can
 * check it). The other header fields stay on the message, above the new Content-Type.
 *
 * <p>A signed part must reach its reader byte for byte: an 8-bit body is converted to 7 bits first (RFC 8551 3.1.2;
 * a relay without 8BITMIME would otherwise convert it after the signature, which it would break). A message that is
 * signed or encrypted with S/MIME or OpenPGP already is left as it is, as is one whose 8-bit content cannot be
 * converted: signing it would give a signature that fails on the way. DKIM signs what this makes.
 */
public final class SmimeSigner {
  /** The fields that describe a MIME entity (RFC 2045 9, RFC 2183, RFC 3066): they go into the signed part. */
  private static boolean describesContent(HeaderBlock.Field f) {
    return f.name().regionMatches(true, 0, "Content-", 0, 8);
  }

  private SmimeSigner() {}

  /** Why a message is left unsigned; null when it was signed. */
  public record Result(byte[] message, String unsignedBecause) {}

  public static Result sign(byte[] message, SmimeCertificate certificate) {
    HeaderBlock headers;
    try {
      headers = HeaderBlock.parse(message);
    } catch (IllegalArgumentException malformed) {
      return new Result(message, "its header section cannot be read");
    }
    HeaderBlock.Field type = headers.first("Content-Type");
    String contentType = type == null ? "" : headers.rawValue(type).toLowerCase(Locale.ROOT);
    if (contentType.startsWith("multipart/signed") || contentType.startsWith("multipart/encrypted")
        || contentType.startsWith("application/pkcs7-mime") || contentType.startsWith("application/x-pkcs7-mime")) {
      return new Result(message, "it is signed or encrypted already");
    }
    if (SevenBitConversion.hasEightBit(message)) {
      try {
        message = SevenBitConversion.convert(message);
        headers = HeaderBlock.parse(message);
      } catch (SevenBitConversion.NotConvertible e) {
        return new Result(message, "its 8-bit content cannot be converted to 7 bits");
      }
    }
    // the signed part: the content fields as they are (a message without a Content-Type is text/plain; us-ascii,
    // RFC 2045 5.2, which the part then says), an empty line, the body
    ByteArrayOutputStream part = new ByteArrayOutputStream(message.length + 256);
    List<HeaderBlock.Field> outer = new ArrayList<>();
    boolean typed = false;
    for (HeaderBlock.Field f : headers.fields()) {
      if (describesContent(f)) {
        part.write(message, f.start(), f.end() - f.start());
        typed |= f.is("Content-Type");
      } else if (!f.is("MIME-Version")) {
        outer.add(f);
      }
    }
    if (!typed) {
      part.writeBytes("Content-Type: text/plain; charset=us-ascii\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    part.writeBytes(new byte[] {'\r', '\n'});
    int bodyStart = headers.bodyStart();
    part.write(message, bodyStart, message.length - bodyStart);
    byte[] signedPart = part.toByteArray();
    // the part ends where the boundary's CRLF begins (RFC 2046 5.1.1): a body ending in CRLF keeps it as its last line
    byte[] signature = signature(signedPart, certificate);

    String boundary = "----=_smime_" + Long.toHexString(ThreadLocalRandom.current().nextLong())
        + Long.toHexString(ThreadLocalRandom.current().nextLong());
    ByteArrayOutputStream out = new ByteArrayOutputStream(signedPart.length + signature.length * 4 / 3 + 1024);
    for (HeaderBlock.Field f : outer) {
      out.write(message, f.start(), f.end() - f.start());
    }
    ascii(out, "MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
        + " micalg=sha-256;\r\n boundary=\"" + boundary + "\"\r\n\r\n"
        + "This is a cryptographically signed message in MIME format.\r\n\r\n--" + boundary + "\r\n");
    out.writeBytes(signedPart);
    if (!endsWithCrlf(signedPart)) {
      ascii(out, "\r\n");
    }
    ascii(out, "--" + boundary + "\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
        + "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n"
        + "Content-Description: S/MIME Cryptographic Signature\r\n\r\n");
    ascii(out, Base64.getMimeEncoder(76, new byte[] {'\r', '\n'}).encodeToString(signature));
    ascii(out, "\r\n--" + boundary + "--\r\n");
    return new Result(out.toByteArray(), null);
  }

  /**
   * The detached SignedData over {@code content} (DER): signed attributes (content type, message digest, signing
   * time), the certificate and its chain. The signed content is the part as it is sent, with its CRLFs, so that a
   * signature may be a message whose last line has no CRLF: the part ends where the delimiter's CRLF begins.
   */
  static byte[] signature(byte[] content, SmimeCertificate c) {
    byte[] signed = endsWithCrlf(content) ? java.util.Arrays.copyOf(content, content.length - 2) : content;
    try {
      List<X509Certificate> certificates = new ArrayList<>();
      certificates.add(c.certificate());
      certificates.addAll(c.chain());
      CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
      generator.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(new JcaDigestCalculatorProviderBuilder()
          .build()).build(new JcaContentSignerBuilder(c.signatureAlgorithm()).build(c.key()), c.certificate()));
      generator.addCertificates(new JcaCertStore(certificates));
      return generator.generate(new CMSProcessableByteArray(signed), false).getEncoded();
    } catch (OperatorCreationException | CMSException | CertificateEncodingException | java.io.IOException e) {
      throw new IllegalStateException("S/MIME signing failed: " + e.getMessage(), e);
    }
  }

  private static boolean endsWithCrlf(byte[] b) {
    return b.length >= 2 && b[b.length - 2] == '\r' && b[b.length - 1] == '\n';
  }

  private static void ascii(ByteArrayOutputStream out, String s) {
    out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
  }
}
