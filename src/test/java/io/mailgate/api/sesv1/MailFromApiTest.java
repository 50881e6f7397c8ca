package io.mailgate.api.sesv1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import software.amazon.awssdk.services.ses.model.BehaviorOnMXFailure;
import software.amazon.awssdk.services.ses.model.CustomMailFromStatus;
import software.amazon.awssdk.services.ses.model.IdentityMailFromDomainAttributes;
import software.amazon.awssdk.services.sesv2.model.BehaviorOnMxFailure;
import software.amazon.awssdk.services.sesv2.model.MailFromAttributes;

/**
 * SES v1's custom MAIL FROM domain through the AWS SDK's {@code ses} client (what Terraform's
 * {@code aws_ses_domain_mail_from} and older boto3 code call): set, read back in v1's names, the same setting SES
 * v2 reads and writes, turned off again, and SES's errors for what is refused, with nothing changed.
 */
class MailFromApiTest {
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

  static Map<String, IdentityMailFromDomainAttributes> attributes(Tenant t, String... identities) {
    return t.v1().getIdentityMailFromDomainAttributes(r -> r.identities(identities)).mailFromDomainAttributes();
  }

  /** The account's MAIL FROM settings, as text: to show that a refused request changed nothing. */
  static String snapshot(Tenant t) {
    return Db.string(pg, "SELECT coalesce(string_agg(concat_ws(' ', identity, mail_from_domain, mail_from_status, "
        + "mail_from_behavior), ',' ORDER BY identity), '') FROM identities WHERE account_id = '" + t.id() + "'");
  }

  @Test
  void aMailFromDomainIsSetReadBackInV1NamesSharedWithV2AndTurnedOff() {
    try (Tenant t = Tenant.create(node, "mailfrom-v1")) {
      t.v1().verifyDomainIdentity(r -> r.domain("mf1.example"));
      t.v1().verifyEmailIdentity(r -> r.emailAddress("ops@mf1.example"));
      t.v1().setIdentityMailFromDomain(r -> r.identity("mf1.example").mailFromDomain("Bounce.MF1.example")
          .behaviorOnMXFailure(BehaviorOnMXFailure.REJECT_MESSAGE));

      Map<String, IdentityMailFromDomainAttributes> all = attributes(t, "mf1.example", "ops@mf1.example",
          "unknown.example");
      assertEquals(2, all.size(), "an identity the account does not have is left out: " + all.keySet());
      IdentityMailFromDomainAttributes domain = all.get("mf1.example");
      assertEquals("bounce.mf1.example", domain.mailFromDomain());
      assertEquals(CustomMailFromStatus.SUCCESS, domain.mailFromDomainStatus(), "verified at once, as in start-dev");
      assertEquals(BehaviorOnMXFailure.REJECT_MESSAGE, domain.behaviorOnMXFailure());
      IdentityMailFromDomainAttributes address = all.get("ops@mf1.example");
      assertNull(address.mailFromDomain(), "an identity without a MAIL FROM domain answers its behaviour alone");
      assertNull(address.mailFromDomainStatus());
      assertEquals(BehaviorOnMXFailure.USE_DEFAULT_VALUE, address.behaviorOnMXFailure());

      // SES v2 reads the same setting, and what v2 writes v1 reads in its own names
      MailFromAttributes v2 = t.v2().getEmailIdentity(r -> r.emailIdentity("mf1.example")).mailFromAttributes();
      assertEquals("bounce.mf1.example", v2.mailFromDomain());
      assertEquals(BehaviorOnMxFailure.REJECT_MESSAGE, v2.behaviorOnMxFailure());
      t.v2().putEmailIdentityMailFromAttributes(r -> r.emailIdentity("ops@mf1.example")
          .mailFromDomain("mail.mf1.example").behaviorOnMxFailure(BehaviorOnMxFailure.USE_DEFAULT_VALUE));
      IdentityMailFromDomainAttributes fromV2 = attributes(t, "ops@mf1.example").get("ops@mf1.example");
      assertEquals("mail.mf1.example", fromV2.mailFromDomain(), "an address's MAIL FROM is under its domain");
      assertEquals(BehaviorOnMXFailure.USE_DEFAULT_VALUE, fromV2.behaviorOnMXFailure());

      // each status the periodic MX check writes, in v1's name
      for (Map.Entry<String, CustomMailFromStatus> s : Map.of("PENDING", CustomMailFromStatus.PENDING,
          "FAILED", CustomMailFromStatus.FAILED, "TEMPORARY_FAILURE", CustomMailFromStatus.TEMPORARY_FAILURE)
          .entrySet()) {
        Db.execute(pg, "UPDATE identities SET mail_from_status = ? WHERE account_id = ? AND identity = ?",
            s.getKey(), t.id(), "mf1.example");
        assertEquals(s.getValue(), attributes(t, "mf1.example").get("mf1.example").mailFromDomainStatus());
      }

      // MailFromDomain left out turns it off; BehaviorOnMXFailure left out is UseDefaultValue
      t.v1().setIdentityMailFromDomain(r -> r.identity("mf1.example"));
      IdentityMailFromDomainAttributes off = attributes(t, "mf1.example").get("mf1.example");
      assertNull(off.mailFromDomain());
      assertNull(off.mailFromDomainStatus());
      assertEquals(BehaviorOnMXFailure.USE_DEFAULT_VALUE, off.behaviorOnMXFailure());
      assertEquals("", t.v2().getEmailIdentity(r -> r.emailIdentity("mf1.example")).mailFromAttributes()
          .mailFromDomain());
    }
  }

  static void refused(Tenant t, String code, String message, Executable request) {
    IdentityNotificationsApiTest.refused(() -> snapshot(t), code, message, request);
  }

  @Test
  void badInputIsRefusedAsSesRefusesItAndChangesNothing() {
    try (Tenant t = Tenant.create(node, "mailfrom-v1-refusals")) {
      t.v1().verifyDomainIdentity(r -> r.domain("mf2.example"));
      t.v1().setIdentityMailFromDomain(r -> r.identity("mf2.example").mailFromDomain("bounce.mf2.example"));
      String invalid = "InvalidParameterValue";

      refused(t, invalid, "BehaviorOnMXFailure must be UseDefaultValue or RejectMessage, not 'SelfDestruct'",
          () -> t.v1().setIdentityMailFromDomain(r -> r.identity("mf2.example").mailFromDomain("mail.mf2.example")
              .behaviorOnMXFailure("SelfDestruct")));
      // v2's spelling is not v1's
      refused(t, invalid, "BehaviorOnMXFailure", () -> t.v1().setIdentityMailFromDomain(r -> r
          .identity("mf2.example").mailFromDomain("mail.mf2.example").behaviorOnMXFailure("REJECT_MESSAGE")));
      refused(t, invalid, "MailFromDomain must be a subdomain of mf2.example", () -> t.v1()
          .setIdentityMailFromDomain(r -> r.identity("mf2.example").mailFromDomain("bounce.other.example")));
      refused(t, invalid, "MailFromDomain must be a subdomain of mf2.example", () -> t.v1()
          .setIdentityMailFromDomain(r -> r.identity("mf2.example").mailFromDomain("mf2.example")));
      refused(t, invalid, "Invalid MailFromDomain", () -> t.v1().setIdentityMailFromDomain(r -> r
          .identity("mf2.example").mailFromDomain("bounce.mf2.example\r\nX-Injected: yes")));
      // an identity the account does not have, as SES words it
      refused(t, invalid, "Identity other.example is invalid. Must be a verified email address or domain.",
          () -> t.v1().setIdentityMailFromDomain(r -> r.identity("other.example")
              .mailFromDomain("bounce.other.example")));
      refused(t, invalid, "Missing required parameter Identity", () -> t.v1().setIdentityMailFromDomain(r -> r
          .mailFromDomain("bounce.mf2.example")));
      List<String> many = java.util.stream.IntStream.range(0, 101).mapToObj(i -> "d" + i + ".example").toList();
      refused(t, invalid, "100", () -> t.v1().getIdentityMailFromDomainAttributes(r -> r.identities(many)));

      assertEquals("bounce.mf2.example", attributes(t, "mf2.example").get("mf2.example").mailFromDomain());
    }
  }
}
