package io.mailgate.configset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AlreadyExistsException;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.SendingPausedException;
import software.amazon.awssdk.services.sesv2.model.FeatureStatus;
import software.amazon.awssdk.services.sesv2.model.GetConfigurationSetResponse;
import software.amazon.awssdk.services.sesv2.model.LimitExceededException;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.SuppressionListReason;
import software.amazon.awssdk.services.sesv2.model.TlsPolicy;

/** Configuration sets: their API, and what their options do to the messages sent with them. */
class ConfigurationSetsTest {
  static RecordingSmtpServer relay;
  static RecordingSmtpServer bulkRelay;
  static RecordingSmtpServer mx;
  static FakeDnsServer dns;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer().onRcpt(r -> r.startsWith("dead") ? "550 5.1.1 User unknown" : "250 Ok");
    bulkRelay = new RecordingSmtpServer();
    mx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.1"), EmbeddedServices.freePort());
    dns = FakeDnsServer.start().mx("routed.example", 10, "mx.routed.test").a("mx.routed.test", "127.0.0.1");
    // the node delivers through `relay`; two sending pools: another relay, and direct to the MX
    node = TestNode.start(relay.url(), c -> c
        .with(MailgateConfig.DELIVERY_HELO_NAME, "mailgate.routed.test")
        .with(MailgateConfig.DELIVERY_SENDING_POOLS, "bulk=" + bulkRelay.url() + ", mx=direct")
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DELIVERY_DIRECT_PORT, mx.port()));
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    bulkRelay.close();
    mx.close();
    dns.close();
  }

  static boolean received(RecordingSmtpServer server, String rcpt) {
    return server.received().stream().anyMatch(r -> r.rcptTo().contains(rcpt));
  }

  static String send(String configurationSet, String to) {
    return ses.sendEmail(r -> r.fromEmailAddress("cs@example.com").destination(d -> d.toAddresses(to))
        .configurationSetName(configurationSet)
        .content(c -> c.simple(m -> m.subject(s -> s.data("cs")).body(b -> b.text(t -> t.data("x")))))).messageId();
  }

  @Test
  void createGetListDelete() {
    ses.createConfigurationSet(r -> r.configurationSetName("marketing")
        .deliveryOptions(d -> d.tlsPolicy(TlsPolicy.REQUIRE).maxDeliverySeconds(600L))
        .suppressionOptions(s -> s.suppressedReasons(SuppressionListReason.COMPLAINT)));
    GetConfigurationSetResponse got = ses.getConfigurationSet(r -> r.configurationSetName("marketing"));
    assertEquals(TlsPolicy.REQUIRE, got.deliveryOptions().tlsPolicy());
    assertEquals(600L, got.deliveryOptions().maxDeliverySeconds());
    assertEquals(List.of(SuppressionListReason.COMPLAINT), got.suppressionOptions().suppressedReasons());
    assertTrue(got.sendingOptions().sendingEnabled());
    assertEquals(false, got.reputationOptions().reputationMetricsEnabled(), "no per-set reputation metrics");
    // turning them off is accepted, on is refused rather than ignored, at creation too
    ses.putConfigurationSetReputationOptions(r -> r.configurationSetName("marketing").reputationMetricsEnabled(false));
    assertThrows(BadRequestException.class, () -> ses.putConfigurationSetReputationOptions(r -> r
        .configurationSetName("marketing").reputationMetricsEnabled(true)));
    assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r.configurationSetName("reputed")
        .reputationOptions(o -> o.reputationMetricsEnabled(true))));
    assertThrows(NotFoundException.class, () -> ses.putConfigurationSetReputationOptions(r -> r
        .configurationSetName("no-such-set").reputationMetricsEnabled(false)));
    assertThrows(AlreadyExistsException.class, () -> ses.createConfigurationSet(r -> r.configurationSetName("marketing")));
    assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r.configurationSetName("bad name")));
    assertThrows(BadRequestException.class, () -> ses.putConfigurationSetDeliveryOptions(r -> r
        .configurationSetName("marketing").tlsPolicy("SOMETIMES")));
    assertEquals(TlsPolicy.REQUIRE, ses.getConfigurationSet(r -> r.configurationSetName("marketing")).deliveryOptions()
        .tlsPolicy());
    assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r.configurationSetName("short")
        .deliveryOptions(d -> d.maxDeliverySeconds(10L))));

    for (int i = 0; i < 3; i++) {
      String n = "list-" + i;
      ses.createConfigurationSet(r -> r.configurationSetName(n));
    }
    List<String> names = new ArrayList<>();
    String token = null;
    do {
      String t = token;
      var page = ses.listConfigurationSets(r -> r.pageSize(2).nextToken(t));
      names.addAll(page.configurationSets());
      token = page.nextToken();
    } while (token != null);
    assertTrue(names.containsAll(List.of("list-0", "list-1", "list-2", "marketing")), names.toString());
    // the SDK's Filter: only the sets whose name contains it, paged as the rest; a key it does not take is a 400
    List<String> filtered = new ArrayList<>();
    token = null;
    do {
      String t = token;
      var page = ses.listConfigurationSets(r -> r.pageSize(1).nextToken(t)
          .filter(java.util.Map.of(software.amazon.awssdk.services.sesv2.model.ConfigurationSetFilterKey
              .CONFIGURATION_SET_NAME_CONTAINS, "ist-")));
      filtered.addAll(page.configurationSets());
      token = page.nextToken();
    } while (token != null);
    assertEquals(List.of("list-0", "list-1", "list-2"), filtered);
    assertThrows(BadRequestException.class, () -> ses.listConfigurationSets(r -> r
        .filterWithStrings(java.util.Map.of("NAME_STARTS_WITH", "list"))));

    ses.deleteConfigurationSet(r -> r.configurationSetName("list-0"));
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("list-0")));
  }

  /**
   * SES's quota of 10,000 configuration sets: the next one is LimitExceeded, by v2 and by v1, and nothing is stored;
   * a name the account has is AlreadyExists, full or not; deleting one makes room.
   */
  @Test
  void anAccountHasAtMostTenThousandConfigurationSets() {
    Accounts.NewKey full = node.createAccount("full-sets", true, 100, 10_000);
    String pg = node.config().get(MailgateConfig.PG_URL);
    Db.execute(pg, "INSERT INTO configuration_sets (account_id, name) SELECT '" + full.accountId() + "', 'set-' || n "
        + "FROM generate_series(1, 9999) n");
    try (SesV2Client v2 = node.sesV2(full.accessKeyId(), full.secretAccessKey());
         SesClient v1 = node.sesV1(full.accessKeyId(), full.secretAccessKey())) {
      v2.createConfigurationSet(r -> r.configurationSetName("last"));
      LimitExceededException limit = assertThrows(LimitExceededException.class,
          () -> v2.createConfigurationSet(r -> r.configurationSetName("one-more")));
      assertTrue(limit.getMessage().contains("10000"), limit.getMessage());
      assertThrows(software.amazon.awssdk.services.ses.model.LimitExceededException.class,
          () -> v1.createConfigurationSet(r -> r.configurationSet(c -> c.name("one-more"))));
      assertThrows(AlreadyExistsException.class, () -> v2.createConfigurationSet(r -> r.configurationSetName("last")),
          "a name it has is AlreadyExists, limit or not");
      assertEquals(10_000, Db.count(pg, "SELECT count(*) FROM configuration_sets WHERE account_id = '"
          + full.accountId() + "'"), "nothing stored past the quota");
      v2.deleteConfigurationSet(r -> r.configurationSetName("set-1"));
      v2.createConfigurationSet(r -> r.configurationSetName("one-more"));
    }
  }

  /**
   * VDM's Guardian, archiving and S/MIME signing, which Mailgate does not do: asked for, at creation or by their Put
   * calls, a 400 naming the option rather than accepted and ignored; off (or no archive) is accepted. (VDM's engagement
   * metrics are kept: {@link #vdmEngagementMetricsAreKeptShownAndReplaced}.)
   */
  @Test
  void vdmAndArchivingOptionsAreRefusedRatherThanIgnored() {
    BadRequestException vdm = assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r
        .configurationSetName("with-vdm").vdmOptions(v -> v.dashboardOptions(d -> d
            .engagementMetrics("SOMETIMES")))));
    assertTrue(vdm.getMessage().contains("VdmOptions.DashboardOptions.EngagementMetrics must be ENABLED or DISABLED"),
        vdm.getMessage());
    BadRequestException guardian = assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r
        .configurationSetName("with-vdm").vdmOptions(v -> v.guardianOptions(g -> g
            .optimizedSharedDelivery(FeatureStatus.ENABLED)))));
    assertTrue(guardian.getMessage().contains("OptimizedSharedDelivery"), guardian.getMessage());
    String archive = "arn:aws:ses:us-east-1:123456789012:mailmanager-archive/a-1";
    BadRequestException archived = assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r
        .configurationSetName("with-archive").archivingOptions(a -> a.archiveArn(archive))));
    assertTrue(archived.getMessage().contains("ArchivingOptions.ArchiveArn"), archived.getMessage());
    // S/MIME signing is kept (SmimeSendingTest); a union of both schemes, or another format, is not a scheme
    BadRequestException smime = assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r
        .configurationSetName("with-smime").messageSecurityOptions(m -> m.signingScheme(g -> g.smimeScheme(x -> { })
            .defaultScheme(x -> { })))));
    assertTrue(smime.getMessage().contains("MessageSecurityOptions.SigningScheme is a union"), smime.getMessage());
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("with-vdm")));
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("with-archive")));
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("with-smime")));
    ses.createConfigurationSet(r -> r.configurationSetName("default-signing")
        .messageSecurityOptions(m -> m.signingScheme(g -> g.defaultScheme(x -> { }))));

    ses.createConfigurationSet(r -> r.configurationSetName("vdm-off").archivingOptions(a -> { })
        .vdmOptions(v -> v.dashboardOptions(d -> d.engagementMetrics(FeatureStatus.DISABLED))
            .guardianOptions(g -> g.optimizedSharedDelivery(FeatureStatus.DISABLED))));
    ses.putConfigurationSetVdmOptions(r -> r.configurationSetName("vdm-off").vdmOptions(v -> v
        .dashboardOptions(d -> d.engagementMetrics(FeatureStatus.DISABLED))));
    assertThrows(BadRequestException.class, () -> ses.putConfigurationSetVdmOptions(r -> r
        .configurationSetName("vdm-off").vdmOptions(v -> v.guardianOptions(g -> g
            .optimizedSharedDelivery(FeatureStatus.ENABLED)))));
    assertThrows(NotFoundException.class, () -> ses.putConfigurationSetVdmOptions(r -> r
        .configurationSetName("no-such-set").vdmOptions(v -> v.dashboardOptions(d -> d
            .engagementMetrics(FeatureStatus.DISABLED)))));
    ses.putConfigurationSetArchivingOptions(r -> r.configurationSetName("vdm-off")); // no archive
    BadRequestException put = assertThrows(BadRequestException.class, () -> ses.putConfigurationSetArchivingOptions(
        r -> r.configurationSetName("vdm-off").archiveArn(archive)));
    assertTrue(put.getMessage().contains("ArchiveArn"), put.getMessage());
    assertThrows(NotFoundException.class, () -> ses.putConfigurationSetArchivingOptions(r -> r
        .configurationSetName("no-such-set")));
  }

  /** A set's VDM engagement metrics: kept at creation, shown, replaced by the Put call (left out: the account's). */
  @Test
  void vdmEngagementMetricsAreKeptShownAndReplaced() {
    ses.createConfigurationSet(r -> r.configurationSetName("engaged").vdmOptions(v -> v.dashboardOptions(d -> d
        .engagementMetrics(FeatureStatus.ENABLED))));
    assertEquals(FeatureStatus.ENABLED, ses.getConfigurationSet(r -> r.configurationSetName("engaged")).vdmOptions()
        .dashboardOptions().engagementMetrics());
    ses.putConfigurationSetVdmOptions(r -> r.configurationSetName("engaged").vdmOptions(v -> v
        .dashboardOptions(d -> d.engagementMetrics(FeatureStatus.DISABLED))));
    assertEquals(FeatureStatus.DISABLED, ses.getConfigurationSet(r -> r.configurationSetName("engaged")).vdmOptions()
        .dashboardOptions().engagementMetrics());
    BadRequestException bad = assertThrows(BadRequestException.class, () -> ses.putConfigurationSetVdmOptions(r -> r
        .configurationSetName("engaged").vdmOptions(v -> v.dashboardOptions(d -> d.engagementMetrics("ON")))));
    assertTrue(bad.getMessage().contains("must be ENABLED or DISABLED"), bad.getMessage());
    assertEquals(FeatureStatus.DISABLED, ses.getConfigurationSet(r -> r.configurationSetName("engaged")).vdmOptions()
        .dashboardOptions().engagementMetrics(), "the refusal changed nothing");
    ses.putConfigurationSetVdmOptions(r -> r.configurationSetName("engaged"));
    assertEquals(null, ses.getConfigurationSet(r -> r.configurationSetName("engaged")).vdmOptions());
  }

  /** A send that names no set takes its identity's default set (SES): its options apply, a paused one stops it. */
  @Test
  void anIdentitysDefaultSetAppliesWhenASendNamesNone() {
    ses.createConfigurationSet(r -> r.configurationSetName("default-on"));
    ses.createConfigurationSet(r -> r.configurationSetName("default-off").sendingOptions(o -> o.sendingEnabled(false)));
    assertThrows(NotFoundException.class, () -> ses.createEmailIdentity(r -> r.emailIdentity("x@no-set.example")
        .configurationSetName("no-such-set")), "a default set must exist");
    ses.createEmailIdentity(r -> r.emailIdentity("news@default-set.example").configurationSetName("default-on"));
    ses.createEmailIdentity(r -> r.emailIdentity("paused-set.example").configurationSetName("default-off"));

    String id = ses.sendEmail(r -> r.fromEmailAddress("news@default-set.example").destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("t")))))).messageId();
    assertEquals("default-on", node.message(id).getString("ConfigurationSetName"));

    assertThrows(SendingPausedException.class, () -> ses.sendEmail(r -> r.fromEmailAddress("x@paused-set.example")
        .destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("t")))))),
        "the domain's default set is paused");
    String named = ses.sendEmail(r -> r.fromEmailAddress("x@paused-set.example").configurationSetName("default-on")
        .destination(d -> d.toAddresses("a@example.org"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("t")))))).messageId();
    assertEquals("default-on", node.message(named).getString("ConfigurationSetName"), "a set named by the send wins");
  }

  /** A field of the wrong type is a 400: "false" as a string used to enable sending. */
  @Test
  void mistypedFieldsAreRefused() {
    ses.createConfigurationSet(r -> r.configurationSetName("typed-base"));
    for (String[] call : new String[][] {
        {"POST", "/v2/email/configuration-sets", "{\"ConfigurationSetName\":\"typed-1\",\"SendingOptions\":{\"SendingEnabled\":\"false\"}}"},
        {"POST", "/v2/email/configuration-sets", "{\"ConfigurationSetName\":\"typed-2\",\"Tags\":[1,\"x\"]}"},
        {"POST", "/v2/email/configuration-sets", "{\"ConfigurationSetName\":\"typed-3\",\"Tags\":[{\"Value\":\"v\"}]}"},
        {"PUT", "/v2/email/configuration-sets/typed-base/sending", "{\"SendingEnabled\":\"false\"}"},
        {"POST", "/v2/email/list-configuration-sets", "{\"PageSize\":\"5\"}"}}) {
      var r = node.signed(call[0], call[1], call[2], java.util.Map.of("Content-Type", "application/json"));
      assertEquals(400, r.statusCode(), call[2] + " -> " + r.body());
    }
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("typed-1")));
    assertEquals(true, ses.getConfigurationSet(r -> r.configurationSetName("typed-base")).sendingOptions().sendingEnabled());
  }

  /**
   * The AWS SDK for Go (and Terraform with it) sends a false boolean by leaving it out: an absent SendingEnabled
   * pauses, in SendingOptions as in the Put call, and an absent SuppressedReasons is an empty list in both.
   */
  @Test
  void absentBooleansAndListsAreFalseAndEmptyAsTheGoSdkSendsThem() {
    java.util.Map<String, String> json = java.util.Map.of("Content-Type", "application/json");
    assertEquals(200, node.signed("POST", "/v2/email/configuration-sets", "{\"ConfigurationSetName\":\"go-paused\","
        + "\"SendingOptions\":{},\"SuppressionOptions\":{}}", json).statusCode());
    var created = ses.getConfigurationSet(r -> r.configurationSetName("go-paused"));
    assertEquals(false, created.sendingOptions().sendingEnabled());
    assertEquals(java.util.List.of(), created.suppressionOptions().suppressedReasonsAsStrings());

    ses.createConfigurationSet(r -> r.configurationSetName("go-put"));
    assertEquals(true, ses.getConfigurationSet(r -> r.configurationSetName("go-put")).sendingOptions().sendingEnabled());
    assertEquals(200, node.signed("PUT", "/v2/email/configuration-sets/go-put/sending", "{}", json).statusCode());
    assertEquals(false, ses.getConfigurationSet(r -> r.configurationSetName("go-put")).sendingOptions()
        .sendingEnabled());
    Await.until(() -> {
      try {
        send("go-put", "a@example.org");
        return false;
      } catch (SendingPausedException e) {
        return true;
      }
    }, Duration.ofSeconds(10));
  }

  @Test
  void sendingNamesAnExistingEnabledSet() {
    NotFoundException missing = assertThrows(NotFoundException.class, () -> send("no-such-set", "a@example.org"));
    assertTrue(missing.getMessage().contains("no-such-set"));
    // a name no set can have (CreateConfigurationSet refuses it) does not exist either, as SES answers
    NotFoundException unnamable = assertThrows(NotFoundException.class, () -> send("my.set", "a@example.org"));
    assertTrue(unnamable.getMessage().contains("<my.set> does not exist"), unnamable.getMessage());
    assertThrows(NotFoundException.class, () -> send("s".repeat(65), "a@example.org"));
    ses.createConfigurationSet(r -> r.configurationSetName("pausable"));
    ses.putConfigurationSetSendingOptions(r -> r.configurationSetName("pausable").sendingEnabled(false));
    Await.until(() -> {
      try {
        send("pausable", "a@example.org");
        return false;
      } catch (SendingPausedException e) {
        return e.getMessage().contains("pausable");
      }
    }, Duration.ofSeconds(10));
  }

  @Test
  void deliveryOptionsApplyToTheirMessages() {
    ses.createConfigurationSet(r -> r.configurationSetName("tls-only")
        .deliveryOptions(d -> d.tlsPolicy(TlsPolicy.REQUIRE)));
    String strict = send("tls-only", "strict@example.org");
    String plain = send(null, "plain@example.org");
    assertEquals("DELIVERED", node.awaitOutcomes(plain, 1).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    JsonObject delayed = node.awaitOutcomes(strict, 1);
    JsonObject delay = delayed.getJsonArray("Events").getJsonObject(1);
    assertEquals("DeliveryDelay", delay.getString("eventType"));
    assertTrue(delay.getJsonObject("deliveryDelay").getJsonArray("delayedRecipients").getJsonObject(0)
        .getString("diagnosticCode").contains("TLS is required"));
    assertTrue(relay.received().stream().noneMatch(r -> r.rcptTo().contains("strict@example.org")));
  }

  @Test
  void sendingPoolNameChoosesTheRoute() {
    ses.createConfigurationSet(r -> r.configurationSetName("via-bulk").deliveryOptions(d -> d.sendingPoolName("bulk")));
    ses.createConfigurationSet(r -> r.configurationSetName("via-mx").deliveryOptions(d -> d.sendingPoolName("mx")));
    assertEquals("mx", ses.getConfigurationSet(r -> r.configurationSetName("via-mx")).deliveryOptions().sendingPoolName());
    NotFoundException unknown = assertThrows(NotFoundException.class, () -> ses.createConfigurationSet(r -> r
        .configurationSetName("via-nowhere").deliveryOptions(d -> d.sendingPoolName("nowhere"))));
    assertTrue(unknown.getMessage().contains("nowhere"), unknown.getMessage());
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("via-nowhere")));
    assertThrows(NotFoundException.class, () -> ses.putConfigurationSetDeliveryOptions(r -> r
        .configurationSetName("via-mx").sendingPoolName("nowhere")));
    assertEquals("mx", ses.getConfigurationSet(r -> r.configurationSetName("via-mx")).deliveryOptions().sendingPoolName(),
        "a refused change changes nothing");

    String viaBulk = send("via-bulk", "pool-a@routed.example");
    String viaMx = send("via-mx", "pool-b@routed.example");
    String viaNode = send(null, "pool-c@routed.example");
    for (String id : List.of(viaBulk, viaMx, viaNode)) {
      assertEquals("DELIVERED", node.awaitOutcomes(id, 1).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
    }
    assertTrue(received(bulkRelay, "pool-a@routed.example"));
    assertTrue(received(mx, "pool-b@routed.example"));
    assertTrue(received(relay, "pool-c@routed.example"));
    assertEquals(1, bulkRelay.received().size(), "each message took one route only");
    assertEquals(1, mx.received().size(), "each message took one route only");
    assertTrue(!received(relay, "pool-a@routed.example") && !received(relay, "pool-b@routed.example"));
    // every route says who the node is with delivery.heloName: the relays and the MX alike
    for (RecordingSmtpServer server : List.of(relay, bulkRelay, mx)) {
      List<String> greetings = server.commands().stream().filter(c -> c.startsWith("EHLO") || c.startsWith("HELO"))
          .toList();
      assertTrue(!greetings.isEmpty() && greetings.stream().allMatch(c -> c.equals("EHLO mailgate.routed.test")),
          greetings.toString());
    }

    // a set moved to another pool takes it for the next messages
    ses.putConfigurationSetDeliveryOptions(r -> r.configurationSetName("via-bulk").sendingPoolName("mx"));
    assertEquals("mx", ses.getConfigurationSet(r -> r.configurationSetName("via-bulk")).deliveryOptions().sendingPoolName());
    Await.until(() -> {
      String id = send("via-bulk", "pool-d@routed.example");
      node.awaitOutcomes(id, 1);
      return received(mx, "pool-d@routed.example");
    }, Duration.ofSeconds(10));
  }

  @Test
  void suppressionOptionsOverrideTheAccount() {
    ses.createConfigurationSet(r -> r.configurationSetName("no-bounce-suppression")
        .suppressionOptions(s -> s.suppressedReasons(List.of())));
    String id = send("no-bounce-suppression", "dead-cs@example.org");
    node.awaitOutcomes(id, 1);
    assertThrows(NotFoundException.class, () -> ses.getSuppressedDestination(r -> r.emailAddress("dead-cs@example.org")));
    String other = send(null, "dead-account@example.org");
    node.awaitOutcomes(other, 1);
    Await.until(() -> {
      try {
        return ses.getSuppressedDestination(r -> r.emailAddress("dead-account@example.org")) != null;
      } catch (NotFoundException e) {
        return false;
      }
    }, Duration.ofSeconds(10));
  }
}
