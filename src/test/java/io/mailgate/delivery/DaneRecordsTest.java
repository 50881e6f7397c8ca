package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.delivery.dns.TlsaRecord;
import io.mailgate.testing.NamedCertificate;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Which TLSA records DANE uses, and which chains they stand for, on certificates made by keytool. */
class DaneRecordsTest {
  static X509Certificate ca;
  static X509Certificate otherCa;
  static X509Certificate leaf;

  @BeforeAll
  static void certificates() throws Exception {
    NamedCertificate authority = NamedCertificate.authority("Records Test CA");
    ca = authority.x509();
    otherCa = NamedCertificate.authority("Another CA").x509();
    leaf = authority.issue("mx.records.example", "dns:mx.records.example").x509();
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void onlyDaneUsagesWithKnownSelectorsAndWholeDigestsAreUsable() {
    String sha256 = "ab".repeat(32);
    String sha512 = "cd".repeat(64);
    TlsaRecord ee = new TlsaRecord(3, 1, 1, sha256);
    TlsaRecord ta = new TlsaRecord(2, 0, 2, sha512);
    TlsaRecord whole = new TlsaRecord(3, 0, 0, "3082");
    List<TlsaRecord> unusable = List.of(
        new TlsaRecord(1, 1, 1, sha256), // PKIX-EE
        new TlsaRecord(0, 0, 1, sha256), // PKIX-TA
        new TlsaRecord(3, 2, 1, sha256), // no such selector
        new TlsaRecord(3, 1, 3, sha256), // no such matching type
        new TlsaRecord(3, 1, 1, sha256.substring(2)), // a digest one byte short
        new TlsaRecord(3, 1, 2, sha256), // SHA-512 of SHA-256's length
        new TlsaRecord(3, 1, 0, "")); // no data
    List<TlsaRecord> all = new java.util.ArrayList<>(unusable);
    all.add(1, ee);
    all.add(ta);
    all.add(whole);
    assertEquals(List.of(ee, ta, whole), Dane.usable(all));
    assertEquals(List.of(), Dane.usable(unusable));
  }

  @Test
  void daneEeMatchesTheServersOwnCertificateWhateverItNames() throws Exception {
    List<X509Certificate> chain = List.of(leaf, ca);
    assertNull(Dane.mismatch(chain, List.of(new TlsaRecord(3, 1, 1, sha256(leaf.getPublicKey().getEncoded()))),
        "another.name.example"), "DANE-EE: no name check");
    assertNull(Dane.mismatch(chain, List.of(new TlsaRecord(3, 0, 0, HexFormat.of().formatHex(leaf.getEncoded()))),
        "another.name.example"));
    String notItsKey = Dane.mismatch(chain, List.of(new TlsaRecord(3, 1, 1, sha256(ca.getPublicKey().getEncoded()))),
        "mx.records.example");
    assertTrue(notItsKey.contains("matches none of the TLSA records of mx.records.example"), notItsKey);
  }

  @Test
  void daneTaNeedsTheAnchorSentAChainUnderItAndTheMxName() throws Exception {
    TlsaRecord anchor = new TlsaRecord(2, 0, 1, sha256(ca.getEncoded()));
    assertNull(Dane.mismatch(List.of(leaf, ca), List.of(anchor), "mx.records.example"));
    String name = Dane.mismatch(List.of(leaf, ca), List.of(anchor), "mx.other.example");
    assertTrue(name.contains("not valid for mx.other.example"), name);
    // the anchor named is sent, but the server's certificate was not issued under it
    TlsaRecord other = new TlsaRecord(2, 1, 1, sha256(otherCa.getPublicKey().getEncoded()));
    String notUnder = Dane.mismatch(List.of(leaf, otherCa), List.of(other), "mx.records.example");
    assertTrue(notUnder.contains("does not validate under the trust anchor its DANE-TA record names"), notUnder);
    // the anchor is not sent: nothing to match (RFC 7672 3.1.2 asks servers to send it)
    String notSent = Dane.mismatch(List.of(leaf), List.of(anchor), "mx.records.example");
    assertTrue(notSent.contains("matches none of the TLSA records"), notSent);
    assertEquals("it presented no certificate", Dane.mismatch(List.of(), List.of(anchor), "mx.records.example"));
  }
}
