package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.identity.SmtpCredentials;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.SesV2Exception;

/**
 * SES's SMTP interface over a real socket: SES SMTP credentials, the send path behind it (identity
 * checks, limits, delivery to the relay), and SES's replies.
 */
class SmtpSubmissionTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static int port;
  static String region;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DEV_AUTO_VERIFY_SENDERS, false));
    port = node.config().get(MailgateConfig.SMTP_SUBMISSION_PORT);
    region = node.config().get(MailgateConfig.REGION);
    try (SesV2Client ses = node.sesV2()) {
      ses.createEmailIdentity(r -> r.emailIdentity("submit.example")); // start-dev verifies it at once
      ses.createConfigurationSet(r -> r.configurationSetName("smtp-set"));
    }
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
  }

  @Test
  void sesSmtpCredentialsThenTheSendPath() throws IOException {
    try (Session s = new Session(port)) {
      String ehlo = s.command("EHLO client.test");
      assertTrue(ehlo.startsWith("250") && ehlo.contains("AUTH PLAIN LOGIN"), ehlo);
      assertFalse(ehlo.contains("DSN"), "no DSN offered: the send path keeps no NOTIFY, as SES's endpoint: " + ehlo);
      // nor SMTPUTF8, as SES's: an internationalized address is refused at MAIL or RCPT, not after its upload
      assertFalse(ehlo.contains("SMTPUTF8"), ehlo);
      assertTrue(s.command("MAIL FROM:<shop@submit.example>").startsWith("530 5.7.0"), "no mail before AUTH");
      assertTrue(s.login(TestNode.ACCESS_KEY, "not-the-password").startsWith("535"));
      assertTrue(s.login(TestNode.ACCESS_KEY, TestNode.SECRET).startsWith("535"), "the secret is not the password");
      assertTrue(s.login(TestNode.ACCESS_KEY, SmtpCredentials.password(TestNode.SECRET, region)).startsWith("235"));
      String utf8 = s.command("MAIL FROM:<shop@submit.example> SMTPUTF8");
      assertTrue(utf8.startsWith("555"), utf8);
      String international = s.command(new String("MAIL FROM:<b\u00fccher@submit.example>".getBytes(StandardCharsets.UTF_8),
          StandardCharsets.ISO_8859_1)); // as UTF-8 on the wire
      assertTrue(international.startsWith("553"), "non-ASCII without SMTPUTF8: " + international);

      String reply = s.send("shop@submit.example", List.of("to@example.org", "hidden@example.org"),
          "From: Shop <shop@submit.example>\r\nTo: to@example.org\r\nBcc: hidden@example.org\r\n"
              + "Subject: over SMTP\r\n\r\nHello.\r\n.a line that starts with a dot\r\n");
      Matcher m = Pattern.compile("250 Ok (\\S+)").matcher(reply);
      assertTrue(m.matches(), reply);
      String id = m.group(1);

      List<RecordingSmtpServer.Received> got = Await.until(() -> relay.received().stream()
          .filter(r -> r.text().contains("over SMTP")).toList(), l -> l.size() == 2, Duration.ofSeconds(20));
      assertEquals(List.of("hidden@example.org", "to@example.org"),
          got.stream().map(r -> r.rcptTo().get(0)).sorted().toList());
      for (RecordingSmtpServer.Received r : got) {
        assertFalse(r.text().contains("Bcc:"), "Bcc header removed: " + r.text());
        assertTrue(r.text().contains("d=submit.example;"), "DKIM-signed as the domain's identity");
        assertTrue(r.text().contains("\r\n.a line that starts with a dot\r\n"), r.text());
      }
      JsonObject status = node.message(id);
      assertEquals(2, status.getJsonArray("Recipients").size(), status.encode());
      assertEquals("SendSmtpEmail", status.getJsonArray("Events").getJsonObject(0).getJsonObject("mail")
          .getJsonObject("tags").getJsonArray("ses:operation").getString(0), "SES's tag for its SMTP interface's mail");
      assertNull(sourceTls(node, id), "plain text: no TLS protocol to tag");

      String rejected = s.send("x@unverified.test", List.of("to@example.org"),
          "From: x@unverified.test\r\nTo: to@example.org\r\nSubject: refused\r\n\r\nx\r\n");
      assertTrue(rejected.startsWith("554 5.7.1 Message rejected: "), rejected);
      // the envelope sender is a sender address too, as in SES
      String envelope = s.send("returns@unverified.test", List.of("to@example.org"),
          "From: shop@submit.example\r\nTo: to@example.org\r\nSubject: refused\r\n\r\nx\r\n");
      assertTrue(envelope.startsWith("554 5.7.1 Message rejected: ") && envelope.contains("returns@unverified.test"),
          envelope);
      // SES's SMTP headers: configuration set and tags, removed from what is sent
      String tagged = s.send("shop@submit.example", List.of("tagged@example.org"),
          "From: shop@submit.example\r\nTo: tagged@example.org\r\nX-SES-CONFIGURATION-SET: smtp-set\r\n"
              + "X-SES-MESSAGE-TAGS: campaign=welcome, lang=en\r\nSubject: tagged\r\n\r\nx\r\n");
      Matcher t = Pattern.compile("250 Ok (\\S+)").matcher(tagged);
      assertTrue(t.matches(), tagged);
      JsonObject taggedStatus = node.message(t.group(1));
      assertEquals("smtp-set", taggedStatus.getString("ConfigurationSetName"), taggedStatus.encode());
      assertTrue(taggedStatus.getValue("Tags").toString().contains("welcome"), taggedStatus.encode());
      assertEquals("SendSmtpEmail", taggedStatus.getJsonArray("Events").getJsonObject(0).getJsonObject("mail")
          .getJsonObject("tags").getJsonArray("ses:operation").getString(0), "its X-SES headers applied, still SMTP's");
      String sent = Await.until(() -> relay.received().stream().filter(r -> r.text().contains("Subject: tagged"))
          .findFirst().orElse(null), java.util.Objects::nonNull, Duration.ofSeconds(20)).text();
      assertFalse(sent.toLowerCase(java.util.Locale.ROOT).contains("x-ses-"), sent);
      String unknownSet = s.send("shop@submit.example", List.of("tagged@example.org"),
          "From: shop@submit.example\r\nX-SES-CONFIGURATION-SET: nope\r\nSubject: no set\r\n\r\nx\r\n");
      assertTrue(unknownSet.startsWith("554 ") && unknownSet.contains("nope"), unknownSet);
      // every recipient is taken at RCPT, as SES takes them, and a message of too many refused whole after DATA:
      // refused at RCPT, those past 50 were dropped while the client (Django ignores refused recipients) saw success
      List<String> many = new java.util.ArrayList<>();
      for (int i = 0; i < 51; i++) {
        many.add("r" + i + "@example.org");
      }
      String tooMany = s.send("shop@submit.example", many,
          "From: shop@submit.example\r\nTo: r0@example.org\r\nSubject: too many\r\n\r\nx\r\n");
      assertTrue(tooMany.startsWith("554 5.6.0 Transaction failed: Recipient count exceeds 50"), tooMany);

      assertTrue(s.command("QUIT").startsWith("221"));
    }
    assertFalse(relay.received().stream().anyMatch(r -> r.text().contains("Subject: refused")
        || r.text().contains("Subject: too many")));
  }

  /**
   * Raw content over the API is SendRawEmail: SES's X-SES-* headers apply there too, below the request's own
   * parameters (ConfigurationSetName wins; EmailTags replace the header's tags instead of joining them).
   */
  @Test
  void rawContentOverTheApiHonoursSesHeadersBelowItsParameters() {
    String raw = "From: shop@submit.example\r\nTo: api-raw@example.org\r\nX-SES-CONFIGURATION-SET: smtp-set\r\n"
        + "X-SES-MESSAGE-TAGS: campaign=from-header\r\nSubject: api raw SUBJECT\r\n\r\nx\r\n";
    try (SesV2Client ses = node.sesV2()) {
      ses.createConfigurationSet(r -> r.configurationSetName("api-set"));
      String byHeaders = ses.sendEmail(r -> r.content(c -> c.raw(m -> m.data(
          SdkBytes.fromUtf8String(raw.replace("SUBJECT", "headers")))))).messageId();
      JsonObject a = node.message(byHeaders);
      assertEquals("smtp-set", a.getString("ConfigurationSetName"), a.encode());
      assertTrue(a.getValue("Tags").toString().contains("from-header"), a.encode());

      String byParameters = ses.sendEmail(r -> r.configurationSetName("api-set")
          .emailTags(t -> t.name("campaign").value("from-api"))
          .content(c -> c.raw(m -> m.data(SdkBytes.fromUtf8String(raw.replace("SUBJECT", "parameters")))))).messageId();
      JsonObject b = node.message(byParameters);
      assertEquals("api-set", b.getString("ConfigurationSetName"), b.encode());
      String tags = b.getValue("Tags").toString();
      assertTrue(tags.contains("from-api") && !tags.contains("from-header"), b.encode());

      SesV2Exception unknown = assertThrows(SesV2Exception.class, () -> ses.sendEmail(r -> r.content(c -> c.raw(m ->
          m.data(SdkBytes.fromUtf8String(raw.replace("smtp-set", "nope").replace("SUBJECT", "unknown set")))))));
      assertTrue(unknown.getMessage().contains("nope"), unknown.getMessage());

      software.amazon.awssdk.services.sesv2.model.BadRequestException malformed = assertThrows(
          software.amazon.awssdk.services.sesv2.model.BadRequestException.class, () -> ses.sendEmail(r -> r.content(c ->
              c.raw(m -> m.data(SdkBytes.fromUtf8String(raw.replace("campaign=from-header", "no-equals-sign")
                  .replace("SUBJECT", "malformed tags")))))));
      assertTrue(malformed.getMessage().contains("X-SES-MESSAGE-TAGS"), malformed.getMessage());
    }
    for (String subject : List.of("Subject: api raw headers", "Subject: api raw parameters")) {
      String sent = Await.until(() -> relay.received().stream().filter(r -> r.text().contains(subject))
          .findFirst().orElse(null), java.util.Objects::nonNull, Duration.ofSeconds(20)).text();
      assertFalse(sent.toLowerCase(java.util.Locale.ROOT).contains("x-ses-"), sent);
    }
    assertFalse(relay.received().stream().anyMatch(r -> r.text().contains("Subject: api raw unknown set")
        || r.text().contains("Subject: api raw malformed tags")));
  }

  /**
   * As SES's SMTP interface: a client's Message-ID and Date (nodemailer, PHPMailer, JavaMail and Django all write
   * them) are replaced, the Message-ID by the one the 250 reply names; a Return-Path header is removed, and the MAIL
   * FROM stays the feedback address, even {@code <>}: the header is not read.
   */
  @Test
  void submissionReplacesMessageIdAndDateAndIgnoresAReturnPathHeader() throws IOException {
    String message = "Return-Path: <victim@unverified.test>\r\nFrom: shop@submit.example\r\nTo: TO\r\n"
        + "Subject: smtp ids\r\nDate: Mon, 1 Jan 2001 00:00:00 +0000\r\n"
        + "Message-ID: <nodemailer-1@submit.example>\r\n\r\nx\r\n";
    try (Session s = new Session(port)) {
      s.command("EHLO client.test");
      assertTrue(s.login(TestNode.ACCESS_KEY, SmtpCredentials.password(TestNode.SECRET, region)).startsWith("235"));
      for (String mailFrom : List.of("shop@submit.example", "")) {
        String to = mailFrom.isEmpty() ? "ids-null@example.org" : "ids@example.org";
        String reply = s.send(mailFrom, List.of(to), message.replace("TO", to));
        Matcher m = Pattern.compile("250 Ok (\\S+)").matcher(reply);
        assertTrue(m.matches(), reply);
        String id = m.group(1);
        String sent = Await.until(() -> relay.received().stream().filter(r -> r.rcptTo().contains(to)).findFirst()
            .orElse(null), java.util.Objects::nonNull, Duration.ofSeconds(20)).text();
        assertTrue(sent.contains("\r\nMessage-ID: <" + id + "@"), sent);
        assertFalse(sent.contains("nodemailer-1") || sent.contains("Jan 2001") || sent.contains("Return-Path"), sent);
        assertFalse(String.valueOf(node.message(id).getString("EnvelopeFrom")).contains("victim"),
            node.message(id).encode());
      }
    }
  }

  /**
   * Raw content over the API: the Return-Path header names the feedback address only when the request names neither
   * a FromEmailAddress nor a FeedbackForwardingEmailAddress, and is then verified as any Return-Path.
   */
  @Test
  void aRawReturnPathHeaderIsTheFeedbackAddressOnlyWhenTheRequestNamesNone() {
    String raw = "Return-Path: <RP>\r\nFrom: shop@submit.example\r\nTo: TO\r\nSubject: v2 return path\r\n\r\nx\r\n";
    try (SesV2Client ses = node.sesV2()) {
      software.amazon.awssdk.services.sesv2.model.MessageRejectedException e = org.junit.jupiter.api.Assertions
          .assertThrows(software.amazon.awssdk.services.sesv2.model.MessageRejectedException.class,
              () -> ses.sendEmail(r -> r.content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes
                  .fromUtf8String(raw.replace("RP", "victim@unverified.test").replace("TO", "rp1@example.org")))))));
      assertTrue(e.getMessage().contains("victim@unverified.test"), e.getMessage());
      String header = ses.sendEmail(r -> r.content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes
          .fromUtf8String(raw.replace("RP", "bounces@submit.example").replace("TO", "rp2@example.org")))))).messageId();
      assertEquals("bounces@submit.example", node.message(header).getString("EnvelopeFrom"));
      String parameter = ses.sendEmail(r -> r.feedbackForwardingEmailAddress("feedback@submit.example")
          .content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes.fromUtf8String(
              raw.replace("RP", "victim@unverified.test").replace("TO", "rp3@example.org")))))).messageId();
      assertEquals("feedback@submit.example", node.message(parameter).getString("EnvelopeFrom"));
      String source = ses.sendEmail(r -> r.fromEmailAddress("shop@submit.example")
          .content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes.fromUtf8String(
              raw.replace("RP", "victim@unverified.test").replace("TO", "rp4@example.org")))))).messageId();
      assertFalse(String.valueOf(node.message(source).getString("EnvelopeFrom")).contains("victim"));
    }
  }

  /** The same rule over HTTP: a Raw message whose From header is not verified is refused whatever its source. */
  @Test
  void everySenderAddressOfARawMessageMustBeVerified() {
    try (SesV2Client ses = node.sesV2()) {
      String raw = "From: someone@unverified.test\r\nTo: to@example.org\r\nSubject: spoofed\r\n\r\nx\r\n";
      software.amazon.awssdk.services.sesv2.model.MessageRejectedException e = org.junit.jupiter.api.Assertions
          .assertThrows(software.amazon.awssdk.services.sesv2.model.MessageRejectedException.class,
              () -> ses.sendEmail(r -> r.fromEmailAddress("shop@submit.example")
                  .content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes.fromUtf8String(raw))))));
      assertTrue(e.getMessage().contains("someone@unverified.test"), e.getMessage());
      // not only the first From mailbox: a second one, and the Sender, are sender addresses too
      for (String header : List.of("From: shop@submit.example, ceo@unverified.test", "From: shop@submit.example\r\n"
          + "Sender: ceo@unverified.test")) {
        String second = header + "\r\nTo: to@example.org\r\nSubject: spoofed\r\n\r\nx\r\n";
        e = org.junit.jupiter.api.Assertions.assertThrows(
            software.amazon.awssdk.services.sesv2.model.MessageRejectedException.class,
            () -> ses.sendEmail(r -> r.fromEmailAddress("shop@submit.example")
                .content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes.fromUtf8String(second))))));
        assertTrue(e.getMessage().contains("ceo@unverified.test"), header + ": " + e.getMessage());
      }
      String twoFields = "From: shop@submit.example\r\nFrom: ceo@unverified.test\r\nTo: to@example.org\r\n"
          + "Subject: spoofed\r\n\r\nx\r\n";
      org.junit.jupiter.api.Assertions.assertThrows(software.amazon.awssdk.services.sesv2.model.BadRequestException.class,
          () -> ses.sendEmail(r -> r.fromEmailAddress("shop@submit.example")
              .content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes.fromUtf8String(twoFields))))));
      // a Simple message's custom Sender header likewise
      e = org.junit.jupiter.api.Assertions.assertThrows(
          software.amazon.awssdk.services.sesv2.model.MessageRejectedException.class,
          () -> ses.sendEmail(r -> r.fromEmailAddress("shop@submit.example").destination(d -> d.toAddresses("to@example.org"))
              .content(c -> c.simple(m -> m.subject(x -> x.data("spoofed")).body(b -> b.text(t -> t.data("x")))
                  .headers(h -> h.name("Sender").value("CEO <ceo@unverified.test>"))))));
      assertTrue(e.getMessage().contains("ceo@unverified.test"), e.getMessage());
    }
    assertFalse(relay.received().stream().anyMatch(r -> r.text().contains("Subject: spoofed")));
  }

  @Test
  void overTheDailyQuotaIsAThrottlingFailure() throws IOException {
    Accounts.NewKey key = node.createAccount("smtp-quota", true, 100, 1);
    try (SesV2Client own = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
      own.createEmailIdentity(r -> r.emailIdentity("quota.example"));
    }
    try (Session s = new Session(port)) {
      s.command("EHLO client.test");
      assertTrue(s.login(key.accessKeyId(), SmtpCredentials.password(key.secretAccessKey(), region)).startsWith("235"));
      String message = "From: a@quota.example\r\nTo: b@example.org\r\nSubject: quota\r\n\r\nx\r\n";
      assertTrue(s.send("a@quota.example", List.of("b@example.org"), message).startsWith("250 Ok "));
      assertEquals("454 4.7.0 Throttling failure: Daily message quota exceeded.",
          s.send("a@quota.example", List.of("b@example.org"), message));
    }
  }

  /** Sending authorization over SMTP: the X-SES-SOURCE-ARN header names the owner's identity, and is not sent. */
  @Test
  void aDelegateSendsFromAnotherAccountsIdentityWithTheArnHeader() throws IOException {
    Accounts.NewKey delegate = node.createAccount("smtp-delegate", true, 100, 100);
    Accounts.NewKey stranger = node.createAccount("smtp-stranger", true, 100, 100);
    String arn = "arn:aws:ses:" + region + ":" + node.config().get(MailgateConfig.DEV_ACCOUNT_ID)
        + ":identity/submit.example";
    try (SesV2Client owner = node.sesV2()) {
      owner.createEmailIdentityPolicy(r -> r.emailIdentity("submit.example").policyName("smtp-delegate").policy(
          "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + delegate.accountId() + "\"},"
              + "\"Action\":\"ses:SendRawEmail\",\"Resource\":\"" + arn + "\"}}"));
    }
    String message = "X-SES-SOURCE-ARN: " + arn + "\r\nFrom: partner@submit.example\r\nTo: b@example.org\r\n"
        + "Subject: delegated over smtp\r\n\r\nx\r\n";
    for (Accounts.NewKey key : List.of(delegate, stranger)) {
      try (Session s = new Session(port)) {
        s.command("EHLO client.test");
        assertTrue(s.login(key.accessKeyId(), SmtpCredentials.password(key.secretAccessKey(), region))
            .startsWith("235"));
        String reply = s.send("partner@submit.example", List.of("b@example.org"), message);
        if (key == delegate) {
          assertTrue(reply.startsWith("250 Ok "), reply);
        } else {
          assertTrue(reply.startsWith("554 5.7.1 Access denied: User `arn:aws:iam::" + stranger.accountId()
              + ":root' is not authorized to perform `ses:SendRawEmail' on resource `" + arn + "'"), reply);
        }
      }
    }
    RecordingSmtpServer.Received got = Await.until(() -> relay.received().stream()
        .filter(r -> r.text().contains("Subject: delegated over smtp")).findFirst().orElse(null),
        r -> r != null, Duration.ofSeconds(20));
    assertFalse(got.text().contains("X-SES-SOURCE-ARN"), got.text());

    // while the identity's owner is in the sandbox, its delegates reach only what the owner verified
    String ownerId = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
    node.updateAccount(ownerId, null, null, false, null);
    try (Session s = new Session(port)) {
      s.command("EHLO client.test");
      assertTrue(s.login(delegate.accessKeyId(), SmtpCredentials.password(delegate.secretAccessKey(), region))
          .startsWith("235"));
      String refused = s.send("partner@submit.example", List.of("b@example.org"), message);
      assertTrue(refused.startsWith("554 5.7.1 Message rejected: ")
          && refused.contains("identity owner's account is in the sandbox"), refused);
      String simulated = s.send("partner@submit.example", List.of("success@simulator.amazonses.com"),
          message.replace("To: b@example.org", "To: success@simulator.amazonses.com"));
      assertTrue(simulated.startsWith("250 Ok "), simulated);
    } finally {
      node.updateAccount(ownerId, null, null, true, null);
    }
  }

  /** With a certificate configured and plain-text AUTH off (production), credentials need STARTTLS first. */
  @Test
  void withACertificateAuthWaitsForStartTls() throws IOException {
    io.vertx.core.net.SelfSignedCertificate cert = io.vertx.core.net.SelfSignedCertificate.create("smtp.mailgate.test");
    try (TestNode tls = tlsNode(cert);
         Session s = new Session(tls.config().get(MailgateConfig.SMTP_SUBMISSION_PORT))) {
      String ehlo = s.command("EHLO client.test");
      assertTrue(ehlo.contains("STARTTLS"), ehlo);
      String auth = s.login(TestNode.ACCESS_KEY, SmtpCredentials.password(TestNode.SECRET, region));
      assertTrue(auth.startsWith("538 5.7.11") || auth.startsWith("530"), auth);
      assertTrue(s.command("STARTTLS").startsWith("220"));
    } finally {
      cert.delete();
    }
  }

  /**
   * RFC 8314's implicit TLS port (SES's TLS Wrapper, nodemailer's secure: true): TLS from the first byte, then the same
   * interface, with AUTH allowed at once and no STARTTLS offered.
   */
  @Test
  void theImplicitTlsPortIsTheSameInterfaceOverTls() throws Exception {
    io.vertx.core.net.SelfSignedCertificate cert = io.vertx.core.net.SelfSignedCertificate.create("smtp.mailgate.test");
    try (TestNode tls = tlsNode(cert, "wrapper.example");
         io.mailgate.testing.WebhookReceiver webhook = new io.mailgate.testing.WebhookReceiver()) {
      try (SesV2Client ses = tls.sesV2()) {
        ses.createConfigurationSet(r -> r.configurationSetName("wrapped"));
        ses.createConfigurationSetEventDestination(r -> r.configurationSetName("wrapped").eventDestinationName("hook")
            .eventDestination(d -> d.enabled(true).matchingEventTypesWithStrings("SEND")
                .snsDestination(sns -> sns.topicArn(webhook.url("/sends")))));
      }
      int tlsPort = tls.config().get(MailgateConfig.SMTP_SUBMISSION_TLS_PORT);
      try (Session s = new Session(trustAll().getSocketFactory().createSocket("127.0.0.1", tlsPort))) {
        String id = sendOverTls(s, "shop@wrapper.example", "wrapped@example.org", "over implicit TLS",
            "X-SES-CONFIGURATION-SET: wrapped\r\n");
        String protocol = ((javax.net.ssl.SSLSocket) s.socket()).getSession().getProtocol();
        assertEquals(protocol, sourceTls(tls, id), "the protocol the client spoke");
        // and its events as published (the Send, to the set's webhook)
        JsonObject send = Await.until(() -> webhook.posts("/sends", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
            .get(0).json();
        assertEquals(new JsonArray().add(protocol), send.getJsonObject("mail").getJsonObject("tags")
            .getJsonArray("ses:source-tls-version"), send.encode());
      }
      Await.until(() -> relay.received().stream().anyMatch(r -> r.text().contains("Subject: over implicit TLS")),
          found -> found, Duration.ofSeconds(20));
      // the STARTTLS port is still there, and a client that speaks plain text to the TLS port gets nothing
      try (Session plain = new Session(tls.config().get(MailgateConfig.SMTP_SUBMISSION_PORT))) {
        assertTrue(plain.command("EHLO client.test").contains("STARTTLS"));
      }
      try (Socket raw = new Socket("127.0.0.1", tlsPort)) {
        raw.setSoTimeout(2_000);
        assertThrows(java.net.SocketTimeoutException.class, () -> raw.getInputStream().read(), "no plain greeting");
      }
    } finally {
      cert.delete();
    }
  }

  /**
   * STARTTLS works on every connection, whichever of the node's event loops takes it: Vert.x 5.0.7 gave only the
   * first instance on a shared port what a TLS upgrade needs, and nodemailer, Django and the mail gem (Action Mailer)
   * lost every other connection at STARTTLS.
   */
  @Test
  void startTlsWorksOnEveryConnection() throws Exception {
    io.vertx.core.net.SelfSignedCertificate cert = io.vertx.core.net.SelfSignedCertificate.create("smtp.mailgate.test");
    try (TestNode tls = tlsNode(cert, "starttls.example")) {
      int connections = 2 * tls.config().get(MailgateConfig.HTTP_INSTANCES); // the port's connections go round robin
      for (int i = 0; i < connections; i++) {
        try (Session plain = new Session(tls.config().get(MailgateConfig.SMTP_SUBMISSION_PORT))) {
          assertTrue(plain.command("EHLO client.test").contains("STARTTLS"));
          Session over = plain.startTls(trustAll());
          String id = sendOverTls(over, "shop@starttls.example", "starttls" + i + "@example.org",
              "over STARTTLS " + i);
          assertEquals(((javax.net.ssl.SSLSocket) over.socket()).getSession().getProtocol(), sourceTls(tls, id));
        }
      }
      Await.until(() -> relay.received().stream().filter(r -> r.text().contains("Subject: over STARTTLS ")).count(),
          n -> n == connections, Duration.ofSeconds(20));
    } finally {
      cert.delete();
    }
  }

  /** A node whose submission port has {@code cert}, with plain-text AUTH off (production's), and these domains. */
  private static TestNode tlsNode(io.vertx.core.net.SelfSignedCertificate cert, String... domains) {
    TestNode tls = TestNode.start(relay.url(), c -> c
        .with(MailgateConfig.SMTP_SUBMISSION_TLS_CERT, cert.certificatePath())
        .with(MailgateConfig.SMTP_SUBMISSION_TLS_KEY, cert.privateKeyPath())
        .with(MailgateConfig.SMTP_SUBMISSION_PLAINTEXT_AUTH, false));
    try (SesV2Client ses = tls.sesV2()) {
      for (String domain : domains) {
        ses.createEmailIdentity(r -> r.emailIdentity(domain));
      }
    } catch (RuntimeException e) {
      tls.close();
      throw e;
    }
    return tls;
  }

  /**
   * On a session already under TLS: AUTH offered (and STARTTLS no longer), a login, and one message accepted; its id.
   */
  private static String sendOverTls(Session s, String from, String to, String subject) throws IOException {
    return sendOverTls(s, from, to, subject, "");
  }

  /** {@link #sendOverTls(Session, String, String, String)} with these header fields ({@code fields}, CRLF ended). */
  private static String sendOverTls(Session s, String from, String to, String subject, String fields)
      throws IOException {
    String ehlo = s.command("EHLO client.test");
    assertTrue(ehlo.contains("AUTH PLAIN LOGIN") && !ehlo.contains("STARTTLS"), ehlo);
    assertTrue(s.login(TestNode.ACCESS_KEY, SmtpCredentials.password(TestNode.SECRET, region)).startsWith("235"));
    String reply = s.send(from, List.of(to), "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject
        + "\r\n" + fields + "\r\nx\r\n");
    assertTrue(reply.startsWith("250 Ok "), reply);
    return reply.substring("250 Ok ".length()).strip();
  }

  /** The TLS protocol the message's events tag it sent over (SES's ses:source-tls-version), or null. */
  private static String sourceTls(TestNode node, String id) {
    JsonArray tls = node.message(id).getJsonArray("Events").getJsonObject(0).getJsonObject("mail")
        .getJsonObject("tags").getJsonArray("ses:source-tls-version");
    return tls == null ? null : tls.getString(0);
  }

  /** A client's TLS context that trusts any certificate (the tests' are self-signed). */
  static javax.net.ssl.SSLContext trustAll() throws java.security.GeneralSecurityException {
    javax.net.ssl.SSLContext trustAll = javax.net.ssl.SSLContext.getInstance("TLS");
    trustAll.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
      public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String type) {}

      public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String type) {}

      public java.security.cert.X509Certificate[] getAcceptedIssuers() {
        return new java.security.cert.X509Certificate[0];
      }
    }}, null);
    return trustAll;
  }

  /** A plain SMTP client on a socket: commands, multi-line replies joined with '\n'. */
  /** A team that used SES in another region derived its SMTP password for that region: it logs in as it did. */
  @Test
  void aPasswordDerivedForAnySesRegionLogsIn() throws IOException {
    try (Session s = new Session(port)) {
      s.command("EHLO client.test");
      assertTrue(s.login(TestNode.ACCESS_KEY, SmtpCredentials.password(TestNode.SECRET, "xx-nowhere-1"))
          .startsWith("535"), "not a region SES sends from");
      assertTrue(s.login(TestNode.ACCESS_KEY, SmtpCredentials.password(TestNode.SECRET, "eu-west-1"))
          .startsWith("235"));
    }
  }

  /**
   * One client address may hold a few connections at once, logged in or not, and after ten failed logins (across its
   * connections) is told to try later for any user name that would cost a look at the keys, the right password too; a
   * key the node knows already is still checked (others behind the address go on); loopback is not limited.
   */
  @Test
  void oneClientAddressIsLimitedInConnectionsAndFailedLogins() throws IOException {
    String local = io.mailgate.testing.OwnAddress.get();
    try (RecordingSmtpServer sink = new RecordingSmtpServer();
         TestNode open = TestNode.start(sink.url(), c -> c.with(MailgateConfig.SMTP_SUBMISSION_HOST, "0.0.0.0")
             .with(MailgateConfig.SMTP_SUBMISSION_MAX_CONNECTIONS_PER_CLIENT, 2)
             .with(MailgateConfig.SMTP_SUBMISSION_CONNECTION_RATE_PER_CLIENT, 3)
             .with(MailgateConfig.SMTP_SUBMISSION_MESSAGE_RATE_PER_CLIENT, 1)
             .with(MailgateConfig.CACHE_TTL_MILLIS, 300))) {
      int openPort = open.config().get(MailgateConfig.SMTP_SUBMISSION_PORT);
      String password = SmtpCredentials.password(TestNode.SECRET, region);
      try (Session first = new Session(new Socket(local, openPort));
           Session second = new Session(new Socket(local, openPort))) {
        try (Socket third = new Socket(local, openPort)) {
          third.setSoTimeout(10_000);
          String greeting = new BufferedReader(new InputStreamReader(third.getInputStream(),
              StandardCharsets.ISO_8859_1)).readLine();
          assertTrue(greeting.startsWith("421 4.7.0"), greeting);
        }
        first.command("EHLO client.test");
        second.command("EHLO client.test");
        for (int i = 0; i < 5; i++) {
          assertTrue(first.login("AKIAGUESS" + i, "wrong").startsWith("535"));
          assertTrue(second.login("AKIAGUESS" + (i + 5), "wrong").startsWith("535"));
        }
        String locked = first.login(TestNode.ACCESS_KEY, password);
        assertTrue(locked.startsWith("454 4.7.0"), locked);
        // the key known to the node (looked up a moment ago, from loopback): checked, and let in
        try (Session fromLoopback = new Session(openPort)) {
          fromLoopback.command("EHLO client.test");
          assertTrue(fromLoopback.login(TestNode.ACCESS_KEY, password).startsWith("235"));
        }
        // past the event loops' key caches: known to the node all the same
        try {
          Thread.sleep(600);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        assertTrue(second.login(TestNode.ACCESS_KEY, "wrong").startsWith("535"), "checked, and wrong");
        String known = second.login(TestNode.ACCESS_KEY, password);
        assertTrue(known.startsWith("235"), known);
        String unknown = first.login("AKIAGUESSMORE", "wrong");
        assertTrue(unknown.startsWith("454 4.7.0"), "a name that costs a query is still refused: " + unknown);
        // one message a minute for the address (configured so here), whoever logs in
        second.command("MAIL FROM:<sender@example.com>");
        second.command("RSET");
        String tooMuch = second.command("MAIL FROM:<sender@example.com>");
        assertTrue(tooMuch.startsWith("450 4.7.1 Error: too much mail from " + local), tooMuch);
      }
      // three connections a minute for the address (configured so here): the one refused above was not counted
      try (Session third = new Session(new Socket(local, openPort))) {
        third.command("EHLO client.test");
      }
      try (Socket fourth = new Socket(local, openPort)) {
        fourth.setSoTimeout(10_000);
        String greeting = new BufferedReader(new InputStreamReader(fourth.getInputStream(),
            StandardCharsets.ISO_8859_1)).readLine();
        assertTrue(greeting.startsWith("421 4.7.0"), greeting);
      }
      for (int round = 0; round < 2; round++) {
        try (Session fromLoopback = new Session(openPort)) {
          fromLoopback.command("EHLO client.test");
          for (int i = 0; i < 6; i++) {
            assertTrue(fromLoopback.login("AKIAGUESS" + i, "wrong").startsWith("535"));
          }
          assertTrue(fromLoopback.login(TestNode.ACCESS_KEY, password).startsWith("235"), "loopback is not counted");
        }
      }
    }
  }

  /**
   * Guesses that arrive together on many connections of one address see each other: no more than the limit are looked
   * up (answered 535), the rest are told to try later, however the checks interleave; the right key at once on many
   * connections is not held against the address.
   */
  @Test
  void failedLoginsMadeAtOnceAreCountedAtOnce() throws IOException {
    String local = io.mailgate.testing.OwnAddress.get();
    try (RecordingSmtpServer sink = new RecordingSmtpServer();
         TestNode open = TestNode.start(sink.url(), c -> c.with(MailgateConfig.SMTP_SUBMISSION_HOST, "0.0.0.0"))) {
      int openPort = open.config().get(MailgateConfig.SMTP_SUBMISSION_PORT);
      // the right key on twenty connections at once (a relay's processes after a restart): they share the key's
      // lookup, and none is told to try later
      String password = SmtpCredentials.password(TestNode.SECRET, region);
      java.util.List<Session> relay = new java.util.ArrayList<>();
      try {
        for (int i = 0; i < 20; i++) {
          Session s = new Session(new Socket(local, openPort));
          relay.add(s);
          s.command("EHLO client.test");
        }
        for (Session s : relay) {
          s.write("AUTH PLAIN " + java.util.Base64.getEncoder().encodeToString(
              ("\0" + TestNode.ACCESS_KEY + "\0" + password).getBytes(StandardCharsets.US_ASCII)) + "\r\n");
        }
        for (Session s : relay) {
          String reply = s.reply();
          assertTrue(reply.startsWith("235"), reply);
        }
      } finally {
        for (Session s : relay) {
          s.close();
        }
      }
      java.util.List<Session> sessions = new java.util.ArrayList<>();
      try {
        for (int i = 0; i < 30; i++) {
          Session s = new Session(new Socket(local, openPort));
          sessions.add(s);
          s.command("EHLO client.test");
        }
        for (int i = 0; i < sessions.size(); i++) { // all written before any answer is read
          sessions.get(i).write("AUTH PLAIN " + java.util.Base64.getEncoder().encodeToString(
              ("\0AKIAGUESS" + i + "\0wrong").getBytes(StandardCharsets.US_ASCII)) + "\r\n");
        }
        int checked = 0;
        int later = 0;
        for (Session s : sessions) {
          String reply = s.reply();
          if (reply.startsWith("535")) {
            checked++;
          } else if (reply.startsWith("454 4.7.0")) {
            later++;
          }
        }
        assertEquals(LoginFailures.MAX_FAILURES, checked, "looked up");
        assertEquals(30 - LoginFailures.MAX_FAILURES, later, "told to try later");
      } finally {
        for (Session s : sessions) {
          s.close();
        }
      }
    }
  }

  static final class Session implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;

    Session(int port) throws IOException {
      this(new Socket("127.0.0.1", port));
    }

    Session(Socket connected) throws IOException {
      this(connected, true);
    }

    private Session(Socket connected, boolean greeted) throws IOException {
      socket = connected;
      socket.setSoTimeout(30_000);
      in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
      out = socket.getOutputStream();
      if (greeted) {
        String greeting = reply();
        assertTrue(greeting.startsWith("220"), greeting);
      }
    }

    Socket socket() {
      return socket;
    }

    /** STARTTLS, then the session over TLS on the same connection (closed with this one). */
    Session startTls(javax.net.ssl.SSLContext tls) throws IOException {
      String ready = command("STARTTLS");
      assertTrue(ready.startsWith("220"), ready);
      javax.net.ssl.SSLSocket upgraded = (javax.net.ssl.SSLSocket) tls.getSocketFactory()
          .createSocket(socket, "127.0.0.1", socket.getPort(), false);
      upgraded.startHandshake();
      return new Session(upgraded, false);
    }

    /** The subject of the certificate the server presented (a session under TLS). */
    String peer() throws IOException {
      return ((java.security.cert.X509Certificate) ((javax.net.ssl.SSLSocket) socket).getSession()
          .getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    String command(String line) throws IOException {
      write(line + "\r\n");
      return reply();
    }

    /** Writes without reading the reply. */
    void write(String raw) throws IOException {
      out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
    }

    String login(String user, String password) throws IOException {
      return command("AUTH PLAIN " + Base64.getEncoder().encodeToString(
          ("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8)));
    }

    /** MAIL, RCPT for each, DATA (dot-stuffed here); the reply to the end of data. */
    String send(String from, List<String> to, String message) throws IOException {
      String mail = command("MAIL FROM:<" + from + ">");
      assertTrue(mail.startsWith("250"), mail);
      for (String rcpt : to) {
        String r = command("RCPT TO:<" + rcpt + ">");
        assertTrue(r.startsWith("250"), r);
      }
      String data = command("DATA");
      assertTrue(data.startsWith("354"), data);
      String stuffed = message.replace("\r\n.", "\r\n..");
      out.write((stuffed + ".\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return reply();
    }

    private String reply() throws IOException {
      StringBuilder sb = new StringBuilder();
      String line;
      do {
        line = in.readLine();
        if (line == null) {
          throw new EOFException("connection closed after: " + sb);
        }
        sb.append(sb.length() == 0 ? "" : "\n").append(line);
      } while (line.length() > 3 && line.charAt(3) == '-');
      return sb.toString();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /** A refusal's text is wrapped: no reply line past RFC 5321's 512 octets, however many addresses it names. */
  @Test
  void aLongRefusalIsWrappedIntoLinesOfAtMost512Octets() {
    StringBuilder names = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      names.append(i == 0 ? "" : ", ").append("unverified-recipient-").append(i).append("@example.org");
    }
    io.mailgate.smtp.SmtpReply reply = SmtpSubmission.reply(new io.mailgate.SesException(
        io.mailgate.SesError.MESSAGE_REJECTED, "Email address is not verified: " + names));
    assertEquals(554, reply.code());
    String wire = reply.toWire();
    String[] lines = wire.split("\r\n");
    assertTrue(lines.length > 1, wire);
    for (String line : lines) {
      assertTrue(line.length() + 2 <= 512, line.length() + ": " + line);
      assertTrue(line.startsWith("554-5.7.1 ") || line.startsWith("554 5.7.1 "), line);
    }
    String text = java.util.Arrays.stream(lines).map(l -> l.substring("554-5.7.1 ".length()))
        .collect(java.util.stream.Collectors.joining(" "));
    assertTrue(text.contains(names), "every address, in order: " + text);
  }
}
