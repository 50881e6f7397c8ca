package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.Jdkim;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BehaviorOnMxFailure;
import software.amazon.awssdk.services.sesv2.model.DkimStatus;
import software.amazon.awssdk.services.sesv2.model.MailFromDomainNotVerifiedException;
import software.amazon.awssdk.services.sesv2.model.MailFromDomainStatus;
import software.amazon.awssdk.services.sesv2.model.MessageRejectedException;
import software.amazon.awssdk.services.sesv2.model.VerificationStatus;

/**
 * Domain verification through real DNS queries to a DNS server the test runs: the DKIM record
 * appears (PENDING -> SUCCESS, the domain can send and its mail is signed), disappears
 * (TEMPORARY_FAILURE); the custom MAIL FROM domain's MX record decides its status.
 */
class DnsVerificationTest {
  static FakeDnsServer dns;
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static Accounts.NewKey key;

  @BeforeAll
  static void start() throws IOException {
    dns = FakeDnsServer.start().defaultTtl(1).soa(1, 1);
    relay = new RecordingSmtpServer();
    node = TestNode.startProduction(relay.url(), c -> c
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DNS_MIN_TTL_SECONDS, 0)
        .with(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS, 1)
        // this deployment's inbound hosts, as an operator may write them
        .with(MailgateConfig.IDENTITY_MAIL_FROM_MX_HOSTS, " Feedback.Mailgate.Example., in2.mailgate.example"));
    key = node.createAccount("dns-team", true, 100, 10_000);
    ses = node.sesV2(key.accessKeyId(), key.secretAccessKey());
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    dns.close();
  }

  static DkimStatus dkim(String domain) {
    return ses.getEmailIdentity(r -> r.emailIdentity(domain)).dkimAttributes().status();
  }

  @Test
  void dkimRecordVerifiesTheDomainAndItsDisappearanceIsNoticed() {
    String selector = ses.createEmailIdentity(r -> r.emailIdentity("dns.example")).dkimAttributes().tokens().get(0);
    String recordName = selector + "._domainkey.dns.example";
    assertEquals(DkimStatus.PENDING, dkim("dns.example"));
    assertFalse(ses.getEmailIdentity(r -> r.emailIdentity("dns.example")).verifiedForSendingStatus());
    // nothing published yet: still pending after several checks
    Await.until(() -> dns.count(recordName, "TXT") >= 2, Duration.ofSeconds(10));
    assertEquals(DkimStatus.PENDING, dkim("dns.example"));

    String value = dnsValue("dns.example");
    dns.txt(recordName, value);
    Await.until(() -> dkim("dns.example") == DkimStatus.SUCCESS, Duration.ofSeconds(15));
    assertTrue(ses.getEmailIdentity(r -> r.emailIdentity("dns.example")).verifiedForSendingStatus());

    ses.sendEmail(r -> r.fromEmailAddress("news@dns.example").destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("dns-signed")).body(b -> b.text(t -> t.data("x"))))));
    byte[] msg = Await.until(() -> relay.received().stream().filter(x -> x.text().contains("dns-signed")).findFirst()
        .orElse(null), x -> x != null, Duration.ofSeconds(20)).data();
    assertNull(Jdkim.verify(msg, Map.of(recordName, value)));

    dns.remove(recordName);
    Await.until(() -> dkim("dns.example") == DkimStatus.TEMPORARY_FAILURE, Duration.ofSeconds(15));
    // missing from a check or two (a lagging secondary): mail goes on being signed, past the node's identity cache
    sleep(node.config().get(MailgateConfig.CACHE_TTL_MILLIS) + 500);
    assertEquals(DkimStatus.TEMPORARY_FAILURE, dkim("dns.example"));
    ses.sendEmail(r -> r.fromEmailAddress("news@dns.example").destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("dns-lapsed")).body(b -> b.text(t -> t.data("x"))))));
    byte[] lapsed = Await.until(() -> relay.received().stream().filter(x -> x.text().contains("dns-lapsed"))
        .findFirst().orElse(null), x -> x != null, Duration.ofSeconds(20)).data();
    assertNull(Jdkim.verify(lapsed, Map.of(recordName, value)));
    // the domain's verification follows (SES: a verified domain whose record is missing is TEMPORARY_FAILURE, and
    // still sends)
    var lapsedIdentity = ses.getEmailIdentity(r -> r.emailIdentity("dns.example"));
    assertEquals(VerificationStatus.TEMPORARY_FAILURE, lapsedIdentity.verificationStatus());
    assertTrue(lapsedIdentity.verifiedForSendingStatus());
    assertEquals(software.amazon.awssdk.services.ses.model.VerificationStatus.TEMPORARY_FAILURE, v1Status("dns.example"));

    // back: verified again
    dns.txt(recordName, value);
    Await.until(() -> ses.getEmailIdentity(r -> r.emailIdentity("dns.example")).verificationStatus(),
        s -> s == VerificationStatus.SUCCESS, Duration.ofSeconds(15));
    assertEquals(DkimStatus.SUCCESS, dkim("dns.example"));

    // gone again, and for good: as after identity.pendingTimeoutHours (its round in progress, if any, is discarded),
    // DKIM FAILED and the domain no longer verified: its mail is refused
    dns.remove(recordName);
    Await.until(() -> dkim("dns.example") == DkimStatus.TEMPORARY_FAILURE, Duration.ofSeconds(15));
    io.mailgate.testing.Db.execute(node.config().get(MailgateConfig.PG_URL), "UPDATE identities SET "
        + "dkim_pending_since = now() - interval '73 hours', dns_checked_at = NULL WHERE identity = 'dns.example'");
    Await.until(() -> dkim("dns.example") == DkimStatus.FAILED, Duration.ofSeconds(15));
    var failed = ses.getEmailIdentity(r -> r.emailIdentity("dns.example"));
    assertEquals(VerificationStatus.FAILED, failed.verificationStatus());
    assertFalse(failed.verifiedForSendingStatus());
    assertEquals(software.amazon.awssdk.services.ses.model.VerificationStatus.FAILED, v1Status("dns.example"));
    MessageRejectedException refused = Await.until(() -> {
      try {
        send("news@dns.example", "dns-failed");
        return null; // the node's identity cache may still hold the verified domain for a moment
      } catch (MessageRejectedException e) {
        return e;
      }
    }, x -> x != null, Duration.ofSeconds(15));
    assertTrue(refused.awsErrorDetails().errorMessage().contains("not verified"),
        refused.awsErrorDetails().errorMessage());
  }

  static software.amazon.awssdk.services.ses.model.VerificationStatus v1Status(String identity) {
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
      return v1.getIdentityVerificationAttributes(r -> r.identities(identity)).verificationAttributes().get(identity)
          .verificationStatus();
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * A raw message whose Source is on another domain than its From header (a bounce address elsewhere) is signed with
   * the From header's domain's key, which DMARC aligns with; the Source's domain has none here.
   */
  @Test
  void aRawMessageIsSignedAsItsFromHeadersDomain() {
    String[] record = dkimFound("hdr.example");
    String recordName = record[0];
    String value = record[1];
    io.mailgate.testing.Verification.verifiedAddress(ses, relay, "bounces@src.example");
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
      v1.sendRawEmail(r -> r.source("bounces@src.example").rawMessage(m -> m.data(
          software.amazon.awssdk.core.SdkBytes.fromUtf8String("From: news@hdr.example\r\nTo: a@example.org\r\n"
              + "Subject: header-from-signed\r\n\r\nx\r\n"))));
    }
    byte[] msg = Await.until(() -> relay.received().stream().filter(x -> x.text().contains("header-from-signed"))
        .findFirst().orElse(null), x -> x != null, Duration.ofSeconds(20)).data();
    assertTrue(new String(msg, java.nio.charset.StandardCharsets.US_ASCII).contains("d=hdr.example;"));
    assertNull(Jdkim.verify(msg, Map.of(recordName, value)));
  }

  /** A new domain identity whose DKIM record is published and found: the record's name and value. */
  static String[] dkimFound(String domain) {
    String selector = ses.createEmailIdentity(r -> r.emailIdentity(domain)).dkimAttributes().tokens().get(0);
    String name = selector + "._domainkey." + domain;
    String value = dnsValue(domain);
    dns.txt(name, value);
    Await.until(() -> dkim(domain) == DkimStatus.SUCCESS, Duration.ofSeconds(15));
    return new String[] {name, value};
  }

  static void send(String from, String subject) {
    ses.sendEmail(r -> r.fromEmailAddress(from).destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data(subject)).body(b -> b.text(t -> t.data("x"))))));
  }

  /** SES: a verified domain lets its subdomains' addresses send without identities of their own. */
  @Test
  void aVerifiedDomainsSubdomainsSendSignedWithItsKey() {
    String selector = ses.createEmailIdentity(r -> r.emailIdentity("parent.example")).dkimAttributes().tokens()
        .get(0);
    String recordName = selector + "._domainkey.parent.example";
    assertThrows(MessageRejectedException.class, () -> send("news@mail.parent.example", "sub-early"),
        "not before the parent is verified");
    String value = dnsValue("parent.example");
    dns.txt(recordName, value);
    Await.until(() -> dkim("parent.example") == DkimStatus.SUCCESS, Duration.ofSeconds(15));

    send("news@mail.parent.example", "sub-signed");
    send("ops@a.b.parent.example", "sub-deeper");
    for (String subject : List.of("sub-signed", "sub-deeper")) {
      byte[] msg = Await.until(() -> relay.received().stream().filter(x -> x.text().contains(subject)).findFirst()
          .orElse(null), x -> x != null, Duration.ofSeconds(20)).data();
      String text = new String(msg, java.nio.charset.StandardCharsets.US_ASCII);
      assertTrue(text.contains("d=parent.example;"), text);
      assertNull(Jdkim.verify(msg, Map.of(recordName, value)), subject);
    }
    // a domain that merely ends in the same letters is not a subdomain
    MessageRejectedException other = assertThrows(MessageRejectedException.class,
        () -> send("news@xparent.example", "not-sub"));
    assertTrue(other.awsErrorDetails().errorMessage().endsWith("news@xparent.example"),
        other.awsErrorDetails().errorMessage());
    assertTrue(relay.received().stream().noneMatch(x -> x.text().contains("sub-early") || x.text().contains("not-sub")));
  }

  /**
   * SES's NextSigningKeyLength is the future key's: the verified key goes on signing until the new key's record is
   * published, and the new key signs from then on. Mail is never unsigned in between.
   */
  @Test
  void aNewKeyLengthTakesOverOnceItsRecordIsPublished() {
    String[] record = dkimFound("rotate.example");
    String currentName = record[0];
    String current = currentName.substring(0, currentName.indexOf('.'));
    String currentValue = record[1];

    var staged = ses.putEmailIdentityDkimSigningAttributes(r -> r.emailIdentity("rotate.example")
        .signingAttributesOrigin(software.amazon.awssdk.services.sesv2.model.DkimSigningAttributesOrigin.AWS_SES)
        .signingAttributes(a -> a.nextSigningKeyLength(
            software.amazon.awssdk.services.sesv2.model.DkimSigningKeyLength.RSA_1024_BIT)));
    var attributes = ses.getEmailIdentity(r -> r.emailIdentity("rotate.example")).dkimAttributes();
    assertEquals(DkimStatus.SUCCESS, attributes.status(), "the current key is still verified and signs");
    assertEquals("RSA_1024_BIT", attributes.nextSigningKeyLengthAsString());
    assertEquals("RSA_2048_BIT", attributes.currentSigningKeyLengthAsString());
    assertEquals(2, attributes.tokens().size());
    String next = attributes.tokens().get(1);
    assertEquals(attributes.tokens(), staged.dkimTokens(), "the answer names the next key's record to publish too");
    JsonObject nextRecord = records("rotate.example").getJsonObject(1);
    assertEquals(next + "._domainkey.rotate.example", nextRecord.getString("Name"));

    send("news@rotate.example", "rotate-before");
    byte[] before = received("rotate-before");
    assertTrue(new String(before, java.nio.charset.StandardCharsets.US_ASCII).contains("s=" + current + ";"));
    assertNull(Jdkim.verify(before, Map.of(currentName, currentValue)));

    // the current record goes away meanwhile (TEMPORARY_FAILURE): the next key still takes over once published
    dns.remove(currentName);
    Await.until(() -> dkim("rotate.example") == DkimStatus.TEMPORARY_FAILURE, Duration.ofSeconds(15));
    dns.txt(nextRecord.getString("Name"), nextRecord.getString("Value"));
    Await.until(() -> ses.getEmailIdentity(r -> r.emailIdentity("rotate.example")).dkimAttributes().tokens(),
        t -> t.equals(List.of(next)), Duration.ofSeconds(15));
    assertEquals("RSA_1024_BIT", ses.getEmailIdentity(r -> r.emailIdentity("rotate.example")).dkimAttributes()
        .currentSigningKeyLengthAsString());
    assertEquals(DkimStatus.SUCCESS, dkim("rotate.example"));
    // the node's identity cache (cache.ttlMillis) may still hold the old key for a moment: the next send after that
    // is signed with the new key
    Await.until(() -> {
      String subject = "rotate-after-" + System.nanoTime();
      send("news@rotate.example", subject);
      byte[] after = received(subject);
      return new String(after, java.nio.charset.StandardCharsets.US_ASCII).contains("s=" + next + ";")
          && Jdkim.verify(after, Map.of(nextRecord.getString("Name"), nextRecord.getString("Value"))) == null;
    }, Duration.ofSeconds(15));
  }

  private static byte[] received(String subject) {
    return Await.until(() -> relay.received().stream().filter(x -> x.text().contains(subject)).findFirst()
        .orElse(null), x -> x != null, Duration.ofSeconds(20)).data();
  }

  private static io.vertx.core.json.JsonArray records(String domain) {
    return new JsonObject(node.signed("GET", "/v2/email/identities/" + domain, null, Map.of(), key.accessKeyId(),
        key.secretAccessKey()).body()).getJsonArray("DnsRecords");
  }

  private static String dnsValue(String domain) {
    JsonObject raw = new JsonObject(node.signed("GET", "/v2/email/identities/" + domain, null, Map.of(),
        key.accessKeyId(), key.secretAccessKey()).body());
    return raw.getJsonArray("DnsRecords").getJsonObject(0).getString("Value");
  }

  @Test
  void sesV1TokenVerifiesTheDomainWithoutItsDkim() {
    String token;
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
      token = v1.verifyDomainIdentity(r -> r.domain("token.example")).verificationToken();
      assertEquals(44, token.length(), token);
      assertEquals(token, v1.verifyDomainIdentity(r -> r.domain("token.example")).verificationToken(), "stable");
      var status = software.amazon.awssdk.services.ses.model.VerificationStatus.PENDING;
      assertEquals(status, v1.getIdentityVerificationAttributes(r -> r.identities("token.example"))
          .verificationAttributes().get("token.example").verificationStatus());
      // another value there proves nothing
      dns.txt("_amazonses.token.example", "not-the-token");
      awaitTwoMoreChecks("_amazonses.token.example");
      assertFalse(ses.getEmailIdentity(r -> r.emailIdentity("token.example")).verifiedForSendingStatus());

      dns.txt("_amazonses.token.example", token);
      Await.until(() -> ses.getEmailIdentity(r -> r.emailIdentity("token.example")).verifiedForSendingStatus(),
          Duration.ofSeconds(15));
      assertEquals(software.amazon.awssdk.services.ses.model.VerificationStatus.SUCCESS,
          v1.getIdentityVerificationAttributes(r -> r.identities("token.example")).verificationAttributes()
              .get("token.example").verificationStatus());
      assertEquals(DkimStatus.PENDING, dkim("token.example"), "the token verifies the domain, not its DKIM");

      // the token is checked on after: gone, the domain is TemporaryFailure (still sendable), back, Success
      dns.remove("_amazonses.token.example");
      Await.until(() -> v1Status("token.example"),
          s -> s == software.amazon.awssdk.services.ses.model.VerificationStatus.TEMPORARY_FAILURE, Duration.ofSeconds(15));
      assertTrue(ses.getEmailIdentity(r -> r.emailIdentity("token.example")).verifiedForSendingStatus());
      dns.txt("_amazonses.token.example", token);
      Await.until(() -> v1Status("token.example"),
          s -> s == software.amazon.awssdk.services.ses.model.VerificationStatus.SUCCESS, Duration.ofSeconds(15));
      // gone for good: FAILED once identity.pendingTimeoutHours have passed (as if they had)
      dns.remove("_amazonses.token.example");
      Await.until(() -> v1Status("token.example"),
          s -> s == software.amazon.awssdk.services.ses.model.VerificationStatus.TEMPORARY_FAILURE, Duration.ofSeconds(15));
      io.mailgate.testing.Db.execute(node.config().get(MailgateConfig.PG_URL), "UPDATE identities SET "
          + "verification_expires_at = now() - interval '1 second', dns_checked_at = NULL "
          + "WHERE identity = 'token.example'");
      Await.until(() -> v1Status("token.example"),
          s -> s == software.amazon.awssdk.services.ses.model.VerificationStatus.FAILED, Duration.ofSeconds(15));
      assertFalse(ses.getEmailIdentity(r -> r.emailIdentity("token.example")).verifiedForSendingStatus());
      dns.txt("_amazonses.token.example", token);
    }
    // each account has its own token for the same domain: one account's record does not verify another's
    Accounts.NewKey other = node.createAccount("dns-team-2", true, 100, 10_000);
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1(other.accessKeyId(), other.secretAccessKey())) {
      String theirs = v1.verifyDomainIdentity(r -> r.domain("token.example")).verificationToken();
      assertEquals(44, theirs.length());
      assertFalse(theirs.equals(token));
      awaitTwoMoreChecks("_amazonses.token.example");
      assertEquals(software.amazon.awssdk.services.ses.model.VerificationStatus.PENDING,
          v1.getIdentityVerificationAttributes(r -> r.identities("token.example")).verificationAttributes()
              .get("token.example").verificationStatus());
    }
  }

  /**
   * Two more queries for {@code name} than now: a round of checks does not start before the one before it has
   * recorded what it found, so the round that made the first of them (after whatever changed) has recorded it.
   */
  static void awaitTwoMoreChecks(String name) {
    long base = dns.count(name, "TXT");
    Await.until(() -> dns.count(name, "TXT") >= base + 2, Duration.ofSeconds(15));
  }

  @Test
  void aFailedDomainIsCheckedAgainWhenVerifiedAgain() throws InterruptedException {
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
      String token = v1.verifyDomainIdentity(r -> r.domain("failed.example")).verificationToken();
      // as after identity.pendingTimeoutHours without any record
      io.mailgate.testing.Db.execute(node.config().get(MailgateConfig.PG_URL), "UPDATE identities SET "
          + "verification_status = 'FAILED', dkim_status = 'FAILED' WHERE identity = 'failed.example'");
      assertEquals(software.amazon.awssdk.services.ses.model.VerificationStatus.FAILED,
          v1.getIdentityVerificationAttributes(r -> r.identities("failed.example")).verificationAttributes()
              .get("failed.example").verificationStatus());
      dns.txt("_amazonses.failed.example", token);
      Thread.sleep(2000); // a round that took the domain before it failed has ended
      long before = dns.count("_amazonses.failed.example", "TXT");
      Thread.sleep(3000); // three rounds (identity.dnsCheckIntervalSeconds is 1 here)
      assertEquals(before, dns.count("_amazonses.failed.example", "TXT"), "a FAILED domain is not checked");

      assertEquals(token, v1.verifyDomainIdentity(r -> r.domain("failed.example")).verificationToken());
      Await.until(() -> v1.getIdentityVerificationAttributes(r -> r.identities("failed.example"))
          .verificationAttributes().get("failed.example").verificationStatus()
          == software.amazon.awssdk.services.ses.model.VerificationStatus.SUCCESS, Duration.ofSeconds(15));
      assertEquals(DkimStatus.PENDING, dkim("failed.example"), "its DKIM is checked again too");
    }
  }

  @Test
  void mailFromDomainNeedsItsMxRecord() {
    ses.createEmailIdentity(r -> r.emailIdentity("mf.example"));
    String selector = ses.getEmailIdentity(r -> r.emailIdentity("mf.example")).dkimAttributes().tokens().get(0);
    dns.txt(selector + "._domainkey.mf.example", dnsValue("mf.example"));
    Await.until(() -> dkim("mf.example") == DkimStatus.SUCCESS, Duration.ofSeconds(15));

    ses.putEmailIdentityMailFromAttributes(r -> r.emailIdentity("mf.example").mailFromDomain("bounce.mf.example")
        .behaviorOnMxFailure(BehaviorOnMxFailure.REJECT_MESSAGE));
    assertEquals(MailFromDomainStatus.PENDING,
        ses.getEmailIdentity(r -> r.emailIdentity("mf.example")).mailFromAttributes().mailFromDomainStatus());
    assertThrows(MailFromDomainNotVerifiedException.class, () -> ses.sendEmail(r -> r.fromEmailAddress("a@mf.example")
        .destination(d -> d.toAddresses("b@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("x")))))));

    // an MX elsewhere (the account's own mailbox provider) would take the bounces away from Mailgate: not verified
    dns.mx("bounce.mf.example", 10, "aspmx.l.google.com");
    long asked = dns.count("bounce.mf.example", "MX");
    Await.until(() -> dns.count("bounce.mf.example", "MX") >= asked + 2, Duration.ofSeconds(15));
    assertEquals(MailFromDomainStatus.PENDING,
        ses.getEmailIdentity(r -> r.emailIdentity("mf.example")).mailFromAttributes().mailFromDomainStatus());

    dns.remove("bounce.mf.example");
    dns.mx("bounce.mf.example", 10, "feedback.mailgate.example");
    Await.until(() -> ses.getEmailIdentity(r -> r.emailIdentity("mf.example")).mailFromAttributes()
        .mailFromDomainStatus() == MailFromDomainStatus.SUCCESS, Duration.ofSeconds(15));
    String id = Await.until(() -> {
      try {
        return ses.sendEmail(r -> r.fromEmailAddress("a@mf.example").destination(d -> d.toAddresses("b@example.org"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("mf-envelope")).body(b -> b.text(t -> t.data("x"))))))
            .messageId();
      } catch (MailFromDomainNotVerifiedException e) {
        return null; // another instance's cache may still hold the old status for a moment
      }
    }, x -> x != null, Duration.ofSeconds(10));
    RecordingSmtpServer.Received got = Await.until(() -> relay.received().stream()
        .filter(x -> x.text().contains("mf-envelope")).findFirst().orElse(null), x -> x != null, Duration.ofSeconds(20));
    assertTrue(got.mailFrom().endsWith("@bounce.mf.example"), got.mailFrom());
    assertEquals(new io.mailgate.delivery.Verp.Target(id, 0), new io.mailgate.delivery.Verp(
        SecretBox.fromBase64(TestNode.MASTER_KEY)).parse(got.mailFrom().split("@")[0]).orElseThrow());

    // moved elsewhere later: as if it were gone
    dns.remove("bounce.mf.example");
    dns.mx("bounce.mf.example", 10, "aspmx.l.google.com");
    Await.until(() -> ses.getEmailIdentity(r -> r.emailIdentity("mf.example")).mailFromAttributes()
        .mailFromDomainStatus() == MailFromDomainStatus.TEMPORARY_FAILURE, Duration.ofSeconds(15));
  }

  @Test
  void statusTransitions() {
    Instant t0 = Instant.parse("2026-11-01T00:00:00Z");
    Duration timeout = Duration.ofHours(72);
    assertEquals(Identity.Status.SUCCESS, IdentityDnsVerticle.next(Identity.Status.PENDING, true, t0, t0, timeout));
    assertEquals(Identity.Status.PENDING,
        IdentityDnsVerticle.next(Identity.Status.PENDING, false, t0, t0.plus(Duration.ofHours(71)), timeout));
    assertEquals(Identity.Status.FAILED,
        IdentityDnsVerticle.next(Identity.Status.PENDING, false, t0, t0.plus(Duration.ofHours(73)), timeout));
    assertEquals(Identity.Status.TEMPORARY_FAILURE,
        IdentityDnsVerticle.next(Identity.Status.SUCCESS, false, null, t0, timeout));
    assertEquals(Identity.Status.FAILED,
        IdentityDnsVerticle.next(Identity.Status.TEMPORARY_FAILURE, false, t0, t0.plus(Duration.ofHours(80)), timeout));
    // a verified domain: its records missing, TEMPORARY_FAILURE (stored SUCCESS with the time it fails), then FAILED
    var found = IdentityDnsVerticle.DomainRecords.FOUND;
    var missing = IdentityDnsVerticle.DomainRecords.MISSING;
    var ok = Identity.Status.SUCCESS;
    var temp = Identity.Status.TEMPORARY_FAILURE;
    assertEquals(new IdentityDnsVerticle.Verification(ok, t0.plus(timeout)),
        IdentityDnsVerticle.verification(ok, null, missing, ok, temp, t0, timeout));
    assertEquals(new IdentityDnsVerticle.Verification(ok, t0.plus(timeout)),
        IdentityDnsVerticle.verification(ok, t0.plus(timeout), missing, temp, temp, t0.plus(Duration.ofHours(71)),
            timeout));
    assertEquals(new IdentityDnsVerticle.Verification(Identity.Status.FAILED, null),
        IdentityDnsVerticle.verification(ok, t0.plus(timeout), missing, temp, temp, t0.plus(timeout), timeout));
    assertEquals(new IdentityDnsVerticle.Verification(Identity.Status.FAILED, null),
        IdentityDnsVerticle.verification(ok, t0.plus(timeout), missing, temp, Identity.Status.FAILED, t0, timeout),
        "its DKIM record lost for good");
    assertEquals(new IdentityDnsVerticle.Verification(ok, null),
        IdentityDnsVerticle.verification(ok, t0.plus(timeout), found, temp, temp, t0, timeout), "back");
    assertEquals(new IdentityDnsVerticle.Verification(ok, t0.plus(timeout)),
        IdentityDnsVerticle.verification(ok, t0.plus(timeout), IdentityDnsVerticle.DomainRecords.UNKNOWN, temp, temp,
            t0.plus(Duration.ofHours(80)), timeout), "a resolver problem proves nothing");
    assertEquals(new IdentityDnsVerticle.Verification(Identity.Status.PENDING, null),
        IdentityDnsVerticle.verification(Identity.Status.PENDING, null, missing, Identity.Status.PENDING,
            Identity.Status.PENDING, t0, timeout));
    assertEquals(java.util.Set.of("feedback.example", "in2.example"),
        IdentityDnsVerticle.hostNames(" Feedback.Example., in2.example ,"));
    assertEquals(java.util.Set.of(), IdentityDnsVerticle.hostNames(""));
    assertTrue(IdentityDnsVerticle.hasKey(List.of("v=DKIM1; k=rsa; p=ABC DEF"), "ABCDEF"));
    assertFalse(IdentityDnsVerticle.hasKey(List.of("v=DKIM1; k=rsa; p=ABCDEG"), "ABCDEF"));
    assertFalse(IdentityDnsVerticle.hasKey(List.of("v=spf1 -all"), "ABCDEF"));
  }
}
