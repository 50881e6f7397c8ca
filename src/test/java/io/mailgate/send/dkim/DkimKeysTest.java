package io.mailgate.send.dkim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class DkimKeysTest {

  /** Made with {@code openssl genrsa -traditional 1024}: PKCS#1. */
  private static final String PKCS1_PEM = """
      -----BEGIN RSA PRIVATE KEY-----
      MIICXAIBAAKBgQDpNY3grYaaYsKt78yjJ7aNjUXcq+xXgAgF2TQjqPD0bq3pp8Bp
      yAoIXg/jZEAaxBgRbjx22DcCfZ5xF07fqcxHsUNQdrbAanBtzs77TukWK9OV3kp2
      IW+exLoltQCkBcTD8dLSLiKPehQ+8TovZTSG881d1CGLUpvMrDjCvaJzMwIDAQAB
      AoGBAN0zENm1feDeIC3/MCjpODxXbZZ78/ai1/lEJjJUwgf3GzpvBRDQzsNVBNj4
      c91vdizCVNOdDcBtCmXWZ9e6JKljyyrSefItFjpdTlWBoqzBwvix3k9+KDmvy0B/
      zmcpJLCjY4DNQgBxGoJoJcIp4yMt7rBw74ZPuYJ0/gHJPfZBAkEA/sLslRD/si1J
      a+keG5ur0ydBpIpUE+FPI1ExurLGVA5pzSBMFFi27J5pRs31eJSeQMSK0QAtZhtQ
      NnVTmq32AwJBAOpXzmGj43+Z9z5mHsNu1Fc1SugW27Pk4LV6gxuokBVGuSB4r6BS
      IyFC2jnepaSuatlLM3a0pcpvsOy66hHuXxECQDWVGd1gbeczzzV7GnIEE+edYhkR
      Xw2vXc23zhXOdBhJz8bs/BNrdU3fI5VYzEBIQeCtdeTvfJz1MbHCi4sE+7ECQEpq
      JZw12cksUCndbclriTxELQw0LgIbHQwj4jxHM7G96o2YJVUIoCUwwHF99SWtSTrF
      OYtpY/g7rXgPBsM46bECQF1OOuvm5lj5kfm1l1AnfZPvRx6siv67dGGG/syg9uXw
      ZGA9CyET4SO5eWYT4NgN5jQ0vUOidV0CdQyInQfqmFs=
      -----END RSA PRIVATE KEY-----
      """;
  /** {@code openssl rsa -noout -modulus} of the key above. */
  private static final BigInteger PKCS1_MODULUS = new BigInteger("E9358DE0AD869A62C2ADEFCCA327B68D8D45DCABEC5780080"
      + "5D93423A8F0F46EADE9A7C069C80A085E0FE364401AC418116E3C76D837027D9E71174EDFA9CC47B1435076B6C06A706DCECEFB4EE"
      + "9162BD395DE4A76216F9EC4BA25B500A405C4C3F1D2D22E228F7A143EF13A2F653486F3CD5DD4218B529BCCAC38C2BDA27333", 16);

  /** Made with {@code openssl genpkey -algorithm ed25519}: PKCS#8. */
  private static final String ED25519_PEM = """
      -----BEGIN PRIVATE KEY-----
      MC4CAQAwBQYDK2VwBCIEICZCW4rEeTWUhQp6BXhs1vsUhz9IkZ9Xz5eEbm5zmypj
      -----END PRIVATE KEY-----
      """;
  /** Its raw public key, from {@code openssl pkey -pubout -outform DER | tail -c 32 | base64}. */
  private static final String ED25519_PUBLIC_RAW = "1oHo8jvF3GUngZOXECfg+zEprndn4QqNBXL925X7OM0=";

  @Test
  void readsPkcs1RsaPem() {
    PrivateKey key = DkimKeys.readPrivateKeyPem(PKCS1_PEM);
    assertEquals("RSA", key.getAlgorithm());
    assertEquals(PKCS1_MODULUS, ((RSAPrivateCrtKey) key).getModulus());
    assertEquals(PKCS1_MODULUS, ((RSAPublicKey) DkimKeys.publicKeyOf(key)).getModulus());
  }

  @Test
  void readsPkcs8PemsAndRoundTrips() {
    KeyPair rsa = DkimKeys.generate(DkimKeyType.RSA_2048);
    String pem = DkimKeys.toPem(rsa.getPrivate());
    assertTrue(pem.startsWith("-----BEGIN PRIVATE KEY-----\n"), pem);
    PrivateKey back = DkimKeys.readPrivateKeyPem(pem.replace("\n", "\r\n"));
    assertEquals(((RSAPrivateCrtKey) rsa.getPrivate()).getModulus(), ((RSAPrivateCrtKey) back).getModulus());
    assertEquals(DkimKeys.dnsTxtRecord(rsa.getPublic()), DkimKeys.dnsTxtRecord(DkimKeys.publicKeyOf(back)));

    PrivateKey ed = DkimKeys.readPrivateKeyPem(ED25519_PEM);
    assertEquals("v=DKIM1; k=ed25519; p=" + ED25519_PUBLIC_RAW, DkimKeys.dnsTxtRecord(DkimKeys.publicKeyOf(ed)));
    assertEquals(DkimAlgorithm.ED25519_SHA256, DkimKey.of("example.com", "ed", ed).algorithm());
  }

  @Test
  void refusesWhatItCannotRead() {
    assertThrows(IllegalArgumentException.class, () -> DkimKeys.readPrivateKeyPem("not a key"));
    assertThrows(IllegalArgumentException.class, () -> DkimKeys.readPrivateKeyPem(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"));
    assertThrows(IllegalArgumentException.class, () -> DkimKeys.readPrivateKeyPem(
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"));
    assertThrows(IllegalArgumentException.class, () -> DkimKeys.readPrivateKeyPem(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  }

  @Test
  void dnsRecords() {
    KeyPair rsa = DkimKeys.generate(DkimKeyType.RSA_2048);
    String record = DkimKeys.dnsTxtRecord(rsa.getPublic());
    assertTrue(record.startsWith("v=DKIM1; k=rsa; p=MIIBIjAN"), record); // SubjectPublicKeyInfo of RSA-2048
    assertArrayEquals(rsa.getPublic().getEncoded(),
        Base64.getDecoder().decode(record.substring(record.indexOf("p=") + 2)));
    List<String> strings = DkimKeys.dnsTxtStrings(record);
    assertEquals(2, strings.size());
    assertTrue(strings.stream().allMatch(s -> s.length() <= 255));
    assertEquals(record, String.join("", strings));

    KeyPair rsa1024 = DkimKeys.generate(DkimKeyType.RSA_1024);
    assertEquals(1, DkimKeys.dnsTxtStrings(DkimKeys.dnsTxtRecord(rsa1024.getPublic())).size());
    assertEquals(1024, ((RSAPublicKey) rsa1024.getPublic()).getModulus().bitLength());

    KeyPair ed = DkimKeys.generate(DkimKeyType.ED25519);
    String edRecord = DkimKeys.dnsTxtRecord(ed.getPublic());
    assertTrue(edRecord.startsWith("v=DKIM1; k=ed25519; p="), edRecord);
    assertEquals(32, Base64.getDecoder().decode(edRecord.substring(edRecord.indexOf("p=") + 2)).length);
    PublicKey derived = DkimKeys.publicKeyOf(ed.getPrivate());
    assertEquals(edRecord, DkimKeys.dnsTxtRecord(derived));
  }

  @Test
  void accpIsActiveOnLinuxX8664() {
    CryptoProvider.Kind kind = CryptoProvider.active();
    String description = CryptoProvider.description();
    boolean linuxX64 = System.getProperty("os.name").equals("Linux")
        && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    if (linuxX64) {
      assertEquals(CryptoProvider.Kind.ACCP, kind, description);
      assertTrue(description.startsWith("AmazonCorrettoCryptoProvider"), description);
    } else {
      assertEquals(CryptoProvider.Kind.JDK, kind, description);
    }
  }
}
