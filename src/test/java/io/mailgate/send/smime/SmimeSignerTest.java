package io.mailgate.send.smime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.SmimeCertificate;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The S/MIME signature of a message, read back as a mail reader reads it: the multipart/signed split at its boundary,
 * the CMS signature checked over the first part's bytes with the certificate it carries, which is the signer's. What
 * must not be signed (S/MIME or OpenPGP already) is left alone; 8-bit content is made 7-bit first.
 */
class SmimeSignerTest {
  static SmimeCertificates.Issued ca;
  static SmimeCertificate rsa;
  static SmimeCertificate ec;

  @BeforeAll
  static void certificates() throws Exception {
    ca = SmimeCertificates.authority("Test Mail CA");
    SmimeCertificates.Issued alice = SmimeCertificates.mailbox(ca, "alice@smime.example");
    rsa = SmimeCertificate.parse(bytes(alice.certificatePem()), bytes(alice.keyPkcs8()),
        bytes(ca.certificatePem()), Instant.now());
    SmimeCertificates.Issued bob = SmimeCertificates.mailbox(ca, SmimeCertificates.ec(), "bob@smime.example",
        Instant.now().plus(Duration.ofDays(30)), KeyPurposeId.id_kp_emailProtection);
    ec = SmimeCertificate.parse(bytes(bob.certificatePem()), bytes(bob.keyPkcs8()), null, Instant.now());
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** A signed message's parts: the signed part's bytes (as signed) and the signature. */
  record Signed(String outerHeaders, byte[] part, byte[] signature) {}

  /** Splits a multipart/signed message as RFC 1847 has it (the CRLF before a delimiter belongs to the delimiter). */
  static Signed split(byte[] message) {
    String text = new String(message, StandardCharsets.ISO_8859_1);
    int headerEnd = text.indexOf("\r\n\r\n");
    String headers = text.substring(0, headerEnd + 2);
    Matcher m = Pattern.compile("(?i)content-type:\\s*multipart/signed;[^\\r]*(?:\\r\\n[ \\t][^\\r]*)*")
        .matcher(headers);
    assertTrue(m.find(), headers);
    Matcher b = Pattern.compile("boundary=\"([^\"]+)\"").matcher(m.group());
    assertTrue(b.find(), m.group());
    assertTrue(m.group().contains("protocol=\"application/pkcs7-signature\""), m.group());
    assertTrue(m.group().contains("micalg=sha-256"), m.group());
    String delimiter = "--" + b.group(1);
    int first = text.indexOf(delimiter + "\r\n", headerEnd) + delimiter.length() + 2;
    int second = text.indexOf("\r\n" + delimiter + "\r\n", first);
    int end = text.indexOf("\r\n" + delimiter + "--", second + 2);
    byte[] part = bytes(text.substring(first, second));
    String signaturePart = text.substring(second + 2 + delimiter.length() + 2, end);
    assertTrue(signaturePart.startsWith("Content-Type: application/pkcs7-signature"), signaturePart);
    String base64 = signaturePart.substring(signaturePart.indexOf("\r\n\r\n") + 4);
    return new Signed(headers, part, Base64.getMimeDecoder().decode(base64));
  }

  /** Checks the signature over the part, with the certificate it names among those it carries; that certificate. */
  static X509Certificate verify(Signed s) throws Exception {
    CMSSignedData data = new CMSSignedData(new CMSProcessableByteArray(s.part()), s.signature());
    Collection<SignerInformation> signers = data.getSignerInfos().getSigners();
    assertEquals(1, signers.size());
    SignerInformation signer = signers.iterator().next();
    @SuppressWarnings("unchecked")
    Collection<X509CertificateHolder> matching = data.getCertificates().getMatches(signer.getSID());
    assertEquals(1, matching.size());
    X509CertificateHolder holder = matching.iterator().next();
    assertTrue(signer.verify(new JcaSimpleSignerInfoVerifierBuilder().build(holder)), "the signature verifies");
    return new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().getCertificate(holder);
  }

  @Test
  void aMessageIsSignedWithItsContentFieldsInTheSignedPart() throws Exception {
    String body = "Hello,\r\nthe invoice is attached.\r\n";
    byte[] message = bytes("From: Alice <alice@smime.example>\r\nTo: carol@example.net\r\nSubject: Invoice\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n"
        + "Message-ID: <1@smime.example>\r\n\r\n" + body);
    for (SmimeCertificate c : List.of(rsa, ec)) {
      SmimeSigner.Result r = SmimeSigner.sign(message, c);
      assertNull(r.unsignedBecause());
      Signed s = split(r.message());
      assertEquals(c.certificate(), verify(s));
      String part = new String(s.part(), StandardCharsets.ISO_8859_1);
      assertEquals("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
          + body.substring(0, body.length() - 2), part, "the content fields and the body, as they were");
      // the other fields stay on the message, once each; the content fields moved into the part
      assertTrue(s.outerHeaders().startsWith("From: Alice <alice@smime.example>\r\nTo: carol@example.net\r\n"
          + "Subject: Invoice\r\nMessage-ID: <1@smime.example>\r\nMIME-Version: 1.0\r\n"), s.outerHeaders());
      assertFalse(s.outerHeaders().contains("Content-Transfer-Encoding"), s.outerHeaders());
    }
    // the certificate and its chain travel with the signature
    CMSSignedData data = new CMSSignedData(new CMSProcessableByteArray(split(SmimeSigner.sign(message, rsa)
        .message()).part()), split(SmimeSigner.sign(message, rsa).message()).signature());
    assertEquals(2, data.getCertificates().getMatches(null).size());
  }

  @Test
  void aChangedPartNoLongerVerifies() throws Exception {
    byte[] message = bytes("From: alice@smime.example\r\nSubject: x\r\n\r\nPay 100 EUR.\r\n");
    Signed s = split(SmimeSigner.sign(message, rsa).message());
    String part = new String(s.part(), StandardCharsets.ISO_8859_1);
    assertTrue(part.startsWith("Content-Type: text/plain; charset=us-ascii\r\n\r\n"), "no Content-Type: RFC 2045's "
        + "default, said: " + part);
    Signed changed = new Signed(s.outerHeaders(), bytes(part.replace("100", "900")), s.signature());
    CMSSignedData data = new CMSSignedData(new CMSProcessableByteArray(changed.part()), changed.signature());
    SignerInformation signer = data.getSignerInfos().getSigners().iterator().next();
    @SuppressWarnings("unchecked")
    X509CertificateHolder holder = (X509CertificateHolder) data.getCertificates().getMatches(signer.getSID())
        .iterator().next();
    assertFalse(verifies(signer, holder));
  }

  private static boolean verifies(SignerInformation signer, X509CertificateHolder holder) {
    try {
      return signer.verify(new JcaSimpleSignerInfoVerifierBuilder().build(holder));
    } catch (Exception e) {
      return false; // a digest that does not match is reported as an exception
    }
  }

  @Test
  void eightBitContentIsMadeSevenBitBeforeItIsSignedAndSignedMailIsLeftAlone() throws Exception {
    byte[] message = ("From: alice@smime.example\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n").getBytes(StandardCharsets.UTF_8);
    SmimeSigner.Result r = SmimeSigner.sign(message, rsa);
    assertNull(r.unsignedBecause());
    for (byte b : r.message()) {
      assertTrue(b >= 0, "7 bits only");
    }
    Signed s = split(r.message());
    verify(s);
    String part = new String(s.part(), StandardCharsets.ISO_8859_1);
    assertTrue(part.contains("Content-Transfer-Encoding: quoted-printable") || part.contains(
        "Content-Transfer-Encoding: base64"), part);

    List<byte[]> untouched = new ArrayList<>();
    untouched.add(r.message()); // signed already
    untouched.add(bytes("From: a@smime.example\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
        + "\r\nMIAGCSqGSIb3DQEHA6CAMIACAQA=\r\n"));
    untouched.add(bytes("From: a@smime.example\r\nContent-Type: multipart/encrypted; protocol=\"application/"
        + "pgp-encrypted\"; boundary=x\r\n\r\n--x\r\n\r\nVersion: 1\r\n--x--\r\n"));
    for (byte[] m : untouched) {
      SmimeSigner.Result again = SmimeSigner.sign(m, rsa);
      assertNotNull(again.unsignedBecause());
      assertArrayEquals(m, again.message());
    }
  }

  @Test
  void whatACertificateCanSignFor() throws Exception {
    Instant now = Instant.now();
    assertNull(rsa.unusableFor("Alice@Smime.Example", now));
    assertTrue(rsa.unusableFor("mallory@smime.example", now).contains("not for mallory@smime.example"));
    assertTrue(rsa.unusableFor("alice@smime.example", now.plus(Duration.ofDays(400))).contains("expired"));
    SmimeCertificates.Issued server = SmimeCertificates.mailbox(ca, SmimeCertificates.rsa(2048), "web@smime.example",
        now.plus(Duration.ofDays(30)), KeyPurposeId.id_kp_serverAuth);
    SmimeCertificate tls = SmimeCertificate.parse(bytes(server.certificatePem()), bytes(server.keyPkcs8()), null, now);
    assertTrue(tls.unusableFor("web@smime.example", now).contains("email protection"));
    assertEquals("RSA_2048", rsa.keyAlgorithm());
    assertEquals("EC_prime256v1", ec.keyAlgorithm());
  }
}
