package io.mailgate.send.smime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.acm.AcmClient;
import software.amazon.awssdk.services.acm.model.AcmException;
import software.amazon.awssdk.services.acm.model.CertificateDetail;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.IdentityCertificate;
import software.amazon.awssdk.services.sesv2.model.IdentityCertificateStatus;
import software.amazon.awssdk.services.sesv2.model.SesV2Exception;

/**
 * S/MIME signing end to end, as a user sets it up with the AWS SDK: certificates imported through the ACM-compatible
 * endpoint (AcmClient), associated with an identity's From addresses (SESv2 AssociateEmailIdentityCertificate), turned
 * on per configuration set (MessageSecurityOptions); then the mail as the relay receives it is signed by the From
 * address's certificate, and mail that should not be is not. Every refusal on the way (keys that are not the
 * certificate's, expired or wrong certificates, addresses outside the identity, another account's certificates) is the
 * API's error and changes nothing.
 */
class SmimeSendingTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static AcmClient acm;
  static SmimeCertificates.Issued ca;
  static SmimeCertificates.Issued alice;
  static String aliceArn;

  @BeforeAll
  static void start() throws Exception {
    relay = new RecordingSmtpServer();
    // associations read at once: the send path's cache of them is each verticle's own
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.CACHE_TTL_MILLIS, 0));
    ses = node.sesV2();
    acm = acm(TestNode.ACCESS_KEY, TestNode.SECRET);
    ses.createEmailIdentity(r -> r.emailIdentity("smime.example"));
    ses.createEmailIdentity(r -> r.emailIdentity("solo@other.example"));
    ca = SmimeCertificates.authority("Test Mail CA");
    alice = SmimeCertificates.mailbox(ca, "alice@smime.example");
    aliceArn = acm.importCertificate(r -> r.certificate(SdkBytes.fromUtf8String(alice.certificatePem()))
        .privateKey(SdkBytes.fromUtf8String(alice.keyTraditional()))
        .certificateChain(SdkBytes.fromUtf8String(ca.certificatePem()))).certificateArn();
    ses.createConfigurationSet(r -> r.configurationSetName("signed").messageSecurityOptions(m -> m
        .signingScheme(s -> s.smimeScheme(x -> x.signatureFormat("DETACHED")))));
    ses.createConfigurationSet(r -> r.configurationSetName("plain"));
  }

  @AfterAll
  static void stop() throws Exception {
    acm.close();
    ses.close();
    node.close();
    relay.close();
  }

  static AcmClient acm(String key, String secret) {
    return AcmClient.builder().endpointOverride(URI.create(node.endpoint() + "/acm")).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(key, secret)))
        .httpClient(UrlConnectionHttpClient.create()).overrideConfiguration(o -> o.retryStrategy(b -> b.maxAttempts(1)))
        .build();
  }

  static String acmError(Runnable call) {
    AcmException e = assertThrows(AcmException.class, call::run);
    return e.awsErrorDetails().errorCode();
  }

  static String sesError(Runnable call) {
    SesV2Exception e = assertThrows(SesV2Exception.class, call::run);
    return e.awsErrorDetails().errorCode();
  }

  /** Sends a Simple message and waits for the relay to have it. */
  static byte[] send(String from, String set, String subject) {
    int before = relay.received().size();
    ses.sendEmail(r -> r.fromEmailAddress(from).destination(d -> d.toAddresses("reader@example.net"))
        .configurationSetName(set).content(c -> c.simple(m -> m.subject(s -> s.data(subject))
            .body(b -> b.text(t -> t.data("Grüße, " + subject)).html(h -> h.data("<p>" + subject + "</p>"))))));
    Await.until(() -> relay.received().size() > before, Duration.ofSeconds(20));
    return relay.received().get(relay.received().size() - 1).data();
  }

  static boolean smimeSigned(byte[] message) {
    String text = new String(message, StandardCharsets.ISO_8859_1);
    return text.substring(0, text.indexOf("\r\n\r\n")).toLowerCase(java.util.Locale.ROOT)
        .contains("content-type: multipart/signed;");
  }

  @Test
  void mailOfASigningSetFromAnAddressWithACertificateIsSignedWithIt() throws Exception {
    ses.associateEmailIdentityCertificate(r -> r.emailIdentity("smime.example").fromAddress("Alice@smime.example")
        .certificateArn(aliceArn));
    try {
      List<IdentityCertificate> listed = ses.listEmailIdentityCertificates(r -> r.emailIdentity("smime.example"))
          .certificates();
      assertEquals(1, listed.size());
      assertEquals("alice@smime.example", listed.get(0).fromAddress());
      assertEquals(IdentityCertificateStatus.ACTIVE, listed.get(0).status());
      assertEquals(aliceArn, listed.get(0).certificateArn());
      assertEquals(alice.certificate().getNotAfter().toInstant().getEpochSecond(),
          listed.get(0).certificateExpiryTime().getEpochSecond());

      byte[] signed = send("alice@smime.example", "signed", "signed one");
      assertTrue(smimeSigned(signed), new String(signed, StandardCharsets.ISO_8859_1));
      SmimeSignerTest.Signed parts = SmimeSignerTest.split(signed);
      assertEquals(alice.certificate(), SmimeSignerTest.verify(parts));
      String part = new String(parts.part(), StandardCharsets.ISO_8859_1);
      assertTrue(part.startsWith("Content-Type: multipart/alternative;"), part);
      assertTrue(parts.outerHeaders().contains("Subject: signed one\r\n"), parts.outerHeaders());
      // and DKIM-signed over it (the domain identity signs): the DKIM signature covers the S/MIME one
      assertTrue(parts.outerHeaders().startsWith("DKIM-Signature:") || parts.outerHeaders().contains(
          "\r\nDKIM-Signature:"), parts.outerHeaders());
      for (byte b : signed) {
        assertTrue(b >= 0, "7 bits only: the signed part reaches its reader as it was signed");
      }

      // not signed: a set that does not sign, no set, an address without a certificate
      assertFalse(smimeSigned(send("alice@smime.example", "plain", "plain set")));
      assertFalse(smimeSigned(send("carol@smime.example", "signed", "no certificate")));

      // a certificate in use is replaced only by one for the same address
      SmimeCertificates.Issued mallory = SmimeCertificates.mailbox(ca, "mallory@smime.example");
      assertEquals("ValidationException", acmError(() -> acm.importCertificate(r -> r.certificateArn(aliceArn)
          .certificate(SdkBytes.fromUtf8String(mallory.certificatePem()))
          .privateKey(SdkBytes.fromUtf8String(mallory.keyPkcs8())))));
      assertEquals(alice.certificatePem().strip(), acm.getCertificate(r -> r.certificateArn(aliceArn)).certificate()
          .strip());

      // a certificate in use is not deleted; disassociated, the address's mail is no longer signed
      assertEquals("ResourceInUseException", acmError(() -> acm.deleteCertificate(r -> r.certificateArn(aliceArn))));
      assertEquals(List.of("arn:aws:ses:us-east-1:" + aliceArn.split(":")[4] + ":identity/smime.example"),
          acm.describeCertificate(r -> r.certificateArn(aliceArn)).certificate().inUseBy());
    } finally {
      ses.disassociateEmailIdentityCertificate(r -> r.emailIdentity("smime.example")
          .fromAddress("alice@smime.example"));
    }
    assertFalse(smimeSigned(send("alice@smime.example", "signed", "disassociated")));
    assertTrue(ses.listEmailIdentityCertificates(r -> r.emailIdentity("smime.example")).certificates().isEmpty());
    // idempotent
    ses.disassociateEmailIdentityCertificate(r -> r.emailIdentity("smime.example").fromAddress("alice@smime.example"));
  }

  /**
   * OpenSSL, an S/MIME implementation of its own, verifies what was signed: the signature over the part, the chain to
   * the CA, and the certificate's purpose (S/MIME signing); and refuses the message once a byte of the part changes.
   * .ci/run installs it and sets CI (missing there, the test fails); elsewhere it is skipped without it.
   */
  @Test
  void openSslVerifiesTheSignatureAndItsChain() throws Exception {
    String ci = System.getenv("CI");
    boolean available = new ProcessBuilder("openssl", "version").start().waitFor() == 0;
    if (!available && ci != null && !ci.isBlank()) {
      org.junit.jupiter.api.Assertions.fail("openssl not installed, and CI=" + ci + " is set: .ci/run installs it");
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(available, "openssl not installed");
    SmimeCertificates.Issued olive = SmimeCertificates.mailbox(ca, "olive@smime.example");
    String arn = acm.importCertificate(r -> r.certificate(SdkBytes.fromUtf8String(olive.certificatePem()))
        .privateKey(SdkBytes.fromUtf8String(olive.keyPkcs8()))
        .certificateChain(SdkBytes.fromUtf8String(ca.certificatePem()))).certificateArn();
    ses.associateEmailIdentityCertificate(r -> r.emailIdentity("smime.example").fromAddress("olive@smime.example")
        .certificateArn(arn));
    try {
      byte[] signed = send("olive@smime.example", "signed", "checked by openssl");
      java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("smime");
      java.nio.file.Path caFile = java.nio.file.Files.writeString(dir.resolve("ca.pem"), ca.certificatePem());
      java.nio.file.Path message = java.nio.file.Files.write(dir.resolve("signed.eml"), signed);
      assertEquals("0 Verification successful", openssl(message, caFile));
      String text = new String(signed, StandardCharsets.ISO_8859_1);
      java.nio.file.Path changed = java.nio.file.Files.write(dir.resolve("changed.eml"),
          text.replace("checked by openssl</p>", "checked by 0penssl</p>").getBytes(StandardCharsets.ISO_8859_1));
      assertTrue(openssl(changed, caFile).startsWith("4"), "a changed part fails verification");
    } finally {
      ses.disassociateEmailIdentityCertificate(r -> r.emailIdentity("smime.example")
          .fromAddress("olive@smime.example"));
      acm.deleteCertificate(r -> r.certificateArn(arn));
    }
  }

  /** {@code openssl smime -verify}'s exit status and its last line of output. */
  private static String openssl(java.nio.file.Path message, java.nio.file.Path caFile) throws Exception {
    Process p = new ProcessBuilder("openssl", "smime", "-verify", "-in", message.toString(), "-CAfile",
        caFile.toString(), "-purpose", "smimesign", "-out", "/dev/null").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    p.waitFor();
    return p.exitValue() + " " + out.substring(out.lastIndexOf('\n') + 1);
  }

  @Test
  void configurationSetsSayWhetherTheySign() {
    assertEquals("DETACHED", ses.getConfigurationSet(r -> r.configurationSetName("signed")).messageSecurityOptions()
        .signingScheme().smimeScheme().signatureFormatAsString());
    assertNull(ses.getConfigurationSet(r -> r.configurationSetName("plain")).messageSecurityOptions());
    ses.createConfigurationSet(r -> r.configurationSetName("toggled"));
    ses.updateConfigurationSet(r -> r.configurationSetName("toggled").messageSecurityOptions(m -> m
        .signingScheme(s -> s.smimeScheme(x -> { }))));
    assertTrue(ses.getConfigurationSet(r -> r.configurationSetName("toggled")).messageSecurityOptions()
        .signingScheme().smimeScheme() != null);
    ses.updateConfigurationSet(r -> r.configurationSetName("toggled").messageSecurityOptions(m -> m
        .signingScheme(s -> s.defaultScheme(x -> { }))));
    assertNull(ses.getConfigurationSet(r -> r.configurationSetName("toggled")).messageSecurityOptions());
    assertEquals("NotFoundException", sesError(() -> ses.updateConfigurationSet(r -> r.configurationSetName("nope")
        .messageSecurityOptions(m -> m.signingScheme(s -> s.smimeScheme(x -> { }))))));
    assertEquals("BadRequestException", sesError(() -> ses.updateConfigurationSet(r -> r.configurationSetName(
        "toggled").messageSecurityOptions(m -> m.signingScheme(s -> s.smimeScheme(x -> x.signatureFormat(
            "ATTACHED")))))));
  }

  @Test
  void importsThatAreNotAMailboxsCertificateAndKeyAreRefused() throws Exception {
    SmimeCertificates.Issued other = SmimeCertificates.mailbox(ca, "dave@smime.example");
    // a key that is not the certificate's; not PEM; no key; an expired certificate
    assertEquals("ValidationException", acmError(() -> acm.importCertificate(r -> r
        .certificate(SdkBytes.fromUtf8String(alice.certificatePem()))
        .privateKey(SdkBytes.fromUtf8String(other.keyPkcs8())))));
    assertEquals("ValidationException", acmError(() -> acm.importCertificate(r -> r
        .certificate(SdkBytes.fromUtf8String("not a certificate"))
        .privateKey(SdkBytes.fromUtf8String(other.keyPkcs8())))));
    assertEquals("ValidationException", acmError(() -> acm.importCertificate(r -> r
        .certificate(SdkBytes.fromUtf8String(other.certificatePem())).privateKey(SdkBytes.fromUtf8String("")))));
    SmimeCertificates.Issued expired = SmimeCertificates.mailbox(ca, SmimeCertificates.rsa(2048),
        "old@smime.example", Instant.now().minus(Duration.ofDays(1)), KeyPurposeId.id_kp_emailProtection);
    assertEquals("ValidationException", acmError(() -> acm.importCertificate(r -> r
        .certificate(SdkBytes.fromUtf8String(expired.certificatePem()))
        .privateKey(SdkBytes.fromUtf8String(expired.keyPkcs8())))));
    assertEquals("ValidationException", acmError(() -> acm.importCertificate(r -> r
        .certificate(SdkBytes.fromUtf8String(other.certificatePem() + alice.certificatePem()))
        .privateKey(SdkBytes.fromUtf8String(other.keyPkcs8())))));
    int before = acm.listCertificates(r -> { }).certificateSummaryList().size();

    // an EC certificate, PKCS#8, no chain: imported, described, listed, got, deleted
    SmimeCertificates.Issued ec = SmimeCertificates.mailbox(ca, SmimeCertificates.ec(), "erin@smime.example",
        Instant.now().plus(Duration.ofDays(90)), KeyPurposeId.id_kp_emailProtection);
    String arn = acm.importCertificate(r -> r.certificate(SdkBytes.fromUtf8String(ec.certificatePem()))
        .privateKey(SdkBytes.fromUtf8String(ec.keyPkcs8()))).certificateArn();
    assertTrue(arn.startsWith("arn:aws:acm:us-east-1:"), arn);
    CertificateDetail detail = acm.describeCertificate(r -> r.certificateArn(arn)).certificate();
    assertEquals("EC_prime256v1", detail.keyAlgorithmAsString());
    assertEquals("IMPORTED", detail.typeAsString());
    assertEquals("ISSUED", detail.statusAsString());
    assertEquals(List.of("erin@smime.example"), detail.subjectAlternativeNames());
    assertEquals(ec.certificate().getNotAfter().toInstant().getEpochSecond(), detail.notAfter().getEpochSecond());
    assertTrue(detail.inUseBy().isEmpty());
    assertEquals(ec.certificatePem().strip(), acm.getCertificate(r -> r.certificateArn(arn)).certificate().strip());
    assertEquals(before + 1, acm.listCertificates(r -> { }).certificateSummaryList().size());
    assertTrue(acm.listCertificates(r -> r.maxItems(1)).nextToken() != null);
    // re-imported under its ARN: replaced
    SmimeCertificates.Issued renewed = SmimeCertificates.mailbox(ca, SmimeCertificates.ec(), "erin@smime.example",
        Instant.now().plus(Duration.ofDays(400)), KeyPurposeId.id_kp_emailProtection);
    assertEquals(arn, acm.importCertificate(r -> r.certificateArn(arn)
        .certificate(SdkBytes.fromUtf8String(renewed.certificatePem()))
        .privateKey(SdkBytes.fromUtf8String(renewed.keyPkcs8()))).certificateArn());
    assertEquals(renewed.certificate().getNotAfter().toInstant().getEpochSecond(),
        acm.describeCertificate(r -> r.certificateArn(arn)).certificate().notAfter().getEpochSecond());
    acm.deleteCertificate(r -> r.certificateArn(arn));
    assertEquals("ResourceNotFoundException", acmError(() -> acm.describeCertificate(r -> r.certificateArn(arn))));
    assertEquals("ResourceNotFoundException", acmError(() -> acm.deleteCertificate(r -> r.certificateArn(arn))));
    assertEquals("InvalidArnException", acmError(() -> acm.describeCertificate(r -> r.certificateArn("not-an-arn"))));

    // another account's certificate is not found, through ACM or SES
    Accounts.NewKey stranger = node.createAccount("smime-stranger", true, 10, 100);
    try (AcmClient theirs = acm(stranger.accessKeyId(), stranger.secretAccessKey())) {
      assertEquals("ResourceNotFoundException", acmError(() -> theirs.describeCertificate(r -> r
          .certificateArn(aliceArn))));
      assertEquals("ResourceNotFoundException", acmError(() -> theirs.deleteCertificate(r -> r
          .certificateArn(aliceArn))));
      assertTrue(theirs.listCertificates(r -> { }).certificateSummaryList().isEmpty());
    }
    try (AcmClient forged = acm(TestNode.ACCESS_KEY, "not-the-secret")) {
      assertEquals("SignatureDoesNotMatch", acmError(() -> forged.listCertificates(r -> { })));
    }
  }

  @Test
  void associationsNeedTheIdentitysAddressAndACertificateForIt() throws Exception {
    // a domain identity needs the address; it must be the domain's (or a subdomain's)
    assertEquals("BadRequestException", sesError(() -> ses.associateEmailIdentityCertificate(r -> r
        .emailIdentity("smime.example").certificateArn(aliceArn))));
    assertEquals("BadRequestException", sesError(() -> ses.associateEmailIdentityCertificate(r -> r
        .emailIdentity("smime.example").fromAddress("alice@elsewhere.example").certificateArn(aliceArn))));
    // an address identity's own address only
    assertEquals("BadRequestException", sesError(() -> ses.associateEmailIdentityCertificate(r -> r
        .emailIdentity("solo@other.example").fromAddress("alice@smime.example").certificateArn(aliceArn))));
    // a certificate for another address
    assertEquals("BadRequestException", sesError(() -> ses.associateEmailIdentityCertificate(r -> r
        .emailIdentity("smime.example").fromAddress("bob@smime.example").certificateArn(aliceArn))));
    // an identity, a certificate that is not there; an ARN that is not a certificate's
    assertEquals("NotFoundException", sesError(() -> ses.associateEmailIdentityCertificate(r -> r
        .emailIdentity("nothere.example").fromAddress("alice@nothere.example").certificateArn(aliceArn))));
    String missing = aliceArn.substring(0, aliceArn.lastIndexOf('/') + 1) + "00000000-0000-0000-0000-000000000000";
    assertEquals("NotFoundException", sesError(() -> ses.associateEmailIdentityCertificate(r -> r
        .emailIdentity("smime.example").fromAddress("alice@smime.example").certificateArn(missing))));
    assertEquals("BadRequestException", sesError(() -> ses.associateEmailIdentityCertificate(r -> r
        .emailIdentity("smime.example").fromAddress("alice@smime.example").certificateArn("arn:aws:ses:x"))));
    assertTrue(ses.listEmailIdentityCertificates(r -> r.emailIdentity("smime.example")).certificates().isEmpty());

    // one certificate per address; a subdomain's address is the domain identity's
    SmimeCertificates.Issued sub = SmimeCertificates.mailbox(ca, "news@mail.smime.example");
    String subArn = acm.importCertificate(r -> r.certificate(SdkBytes.fromUtf8String(sub.certificatePem()))
        .privateKey(SdkBytes.fromUtf8String(sub.keyPkcs8()))).certificateArn();
    ses.associateEmailIdentityCertificate(r -> r.emailIdentity("smime.example").fromAddress("news@mail.smime.example")
        .certificateArn(subArn));
    assertEquals("AlreadyExistsException", sesError(() -> ses.associateEmailIdentityCertificate(r -> r
        .emailIdentity("smime.example").fromAddress("news@mail.smime.example").certificateArn(subArn))));
    // listed a page at a time, in address order
    ses.associateEmailIdentityCertificate(r -> r.emailIdentity("smime.example").fromAddress("alice@smime.example")
        .certificateArn(aliceArn));
    var first = ses.listEmailIdentityCertificates(r -> r.emailIdentity("smime.example").pageSize(1));
    assertEquals(List.of("alice@smime.example"), first.certificates().stream().map(c -> c.fromAddress()).toList());
    var second = ses.listEmailIdentityCertificates(r -> r.emailIdentity("smime.example").pageSize(1)
        .nextToken(first.nextToken()));
    assertEquals(List.of("news@mail.smime.example"), second.certificates().stream().map(c -> c.fromAddress())
        .toList());
    assertNull(second.nextToken());
    assertEquals("BadRequestException", sesError(() -> ses.listEmailIdentityCertificates(r -> r
        .emailIdentity("solo@other.example").nextToken(first.nextToken()))));
    ses.disassociateEmailIdentityCertificate(r -> r.emailIdentity("smime.example").fromAddress("alice@smime.example"));
    // the identity deleted takes its associations with it: the certificate can go then
    ses.createEmailIdentity(r -> r.emailIdentity("mail.smime.example"));
    ses.deleteEmailIdentity(r -> r.emailIdentity("smime.example"));
    acm.deleteCertificate(r -> r.certificateArn(subArn));
    ses.createEmailIdentity(r -> r.emailIdentity("smime.example"));
  }
}
