package io.mailgate.api.sesv1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.SmtpClient;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.ses.model.BounceType;
import software.amazon.awssdk.services.ses.model.DsnAction;
import software.amazon.awssdk.services.ses.model.SendBounceRequest;
import software.amazon.awssdk.services.ses.model.SesException;
import software.amazon.awssdk.services.ses.model.StopScope;

/**
 * SES v1 SendBounce through the AWS SDK: mail received over a real SMTP socket by the node's inbound server (a receipt
 * rule of the account's that only stops), then bounced to its sender, delivered to the relay as an RFC 3464 report
 * with a null reverse-path; and every malformed or disallowed request refused with nothing sent.
 */
class SendBounceTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static String pg;
  static int inbound;
  static Accounts.NewKey shop;
  static Accounts.NewKey other;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.startProduction(relay.url(), c -> c.with(MailgateConfig.CACHE_TTL_MILLIS, 200)
        .with(MailgateConfig.DELIVERY_HELO_NAME, "mx.mailgate.test")
        .with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.mailgate.test") // VERP for the account's other mail
        .with(MailgateConfig.RECEIVING_BOUNCES_PER_SECOND, 5.0));
    pg = node.config().get(MailgateConfig.PG_URL);
    inbound = node.config().get(MailgateConfig.SMTP_INBOUND_PORT);
    shop = node.createAccount("shop", true, 100, 10_000);
    other = node.createAccount("other", true, 100, 10_000);
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status) VALUES ('"
        + shop.accountId() + "', 'shop.example', 'DOMAIN', 'SUCCESS'), ('" + other.accountId()
        + "', 'other.example', 'DOMAIN', 'SUCCESS')");
    try (SesClient ses = ses(shop)) {
      ses.createReceiptRuleSet(r -> r.ruleSetName("in"));
      ses.createReceiptRule(r -> r.ruleSetName("in").rule(rule -> rule.name("take").enabled(true)
          .recipients("shop.example").actions(a -> a.stopAction(s -> s.scope(StopScope.RULE_SET)))));
      // without After: first, before the rule that takes the rest of the domain
      ses.createReceiptRule(r -> r.ruleSetName("in").rule(rule -> rule.name("closed").enabled(true)
          .recipients("closed@shop.example").actions(a -> a.s3Action(s3 -> s3.bucketName("closed")), // kept, then
              a -> a.bounceAction(b -> b.smtpReplyCode("550") // bounced after DATA
              .statusCode("5.1.1").message("Closed").sender("mailer-daemon@shop.example")))));
      ses.setActiveReceiptRuleSet(r -> r.ruleSetName("in"));
    }
    try (SesClient ses = ses(other)) {
      ses.createReceiptRuleSet(r -> r.ruleSetName("theirs"));
      ses.createReceiptRule(r -> r.ruleSetName("theirs").rule(rule -> rule.name("take").enabled(true)
          .recipients("other.example").actions(a -> a.stopAction(s -> s.scope(StopScope.RULE_SET)))));
      ses.setActiveReceiptRuleSet(r -> r.ruleSetName("theirs"));
    }
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
  }

  static SesClient ses(Accounts.NewKey key) {
    return node.sesV1(key.accessKeyId(), key.secretAccessKey());
  }

  /** Receives a message for {@code to} (rules written through the API take up to the cache's 200 ms); its id. */
  static String receive(String from, List<String> to, String subject) {
    String data = "From: Customer <customer@outside.example>\r\nTo: " + String.join(", ", to) + "\r\nSubject: "
        + subject + "\r\nMessage-ID: <" + subject.replace(' ', '-') + "@outside.example>\r\n\r\nWhere is my order?";
    List<String> replies = SmtpClient.sendUntil(inbound, from, to, data, r -> r.get(3).startsWith("250"));
    String last = replies.get(replies.size() - 2);
    assertTrue(last.startsWith("250 2.6.0 Message received: "), replies.toString());
    return last.substring(last.lastIndexOf(' ') + 1);
  }

  /** The message the relay got whose Message-ID is {@code messageId}'s. */
  static RecordingSmtpServer.Received delivered(String messageId) {
    return Await.until(() -> relay.received().stream().filter(m -> m.text().contains("<" + messageId + "@"))
        .findFirst(), java.util.Optional::isPresent, Duration.ofSeconds(20)).get();
  }

  @Test
  void aBounceGoesToTheSenderAsAReportWithANullReversePath() {
    String id = receive("customer@outside.example", List.of("orders@shop.example", "sales@shop.example"), "order 1");
    assertEquals("customer@outside.example|{orders@shop.example,sales@shop.example}", Db.string(pg,
        "SELECT reverse_path || '|' || recipients::text FROM received_messages WHERE message_id = '" + id + "'"));
    String bounceId;
    try (SesClient ses = ses(shop)) {
      bounceId = ses.sendBounce(r -> r.originalMessageId(id).bounceSender("Shop Mail <mailer-daemon@shop.example>")
          .explanation("That mailbox was closed.")
          .bouncedRecipientInfoList(b -> b.recipient("Orders@Shop.Example").bounceType(BounceType.DOES_NOT_EXIST)))
          .messageId();
    }
    RecordingSmtpServer.Received got = delivered(bounceId);
    assertEquals("", got.mailFrom(), "MAIL FROM:<>, as a delivery status notification is sent (RFC 5321 4.5.5)");
    assertEquals(List.of("customer@outside.example"), got.rcptTo());
    String text = got.text();
    assertTrue(text.contains("From: Shop Mail <mailer-daemon@shop.example>\r\n"), text);
    assertTrue(text.contains("To: customer@outside.example\r\n"), text);
    assertTrue(text.contains("Subject: Delivery Status Notification (Failure)\r\n"), text);
    assertTrue(text.contains("In-Reply-To: <order-1@outside.example>\r\n"), text);
    assertTrue(text.contains("Content-Type: multipart/report; report-type=delivery-status;"), text);
    assertTrue(text.contains("That mailbox was closed."), text);
    String arrived = java.time.format.DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", java.util.Locale.US)
        .withZone(java.time.ZoneOffset.UTC).format(Instant.ofEpochSecond(Long.parseLong(Db.string(pg,
            "SELECT floor(extract(epoch FROM received_at))::bigint FROM received_messages WHERE message_id = '" + id
            + "'"))));
    assertTrue(text.contains("\r\nReporting-MTA: dns; mx.mailgate.test\r\nArrival-Date: " + arrived + "\r\n"),
        "when the message arrived, by default: " + text);
    assertTrue(text.contains("\r\nFinal-Recipient: rfc822; Orders@Shop.Example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        + "Diagnostic-Code: smtp; 550 5.1.1 The mailbox does not exist\r\n"), text);
    // the received message's headers, Mailgate's trace first, and not its body
    assertTrue(text.contains("Content-Type: text/rfc822-headers\r\n\r\nReturn-Path: <customer@outside.example>\r\n"
        + "Received: from "), text);
    assertTrue(text.contains("\r\nSubject: order 1\r\n"), text);
    assertTrue(!text.contains("Where is my order?"), text);
    assertEquals("|true", Db.string(pg, "SELECT envelope_from || '|' || (verp_domain IS NULL) FROM messages "
        + "WHERE id = '"
        + bounceId + "'"), "stored with the null reverse-path it is delivered with, and no VERP address");
    assertEquals("SendBounce", Db.string(pg, "SELECT operation FROM messages WHERE id = '" + bounceId + "'"),
        "its events' ses:operation");
  }

  @Test
  void theCallersOwnFieldsGoIntoTheReport() {
    String id = receive("customer@outside.example", List.of("orders@shop.example", "sales@shop.example"), "order 2");
    String bounceId;
    try (SesClient ses = ses(shop)) {
      bounceId = ses.sendBounce(r -> r.originalMessageId(id).bounceSender("mailer-daemon@shop.example")
          .messageDsn(d -> d.reportingMta("dns; inbound.shop.example")
              .arrivalDate(Instant.parse("2026-11-30T10:00:00Z"))
              .extensionFields(e -> e.name("X-Shop-Ticket").value("T-17")))
          .bouncedRecipientInfoList(
              b -> b.recipient("sales@shop.example").recipientDsnFields(f -> f.action(DsnAction.FAILED)
                  .status("5.2.2").remoteMta("mailstore.shop.example").diagnosticCode("552 5.2.2 Over quota")
                  .lastAttemptDate(Instant.parse("2026-12-01T07:59:00Z"))
                  .extensionFields(e -> e.name("X-Mailbox").value("sales"))),
              // the type's fields, with a status of the caller's: the type's diagnostic would contradict it
              b -> b.recipient("orders@shop.example").bounceType(BounceType.TEMPORARY_FAILURE)
                  .recipientDsnFields(f -> f.status("4.4.7"))))
          .messageId();
    }
    String text = delivered(bounceId).text();
    assertTrue(text.contains("\r\nReporting-MTA: dns; inbound.shop.example\r\n"
        + "Arrival-Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nX-Shop-Ticket: T-17\r\n"), text);
    assertTrue(text.contains("\r\nFinal-Recipient: rfc822; sales@shop.example\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        + "Remote-MTA: dns; mailstore.shop.example\r\nDiagnostic-Code: smtp; 552 5.2.2 Over quota\r\n"
        + "Last-Attempt-Date: Tue, 1 Dec 2026 07:59:00 +0000\r\nX-Mailbox: sales\r\n"), text);
    assertTrue(text.contains("\r\nFinal-Recipient: rfc822; orders@shop.example\r\nAction: delayed\r\n"
        + "Status: 4.4.7\r\n\r\n--"), text);
    assertTrue(text.contains("Subject: Delivery Status Notification (Failure)\r\n"), "not every recipient delayed");
  }

  /** A long header line of the message and a long extension value still make a bounce that is sent. */
  @Test
  void longLinesAreCutAndFoldedAndTheBounceIsSent() {
    String id = receive("customer@outside.example", List.of("orders@shop.example"), "long " + "x".repeat(1200));
    String value = ("a long value " + "v".repeat(50) + " ").repeat(40).substring(0, 2047).strip();
    try (SesClient ses = ses(shop)) {
      String bounceId = ses.sendBounce(r -> r.originalMessageId(id).bounceSender("mailer-daemon@shop.example")
          .messageDsn(d -> d.reportingMta("dns; mx.shop.example").extensionFields(e -> e.name("X-Note").value(value)))
          .bouncedRecipientInfoList(b -> b.recipient("orders@shop.example").recipientDsnFields(f -> f
              .finalRecipient("rfc822; orders@shop.example").action(DsnAction.FAILED).status("5.2.2"))))
          .messageId();
      String text = delivered(bounceId).text();
      assertTrue(text.contains("\r\nFinal-Recipient: rfc822; orders@shop.example\r\nAction: failed\r\n"
          + "Status: 5.2.2\r\n"), text);
      assertTrue(text.replace("\r\n ", " ").contains("\r\nX-Note: " + value + "\r\n"), text);
      assertTrue(text.contains("\r\nSubject: long " + "x".repeat(989 - 5) + "\r\n"), "cut at 998: " + text);
    }
  }

  /** Every refusal is SES-shaped and sends nothing: no message row, nothing at the relay. */
  @Test
  void badRequestsSendNothing() {
    String id = receive("customer@outside.example", List.of("orders@shop.example"), "order 3");
    String fromNobody = receive("", List.of("orders@shop.example"), "a notification");
    String expired = receive("customer@outside.example", List.of("orders@shop.example"), "order 4");
    Db.execute(pg, "UPDATE received_messages SET received_at = now() - interval '25 hours' WHERE message_id = '"
        + expired + "'");
    long messages = Db.count(pg, "SELECT count(*) FROM messages WHERE account_id IN ('" + shop.accountId() + "', '"
        + other.accountId() + "')");
    int atRelay = relay.received().size();
    Consumer<SendBounceRequest.Builder> good = r -> r.originalMessageId(id).bounceSender("mailer-daemon@shop.example")
        .bouncedRecipientInfoList(b -> b.recipient("orders@shop.example").bounceType(BounceType.DOES_NOT_EXIST));
    try (SesClient ses = ses(shop); SesClient theirs = ses(other)) {
      refused(ses, "MessageRejected", "was not received", good.andThen(r -> r.originalMessageId("0".repeat(40))));
      refused(ses, "MessageRejected", "was not received", good.andThen(r -> r.originalMessageId(expired)));
      refused(theirs, "MessageRejected", "was not received",
          good.andThen(r -> r.bounceSender("mailer-daemon@other.example")));
      refused(ses, "MessageRejected", "null reverse-path", good.andThen(r -> r.originalMessageId(fromNobody)));
      refused(ses, "MessageRejected", "not verified",
          good.andThen(r -> r.bounceSender("postmaster@unverified.example")));
      refused(ses, "InvalidParameterValue", "",
          good.andThen(r -> r.bounceSender("a@shop.example\r\nBcc: x@y.example")));
      refused(ses, "InvalidParameterValue", "is not a recipient", good.andThen(r -> r.bouncedRecipientInfoList(
          b -> b.recipient("nobody@shop.example").bounceType(BounceType.DOES_NOT_EXIST))));
      refused(ses, "InvalidParameterValue", "named twice", good.andThen(r -> r.bouncedRecipientInfoList(
          b -> b.recipient("orders@shop.example").bounceType(BounceType.DOES_NOT_EXIST),
          b -> b.recipient("ORDERS@shop.example").bounceType(BounceType.UNDEFINED))));
      refused(ses, "InvalidParameterValue", "BouncedRecipientInfoList",
          good.andThen(r -> r.bouncedRecipientInfoList(List.of())));
      refused(ses, "InvalidParameterValue", "BounceType", good.andThen(r -> r.bouncedRecipientInfoList(
          b -> b.recipient("orders@shop.example").bounceType("Bogus"))));
      refused(ses, "InvalidParameterValue", "RecipientDsnFields", good.andThen(r -> r.bouncedRecipientInfoList(
          b -> b.recipient("orders@shop.example"))));
      refused(ses, "InvalidParameterValue", "Status", good.andThen(r -> r.bouncedRecipientInfoList(
          b -> b.recipient("orders@shop.example")
              .recipientDsnFields(f -> f.action(DsnAction.FAILED).status("6.0.0")))));
      refused(ses, "InvalidParameterValue", "line break", good.andThen(r -> r.bouncedRecipientInfoList(
          b -> b.recipient("orders@shop.example").recipientDsnFields(f -> f.action(DsnAction.FAILED).status("5.0.0")
              .diagnosticCode("smtp; 550 gone\r\nStatus: 2.0.0")))));
      refused(ses, "InvalidParameterValue", "RFC 3464", good.andThen(r -> r.messageDsn(d -> d
          .reportingMta("dns; x.example")
          .extensionFields(e -> e.name("Final-Recipient").value("rfc822; boss@shop.example")))));
      refused(ses, "InvalidParameterValue", "ReportingMta", good.andThen(r -> r.messageDsn(d -> d.extensionFields(
          e -> e.name("X-Ticket").value("1")))));
    }
    // a timestamp the SDKs would not write: through a signed form of our own
    java.net.http.HttpResponse<String> badDate = node.signed("POST", "/", "Action=SendBounce&Version=2010-12-01"
        + "&OriginalMessageId=" + id + "&BounceSender=mailer-daemon%40shop.example"
        + "&BouncedRecipientInfoList.member.1.Recipient=orders%40shop.example"
        + "&BouncedRecipientInfoList.member.1.BounceType=DoesNotExist"
        + "&MessageDsn.ReportingMta=dns%3B%20x.example&MessageDsn.ArrivalDate=yesterday",
        java.util.Map.of("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), shop.accessKeyId(),
        shop.secretAccessKey());
    assertEquals(400, badDate.statusCode(), badDate.body());
    assertTrue(badDate.body().contains("<Code>InvalidParameterValue</Code>") && badDate.body().contains("ISO 8601"),
        badDate.body());
    assertEquals(messages, Db.count(pg, "SELECT count(*) FROM messages WHERE account_id IN ('" + shop.accountId()
        + "', '" + other.accountId() + "')"), "nothing was accepted");
    assertEquals(atRelay, relay.received().size());
  }

  /**
   * receiving.bouncesPerSecond (5 here; SES's 1 by default): calls beyond it, counted across the nodes in Redis, are
   * Throttling and send nothing; the limit is a rate, so a call a moment later goes.
   */
  @Test
  void callsBeyondTheRateAreThrottledAndSendNothing() throws Exception {
    String id = receive("rush@outside.example", List.of("orders@shop.example"), "rush 1");
    Thread.sleep(1100); // the account's calls of the other tests are given back by now
    List<String> sent = new CopyOnWriteArrayList<>();
    List<SesException> refusals = new CopyOnWriteArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(20);
    SesException throttled = null;
    double took;
    long start = System.nanoTime();
    try (SesClient ses = ses(shop)) {
      List<Future<?>> calls = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        calls.add(pool.submit(() -> {
          try {
            sent.add(ses.sendBounce(bounceOf(id)).messageId());
          } catch (SesException e) {
            refusals.add(e);
          }
        }));
      }
      for (Future<?> call : calls) {
        call.get();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      assertEquals(20, sent.size() + refusals.size());
      assertTrue(sent.size() >= 1 && sent.size() <= 5 + Math.floor(5 * seconds), sent.size() + " sent in " + seconds
          + " s");
      assertTrue(!refusals.isEmpty() || seconds >= 3, "20 calls in " + seconds + " s, none refused");
      for (SesException e : refusals) {
        assertEquals("Throttling", e.awsErrorDetails().errorCode(), e.getMessage());
        assertEquals(400, e.statusCode());
        assertEquals("Maximum SendBounce rate exceeded (5.0 per second).", e.awsErrorDetails().errorMessage());
      }
      // the limit is a rate: a moment later calls go again, one after another, until the second's are used up (a
      // call given back whatever its outcome would make it a limit on concurrent calls only)
      Thread.sleep(1100);
      long again = System.nanoTime();
      for (int i = 0; i < 12 && throttled == null; i++) {
        try {
          sent.add(ses.sendBounce(bounceOf(id)).messageId());
        } catch (SesException e) {
          assertTrue(i >= 5, "the bucket was full again: " + e.getMessage());
          throttled = e;
        }
      }
      took = (System.nanoTime() - again) / 1e9;
    } finally {
      pool.shutdownNow();
    }
    for (String bounceId : sent) {
      delivered(bounceId);
    }
    Thread.sleep(300);
    assertEquals(sent.size(), relay.received().stream().filter(m -> m.rcptTo().contains("rush@outside.example"))
        .count(), "a refused call sent nothing");
    assumeTrue(took < 1.4, "12 calls in " + took + " s: 5 + 5 a second of them may go");
    assertEquals("Throttling", throttled == null ? "none" : throttled.awsErrorDetails().errorCode());
  }

  /** A call the send path refuses sent nothing, and does not count against the account's calls of the second. */
  @Test
  void callsTheSendPathRefusesDoNotCount() throws Exception {
    String id = receive("patient@outside.example", List.of("orders@shop.example"), "patient 1");
    Thread.sleep(1100);
    try (SesClient ses = ses(shop)) {
      long start = System.nanoTime();
      for (int i = 0; i < 20; i++) { // from an address the account has not verified
        refused(ses, "MessageRejected", "not verified",
            bounceOf(id).andThen(r -> r.bounceSender("mailer-daemon@unverified.example")));
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      assumeTrue(seconds < 3, "20 refused calls took " + seconds + " s: too slow to tell whether they counted");
      delivered(ses.sendBounce(bounceOf(id)).messageId());
    }
  }

  static Consumer<SendBounceRequest.Builder> bounceOf(String id) {
    return r -> r.originalMessageId(id).bounceSender("mailer-daemon@shop.example")
        .bouncedRecipientInfoList(b -> b.recipient("orders@shop.example").bounceType(BounceType.DOES_NOT_EXIST));
  }

  static void refused(SesClient ses, String code, String says, Consumer<SendBounceRequest.Builder> request) {
    SesException e = assertThrows(SesException.class, () -> ses.sendBounce(request));
    assertEquals(code, e.awsErrorDetails().errorCode(), e.getMessage());
    assertEquals(400, e.statusCode());
    assertTrue(e.awsErrorDetails().errorMessage().contains(says), e.getMessage());
  }

  /**
   * BounceSenderArn: the bounce may come from another account's identity when that identity's sending authorization
   * policy allows the caller ses:SendBounce (a policy for ses:SendEmail alone does not).
   */
  @Test
  void aBounceMayComeFromAnotherAccountsIdentityItsPolicyAllows() {
    String id = receive("customer@outside.example", List.of("orders@shop.example"), "order 6");
    String arn = "arn:aws:ses:us-east-1:" + other.accountId() + ":identity/other.example";
    Consumer<SendBounceRequest.Builder> bounce = r -> r.originalMessageId(id)
        .bounceSender("mailer-daemon@other.example")
        .bounceSenderArn(arn)
        .bouncedRecipientInfoList(b -> b.recipient("orders@shop.example").bounceType(BounceType.DOES_NOT_EXIST));
    try (SesClient ses = ses(shop); SesClient theirs = ses(other)) {
      SesException none = assertThrows(SesException.class, () -> ses.sendBounce(bounce));
      assertEquals("AccessDenied", none.awsErrorDetails().errorCode(), none.getMessage());
      theirs.putIdentityPolicy(r -> r.identity("other.example").policyName("sends")
          .policy(policy(shop.accountId(), "ses:SendEmail", arn)));
      SesException sendsOnly = assertThrows(SesException.class, () -> ses.sendBounce(bounce));
      assertEquals("AccessDenied", sendsOnly.awsErrorDetails().errorCode(), sendsOnly.getMessage());
      theirs.putIdentityPolicy(r -> r.identity("other.example").policyName("bounces")
          .policy(policy(shop.accountId(), "ses:SendBounce", arn)));
      String bounceId = Await.until(() -> {
        try {
          return ses.sendBounce(bounce).messageId();
        } catch (SesException e) {
          return null; // the policy reaches the send path within the cache's 200 ms
        }
      }, x -> x != null, Duration.ofSeconds(5));
      RecordingSmtpServer.Received got = delivered(bounceId);
      assertEquals("", got.mailFrom());
      assertTrue(got.text().contains("\r\nFrom: mailer-daemon@other.example\r\n"), got.text());
    }
  }

  /** The bounce is a message of the account's as any other: a sender on its suppression list does not get it. */
  @Test
  void aSuppressedSenderGetsNoBounce() {
    try (var v2 = node.sesV2(shop.accessKeyId(), shop.secretAccessKey())) {
      v2.putSuppressedDestination(r -> r.emailAddress("gone@outside.example")
          .reason(software.amazon.awssdk.services.sesv2.model.SuppressionListReason.BOUNCE));
    }
    String id = receive("gone@outside.example", List.of("orders@shop.example"), "order 7");
    String bounceId;
    try (SesClient ses = ses(shop)) {
      bounceId = ses.sendBounce(r -> r.originalMessageId(id).bounceSender("mailer-daemon@shop.example")
          .bouncedRecipientInfoList(b -> b.recipient("orders@shop.example").bounceType(BounceType.DOES_NOT_EXIST)))
          .messageId();
    }
    io.vertx.core.json.JsonObject status = node.awaitOutcomes(bounceId, 1, shop.accessKeyId(),
        shop.secretAccessKey());
    assertTrue(status.encode().contains("\"OnAccountSuppressionList\""), status.encodePrettily());
    assertTrue(relay.received().stream().noneMatch(m -> m.rcptTo().contains("gone@outside.example")));
  }

  static String policy(String principal, String action, String resource) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + principal
        + "\"},\"Action\":\"" + action + "\",\"Resource\":\"" + resource + "\"}]}";
  }

  /** A message the account's rules bounced in the SMTP conversation was not received: nothing is kept of it. */
  @Test
  void aMessageTheRulesBouncedIsNotKept() throws IOException {
    List<String> replies = SmtpClient.sendUntil(inbound, "customer@outside.example", List.of("closed@shop.example"),
        "Subject: hello\r\n\r\nHello", r -> r.get(r.size() - 2).startsWith("550"));
    assertTrue(replies.get(replies.size() - 2).startsWith("550 5.1.1 Closed"), replies.toString());
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'closed'"), "stored first");
    assertEquals(0, Db.count(pg,
        "SELECT count(*) FROM received_messages WHERE 'closed@shop.example' = ANY(recipients)"));
  }
}
