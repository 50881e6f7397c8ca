package io.mailgate.api.sesv1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Db;
import io.mailgate.testing.Tenant;
import io.mailgate.testing.TestNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import software.amazon.awssdk.services.ses.model.IdentityNotificationAttributes;
import software.amazon.awssdk.services.ses.model.NotificationType;
import software.amazon.awssdk.services.ses.model.SesException;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/**
 * SES v1's identity notification settings through the AWS SDK's {@code ses} client (what Terraform's
 * {@code aws_ses_identity_notification_topic}, django-ses and aws-sdk-rails setups call), read back as SES answers
 * them, the feedback forwarding flag through SES v2 as well, and SES's errors for what is refused, with nothing
 * changed.
 */
class IdentityNotificationsApiTest {
  static TestNode node;
  static String pg;

  @BeforeAll
  static void start() {
    node = TestNode.start("");
    pg = node.config().get(MailgateConfig.PG_URL);
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  static void topic(Tenant t, String identity, NotificationType type, String url) {
    t.v1().setIdentityNotificationTopic(r -> r.identity(identity).notificationType(type).snsTopic(url));
  }

  static IdentityNotificationAttributes attributes(Tenant t, String identity) {
    return t.v1().getIdentityNotificationAttributes(r -> r.identities(identity)).notificationAttributes()
        .get(identity);
  }

  /** Everything the account has of identity notifications, as text: to show that a refused request changed nothing. */
  static String snapshot(Tenant t) {
    String account = "'" + t.id() + "'";
    return Db.string(pg, "SELECT coalesce((SELECT string_agg(concat_ws(' ', identity, feedback_forwarding, "
        + "notification_headers), ',' ORDER BY identity) FROM identities WHERE account_id = " + account + "), '') "
        + "|| ' | ' || coalesce((SELECT string_agg(concat_ws(' ', identity, name, enabled, event_types, url), ',' "
        + "ORDER BY identity, name) FROM event_destinations WHERE account_id = " + account + "), '')");
  }

  @Test
  void topicsFlagsAndHeadersAreSetAndReadBackAsSesAnswers() {
    try (Tenant t = Tenant.create(node, "notify-settings")) {
      t.v1().verifyDomainIdentity(r -> r.domain("n1.example"));
      t.v1().verifyEmailIdentity(r -> r.emailAddress("ops@n1.example"));
      topic(t, "n1.example", NotificationType.BOUNCE, "https://hooks.example.com/bounces?token=a");
      topic(t, "n1.example", NotificationType.COMPLAINT, "https://hooks.example.com/complaints");
      topic(t, "N1.Example", NotificationType.DELIVERY, "https://hooks.example.com/deliveries");
      t.v1().setIdentityHeadersInNotificationsEnabled(r -> r.identity("n1.example")
          .notificationType(NotificationType.BOUNCE).enabled(true));

      Map<String, IdentityNotificationAttributes> all = t.v1().getIdentityNotificationAttributes(r -> r
          .identities("n1.example", "ops@n1.example", "unknown.example")).notificationAttributes();
      assertEquals(2, all.size(), "an identity the account does not have is left out: " + all.keySet());
      IdentityNotificationAttributes domain = all.get("n1.example");
      assertEquals("https://hooks.example.com/bounces?token=a", domain.bounceTopic());
      assertEquals("https://hooks.example.com/complaints", domain.complaintTopic());
      assertEquals("https://hooks.example.com/deliveries", domain.deliveryTopic());
      assertTrue(domain.forwardingEnabled());
      assertTrue(domain.headersInBounceNotificationsEnabled());
      assertFalse(domain.headersInComplaintNotificationsEnabled());
      assertFalse(domain.headersInDeliveryNotificationsEnabled());
      IdentityNotificationAttributes address = all.get("ops@n1.example");
      assertNull(address.bounceTopic(), "the domain's topics are not the address's own");
      assertNull(address.deliveryTopic());
      assertTrue(address.forwardingEnabled());
      assertFalse(address.headersInBounceNotificationsEnabled());

      // a topic is replaced in place; headers off again
      topic(t, "n1.example", NotificationType.BOUNCE, "https://hooks.example.com/bounces-2");
      t.v1().setIdentityHeadersInNotificationsEnabled(r -> r.identity("n1.example")
          .notificationType(NotificationType.BOUNCE).enabled(false));
      assertEquals("https://hooks.example.com/bounces-2", attributes(t, "n1.example").bounceTopic());
      assertFalse(attributes(t, "n1.example").headersInBounceNotificationsEnabled());
      assertEquals(3, Db.count(pg, "SELECT count(*) FROM event_destinations WHERE account_id = '" + t.id() + "'"));

      // with both a bounce and a complaint topic, forwarding may be turned off; v2 reads and changes the same flag
      t.v1().setIdentityFeedbackForwardingEnabled(r -> r.identity("n1.example").forwardingEnabled(false));
      assertFalse(attributes(t, "n1.example").forwardingEnabled());
      assertFalse(t.v2().getEmailIdentity(r -> r.emailIdentity("n1.example")).feedbackForwardingStatus());
      assertTrue(t.v2().getEmailIdentity(r -> r.emailIdentity("ops@n1.example")).feedbackForwardingStatus());
      t.v2().putEmailIdentityFeedbackAttributes(r -> r.emailIdentity("n1.example").emailForwardingEnabled(true));
      assertTrue(attributes(t, "n1.example").forwardingEnabled());
      assertTrue(t.v2().getEmailIdentity(r -> r.emailIdentity("n1.example")).feedbackForwardingStatus());

      // SnsTopic left out clears the topic
      t.v1().setIdentityNotificationTopic(r -> r.identity("n1.example").notificationType(NotificationType.DELIVERY));
      assertNull(attributes(t, "n1.example").deliveryTopic());
      assertEquals("https://hooks.example.com/complaints", attributes(t, "n1.example").complaintTopic());
      // deleting the identity deletes its topics
      t.v1().deleteIdentity(r -> r.identity("n1.example"));
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM event_destinations WHERE account_id = '" + t.id() + "'"));
    }
  }

  static String arn(String account, String identity) {
    return "arn:aws:ses:us-east-1:" + account + ":identity/" + identity;
  }

  /**
   * SES takes an identity by its ARN as well as by its name (Terraform's {@code aws_ses_identity_notification_topic}
   * passes the ARN), and GetIdentityNotificationAttributes answers it under the ARN it was asked by; another account's
   * ARN finds nothing of the caller's, refused or left out, and changes neither account.
   */
  @Test
  void identitiesAreTakenByTheirOwnArnAsByTheirName() {
    try (Tenant t = Tenant.create(node, "notify-arns"); Tenant other = Tenant.create(node, "notify-arns-other")) {
      t.v1().verifyDomainIdentity(r -> r.domain("n3.example"));
      t.v1().verifyEmailIdentity(r -> r.emailAddress("ops@n3.example"));
      other.v1().verifyDomainIdentity(r -> r.domain("n4.example"));
      String domainArn = arn(t.id(), "n3.example");
      String addressArn = arn(t.id(), "ops@n3.example");

      topic(t, domainArn, NotificationType.BOUNCE, "https://hooks.example.com/arn-bounces");
      topic(t, domainArn, NotificationType.COMPLAINT, "https://hooks.example.com/arn-complaints");
      topic(t, addressArn, NotificationType.DELIVERY, "https://hooks.example.com/arn-deliveries");
      t.v1().setIdentityHeadersInNotificationsEnabled(r -> r.identity(domainArn)
          .notificationType(NotificationType.COMPLAINT).enabled(true));
      t.v1().setIdentityFeedbackForwardingEnabled(r -> r.identity(domainArn).forwardingEnabled(false));

      IdentityNotificationAttributes byName = attributes(t, "n3.example");
      assertEquals("https://hooks.example.com/arn-bounces", byName.bounceTopic());
      assertEquals("https://hooks.example.com/arn-complaints", byName.complaintTopic());
      assertTrue(byName.headersInComplaintNotificationsEnabled());
      assertFalse(byName.forwardingEnabled());
      assertEquals("https://hooks.example.com/arn-deliveries", attributes(t, "ops@n3.example").deliveryTopic());

      String othersArn = arn(other.id(), "n4.example");
      Map<String, IdentityNotificationAttributes> all = t.v1().getIdentityNotificationAttributes(r -> r
          .identities(domainArn, "n3.example", addressArn, othersArn, arn(t.id(), "unknown.example")))
          .notificationAttributes();
      assertEquals(java.util.Set.of(domainArn, "n3.example", addressArn), all.keySet(),
          "each under the string asked for; another account's identity and one the account lacks are left out");
      assertEquals(byName, all.get(domainArn));
      assertEquals("https://hooks.example.com/arn-deliveries", all.get(addressArn).deliveryTopic());

      // another account's ARN is an identity the caller does not have, though that account has it
      String othersBefore = snapshot(other);
      String invalid = "InvalidParameterValue";
      refused(t, invalid, "Identity n4.example is invalid", () -> topic(t, othersArn, NotificationType.BOUNCE,
          "https://hooks.example.com/stolen"));
      refused(t, invalid, "is invalid", () -> t.v1().setIdentityHeadersInNotificationsEnabled(r -> r
          .identity(othersArn).notificationType(NotificationType.BOUNCE).enabled(true)));
      refused(t, invalid, "is invalid", () -> t.v1().setIdentityFeedbackForwardingEnabled(r -> r
          .identity(othersArn).forwardingEnabled(true)));
      // an ARN of another region names no identity of this node's
      refused(t, invalid, "this endpoint serves us-east-1", () -> topic(t,
          "arn:aws:ses:eu-west-1:" + t.id() + ":identity/n3.example", NotificationType.BOUNCE,
          "https://hooks.example.com/elsewhere"));
      assertEquals(othersBefore, snapshot(other));
      assertTrue(other.v1().getIdentityNotificationAttributes(r -> r.identities("n4.example"))
          .notificationAttributes().get("n4.example").forwardingEnabled());
    }
  }

  static void refused(Tenant t, String code, String message, Executable request) {
    refused(() -> snapshot(t), code, message, request);
  }

  /** The v1 request is refused with a 400, {@code code} and a message that says {@code message}; {@code state} stays. */
  static void refused(java.util.function.Supplier<String> state, String code, String message, Executable request) {
    String before = state.get();
    SesException e = assertThrows(SesException.class, request);
    assertEquals(code, e.awsErrorDetails().errorCode(), e.getMessage());
    assertEquals(400, e.statusCode());
    assertTrue(e.getMessage().contains(message), e.getMessage());
    assertEquals(before, state.get(), "a refused request changes nothing");
  }

  @Test
  void badInputIsRefusedAsSesRefusesItAndChangesNothing() {
    try (Tenant t = Tenant.create(node, "notify-refusals")) {
      t.v1().verifyDomainIdentity(r -> r.domain("n2.example"));
      topic(t, "n2.example", NotificationType.BOUNCE, "https://hooks.example.com/b");
      String invalid = "InvalidParameterValue";

      // the topic is checked as event destinations' and receipt rules' topics are
      refused(t, invalid, "is an ARN", () -> topic(t, "n2.example", NotificationType.COMPLAINT,
          "arn:aws:sns:us-east-1:123456789012:complaints"));
      refused(t, invalid, "http or https", () -> topic(t, "n2.example", NotificationType.BOUNCE,
          "ftp://hooks.example.com/b"));
      refused(t, invalid, "user name", () -> topic(t, "n2.example", NotificationType.BOUNCE,
          "https://user:pw@hooks.example.com/b"));
      refused(t, invalid, "SNS topic is empty", () -> topic(t, "n2.example", NotificationType.BOUNCE, ""));
      // an identity the account does not have, as SES words it (and another account's is one it does not have)
      refused(t, invalid, "Identity other.example is invalid. Must be a verified email address or domain.",
          () -> topic(t, "other.example", NotificationType.BOUNCE, "https://hooks.example.com/b"));
      refused(t, invalid, "is invalid", () -> t.v1().setIdentityFeedbackForwardingEnabled(r -> r
          .identity("nobody@n2.example").forwardingEnabled(true)));
      refused(t, invalid, "is invalid", () -> t.v1().setIdentityHeadersInNotificationsEnabled(r -> r
          .identity("other.example").notificationType(NotificationType.BOUNCE).enabled(true)));
      // not a notification type
      refused(t, invalid, "NotificationType must be Bounce, Complaint or Delivery", () -> t.v1()
          .setIdentityNotificationTopic(r -> r.identity("n2.example").notificationType("Bounces")
              .snsTopic("https://hooks.example.com/b")));
      refused(t, invalid, "NotificationType", () -> t.v1().setIdentityHeadersInNotificationsEnabled(r -> r
          .identity("n2.example").notificationType("Send").enabled(true)));
      // forwarding off needs both a bounce and a complaint topic
      refused(t, invalid, "both a bounce and a complaint topic", () -> t.v1()
          .setIdentityFeedbackForwardingEnabled(r -> r.identity("n2.example").forwardingEnabled(false)));
      String before = snapshot(t);
      assertThrows(NotFoundException.class, () -> t.v2().putEmailIdentityFeedbackAttributes(r -> r
          .emailIdentity("other.example").emailForwardingEnabled(true)));
      assertEquals(before, snapshot(t));
      assertTrue(attributes(t, "n2.example").forwardingEnabled());
      // SES v2 has no such rule (Terraform's aws_sesv2_email_identity_feedback_attributes turns it off bare)
      t.v2().putEmailIdentityFeedbackAttributes(r -> r.emailIdentity("n2.example").emailForwardingEnabled(false));
      assertEquals(false, t.v2().getEmailIdentity(r -> r.emailIdentity("n2.example")).feedbackForwardingStatus());
      // clearing a topic the identity does not have is no error, forwarding off or not
      t.v1().setIdentityNotificationTopic(r -> r.identity("n2.example").notificationType(NotificationType.COMPLAINT));
      t.v2().putEmailIdentityFeedbackAttributes(r -> r.emailIdentity("n2.example").emailForwardingEnabled(true));
      assertTrue(attributes(t, "n2.example").forwardingEnabled());

      // and once forwarding is off, neither topic it relies on may be cleared
      topic(t, "n2.example", NotificationType.COMPLAINT, "https://hooks.example.com/c");
      t.v1().setIdentityFeedbackForwardingEnabled(r -> r.identity("n2.example").forwardingEnabled(false));
      refused(t, invalid, "Enable feedback forwarding", () -> t.v1().setIdentityNotificationTopic(r -> r
          .identity("n2.example").notificationType(NotificationType.COMPLAINT)));
      assertEquals(List.of("https://hooks.example.com/b", "https://hooks.example.com/c"), List.of(
          attributes(t, "n2.example").bounceTopic(), attributes(t, "n2.example").complaintTopic()));

      // at most 100 identities per lookup
      List<String> many = java.util.stream.IntStream.range(0, 101).mapToObj(i -> "d" + i + ".example").toList();
      refused(t, invalid, "100", () -> t.v1().getIdentityNotificationAttributes(r -> r.identities(many)));
    }
  }
}
