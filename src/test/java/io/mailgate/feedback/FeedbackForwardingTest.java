package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.SingleBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * Email feedback forwarding end to end: bounces (a relay refusing a recipient) and complaints (the mailbox simulator)
 * of messages sent through the SDKs come back to the sender's Return-Path as a DSN or an ARF report, sent by Mailgate
 * with an empty envelope sender, unless the identity turned forwarding off; a forward that bounces is not forwarded.
 */
class FeedbackForwardingTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static String pg;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer().onRcpt(rcpt -> rcpt.startsWith("nobody") || rcpt.startsWith("gone-sender")
        ? "550 5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown" : "250 2.1.5 Ok");
    node = TestNode.start(relay.url(), c -> c.with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.fwd.test"));
    ses = node.sesV2();
    pg = node.config().get(MailgateConfig.PG_URL);
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static String send(String from, String to) {
    return ses.sendEmail(r -> r.fromEmailAddress(from).destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Your order")).body(b -> b.text(t -> t.data("Thanks."))))))
        .messageId();
  }

  /** The message the relay received for {@code to} whose envelope sender is empty. */
  static RecordingSmtpServer.Received forwardTo(String to) {
    return Await.until(() -> relay.received().stream()
            .filter(r -> r.rcptTo().equals(List.of(to)) && r.mailFrom().isEmpty()).findFirst().orElse(null),
        r -> r != null, Duration.ofSeconds(30));
  }

  static Message parse(byte[] data) throws IOException {
    return new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(data));
  }

  static String text(Entity e) throws IOException {
    return new String(((SingleBody) e.getBody()).getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
  }

  /** Waits until the message's bounce is recorded and its forward, if any, was decided (mailed or dropped). */
  static void forwardDecided(String id) {
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM events WHERE type IN ('Bounce', 'Complaint') "
        + "AND message_id = '" + id + "'") == 1
        && Db.count(pg, "SELECT count(*) FROM feedback_forwards WHERE message_id = '" + id + "'") == 0,
        Duration.ofSeconds(30));
  }

  static long forwardsTo(String address) {
    return Db.count(pg, "SELECT count(*) FROM messages m JOIN recipients r ON r.message_id = m.id "
        + "WHERE m.account_id = 'system' AND r.address = '" + address + "'");
  }

  @Test
  void aHardBounceComesBackToTheSourceAsADeliveryStatusNotification() throws IOException {
    String id = send("Shop <shop@fwd.example>", "nobody@dest.example");

    RecordingSmtpServer.Received got = forwardTo("shop@fwd.example");
    assertEquals("", got.mailFrom(), "MAIL FROM:<>: a bounce is never bounced");
    Message dsn = parse(got.data());
    assertEquals("multipart/report", dsn.getMimeType());
    assertEquals("delivery-status", dsn.getHeader().getField("Content-Type").getBody().replaceAll(
        "(?s).*report-type=\"?([a-z-]+).*", "$1"));
    assertEquals("MAILER-DAEMON@bounces.fwd.test", dsn.getFrom().get(0).getAddress());
    assertEquals("auto-replied", dsn.getHeader().getField("Auto-Submitted").getBody().strip());
    List<Entity> parts = ((Multipart) dsn.getBody()).getBodyParts();
    assertEquals(3, parts.size());
    assertTrue(text(parts.get(0)).contains("nobody@dest.example"), text(parts.get(0)));
    assertTrue(text(parts.get(0)).contains("User unknown"), "the remote server's diagnostic");
    assertEquals("message/delivery-status", parts.get(1).getMimeType());
    String status = text(parts.get(1));
    assertTrue(status.contains("Final-Recipient: rfc822; nobody@dest.example"), status);
    assertTrue(status.contains("Action: failed"), status);
    assertTrue(status.contains("Status: 5.1.1"), status);
    assertTrue(status.contains("Diagnostic-Code: smtp; 550 5.1.1"), status);
    assertTrue(status.contains("Reporting-MTA: dns; "), status);
    assertEquals("text/rfc822-headers", parts.get(2).getMimeType());
    assertTrue(text(parts.get(2)).contains("Message-ID: <" + id + "@"), text(parts.get(2)));

    forwardDecided(id);
    assertEquals(1, forwardsTo("shop@fwd.example"), "forwarded once");
  }

  @Test
  void aReturnPathGetsTheBounceInsteadOfTheSource() throws IOException {
    String id = node.sesV1().sendEmail(r -> r.source("orders@fwd.example").returnPath("returns@fwd.example")
        .destination(d -> d.toAddresses("nobody-rp@dest.example"))
        .message(m -> m.subject(s -> s.data("Your order")).body(b -> b.text(t -> t.data("Thanks."))))).messageId();

    Message dsn = parse(forwardTo("returns@fwd.example").data());
    assertTrue(text(((Multipart) dsn.getBody()).getBodyParts().get(1))
        .contains("Final-Recipient: rfc822; nobody-rp@dest.example"));
    forwardDecided(id);
    assertEquals(0, forwardsTo("orders@fwd.example"), "not to the Source");
  }

  @Test
  void anIdentityWithForwardingOffGetsNothing() {
    ses.createEmailIdentity(r -> r.emailIdentity("quiet.example"));
    ses.putEmailIdentityFeedbackAttributes(r -> r.emailIdentity("quiet.example").emailForwardingEnabled(false));
    String id = send("news@quiet.example", "nobody-quiet@dest.example");
    send("news@loud.example", "nobody-loud@dest.example"); // forwarding on: its bounce comes back

    forwardTo("news@loud.example");
    forwardDecided(id);
    assertEquals(0, forwardsTo("news@quiet.example"));
    assertTrue(relay.received().stream().noneMatch(r -> r.rcptTo().contains("news@quiet.example")));
  }

  @Test
  void aComplaintComesBackAsItsArfReport() throws IOException {
    String id = send("shop-complaints@fwd.example", "complaint@simulator.amazonses.com");

    RecordingSmtpServer.Received got = forwardTo("shop-complaints@fwd.example");
    assertEquals("", got.mailFrom());
    Message arf = parse(got.data());
    assertEquals("multipart/report", arf.getMimeType());
    assertTrue(arf.getHeader().getField("Content-Type").getBody().contains("feedback-report"));
    assertEquals("MAILER-DAEMON@bounces.fwd.test", arf.getFrom().get(0).getAddress());
    List<Entity> parts = ((Multipart) arf.getBody()).getBodyParts();
    assertEquals("message/feedback-report", parts.get(1).getMimeType());
    assertTrue(text(parts.get(1)).contains("Feedback-Type: abuse"), text(parts.get(1)));
    assertTrue(text(parts.get(1)).contains("Original-Rcpt-To: <complaint@simulator.amazonses.com>"));
    assertTrue(text(parts.get(2)).contains("Message-ID: <" + id + "@"), "the original message's headers");
    forwardDecided(id);
    assertEquals(1, forwardsTo("shop-complaints@fwd.example"));
  }

  @Test
  void aForwardThatBouncesIsNotForwardedAgain() {
    String id = send("gone-sender@fwd.example", "nobody-loop@dest.example");

    forwardDecided(id);
    // the forward was refused by the relay (550 for gone-sender): a bounce of the system account's message
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM messages m JOIN recipients r ON r.message_id = m.id "
        + "WHERE m.account_id = 'system' AND r.address = 'gone-sender@fwd.example' AND r.state = 'bounced'") == 1,
        Duration.ofSeconds(30));
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM feedback_forwards") == 0, Duration.ofSeconds(30));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM feedback_forwards f JOIN messages m ON m.id = f.message_id "
        + "WHERE m.account_id = 'system'"), "no forward of a forward");
    assertEquals(1, forwardsTo("gone-sender@fwd.example"));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM messages m JOIN recipients r ON r.message_id = m.id "
        + "WHERE m.account_id = 'system' AND r.address NOT LIKE '%@fwd.example'"), "nothing mailed anywhere else");
  }
}
