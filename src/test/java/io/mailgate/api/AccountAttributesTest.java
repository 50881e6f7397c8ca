package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AccountDetails;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.ContactLanguage;
import software.amazon.awssdk.services.sesv2.model.FeatureStatus;
import software.amazon.awssdk.services.sesv2.model.GetAccountResponse;
import software.amazon.awssdk.services.sesv2.model.MailType;
import software.amazon.awssdk.services.sesv2.model.PutAccountDetailsRequest;
import software.amazon.awssdk.services.sesv2.model.ReviewStatus;

/**
 * PutAccountDetails, PutAccountVdmAttributes and PutAccountDedicatedIpWarmupAttributes through the AWS SDK: validated
 * as SES validates them, kept, and shown by GetAccount; what Mailgate does not have (a review, VDM, the warming up of
 * dedicated IPs) is said, not pretended.
 */
class AccountAttributesTest {
  static RecordingSmtpServer relay;
  static TestNode node;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
  }

  static SesV2Client client(Accounts.NewKey key) {
    return node.sesV2(key.accessKeyId(), key.secretAccessKey());
  }

  static void putDetails(SesV2Client ses, Consumer<PutAccountDetailsRequest.Builder> request) {
    ses.putAccountDetails(r -> {
      r.mailType(MailType.TRANSACTIONAL).websiteURL("https://shop.example.com/");
      request.accept(r);
    });
  }

  @Test
  void detailsAreKeptAndShownAndProductionAccessWaitsForAnOperator() {
    Accounts.NewKey key = node.createAccount("details-owner", false, 10, 1000);
    try (SesV2Client ses = client(key)) {
      GetAccountResponse before = ses.getAccount(r -> { });
      assertNull(before.details());
      assertNull(before.vdmAttributes());

      ses.putAccountDetails(r -> r.mailType(MailType.MARKETING).websiteURL("https://news.example.com/about")
          .contactLanguage(ContactLanguage.JA).useCaseDescription("A weekly newsletter to subscribers who opted in.")
          .additionalContactEmailAddresses("ops@example.com", "Postmaster@news.example.com")
          .productionAccessEnabled(true));
      GetAccountResponse asked = ses.getAccount(r -> { });
      AccountDetails d = asked.details();
      assertEquals(MailType.MARKETING, d.mailType());
      assertEquals("https://news.example.com/about", d.websiteURL());
      assertEquals(ContactLanguage.JA, d.contactLanguage());
      assertEquals("A weekly newsletter to subscribers who opted in.", d.useCaseDescription());
      assertEquals(List.of("ops@example.com", "Postmaster@news.example.com"), d.additionalContactEmailAddresses());
      // no review: the request waits for an operator, and the account stays in the sandbox meanwhile
      assertEquals(ReviewStatus.PENDING, d.reviewDetails().status());
      assertNull(d.reviewDetails().caseId());
      assertFalse(asked.productionAccessEnabled());
      assertEquals(node.config().get(MailgateConfig.ACCOUNTS_SANDBOX_MAX_24_HOUR_SEND).longValue(),
          asked.sendQuota().max24HourSend().longValue());
      Accounts.AccountRow row = node.withAccounts(Accounts::list).stream()
          .filter(a -> a.id().equals(key.accountId())).findFirst().orElseThrow();
      assertTrue(row.productionAccessRequested());
      assertFalse(row.productionAccess());

      node.updateAccount(key.accountId(), null, null, true, null); // mailgate admin account set <id> --production true
      GetAccountResponse granted = ses.getAccount(r -> { });
      assertTrue(granted.productionAccessEnabled());
      assertEquals(ReviewStatus.GRANTED, granted.details().reviewDetails().status());

      // a later call replaces the details; without ProductionAccessEnabled it asks for nothing
      putDetails(ses, r -> { });
      AccountDetails replaced = ses.getAccount(r -> { }).details();
      assertEquals(MailType.TRANSACTIONAL, replaced.mailType());
      assertEquals("https://shop.example.com/", replaced.websiteURL());
      assertNull(replaced.contactLanguage());
      assertNull(replaced.useCaseDescription());
      assertTrue(replaced.additionalContactEmailAddresses().isEmpty());
      assertNull(replaced.reviewDetails());
    }
  }

  @Test
  void badDetailsAreRefusedNamingTheFieldAndChangeNothing() {
    Accounts.NewKey key = node.createAccount("details-bad", false, 10, 1000);
    try (SesV2Client ses = client(key)) {
      putDetails(ses, r -> r.contactLanguage(ContactLanguage.EN));
      AccountDetails kept = ses.getAccount(r -> { }).details();
      record Case(String field, Consumer<PutAccountDetailsRequest.Builder> request) {}
      List<Case> cases = List.of(
          new Case("MailType", r -> r.mailType((String) null)),
          new Case("MailType", r -> r.mailType("NEWSLETTER")),
          new Case("WebsiteURL", r -> r.websiteURL(null)),
          new Case("WebsiteURL", r -> r.websiteURL("")),
          new Case("WebsiteURL", r -> r.websiteURL("ftp://files.example.com/")),
          new Case("WebsiteURL", r -> r.websiteURL("shop.example.com")),
          new Case("WebsiteURL", r -> r.websiteURL("https://shop.example.com/a b")),
          new Case("WebsiteURL", r -> r.websiteURL("https://example.com/" + "a".repeat(981))),
          new Case("ContactLanguage", r -> r.contactLanguage("FR")),
          new Case("UseCaseDescription", r -> r.useCaseDescription("x".repeat(5001))),
          new Case("AdditionalContactEmailAddresses", r -> r.additionalContactEmailAddresses(List.of())),
          new Case("AdditionalContactEmailAddresses", r -> r.additionalContactEmailAddresses(
              "a1@example.com", "a2@example.com", "a3@example.com", "a4@example.com", "a5@example.com")),
          new Case("AdditionalContactEmailAddresses[1]", r -> r.additionalContactEmailAddresses(
              "ops@example.com", "not an address")),
          new Case("AdditionalContactEmailAddresses[0]", r -> r.additionalContactEmailAddresses("a@b.c")),
          new Case("AdditionalContactEmailAddresses[0]", r -> r.additionalContactEmailAddresses("Ops <ops@example.com>")));
      for (Case c : cases) {
        BadRequestException e = assertThrows(BadRequestException.class, () -> putDetails(ses, c.request()), c.field());
        assertTrue(e.awsErrorDetails().errorMessage().contains(c.field()), e.awsErrorDetails().errorMessage());
      }
      assertEquals(kept, ses.getAccount(r -> { }).details());
      // the limits themselves are taken
      putDetails(ses, r -> r.websiteURL("http://example.com/" + "a".repeat(981)).useCaseDescription("x".repeat(5000))
          .additionalContactEmailAddresses("a1@example.com", "a2@example.com", "a3@example.com", "a@b.co"));
      assertEquals(1000, ses.getAccount(r -> { }).details().websiteURL().length());
      // an empty UseCaseDescription (optional and deprecated in SES's model) is taken as none
      putDetails(ses, r -> r.useCaseDescription(""));
      assertNull(ses.getAccount(r -> { }).details().useCaseDescription());
    }
  }

  /**
   * VDM itself and its engagement tracking are turned on and off (what they do: VdmMetricsTest); its Guardian, which
   * Mailgate does not have, only off.
   */
  @Test
  void vdmIsTurnedOnAndOffItsGuardianOnlyOffAndAllShownAsSet() {
    Accounts.NewKey key = node.createAccount("vdm-owner", true, 10, 1000);
    try (SesV2Client ses = client(key)) {
      ses.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.DISABLED)
          .dashboardAttributes(d -> d.engagementMetrics(FeatureStatus.DISABLED))));
      GetAccountResponse account = ses.getAccount(r -> { });
      assertEquals(FeatureStatus.DISABLED, account.vdmAttributes().vdmEnabled());
      assertEquals(FeatureStatus.DISABLED, account.vdmAttributes().dashboardAttributes().engagementMetrics());
      assertNull(account.vdmAttributes().guardianAttributes());

      ses.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)));
      account = ses.getAccount(r -> { });
      assertEquals(FeatureStatus.ENABLED, account.vdmAttributes().vdmEnabled());
      assertNull(account.vdmAttributes().dashboardAttributes(), "each Put replaces the whole");

      ses.putAccountVdmAttributes(r -> r.vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)
          .dashboardAttributes(d -> d.engagementMetrics(FeatureStatus.ENABLED))));
      account = ses.getAccount(r -> { });
      assertEquals(FeatureStatus.ENABLED, account.vdmAttributes().dashboardAttributes().engagementMetrics());
      BadRequestException tracking = assertThrows(BadRequestException.class, () -> ses.putAccountVdmAttributes(r -> r
          .vdmAttributes(v -> v.vdmEnabled(FeatureStatus.ENABLED)
              .dashboardAttributes(d -> d.engagementMetrics("YES")))));
      assertTrue(tracking.awsErrorDetails().errorMessage()
              .contains("VdmAttributes.DashboardAttributes.EngagementMetrics must be ENABLED or DISABLED"),
          tracking.awsErrorDetails().errorMessage());
      BadRequestException guardian = assertThrows(BadRequestException.class, () -> ses.putAccountVdmAttributes(r -> r
          .vdmAttributes(v -> v.vdmEnabled(FeatureStatus.DISABLED)
              .guardianAttributes(g -> g.optimizedSharedDelivery(FeatureStatus.ENABLED)))));
      assertTrue(guardian.awsErrorDetails().errorMessage()
              .contains("VdmAttributes.GuardianAttributes.OptimizedSharedDelivery"),
          guardian.awsErrorDetails().errorMessage());
      BadRequestException odd = assertThrows(BadRequestException.class, () -> ses.putAccountVdmAttributes(r -> r
          .vdmAttributes(v -> v.vdmEnabled("SOMETIMES"))));
      assertTrue(odd.awsErrorDetails().errorMessage().contains("ENABLED or DISABLED"),
          odd.awsErrorDetails().errorMessage());
      assertThrows(BadRequestException.class, () -> ses.putAccountVdmAttributes(r -> r.vdmAttributes(v -> { })));
      assertThrows(BadRequestException.class, () -> ses.putAccountVdmAttributes(r -> { }));
      assertEquals(account.vdmAttributes(), ses.getAccount(r -> { }).vdmAttributes()); // the refusals changed nothing
    }
  }

  @Test
  void dedicatedIpWarmupCanOnlyBeOffAsNothingWarmsAddressesUp() {
    Accounts.NewKey key = node.createAccount("warmup-owner", true, 10, 1000);
    try (SesV2Client ses = client(key)) {
      ses.putAccountDedicatedIpWarmupAttributes(r -> r.autoWarmupEnabled(false));
      ses.putAccountDedicatedIpWarmupAttributes(r -> { });
      BadRequestException on = assertThrows(BadRequestException.class,
          () -> ses.putAccountDedicatedIpWarmupAttributes(r -> r.autoWarmupEnabled(true)));
      assertTrue(on.awsErrorDetails().errorMessage().contains("AutoWarmupEnabled can only be false"),
          on.awsErrorDetails().errorMessage());
      assertFalse(ses.getAccount(r -> { }).dedicatedIpAutoWarmupEnabled());
    }
  }
}
