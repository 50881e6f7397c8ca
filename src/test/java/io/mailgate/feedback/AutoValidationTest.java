package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.Verification;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.SuppressionConfidenceVerdictThreshold;
import software.amazon.awssdk.services.sesv2.model.SuppressionListReason;
import software.amazon.awssdk.services.sesv2.model.SuppressionValidationAttributes;
import software.amazon.awssdk.services.sesv2.model.SuppressionValidationOptions;

/**
 * Auto Validation: the account's ValidationAttributes and a configuration set's ValidationOptions, set through the AWS
 * SDK, and what delivery does with them (the relay takes every address: only validation holds one back).
 */
class AutoValidationTest {
  static RecordingSmtpServer relay;
  static FakeDnsServer dns;
  static TestNode node;
  static int accounts;
  /** Each test's own account (settings are an account's: tests must not see each other's). */
  Accounts.NewKey a;
  SesV2Client ses;
  String sender;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    dns = FakeDnsServer.start()
        .mx("mail.example", 10, "mx.mail.example").a("mx.mail.example", "192.0.2.10")
        .mx("val.example", 10, "mx.val.example").a("mx.val.example", "192.0.2.10")
        .mx("flaky.example", 10, "mx.flaky.example").a("mx.flaky.example", "192.0.2.10")
        .fail("flaky.example", FakeDnsServer.Failure.SERVFAIL);
    // delivery reads an account's setting afresh for each message
    node = TestNode.startProduction(relay.url(), c -> c.with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.CACHE_TTL_MILLIS, 0));
  }

  @BeforeEach
  void account() {
    a = node.createAccount("validating" + ++accounts, true, 100, 100_000);
    ses = node.sesV2(a.accessKeyId(), a.secretAccessKey());
    sender = "sender" + accounts + "@val.example"; // the helper follows the first link mailed to an address
    Verification.verifiedAddress(ses, relay, sender);
  }

  @AfterEach
  void closeClient() {
    ses.close();
  }

  @AfterAll
  static void stop() throws IOException {
    node.close();
    relay.close();
    dns.close();
  }

  static SuppressionValidationAttributes accountSetting(String enabled, SuppressionConfidenceVerdictThreshold t) {
    return SuppressionValidationAttributes.builder().conditionThreshold(c -> {
      c.conditionThresholdEnabled(enabled);
      if (t != null) {
        c.overallConfidenceThreshold(o -> o.confidenceVerdictThreshold(t));
      }
    }).build();
  }

  String send(String to, String configurationSet) {
    return ses.sendEmail(r -> r.fromEmailAddress(sender).destination(d -> d.toAddresses(to))
        .configurationSetName(configurationSet)
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("x")))))).messageId();
  }

  JsonObject finalStatus(String id) {
    return Await.until(() -> node.message(id, a.accessKeyId(), a.secretAccessKey()), m -> !m.getJsonArray("Recipients")
        .getJsonObject(0).getString("Status").equals("QUEUED"), Duration.ofSeconds(20));
  }

  /** This message reached the relay for this recipient (other tests send to the same addresses). */
  static boolean relayed(String id, String rcpt) {
    return relay.received().stream().anyMatch(r -> r.rcptTo().contains(rcpt) && r.text().contains(id));
  }

  static JsonObject bounce(JsonObject status) {
    for (Object o : status.getJsonArray("Events")) {
      if (((JsonObject) o).getString("eventType").equals("Bounce")) {
        return ((JsonObject) o).getJsonObject("bounce");
      }
    }
    return null;
  }

  /** Delivered to the relay, or held back by validation: which, after the message is done. */
  void assertHeldBack(String to, String configurationSet, String why) {
    String id = send(to, configurationSet);
    JsonObject status = finalStatus(id);
    String state = status.getJsonArray("Recipients").getJsonObject(0).getString("Status");
    if (why == null) {
      assertEquals("DELIVERED", state, status.encodePrettily());
      assertTrue(relayed(id, to), to);
      return;
    }
    assertEquals("BOUNCED", state, status.encodePrettily());
    assertTrue(!relayed(id, to), to + " was sent to");
    JsonObject bounce = bounce(status);
    assertEquals("Permanent", bounce.getString("bounceType"));
    assertEquals("Suppressed", bounce.getString("bounceSubType"));
    String diagnostic = bounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("diagnosticCode");
    assertTrue(diagnostic.contains("Auto Validation judged it " + why), diagnostic);
  }

  @Test
  void theAccountsAndTheSetsThresholds() {
    // off by default: an address at a domain that does not exist goes to the relay
    assertNull(ses.getAccount(r -> { }).suppressionAttributes().validationAttributes());
    assertHeldBack("jane@nowhere.example", null, null);
    assertEquals(0, dns.count("nowhere.example", "MX"), "off, validation asks nothing");

    ses.putAccountSuppressionAttributes(r -> r.suppressedReasons(SuppressionListReason.BOUNCE)
        .validationAttributes(accountSetting("ENABLED", SuppressionConfidenceVerdictThreshold.MEDIUM)));
    var shown = ses.getAccount(r -> { }).suppressionAttributes();
    assertEquals("ENABLED", shown.validationAttributes().conditionThreshold().conditionThresholdEnabledAsString());
    assertEquals(SuppressionConfidenceVerdictThreshold.MEDIUM, shown.validationAttributes().conditionThreshold()
        .overallConfidenceThreshold().confidenceVerdictThreshold());
    assertHeldBack("jane@mail.example", null, null);
    assertHeldBack("jane@nowhere2.example", null, "LOW, below the MEDIUM threshold");
    assertHeldBack("someone@mailinator.com", null, "LOW, below the MEDIUM threshold");
    assertHeldBack("info@mail.example", null, null); // a role address is MEDIUM: sent at MEDIUM

    // a set's own setting instead of the account's: stricter, or off
    ses.createConfigurationSet(r -> r.configurationSetName("strict").suppressionOptions(o -> o
        .validationOptions(SuppressionValidationOptions.builder().conditionThreshold(c -> c
            .conditionThresholdEnabled("ENABLED")
            .overallConfidenceThreshold(t -> t.confidenceVerdictThreshold("HIGH"))).build())));
    ses.createConfigurationSet(r -> r.configurationSetName("unvalidated"));
    ses.putConfigurationSetSuppressionOptions(r -> r.configurationSetName("unvalidated")
        .validationOptions(v -> v.conditionThreshold(c -> c.conditionThresholdEnabled("DISABLED"))));
    ses.createConfigurationSet(r -> r.configurationSetName("plain"));
    assertEquals("HIGH", ses.getConfigurationSet(r -> r.configurationSetName("strict")).suppressionOptions()
        .validationOptions().conditionThreshold().overallConfidenceThreshold().confidenceVerdictThresholdAsString());
    assertEquals("DISABLED", ses.getConfigurationSet(r -> r.configurationSetName("unvalidated"))
        .suppressionOptions().validationOptions().conditionThreshold().conditionThresholdEnabledAsString());
    assertHeldBack("support@mail.example", "strict", "MEDIUM, below the HIGH threshold");
    assertHeldBack("jane.roe@mail.example", "strict", null);
    assertHeldBack("jane@nowhere3.example", "unvalidated", null);
    assertHeldBack("jane@nowhere4.example", "plain", "LOW, below the MEDIUM threshold"); // the account's

    // leaving ValidationAttributes out changes only the reasons; DISABLED turns it off
    ses.putAccountSuppressionAttributes(r -> r.suppressedReasons(SuppressionListReason.COMPLAINT));
    assertEquals("ENABLED", ses.getAccount(r -> { }).suppressionAttributes().validationAttributes()
        .conditionThreshold().conditionThresholdEnabledAsString());
    ses.putAccountSuppressionAttributes(r -> r.suppressedReasons(SuppressionListReason.COMPLAINT)
        .validationAttributes(accountSetting("DISABLED", null)));
    assertHeldBack("jane@nowhere5.example", null, null);
  }

  @Test
  void aDnsFailureIsNoVerdictAndTurningValidationOnKeepsTheReasons() {
    ses.putAccountSuppressionAttributes(r -> r.suppressedReasons(SuppressionListReason.BOUNCE));
    ses.putAccountSuppressionAttributes(r -> r.validationAttributes(accountSetting("ENABLED",
        SuppressionConfidenceVerdictThreshold.HIGH)));
    var shown = ses.getAccount(r -> { }).suppressionAttributes();
    assertEquals(java.util.List.of(SuppressionListReason.BOUNCE), shown.suppressedReasons(),
        "ValidationAttributes alone leave the reasons");
    assertEquals("HIGH", shown.validationAttributes().conditionThreshold().overallConfidenceThreshold()
        .confidenceVerdictThresholdAsString());
    // DNS failing now says nothing of the domain: judged as if it had an MX, so delivery goes on as without
    // validation (to the relay here), unless the rest already falls short (a role address is MEDIUM at best)
    assertHeldBack("jane@flaky.example", null, null);
    assertHeldBack("admin@flaky.example", null, "MEDIUM, below the HIGH threshold");
    assertHeldBack("info@mail.example", null, "MEDIUM, below the HIGH threshold");

    // a set given only ValidationOptions takes the account's reasons, and a Put of only them keeps the set's
    ses.createConfigurationSet(r -> r.configurationSetName("validating-only").suppressionOptions(o -> o
        .validationOptions(v -> v.conditionThreshold(c -> c.conditionThresholdEnabled("DISABLED")))));
    var created = ses.getConfigurationSet(r -> r.configurationSetName("validating-only")).suppressionOptions();
    assertTrue(!created.hasSuppressedReasons(), created.toString());
    ses.createConfigurationSet(r -> r.configurationSetName("complaints").suppressionOptions(o -> o
        .suppressedReasons(SuppressionListReason.COMPLAINT)));
    ses.putConfigurationSetSuppressionOptions(r -> r.configurationSetName("complaints")
        .validationOptions(v -> v.conditionThreshold(c -> c.conditionThresholdEnabled("ENABLED"))));
    var put = ses.getConfigurationSet(r -> r.configurationSetName("complaints")).suppressionOptions();
    assertEquals(java.util.List.of(SuppressionListReason.COMPLAINT), put.suppressedReasons());
    assertEquals("ENABLED", put.validationOptions().conditionThreshold().conditionThresholdEnabledAsString());
    assertHeldBack("info@mail.example", "complaints", null); // no threshold given: MANAGED, as MEDIUM
    assertHeldBack("jane@nowhere6.example", "complaints", "LOW, below the MANAGED threshold");
    // and a Put of only reasons keeps the set's validation
    ses.putConfigurationSetSuppressionOptions(r -> r.configurationSetName("complaints")
        .suppressedReasons(SuppressionListReason.BOUNCE));
    var reasonsOnly = ses.getConfigurationSet(r -> r.configurationSetName("complaints")).suppressionOptions();
    assertEquals(java.util.List.of(SuppressionListReason.BOUNCE), reasonsOnly.suppressedReasons());
    assertEquals("ENABLED", reasonsOnly.validationOptions().conditionThreshold().conditionThresholdEnabledAsString());
    // SuppressionScope: the account's list is the only one (a tenant's is refused, not ignored), and naming it alone
    // changes nothing (it turned suppression off for the set, as an empty list of reasons)
    ses.putConfigurationSetSuppressionOptions(r -> r.configurationSetName("complaints")
        .suppressionScope(software.amazon.awssdk.services.sesv2.model.SuppressionListScope.ACCOUNT));
    assertEquals(java.util.List.of(SuppressionListReason.BOUNCE), ses.getConfigurationSet(r -> r
        .configurationSetName("complaints")).suppressionOptions().suppressedReasons());
    assertThrows(software.amazon.awssdk.services.sesv2.model.BadRequestException.class, () -> ses
        .putConfigurationSetSuppressionOptions(r -> r.configurationSetName("complaints")
            .suppressionScope(software.amazon.awssdk.services.sesv2.model.SuppressionListScope.TENANT)));
    assertThrows(software.amazon.awssdk.services.sesv2.model.BadRequestException.class, () -> ses
        .createConfigurationSet(r -> r.configurationSetName("tenant-scoped").suppressionOptions(o -> o
            .suppressionScope(software.amazon.awssdk.services.sesv2.model.SuppressionListScope.TENANT))));
    assertEquals(java.util.List.of(SuppressionListReason.BOUNCE), ses.getConfigurationSet(r -> r
        .configurationSetName("complaints")).suppressionOptions().suppressedReasons(), "changed nothing");
  }

  @Test
  void badSettingsAreRefusedAndChangeNothing() throws Exception {
    ses.putAccountSuppressionAttributes(r -> r.suppressedReasons(SuppressionListReason.COMPLAINT)
        .validationAttributes(accountSetting("ENABLED", SuppressionConfidenceVerdictThreshold.HIGH)));
    var before = ses.getAccount(r -> { }).suppressionAttributes();
    ses.createConfigurationSet(r -> r.configurationSetName("untouched"));
    String[][] cases = {
        {"{\"ValidationAttributes\": {}}", "ValidationAttributes.ConditionThreshold"},
        {"{\"ValidationAttributes\": {\"ConditionThreshold\": {}}}", "ConditionThresholdEnabled"},
        {"{\"ValidationAttributes\": {\"ConditionThreshold\": {\"ConditionThresholdEnabled\": \"YES\"}}}",
            "ENABLED or DISABLED"},
        {"{\"ValidationAttributes\": {\"ConditionThreshold\": {\"ConditionThresholdEnabled\": \"ENABLED\", "
            + "\"OverallConfidenceThreshold\": {\"ConfidenceVerdictThreshold\": \"LOW\"}}}}", "MEDIUM, HIGH or MANAGED"},
        {"{\"ValidationAttributes\": \"ENABLED\"}", "expected an object"},
    };
    for (String[] c : cases) {
      var r = node.signed("PUT", "/v2/email/account/suppression", "{\"SuppressedReasons\": []," + c[0].substring(1),
          Map.of(), a.accessKeyId(), a.secretAccessKey());
      assertEquals(400, r.statusCode(), c[0]);
      assertTrue(new JsonObject(r.body()).getString("message").contains(c[1]), r.body());
      var set = node.signed("PUT", "/v2/email/configuration-sets/untouched/suppression-options",
          c[0].replace("ValidationAttributes", "ValidationOptions"), Map.of(), a.accessKeyId(), a.secretAccessKey());
      assertEquals(400, set.statusCode(), c[0]);
    }
    // nothing was written: the account's attributes as they were, and a set without options
    assertEquals(before, ses.getAccount(r -> { }).suppressionAttributes());
    assertNull(ses.getConfigurationSet(r -> r.configurationSetName("untouched")).suppressionOptions());
    assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r.configurationSetName("bad")
        .suppressionOptions(o -> o.validationOptions(v -> v.conditionThreshold(t -> t
            .conditionThresholdEnabled("maybe"))))));
    assertThrows(software.amazon.awssdk.services.sesv2.model.NotFoundException.class,
        () -> ses.getConfigurationSet(r -> r.configurationSetName("bad")));
  }
}
