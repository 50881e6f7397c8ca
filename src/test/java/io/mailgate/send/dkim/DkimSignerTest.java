package io.mailgate.send.dkim;

import static io.mailgate.send.dkim.Messages.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.FailException;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DkimSignerTest {

  private static final Instant NOW = Instant.parse("2024-03-05T10:00:05Z");
  private static final DkimSigner SIGNER = new DkimSigner(Clock.fixed(NOW, ZoneOffset.UTC));

  private static KeyPair rsa1024;
  private static KeyPair rsa2048;
  private static KeyPair ed25519;

  @BeforeAll
  static void keys() {
    rsa1024 = DkimKeys.generate(DkimKeyType.RSA_1024);
    rsa2048 = DkimKeys.generate(DkimKeyType.RSA_2048);
    ed25519 = DkimKeys.generate(DkimKeyType.ED25519);
  }

  static Stream<Arguments> messages() {
    return Stream.of(
        Arguments.of("simple", Messages.SIMPLE),
        Arguments.of("multipart", Messages.MULTIPART),
        Arguments.of("folded headers", Messages.FOLDED),
        Arguments.of("no final CRLF", Messages.NO_FINAL_CRLF),
        Arguments.of("8bit UTF-8 body", Messages.UTF8_8BIT),
        Arguments.of("duplicate headers", Messages.DUPLICATES),
        Arguments.of("empty body", Messages.EMPTY_BODY));
  }

  /**
   * jDKIM 0.3 hashes an empty relaxed body as one CRLF (RFC 4871 before its erratum); RFC 6376 section 3.4.4, dkimpy,
   * Mail::DKIM and OpenDKIM hash it as nothing, and so do we. The empty body is checked by the other verifiers.
   */
  static Stream<Arguments> messagesAndRsaKeys() {
    return messages().filter(m -> !m.get()[1].equals(Messages.EMPTY_BODY))
        .flatMap(m -> Stream.of(1024, 2048).map(bits -> Arguments.of(m.get()[0], m.get()[1], bits)));
  }

  private static KeyPair rsa(int bits) {
    return bits == 1024 ? rsa1024 : rsa2048;
  }

  private static DkimKey key(KeyPair pair) {
    return DkimKey.of("example.com", "mg1", pair.getPrivate());
  }

  private static Map<String, String> records(KeyPair pair) {
    return Map.of("mg1._domainkey.example.com", DkimKeys.dnsTxtRecord(pair.getPublic()));
  }

  /** jDKIM's verdict: null when it verifies, else its reason. */
  private static String jdkim(byte[] signed, KeyPair pair) {
    Map<String, String> records = records(pair);
    DKIMVerifier verifier = new DKIMVerifier((method, selector, domain) -> {
      String record = records.get(selector + "._domainkey." + domain);
      if (record == null) throw new PermFailException("no key for " + selector + "._domainkey." + domain);
      return List.of(record);
    });
    try {
      List<SignatureRecord> valid = verifier.verify(new ByteArrayInputStream(signed));
      return valid != null && valid.size() == 1 ? null : "no valid signature: " + valid;
    } catch (FailException e) {
      return e.getMessage();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static String header(byte[] signed) {
    String s = new String(signed, StandardCharsets.ISO_8859_1);
    return s.substring(0, s.indexOf("\r\n", s.indexOf("b=", s.indexOf("bh=") + 3)) + 2);
  }

  // ---- Independent verifiers accept what we sign ----------------------------------------------------------------

  @ParameterizedTest(name = "{0}, RSA-{2}")
  @MethodSource("messagesAndRsaKeys")
  void jdkimVerifiesRsa(String name, String message, int bits) throws Exception {
    byte[] signed = SIGNER.sign(bytes(message), key(rsa(bits)));
    assertNull(jdkim(signed, rsa(bits)), () -> header(signed));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("messages")
  void rsaVerifiesWithIndependentCanonicalization(String name, String message) throws Exception {
    byte[] signed = SIGNER.sign(bytes(message), key(rsa2048));
    assertNull(IndependentVerifier.verify(signed, rsa2048.getPublic()), () -> header(signed));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("messages")
  void ed25519VerifiesWithIndependentCanonicalizationAndJdkEd25519(String name, String message) throws Exception {
    // jDKIM 0.3 knows only RSA: verify Ed25519 with a String-based canonicalizer and SunEC's Ed25519.
    byte[] signed = SIGNER.sign(bytes(message), key(ed25519));
    assertTrue(header(signed).contains("a=ed25519-sha256;"), header(signed));
    assertNull(IndependentVerifier.verify(signed, ed25519.getPublic()), () -> header(signed));
  }

  @Test
  void bareLfMessageVerifiesOnceTransmittedWithCrlf() {
    String lf = Messages.SIMPLE.replace("\r\n", "\n");
    byte[] signed = SIGNER.sign(bytes(lf), key(rsa2048));
    byte[] onTheWire = new String(signed, StandardCharsets.UTF_8).replaceAll("\r?\n", "\r\n")
        .getBytes(StandardCharsets.UTF_8);
    assertNull(jdkim(onTheWire, rsa2048));
  }

  // ---- Tampering breaks the signature ---------------------------------------------------------------------------

  @Test
  void modifiedBodyFails() throws Exception {
    byte[] rsaSigned = SIGNER.sign(bytes(Messages.SIMPLE), key(rsa2048));
    byte[] rsaTampered = replace(rsaSigned, "This is a test.", "This is a lie..");
    assertNull(jdkim(rsaSigned, rsa2048));
    assertNotNull(jdkim(rsaTampered, rsa2048));

    byte[] edSigned = SIGNER.sign(bytes(Messages.SIMPLE), key(ed25519));
    assertNull(IndependentVerifier.verify(edSigned, ed25519.getPublic()));
    assertNotNull(IndependentVerifier.verify(replace(edSigned, "This is a test.", "This is a lie.."),
        ed25519.getPublic()));
  }

  @Test
  void modifiedSubjectFails() throws Exception {
    byte[] signed = SIGNER.sign(bytes(Messages.SIMPLE), key(rsa1024));
    assertNotNull(jdkim(replace(signed, "Subject: Hello", "Subject: Hellp"), rsa1024));

    byte[] edSigned = SIGNER.sign(bytes(Messages.SIMPLE), key(ed25519));
    assertNotNull(IndependentVerifier.verify(replace(edSigned, "Subject: Hello", "Subject: Hellp"),
        ed25519.getPublic()));
  }

  @Test
  void addedFieldsAReaderSeesFailBecauseTheyAreOversigned() {
    byte[] signed = SIGNER.sign(bytes(Messages.SIMPLE), key(rsa2048));
    assertNotNull(jdkim(replace(signed, "Date: ", "Subject: Win a prize\r\nDate: "), rsa2048));
    assertNotNull(jdkim(replace(signed, "Date: ", "From: ceo@example.com\r\nDate: "), rsa2048));
    // absent from the message, present nowhere in it: added, they would redirect replies or add a reader
    assertFalse(new String(signed, StandardCharsets.US_ASCII).contains("Reply-To:"));
    assertNotNull(jdkim(replace(signed, "Date: ", "Reply-To: attacker@evil.example\r\nDate: "), rsa2048));
    assertNotNull(jdkim(replace(signed, "Date: ", "Cc: someone@evil.example\r\nDate: "), rsa2048));
    assertNotNull(jdkim(replace(signed, "Date: ", "Content-Type: text/html\r\nDate: "), rsa2048));
    assertNotNull(jdkim(replace(signed, "Date: ", "Date: Wed, 01 Jan 2031 00:00:00 +0000\r\nDate: "), rsa2048));
    // A header we do not sign may be added in transit (Received, X-*), and relaxed canonicalization tolerates
    // refolding of signed ones.
    assertNull(jdkim(replace(signed, "Date: ", "X-Spam-Score: 0\r\nDate: "), rsa2048));
    assertNull(jdkim(replace(signed, "Subject: Hello", "Subject:   \r\n\t Hello"), rsa2048));
  }

  @Test
  void wrongPublicKeyFails() {
    byte[] signed = SIGNER.sign(bytes(Messages.SIMPLE), key(rsa2048));
    assertNotNull(jdkim(signed, rsa1024));
  }

  // ---- What the header holds ------------------------------------------------------------------------------------

  @Test
  void headerListsPresentFieldsBottomUpAndOversignsThem() {
    String h = SIGNER.signatureHeader(bytes(Messages.DUPLICATES), key(rsa2048));
    var tags = IndependentVerifier.tags(h.substring(h.indexOf(':') + 1));
    assertEquals("from:from:sender:reply-to:reply-to:to:to:to:cc:cc:cc:subject:subject:date:date:message-id:"
        + "message-id:in-reply-to:references:mime-version:mime-version:content-type:content-type:"
        + "content-transfer-encoding:content-transfer-encoding:list-unsubscribe:list-unsubscribe:"
        + "list-unsubscribe-post:list-unsubscribe-post", tags.get("h"));
    assertEquals("1", tags.get("v"));
    assertEquals("rsa-sha256", tags.get("a"));
    assertEquals("relaxed/relaxed", tags.get("c"));
    assertEquals("example.com", tags.get("d"));
    assertEquals("mg1", tags.get("s"));
    assertEquals(String.valueOf(NOW.getEpochSecond()), tags.get("t"));
    assertTrue(!tags.containsKey("l"), "no l= tag");
    assertEquals(256, Base64.getDecoder().decode(tags.get("b")).length);

    String simple = SIGNER.signatureHeader(bytes(Messages.NO_FINAL_CRLF), key(rsa2048));
    // absent, a field is signed as absent: no one relaying the message can add one
    assertEquals("from:from:sender:reply-to:to:to:cc:subject:subject:date:date:message-id:message-id:in-reply-to:"
        + "references:mime-version:content-type:content-transfer-encoding:list-unsubscribe:list-unsubscribe-post",
        IndependentVerifier.tags(simple.substring(simple.indexOf(':') + 1)).get("h"));
  }

  @Test
  void headerIsFoldedAndCrlfTerminated() {
    String h = SIGNER.signatureHeader(bytes(Messages.DUPLICATES), key(rsa2048));
    assertTrue(h.startsWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;"), h);
    assertTrue(h.endsWith("\r\n"));
    for (String line : h.split("\r\n")) {
      assertTrue(line.length() <= 78, () -> "long line: " + line);
    }
    for (String continuation : h.substring(0, h.length() - 2).split("\r\n")) {
      if (!continuation.startsWith("DKIM-Signature:")) assertTrue(continuation.startsWith("\t"), continuation);
    }
  }

  @Test
  void bodyHashFollowsRelaxedRules() throws Exception {
    // Empty body, and a body of only empty lines, hash as the empty string (RFC 6376 section 3.4.4).
    assertEquals("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", bh("From: a@example.com\r\n\r\n"));
    assertEquals("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", bh("From: a@example.com\r\n\r\n\r\n \r\n\t\r\n"));
    assertEquals("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", bh("From: a@example.com\r\n"));
    // Whitespace runs, trailing whitespace, trailing empty lines and a missing final CRLF.
    String expected = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
        .digest("a b c\r\n\r\nd\r\n".getBytes(StandardCharsets.US_ASCII)));
    assertEquals(expected, bh("From: a@example.com\r\n\r\na  b\t\tc \t\r\n\r\nd"));
    assertEquals(expected, bh("From: a@example.com\r\n\r\na b c\r\n\r\nd\r\n\r\n\r\n"));
    assertEquals(expected, bh("From: a@example.com\n\na b c\n\nd\n"));
    // A long body goes through the staging buffer in several flushes.
    String line = "0123456789 abcdefghij\t\tklmnopqrst  uvwxyz \r\n";
    String longBody = line.repeat(2000);
    String expectedLong = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
        .digest(IndependentVerifier.relaxedBody(longBody)));
    assertEquals(expectedLong, bh("From: a@example.com\r\n\r\n" + longBody));
    // Lines longer than the staging buffer, with and without whitespace runs.
    String hugeLines = "x".repeat(40_000) + "  y\r\n" + "a \t".repeat(20_000) + "z\r\n";
    String expectedHuge = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
        .digest(IndependentVerifier.relaxedBody(hugeLines)));
    assertEquals(expectedHuge, bh("From: a@example.com\r\n\r\n" + hugeLines));
  }

  private static String bh(String message) {
    String h = SIGNER.signatureHeader(bytes(message), key(rsa1024));
    return IndependentVerifier.tags(h.substring(h.indexOf(':') + 1)).get("bh");
  }

  @Test
  void rejectsKeysThatCannotSign() throws Exception {
    var gen = java.security.KeyPairGenerator.getInstance("RSA", "SunRsaSign");
    gen.initialize(512);
    assertThrows(IllegalArgumentException.class,
        () -> DkimKey.of("example.com", "s", gen.generateKeyPair().getPrivate()));
    assertThrows(IllegalArgumentException.class, () -> DkimKey.of("example.com", "s1;x=1", rsa2048.getPrivate()));
    assertThrows(IllegalArgumentException.class, () -> DkimKey.of("exa mple.com", "s1", rsa2048.getPrivate()));
    var ec = java.security.KeyPairGenerator.getInstance("EC").generateKeyPair();
    assertThrows(IllegalArgumentException.class, () -> DkimKey.of("example.com", "s1", ec.getPrivate()));
  }

  // ---- Third-party verifiers (required under CI) -------------------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @MethodSource("messages")
  void dkimpyVerifiesRsaAndEd25519(String name, String message) throws Exception {
    ExternalVerifiers.requireDkimpy();
    for (KeyPair pair : List.of(rsa2048, ed25519)) {
      byte[] signed = SIGNER.sign(bytes(message), key(pair));
      assertEquals("pass", ExternalVerifiers.dkimpy(signed, records(pair)), () -> header(signed));
      assertEquals("fail", ExternalVerifiers.dkimpy(replace(signed, "Date:", "Date: x"), records(pair)));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("messages")
  void mailDkimVerifiesRsa(String name, String message) throws Exception {
    ExternalVerifiers.requireMailDkim();
    byte[] signed = SIGNER.sign(bytes(message), key(rsa2048));
    String result = ExternalVerifiers.mailDkim(signed, records(rsa2048));
    assertTrue(result.startsWith("pass"), () -> result + "\n" + header(signed));
    String tampered = ExternalVerifiers.mailDkim(replace(signed, "Date:", "Date: x"), records(rsa2048));
    assertTrue(tampered.startsWith("fail"), tampered);
  }

  private static byte[] replace(byte[] message, String from, String to) {
    String s = new String(message, StandardCharsets.ISO_8859_1);
    assertTrue(s.contains(from), () -> "fixture lacks " + from);
    return s.replaceFirst(java.util.regex.Pattern.quote(from), java.util.regex.Matcher.quoteReplacement(to))
        .getBytes(StandardCharsets.ISO_8859_1);
  }
}
