package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.NamedCertificate;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 6125 DNS-IDs as an MX under an MTA-STS policy must present them, on certificates made by keytool. */
class CertificateNamesTest {

  static X509Certificate certificate(String cn, String... subjectAltNames) throws Exception {
    String pem = NamedCertificate.create(cn, subjectAltNames).pem();
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void aNameOrOneLabelUnderAWildcardIsValidAndNothingElse() throws Exception {
    X509Certificate c = certificate("ignored.example", "dns:MX1.Example.com", "dns:*.mail.example.net",
        "ip:192.0.2.7");
    assertEquals(List.of("mx1.example.com", "*.mail.example.net"), CertificateNames.dnsNames(c));
    assertTrue(CertificateNames.valid(c, "mx1.example.com"));
    assertTrue(CertificateNames.valid(c, "MX1.EXAMPLE.COM."), "case and a final dot do not matter");
    assertTrue(CertificateNames.valid(c, "a.mail.example.net"));
    assertFalse(CertificateNames.valid(c, "mail.example.net"), "the wildcard is one label, not none");
    assertFalse(CertificateNames.valid(c, "a.b.mail.example.net"), "nor two");
    assertFalse(CertificateNames.valid(c, "mx2.example.com"));
    assertFalse(CertificateNames.valid(c, "192.0.2.7"), "an address entry is not a DNS-ID");
    assertFalse(CertificateNames.valid(c, "ignored.example"), "nor is the subject's CN");
  }

  @Test
  void aWildcardOverOneLabelNamesNothing() throws Exception {
    X509Certificate c = certificate("wild", "dns:*.com");
    assertFalse(CertificateNames.valid(c, "example.com"));
  }

  @Test
  void aCertificateWithoutDnsNamesNamesNothing() throws Exception {
    X509Certificate c = certificate("mx.example.com");
    assertEquals(List.of(), CertificateNames.dnsNames(c));
    assertFalse(CertificateNames.valid(c, "mx.example.com"), "a CN alone is not enough (RFC 8461 4.2)");
  }
}
