package io.mailgate.api.console;

import static io.mailgate.api.console.ConsoleFormsTest.followed;
import static io.mailgate.api.console.ConsoleFormsTest.said;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.api.console.ConsoleFormsTest.Browser;
import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.Verification;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.GetEmailIdentityResponse;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/**
 * The console's "verify again", on a production node (identities are verified for real): a pending address is sent
 * its verification email again, unless one went within the cooldown, and the page says which; a domain not verified
 * has its DNS records looked up at the next round, FAILED ones started again; a verified identity, or one the account
 * does not have, is refused and nothing changes.
 */
class ConsoleVerifyAgainTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static String pg;

  @BeforeAll
  static void start() throws Exception {
    relay = new RecordingSmtpServer();
    node = TestNode.startProduction(relay.url(), c -> c);
    pg = node.config().get(MailgateConfig.PG_URL);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    relay.close();
  }

  static Browser newAccount(String name) {
    Accounts.NewKey k = node.createAccount(name, true, 10, 1000);
    return new Browser(node.endpoint(), k.accessKeyId(), k.secretAccessKey());
  }

  static long mailsTo(String address) {
    return relay.received().stream().filter(m -> m.rcptTo().contains(address)).count();
  }

  @Test
  void aPendingAddressIsSentItsEmailAgainOutsideTheCooldown() throws Exception {
    Browser browser = newAccount("console-again-address");
    String address = "again@verify.example";
    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      String added = followed(browser, browser.submit("action", "identity-create", "identity", address));
      Await.until(() -> mailsTo(address), n -> n == 1, Duration.ofSeconds(20));
      assertTrue(added.contains("<td>" + address + "</td><td>email address</td><td>PENDING"), added);
      assertTrue(added.contains("Send the email again"), added);

      // within the cooldown: no email, and the page says so
      String held = followed(browser, browser.submit("action", "identity-verify", "identity", address));
      assertTrue(held.contains(said("verification-not-sent")), held);
      Thread.sleep(300); // an email that went wrongly would be at the relay by now
      assertEquals(1, mailsTo(address));

      // five minutes later (the cooldown's record moved back): a new email, whose link verifies the address
      Db.execute(pg, "UPDATE verification_emails SET sent_at = now() - interval '6 minutes' WHERE address = '"
          + address + "'");
      String sent = followed(browser, browser.submit("action", "identity-verify", "identity", address));
      assertTrue(sent.contains(said("verification-sent")), sent);
      Await.until(() -> mailsTo(address), n -> n == 2, Duration.ofSeconds(20));
      assertEquals("PENDING", ses.getEmailIdentity(r -> r.emailIdentity(address)).verificationStatusAsString());
      assertEquals(200, Verification.follow(Verification.linkFor(relay, address)).statusCode());
      assertEquals("SUCCESS", ses.getEmailIdentity(r -> r.emailIdentity(address)).verificationStatusAsString());

      // verified: no button, and a form sent anyway is refused without an email
      String page = browser.get("").body();
      assertTrue(page.contains("<td>" + address + "</td><td>email address</td><td>SUCCESS</td>"), page);
      assertFalse(page.contains("Send the email again"), page);
      Db.execute(pg, "DELETE FROM verification_emails WHERE address = '" + address + "'");
      HttpResponse<String> verified = browser.submit("action", "identity-verify", "identity", address);
      assertEquals(400, verified.statusCode(), verified.body());
      assertTrue(verified.body().contains("Not done: BadRequestException: Identity " + address
          + " is verified already"), verified.body());

      // one the account does not have is not created
      HttpResponse<String> unknown = browser.submit("action", "identity-verify", "identity", "other@verify.example");
      assertEquals(404, unknown.statusCode(), unknown.body());
      assertThrows(NotFoundException.class, () -> ses.getEmailIdentity(r -> r.emailIdentity("other@verify.example")));
      HttpResponse<String> blank = browser.submit("action", "identity-verify", "identity", " ");
      assertEquals(400, blank.statusCode(), blank.body());
      Thread.sleep(300);
      assertEquals(2, mailsTo(address));
      assertEquals(0, mailsTo("other@verify.example"));
    }
  }

  @Test
  void aDomainIsLookedUpAgainAndAFailedOneStartsAgain() throws Exception {
    Browser browser = newAccount("console-again-domain");
    String domain = "again-domain.example";
    String where = " WHERE identity = '" + domain + "'";
    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      String added = followed(browser, browser.submit("action", "identity-create", "identity", domain));
      assertTrue(added.contains("Check DNS now"), added);

      // looked up a moment ago, the next lookup an interval away: asked, it is due at the node's next round
      Db.execute(pg, "UPDATE identities SET dns_checked_at = now() + interval '1 hour'" + where);
      String asked = followed(browser, browser.submit("action", "identity-verify", "identity", domain));
      assertTrue(asked.contains(said("dns-check")), asked);
      assertEquals(1, Db.count(pg, "SELECT count(*) FROM identities" + where
          + " AND (dns_checked_at IS NULL OR dns_checked_at < now() + interval '30 minutes')"));

      // FAILED (its records never published in 72 hours): PENDING again, timed from now
      Db.execute(pg, "UPDATE identities SET verification_status = 'FAILED', dkim_status = 'FAILED', "
          + "dkim_pending_since = now() - interval '80 hours'" + where);
      GetEmailIdentityResponse failed = ses.getEmailIdentity(r -> r.emailIdentity(domain));
      assertEquals("FAILED", failed.verificationStatusAsString());
      assertTrue(browser.get("").body().contains("Check DNS now"));
      followed(browser, browser.submit("action", "identity-verify", "identity", domain));
      GetEmailIdentityResponse again = ses.getEmailIdentity(r -> r.emailIdentity(domain));
      assertEquals("PENDING", again.verificationStatusAsString());
      assertEquals("PENDING", again.dkimAttributes().statusAsString());
      assertEquals(1, Db.count(pg, "SELECT count(*) FROM identities" + where
          + " AND dkim_pending_since > now() - interval '1 minute'"));

      // verified, and so is its DKIM: no button, and a form sent anyway changes nothing
      Db.execute(pg, "UPDATE identities SET verification_status = 'SUCCESS', dkim_status = 'SUCCESS', "
          + "dns_checked_at = now() + interval '1 hour'" + where);
      assertFalse(browser.get("").body().contains("Check DNS now"));
      HttpResponse<String> verified = browser.submit("action", "identity-verify", "identity", domain);
      assertEquals(400, verified.statusCode(), verified.body());
      assertTrue(verified.body().contains("is verified already"), verified.body());
      assertEquals(1, Db.count(pg, "SELECT count(*) FROM identities" + where
          + " AND dns_checked_at > now() + interval '30 minutes'"));
    }
  }
}
