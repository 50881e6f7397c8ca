package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.SmtpClient;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.SuppressionListReason;

/**
 * Asynchronous feedback over a real SMTP socket to the node's inbound server: DSNs tied to their
 * message and recipient through the VERP return path (or, for a message sent without one, the
 * original headers), forged VERP addresses refused, ARF complaints recorded and suppressed,
 * anything else kept for inspection.
 */
public class InboundFeedbackTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static int inbound;
  static String pg;

  @BeforeAll
  static void start() throws IOException {
    // "held" recipients are greylisted: they stay queued
    relay = new RecordingSmtpServer()
        .onRcpt(r -> r.startsWith("held") ? "451 4.7.1 <" + r + ">: greylisted, try again later" : "250 Ok");
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.mailgate.test"));
    ses = node.sesV2();
    inbound = node.config().get(MailgateConfig.SMTP_INBOUND_PORT);
    pg = node.config().get(MailgateConfig.PG_URL);
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  /** Sends a message and returns (message id, its envelope sender as the relay saw it). */
  static String[] sent(String to, String subject) {
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@example.com").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data(subject)).body(b -> b.text(t -> t.data("x")))))).messageId();
    RecordingSmtpServer.Received got = Await.until(() -> relay.received().stream()
        .filter(r -> r.rcptTo().contains(to)).findFirst().orElse(null), r -> r != null, Duration.ofSeconds(20));
    node.awaitOutcomes(id, 1);
    return new String[] {id, got.mailFrom()};
  }

  /**
   * As {@link #sent}, for a message that went out without VERP return paths (its From the envelope sender), as one
   * sent before the node had a bounce domain: this node has one, so the message is made so once delivered.
   */
  static String[] sentWithoutVerp(String to, String subject) {
    String[] sent = sent(to, subject);
    Db.execute(pg, "UPDATE messages SET verp_domain = NULL WHERE id = ?", sent[0]);
    return sent;
  }

  static String dsn(String recipient, String status, String diagnostic, String originalMessageId) {
    return dsn(List.of(recipient), status, diagnostic, originalMessageId);
  }

  /** A DSN that lists each of {@code recipients} as failed alike. */
  static String dsn(List<String> recipients, String status, String diagnostic, String originalMessageId) {
    StringBuilder failed = new StringBuilder();
    for (String recipient : recipients) {
      failed.append("Final-Recipient: rfc822; ").append(recipient).append("\r\n")
          .append("Action: failed\r\nStatus: ").append(status).append("\r\n")
          .append("Remote-MTA: dns; mailstore.remote.example\r\n")
          .append("Diagnostic-Code: smtp; ").append(diagnostic).append("\r\n")
          .append("\r\n");
    }
    String recipient = recipients.get(0);
    return "From: MAILER-DAEMON@mx.remote.example\r\n"
        + "To: bounce-handler\r\n"
        + "Subject: Undelivered Mail Returned to Sender\r\n"
        + "MIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n"
        + "\r\n"
        + "--b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.remote.example.\r\n"
        + "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        + "Reporting-MTA: dns; mx.remote.example\r\n\r\n"
        + failed
        + "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + "From: news@example.com\r\nTo: " + recipient + "\r\nSubject: hi\r\n"
        + (originalMessageId == null ? "" : "Message-ID: <" + originalMessageId + "@email.mailgate.local>\r\n")
        + "\r\n--b1--\r\n";
  }

  static JsonObject last(String id, String type) {
    JsonObject found = null;
    for (Object o : node.message(id).getJsonArray("Events")) {
      if (((JsonObject) o).getString("eventType").equals(type)) {
        found = (JsonObject) o;
      }
    }
    return found;
  }

  @Test
  void dsnToAVerpAddressIsAttributedAndSuppressesTheAddress() throws IOException {
    String[] sent = sent("gone@remote.example", "will bounce later");
    assertTrue(sent[1].endsWith("@bounces.mailgate.test"), sent[1]);
    List<String> replies = SmtpClient.send(inbound, "", List.of(sent[1]),
        dsn("gone@remote.example", "5.1.1", "550 5.1.1 <gone@remote.example>: Recipient address rejected: User unknown",
            null));
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    // the sender is not told the report was matched to a send (a forged one is answered the same: see below)
    assertEquals("250 2.0.0 Ok: queued", replies.get(replies.size() - 2));
    JsonObject bounce = Await.until(() -> last(sent[0], "Bounce"), b -> b != null, Duration.ofSeconds(10))
        .getJsonObject("bounce");
    assertEquals("Permanent", bounce.getString("bounceType"));
    assertEquals("NoEmail", bounce.getString("bounceSubType"));
    assertEquals("gone@remote.example", bounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("emailAddress"));
    assertEquals("dns; mx.remote.example", bounce.getString("reportingMTA"));
    assertEquals(null, bounce.getString("remoteMtaIp"), "Remote-MTA names a host, no address");
    assertEquals("BOUNCED", node.message(sent[0]).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    // the synchronous delivery happened and stays in the history, before the later bounce
    List<String> types = new java.util.ArrayList<>();
    node.message(sent[0]).getJsonArray("Events").forEach(e -> types.add(((JsonObject) e).getString("eventType")));
    assertEquals(List.of("Send", "Delivery", "Bounce"), types);
    assertEquals(SuppressionListReason.BOUNCE, ses.getSuppressedDestination(r -> r.emailAddress("gone@remote.example"))
        .suppressedDestination().reason());
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM global_suppression WHERE email = 'gone@remote.example'"));
  }

  /**
   * An account runs its custom MAIL FROM domain's DNS: an SPF record's {@code %{l}} macro has receivers look each return
   * path up there, and its MX receives what comes back, so it can write a DSN to any of its recipients' return paths.
   * Through one, a hard bounce suppresses for the account alone, never on the global list every account obeys; nor
   * does the same return path's token sent to the operator's bounce domain instead (the HMAC does not cover the domain).
   */
  @Test
  void aDsnThroughACustomMailFromDomainStaysWithTheAccount() throws IOException {
    ses.createEmailIdentity(r -> r.emailIdentity("own-bounces.example"));
    ses.putEmailIdentityMailFromAttributes(r -> r.emailIdentity("own-bounces.example")
        .mailFromDomain("mail.own-bounces.example"));
    List<String> victims = List.of("victim1@remote.example", "victim2@remote.example");
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@own-bounces.example")
        .destination(d -> d.toAddresses(victims))
        .content(c -> c.simple(m -> m.subject(x -> x.data("own MAIL FROM")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    node.awaitOutcomes(id, 2);
    String first = returnPathOf(victims.get(0));
    assertTrue(first.endsWith("@mail.own-bounces.example"), first);
    List<String> replies = SmtpClient.send(inbound, "", List.of(first),
        dsn(victims.get(0), "5.1.1", "550 5.1.1 User unknown", null));
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    String second = returnPathOf(victims.get(1));
    SmtpClient.send(inbound, "", List.of(second.substring(0, second.indexOf('@')) + "@bounces.mailgate.test"),
        dsn(victims.get(1), "5.1.1", "550 5.1.1 User unknown", null));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Bounce' AND message_id = '" + id + "'")
        == 2, Duration.ofSeconds(10));
    for (String victim : victims) {
      assertEquals(SuppressionListReason.BOUNCE, suppressed(victim), victim);
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM global_suppression WHERE email = '" + victim + "'"), victim);
    }
  }

  /**
   * A DSN to a recipient's VERP return path that names another address as the one that failed (a member of the list
   * or alias the recipient is, at another domain or at its own; Postfix names the alias as the Original-Recipient): the
   * recipient's bounce, but not known to be permanent for its address, so neither suppressed nor on the global list.
   * One whose Final-Recipient is the recipient is about it.
   */
  @Test
  void aDsnAboutAnotherAddressDoesNotSuppressTheVerpRecipient() throws IOException {
    String[] sent = sent("team@lists.example", "to a list");
    List<String> replies = SmtpClient.send(inbound, "", List.of(sent[1]),
        dsn("member@gone.example", "5.1.1", "550 5.1.1 <member@gone.example>: User unknown", null));
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    JsonObject bounce = Await.until(() -> last(sent[0], "Bounce"), b -> b != null, Duration.ofSeconds(10))
        .getJsonObject("bounce");
    assertEquals("team@lists.example",
        bounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("emailAddress"));

    String[] aliased = sent("alias@lists.example", "to an alias");
    String expanded = dsn("member@lists.example", "5.1.1", "550 5.1.1 User unknown", null)
        .replace("Final-Recipient: rfc822; member@lists.example\r\n",
            "Original-Recipient: rfc822; alias@lists.example\r\nFinal-Recipient: rfc822; member@lists.example\r\n");
    SmtpClient.send(inbound, "", List.of(aliased[1]), expanded);
    Await.until(() -> last(aliased[0], "Bounce"), b -> b != null, Duration.ofSeconds(10));
    for (String address : List.of("team@lists.example", "alias@lists.example")) {
      assertThrows(software.amazon.awssdk.services.sesv2.model.NotFoundException.class,
          () -> ses.getSuppressedDestination(r -> r.emailAddress(address)), address);
    }
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM global_suppression WHERE email LIKE '%@lists.example' "
        + "OR email = 'member@gone.example'"));

    String[] own = sent("Someone@lists.example", "to its own address");
    SmtpClient.send(inbound, "", List.of(own[1]), dsn("someone@LISTS.example", "5.1.1", "550 5.1.1 User unknown",
        null));
    Await.until(() -> last(own[0], "Bounce"), b -> b != null, Duration.ofSeconds(10));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM global_suppression WHERE lower(email) = 'someone@lists.example'"));
  }

  /** PostgreSQL takes no NUL in text or jsonb: a report carrying one is recorded without it, not refused forever. */
  @Test
  void aReportWithANulIsRecordedWithoutIt() throws IOException {
    String[] sent = sent("nul@remote.example", "bounces with a NUL");
    List<String> replies = SmtpClient.send(inbound, "", List.of(sent[1]),
        dsn("nul@remote.example", "5.1.1", "550 5.1.1 No\u0000 such user", null));
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    JsonObject bounce = Await.until(() -> last(sent[0], "Bounce"), b -> b != null, Duration.ofSeconds(10))
        .getJsonObject("bounce");
    assertEquals("smtp; 550 5.1.1 No such user",
        bounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("diagnosticCode"));
  }

  @Test
  void forgedVerpIsNotAttributed() throws IOException {
    String[] sent = sent("victim@remote.example", "target of a forgery");
    String local = sent[1].substring(0, sent[1].indexOf('@'));
    char flipped = local.charAt(20) == 'a' ? 'b' : 'a';
    String forged = local.substring(0, 20) + flipped + local.substring(21) + "@bounces.mailgate.test";
    List<String> replies = SmtpClient.send(inbound, "", List.of(forged),
        dsn("victim@remote.example", "5.1.1", "550 5.1.1 User unknown", sent[0]));
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), "accepted, and kept: " + replies);
    // answered as an attributed report is: a forger guessing VERP addresses or Message-IDs learns nothing of them
    assertEquals("250 2.0.0 Ok: queued", replies.get(replies.size() - 2));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE NOT attributed AND rcpt_to = '"
        + forged + "' AND note LIKE '%forged%'") == 1, Duration.ofSeconds(10));
    assertEquals(null, last(sent[0], "Bounce"));
    assertEquals("DELIVERED", node.message(sent[0]).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM suppressed_destinations WHERE email = 'victim@remote.example'"));
  }

  @Test
  void withoutVerpTheOriginalMessageIdAttributes() throws IOException {
    String[] sent = sentWithoutVerp("full@remote.example", "headers only");
    SmtpClient.send(inbound, "", List.of("postmaster@bounces.mailgate.test"),
        dsn("full@remote.example", "5.2.2", "552 5.2.2 Mailbox full", sent[0]));
    JsonObject bounce = Await.until(() -> last(sent[0], "Bounce"), b -> b != null, Duration.ofSeconds(10))
        .getJsonObject("bounce");
    assertEquals("Transient", bounce.getString("bounceType"));
    assertEquals("MailboxFull", bounce.getString("bounceSubType"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM suppressed_destinations WHERE email = 'full@remote.example'"),
        "a full mailbox is not suppressed");
  }

  /**
   * Anyone who saw a message (another of its recipients) can write a DSN naming its Message-ID. For a message sent
   * without VERP return paths that is all there is to go by: a hard bounce matched that way suppresses the address for
   * the sending account only, never on the global list every account obeys.
   */
  @Test
  void withoutVerpAHardBounceStaysWithTheAccount() throws IOException {
    String[] sent = sentWithoutVerp("gone-too@remote.example", "headers only, hard");
    SmtpClient.send(inbound, "", List.of("postmaster@bounces.mailgate.test"),
        dsn("gone-too@remote.example", "5.1.1", "550 5.1.1 User unknown", sent[0]));
    Await.until(() -> last(sent[0], "Bounce"), b -> b != null, Duration.ofSeconds(10));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM suppressed_destinations WHERE email = 'gone-too@remote.example'"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM global_suppression WHERE email = 'gone-too@remote.example'"));
  }

  /**
   * A Cc recipient of a message sent with VERP return paths writes a DSN listing the nine others as failed, naming
   * the Message-ID, to the bounce domain's postmaster: a real bounce would have come to each recipient's own return
   * path, so it suppresses nobody, counts no hard bounce against the account (which could pause it), publishes no
   * event, and is kept.
   */
  @Test
  void aRecipientCannotBounceTheOthersOfAVerpMessageByItsMessageId() throws IOException {
    List<String> others = new java.util.ArrayList<>();
    for (int i = 0; i < 9; i++) {
      others.add("colleague" + i + "@cc.example");
    }
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
        .destination(d -> d.toAddresses(others.get(0)).ccAddresses(java.util.stream.Stream.concat(
            others.subList(1, 9).stream(), java.util.stream.Stream.of("forger@cc.example")).toList()))
        .content(c -> c.simple(m -> m.subject(x -> x.data("to ten")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    node.awaitOutcomes(id, 10);
    String counted = "SELECT coalesce(sum(hard_bounces), 0) FROM reputation_buckets";
    long before = Db.count(pg, counted);

    String forged = dsn(others, "5.1.1", "550 5.1.1 User unknown", id);
    List<String> replies = SmtpClient.send(inbound, "", List.of("postmaster@bounces.mailgate.test"), forged);
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), "accepted, and kept: " + replies);
    // answered as an attributed report is: a forger guessing VERP addresses or Message-IDs learns nothing of them
    assertEquals("250 2.0.0 Ok: queued", replies.get(replies.size() - 2));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + id + "'") == 1,
        Duration.ofSeconds(10));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM suppressed_destinations WHERE email LIKE '%@cc.example'"),
        "nobody suppressed");
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM events WHERE message_id = '" + id + "' AND type = 'Bounce'"));
    assertEquals(before, Db.count(pg, counted), "no hard bounce counted");
    assertEquals(10, Db.count(pg, "SELECT count(*) FROM recipients WHERE message_id = '" + id
        + "' AND state = 'delivered'"));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + id
        + "' AND note LIKE '%Message-ID alone%'"), "kept, saying why");
  }

  /**
   * A notification sent with a null reverse-path (SendBounce's bounce) can have no bounce of its own: its recipient,
   * who saw its Message-ID, could write one to push the account towards a pause. Kept, not believed.
   */
  @Test
  void aBounceOfANotificationNamedByItsMessageIdIsNotBelieved() throws IOException {
    String[] sent = sent("notified@remote.example", "a notification");
    Db.execute(pg, "UPDATE messages SET verp_domain = NULL, envelope_from = '' WHERE id = ?", sent[0]);
    String counted = "SELECT coalesce(sum(hard_bounces), 0) FROM reputation_buckets";
    long before = Db.count(pg, counted);
    List<String> replies = SmtpClient.send(inbound, "", List.of("postmaster@bounces.mailgate.test"),
        dsn("notified@remote.example", "5.1.1", "550 5.1.1 User unknown", sent[0]));
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), "accepted, and kept: " + replies);
    // answered as an attributed report is: a forger guessing VERP addresses or Message-IDs learns nothing of them
    assertEquals("250 2.0.0 Ok: queued", replies.get(replies.size() - 2));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + sent[0] + "'") == 1,
        Duration.ofSeconds(10));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM suppressed_destinations WHERE email = 'notified@remote.example'"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM events WHERE message_id = '" + sent[0] + "' AND type = 'Bounce'"));
    assertEquals(before, Db.count(pg, counted), "no hard bounce counted");
  }

  /**
   * A Mailgate relaying through SES gets its bounces as SES notifications (SNS to an email address of the operator's,
   * not the return path): the envelope sender it states ({@code mail.source}) is the recipient's VERP return path,
   * which attributes it as one sent there would.
   */
  @Test
  void anSesNotificationIsAttributedByTheVerpReturnPathItStates() throws IOException {
    String[] sent = sent("ses-gone@remote.example", "relayed through SES");
    String notification = "From: no-reply@sns.amazonaws.com\r\nTo: ses-feedback@bounces.mailgate.test\r\n"
        + "Subject: AWS Notification Message\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        + "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\",\"bounceSubType\":\"General\","
        + "\"bouncedRecipients\":[{\"emailAddress\":\"ses-gone@remote.example\",\"action\":\"failed\","
        + "\"status\":\"5.1.1\",\"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"}],"
        + "\"timestamp\":\"2026-11-30T01:00:00.000Z\"},\"mail\":{\"source\":\"" + sent[1] + "\","
        + "\"messageId\":\"0100019a-ses-own-id\",\"destination\":[\"ses-gone@remote.example\"],"
        + "\"commonHeaders\":{\"messageId\":\"<" + sent[0] + "@email.mailgate.local>\"}}}\r\n";
    SmtpClient.send(inbound, "", List.of("ses-feedback@bounces.mailgate.test"), notification);
    JsonObject bounce = Await.until(() -> last(sent[0], "Bounce"), b -> b != null, Duration.ofSeconds(10))
        .getJsonObject("bounce");
    assertEquals("Permanent", bounce.getString("bounceType"));
    assertEquals(SuppressionListReason.BOUNCE, ses.getSuppressedDestination(r -> r
        .emailAddress("ses-gone@remote.example")).suppressedDestination().reason());
  }

  @Test
  void arfComplaintIsRecordedAndSuppressed() throws IOException {
    String[] sent = sent("angry@remote.example", "unwanted");
    String arf = "From: feedback@isp.example\r\nTo: fbl\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=feedback-report; boundary=\"f\"\r\n\r\n"
        + "--f\r\nContent-Type: text/plain\r\n\r\nA user complained.\r\n"
        + "--f\r\nContent-Type: message/feedback-report\r\n\r\n"
        + "Feedback-Type: abuse\r\nUser-Agent: ISP-FBL/2.0\r\nVersion: 1\r\n"
        + "Original-Rcpt-To: angry@remote.example\r\nArrival-Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n\r\n"
        + "--f\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + "From: news@example.com\r\nTo: angry@remote.example\r\nMessage-ID: <" + sent[0] + "@email.mailgate.local>\r\n"
        + "\r\n--f--\r\n";
    SmtpClient.send(inbound, "", List.of(sent[1]), arf);
    JsonObject complaint = Await.until(() -> last(sent[0], "Complaint"), c -> c != null, Duration.ofSeconds(10))
        .getJsonObject("complaint");
    assertEquals("abuse", complaint.getString("complaintFeedbackType"));
    assertEquals("ISP-FBL/2.0", complaint.getString("userAgent"));
    assertEquals("2026-11-28T10:00:00.000Z", complaint.getString("arrivalDate"), "ISO 8601, as SES writes it");
    assertEquals("angry@remote.example", complaint.getJsonArray("complainedRecipients").getJsonObject(0)
        .getString("emailAddress"));
    assertEquals(SuppressionListReason.COMPLAINT, ses.getSuppressedDestination(r -> r.emailAddress("angry@remote.example"))
        .suppressedDestination().reason());
  }

  /** RFC 5321 section 4.5.1: mail to the bare Postmaster is accepted, and kept with the reports for the operator. */
  @Test
  void theBarePostmasterIsAlwaysAccepted() throws IOException {
    String subject = "for the postmaster " + java.util.UUID.randomUUID();
    List<String> replies = SmtpClient.send(inbound, "someone@remote.example", List.of("Postmaster"),
        "From: someone@remote.example\r\nSubject: " + subject + "\r\n\r\nYour server refused my mail.\r\n");
    assertTrue(replies.get(replies.size() - 2).startsWith("250 2.0.0 Ok: queued"), replies.toString()); // then QUIT
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE convert_from(content, 'UTF8') LIKE '%"
        + subject + "%' AND NOT attributed"));
  }

  /**
   * The inbound port holds a client address (not loopback) to its rates, configured small here: its second message of
   * the minute is answered 450 4.7.1, its third connection 421 4.7.0; loopback, where the other tests' mail comes
   * from, is not counted.
   */
  @Test
  void aClientAddressIsHeldToTheInboundRates() throws IOException {
    String local = io.mailgate.testing.OwnAddress.get();
    try (TestNode own = TestNode.start(relay.url(), c -> c.with(MailgateConfig.SMTP_INBOUND_HOST, "0.0.0.0")
        .with(MailgateConfig.SMTP_INBOUND_CONNECTION_RATE_PER_CLIENT, 2)
        .with(MailgateConfig.SMTP_INBOUND_MESSAGE_RATE_PER_CLIENT, 1))) {
      int port = own.config().get(MailgateConfig.SMTP_INBOUND_PORT);
      String report = "From: someone@remote.example\r\nSubject: rates\r\n\r\nYour server refused my mail.\r\n";
      String from = "someone@remote.example";
      List<String> first = SmtpClient.send(local, port, from, List.of("Postmaster"), report, false);
      assertTrue(first.get(first.size() - 2).startsWith("250 2.0.0 Ok: queued"), first.toString());
      List<String> second = SmtpClient.send(local, port, from, List.of("Postmaster"), report, false);
      assertEquals("450 4.7.1 Error: too much mail from " + local, second.get(2), second.toString());
      List<String> third = SmtpClient.send(local, port, from, List.of("Postmaster"), report, false);
      assertEquals(List.of("421 4.7.0 " + own.config().get(MailgateConfig.DELIVERY_HELO_NAME)
          + " Error: too many connections from " + local), third);
      for (int i = 0; i < 3; i++) {
        List<String> fromLoopback = SmtpClient.send(port, from, List.of("Postmaster"), report);
        assertTrue(fromLoopback.get(fromLoopback.size() - 2).startsWith("250 2.0.0 Ok: queued"),
            fromLoopback.toString());
      }
    }
  }

  /** An ARF report (RFC 5965) about the copy of one of our messages sent to {@code originalTo}. */
  public static String arf(String feedbackType, String rcptTo, String originalTo, String messageId) {
    return arf(feedbackType, rcptTo, originalTo, messageId, null);
  }

  /** An ARF report returning the headers of a copy that was sent from {@code returnPath} (null: none given). */
  static String arf(String feedbackType, String rcptTo, String originalTo, String messageId, String returnPath) {
    return "From: feedback@isp.example\r\nTo: fbl\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=feedback-report; boundary=\"f\"\r\n\r\n"
        + "--f\r\nContent-Type: message/feedback-report\r\n\r\n"
        + "Feedback-Type: " + feedbackType + "\r\nVersion: 1\r\n"
        + (rcptTo == null ? "" : "Original-Rcpt-To: " + rcptTo + "\r\n") + "\r\n"
        + "--f\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + (returnPath == null ? "" : "Return-Path: <" + returnPath + ">\r\n")
        + "From: news@example.com\r\nTo: " + originalTo + "\r\nMessage-ID: <" + messageId
        + "@email.mailgate.local>\r\n\r\n--f--\r\n";
  }

  /** The envelope sender (VERP return path) of the copy of a message the relay received for {@code to}. */
  static String returnPathOf(String to) {
    return Await.until(() -> relay.received().stream().filter(r -> r.rcptTo().contains(to)).findFirst().orElse(null),
        r -> r != null, Duration.ofSeconds(20)).mailFrom();
  }

  static SuppressionListReason suppressed(String address) {
    try {
      return ses.getSuppressedDestination(r -> r.emailAddress(address)).suppressedDestination().reason();
    } catch (software.amazon.awssdk.services.sesv2.model.NotFoundException e) {
      return null;
    }
  }

  /**
   * A feedback loop's report (to the bounce domain, no VERP) that names nobody, about a message to two recipients:
   * pinned on neither (RFC 5965 makes Original-Rcpt-To optional; the returned To is not who complained). A not-spam
   * report (RFC 6430) is published as it is, and neither suppresses nor counts. A complaint that names one of them
   * without returning that recipient's copy (its VERP return path) is published as it is and believed no further:
   * the other could have written it. Once the recipient's own copy comes back, it suppresses.
   */
  @Test
  void aComplaintIsNotGuessedAndNotSpamIsNoComplaint() throws IOException {
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
        .destination(d -> d.toAddresses("first@fbl.example", "second@fbl.example"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("to two")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    node.awaitOutcomes(id, 2);
    SmtpClient.send(inbound, "", List.of("fbl@bounces.mailgate.test"),
        arf("abuse", null, "first@fbl.example, second@fbl.example", id));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + id + "'") == 1,
        Duration.ofSeconds(10));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Complaint' AND message_id = '" + id + "'"));

    SmtpClient.send(inbound, "", List.of("fbl@bounces.mailgate.test"),
        arf("not-spam", "second@fbl.example", "first@fbl.example, second@fbl.example", id));
    JsonObject complaint = Await.until(() -> last(id, "Complaint"), c -> c != null, Duration.ofSeconds(10))
        .getJsonObject("complaint");
    assertEquals("not-spam", complaint.getString("complaintFeedbackType"));
    assertEquals("second@fbl.example", complaint.getJsonArray("complainedRecipients").getJsonObject(0)
        .getString("emailAddress"));
    assertThrows(software.amazon.awssdk.services.sesv2.model.NotFoundException.class,
        () -> ses.getSuppressedDestination(r -> r.emailAddress("second@fbl.example")));

    // the same recipient's abuse report later is a complaint of its own, not a repeat of the not-spam one; naming it
    // is all there is to it, which the first recipient could have written: published, not suppressed
    SmtpClient.send(inbound, "", List.of("fbl@bounces.mailgate.test"),
        arf("abuse", "second@fbl.example", "first@fbl.example, second@fbl.example", id));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Complaint' AND message_id = '" + id
        + "'") == 2, Duration.ofSeconds(10));
    assertEquals(null, suppressed("second@fbl.example"));

    // the report returns the second recipient's own copy (its VERP Return-Path): that complaint is believed, and is
    // no repeat of the one that was not
    SmtpClient.send(inbound, "", List.of("fbl@bounces.mailgate.test"),
        arf("abuse", null, "first@fbl.example, second@fbl.example", id, returnPathOf("second@fbl.example")));
    assertEquals(SuppressionListReason.COMPLAINT, Await.until(() -> suppressed("second@fbl.example"), r -> r != null,
        Duration.ofSeconds(10)));
    assertEquals(3, Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Complaint' AND message_id = '" + id + "'"));
    assertEquals(null, suppressed("first@fbl.example"));
  }

  static final String COMPLAINTS = "SELECT coalesce(sum(complaints), 0) FROM reputation_buckets";

  /**
   * One of a message's visible recipients writes complaints naming the others (MAIL FROM:<>, to the bounce domain):
   * nine of them paused an account. A report returning the writer's own copy (its VERP Return-Path) is the writer's
   * complaint, whoever it names; one returning no copy of anyone's is published as it is, suppresses nobody and is not
   * counted; nor is an SES complaint notification in a plain mail that names one.
   */
  @Test
  void aRecipientCannotComplainInTheOthersName() throws IOException {
    List<String> others = List.of("colleague0@team.example", "colleague1@team.example", "colleague2@team.example");
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
        .destination(d -> d.toAddresses(others.get(0)).ccAddresses(others.get(1), others.get(2), "forger@team.example"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("team")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    node.awaitOutcomes(id, 4);
    String forgersCopy = returnPathOf("forger@team.example");
    long before = Db.count(pg, COMPLAINTS);
    String allTo = String.join(", ", others) + ", forger@team.example";

    SmtpClient.send(inbound, "", List.of("fbl@bounces.mailgate.test"),
        arf("abuse", others.get(0), allTo, id, forgersCopy));
    JsonObject complaint = Await.until(() -> last(id, "Complaint"), c -> c != null, Duration.ofSeconds(10))
        .getJsonObject("complaint");
    assertEquals("forger@team.example", complaint.getJsonArray("complainedRecipients").getJsonObject(0)
        .getString("emailAddress"), "the returned copy says whose complaint it is");
    assertEquals(SuppressionListReason.COMPLAINT, suppressed("forger@team.example"));
    assertEquals(before + 1, Db.count(pg, COMPLAINTS));

    SmtpClient.send(inbound, "", List.of("fbl@bounces.mailgate.test"), arf("abuse", others.get(1), allTo, id));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Complaint' AND message_id = '" + id
        + "' AND recipient = '" + others.get(1) + "'") == 1, Duration.ofSeconds(10));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + id + "' AND note LIKE "
        + "'%naming " + others.get(1) + " without its VERP return path: published, not suppressed or counted'"));

    String notification = "From: someone@team.example\r\nTo: postmaster@bounces.mailgate.test\r\nSubject: n\r\n\r\n"
        + "{\"notificationType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":[{\"emailAddress\":\""
        + others.get(2) + "\"}],\"complaintFeedbackType\":\"abuse\"},\"mail\":{\"messageId\":\"" + id + "\"}}\r\n";
    SmtpClient.send(inbound, "", List.of("postmaster@bounces.mailgate.test"), notification);
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Complaint' AND message_id = '" + id
        + "' AND recipient = '" + others.get(2) + "'") == 1, Duration.ofSeconds(10));

    for (String other : others) {
      assertEquals(null, suppressed(other), other);
    }
    assertEquals(before + 1, Db.count(pg, COMPLAINTS), "only the writer's own complaint counts");
  }

  /**
   * An authentication failure report (RFC 6591, Feedback-Type: auth-failure: a DMARC or DKIM failure about a message)
   * is an ARF report no recipient wrote: its Complaint is published with its type, as SES publishes it, but nothing is
   * suppressed or counted. The recipient's own complaint later is one.
   */
  @Test
  void anAuthFailureReportIsNoComplaint() throws IOException {
    String[] sent = sent("dmarc@remote.example", "fails DMARC somewhere");
    long before = Db.count(pg, COMPLAINTS);
    List<String> replies = SmtpClient.send(inbound, "", List.of(sent[1]),
        arf("auth-failure", "dmarc@remote.example", "dmarc@remote.example", sent[0]));
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    // published as SES publishes it, with its type; not suppressed, not counted
    assertEquals("auth-failure", Await.until(() -> last(sent[0], "Complaint"), e -> e != null, Duration.ofSeconds(10))
        .getJsonObject("complaint").getString("complaintFeedbackType"));
    assertEquals(null, suppressed("dmarc@remote.example"));
    assertEquals(before, Db.count(pg, COMPLAINTS));

    SmtpClient.send(inbound, "", List.of(sent[1]), arf("abuse", "dmarc@remote.example", "dmarc@remote.example", sent[0]));
    assertEquals(SuppressionListReason.COMPLAINT, Await.until(() -> suppressed("dmarc@remote.example"), r -> r != null,
        Duration.ofSeconds(10)));
    assertEquals("abuse", last(sent[0], "Complaint").getJsonObject("complaint").getString("complaintFeedbackType"));
  }

  /**
   * A message to several recipients sent without VERP return paths (no bounce domain when it went): a report can
   * return no recipient's own copy, and the name in it is all there is to go by, as for its bounces. It is believed
   * (suppressed and counted): otherwise no complaint about such a message would ever count, and an account could keep
   * its complaint rate at nothing by copying itself on every send.
   */
  @Test
  void aComplaintAboutAMessageSentWithoutVerpIsBelievedByName() throws IOException {
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
        .destination(d -> d.toAddresses("named@noverp.example").bccAddresses("self@noverp.example"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("no verp")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    node.awaitOutcomes(id, 2);
    Db.execute(pg, "UPDATE messages SET verp_domain = NULL WHERE id = ?", id);
    long before = Db.count(pg, COMPLAINTS);
    SmtpClient.send(inbound, "", List.of("fbl@bounces.mailgate.test"),
        arf("abuse", "named@noverp.example", "named@noverp.example", id));
    assertEquals(SuppressionListReason.COMPLAINT, Await.until(() -> suppressed("named@noverp.example"),
        r -> r != null, Duration.ofSeconds(10)));
    assertEquals(before + 1, Db.count(pg, COMPLAINTS));
    assertEquals(null, suppressed("self@noverp.example"));
  }

  /**
   * RFC 3834 tells automatic responders to answer the return path: a helpdesk's acknowledgement (auto-generated) and
   * an out-of-office reply whose subject quotes the original's bounce-like words, both naming other addresses, are
   * no bounces: the recipient stays delivered and nothing is suppressed, least of all on the global list.
   */
  @Test
  void automaticAnswersToTheReturnPathAreNoBounces() throws IOException {
    String[] helpdesk = sent("support@helpdesk.example", "question");
    SmtpClient.send(inbound, "support@helpdesk.example", List.of(helpdesk[1]),
        "From: Support <support@helpdesk.example>\r\nTo: <" + helpdesk[1] + ">\r\n"
            + "Subject: [Ticket #4411] We received your request\r\nAuto-Submitted: auto-generated\r\n"
            + "Precedence: bulk\r\n\r\nThank you for contacting us. Your ticket number is 4411.\r\n"
            + "Please note: replies from an invalid address are rejected.\r\n"
            + "For urgent matters write to urgent@helpdesk.example (24/7)\r\n");
    String[] away = sent("jean@corp.example", "Your claim was rejected");
    SmtpClient.send(inbound, "jean@corp.example", List.of(away[1]),
        "From: Jean <jean@corp.example>\r\nTo: <" + away[1] + ">\r\n"
            + "Subject: Automatic reply: Re: Your claim was rejected\r\nAuto-Submitted: auto-replied\r\n"
            + "X-Autoreply: yes\r\n\r\nI am out of office until Monday. For urgent matters contact "
            + "marie@corp.example please\r\n");
    for (String[] s : List.of(helpdesk, away)) {
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + s[0]
          + "' AND kind = 'AUTO_REPLY'") == 1, Duration.ofSeconds(10));
      assertEquals(null, last(s[0], "Bounce"));
      assertEquals("DELIVERED", node.message(s[0]).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    }
    for (String a : List.of("support@helpdesk.example", "urgent@helpdesk.example", "jean@corp.example",
        "marie@corp.example")) {
      assertEquals(null, suppressed(a), a);
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM global_suppression WHERE email = '" + a + "'"), a);
    }
  }

  static String textBounce(String to, String failed) {
    return "From: Mail Delivery System <MAILER-DAEMON@mx.remote.example>\r\nTo: " + to + "\r\n"
        + "Subject: Undelivered Mail Returned to Sender\r\n\r\n"
        + "I'm sorry to have to inform you that your message could not be delivered to one or more recipients.\r\n\r\n"
        + "<" + failed + ">: host mx.remote.example[192.0.2.9] said: 550 5.1.1 <" + failed + ">: "
        + "Recipient address rejected: User unknown (in reply to RCPT TO command)\r\n";
  }

  /**
   * A bounce read from text (no DSN) to a recipient's return path is that recipient's only when the text names it (or
   * its domain): one naming another address, at another domain, records nothing. One that names it is recorded for
   * the account, and never puts the address on the global list every account obeys: only a DSN does.
   */
  @Test
  void aBounceReadFromTextMustNameItsRecipientAndStaysWithTheAccount() throws IOException {
    String[] other = sent("bob@corp.example", "bounced elsewhere");
    SmtpClient.send(inbound, "", List.of(other[1]), textBounce(other[1], "someone@elsewhere.example"));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + other[0]
        + "' AND note LIKE '%names neither the recipient%'") == 1, Duration.ofSeconds(10));
    assertEquals(null, last(other[0], "Bounce"));
    assertEquals("DELIVERED", node.message(other[0]).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    assertEquals(null, suppressed("bob@corp.example"));

    String[] named = sent("gone-text@remote.example", "bounced in text");
    SmtpClient.send(inbound, "", List.of(named[1]), textBounce(named[1], "gone-text@remote.example"));
    JsonObject bounce = Await.until(() -> last(named[0], "Bounce"), b -> b != null, Duration.ofSeconds(10))
        .getJsonObject("bounce");
    assertEquals("Permanent", bounce.getString("bounceType"));
    assertEquals(SuppressionListReason.BOUNCE, suppressed("gone-text@remote.example"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM global_suppression WHERE email = 'gone-text@remote.example'"));
  }

  /**
   * SES did not send to an address on its suppression lists (OnAccountSuppressionList, Suppressed) and counts none
   * toward the bounce rate: as Mailgate's own suppressed sends, the Bounce is published and the recipient bounced,
   * nothing is suppressed (least of all globally) or counted.
   */
  @Test
  void sesSuppressionListBouncesAreNeitherSuppressedNorCounted() throws IOException {
    String counted = "SELECT coalesce(sum(hard_bounces), 0) FROM reputation_buckets";
    for (String subType : List.of("OnAccountSuppressionList", "Suppressed")) {
      String address = "listed-" + subType.toLowerCase(java.util.Locale.ROOT) + "@remote.example";
      String[] sent = sent(address, "relayed through SES to a listed address");
      long before = Db.count(pg, counted);
      String notification = "From: no-reply@sns.amazonaws.com\r\nTo: ses-feedback@bounces.mailgate.test\r\n"
          + "Subject: AWS Notification Message\r\n\r\n"
          + "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\",\"bounceSubType\":\"" + subType
          + "\",\"bouncedRecipients\":[{\"emailAddress\":\"" + address + "\",\"action\":\"failed\",\"status\":\"5.1.1\","
          + "\"diagnosticCode\":\"Amazon SES did not send the message to this address because it is on the suppression "
          + "list for your account.\"}],\"timestamp\":\"2026-11-30T01:00:00.000Z\",\"reportingMTA\":\"dns; amazonses.com\"},"
          + "\"mail\":{\"source\":\"" + sent[1] + "\"}}\r\n";
      SmtpClient.send(inbound, "", List.of("ses-feedback@bounces.mailgate.test"), notification);
      JsonObject bounce = Await.until(() -> last(sent[0], "Bounce"), b -> b != null, Duration.ofSeconds(10))
          .getJsonObject("bounce");
      assertEquals("Permanent", bounce.getString("bounceType"));
      assertEquals(subType, bounce.getString("bounceSubType"));
      assertEquals("BOUNCED", node.message(sent[0]).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
      assertEquals(null, suppressed(address), subType);
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM global_suppression WHERE email = '" + address + "'"), subType);
      assertEquals(before, Db.count(pg, counted), subType);
    }
  }

  /**
   * A relayed SES Complaint of subtype OnAccountSuppressionList is a send SES did not make: published with that
   * subtype, the address neither suppressed nor counted toward the complaint rate; a recipient's own complaint relayed
   * the same way still is.
   */
  @Test
  void sesSuppressionListComplaintsAreNeitherSuppressedNorCounted() throws IOException {
    String counted = "SELECT coalesce(sum(complaints), 0) FROM reputation_buckets";
    String address = "listed-complaint@remote.example";
    String[] sent = sent(address, "relayed through SES to an address listed for a complaint");
    long before = Db.count(pg, counted);
    String notification = "From: no-reply@sns.amazonaws.com\r\nTo: ses-feedback@bounces.mailgate.test\r\n"
        + "Subject: AWS Notification Message\r\n\r\n"
        + "{\"notificationType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":[{\"emailAddress\":\""
        + address + "\"}],\"timestamp\":\"2026-11-30T01:00:00.000Z\",\"feedbackId\":\"0100-x\","
        + "\"complaintSubType\":\"OnAccountSuppressionList\"},\"mail\":{\"source\":\"" + sent[1] + "\"}}\r\n";
    SmtpClient.send(inbound, "", List.of("ses-feedback@bounces.mailgate.test"), notification);
    JsonObject complaint = Await.until(() -> last(sent[0], "Complaint"), c -> c != null, Duration.ofSeconds(10))
        .getJsonObject("complaint");
    assertEquals("OnAccountSuppressionList", complaint.getString("complaintSubType"));
    assertEquals(null, suppressed(address));
    assertEquals(before, Db.count(pg, counted));

    String complainer = "complainer@remote.example";
    String[] real = sent(complainer, "a real complaint, relayed");
    SmtpClient.send(inbound, "", List.of("ses-feedback@bounces.mailgate.test"), notification
        .replace(sent[1], real[1]).replace(address, complainer).replace("0100-x", "0100-y")
        .replace(",\"complaintSubType\":\"OnAccountSuppressionList\"", ""));
    JsonObject own = Await.until(() -> last(real[0], "Complaint"), c -> c != null, Duration.ofSeconds(10))
        .getJsonObject("complaint");
    assertTrue(own.containsKey("complaintSubType") && own.getValue("complaintSubType") == null, own.encode());
    assertEquals(SuppressionListReason.COMPLAINT, Await.until(() -> suppressed(complainer), r -> r != null,
        Duration.ofSeconds(10)));
    assertEquals(before + 1, Db.count(pg, counted));
  }

  /** What a DSN says is recorded as SES records it: its own Status field, and an address (not a host) as remoteMtaIp. */
  @Test
  void aDsnsStatusAndRemoteMtaAddressAreRecordedAsWritten() throws IOException {
    String[] sent = sent("status@remote.example", "status as written");
    SmtpClient.send(inbound, "", List.of(sent[1]),
        dsn("status@remote.example", "5.0.0", "550 5.1.1 <status@remote.example>: user unknown", null)
            .replace("Remote-MTA: dns; mailstore.remote.example", "Remote-MTA: dns; mx.remote.example (192.0.2.25)"));
    JsonObject bounce = Await.until(() -> last(sent[0], "Bounce"), b -> b != null, Duration.ofSeconds(10))
        .getJsonObject("bounce");
    assertEquals("NoEmail", bounce.getString("bounceSubType"), "classified by the reply's 5.1.1");
    assertEquals("5.0.0", bounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("status"));
    assertEquals("192.0.2.25", bounce.getString("remoteMtaIp"));
  }

  /** A plain message with a "Feedback-Type:" line is no feedback report (RFC 5965): no complaint, nothing suppressed. */
  @Test
  void aPlainMessageWithFeedbackFieldsIsNoComplaint() throws IOException {
    String[] sent = sent("plain@remote.example", "one recipient");
    SmtpClient.send(inbound, "someone@else.example", List.of("postmaster@bounces.mailgate.test"),
        "From: someone@else.example\r\nTo: postmaster@bounces.mailgate.test\r\nSubject: hello\r\n\r\n"
            + "Hi,\r\nFeedback-Type: abuse\r\nOriginal-Rcpt-To: plain@remote.example\r\n\r\n"
            + "Message-ID: <" + sent[0] + "@email.mailgate.local>\r\n");
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE kind = 'UNKNOWN' AND "
        + "convert_from(content, 'UTF8') LIKE '%" + sent[0] + "%'") == 1, Duration.ofSeconds(10));
    assertEquals(null, last(sent[0], "Complaint"));
    assertEquals(null, suppressed("plain@remote.example"));
  }

  /**
   * A VERP return path with a good HMAC names a recipient index the message may not have (a future encoding, a bug
   * elsewhere): the complaint is kept, not a failure answered 451 again and again.
   */
  @Test
  void aVerpRecipientTheMessageDoesNotHaveIsKept() throws IOException {
    String[] sent = sent("only@remote.example", "one recipient, index 7 named");
    String beyond = new io.mailgate.delivery.Verp(io.mailgate.identity.SecretBox.fromBase64(TestNode.MASTER_KEY))
        .localPart(sent[0], 7) + "@bounces.mailgate.test";
    List<String> replies = SmtpClient.send(inbound, "", List.of(beyond),
        arf("abuse", "only@remote.example", "only@remote.example", sent[0]));
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + sent[0]
        + "' AND note LIKE '%VERP recipient 7 is not one of the message''s 1%'"));
    assertEquals(null, last(sent[0], "Complaint"));
  }

  /** Anyone may send anything to the bounce domain, up to the size limit: what is not attributed is kept cut. */
  @Test
  void anUnattributedReportIsKeptCut() throws IOException {
    StringBuilder big = new StringBuilder("From: someone@remote.example\r\nSubject: large\r\n\r\n");
    while (big.length() < 1024 * 1024) {
      big.append("x".repeat(70)).append("\r\n");
    }
    List<String> replies = SmtpClient.send(inbound, "", List.of("large@bounces.mailgate.test"), big.toString());
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    assertEquals("262144", Db.string(pg, "SELECT octet_length(content) FROM inbound_feedback WHERE "
        + "rcpt_to = 'large@bounces.mailgate.test'"));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE rcpt_to = 'large@bounces.mailgate.test' "
        + "AND note LIKE '%kept: its first 262144 of %'"));
  }

  /**
   * So is one matched by a Message-ID (which anyone who received the message has) that records nothing: a megabyte
   * of anything with the message's Message-ID in returned headers, sent again and again, was stored whole each time.
   */
  @Test
  void anAttributedReportThatRecordsNothingIsKeptCut() throws IOException {
    String[] sent = sent("kept@remote.example", "matched by its id");
    StringBuilder big = new StringBuilder("From: someone@remote.example\r\nSubject: large\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n");
    while (big.length() < 1024 * 1024) {
      big.append("x".repeat(70)).append("\r\n");
    }
    big.append("--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <").append(sent[0])
        .append("@email.mailgate.local>\r\nSubject: hi\r\n\r\n--b--\r\n");
    List<String> replies = SmtpClient.send(inbound, "", List.of("nothing@bounces.mailgate.test"), big.toString());
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    assertEquals("262144", Db.string(pg, "SELECT octet_length(content) FROM inbound_feedback WHERE "
        + "rcpt_to = 'nothing@bounces.mailgate.test'"));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE rcpt_to = 'nothing@bounces.mailgate.test'"
        + " AND message_id = '" + sent[0] + "'"), "attributed to its message");
  }

  /**
   * A report matched by Message-ID can come from anyone who saw the message, another of its recipients say: about a
   * recipient not delivered yet, whose delivery may be under way (its lease held), it ends, suppresses, counts and
   * publishes nothing. It is kept.
   */
  @Test
  void feedbackAboutARecipientNotDeliveredChangesNothing() throws IOException {
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
        .destination(d -> d.toAddresses("reader@co.example", "held@co.example"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("to two")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    node.awaitOutcomes(id, 2); // a Delivery, a DeliveryDelay
    // held@ is being delivered again: another node holds its lease
    Db.execute(pg, "UPDATE recipients SET lease_owner = 'another-node', lease_until = now() + interval '10 minutes' "
        + "WHERE message_id = '" + id + "' AND address = 'held@co.example' AND state = 'queued'");
    String counted = "SELECT coalesce(sum(hard_bounces + complaints), 0) FROM reputation_buckets";
    long before = Db.count(pg, counted);

    SmtpClient.send(inbound, "", List.of("postmaster@bounces.mailgate.test"),
        dsn("held@co.example", "5.1.1", "550 5.1.1 User unknown", id));
    SmtpClient.send(inbound, "", List.of("fbl@bounces.mailgate.test"),
        arf("abuse", "held@co.example", "reader@co.example, held@co.example", id));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + id + "'") == 2,
        Duration.ofSeconds(10));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM recipients WHERE message_id = '" + id + "' AND "
        + "address = 'held@co.example' AND state = 'queued' AND lease_owner = 'another-node' AND lease_until > now()"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM events WHERE message_id = '" + id + "' AND type IN "
        + "('Bounce', 'Complaint')"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM suppressed_destinations WHERE email = 'held@co.example'"));
    assertEquals(before, Db.count(pg, counted));
  }

  /**
   * A real bounce can arrive through the recipient's return path before its delivery's outcome is written (batched,
   * or written again while the database fails over): the recipient is still queued. Its sender is answered 451 and
   * nothing is written; sent again once the delivery is recorded, it is. (A report matched by Message-ID alone about a
   * queued recipient is kept, answered 250: see above.)
   */
  @Test
  void aBounceThroughTheReturnPathBeforeTheDeliveryIsRecordedIsAnsweredTryAgain() throws IOException {
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
        .destination(d -> d.toAddresses("held-early@remote.example"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("bounces early")).body(b -> b.text(t -> t.data("x"))))))
        .messageId();
    node.awaitOutcomes(id, 1); // a DeliveryDelay: still queued
    String returnPath = new io.mailgate.delivery.Verp(io.mailgate.identity.SecretBox.fromBase64(TestNode.MASTER_KEY))
        .localPart(id, 0) + "@bounces.mailgate.test";
    String dsn = dsn("held-early@remote.example", "5.1.1", "550 5.1.1 User unknown", null);
    List<String> replies = SmtpClient.send(inbound, "", List.of(returnPath), dsn);
    assertTrue(replies.get(replies.size() - 2).startsWith("451 4.3.0"), replies.toString());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + id + "'"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM events WHERE message_id = '" + id + "' AND type = 'Bounce'"));
    assertEquals(null, suppressed("held-early@remote.example"));

    // the delivery's outcome is written: the report sent again is recorded
    Db.execute(pg, "UPDATE recipients SET state = 'delivered', delivered_at = now(), lease_owner = NULL, "
        + "lease_until = NULL WHERE message_id = ?", id);
    replies = SmtpClient.send(inbound, "", List.of(returnPath), dsn);
    assertTrue(replies.get(replies.size() - 2).startsWith("250"), replies.toString());
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM events WHERE message_id = '" + id + "' AND type = 'Bounce'"));
    assertEquals(SuppressionListReason.BOUNCE, suppressed("held-early@remote.example"));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + id + "'"));
  }

  /**
   * The same report twice (a sender retrying after our reply was lost, or a recipient replaying its own return path):
   * one event and one count, or enough copies would pause the account. Both copies are kept as received.
   */
  @Test
  void aReportReceivedTwiceCountsOnce() throws IOException {
    String[] sent = sent("twice@remote.example", "bounces twice");
    String dsn = dsn("twice@remote.example", "5.1.1", "550 5.1.1 <twice@remote.example>: User unknown", null);
    SmtpClient.send(inbound, "", List.of(sent[1]), dsn);
    SmtpClient.send(inbound, "", List.of(sent[1]), dsn);
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + sent[0] + "'") == 2,
        Duration.ofSeconds(10));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Bounce' AND message_id = '" + sent[0] + "'"));
    assertEquals(1, Db.count(pg, "SELECT bounces FROM global_suppression WHERE email = 'twice@remote.example'"));

    String[] complained = sent("twice-angry@remote.example", "complained about twice");
    String arf = "From: feedback@isp.example\r\nTo: fbl\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/report; report-type=feedback-report; boundary=\"f\"\r\n\r\n"
        + "--f\r\nContent-Type: message/feedback-report\r\n\r\n"
        + "Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: twice-angry@remote.example\r\n\r\n"
        + "--f--\r\n";
    SmtpClient.send(inbound, "", List.of(complained[1]), arf);
    SmtpClient.send(inbound, "", List.of(complained[1]), arf);
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE message_id = '" + complained[0] + "'")
        == 2, Duration.ofSeconds(10));
    assertEquals(1, Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Complaint' AND message_id = '"
        + complained[0] + "'"));
  }

  /**
   * Whether a domain is a custom MAIL FROM domain bounces come back to is cached for {@code cache.ttlMillis} (300 ms
   * here), as the node's other directories are: one taken away is refused within it, and one set is accepted.
   */
  @Test
  void aCustomMailFromDomainIsSeenWithinTheCacheTtl() throws IOException {
    ses.createEmailIdentity(r -> r.emailIdentity("moving-bounces.example"));
    String rcpt = "anything@mail.moving-bounces.example";
    List<String> before = SmtpClient.send(inbound, "", List.of(rcpt), "x");
    assertTrue(before.stream().anyMatch(r -> r.startsWith("550 5.7.1")), before.toString());
    ses.putEmailIdentityMailFromAttributes(r -> r.emailIdentity("moving-bounces.example")
        .mailFromDomain("mail.moving-bounces.example"));
    SmtpClient.sendUntil(inbound, "", List.of(rcpt), "x", replies -> replies.stream().noneMatch(r -> r.startsWith("550")));
    ses.putEmailIdentityMailFromAttributes(r -> r.emailIdentity("moving-bounces.example"));
    List<String> after = SmtpClient.sendUntil(inbound, "", List.of(rcpt), "x",
        replies -> replies.stream().anyMatch(r -> r.startsWith("550 5.7.1")));
    assertTrue(after.stream().anyMatch(r -> r.startsWith("550 5.7.1")), after.toString());
  }

  @Test
  void foreignDomainsAreRefusedAndGarbageIsKept() throws IOException {
    List<String> relayAttempt = SmtpClient.send(inbound, "spammer@example.net", List.of("someone@gmail.com"), "x");
    assertTrue(relayAttempt.stream().anyMatch(r -> r.startsWith("550 5.7.1")), relayAttempt.toString());
    SmtpClient.send(inbound, "", List.of("whatever@bounces.mailgate.test"), "this is not a report at all\r\n");
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM inbound_feedback WHERE NOT attributed AND "
        + "rcpt_to = 'whatever@bounces.mailgate.test'") == 1, Duration.ofSeconds(10));
  }
}
