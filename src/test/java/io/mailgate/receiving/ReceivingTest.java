package io.mailgate.receiving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.standardwebhooks.Webhook;
import io.mailgate.config.MailgateConfig;
import io.mailgate.events.WebhookSigner;
import io.mailgate.identity.Accounts;
import io.mailgate.identity.SecretBox;
import io.mailgate.smtp.Envelope;
import io.mailgate.smtp.MailParameters;
import io.mailgate.smtp.Recipient;
import io.mailgate.smtp.SmtpReply;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.SmtpClient;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.ses.model.SNSActionEncoding;

/**
 * Email receiving over a real SMTP socket to the node's inbound server: receipt rules (written to the tables here;
 * the API that writes them has tests of its own) decide per recipient at RCPT TO, and at the end of DATA the message
 * is stored (S3 actions), its notifications queued and posted, signed, to webhooks (SNS actions, topics), or bounced.
 */
class ReceivingTest {
  static RecordingSmtpServer relay;
  static WebhookReceiver webhook;
  static TestNode node;
  static String pg;
  static String account;
  static int inbound;
  static String secret;
  static io.vertx.core.net.SelfSignedCertificate cert;
  static io.mailgate.testing.FakeDnsServer dns;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    webhook = new WebhookReceiver();
    cert = io.vertx.core.net.SelfSignedCertificate.create("mx.mailgate.test");
    dns = io.mailgate.testing.FakeDnsServer.start();
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.CACHE_TTL_MILLIS, 200)
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.SMTP_INBOUND_TLS_CERT, cert.certificatePath())
        .with(MailgateConfig.SMTP_INBOUND_TLS_KEY, cert.privateKeyPath()));
    pg = node.config().get(MailgateConfig.PG_URL);
    account = node.config().get(MailgateConfig.DEV_ACCOUNT_ID);
    inbound = node.config().get(MailgateConfig.SMTP_INBOUND_PORT);
    secret = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY)).secret(account);
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status) VALUES "
        + "('" + account + "', 'inbox.example', 'DOMAIN', 'SUCCESS'), "
        + "('" + account + "', 'pending.example', 'DOMAIN', 'PENDING'), "
        + "('" + account + "', 'solo@else.example', 'EMAIL_ADDRESS', 'SUCCESS')");
    // its DKIM record found once, then gone for good (TEMPORARY_FAILURE, then FAILED): lost
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status, dkim_status, dkim_lost_at) "
        + "VALUES ('" + account + "', 'lapsed.example', 'DOMAIN', 'SUCCESS', 'FAILED', now())");
    Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name, active) VALUES ('" + account + "', 'main', true), "
        + "('" + account + "', 'spare', false)");
    rule("main", 0, "bounce-noreply", "Optional", "{noreply@inbox.example}",
        "[{\"BounceAction\": {\"SmtpReplyCode\": \"550\", \"StatusCode\": \"5.1.1\", \"Message\": \"This mailbox is not "
        + "monitored\", \"Sender\": \"postmaster@inbox.example\"}}]");
    rule("main", 1, "keep-then-bounce", "Optional", "{closed@inbox.example}",
        "[{\"S3Action\": {\"BucketName\": \"inbox\", \"ObjectKeyPrefix\": \"closed/\"}}, {\"BounceAction\": "
        + "{\"SmtpReplyCode\": \"551\", \"Message\": \"Moved away\", \"Sender\": \"postmaster@inbox.example\"}}]");
    rule("main", 2, "secure", "Require", "{secure@inbox.example}", "[{\"S3Action\": {\"BucketName\": \"inbox\"}}]");
    rule("main", 3, "vip", "Optional", "{vip@inbox.example}",
        "[{\"S3Action\": {\"BucketName\": \"vip\"}}, {\"StopAction\": {\"Scope\": \"RuleSet\", \"TopicArn\": \""
        + webhook.url("/stopped") + "\"}}]");
    rule("main", 4, "everyone", "Optional", "{inbox.example,.inbox.example,solo@else.example,lapsed.example}",
        "[{\"AddHeaderAction\": {\"HeaderName\": \"X-Routed\", \"HeaderValue\": \"everyone\"}}, "
        + "{\"S3Action\": {\"BucketName\": \"inbox\", \"ObjectKeyPrefix\": \"all/\", \"TopicArn\": \""
        + webhook.url("/stored") + "\"}}, {\"SNSAction\": {\"TopicArn\": \"" + webhook.url("/full") + "\"}}]");
    rule("main", 5, "disabled", "Optional", "{}", "[{\"S3Action\": {\"BucketName\": \"never\"}}]", false);
  }

  /** An active rule set of another account whose one rule stores {@code domain}'s mail in bucket inbox. */
  static void storesInInbox(String accountId, String domain, String prefix) {
    Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name, active) VALUES ('" + accountId + "', 'theirs', true)");
    Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, recipients, "
        + "actions, scan_enabled) VALUES ('" + accountId + "', 'theirs', 'keep', 0, true, 'Optional', '{" + domain
        + "}', '[{\"S3Action\": {\"BucketName\": \"inbox\", \"ObjectKeyPrefix\": \"" + prefix + "\"}}]', false)");
  }

  /** A domain identity of {@code accountId}, verified (as DNS would have it). */
  static void verifiedDomain(String accountId, String domain) {
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status) VALUES ('" + accountId
        + "', '" + domain + "', 'DOMAIN', 'SUCCESS')");
  }

  static void rule(String set, int position, String name, String tls, String recipients, String actions) {
    rule(set, position, name, tls, recipients, actions, true);
  }

  static void rule(String set, int position, String name, String tls, String recipients, String actions,
      boolean enabled) {
    Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, recipients, "
        + "actions, scan_enabled) VALUES ('" + account + "', '" + set + "', '" + name + "', " + position + ", " + enabled
        + ", '" + tls + "', '" + recipients + "', '" + actions.replace("'", "''") + "', false)");
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
    webhook.close();
    cert.delete();
    dns.close();
  }

  static String message(String to, String subject) {
    return "From: Sender <sender@outside.example>\r\nTo: " + to + "\r\nSubject: " + subject
        + "\r\nMessage-ID: <" + subject.replace(' ', '-') + "@outside.example>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000"
        + "\r\n\r\nHello,\r\n.a line that starts with a dot\r\nBye"; // the client ends the last line
  }

  /**
   * Sends until the reply to the first RCPT TO meets {@code until} (rules and filters written to the tables take
   * up to the cache's 200 ms to be seen); all the replies of the last try.
   */
  static List<String> sendUntil(List<String> to, String data, java.util.function.Predicate<List<String>> until) {
    return SmtpClient.sendUntil(inbound, "a@outside.example", to, data, until);
  }

  /** The id the 250 at the end of DATA names. */
  static String receivedId(List<String> replies) {
    String last = replies.get(replies.size() - 2);
    assertTrue(last.startsWith("250 2.6.0 Message received: "), replies.toString());
    return last.substring(last.lastIndexOf(' ') + 1);
  }

  static String object(String bucket, String key) {
    return Db.string(pg, "SELECT convert_from(content, 'UTF8') FROM received_objects WHERE account_id = '" + account
        + "' AND bucket = '" + bucket + "' AND object_key = '" + key + "'");
  }

  @Test
  void aMessageIsStoredAndItsNotificationsPostedSigned() throws Exception {
    List<String> replies = SmtpClient.send(inbound, "sender@outside.example", List.of("Support@Inbox.Example"),
        message("support@inbox.example", "stored and posted"));
    String id = receivedId(replies);
    assertEquals(40, id.length());
    String stored = object("inbox", "all/" + id);
    assertTrue(stored.startsWith("Return-Path: <sender@outside.example>\r\nReceived: from test.example (127.0.0.1)"),
        stored);
    assertTrue(stored.contains(" id " + id + "\r\n\tfor <Support@Inbox.Example>;"), stored);
    assertTrue(stored.contains("\r\nX-Routed: everyone\r\nFrom: Sender <sender@outside.example>\r\n"), stored);
    assertTrue(stored.endsWith("\r\n\r\nHello,\r\n.a line that starts with a dot\r\nBye\r\n"), stored);

    WebhookReceiver.Post full = Await.until(() -> webhook.posts("/full", id), p -> !p.isEmpty(),
        Duration.ofSeconds(20)).get(0);
    new Webhook(secret).verify(full.body(), full.headers());
    // and under the action's URL's own secret, which no other destination's posts verify with
    WebhookSigner signer = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY));
    new Webhook(signer.secret(account, 0, webhook.url("/full"))).verify(full.body(), full.headers());
    assertThrows(com.standardwebhooks.exceptions.WebhookVerificationException.class, () -> new Webhook(
        signer.secret(account, 0, webhook.url("/stored"))).verify(full.body(), full.headers()));
    assertTrue(full.headers().get("webhook-id").get(0).startsWith("rcv_"));
    JsonObject n = full.json();
    assertEquals("Received", n.getString("notificationType"));
    assertEquals(stored, n.getString("content"));
    JsonObject receipt = n.getJsonObject("receipt");
    assertEquals(new JsonArray().add("Support@Inbox.Example"), receipt.getJsonArray("recipients"));
    assertEquals(new JsonObject().put("type", "SNS").put("topicArn", webhook.url("/full")).put("encoding", "UTF8"),
        receipt.getJsonObject("action"));
    assertEquals("DISABLED", receipt.getJsonObject("spamVerdict").getString("status"));
    assertEquals("GRAY", receipt.getJsonObject("spfVerdict").getString("status"));
    JsonObject mail = n.getJsonObject("mail");
    assertEquals("sender@outside.example", mail.getString("source"));
    assertEquals(new JsonArray().add("Support@Inbox.Example"), mail.getJsonArray("destination"));
    JsonObject common = mail.getJsonObject("commonHeaders");
    assertEquals("stored and posted", common.getString("subject"));
    assertEquals("<stored-and-posted@outside.example>", common.getString("messageId"));
    assertEquals(new JsonArray().add("Sender <sender@outside.example>"), common.getJsonArray("from"));
    assertEquals("sender@outside.example", common.getString("returnPath"), "the address, without <>, as in SES");
    assertEquals(List.of("Return-Path", "Received", "X-Routed", "From", "To", "Subject", "Message-ID", "Date"),
        mail.getJsonArray("headers").stream().map(h -> ((JsonObject) h).getString("name")).toList());
    assertEquals("<sender@outside.example>", mail.getJsonArray("headers").getJsonObject(0).getString("value"));
    assertFalse(mail.getBoolean("headersTruncated"));

    JsonObject s3 = Await.until(() -> webhook.posts("/stored", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
        .get(0).json();
    assertFalse(s3.containsKey("content"), "an S3 action's notification does not carry the message");
    assertEquals(new JsonObject().put("type", "S3").put("topicArn", webhook.url("/stored")).put("bucketName", "inbox")
        .put("objectKeyPrefix", "all/").put("objectKey", "all/" + id), s3.getJsonObject("receipt").getJsonObject("action"));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM receipt_outbox WHERE message_id = '" + id + "'") == 0,
        Duration.ofSeconds(10));
    String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
        node.endpoint().resolve("/_mailgate/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    assertTrue(metrics.matches("(?s).*\nmailgate_received_total\\{result=\"stored\"\\} [1-9].*"), metrics);
    assertTrue(metrics.matches("(?s).*\nmailgate_receipt_notifications_total [1-9].*"), metrics);
  }

  /** Rules written through the SES v1 API (the AWS SDK) are the rules the inbound server runs. */
  @Test
  void rulesWrittenThroughTheApiRouteMail() throws Exception {
    Accounts.NewKey tenant = node.createAccount("receiver", true, 10, 1000);
    verifiedDomain(tenant.accountId(), "tenant.example");
    try (SesClient ses = node.sesV1(tenant.accessKeyId(), tenant.secretAccessKey())) {
      ses.createReceiptRuleSet(r -> r.ruleSetName("incoming"));
      ses.createReceiptRule(r -> r.ruleSetName("incoming").rule(rule -> rule.name("keep").enabled(true)
          .recipients("orders@tenant.example")
          .actions(a -> a.addHeaderAction(h -> h.headerName("X-Tenant").headerValue("yes")),
              a -> a.s3Action(s3 -> s3.bucketName("orders").objectKeyPrefix("in/")),
              a -> a.snsAction(sns -> sns.topicArn(webhook.url("/tenant")).encoding(SNSActionEncoding.BASE64)))));
      List<String> before = SmtpClient.send(inbound, "a@outside.example", List.of("orders@tenant.example"),
          message("orders@tenant.example", "before activation"));
      assertTrue(before.get(3).startsWith("550 5.7.1 Relay access denied"), "no active set yet: " + before);
      ses.setActiveReceiptRuleSet(r -> r.ruleSetName("incoming"));
      List<String> replies = sendUntil(List.of("orders@tenant.example", "other@tenant.example"),
          message("orders@tenant.example", "through the api"), r -> r.get(3).startsWith("250"));
      assertTrue(replies.get(4).startsWith("550 5.1.1"), "no rule takes other@: " + replies);
      String id = receivedId(replies);
      String stored = Db.string(pg, "SELECT convert_from(content, 'UTF8') FROM received_objects WHERE account_id = '"
          + tenant.accountId() + "' AND bucket = 'orders' AND object_key = 'in/" + id + "'");
      assertTrue(stored.contains("\r\nX-Tenant: yes\r\n"), stored);
      WebhookReceiver.Post post = Await.until(() -> webhook.posts("/tenant", id), p -> !p.isEmpty(),
          Duration.ofSeconds(20)).get(0);
      new Webhook(new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY)).secret(tenant.accountId()))
          .verify(post.body(), post.headers());
      assertEquals(stored, new String(Base64.getDecoder().decode(post.json().getString("content")),
          StandardCharsets.UTF_8));
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE account_id = '" + account
          + "' AND message_id = '" + id + "'"), "the other account has no rule for tenant.example");
    }
  }

  /**
   * Recipients of two tenants take a transaction each: what one tenant's rules make of the message (its copies,
   * counted against a cap) must not refuse it for the other's recipients.
   */
  @Test
  void recipientsOfAnotherAccountTakeATransactionOfTheirOwn() throws Exception {
    Accounts.NewKey other = node.createAccount("neighbour", true, 10, 1000);
    verifiedDomain(other.accountId(), "neighbour.example");
    storesInInbox(other.accountId(), "neighbour.example", "n/");
    List<String> replies = SmtpClient.send(inbound, "a@outside.example",
        // vip@'s rules store it and stop, as the neighbour's store it: alike but for their accounts
        List.of("vip@inbox.example", "desk@neighbour.example"), message("vip@inbox.example", "two tenants"));
    assertTrue(replies.get(3).startsWith("250"), replies.toString());
    assertTrue(replies.get(4).startsWith("452 4.5.3"), "another account's recipient: " + replies);
    assertTrue(replies.get(6).startsWith("250"), "the first one's received: " + replies);
    replies = SmtpClient.send(inbound, "a@outside.example", List.of("desk@neighbour.example"),
        message("desk@neighbour.example", "its own"));
    assertTrue(replies.get(5).startsWith("250"), "alone, received: " + replies);
  }

  /** Two accounts that verified one domain each run their own rules on the message, into their own buckets. */
  @Test
  void twoAccountsReceivingForOneDomainEachGetTheirCopy() throws Exception {
    Accounts.NewKey other = node.createAccount("co-owner", true, 10, 1000);
    verifiedDomain(account, "shared.example");
    verifiedDomain(other.accountId(), "shared.example");
    storesInInbox(other.accountId(), "shared.example", "co/");
    rule("main", 11, "shared", "Optional", "{shared.example}",
        "[{\"S3Action\": {\"BucketName\": \"inbox\", \"ObjectKeyPrefix\": \"mine/\"}}]");
    Thread.sleep(400); // this account's rules, cached by earlier tests, are read again after cache.ttlMillis (200 ms)
    String id = receivedId(sendUntil(List.of("team@shared.example"), message("team@shared.example", "for both"),
        r -> r.get(3).startsWith("250")));
    assertTrue(object("inbox", "mine/" + id).contains("Subject: for both"), "this account's rule");
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM received_objects WHERE account_id = '" + other.accountId()
        + "' AND bucket = 'inbox' AND object_key = 'co/" + id + "'"), "the other account's own rule");
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE account_id = '" + other.accountId()
        + "' AND object_key = 'mine/" + id + "'"), "and not this account's copy");
  }

  /**
   * One account's rules that refuse a message (17 copies of it, over the cap) refuse it for that account alone: the
   * other account receiving for the domain still gets its copy, and the message is accepted. Only when every
   * account's rules refuse it is it refused.
   */
  @Test
  void anAccountsRulesThatRefuseAMessageDoNotRefuseItForTheOthers() throws Exception {
    Accounts.NewKey greedy = node.createAccount("greedy", true, 10, 1000);
    verifiedDomain(account, "crowded.example");
    verifiedDomain(greedy.accountId(), "crowded.example");
    StringBuilder copies = new StringBuilder("[");
    for (int i = 0; i <= MailReceiver.MAX_OBJECTS; i++) {
      copies.append(i == 0 ? "" : ", ").append("{\"S3Action\": {\"BucketName\": \"greedy\", \"ObjectKeyPrefix\": \"")
          .append(i).append("/\"}}");
    }
    Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name, active) VALUES ('" + greedy.accountId()
        + "', 'greedy', true)");
    Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, recipients, "
        + "actions, scan_enabled) VALUES ('" + greedy.accountId() + "', 'greedy', 'copies', 0, true, 'Optional', '{}', '"
        + copies + "]', false)");
    String alone = "team@crowded.example";
    List<String> refused = sendUntil(List.of(alone), message(alone, "greedy alone"), r -> r.get(3).startsWith("250"));
    assertTrue(refused.get(5).startsWith("554 5.3.4"), "its only account refuses it: " + refused);
    rule("main", 14, "crowded-gone", "Optional", "{gone@crowded.example}",
        "[{\"BounceAction\": {\"SmtpReplyCode\": \"550\", \"StatusCode\": \"5.1.1\", \"Message\": \"Gone\", "
        + "\"Sender\": \"postmaster@crowded.example\"}}]");
    rule("main", 15, "crowded", "Optional", "{crowded.example}",
        "[{\"S3Action\": {\"BucketName\": \"inbox\", \"ObjectKeyPrefix\": \"crowded/\"}}]");
    Thread.sleep(400); // this account's rules, cached by earlier tests, are read again after cache.ttlMillis (200 ms)
    String id = receivedId(sendUntil(List.of(alone), message(alone, "for both"), r -> !r.get(5).startsWith("554")));
    assertTrue(object("inbox", "crowded/" + id).contains("Subject: for both"), "this account's copy");
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM received_messages WHERE message_id = '" + id + "'"),
        "received by this account alone");
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE account_id = '" + greedy.accountId()
        + "'"), "nothing of the refusing account's");
    // a recipient this account bounces and only the refusing one would take: neither received nor bounced if the
    // message were taken for the other; refused whole, as with one account, its sender is told
    long objects = Db.count(pg, "SELECT count(*) FROM received_objects");
    List<String> both = SmtpClient.send(inbound, "a@outside.example", List.of(alone, "gone@crowded.example"),
        message(alone, "one gone"));
    assertTrue(both.get(both.size() - 2).startsWith("554 5.3.4"), both.toString());
    assertEquals(objects, Db.count(pg, "SELECT count(*) FROM received_objects"), "nothing kept of a refused message");
  }

  /**
   * The DKIM verdict, from the signer's key in DNS: PASS, FAIL once altered, GRAY unsigned, PROCESSING_FAILED; and
   * DMARC, which passes through the verified signature's domain alone (the MAIL FROM domain has no SPF record).
   */
  @Test
  void notificationsCarryTheDkimVerdict() throws Exception {
    java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    java.security.KeyPair key = generator.generateKeyPair();
    dns.txt("_dmarc.signer.example", "v=DMARC1; p=reject");
    dns.txt("sel._domainkey.signer.example", "v=DKIM1; k=rsa; p="
        + Base64.getEncoder().encodeToString(key.getPublic().getEncoded()));
    String unsigned = "From: a@signer.example\r\nTo: dkim@inbox.example\r\nSubject: signed\r\n\r\nbody\r\n";
    String signature = new org.apache.james.jdkim.DKIMSigner("v=1; a=rsa-sha256; c=relaxed/relaxed; "
        + "d=signer.example; s=sel; h=from:to:subject; bh=; b=;", key.getPrivate())
        .sign(new java.io.ByteArrayInputStream(unsigned.getBytes(StandardCharsets.US_ASCII)));
    String signed = signature + "\r\n" + unsigned.substring(0, unsigned.length() - 2); // the client ends the line
    java.util.Map<String, String> verdicts = new java.util.LinkedHashMap<>();
    for (String[] c : new String[][] {{"pass", signed}, {"fail", signed.replace("Subject: signed", "Subject: altered")},
        {"gray", unsigned.substring(0, unsigned.length() - 2)}}) {
      String id = receivedId(SmtpClient.send(inbound, "a@signer.example", List.of("dkim@inbox.example"), c[1]));
      JsonObject receipt = Await.until(() -> webhook.posts("/full", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
          .get(0).json().getJsonObject("receipt");
      verdicts.put(c[0], receipt.getJsonObject("dkimVerdict").getString("status") + " "
          + receipt.getJsonObject("dmarcVerdict").getString("status"));
    }
    dns.fail("down._domainkey.signer.example", io.mailgate.testing.FakeDnsServer.Failure.SERVFAIL);
    String down = new org.apache.james.jdkim.DKIMSigner("v=1; a=rsa-sha256; c=relaxed/relaxed; "
        + "d=signer.example; s=down; h=from:to:subject; bh=; b=;", key.getPrivate())
        .sign(new java.io.ByteArrayInputStream(unsigned.getBytes(StandardCharsets.US_ASCII)));
    String unavailable = receivedId(SmtpClient.send(inbound, "a@signer.example", List.of("dkim@inbox.example"),
        down + "\r\n" + unsigned.substring(0, unsigned.length() - 2)));
    JsonObject receipt = Await.until(() -> webhook.posts("/full", unavailable), p -> !p.isEmpty(),
        Duration.ofSeconds(30)).get(0).json().getJsonObject("receipt");
    verdicts.put("unavailable", receipt.getJsonObject("dkimVerdict").getString("status") + " "
        + receipt.getJsonObject("dmarcVerdict").getString("status"));
    assertEquals(java.util.Map.of("pass", "PASS PASS", "fail", "FAIL FAIL", "gray", "GRAY FAIL",
        "unavailable", "PROCESSING_FAILED PROCESSING_FAILED"), verdicts,
        "a DMARC that nothing aligns for because a key could not be looked up is no FAIL");
  }

  /**
   * SPF for the client (127.0.0.1) and MAIL FROM, and DMARC for the From domain, from records in DNS: the receipt's
   * spfVerdict, dmarcVerdict and, only on a DMARC FAIL, dmarcPolicy.
   */
  @Test
  void notificationsCarryTheSpfAndDmarcVerdicts() throws Exception {
    dns.txt("spf-pass.example", "v=spf1 ip4:127.0.0.0/8 -all").txt("_dmarc.spf-pass.example", "v=DMARC1; p=reject");
    dns.txt("spf-fail.example", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.spf-fail.example", "v=DMARC1; p=reject; sp=quarantine");
    dns.txt("spf-soft.example", "v=spf1 ~all");
    dns.txt("spf-broken.example", "v=spf1 ip4:127.0.0.1 include");
    java.util.Map<String, JsonObject> receipts = new java.util.LinkedHashMap<>();
    for (String[] c : new String[][] {{"pass", "a@spf-pass.example", "a@spf-pass.example"},
        {"fail", "a@spf-fail.example", "a@news.spf-fail.example"}, {"soft", "a@spf-soft.example", "a@spf-soft.example"},
        {"broken", "a@spf-broken.example", "a@spf-pass.example"}}) {
      String data = "From: " + c[2] + "\r\nTo: auth@inbox.example\r\nSubject: " + c[0] + "\r\n\r\nbody";
      String id = receivedId(SmtpClient.send(inbound, c[1], List.of("auth@inbox.example"), data));
      receipts.put(c[0], Await.until(() -> webhook.posts("/full", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
          .get(0).json().getJsonObject("receipt"));
    }
    java.util.Map<String, List<String>> verdicts = new java.util.LinkedHashMap<>();
    receipts.forEach((k, r) -> verdicts.put(k, java.util.Arrays.asList(
        r.getJsonObject("spfVerdict").getString("status"), r.getJsonObject("dmarcVerdict").getString("status"),
        r.getString("dmarcPolicy"))));
    assertEquals(java.util.Map.of(
        "pass", java.util.Arrays.asList("PASS", "PASS", null),
        "fail", List.of("FAIL", "FAIL", "quarantine"),
        "soft", java.util.Arrays.asList("GRAY", "GRAY", null),
        "broken", List.of("PROCESSING_FAILED", "FAIL", "reject")), verdicts);
    assertFalse(receipts.get("pass").containsKey("dmarcPolicy"), "no dmarcPolicy unless DMARC failed");
  }

  @Test
  void subdomainsAreReceivedOthersRefused() throws IOException {
    String sub = receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("x@eu.inbox.example"),
        message("x@eu.inbox.example", "subdomain")));
    assertTrue(object("inbox", "all/" + sub).contains("Subject: subdomain"));
    // a verified address alone receives nothing, as in SES (only through a verified domain of its account), though a
    // rule names it; the rest of else.example is not the account's either; pending.example is not verified;
    // lapsed.example's DKIM records are gone for good; nobody has elsewhere.example
    for (String to : List.of("solo@else.example", "other@else.example", "x@pending.example", "x@lapsed.example",
        "x@elsewhere.example")) {
      List<String> replies = SmtpClient.send(inbound, "a@outside.example", List.of(to), message(to, "refused"));
      assertTrue(replies.get(3).startsWith("550 5.7.1 Relay access denied"), to + ": " + replies);
    }
  }

  /**
   * An account that verified an address of another account's domain (VerifyEmailIdentity: a click on a link mailed
   * to it) does not receive that address's mail: the domain's owner does, alone.
   */
  @Test
  void anAddressVerifiedByAnotherAccountDoesNotTakeItsDomainsMail() throws IOException {
    Accounts.NewKey other = node.createAccount("address-only", true, 10, 1000);
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status) VALUES ('"
        + other.accountId() + "', 'bob@inbox.example', 'EMAIL_ADDRESS', 'SUCCESS')");
    Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name, active) VALUES ('" + other.accountId()
        + "', 'catch-all', true)");
    Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, recipients, "
        + "actions, scan_enabled) VALUES ('" + other.accountId() + "', 'catch-all', 'all', 0, true, 'Optional', '{}', "
        + "'[{\"S3Action\": {\"BucketName\": \"taken\"}}]', false)");
    String id = receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("bob@inbox.example"),
        message("bob@inbox.example", "for the domain's owner")));
    assertTrue(object("inbox", "all/" + id).contains("Subject: for the domain's owner"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE account_id = '" + other.accountId()
        + "'"), "nothing for the account that verified only the address");
  }

  /** Another account's MAIL FROM domain, not verified, does not take the domain's mail away from its rules. */
  @Test
  void anUnverifiedMailFromDomainDoesNotDivertMail() throws IOException {
    Accounts.NewKey other = node.createAccount("squatter", true, 10, 1000);
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status, mail_from_domain, "
        + "mail_from_status) VALUES ('" + other.accountId() + "', 'inbox.example', 'DOMAIN', 'PENDING', "
        + "'mail.inbox.example', 'PENDING')");
    String id = receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("x@mail.inbox.example"),
        message("x@mail.inbox.example", "not diverted")));
    assertTrue(object("inbox", "all/" + id).contains("Subject: not diverted"));
  }

  /**
   * A verified MAIL FROM domain of an account that verified only an address of the domain (its MX check finds the MX
   * the receiving account set up) does not take the mail of the domain another account receives for; one of an
   * account that verified the domain itself does (its bounces come back there).
   */
  @Test
  void aMailFromDomainUnderAnotherAccountsReceivingDomainDoesNotDivertMail() throws IOException {
    Accounts.NewKey other = node.createAccount("mail-from-squatter", true, 10, 1000);
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status, mail_from_domain, "
        + "mail_from_status) VALUES ('" + other.accountId() + "', 'bob@inbox.example', 'EMAIL_ADDRESS', 'SUCCESS', "
        + "'support.inbox.example', 'SUCCESS')");
    String id = receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("x@support.inbox.example"),
        message("x@support.inbox.example", "still received")));
    assertTrue(object("inbox", "all/" + id).contains("Subject: still received"));
    Accounts.NewKey owner = node.createAccount("mail-from-owner", true, 10, 1000);
    Db.execute(pg, "INSERT INTO identities (account_id, identity, type, verification_status, mail_from_domain, "
        + "mail_from_status) VALUES ('" + owner.accountId() + "', 'inbox.example', 'DOMAIN', 'SUCCESS', "
        + "'bounces.inbox.example', 'SUCCESS')");
    List<String> feedback = SmtpClient.send(inbound, "a@outside.example", List.of("x@bounces.inbox.example"),
        message("x@bounces.inbox.example", "a bounce"));
    assertEquals("250 2.0.0 Ok: queued", feedback.get(feedback.size() - 2), "kept as feedback, not said how");
  }

  @Test
  void aRecipientIsReceivedWhateverItsCase() throws IOException {
    String id = receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("Case@EU.Inbox.Example"),
        message("Case@EU.Inbox.Example", "in capitals")));
    assertTrue(object("inbox", "all/" + id).contains("Subject: in capitals"));
  }

  /** A webhook that does not answer holds its own notifications back, not the other webhooks'. */
  @Test
  void aHangingWebhookDoesNotHoldUpTheOthers() throws Exception {
    verifiedDomain(account, "hang.example");
    rule("main", 8, "hanging", "Optional", "{hang.example}", "[{\"SNSAction\": {\"TopicArn\": \""
        + webhook.url("/hang") + "\"}}]");
    webhook.hang("/hang");
    try {
      for (int i = 0; i < 12; i++) {
        receivedId(sendUntil(List.of("x@hang.example"), message("x@hang.example", "hangs"),
            x -> x.get(3).startsWith("250")));
      }
      Await.until(() -> webhook.posts("/hang").size() >= 2, Duration.ofSeconds(10));
      long sent = System.nanoTime();
      String id = receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("quick@inbox.example"),
          message("quick@inbox.example", "not held up")));
      Await.until(() -> !webhook.posts("/full", id).isEmpty(), Duration.ofSeconds(20));
      long waited = (System.nanoTime() - sent) / 1_000_000;
      assertTrue(waited < 3000, "posted " + waited + " ms after it was received");
    } finally {
      webhook.release("/hang");
    }
  }

  /**
   * A receipt webhook that keeps failing rests as an event destination does: after three failures in a row (its
   * notifications, and their retries a second later on this node) its rows wait in the table for its pause (30 s;
   * then one post at a time) instead of each being posted, and retried on its own backoff, so a few dead webhooks
   * cannot keep every slot; the other webhooks' notifications go on.
   */
  @Test
  void aFailingReceiptWebhookIsPausedAndTheOthersAreNot() throws Exception {
    verifiedDomain(account, "down.example");
    rule("main", 10, "failing", "Optional", "{down.example}", "[{\"SNSAction\": {\"TopicArn\": \""
        + webhook.url("/rcv-down") + "\"}}]");
    webhook.failFirst("/rcv-down", 1_000_000);
    try {
      receivedId(sendUntil(List.of("x@down.example"), message("x@down.example", "down 0"),
          x -> x.get(3).startsWith("250")));
      for (int i = 1; i < 3; i++) {
        receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("x@down.example"),
            message("x@down.example", "down " + i)));
      }
      Await.until(() -> webhook.posts("/rcv-down").size() >= 3, Duration.ofSeconds(10));
      int posted = -1;
      // until no post for 3 s: retries come a second apart until it rests for 30 s (2 s of quiet was not enough on a
      // loaded machine, where a retry can come later than that)
      for (int last = -2; posted != last; ) {
        last = posted;
        Thread.sleep(3000);
        posted = webhook.posts("/rcv-down").size();
      }
      for (int i = 3; i < 12; i++) { // it rests: these wait in the table
        receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("x@down.example"),
            message("x@down.example", "down " + i)));
      }
      String id = receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("quick@inbox.example"),
          message("quick@inbox.example", "not paused")));
      Await.until(() -> !webhook.posts("/full", id).isEmpty(), Duration.ofSeconds(10));
      Thread.sleep(1000);
      assertEquals(posted, webhook.posts("/rcv-down").size(), "no post to the resting webhook");
    } finally {
      webhook.failFirst("/rcv-down", 0);
    }
  }

  /**
   * Recipients' plans may hold copies of an account's rules loaded at different times (the cache expired between two
   * lookups): each recipient's rules still run.
   */
  @Test
  void rulesLoadedSeparatelyForEachRecipientAllRun() {
    java.util.function.Supplier<ReceivingDirectory.AccountRules> load = () -> new ReceivingDirectory.AccountRules(
        account, "copy", List.of(
            new ReceiptRule("to-a", true, "Optional", List.of("a@copies.example"),
                List.of(new ReceiptAction.S3("copies", "a/", null, null)), false),
            new ReceiptRule("to-b", true, "Optional", List.of("b@copies.example"),
                List.of(new ReceiptAction.S3("copies", "b/", null, null)), false)),
        List.of(), List.of());
    ReceiptPlan a = ReceiptPlan.of("a@copies.example", List.of(load.get()), false, true, null);
    ReceiptPlan b = ReceiptPlan.of("b@copies.example", List.of(load.get()), false, true, null);
    String id = receivedDirectly(List.of(a, b), "copies");
    assertTrue(object("copies", "a/" + id).contains("Subject: copies"));
    assertTrue(object("copies", "b/" + id).contains("Subject: copies"));
  }

  /** A message to the plans' recipients, given to a MailReceiver of its own (not through SMTP): its id. */
  private static String receivedDirectly(List<ReceiptPlan> plans, String subject) {
    SmtpReply reply = receiveDirectly(plans, message(plans.get(0).recipient(), subject), 10 * 1024 * 1024);
    assertEquals(250, reply.code(), reply.toString());
    return reply.text().substring(reply.text().lastIndexOf(' ') + 1);
  }

  /** The reply to {@code data}, given to a MailReceiver of its own for messages up to {@code maxMessageBytes}. */
  private static SmtpReply receiveDirectly(List<ReceiptPlan> plans, String data, long maxMessageBytes) {
    io.vertx.sqlclient.Pool pool = io.mailgate.store.Database.pool(node.vertx(), node.config(), 1);
    try {
      MailReceiver receiver = new MailReceiver(node.vertx(), pool, java.time.Clock.systemUTC(), "mx.test", 1,
          maxMessageBytes, new SenderAuthentication(node.vertx(), null));
      Envelope envelope = new Envelope("s@outside.example", MailParameters.NONE, plans.stream()
          .map(p -> new Recipient(p.recipient(), java.util.Map.of())).toList(), "client.test", null, false, null, false,
          false);
      return receiver.receive(envelope, data.getBytes(StandardCharsets.UTF_8), plans, java.time.Instant.now())
          .await();
    } finally {
      pool.close();
    }
  }

  /**
   * What a message's rules store and post together is at most four times the largest message (and 1 MB): beyond, the
   * message is refused, and nothing of it written. Copies after an AddHeader each differ, and each is counted.
   */
  @Test
  void rulesThatWouldStoreTooMuchOfAMessageRefuseIt() {
    List<ReceiptAction> actions = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      actions.add(new ReceiptAction.AddHeader("X-Copy", Integer.toString(i)));
      actions.add(new ReceiptAction.S3("heavy", i + "/", null, null));
    }
    ReceivingDirectory.AccountRules rules = new ReceivingDirectory.AccountRules(account, "heavy", List.of(
        new ReceiptRule("heavy", true, "Optional", List.of(), actions, false)), List.of(), List.of());
    long limit = 300 * 1024;
    String data = message("x@heavy.example", "heavy") + "\r\n" + ("y".repeat(998) + "\r\n").repeat(300);
    ReceiptPlan plan = ReceiptPlan.of("x@heavy.example", List.of(rules), false, true, null);
    SmtpReply refused = receiveDirectly(List.of(plan), data, limit); // 8 copies of 300 KB: over 4 x 300 KB + 1 MB
    assertEquals(552, refused.code(), refused.toString());
    assertEquals("5.3.4", refused.enhancedStatus());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'heavy'"));
    ReceiptPlan fewer = ReceiptPlan.of("x@heavy.example", List.of(new ReceivingDirectory.AccountRules(account,
        "heavy", List.of(new ReceiptRule("heavy", true, "Optional", List.of(), actions.subList(0, 12), false)),
        List.of(), List.of())), false, true, null);
    assertEquals(250, receiveDirectly(List.of(fewer), data, limit).code(), "6 copies fit");
    assertEquals(6, Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'heavy'"));
    // rules that write one object again and again store it once, and are counted once
    ReceiptPlan same = ReceiptPlan.of("x@heavy.example", List.of(new ReceivingDirectory.AccountRules(account,
        "heavy", List.of(new ReceiptRule("heavy", true, "Optional", List.of(),
            java.util.Collections.nCopies(8, new ReceiptAction.S3("same", "k/", null, null)), false)),
        List.of(), List.of())), false, true, null);
    assertEquals(250, receiveDirectly(List.of(same), data, limit).code(), "8 writes of one object");
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'same'"));
    // but a header added before each write makes a copy each time, held until the message is done: each is counted
    // (they were not, the object's size being the same, and 500 such pairs held 500 copies of the message)
    List<ReceiptAction> rewrites = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      rewrites.add(new ReceiptAction.AddHeader("X-Copy", Integer.toString(i)));
      rewrites.add(new ReceiptAction.S3("rewritten", "k/", null, null));
    }
    ReceiptPlan rewritten = ReceiptPlan.of("x@heavy.example", List.of(new ReceivingDirectory.AccountRules(account,
        "heavy", List.of(new ReceiptRule("heavy", true, "Optional", List.of(), rewrites, false)), List.of(),
        List.of())), false, true, null);
    SmtpReply copies = receiveDirectly(List.of(rewritten), data, limit);
    assertEquals(552, copies.code(), copies.toString());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'rewritten'"));
    ReceiptPlan fewerRewrites = ReceiptPlan.of("x@heavy.example", List.of(new ReceivingDirectory.AccountRules(account,
        "heavy", List.of(new ReceiptRule("heavy", true, "Optional", List.of(), rewrites.subList(0, 6), false)),
        List.of(), List.of())), false, true, null);
    assertEquals(250, receiveDirectly(List.of(fewerRewrites), data, limit).code(), "3 copies fit");
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'rewritten'"));
  }

  /**
   * While the database stalls, messages wait in memory for it, with every copy their rules made: up to 1,000 of them
   * (and a sixteenth of the heap); the next is refused at once ({@link MailReceiver#BUSY}), and nothing of it written.
   */
  @Test
  void messagesBeyondWhatMayWaitForTheDatabaseAreRefused() throws Exception {
    ReceiptPlan plan = ReceiptPlan.of("x@queued.example", List.of(new ReceivingDirectory.AccountRules(account,
        "queued", List.of(new ReceiptRule("queued", true, "Optional", List.of(),
            List.of(new ReceiptAction.S3("queued", null, null, null)), false)), List.of(), List.of())), false, true, null);
    byte[] data = message("x@queued.example", "queued").getBytes(StandardCharsets.UTF_8);
    Envelope envelope = new Envelope("s@outside.example", MailParameters.NONE,
        List.of(new Recipient("x@queued.example", java.util.Map.of())), "client.test", null, false, null, false, false);
    io.vertx.sqlclient.Pool pool = io.mailgate.store.Database.pool(node.vertx(), node.config(), 1);
    String jdbc = "jdbc:" + pg.replace("postgresql://postgres@", "postgresql://");
    try (java.sql.Connection lock = java.sql.DriverManager.getConnection(jdbc, "postgres", "")) {
      lock.setAutoCommit(false);
      lock.createStatement().execute("LOCK TABLE received_objects IN EXCLUSIVE MODE"); // inserts wait
      MailReceiver receiver = new MailReceiver(node.vertx(), pool, java.time.Clock.systemUTC(), "mx.test", 1,
          10 * 1024 * 1024, new SenderAuthentication(node.vertx(), null));
      List<io.vertx.core.Future<SmtpReply>> replies = new java.util.ArrayList<>();
      java.util.concurrent.CompletableFuture<Void> submitted = new java.util.concurrent.CompletableFuture<>();
      node.vertx().getOrCreateContext().runOnContext(v -> { // one in flight, 1,000 waiting, and one more
        for (int i = 0; i < MailReceiver.MAX_QUEUED + 2; i++) {
          replies.add(receiver.receive(envelope, data, List.of(plan), java.time.Instant.now()));
        }
        submitted.complete(null);
      });
      submitted.get(10, java.util.concurrent.TimeUnit.SECONDS);
      io.vertx.core.Future<SmtpReply> last = replies.get(replies.size() - 1);
      assertTrue(last.failed() && last.cause() instanceof io.mailgate.store.GroupCommit.Full, String.valueOf(last));
      assertFalse(replies.get(replies.size() - 2).isComplete(), "the others wait");
      lock.commit();
      for (io.vertx.core.Future<SmtpReply> r : replies.subList(0, replies.size() - 1)) {
        assertEquals(250, r.toCompletionStage().toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS)
            .code());
      }
      assertEquals(MailReceiver.MAX_QUEUED + 1, Db.count(pg, "SELECT count(*) FROM received_objects "
          + "WHERE bucket = 'queued'"));
    } finally {
      pool.close();
    }
  }

  /**
   * A Bounce action's message of up to 1,000 characters is sent on as many reply lines as it takes, each within RFC
   * 5321's 512 octets, cut at spaces.
   */
  @Test
  void aLongBounceMessageIsAMultiLineReply() {
    String text = ("This mailbox is closed; write to the new address instead. ").repeat(16).strip();
    assertTrue(text.length() > 900 && text.length() <= 1000, Integer.toString(text.length()));
    SmtpReply reply = ReceiptPlan.reply(new ReceiptAction.Bounce("550", "5.1.1", text, "postmaster@x.example", null));
    assertTrue(reply.lines().size() > 1, reply.toString());
    for (String line : reply.toWire().split("(?<=\r\n)")) {
      assertTrue(line.length() <= 512, line.length() + ": " + line);
    }
    assertEquals(text, String.join(" ", reply.lines()));
    assertEquals(List.of("Moved away"), ReceiptPlan.reply(new ReceiptAction.Bounce("551", null, "Moved away",
        "postmaster@x.example", null)).lines());
  }

  /**
   * Received mail is whatever was sent: a malformed header line is passed over, not the whole header section, and
   * Mailgate's own Return-Path and Received stay at the top of the notification's headers.
   */
  @Test
  void aMalformedHeaderLineLeavesTheOthersInTheNotification() throws IOException {
    String data = "From: Sender <sender@outside.example>\r\nThis line has no colon\r\nSubject : spaced\r\n"
        + "X-M\u00e4rke: 8-bit\r\nTo: x@inbox.example\r\n\r\nbody";
    String id = receivedId(SmtpClient.send(inbound, "sender@outside.example", List.of("malformed@inbox.example"),
        data, true));
    JsonObject mail = Await.until(() -> webhook.posts("/full", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
        .get(0).json().getJsonObject("mail");
    assertEquals(List.of("Return-Path", "Received", "X-Routed", "From", "Subject", "X-M\u00e4rke", "To"),
        mail.getJsonArray("headers").stream().map(h -> ((JsonObject) h).getString("name")).toList());
    assertFalse(mail.getBoolean("headersTruncated"));
    JsonObject common = mail.getJsonObject("commonHeaders");
    assertEquals("spaced", common.getString("subject"));
    assertEquals("sender@outside.example", common.getString("returnPath"));
    assertEquals(new JsonArray().add("x@inbox.example"), common.getJsonArray("to"));
  }

  /**
   * With SMTPUTF8 (RFC 6531) a sender may write the domain in Unicode: it is the Punycode domain the account verified
   * and its rule names.
   */
  @Test
  void aUnicodeDomainIsItsPunycodeForm() throws Exception {
    verifiedDomain(account, "xn--bcher-kva.example");
    rule("main", 12, "idn", "Optional", "{xn--bcher-kva.example}",
        "[{\"S3Action\": {\"BucketName\": \"idn\", \"ObjectKeyPrefix\": \"in/\"}}]");
    Thread.sleep(400); // this account's rules, cached by earlier tests, are read again after cache.ttlMillis
    List<String> replies = Await.until(() -> {
      try {
        return SmtpClient.send(inbound, "a@outside.example", List.of("info@bücher.example"),
            message("info@xn--bcher-kva.example", "to a unicode domain"), true);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, r -> r.get(3).startsWith("250"), Duration.ofSeconds(5));
    assertTrue(object("idn", "in/" + receivedId(replies)).contains("Subject: to a unicode domain"), replies.toString());
    // IDNA2003 would make faß.example fass.example, another domain (IDNA2008's is xn--fa-hia.example): no match
    verifiedDomain(account, "fass.example");
    rule("main", 13, "fass", "Optional", "{fass.example}", "[{\"S3Action\": {\"BucketName\": \"idn\"}}]");
    Thread.sleep(400);
    List<String> refused = SmtpClient.send(inbound, "a@outside.example", List.of("info@faß.example"),
        message("info@fass.example", "not for fass"), true);
    assertTrue(refused.get(3).startsWith("550"), refused.toString());
  }

  /**
   * Rules run in their rule set's order whichever recipient brought them: R1 (for a) and R2 (for b) add headers that
   * R3 (for everyone) stores, though a's plan lists R1 then R3 and b's R2 then R3.
   */
  @Test
  void rulesOfDifferentRecipientsRunInTheRuleSetsOrder() {
    ReceivingDirectory.AccountRules rules = new ReceivingDirectory.AccountRules(account, "ordered", List.of(
        new ReceiptRule("r1", true, "Optional", List.of("a@ordered.example"),
            List.of(new ReceiptAction.AddHeader("X-From-R1", "a")), false),
        new ReceiptRule("r2", true, "Optional", List.of("b@ordered.example"),
            List.of(new ReceiptAction.AddHeader("X-From-R2", "b")), false),
        new ReceiptRule("r3", true, "Optional", List.of(),
            List.of(new ReceiptAction.S3("ordered", "all/", null, null)), false)),
        List.of(), List.of());
    ReceiptPlan a = ReceiptPlan.of("a@ordered.example", List.of(rules), false, true, null);
    ReceiptPlan b = ReceiptPlan.of("b@ordered.example", List.of(rules), false, true, null);
    String stored = object("ordered", "all/" + receivedDirectly(List.of(a, b), "in order"));
    assertTrue(stored.contains("X-From-R1: a\r\n") && stored.contains("X-From-R2: b\r\n"), stored);
  }

  /** Rules that would store a message many times over refuse it, rather than multiply it in memory and storage. */
  @Test
  void rulesThatStoreAMessageTooOftenRefuseIt() throws IOException {
    verifiedDomain(account, "many.example");
    StringBuilder actions = new StringBuilder("[");
    for (int i = 0; i < 9; i++) {
      actions.append(i == 0 ? "" : ", ").append("{\"S3Action\": {\"BucketName\": \"many\", \"ObjectKeyPrefix\": \"")
          .append(i).append("/\"}}");
    }
    rule("main", 9, "many-1", "Optional", "{many.example}", actions + "]");
    rule("main", 10, "many-2", "Optional", "{many.example}", actions.toString().replace("/", "b/") + "]");
    List<String> replies = sendUntil(List.of("x@many.example"), message("x@many.example", "too many copies"),
        r -> r.get(3).startsWith("250"));
    assertTrue(replies.get(5).startsWith("554 5.3.4"), replies.toString());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'many'"));
  }

  @Test
  void aBounceActionAnswersWithItsReply() throws IOException {
    List<String> replies = SmtpClient.send(inbound, "a@outside.example", List.of("noreply@inbox.example"),
        message("noreply@inbox.example", "to noreply"));
    assertEquals("550 5.1.1 This mailbox is not monitored", replies.get(3), replies.toString());
    // an action before the bounce needs the message: accepted at RCPT, bounced at the end of DATA, kept meanwhile
    long before = Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'inbox' AND object_key LIKE 'closed/%'");
    replies = SmtpClient.send(inbound, "a@outside.example", List.of("closed@inbox.example"),
        message("closed@inbox.example", "to closed"));
    assertTrue(replies.get(3).startsWith("250"), replies.toString());
    assertEquals("551 5.0.0 Moved away", replies.get(5), replies.toString());
    assertEquals(before + 1,
        Db.count(pg, "SELECT count(*) FROM received_objects WHERE bucket = 'inbox' AND object_key LIKE 'closed/%'"));
  }

  @Test
  void recipientsOfOneTransactionShareItsOutcome() throws IOException {
    List<String> replies = SmtpClient.send(inbound, "a@outside.example",
        List.of("one@inbox.example", "closed@inbox.example", "two@inbox.example", "nobody@elsewhere.example"),
        message("one@inbox.example", "shared outcome"));
    assertTrue(replies.get(3).startsWith("250"), replies.toString());
    assertTrue(replies.get(4).startsWith("452 4.5.3"), "bounces, unlike the first: " + replies);
    assertTrue(replies.get(5).startsWith("250"), replies.toString());
    assertTrue(replies.get(6).startsWith("550 5.7.1"), replies.toString());
    String id = receivedId(replies);
    JsonObject n = Await.until(() -> webhook.posts("/full", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
        .get(0).json();
    assertEquals(new JsonArray().add("one@inbox.example").add("two@inbox.example"),
        n.getJsonObject("receipt").getJsonArray("recipients"));
  }

  @Test
  void aStopActionEndsTheRuleSet() throws IOException {
    String id = receivedId(SmtpClient.send(inbound, "a@outside.example", List.of("vip@inbox.example"),
        message("vip@inbox.example", "for the vip")));
    assertTrue(object("vip", id).contains("Subject: for the vip"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE object_key = 'all/" + id + "'"));
    JsonObject stop = Await.until(() -> webhook.posts("/stopped", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
        .get(0).json();
    assertEquals("Stop", stop.getJsonObject("receipt").getJsonObject("action").getString("type"));
  }

  @Test
  void aRuleThatRequiresTlsRefusesAPlainSession() throws IOException {
    List<String> replies = SmtpClient.send(inbound, "a@outside.example", List.of("secure@inbox.example"),
        message("secure@inbox.example", "plain"));
    assertTrue(replies.get(3).startsWith("530 5.7.0"), replies.toString());
  }

  /**
   * A rule requires TLS on a server that has no certificate (no STARTTLS offered): 454, for the sender to try again
   * once the operator configured one, not 530's "issue STARTTLS" for a command the server does not offer, nor a
   * permanent refusal.
   */
  @Test
  void aRuleThatRequiresTlsOnAServerWithoutItDefers() {
    ReceiptRule secure = new ReceiptRule("secure", true, "Require", List.of(),
        List.of(new ReceiptAction.Stop("RuleSet", null)), false);
    ReceivingDirectory.AccountRules rules = new ReceivingDirectory.AccountRules(account, "secure", List.of(secure),
        List.of(), List.of());
    assertEquals("454 4.7.0", refusal(ReceiptPlan.of("x@secure.example", List.of(rules), false, false, null)));
    assertEquals("530 5.7.0", refusal(ReceiptPlan.of("x@secure.example", List.of(rules), false, true, null)));
    assertEquals(null, ReceiptPlan.of("x@secure.example", List.of(rules), true, true, null).refusal());
  }

  /**
   * One account's receipt filter that blocks the client is not told to the senders of another account's mail: with
   * another account receiving for the address (and no rule of its taking it), the refusal is the neutral no-rule one;
   * only when every account blocks the client is it "blocked by a receipt filter".
   */
  @Test
  void oneAccountsFilterIsNotToldForAnothersRecipient() {
    List<io.mailgate.NetAddresses.Cidr> local = List.of(io.mailgate.NetAddresses.Cidr.parse("127.0.0.0/8"));
    ReceivingDirectory.AccountRules blocking = new ReceivingDirectory.AccountRules("a-blocks", "set", List.of(
        new ReceiptRule("all", true, "Optional", List.of(), List.of(new ReceiptAction.Stop("RuleSet", null)), false)),
        local, List.of());
    ReceivingDirectory.AccountRules noRule = new ReceivingDirectory.AccountRules("b-no-rule", "set", List.of(
        new ReceiptRule("other", true, "Optional", List.of("other@shared.example"),
            List.of(new ReceiptAction.Stop("RuleSet", null)), false)), List.of(), List.of());
    byte[] client = {127, 0, 0, 1};
    assertEquals("550 5.1.1", refusal(ReceiptPlan.of("x@shared.example", List.of(blocking, noRule), true, true,
        client)));
    assertEquals("554 5.7.1", refusal(ReceiptPlan.of("x@shared.example", List.of(blocking), true, true, client)));
    ReceivingDirectory.AccountRules alsoBlocking = new ReceivingDirectory.AccountRules("c-blocks", "set",
        noRule.rules(), local, List.of());
    assertEquals("554 5.7.1", refusal(ReceiptPlan.of("x@shared.example", List.of(blocking, alsoBlocking), true, true,
        client)));
  }

  private static String refusal(ReceiptPlan plan) {
    return plan.refusal().code() + " " + plan.refusal().enhancedStatus();
  }

  @Test
  void aRuleThatRequiresTlsTakesMailAfterStartTls() throws Exception {
    try (Socket plain = new Socket("127.0.0.1", inbound)) {
      plain.setSoTimeout(20_000);
      BufferedReader in = reader(plain);
      OutputStream out = plain.getOutputStream();
      assertTrue(reply(in).startsWith("220"));
      String ehlo = command(out, in, "EHLO client.test");
      assertTrue(ehlo.contains("STARTTLS"), ehlo);
      assertFalse(ehlo.contains("DSN"), "no DSN offered: no success report is written: " + ehlo);
      assertTrue(command(out, in, "STARTTLS").startsWith("220"));
      SSLContext trustAll = SSLContext.getInstance("TLS");
      trustAll.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, null);
      try (SSLSocket tls = (SSLSocket) trustAll.getSocketFactory().createSocket(plain, "127.0.0.1", inbound, true)) {
        tls.startHandshake();
        in = reader(tls);
        out = tls.getOutputStream();
        command(out, in, "EHLO client.test");
        assertTrue(command(out, in, "MAIL FROM:<a@outside.example>").startsWith("250"));
        String rcpt = command(out, in, "RCPT TO:<secure@inbox.example>");
        assertTrue(rcpt.startsWith("250"), rcpt);
        assertTrue(command(out, in, "DATA").startsWith("354"));
        String end = command(out, in, message("secure@inbox.example", "over tls") + "\r\n.");
        assertTrue(end.startsWith("250 2.6.0"), end);
        String id = end.substring(end.lastIndexOf(' ') + 1);
        assertTrue(object("inbox", id).contains("(127.0.0.1)\r\n\t(using " + tls.getSession().getProtocol()
            + ")\r\n\tby "), object("inbox", id));
        assertTrue(object("inbox", id).contains("with ESMTPS id " + id), object("inbox", id));
      }
    }
  }

  static BufferedReader reader(Socket s) throws IOException {
    return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
  }

  /** The last line of a reply. */
  static String reply(BufferedReader in) throws IOException {
    String line;
    do {
      line = in.readLine();
    } while (line != null && line.length() > 3 && line.charAt(3) == '-');
    return line;
  }

  /** The whole reply, lines joined with a line feed. */
  static String command(OutputStream out, BufferedReader in, String line) throws IOException {
    out.write((line + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    StringBuilder all = new StringBuilder();
    String l;
    do {
      l = in.readLine();
      all.append(l).append('\n');
    } while (l != null && l.length() > 3 && l.charAt(3) == '-');
    return all.toString().strip();
  }

  @Test
  void tooLargeForAnSnsActionBounces() throws IOException {
    String big = message("big@inbox.example", "too big") + "\r\nx".concat("x".repeat(997)).repeat(160);
    List<String> replies = SmtpClient.send(inbound, "a@outside.example", List.of("big@inbox.example"), big);
    assertTrue(replies.get(replies.size() - 2).startsWith("552 5.3.4"), replies.toString());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM received_objects WHERE convert_from(content, 'UTF8') "
        + "LIKE '%Subject: too big%'"));
  }

  @Test
  void base64EncodingCarriesTheExactBytes() throws IOException {
    verifiedDomain(account, "b64.example");
    rule("main", 6, "b64", "Optional", "{b64.example}",
        "[{\"SNSAction\": {\"TopicArn\": \"" + webhook.url("/b64") + "\", \"Encoding\": \"Base64\"}}]");
    String body = "From: a@outside.example\r\nSubject: bytes\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        + "\r\nna\u00efve caf\u00e9";
    String id = receivedId(sendUntil(List.of("x@b64.example"), body, r -> r.get(3).startsWith("250")));
    JsonObject n = Await.until(() -> webhook.posts("/b64", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
        .get(0).json();
    assertEquals("BASE64", n.getJsonObject("receipt").getJsonObject("action").getString("encoding"));
    String decoded = new String(Base64.getDecoder().decode(n.getString("content")), StandardCharsets.ISO_8859_1);
    assertTrue(decoded.endsWith("\r\n\r\nna\u00efve caf\u00e9\r\n"), decoded);
  }

  @Test
  void receiptFiltersBlockUnlessAnAllowFilterCoversTheClient() throws IOException {
    try {
      Db.execute(pg, "INSERT INTO receipt_filters (account_id, name, policy, cidr) VALUES ('" + account
          + "', 'block-local', 'Block', '127.0.0.0/8')");
      List<String> replies = sendUntil(List.of("f@inbox.example"), message("f@inbox.example", "filtered"),
          r -> !r.get(3).startsWith("250"));
      assertTrue(replies.get(3).startsWith("554 5.7.1"), replies.toString());
      Db.execute(pg, "INSERT INTO receipt_filters (account_id, name, policy, cidr) VALUES ('" + account
          + "', 'allow-me', 'Allow', '127.0.0.1')");
      replies = sendUntil(List.of("f@inbox.example"), message("f@inbox.example", "allowed"),
          r -> r.get(3).startsWith("250"));
      receivedId(replies);
    } finally {
      Db.execute(pg, "DELETE FROM receipt_filters WHERE account_id = '" + account + "'");
    }
  }

  @Test
  void aFailedWriteAnswers451AndLeavesNothing() throws Exception {
    verifiedDomain(account, "broken.example");
    rule("main", 7, "broken", "Optional", "{broken.example}", "[{\"SNSAction\": {\"TopicArn\": \""
        + webhook.url("/broken") + "\"}}, {\"S3Action\": {\"BucketName\": \"broken\"}}]");
    Db.execute(pg, "CREATE FUNCTION refuse_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + "IF NEW.bucket = 'broken' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$");
    Db.execute(pg, "CREATE TRIGGER refuse_broken BEFORE INSERT ON received_objects FOR EACH ROW "
        + "EXECUTE FUNCTION refuse_broken()");
    try {
      List<String> replies = sendUntil(List.of("x@broken.example"), message("x@broken.example", "broken"),
          r -> r.get(3).startsWith("250"));
      assertTrue(replies.get(5).startsWith("451 4.3.0"), replies.toString());
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM receipt_outbox WHERE url LIKE '%/broken'"));
      assertTrue(webhook.posts("/broken").isEmpty());
      // messages written together with a failing one (concurrent sessions share statements) are written alone
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(20);
      try {
        List<java.util.concurrent.Future<String>> ends = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
          String to = (i % 2 == 0 ? "x@broken.example" : "batch" + i + "@inbox.example");
          ends.add(pool.submit(() -> {
            List<String> r = SmtpClient.send(inbound, "a@outside.example", List.of(to), message(to, "batch"));
            return to + " " + r.get(r.size() - 2);
          }));
        }
        for (java.util.concurrent.Future<String> end : ends) {
          String e = end.get();
          assertTrue(e.startsWith("x@broken") ? e.contains(" 451 4.3.0") : e.contains(" 250 2.6.0"), e);
        }
      } finally {
        pool.shutdown();
      }
    } finally {
      Db.execute(pg, "DROP TRIGGER refuse_broken ON received_objects");
    }
  }
}
