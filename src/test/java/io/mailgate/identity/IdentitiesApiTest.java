package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.Verification;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.math.BigInteger;
import java.net.http.HttpResponse;
import java.security.KeyFactory;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AlreadyExistsException;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.CreateEmailIdentityResponse;
import software.amazon.awssdk.services.sesv2.model.DkimSigningKeyLength;
import software.amazon.awssdk.services.sesv2.model.DkimStatus;
import software.amazon.awssdk.services.sesv2.model.GetEmailIdentityResponse;
import software.amazon.awssdk.services.sesv2.model.IdentityType;
import software.amazon.awssdk.services.sesv2.model.ListEmailIdentitiesResponse;
import software.amazon.awssdk.services.sesv2.model.MessageRejectedException;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/** Identities through the AWS SDK on a production-mode node: verification, DKIM keys, paging, isolation. */
class IdentitiesApiTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static Accounts.NewKey a;
  static Accounts.NewKey b;
  static SesV2Client sesA;
  static SesV2Client sesB;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    // no limit on verification emails per account (VerificationEmailLimitTest has them): asked for in a row here
    node = TestNode.startProduction(relay.url(), c -> c.with(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS, 3600)
        .with(MailgateConfig.IDENTITY_VERIFICATION_EMAILS_PER_SECOND, 0.0));
    a = node.createAccount("team-a", true, 100, 10_000);
    b = node.createAccount("team-b", true, 100, 10_000);
    sesA = node.sesV2(a.accessKeyId(), a.secretAccessKey());
    sesB = node.sesV2(b.accessKeyId(), b.secretAccessKey());
  }

  @AfterAll
  static void stop() throws IOException {
    sesA.close();
    sesB.close();
    node.close();
    relay.close();
  }

  static String send(SesV2Client ses, String from, String to) {
    return ses.sendEmail(r -> r.fromEmailAddress(from).destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("hello")).body(x -> x.text(t -> t.data("body")))))).messageId();
  }

  @Test
  void emailIdentityIsVerifiedByTheLinkInItsEmail() {
    CreateEmailIdentityResponse created = sesA.createEmailIdentity(r -> r.emailIdentity("Owner@Example.org"));
    assertEquals(IdentityType.EMAIL_ADDRESS, created.identityType());
    assertFalse(created.verifiedForSendingStatus());
    MessageRejectedException early = assertThrows(MessageRejectedException.class,
        () -> send(sesA, "owner@example.org", "someone@example.net"));
    assertEquals("Email address is not verified. The following identities failed the check in region US-EAST-1: "
        + "owner@example.org", early.awsErrorDetails().errorMessage());

    String link = Verification.linkFor(relay, "owner@example.org");
    String forged = link.substring(0, link.length() - 3) + (link.endsWith("AAA") ? "BBB" : "AAA");
    assertEquals(400, Verification.follow(forged).statusCode());
    HttpResponse<String> followed = Verification.follow(link);
    assertEquals(200, followed.statusCode());
    assertTrue(followed.body().contains("successfully verified owner@example.org"), followed.body());

    GetEmailIdentityResponse got = sesA.getEmailIdentity(r -> r.emailIdentity("owner@example.org"));
    assertTrue(got.verifiedForSendingStatus());
    assertEquals("SUCCESS", got.verificationStatusAsString());
    assertNotNull(send(sesA, "Owner@Example.org", "someone@example.net"));
  }

  @Test
  void domainIdentityGetsAnEasyDkimKeyToPublish() throws Exception {
    CreateEmailIdentityResponse created = sesA.createEmailIdentity(r -> r.emailIdentity("Example.NET"));
    assertEquals(IdentityType.DOMAIN, created.identityType());
    assertFalse(created.verifiedForSendingStatus());
    assertEquals(DkimStatus.PENDING, created.dkimAttributes().status());
    assertEquals(1, created.dkimAttributes().tokens().size());
    assertEquals(DkimSigningKeyLength.RSA_2048_BIT, created.dkimAttributes().nextSigningKeyLength());
    assertTrue(created.dkimAttributes().signingEnabled());

    JsonObject raw = new JsonObject(node.signed("GET", "/v2/email/identities/example.net", null, Map.of(),
        a.accessKeyId(), a.secretAccessKey()).body());
    JsonObject record = raw.getJsonArray("DnsRecords").getJsonObject(0);
    assertEquals(created.dkimAttributes().tokens().get(0) + "._domainkey.example.net", record.getString("Name"));
    assertEquals("TXT", record.getString("Type"));
    String value = record.getString("Value");
    assertTrue(value.startsWith("v=DKIM1; k=rsa; p="), value);
    assertEquals(2048, modulusBits(value));

    CreateEmailIdentityResponse small = sesA.createEmailIdentity(r -> r.emailIdentity("small.example.net")
        .dkimSigningAttributes(d -> d.nextSigningKeyLength(DkimSigningKeyLength.RSA_1024_BIT)));
    JsonObject smallRaw = new JsonObject(node.signed("GET", "/v2/email/identities/small.example.net", null, Map.of(),
        a.accessKeyId(), a.secretAccessKey()).body());
    assertEquals(1024, modulusBits(smallRaw.getJsonArray("DnsRecords").getJsonObject(0).getString("Value")));
    assertEquals(DkimSigningKeyLength.RSA_1024_BIT, small.dkimAttributes().currentSigningKeyLength());

    MessageRejectedException unverified = assertThrows(MessageRejectedException.class,
        () -> send(sesA, "news@example.net", "someone@example.org"));
    assertTrue(unverified.getMessage().contains("news@example.net"));

    // the AWS SDK for Go (Terraform) turns signing off by leaving SigningEnabled out
    assertEquals(200, node.signed("PUT", "/v2/email/identities/example.net/dkim", "{}",
        Map.of("Content-Type", "application/json"), a.accessKeyId(), a.secretAccessKey()).statusCode());
    assertFalse(sesA.getEmailIdentity(r -> r.emailIdentity("example.net")).dkimAttributes().signingEnabled());
    sesA.putEmailIdentityDkimAttributes(r -> r.emailIdentity("example.net").signingEnabled(true));
    assertTrue(sesA.getEmailIdentity(r -> r.emailIdentity("example.net")).dkimAttributes().signingEnabled());
  }

  /**
   * As in SES: an address whose link went unfollowed while it worked reads FAILED; asking again sends a new link and
   * makes it PENDING; with no email sent (the per-address cooldown), the time runs from the first request.
   */
  @Test
  void anAddressWhoseLinkWentUnfollowedFailsUntilItIsSentANewOne() {
    String pg = node.config().get(MailgateConfig.PG_URL);
    Accounts.NewKey c = node.createAccount("team-late", true, 100, 10_000);
    try (SesV2Client sesC = node.sesV2(c.accessKeyId(), c.secretAccessKey());
         software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1(c.accessKeyId(), c.secretAccessKey())) {
      sesC.createEmailIdentity(r -> r.emailIdentity("late@example.org"));
      Verification.linkFor(relay, "late@example.org");
      assertEquals("PENDING", sesC.getEmailIdentity(r -> r.emailIdentity("late@example.org"))
          .verificationStatusAsString());
      String window = "SELECT count(*) FROM identities WHERE identity = 'late@example.org' AND account_id = '%s' "
          + "AND verification_expires_at BETWEEN now() + interval '23 hours' AND now() + interval '25 hours'";
      assertEquals(1, Db.count(pg, window.formatted(c.accountId())));
      // another account asks within this one's cooldown: the cooldown is each account's, so its own email goes (one
      // account asking again and again cannot keep another's from the address)
      sesB.createEmailIdentity(r -> r.emailIdentity("late@example.org"));
      assertEquals(1, Db.count(pg, window.formatted(b.accountId())));
      io.mailgate.testing.Await.until(() -> relay.received().stream()
          .filter(m -> m.rcptTo().contains("late@example.org")).count(), n -> n == 2, java.time.Duration.ofSeconds(20));

      Db.execute(pg, "UPDATE identities SET verification_expires_at = now() - interval '1 second' "
          + "WHERE identity = 'late@example.org' AND account_id = '" + c.accountId() + "'");
      GetEmailIdentityResponse failed = sesC.getEmailIdentity(r -> r.emailIdentity("late@example.org"));
      assertEquals("FAILED", failed.verificationStatusAsString());
      assertFalse(failed.verifiedForSendingStatus());
      assertEquals("Failed", v1.getIdentityVerificationAttributes(r -> r.identities("late@example.org"))
          .verificationAttributes().get("late@example.org").verificationStatusAsString());
      // asked again within the cooldown: still no working link, still FAILED
      v1.verifyEmailIdentity(r -> r.emailAddress("late@example.org"));
      assertEquals("FAILED", sesC.getEmailIdentity(r -> r.emailIdentity("late@example.org"))
          .verificationStatusAsString());

      Db.execute(pg, "DELETE FROM verification_emails WHERE address = 'late@example.org' AND account_id = '"
          + c.accountId() + "'");
      v1.verifyEmailIdentity(r -> r.emailAddress("late@example.org"));
      assertEquals("PENDING", sesC.getEmailIdentity(r -> r.emailIdentity("late@example.org"))
          .verificationStatusAsString());
      List<RecordingSmtpServer.Received> mails = io.mailgate.testing.Await.until(() -> relay.received().stream()
          .filter(m -> m.rcptTo().contains("late@example.org")).toList(), m -> m.size() == 3,
          java.time.Duration.ofSeconds(20));
      java.util.regex.Matcher link = java.util.regex.Pattern.compile(
          "(http://\\S+/_mailgate/verify-email\\?token=[A-Za-z0-9_\\-.]+)").matcher(
          mails.get(2).text().replace("=\r\n", ""));
      assertTrue(link.find(), mails.get(2).text());
      assertEquals(200, Verification.follow(link.group(1)).statusCode());
      assertEquals("SUCCESS", sesC.getEmailIdentity(r -> r.emailIdentity("late@example.org"))
          .verificationStatusAsString());
    }
  }

  /**
   * ListEmailIdentities' SendingEnabled and GetEmailIdentity's VerifiedForSendingStatus say whether mail can go from the
   * identity: verified itself, or its domain or a parent domain verified (as sending has it), not always true.
   */
  @Test
  void sendingEnabledSaysWhetherTheIdentityCanSend() {
    String pg = node.config().get(MailgateConfig.PG_URL);
    Accounts.NewKey c = node.createAccount("team-sendable", true, 100, 10_000);
    try (SesV2Client ses = node.sesV2(c.accessKeyId(), c.secretAccessKey())) {
      for (String name : List.of("sendable.example", "x@sendable.example", "z@mail.sendable.example", "y@other.example")) {
        ses.createEmailIdentity(r -> r.emailIdentity(name));
      }
      Map<String, Boolean> before = new java.util.TreeMap<>();
      ses.listEmailIdentities(r -> r.pageSize(10)).emailIdentities().forEach(i -> before.put(i.identityName(),
          i.sendingEnabled()));
      assertEquals(Map.of("sendable.example", false, "x@sendable.example", false, "z@mail.sendable.example", false,
          "y@other.example", false), before);

      Db.execute(pg, "UPDATE identities SET verification_status = 'SUCCESS' WHERE identity = 'sendable.example' "
          + "AND account_id = '" + c.accountId() + "'");
      Map<String, Boolean> after = new java.util.TreeMap<>();
      ses.listEmailIdentities(r -> r.pageSize(10)).emailIdentities().forEach(i -> after.put(i.identityName(),
          i.sendingEnabled()));
      assertEquals(Map.of("sendable.example", true, "x@sendable.example", true, "z@mail.sendable.example", true,
          "y@other.example", false), after);
      assertTrue(ses.getEmailIdentity(r -> r.emailIdentity("z@mail.sendable.example")).verifiedForSendingStatus());
      assertFalse(ses.getEmailIdentity(r -> r.emailIdentity("y@other.example")).verifiedForSendingStatus());
      // CreateEmailIdentity answers the same
      assertTrue(ses.createEmailIdentity(r -> r.emailIdentity("w@mail.sendable.example")).verifiedForSendingStatus());
      assertFalse(ses.createEmailIdentity(r -> r.emailIdentity("v@other.example")).verifiedForSendingStatus());

      // a verified domain whose records went missing (IdentityDnsVerticle): TEMPORARY_FAILURE, and still sendable
      Db.execute(pg, "UPDATE identities SET verification_expires_at = now() + interval '1 hour' "
          + "WHERE identity = 'sendable.example' AND account_id = '" + c.accountId() + "'");
      var lapsed = ses.getEmailIdentity(r -> r.emailIdentity("sendable.example"));
      assertEquals(software.amazon.awssdk.services.sesv2.model.VerificationStatus.TEMPORARY_FAILURE,
          lapsed.verificationStatus());
      assertTrue(lapsed.verifiedForSendingStatus());
      assertTrue(ses.getEmailIdentity(r -> r.emailIdentity("x@sendable.example")).verifiedForSendingStatus());
      assertTrue(ses.createEmailIdentity(r -> r.emailIdentity("u@sendable.example")).verifiedForSendingStatus());
      try (var v1 = node.sesV1(c.accessKeyId(), c.secretAccessKey())) {
        assertEquals(software.amazon.awssdk.services.ses.model.VerificationStatus.TEMPORARY_FAILURE,
            v1.getIdentityVerificationAttributes(r -> r.identities("sendable.example")).verificationAttributes()
                .get("sendable.example").verificationStatus());
      }
    }
  }

  /**
   * PutEmailIdentityDkimSigningAttributes is at /v1/email/identities/{EmailIdentity}/dkim/signing in SES's API reference
   * and model (most SDKs send that; some newer ones /v2): both paths work, signed and with the same answers.
   */
  @Test
  void dkimSigningAttributesAreTakenAtTheV1PathTheModelGives() {
    sesA.createEmailIdentity(r -> r.emailIdentity("v1path.example.org"));
    String body = "{\"SigningAttributesOrigin\":\"AWS_SES\",\"SigningAttributes\":{\"NextSigningKeyLength\":"
        + "\"RSA_1024_BIT\"}}";
    HttpResponse<String> put = node.signed("PUT", "/v1/email/identities/v1path.example.org/dkim/signing", body,
        Map.of("Content-Type", "application/json"), a.accessKeyId(), a.secretAccessKey());
    assertEquals(200, put.statusCode(), put.body());
    JsonObject answer = new JsonObject(put.body());
    assertEquals("PENDING", answer.getString("DkimStatus"));
    GetEmailIdentityResponse got = sesA.getEmailIdentity(r -> r.emailIdentity("v1path.example.org"));
    assertEquals(got.dkimAttributes().tokens(), answer.getJsonArray("DkimTokens").getList());
    assertEquals("RSA_1024_BIT", got.dkimAttributes().currentSigningKeyLengthAsString());
    HttpResponse<String> unknown = node.signed("PUT", "/v1/email/identities/nothing.example.org/dkim/signing", body,
        Map.of("Content-Type", "application/json"), a.accessKeyId(), a.secretAccessKey());
    assertEquals(404, unknown.statusCode(), unknown.body());
    assertEquals("NotFoundException", unknown.headers().firstValue("x-amzn-ErrorType").orElse(""));
    // an origin SES does not have is refused; a region's Easy DKIM is Easy DKIM
    HttpResponse<String> made = node.signed("PUT", "/v2/email/identities/v1path.example.org/dkim/signing",
        body.replace("\"AWS_SES\"", "\"AWS_SES_FOO\""), Map.of("Content-Type", "application/json"), a.accessKeyId(),
        a.secretAccessKey());
    assertEquals(400, made.statusCode(), made.body());
    assertTrue(made.body().contains("SigningAttributesOrigin"), made.body());
    assertEquals(200, node.signed("PUT", "/v2/email/identities/v1path.example.org/dkim/signing",
        body.replace("\"AWS_SES\"", "\"AWS_SES_EU_WEST_1\""), Map.of("Content-Type", "application/json"),
        a.accessKeyId(), a.secretAccessKey()).statusCode());
    HttpResponse<String> unsigned = node.signed("PUT", "/v1/email/identities/v1path.example.org/dkim/signing", body,
        Map.of("Content-Type", "application/json"), a.accessKeyId(), "wrong" + a.secretAccessKey());
    assertEquals(403, unsigned.statusCode(), unsigned.body());
  }

  /**
   * One verification email per address per 5 minutes from an account, however often its identity is created and
   * deleted; another account's goes (the cooldown is each account's: one account asking again and again cannot keep
   * another's email from the address), once.
   */
  @Test
  void creatingAndDeletingAnAddressAgainDoesNotMailItAgain() {
    for (int i = 0; i < 3; i++) {
      sesA.createEmailIdentity(r -> r.emailIdentity("victim@example.com"));
      sesA.deleteEmailIdentity(r -> r.emailIdentity("victim@example.com"));
    }
    sesB.createEmailIdentity(r -> r.emailIdentity("victim@example.com")); // another account's own
    software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1(b.accessKeyId(), b.secretAccessKey());
    v1.verifyEmailIdentity(r -> r.emailAddress("victim@example.com")); // but not when it asks again
    v1.close();
    String after = sesA.createEmailIdentity(r -> r.emailIdentity("later@example.com")).identityType().toString();
    assertNotNull(after);
    io.mailgate.testing.Await.until(() -> relay.received().stream().anyMatch(m -> m.rcptTo().contains(
        "later@example.com")), java.time.Duration.ofSeconds(10));
    io.mailgate.testing.Await.until(() -> relay.received().stream().filter(m -> m.rcptTo().contains(
        "victim@example.com")).count(), n -> n >= 2, java.time.Duration.ofSeconds(10));
    assertEquals(2, relay.received().stream().filter(m -> m.rcptTo().contains("victim@example.com")).count());
  }

  @Test
  void dkimSigningAttributesAreCheckedAsSesChecksThem() throws Exception {
    java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("RSA");
    generator.initialize(1536);
    String odd = Base64.getEncoder().encodeToString(generator.generateKeyPair().getPrivate().getEncoded());
    generator.initialize(1024);
    String good = Base64.getEncoder().encodeToString(generator.generateKeyPair().getPrivate().getEncoded());
    for (String selector : List.of("-sel", "sel-", "\u0130", "se_l", "s.l")) {
      BadRequestException e = assertThrows(BadRequestException.class, () -> sesA.createEmailIdentity(r -> r
          .emailIdentity("byo.example.org").dkimSigningAttributes(d -> d.domainSigningSelector(selector)
              .domainSigningPrivateKey(good))), selector);
      assertTrue(e.getMessage().contains("DomainSigningSelector"), e.getMessage());
    }
    BadRequestException size = assertThrows(BadRequestException.class, () -> sesA.createEmailIdentity(r -> r
        .emailIdentity("byo.example.org").dkimSigningAttributes(d -> d.domainSigningSelector("s1")
            .domainSigningPrivateKey(odd))));
    assertTrue(size.getMessage().contains("1024 or 2048"), size.getMessage());
    // PKCS#8 without CRT parameters (zeros for them): its public half cannot be derived, a BadRequest as well
    java.security.interfaces.RSAPrivateCrtKey full = (java.security.interfaces.RSAPrivateCrtKey)
        java.security.KeyFactory.getInstance("RSA").generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(
            Base64.getDecoder().decode(good)));
    String noCrt = Base64.getEncoder().encodeToString(java.security.KeyFactory.getInstance("RSA").generatePrivate(
        new java.security.spec.RSAPrivateKeySpec(full.getModulus(), full.getPrivateExponent())).getEncoded());
    BadRequestException crt = assertThrows(BadRequestException.class, () -> sesA.createEmailIdentity(r -> r
        .emailIdentity("byo.example.org").dkimSigningAttributes(d -> d.domainSigningSelector("s1")
            .domainSigningPrivateKey(noCrt))));
    assertTrue(crt.getMessage().contains("CRT"), crt.getMessage());
    assertThrows(BadRequestException.class, () -> sesA.createEmailIdentity(r -> r.emailIdentity("byo.example.org")
        .dkimSigningAttributes(d -> d.domainSigningPrivateKey(good))), "a key without its selector");
    assertThrows(BadRequestException.class, () -> sesA.createEmailIdentity(r -> r.emailIdentity("a@byo.example.org")
        .dkimSigningAttributes(d -> d.nextSigningKeyLength(DkimSigningKeyLength.RSA_1024_BIT))), "an address");
    assertThrows(NotFoundException.class, () -> sesA.getEmailIdentity(r -> r.emailIdentity("byo.example.org")));
    assertEquals("s-1", sesA.createEmailIdentity(r -> r.emailIdentity("byo.example.org")
        .dkimSigningAttributes(d -> d.domainSigningSelector("S-1").domainSigningPrivateKey(good)))
        .dkimAttributes().tokens().get(0));
  }

  @Test
  void anAccountHasAtMostTenThousandIdentities() {
    Accounts.NewKey full = node.createAccount("full", true, 100, 10_000);
    Db.execute(node.config().get(MailgateConfig.PG_URL), "INSERT INTO identities (account_id, identity, type, "
        + "verification_status, dkim_status) SELECT '" + full.accountId() + "', 'a' || n || '@full.example', "
        + "'EMAIL_ADDRESS', 'SUCCESS', 'NOT_STARTED' FROM generate_series(1, 9999) n");
    try (SesV2Client ses = node.sesV2(full.accessKeyId(), full.secretAccessKey())) {
      ses.createEmailIdentity(r -> r.emailIdentity("last.example"));
      var limit = assertThrows(software.amazon.awssdk.services.sesv2.model.LimitExceededException.class,
          () -> ses.createEmailIdentity(r -> r.emailIdentity("one-more.example")));
      assertTrue(limit.getMessage().contains("10000"), limit.getMessage());
      assertThrows(AlreadyExistsException.class, () -> ses.createEmailIdentity(r -> r.emailIdentity("last.example")),
          "a name it has is AlreadyExists, limit or not");
      ses.deleteEmailIdentity(r -> r.emailIdentity("a1@full.example"));
      ses.createEmailIdentity(r -> r.emailIdentity("one-more.example"));
    }
  }

  private static int modulusBits(String record) throws Exception {
    String p = record.substring(record.indexOf("p=") + 2);
    RSAPublicKey key = (RSAPublicKey) KeyFactory.getInstance("RSA")
        .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(p)));
    BigInteger n = key.getModulus();
    return n.bitLength();
  }

  @Test
  void listingPagesThroughEveryIdentityOnce() {
    Accounts.NewKey c = node.createAccount("team-c", true, 100, 1000);
    try (SesV2Client ses = node.sesV2(c.accessKeyId(), c.secretAccessKey())) {
      for (int i = 1; i <= 5; i++) {
        String name = "d" + i + ".example.com";
        ses.createEmailIdentity(r -> r.emailIdentity(name));
      }
      List<String> seen = new ArrayList<>();
      String token = null;
      int pages = 0;
      do {
        String t = token;
        ListEmailIdentitiesResponse page = ses.listEmailIdentities(r -> r.pageSize(2).nextToken(t));
        page.emailIdentities().forEach(i -> seen.add(i.identityName()));
        token = page.nextToken();
        pages++;
      } while (token != null);
      assertEquals(3, pages);
      assertEquals(List.of("d1.example.com", "d2.example.com", "d3.example.com", "d4.example.com", "d5.example.com"), seen);
      // a token is this operation's: a made-up one, or another list's, is refused, not read as a place to start from
      String first = ses.listEmailIdentities(r -> r.pageSize(2)).nextToken();
      assertThrows(BadRequestException.class, () -> ses.listEmailIdentities(r -> r.pageSize(2).nextToken("ZDMuZXhh")));
      ses.createEmailTemplate(r -> r.templateName("t1").templateContent(x -> x.subject("s").text("t")));
      ses.createEmailTemplate(r -> r.templateName("t2").templateContent(x -> x.subject("s").text("t")));
      String templates = ses.listEmailTemplates(r -> r.pageSize(1)).nextToken();
      assertThrows(BadRequestException.class, () -> ses.listEmailTemplates(r -> r.pageSize(1).nextToken(first)));
      assertThrows(BadRequestException.class, () -> ses.listEmailIdentities(r -> r.pageSize(2).nextToken(templates)));
      assertEquals(List.of("t2"), ses.listEmailTemplates(r -> r.pageSize(1).nextToken(templates)).templatesMetadata()
          .stream().map(m -> m.templateName()).toList());
      assertThrows(BadRequestException.class, () -> ses.listEmailIdentities(r -> r.pageSize(0)));
      // the SDK's Filter: only names that contain it, whatever the case (names are kept lower-cased); a key it does
      // not take is a 400, never every identity
      assertEquals(List.of("d2.example.com"), ses.listEmailIdentities(r -> r.filter(java.util.Map.of(
              software.amazon.awssdk.services.sesv2.model.IdentityFilterKey.IDENTITY_NAME_CONTAINS, "D2.Example")))
          .emailIdentities().stream().map(i -> i.identityName()).toList());
      assertEquals(List.of(), ses.listEmailIdentities(r -> r.filter(java.util.Map.of(
              software.amazon.awssdk.services.sesv2.model.IdentityFilterKey.IDENTITY_NAME_CONTAINS, "nowhere")))
          .emailIdentities());
      assertThrows(BadRequestException.class, () -> ses.listEmailIdentities(r -> r
          .filterWithStrings(java.util.Map.of("IDENTITY_TYPE", "DOMAIN"))));
    }
  }

  @Test
  void errorsNameTheIdentity() {
    NotFoundException missing = assertThrows(NotFoundException.class,
        () -> sesA.getEmailIdentity(r -> r.emailIdentity("nobody.example")));
    assertTrue(missing.getMessage().contains("nobody.example"));
    sesA.createEmailIdentity(r -> r.emailIdentity("twice.example"));
    assertThrows(AlreadyExistsException.class, () -> sesA.createEmailIdentity(r -> r.emailIdentity("TWICE.example")));
    assertThrows(BadRequestException.class, () -> sesA.createEmailIdentity(r -> r.emailIdentity("not a domain")));
    assertThrows(BadRequestException.class, () -> sesA.createEmailIdentity(r -> r.emailIdentity("evil.example\r\nx")));
    sesA.deleteEmailIdentity(r -> r.emailIdentity("twice.example"));
    assertThrows(NotFoundException.class, () -> sesA.getEmailIdentity(r -> r.emailIdentity("twice.example")));
    assertThrows(NotFoundException.class, () -> sesA.deleteEmailIdentity(r -> r.emailIdentity("twice.example")));
  }

  @Test
  void anAccountSeesAndUsesNothingOfAnother() {
    Verification.verifiedAddress(sesA, relay, "only-a@example.com");
    sesA.createEmailIdentity(r -> r.emailIdentity("a-domain.example"));
    String messageOfA = send(sesA, "only-a@example.com", "reader@example.org");

    assertThrows(NotFoundException.class, () -> sesB.getEmailIdentity(r -> r.emailIdentity("only-a@example.com")));
    assertThrows(NotFoundException.class, () -> sesB.getEmailIdentity(r -> r.emailIdentity("a-domain.example")));
    assertThrows(NotFoundException.class, () -> sesB.deleteEmailIdentity(r -> r.emailIdentity("a-domain.example")));
    assertTrue(sesB.listEmailIdentities(r -> r.pageSize(100)).emailIdentities().stream()
        .noneMatch(i -> i.identityName().contains("a-domain") || i.identityName().contains("only-a")));
    assertThrows(MessageRejectedException.class, () -> send(sesB, "only-a@example.com", "reader@example.org"));
    HttpResponse<String> status = node.signed("GET", "/_mailgate/messages/" + messageOfA, null, Map.of(),
        b.accessKeyId(), b.secretAccessKey());
    assertEquals(404, status.statusCode());
    assertEquals("NotFoundException", status.headers().firstValue("x-amzn-ErrorType").orElse(null));
    // and A still has all of it
    assertTrue(sesA.getEmailIdentity(r -> r.emailIdentity("only-a@example.com")).verifiedForSendingStatus());
    assertEquals(200, node.signed("GET", "/_mailgate/messages/" + messageOfA, null, Map.of(), a.accessKeyId(),
        a.secretAccessKey()).statusCode());
  }
}
