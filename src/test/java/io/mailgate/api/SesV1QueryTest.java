package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.ses.model.BulkEmailDestination;
import software.amazon.awssdk.services.ses.model.BulkEmailDestinationStatus;
import software.amazon.awssdk.services.ses.model.BulkEmailStatus;
import software.amazon.awssdk.services.ses.model.IdentityType;
import software.amazon.awssdk.services.ses.model.IdentityVerificationAttributes;
import software.amazon.awssdk.services.ses.model.ListIdentitiesResponse;
import software.amazon.awssdk.services.ses.model.MessageRejectedException;
import software.amazon.awssdk.services.ses.model.MessageTag;
import software.amazon.awssdk.services.ses.model.SendBulkTemplatedEmailResponse;
import software.amazon.awssdk.services.ses.model.SesException;
import software.amazon.awssdk.services.ses.model.TemplateDoesNotExistException;
import software.amazon.awssdk.services.ses.model.VerificationStatus;

/**
 * SES v1, the Query API, through the AWS SDK's {@code ses} client (what boto3's {@code ses} client, django-ses and
 * aws-sdk-rails speak): the sends down to what the relay receives, the quota, identities, templates, and SES's XML
 * errors for bad input, with nothing stored.
 */
class SesV1QueryTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesClient ses;
  static String pg;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer().onRcpt(rcpt -> rcpt.startsWith("gone")
        ? "550 5.1.1 No such user" : "250 2.1.5 Ok");
    // senders are not verified by themselves here: identities made through v1 are (start-dev verifies them at once)
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DEV_AUTO_VERIFY_SENDERS, false));
    ses = node.sesV1();
    pg = node.config().get(MailgateConfig.PG_URL);
    ses.verifyDomainIdentity(r -> r.domain("v1.example"));
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static RecordingSmtpServer.Received receivedFor(String recipient) {
    return Await.until(() -> relay.received().stream().filter(m -> m.rcptTo().contains(recipient)).findFirst()
        .orElse(null), m -> m != null, Duration.ofSeconds(20));
  }

  static Message parse(RecordingSmtpServer.Received m) throws IOException {
    return new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(m.data()));
  }

  static String text(org.apache.james.mime4j.dom.Entity e) throws IOException {
    return new String(((TextBody) e.getBody()).getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void sendEmailBuildsTheMessageAndDeliversIt() throws IOException {
    String id = ses.sendEmail(r -> r.source("Shop <orders@v1.example>")
        .destination(d -> d.toAddresses("alice@dest.example").ccAddresses("carol@dest.example")
            .bccAddresses("bob@dest.example"))
        .replyToAddresses("help@v1.example")
        .message(m -> m.subject(s -> s.data("Your order, Zoë").charset("UTF-8"))
            .body(b -> b.text(t -> t.data("Plain text\nsecond line")).html(h -> h.data("<p>HTML</p>"))))
        .tags(MessageTag.builder().name("campaign").value("v1-test").build())).messageId();
    assertTrue(id.matches("[0-9a-f]{16}-[0-9a-f-]{36}-[0-9]{6}"), id);

    RecordingSmtpServer.Received got = receivedFor("alice@dest.example");
    receivedFor("carol@dest.example");
    receivedFor("bob@dest.example");
    Message m = parse(got);
    assertEquals("Your order, Zoë", m.getSubject());
    assertEquals("orders@v1.example", m.getFrom().get(0).getAddress());
    assertEquals("help@v1.example", ((org.apache.james.mime4j.dom.address.Mailbox) m.getReplyTo().get(0)).getAddress());
    assertNull(m.getHeader().getField("Bcc"), "Bcc is not in the message");
    assertTrue(m.isMultipart());
    Multipart alternative = (Multipart) m.getBody();
    assertEquals("alternative", alternative.getSubType());
    assertTrue(text(alternative.getBodyParts().get(0)).startsWith("Plain text\r\nsecond line"));
    assertTrue(text(alternative.getBodyParts().get(1)).contains("<p>HTML</p>"));
    assertNotNull(m.getHeader().getField("DKIM-Signature"), "signed with the domain's key");

    var status = node.message(id);
    assertEquals(3, status.getJsonArray("Recipients").size(), status.encode());
    assertTrue(status.encode().contains("v1-test"), "the tag is kept with the message: " + status.encode());
  }

  @Test
  void sendRawEmailKeepsTheMessageAndTakesTheEnvelopeFromDestinations() throws IOException {
    String raw = "From: Raw Sender <raw@v1.example>\r\n"
        + "To: header-only@dest.example\r\n"
        + "Subject: raw through v1\r\n"
        + "X-SES-MESSAGE-TAGS: source=raw\r\n"
        + "MIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=us-ascii\r\n"
        + "\r\n"
        + "Body line one.\r\n.leading dot\r\n";
    String id = ses.sendRawEmail(r -> r.destinations("envelope-only@dest.example")
        .rawMessage(m -> m.data(SdkBytes.fromString(raw, StandardCharsets.US_ASCII)))).messageId();
    RecordingSmtpServer.Received got = receivedFor("envelope-only@dest.example");
    assertEquals(List.of("envelope-only@dest.example"), got.rcptTo());
    String data = got.text();
    assertTrue(data.contains("Subject: raw through v1\r\n"), data);
    assertTrue(data.endsWith("Body line one.\r\n.leading dot\r\n"), data);
    assertFalse(data.contains("X-SES-MESSAGE-TAGS"), "SES's instruction headers are removed");
    assertTrue(node.message(id).encode().contains("\"raw\""), "the header's tag applies");

    // without Destinations the message's own To is the envelope
    ses.sendRawEmail(r -> r.rawMessage(m -> m.data(SdkBytes.fromString(
        raw.replace("header-only@", "header-own@"), StandardCharsets.US_ASCII))));
    assertEquals(List.of("header-own@dest.example"), receivedFor("header-own@dest.example").rcptTo());
  }

  /**
   * As SES: a raw message's Message-ID and Date are replaced (the Message-ID is the MessageId returned, so feedback
   * about it is matched); its Return-Path header is not sent, and names where its feedback goes when the send has no
   * Source, verified as any Return-Path. A Source takes precedence over it.
   */
  @Test
  void sendRawEmailReplacesMessageIdAndDateAndTakesTheReturnPathHeaderWithoutASource() {
    String raw = "Return-Path: <RETURN>\r\nFrom: raw@v1.example\r\nTo: TO\r\nSubject: return path header\r\n"
        + "Date: Mon, 1 Jan 2001 00:00:00 +0000\r\nMessage-ID: <nodemailer-123@v1.example>\r\n\r\nbody\r\n";
    MessageRejectedException unverified = assertThrows(MessageRejectedException.class, () -> ses.sendRawEmail(r -> r
        .rawMessage(m -> m.data(SdkBytes.fromUtf8String(raw.replace("RETURN", "victim@unverified.example")
            .replace("TO", "rp-refused@dest.example"))))));
    assertTrue(unverified.getMessage().contains("victim@unverified.example"), unverified.getMessage());
    SesException malformed = assertThrows(SesException.class, () -> ses.sendRawEmail(r -> r.rawMessage(m -> m.data(
        SdkBytes.fromUtf8String(raw.replace("RETURN", "not an address").replace("TO", "rp-refused@dest.example"))))));
    assertEquals("InvalidParameterValue", malformed.awsErrorDetails().errorCode());

    String id = ses.sendRawEmail(r -> r.rawMessage(m -> m.data(SdkBytes.fromUtf8String(
        raw.replace("RETURN", "returns@v1.example").replace("TO", "rp-header@dest.example"))))).messageId();
    assertEquals("returns@v1.example", node.message(id).getString("EnvelopeFrom"));
    String data = receivedFor("rp-header@dest.example").text();
    assertFalse(data.contains("Return-Path"), data);
    assertFalse(data.contains("nodemailer-123") || data.contains("Jan 2001"), data);
    assertTrue(data.contains("\r\nMessage-ID: <" + id + "@"), data);

    // the Source takes precedence: the header is then neither verified nor used
    String withSource = ses.sendRawEmail(r -> r.source("raw@v1.example").rawMessage(m -> m.data(SdkBytes.fromUtf8String(
        raw.replace("RETURN", "victim@unverified.example").replace("TO", "rp-source@dest.example"))))).messageId();
    assertFalse(String.valueOf(node.message(withSource).getString("EnvelopeFrom")).contains("victim"),
        node.message(withSource).encode());
    assertFalse(receivedFor("rp-source@dest.example").text().contains("victim@unverified.example"));
  }

  /** A part named as a file of a type SES refuses: MessageRejected, as SES answers it. */
  @Test
  void sendRawEmailRefusesABlockedAttachment() {
    String raw = "From: raw@v1.example\r\nTo: exe@dest.example\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        + "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"setup.exe\"\r\n"
        + "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--\r\n";
    MessageRejectedException e = assertThrows(MessageRejectedException.class, () -> ses.sendRawEmail(r -> r
        .rawMessage(m -> m.data(SdkBytes.fromUtf8String(raw)))));
    assertTrue(e.getMessage().contains("Illegal filename 'setup.exe'"), e.getMessage());
  }

  @Test
  void templatesAndTemplatedSends() throws IOException {
    ses.createTemplate(r -> r.template(t -> t.templateName("v1-receipt").subjectPart("Receipt for {{name}}")
        .textPart("Hi {{name}}, total {{total}}.\r\nBye").htmlPart("<b>{{name}}</b> &amp; co")));
    var got = ses.getTemplate(r -> r.templateName("v1-receipt")).template();
    assertEquals("Receipt for {{name}}", got.subjectPart());
    assertEquals("Hi {{name}}, total {{total}}.\r\nBye", got.textPart(), "CR survives the XML answer");
    assertEquals("<b>{{name}}</b> &amp; co", got.htmlPart());
    ses.updateTemplate(r -> r.template(t -> t.templateName("v1-receipt").subjectPart("Receipt for {{name}}")
        .textPart("Hi {{name}}, total {{total}}.")));
    assertNull(ses.getTemplate(r -> r.templateName("v1-receipt")).template().htmlPart());
    String rendered = ses.testRenderTemplate(r -> r.templateName("v1-receipt")
        .templateData("{\"name\":\"Ann\",\"total\":\"5 EUR\"}")).renderedTemplate();
    assertTrue(rendered.contains("Subject: Receipt for Ann"), rendered);
    assertTrue(rendered.contains("Hi Ann, total 5 EUR."), rendered);

    for (int i = 0; i < 3; i++) {
      String name = "v1-list-" + i;
      ses.createTemplate(r -> r.template(t -> t.templateName(name).subjectPart("s").textPart("t")));
    }
    List<String> names = new ArrayList<>();
    String token = null;
    do {
      String t = token;
      var page = ses.listTemplates(r -> r.maxItems(2).nextToken(t));
      assertTrue(page.templatesMetadata().size() <= 2);
      page.templatesMetadata().forEach(m -> {
        names.add(m.name());
        assertTrue(m.createdTimestamp().getEpochSecond() > 1_700_000_000L);
      });
      token = page.nextToken();
    } while (token != null);
    assertTrue(names.containsAll(List.of("v1-list-0", "v1-list-1", "v1-list-2", "v1-receipt")), names.toString());
    assertEquals(names.size(), Set.copyOf(names).size());
    // a MaxItems over 100 is lowered to 100, as SES does, not refused
    assertTrue(ses.listTemplates(r -> r.maxItems(500)).templatesMetadata().size() >= 4);

    String id = ses.sendTemplatedEmail(r -> r.source("t@v1.example").destination(d -> d.toAddresses("tpl@dest.example"))
        .template("v1-receipt").templateData("{\"name\":\"Bo\",\"total\":\"7\"}")).messageId();
    assertNotNull(id);
    Message m = parse(receivedFor("tpl@dest.example"));
    assertEquals("Receipt for Bo", m.getSubject());
    assertTrue(text(m).contains("Hi Bo, total 7."));

    SendBulkTemplatedEmailResponse bulk = ses.sendBulkTemplatedEmail(r -> r.source("t@v1.example")
        .template("v1-receipt").defaultTemplateData("{\"name\":\"Default\",\"total\":\"0\"}")
        .destinations(
            BulkEmailDestination.builder().destination(d -> d.toAddresses("bulk-1@dest.example")).build(),
            BulkEmailDestination.builder().destination(d -> d.toAddresses("bulk-2@dest.example"))
                .replacementTemplateData("{\"name\":\"Cy\",\"total\":\"9\"}").build(),
            BulkEmailDestination.builder().destination(d -> d.toAddresses("not an address")).build()));
    List<BulkEmailDestinationStatus> statuses = bulk.status();
    assertEquals(3, statuses.size());
    assertEquals(BulkEmailStatus.SUCCESS, statuses.get(0).status());
    assertEquals(BulkEmailStatus.SUCCESS, statuses.get(1).status());
    assertEquals(BulkEmailStatus.INVALID_PARAMETER_VALUE, statuses.get(2).status(), statuses.get(2).toString());
    assertNotNull(statuses.get(2).error());
    assertEquals("Receipt for Default", parse(receivedFor("bulk-1@dest.example")).getSubject());
    assertEquals("Receipt for Cy", parse(receivedFor("bulk-2@dest.example")).getSubject());

    long before = Db.count(pg, "SELECT count(*) FROM messages");
    assertThrows(TemplateDoesNotExistException.class, () -> ses.sendTemplatedEmail(r -> r.source("t@v1.example")
        .destination(d -> d.toAddresses("x@dest.example")).template("no-such").templateData("{}")));
    assertThrows(TemplateDoesNotExistException.class, () -> ses.sendBulkTemplatedEmail(r -> r.source("t@v1.example")
        .template("no-such").defaultTemplateData("{}")
        .destinations(BulkEmailDestination.builder().destination(d -> d.toAddresses("x@dest.example")).build())));
    assertEquals(before, Db.count(pg, "SELECT count(*) FROM messages"));

    ses.deleteTemplate(r -> r.templateName("v1-list-0"));
    assertThrows(TemplateDoesNotExistException.class, () -> ses.getTemplate(r -> r.templateName("v1-list-0")));
    ses.deleteTemplate(r -> r.templateName("v1-list-0")); // as SES: no error for a template that is not there
  }

  @Test
  void quotaAndIdentities() {
    Accounts.NewKey key = node.createAccount("v1-identities", true, 12, 3456);
    try (SesClient other = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
      var quota = other.getSendQuota();
      assertEquals(12.0, quota.maxSendRate());
      assertEquals(3456.0, quota.max24HourSend());
      assertEquals(0.0, quota.sentLast24Hours());

      other.verifyEmailIdentity(r -> r.emailAddress("Person@Mixed.Example"));
      other.verifyEmailAddress(r -> r.emailAddress("second@mixed.example"));
      other.verifyEmailIdentity(r -> r.emailAddress("person@mixed.example")); // again: no error
      String token = other.verifyDomainIdentity(r -> r.domain("mixed.example")).verificationToken();
      assertEquals(44, token.length(), "an _amazonses TXT value: " + token);
      assertEquals(token, other.verifyDomainIdentity(r -> r.domain("mixed.example")).verificationToken());
      List<String> dkim = other.verifyDomainDkim(r -> r.domain("mixed.example")).dkimTokens();
      assertEquals(1, dkim.size());

      ListIdentitiesResponse all = other.listIdentities(r -> { });
      assertEquals(List.of("mixed.example", "person@mixed.example", "second@mixed.example"), all.identities());
      assertEquals(List.of("mixed.example"), other.listIdentities(r -> r.identityType(IdentityType.DOMAIN)).identities());
      ListIdentitiesResponse first = other.listIdentities(r -> r.identityType(IdentityType.EMAIL_ADDRESS).maxItems(1));
      assertEquals(List.of("person@mixed.example"), first.identities());
      assertNotNull(first.nextToken());
      ListIdentitiesResponse second = other.listIdentities(r -> r.identityType(IdentityType.EMAIL_ADDRESS).maxItems(1)
          .nextToken(first.nextToken()));
      assertEquals(List.of("second@mixed.example"), second.identities());
      assertNull(second.nextToken());

      Map<String, IdentityVerificationAttributes> attrs = other.getIdentityVerificationAttributes(r -> r.identities(
          "mixed.example", "person@mixed.example", "unknown@mixed.example")).verificationAttributes();
      assertEquals(Set.of("mixed.example", "person@mixed.example"), attrs.keySet());
      assertEquals(VerificationStatus.SUCCESS, attrs.get("person@mixed.example").verificationStatus());
      assertEquals(token, attrs.get("mixed.example").verificationToken());
      assertEquals(List.of("person@mixed.example", "second@mixed.example"),
          other.listVerifiedEmailAddresses().verifiedEmailAddresses());

      other.deleteIdentity(r -> r.identity("second@mixed.example"));
      other.deleteVerifiedEmailAddress(r -> r.emailAddress("person@mixed.example"));
      other.deleteIdentity(r -> r.identity("never@mixed.example")); // as SES: no error
      assertEquals(List.of("mixed.example"), other.listIdentities(r -> { }).identities());
    }
    // the default account does not see them
    assertFalse(ses.listIdentities(r -> { }).identities().contains("mixed.example"));
  }

  @Test
  void sendStatisticsCountWhatReachedAnEnd() {
    Accounts.NewKey key = node.createAccount("v1-statistics", true, 100, 1000);
    try (SesClient other = node.sesV1(key.accessKeyId(), key.secretAccessKey())) {
      assertTrue(other.getSendStatistics().sendDataPoints().isEmpty(), "nothing sent yet");
      other.verifyDomainIdentity(r -> r.domain("stats.example"));
      List<String> ids = new ArrayList<>();
      for (String to : List.of("s1@dest.example", "s2@dest.example", "s3@dest.example", "gone-1@dest.example")) {
        ids.add(other.sendEmail(r -> r.source("s@stats.example").destination(d -> d.toAddresses(to))
            .message(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("t"))))).messageId());
      }
      for (String id : ids) {
        node.awaitOutcomes(id, 1, key.accessKeyId(), key.secretAccessKey());
      }
      var points = Await.until(() -> other.getSendStatistics().sendDataPoints(),
          p -> p.stream().mapToLong(x -> x.deliveryAttempts()).sum() == 4, Duration.ofSeconds(20));
      assertEquals(1, points.stream().mapToLong(x -> x.bounces()).sum(), points.toString());
      assertEquals(0, points.stream().mapToLong(x -> x.complaints()).sum());
      for (var p : points) {
        assertEquals(0, p.timestamp().getEpochSecond() % 900, "15-minute intervals: " + p);
      }
    }
    // another account's statistics are its own
    assertTrue(ses.getSendStatistics().sendDataPoints().stream().noneMatch(p -> p.bounces() > 0));
  }

  @Test
  void configurationSetsAndDkimAttributes() {
    ses.createConfigurationSet(r -> r.configurationSet(c -> c.name("v1-set")));
    assertThrows(software.amazon.awssdk.services.ses.model.ConfigurationSetAlreadyExistsException.class,
        () -> ses.createConfigurationSet(r -> r.configurationSet(c -> c.name("v1-set"))));
    assertTrue(ses.listConfigurationSets(r -> { }).configurationSets().stream()
        .anyMatch(c -> c.name().equals("v1-set")));
    var described = ses.describeConfigurationSet(r -> r.configurationSetName("v1-set").configurationSetAttributeNames(
        software.amazon.awssdk.services.ses.model.ConfigurationSetAttribute.DELIVERY_OPTIONS,
        software.amazon.awssdk.services.ses.model.ConfigurationSetAttribute.REPUTATION_OPTIONS));
    assertEquals("v1-set", described.configurationSet().name());
    assertNull(described.deliveryOptions(), "none set: none answered, as SES answers");
    assertTrue(described.reputationOptions().sendingEnabled());
    assertFalse(described.reputationOptions().reputationMetricsEnabled());
    ses.updateConfigurationSetReputationMetricsEnabled(r -> r.configurationSetName("v1-set").enabled(false));
    SesException metrics = assertThrows(SesException.class, () -> ses.updateConfigurationSetReputationMetricsEnabled(
        r -> r.configurationSetName("v1-set").enabled(true)));
    assertEquals("InvalidParameterValue", metrics.awsErrorDetails().errorCode());
    ses.putConfigurationSetDeliveryOptions(r -> r.configurationSetName("v1-set")
        .deliveryOptions(d -> d.tlsPolicy(software.amazon.awssdk.services.ses.model.TlsPolicy.REQUIRE)));
    // v1's own codes, which the SDK throws as exceptions of their own; nothing changed or created
    var tls = assertThrows(software.amazon.awssdk.services.ses.model.InvalidDeliveryOptionsException.class,
        () -> ses.putConfigurationSetDeliveryOptions(r -> r.configurationSetName("v1-set")
            .deliveryOptions(d -> d.tlsPolicy("Sometimes"))));
    assertEquals("InvalidDeliveryOptions", tls.awsErrorDetails().errorCode());
    assertEquals(400, tls.statusCode());
    assertTrue(tls.getMessage().contains("TlsPolicy must be Require or Optional"), tls.getMessage());
    var badName = assertThrows(software.amazon.awssdk.services.ses.model.InvalidConfigurationSetException.class,
        () -> ses.createConfigurationSet(r -> r.configurationSet(c -> c.name("v1 set"))));
    assertEquals("InvalidConfigurationSet", badName.awsErrorDetails().errorCode());
    assertEquals(400, badName.statusCode());
    assertTrue(badName.getMessage().contains("may contain only ASCII letters"), badName.getMessage());
    assertThrows(software.amazon.awssdk.services.ses.model.InvalidConfigurationSetException.class,
        () -> ses.createConfigurationSet(r -> r.configurationSet(c -> c.name("s".repeat(65)))));
    assertFalse(ses.listConfigurationSets(r -> { }).configurationSets().stream()
        .anyMatch(c -> c.name().startsWith("v1 ") || c.name().startsWith("sss")));
    assertEquals(software.amazon.awssdk.services.ses.model.TlsPolicy.REQUIRE, ses.describeConfigurationSet(r -> r
        .configurationSetName("v1-set").configurationSetAttributeNames(
            software.amazon.awssdk.services.ses.model.ConfigurationSetAttribute.DELIVERY_OPTIONS))
        .deliveryOptions().tlsPolicy());
    // the same set seen through v2
    try (var v2 = node.sesV2()) {
      assertEquals("REQUIRE", v2.getConfigurationSet(r -> r.configurationSetName("v1-set")).deliveryOptions()
          .tlsPolicyAsString());
    }
    ses.updateConfigurationSetSendingEnabled(r -> r.configurationSetName("v1-set").enabled(false));
    assertThrows(software.amazon.awssdk.services.ses.model.ConfigurationSetSendingPausedException.class,
        () -> ses.sendEmail(r -> r.source("x@v1.example").destination(d -> d.toAddresses("a@dest.example"))
            .configurationSetName("v1-set")
            .message(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("t"))))));
    ses.deleteConfigurationSet(r -> r.configurationSetName("v1-set"));
    assertThrows(software.amazon.awssdk.services.ses.model.ConfigurationSetDoesNotExistException.class,
        () -> ses.describeConfigurationSet(r -> r.configurationSetName("v1-set")));
    assertThrows(software.amazon.awssdk.services.ses.model.ConfigurationSetDoesNotExistException.class,
        () -> ses.deleteConfigurationSet(r -> r.configurationSetName("v1-set")));

    ses.verifyDomainDkim(r -> r.domain("dkim-v1.example"));
    ses.verifyEmailIdentity(r -> r.emailAddress("someone@dkim-v1.example"));
    var dkim = ses.getIdentityDkimAttributes(r -> r.identities("dkim-v1.example", "someone@dkim-v1.example",
        "nobody@elsewhere.example")).dkimAttributes();
    assertEquals(Set.of("dkim-v1.example", "someone@dkim-v1.example"), dkim.keySet());
    assertTrue(dkim.get("dkim-v1.example").dkimEnabled());
    assertEquals(VerificationStatus.SUCCESS, dkim.get("dkim-v1.example").dkimVerificationStatus());
    assertEquals(1, dkim.get("dkim-v1.example").dkimTokens().size());
    assertEquals(dkim.get("dkim-v1.example"), dkim.get("someone@dkim-v1.example"), "an address shows its domain's");
    ses.setIdentityDkimEnabled(r -> r.identity("dkim-v1.example").dkimEnabled(false));
    assertFalse(ses.getIdentityDkimAttributes(r -> r.identities("dkim-v1.example")).dkimAttributes()
        .get("dkim-v1.example").dkimEnabled());
  }

  /** Every tag is stored with the message and copied into each recipient's events: a message carries at most 50. */
  @Test
  void aMessageCarriesAtMostFiftyTags() {
    List<MessageTag> fifty = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      fifty.add(MessageTag.builder().name("t" + i).value("v" + i).build());
    }
    String id = ses.sendEmail(r -> r.source("x@v1.example").destination(d -> d.toAddresses("tagged@dest.example"))
        .message(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t")))).tags(fifty)).messageId();
    assertTrue(node.message(id).encode().contains("\"v49\""), "all fifty kept");
    long before = Db.count(pg, "SELECT count(*) FROM messages");
    List<MessageTag> more = new ArrayList<>(fifty);
    more.add(MessageTag.builder().name("t50").value("v50").build());
    SesException e = assertThrows(SesException.class, () -> ses.sendEmail(r -> r.source("x@v1.example")
        .destination(d -> d.toAddresses("tagged@dest.example"))
        .message(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t")))).tags(more)));
    assertEquals("InvalidParameterValue", e.awsErrorDetails().errorCode());
    assertTrue(e.awsErrorDetails().errorMessage().contains("at most 50 EmailTags (51 given)"), e.getMessage());
    assertEquals(before, Db.count(pg, "SELECT count(*) FROM messages"), "nothing stored");
  }

  @Test
  void badInputGetsSesXmlErrorsAndStoresNothing() {
    long before = Db.count(pg, "SELECT count(*) FROM messages");
    MessageRejectedException unverified = assertThrows(MessageRejectedException.class, () -> ses.sendEmail(r -> r
        .source("someone@unverified.example").destination(d -> d.toAddresses("a@dest.example"))
        .message(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t"))))));
    assertEquals(400, unverified.statusCode());
    assertTrue(unverified.getMessage().contains("not verified"), unverified.getMessage());
    // the ReturnPath gets forwarded feedback: an address nobody verified would be anyone's to flood with bounces
    MessageRejectedException returnPath = assertThrows(MessageRejectedException.class, () -> ses.sendEmail(r -> r
        .source("x@v1.example").returnPath("victim@unverified.example").destination(d -> d.toAddresses("a@dest.example"))
        .message(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t"))))));
    assertTrue(returnPath.getMessage().contains("victim@unverified.example"), returnPath.getMessage());
    assertThrows(SesException.class, () -> ses.sendEmail(r -> r.source("x@v1.example").returnPath("not an address")
        .destination(d -> d.toAddresses("a@dest.example"))
        .message(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t"))))));

    SesException injected = assertThrows(SesException.class, () -> ses.sendEmail(r -> r.source("x@v1.example")
        .destination(d -> d.toAddresses("a@dest.example"))
        .message(m -> m.subject(s -> s.data("Hi\r\nBcc: victim@dest.example")).body(b -> b.text(t -> t.data("t"))))));
    assertEquals("InvalidParameterValue", injected.awsErrorDetails().errorCode());
    assertEquals(400, injected.statusCode());

    SesException noBody = assertThrows(SesException.class, () -> ses.sendEmail(r -> r.source("x@v1.example")
        .destination(d -> d.toAddresses("a@dest.example")).message(m -> m.subject(s -> s.data("s")))));
    assertEquals("InvalidParameterValue", noBody.awsErrorDetails().errorCode());

    SesException badAddress = assertThrows(SesException.class, () -> ses.sendEmail(r -> r.source("x@v1.example")
        .destination(d -> d.toAddresses("a@dest.example\r\nRCPT TO:<b@dest.example>"))
        .message(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("t"))))));
    assertEquals("InvalidParameterValue", badAddress.awsErrorDetails().errorCode());

    SesException noRecipients = assertThrows(SesException.class, () -> ses.sendRawEmail(r -> r.rawMessage(m -> m
        .data(SdkBytes.fromUtf8String("From: x@v1.example\r\nSubject: s\r\n\r\nno recipients\r\n")))));
    assertEquals(400, noRecipients.statusCode());

    // the raw wire: malformed base64, an unknown action, a missing action, list members with a gap
    HttpResponse<String> escape = node.signed("POST", "/", "Action=SendRawEmail&Version=2010-12-01&RawMessage.Data=%%%",
        form());
    assertV1Error(escape, 400, "InvalidParameterValue");
    assertTrue(escape.body().contains("%-escape"), escape.body());
    HttpResponse<String> base64 = node.signed("POST", "/", "Action=SendRawEmail&Version=2010-12-01"
        + "&RawMessage.Data=RnJvbTogeEB2MS5leGFtcGxl*Cg%3D%3D", form());
    assertV1Error(base64, 400, "InvalidParameterValue");
    assertTrue(base64.body().contains("Invalid base64 in parameter RawMessage.Data"), base64.body());
    StringBuilder many = new StringBuilder("Action=GetSendQuota");
    for (int i = 0; i < 10_001; i++) {
      many.append("&P").append(i).append("=x");
    }
    HttpResponse<String> tooMany = node.signed("POST", "/", many.toString(), form());
    assertV1Error(tooMany, 400, "InvalidParameterValue");
    assertTrue(tooMany.body().contains("Too many request parameters"), tooMany.body());
    assertV1Error(node.signed("POST", "/", "Action=LaunchRockets&Version=2010-12-01", form()), 400, "InvalidAction");
    // no Action at all is told apart from one SES does not know, as SES's common errors tell them apart
    HttpResponse<String> noAction = node.signed("POST", "/", "Version=2010-12-01", form());
    assertV1Error(noAction, 400, "MissingAction");
    assertTrue(noAction.body().contains("Missing required parameter Action."), noAction.body());
    assertV1Error(node.signed("POST", "/", "Action=&Version=2010-12-01", form()), 400, "MissingAction");
    HttpResponse<String> gap = node.signed("POST", "/", "Action=SendEmail&Source=x%40v1.example"
        + "&Destination.ToAddresses.member.1=a%40dest.example&Destination.ToAddresses.member.3=c%40dest.example"
        + "&Message.Subject.Data=s&Message.Body.Text.Data=t", form());
    assertV1Error(gap, 400, "InvalidParameterValue");
    assertTrue(gap.body().contains("must be numbered from 1 without gaps"), gap.body());
    HttpResponse<String> alias = node.signed("POST", "/", "Action=SendEmail&Source=x%40v1.example"
        + "&Destination.ToAddresses.member.1=a%40dest.example&Destination.ToAddresses.member.01=c%40dest.example"
        + "&Message.Subject.Data=s&Message.Body.Text.Data=t", form());
    assertV1Error(alias, 400, "InvalidParameterValue");
    assertTrue(alias.body().contains("Malformed list parameter Destination.ToAddresses.member.01"), alias.body());
    HttpResponse<String> twice = node.signed("POST", "/", "Action=SendEmail&Action=SendRawEmail", form());
    assertV1Error(twice, 400, "InvalidParameterValue");
    assertTrue(twice.body().contains("Parameter Action is given more than once"), twice.body());
    // what v1 has its own codes for
    assertThrows(software.amazon.awssdk.services.ses.model.ConfigurationSetDoesNotExistException.class,
        () -> ses.sendEmail(r -> r.source("x@v1.example").destination(d -> d.toAddresses("a@dest.example"))
            .configurationSetName("no-such-set")
            .message(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("t"))))));
    assertThrows(software.amazon.awssdk.services.ses.model.InvalidTemplateException.class,
        () -> ses.createTemplate(r -> r.template(t -> t.templateName("v1-broken").subjectPart("{{oops").textPart("t"))));
    ses.createTemplate(r -> r.template(t -> t.templateName("v1-needs-name").subjectPart("Hi {{name}}").textPart("t")));
    // data that lacks an attribute is no error: accepted, and published as a Rendering Failure (RenderingFailureTest)
    var missing = assertThrows(software.amazon.awssdk.services.ses.model.MissingRenderingAttributeException.class,
        () -> ses.testRenderTemplate(r -> r.templateName("v1-needs-name").templateData("{}")));
    assertTrue(missing.getMessage().contains("Attribute 'name' is not present"), missing.getMessage());
    assertThrows(software.amazon.awssdk.services.ses.model.InvalidRenderingParameterException.class,
        () -> ses.sendTemplatedEmail(r -> r.source("x@v1.example").destination(d -> d.toAddresses("a@dest.example"))
            .template("v1-needs-name").templateData("[1, 2]")));
    SesException domainAsAddress = assertThrows(SesException.class,
        () -> ses.verifyEmailIdentity(r -> r.emailAddress("just-a-domain.example")));
    assertEquals("InvalidParameterValue", domainAsAddress.awsErrorDetails().errorCode());
    SesException deleteDomain = assertThrows(SesException.class,
        () -> ses.deleteVerifiedEmailAddress(r -> r.emailAddress("v1.example")));
    assertEquals("InvalidParameterValue", deleteDomain.awsErrorDetails().errorCode());
    assertTrue(ses.listIdentities(r -> { }).identities().contains("v1.example"), "the domain is still there");
    assertEquals(before, Db.count(pg, "SELECT count(*) FROM messages"), "nothing stored for any of them");
  }

  /** SES sends a message with an empty subject ({@code Message.Subject.Data=}); only an absent one is missing. */
  @Test
  void anEmptySubjectIsSentAndAnAbsentOneRefused() throws Exception {
    HttpResponse<String> empty = node.signed("POST", "/", "Action=SendEmail&Version=2010-12-01&Source=x%40v1.example"
        + "&Destination.ToAddresses.member.1=empty-subject%40dest.example"
        + "&Message.Subject.Data=&Message.Body.Text.Data=no+subject", form());
    assertEquals(200, empty.statusCode(), empty.body());
    assertTrue(empty.body().contains("<MessageId>"), empty.body());
    RecordingSmtpServer.Received got = receivedFor("empty-subject@dest.example");
    String data = new String(got.data(), StandardCharsets.UTF_8);
    assertTrue(data.matches("(?s).*\r\nSubject: ?\r\n.*"), data);
    assertTrue(text(parse(got)).startsWith("no subject"), data);
    String sdkId = ses.sendEmail(r -> r.source("x@v1.example").destination(d -> d.toAddresses("empty-sdk@dest.example"))
        .message(m -> m.subject(s -> s.data("")).body(b -> b.text(t -> t.data("t"))))).messageId();
    assertNotNull(sdkId);

    long before = Db.count(pg, "SELECT count(*) FROM messages");
    HttpResponse<String> absent = node.signed("POST", "/", "Action=SendEmail&Version=2010-12-01&Source=x%40v1.example"
        + "&Destination.ToAddresses.member.1=no-subject%40dest.example&Message.Body.Text.Data=t", form());
    assertV1Error(absent, 400, "InvalidParameterValue");
    assertTrue(absent.body().contains("Missing required parameter Message.Subject.Data"), absent.body());
    assertEquals(before, Db.count(pg, "SELECT count(*) FROM messages"));
  }

  @Test
  void authenticationFailuresAreV1Errors() throws Exception {
    try (SesClient wrong = node.sesV1(TestNode.ACCESS_KEY, "not-the-secret")) {
      SesException e = assertThrows(SesException.class, () -> wrong.getSendQuota());
      assertEquals(403, e.statusCode());
      assertEquals("SignatureDoesNotMatch", e.awsErrorDetails().errorCode());
    }
    try (SesClient unknown = node.sesV1("AKIAUNKNOWNKEY000000", "whatever")) {
      SesException e = assertThrows(SesException.class, () -> unknown.getSendQuota());
      assertEquals(403, e.statusCode());
      assertEquals("InvalidClientTokenId", e.awsErrorDetails().errorCode());
    }
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    HttpResponse<String> unsigned = http.send(java.net.http.HttpRequest.newBuilder(node.endpoint().resolve("/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("Action=GetSendQuota")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertV1Error(unsigned, 403, "MissingAuthenticationToken");
    assertTrue(unsigned.body().contains("<Message>Request is missing Authentication Token</Message>"), unsigned.body());

    // a malformed escape in an unauthenticated request's query: refused as unauthenticated, not a 500 (both APIs)
    String escaped = rawGet("/?Action=GetSendQuota&a=%zz");
    assertTrue(escaped.startsWith("HTTP/1.1 403"), escaped);
    assertTrue(escaped.contains("<Code>MissingAuthenticationToken</Code>"), escaped);
    String escapedV2 = rawGet("/v2/email/account?a=%zz");
    assertTrue(escapedV2.startsWith("HTTP/1.1 403"), escapedV2);
    assertTrue(escapedV2.toLowerCase(java.util.Locale.ROOT).contains("x-amzn-errortype: missingauthenticationtokenexception"),
        escapedV2);

    // GET with the parameters in the query string is the same API
    HttpResponse<String> get = node.signed("GET", "/?Action=GetSendQuota&Version=2010-12-01", null, Map.of());
    assertEquals(200, get.statusCode(), get.body());
    assertTrue(get.body().startsWith("<GetSendQuotaResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"
        + "<GetSendQuotaResult>"), get.body());
  }

  /**
   * A client that sends {@code Expect: 100-continue} waits for the interim answer before its body (curl and Guzzle,
   * the PHP SDK's client, do over 1 MB): told at once, it does not wait out its own timeout (a second, curl's) on every
   * large send.
   */
  @Test
  void aClientThatWaitsForContinueIsToldToGoOn() throws IOException {
    String body = "Action=GetSendQuota&Version=2010-12-01";
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", node.endpoint().getPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
          + "Content-Type: application/x-www-form-urlencoded\r\nX-Amz-Date: 20261201T000000Z\r\n"
          + "Authorization: AWS4-HMAC-SHA256 Credential=" + TestNode.ACCESS_KEY + "/20261201/us-east-1/ses/aws4_request, "
          + "SignedHeaders=host;x-amz-date, Signature=" + "0".repeat(64) + "\r\n"
          + "Expect: 100-continue\r\nContent-Length: " + body.length() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      java.io.InputStream in = socket.getInputStream();
      StringBuilder interim = new StringBuilder();
      while (!interim.toString().endsWith("\r\n\r\n")) { // the body is not sent before this answer
        int c = in.read();
        assertTrue(c >= 0, "closed before any answer: " + interim);
        interim.append((char) c);
      }
      assertTrue(interim.toString().startsWith("HTTP/1.1 100 Continue"), interim.toString());
      socket.getOutputStream().write(body.getBytes(StandardCharsets.US_ASCII));
      String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      // then the request is read and judged as any other (this one's signature is made up)
      assertTrue(answer.startsWith("HTTP/1.1 403"), answer);
    }
  }

  /** A GET as written, with a query no URI class accepts; the whole answer (status line, headers, body). */
  private static String rawGet(String target) throws IOException {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", node.endpoint().getPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static Map<String, String> form() {
    return Map.of("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  }

  private static void assertV1Error(HttpResponse<String> r, int status, String code) {
    assertEquals(status, r.statusCode(), r.body());
    assertTrue(r.body().startsWith("<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><Error><Type>"
        + "Sender</Type><Code>" + code + "</Code><Message>"), r.body());
    assertTrue(r.body().contains("<RequestId>"), r.body());
  }
}
