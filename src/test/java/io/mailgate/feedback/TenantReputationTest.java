package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.SmtpClient;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.Verification;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.ReputationEntity;
import software.amazon.awssdk.services.sesv2.model.ReputationEntityType;
import software.amazon.awssdk.services.sesv2.model.SendingPausedException;
import software.amazon.awssdk.services.sesv2.model.SendingStatus;

/**
 * A tenant's reputation is its own: its bounces pause it under its policy, not the account nor its other tenants; its
 * owner can reinstate it; late complaints count toward it too.
 */
class TenantReputationTest {

  static void send(SesV2Client ses, String tenant, String to) {
    ses.sendEmail(r -> r.tenantName(tenant).fromEmailAddress("bulk@rep.example").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("x"))))));
  }

  static ReputationEntity entity(SesV2Client ses, String arn) {
    return ses.getReputationEntity(r -> r.reputationEntityType(ReputationEntityType.RESOURCE)
        .reputationEntityReference(arn)).reputationEntity();
  }

  static String tenant(SesV2Client ses, String account, String name) {
    String arn = ses.createTenant(r -> r.tenantName(name)).tenantArn();
    ses.createTenantResourceAssociation(r -> r.tenantName(name)
        .resourceArn("arn:aws:ses:us-east-1:" + account + ":identity/bulk@rep.example"));
    return arn;
  }

  /**
   * One tenant's 20 % hard bounces (over the 10 % shutdown rate) pause that tenant under the standard policy; its
   * sibling and the account, whose rates over all their mail (4 in 120) stay under the thresholds, send on. Reinstated, the
   * tenant sends again with the finding it has; once the finding leaves the window, it is ENABLED again.
   */
  @Test
  void aTenantsBouncesPauseThatTenantOnly() throws Exception {
    try (RecordingSmtpServer relay = ReputationTest.deadRelay();
        TestNode node = ReputationTest.reputationNode(relay)) {
      Accounts.NewKey key = node.createAccount("isv", true, 1000, 100_000);
      String pg = node.config().get(MailgateConfig.PG_URL);
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        Verification.verifiedAddress(ses, relay, "bulk@rep.example");
        String noisy = tenant(ses, key.accountId(), "noisy");
        String quiet = tenant(ses, key.accountId(), "quiet");
        for (int i = 0; i < 100; i++) {
          send(ses, "quiet", "fine" + i + "@example.org");
        }
        Await.until(() -> Db.count(pg, "SELECT coalesce(sum(sent), 0) FROM tenant_reputation_buckets "
            + "WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'quiet')"), n -> n == 100, Duration.ofSeconds(30));
        for (int i = 0; i < 16; i++) {
          send(ses, "noisy", "good" + i + "@example.org");
        }
        for (int i = 0; i < 4; i++) {
          send(ses, "noisy", "dead" + i + "@example.org");
        }
        Await.until(() -> entity(ses, noisy).awsSesManagedStatus().status() == SendingStatus.DISABLED,
            Duration.ofSeconds(30));
        ReputationEntity paused = entity(ses, noisy);
        assertEquals("HIGH", paused.reputationImpactAsString());
        assertEquals(SendingStatus.DISABLED, paused.sendingStatusAggregate());
        assertEquals(SendingStatus.ENABLED, paused.customerManagedStatus().status());
        Await.until(() -> node.metric("mailgate_reputation_transitions_total{scope=\"tenant\",to=\"DISABLED\"}") == 1,
            Duration.ofSeconds(10));
        assertTrue(paused.awsSesManagedStatus().cause().startsWith("Bounce rate 20.00% at or over 10.00%"),
            paused.awsSesManagedStatus().cause());
        assertEquals(4, Db.count(pg, "SELECT sum(hard_bounces) FROM tenant_reputation_buckets WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'noisy')"));
        assertEquals(20, Db.count(pg, "SELECT sum(sent) FROM tenant_reputation_buckets WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'noisy')"));

        // the send path reads the tenant again within cache.ttlMillis
        Await.until(() -> {
          try {
            send(ses, "noisy", "later@example.org");
            return false;
          } catch (SendingPausedException e) {
            return true;
          }
        }, Duration.ofSeconds(20));

        send(ses, "quiet", "still@example.org");
        assertEquals(SendingStatus.ENABLED, entity(ses, quiet).sendingStatusAggregate());
        assertNull(entity(ses, quiet).reputationImpact());
        // 4 hard bounces in 120 or more: under the account's 5 % warning rate
        Await.until(() -> "HEALTHY".equals(ses.getAccount(r -> { }).enforcementStatus()), Duration.ofSeconds(20));
        assertTrue(ses.getAccount(r -> { }).sendingEnabled());

        ses.updateReputationEntityCustomerManagedStatus(r -> r.reputationEntityType(ReputationEntityType.RESOURCE)
            .reputationEntityReference(noisy).sendingStatus(SendingStatus.REINSTATED));
        ReputationEntity reinstated = entity(ses, noisy);
        assertEquals(SendingStatus.REINSTATED, reinstated.sendingStatusAggregate());
        assertEquals(SendingStatus.ENABLED, reinstated.awsSesManagedStatus().status());
        send(ses, "noisy", "again@example.org");
        Thread.sleep(2_500); // checks run every second: the finding it was reinstated with does not pause it again
        assertEquals(SendingStatus.REINSTATED, entity(ses, noisy).sendingStatusAggregate());

        // the bounces leave the window (however far back it reaches): no finding, and the reinstatement has done its work
        Db.execute(pg, "UPDATE tenant_reputation_buckets SET bucket = bucket - interval '8 days' "
            + "WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'noisy')");
        Await.until(() -> entity(ses, noisy).customerManagedStatus().status() == SendingStatus.ENABLED,
            Duration.ofSeconds(20));
        assertNull(entity(ses, noisy).reputationImpact());
        assertEquals(SendingStatus.ENABLED, entity(ses, noisy).sendingStatusAggregate());

        // deleted and made again under its name, it is another tenant: nothing of the first one's counts
        Db.execute(pg, "UPDATE tenant_reputation_buckets SET bucket = bucket + interval '8 days' "
            + "WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'noisy')");
        String first = Db.string(pg, "SELECT id FROM tenants WHERE name = 'noisy'");
        ses.deleteTenant(r -> r.tenantName("noisy"));
        assertEquals(0, Db.count(pg, "SELECT count(*) FROM tenant_reputation_buckets WHERE tenant_id = '" + first + "'"),
            "its counters go with it");
        String reborn = tenant(ses, key.accountId(), "noisy");
        send(ses, "noisy", "fresh@example.org");
        Await.until(() -> Db.count(pg, "SELECT coalesce(sum(sent), 0) FROM tenant_reputation_buckets "
            + "WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'noisy')"), n -> n == 1, Duration.ofSeconds(20));
        assertEquals(0, Db.count(pg, "SELECT coalesce(sum(hard_bounces), 0) FROM tenant_reputation_buckets "
            + "WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'noisy')"));
        assertNull(entity(ses, reborn).reputationImpact());
      }
    }
  }

  /**
   * A tenant's message that waits for a retry is taken up again from the queue (the job read back from the database):
   * its outcome still counts toward the tenant.
   */
  @Test
  void aRetriedMessageStillCountsTowardItsTenant() throws Exception {
    java.util.concurrent.atomic.AtomicInteger tries = new java.util.concurrent.atomic.AtomicInteger();
    try (RecordingSmtpServer relay = new RecordingSmtpServer().onRcpt(r -> r.startsWith("later")
            && tries.getAndIncrement() == 0 ? "451 4.3.0 Temporary local problem" : "250 Ok");
        TestNode node = TestNode.startProduction(relay.url(), c -> c
            .with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 1))) {
      Accounts.NewKey key = node.createAccount("retrying", true, 1000, 100_000);
      String pg = node.config().get(MailgateConfig.PG_URL);
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        Verification.verifiedAddress(ses, relay, "bulk@rep.example");
        tenant(ses, key.accountId(), "patient");
        send(ses, "patient", "later@example.org");
        Await.until(() -> Db.count(pg, "SELECT coalesce(sum(sent), 0) FROM tenant_reputation_buckets "
            + "WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'patient')"), n -> n == 1, Duration.ofSeconds(60));
        assertEquals(2, tries.get(), "deferred once, then delivered");
      }
    }
  }

  /** A complaint arriving later about a tenant's message counts toward the tenant, in its delivery's bucket. */
  @Test
  void lateComplaintsCountTowardTheTenant() throws Exception {
    try (RecordingSmtpServer relay = ReputationTest.deadRelay(); TestNode node = TestNode.startProduction(relay.url(),
        c -> c.with(MailgateConfig.DELIVERY_BOUNCE_DOMAIN, "bounces.rep.test"))) {
      Accounts.NewKey key = node.createAccount("isv2", true, 1000, 100_000);
      String pg = node.config().get(MailgateConfig.PG_URL);
      try (SesV2Client ses = node.sesV2(key.accessKeyId(), key.secretAccessKey())) {
        Verification.verifiedAddress(ses, relay, "bulk@rep.example");
        tenant(ses, key.accountId(), "complained");
        String id = ses.sendEmail(r -> r.tenantName("complained").fromEmailAddress("bulk@rep.example")
            .destination(d -> d.toAddresses("reader@example.org"))
            .content(c -> c.simple(m -> m.subject(s -> s.data("news")).body(b -> b.text(t -> t.data("x"))))))
            .messageId();
        node.awaitOutcomes(id, 1, key.accessKeyId(), key.secretAccessKey());
        SmtpClient.send(node.config().get(MailgateConfig.SMTP_INBOUND_PORT), "", List.of("fbl@bounces.rep.test"),
            InboundFeedbackTest.arf("abuse", "reader@example.org", "reader@example.org", id));
        Await.until(() -> Db.count(pg, "SELECT coalesce(sum(complaints), 0) FROM tenant_reputation_buckets "
            + "WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'complained')"), n -> n == 1, Duration.ofSeconds(20));
        assertEquals(1, Db.count(pg, "SELECT coalesce(sum(sent), 0) FROM tenant_reputation_buckets "
            + "WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'complained')"));
        assertEquals(1, Db.count(pg, "SELECT count(*) FROM tenant_reputation_buckets WHERE tenant_id = "
            + "(SELECT id FROM tenants WHERE name = 'complained')"),
            "in the delivery's bucket");
      }
    }
  }

  /** What each policy does with each finding, and what a reinstatement accepts. */
  @Test
  void policiesPauseOnTheirFindingsAndAReinstatementAcceptsTheOneItHad() {
    ReputationVerticle v = new ReputationVerticle(MailgateConfig.defaults(), Clock.systemUTC());
    // 6 % bounces: over the 5 % warning, a LOW finding; 12 %: over the 10 % shutdown, HIGH
    assertEquals(new ReputationVerticle.TenantVerdict("LOW", "ENABLED", "ENABLED", null, null),
        v.judge(100, 6, 0, null, "standard", "ENABLED", "ENABLED", null, null, 20));
    ReputationVerticle.TenantVerdict strict = v.judge(100, 6, 0, null, "strict", "ENABLED", "ENABLED", null, null, 20);
    assertEquals("DISABLED", strict.managedStatus());
    assertTrue(strict.cause().contains("strict reputation policy"), strict.cause());
    assertEquals("DISABLED", v.judge(100, 12, 0, null, "standard", "ENABLED", "ENABLED", null, null, 20)
        .managedStatus());
    assertEquals("ENABLED", v.judge(100, 50, 50, null, "none", "ENABLED", "ENABLED", null, null, 20).managedStatus());
    assertEquals("HIGH", v.judge(100, 50, 50, null, "none", "ENABLED", "ENABLED", null, null, 20).impact());
    // complaints: 0.2 % over the 0.1 % warning (LOW), 0.6 % over the 0.5 % shutdown (HIGH); judged from 1,000 sent
    assertEquals("LOW", v.judge(1000, 0, 2, null, "standard", "ENABLED", "ENABLED", null, null, 20).impact());
    assertEquals("HIGH", v.judge(1000, 0, 6, null, "standard", "ENABLED", "ENABLED", null, null, 20).impact());
    assertNull(v.judge(999, 0, 6, null, "standard", "ENABLED", "ENABLED", null, null, 20).impact());
    assertEquals("HIGH", v.judge(999, 0, 6, "HIGH", "standard", "ENABLED", "DISABLED", "c", null, 20).impact(),
        "nor do they clear a finding");
    assertNull(v.judge(999, 0, 0, "HIGH", "standard", "ENABLED", "DISABLED", "c", null, 20).impact());
    ReputationVerticle.TenantVerdict keptLow = v.judge(999, 0, 6, "LOW", "strict", "ENABLED", "ENABLED", null, null, 20);
    assertEquals("LOW", keptLow.impact());
    assertEquals("ENABLED", keptLow.managedStatus(), "a kept finding pauses nothing, under a policy made stricter since");

    // too little to judge: the finding stays while a bounce is in the window, and goes once none is
    assertEquals("HIGH", v.judge(5, 1, 0, "HIGH", "standard", "ENABLED", "DISABLED", "c", null, 20).impact());
    assertNull(v.judge(5, 0, 0, "HIGH", "standard", "ENABLED", "DISABLED", "c", null, 20).impact());
    assertEquals("DISABLED", v.judge(5, 0, 0, "HIGH", "standard", "ENABLED", "DISABLED", "c", null, 20)
        .managedStatus(), "paused until its owner reinstates it");

    // reinstated with a LOW finding under strict: LOW again is accepted, HIGH pauses it, none ends the reinstatement
    assertEquals(new ReputationVerticle.TenantVerdict("LOW", "REINSTATED", "ENABLED", null, "LOW"),
        v.judge(100, 6, 0, "LOW", "strict", "REINSTATED", "ENABLED", null, "LOW", 20));
    ReputationVerticle.TenantVerdict worse = v.judge(100, 12, 0, "LOW", "strict", "REINSTATED", "ENABLED", null, "LOW",
        20);
    assertEquals("DISABLED", worse.managedStatus());
    assertEquals("ENABLED", worse.customerStatus());
    assertNull(worse.reinstatedImpact());
    assertEquals(new ReputationVerticle.TenantVerdict(null, "ENABLED", "ENABLED", null, null),
        v.judge(100, 0, 0, "LOW", "strict", "REINSTATED", "ENABLED", null, "LOW", 20));
    // reinstated at HIGH, then better (LOW): LOW is what it is let go with from now on, and HIGH again pauses it
    ReputationVerticle.TenantVerdict better = v.judge(100, 6, 0, "HIGH", "standard", "REINSTATED", "ENABLED", null,
        "HIGH", 20);
    assertEquals("LOW", better.reinstatedImpact());
    assertEquals("REINSTATED", better.customerStatus());
    assertEquals("DISABLED", v.judge(100, 12, 0, "LOW", "standard", "REINSTATED", "ENABLED", null, "LOW", 20)
        .managedStatus());
    // too little sent to judge: a finding kept from before does not pause under a policy made stricter since
    ReputationVerticle.TenantVerdict kept = v.judge(5, 1, 0, "LOW", "strict", "ENABLED", "ENABLED", null, null, 20);
    assertEquals("LOW", keptLow.impact());
    assertEquals("ENABLED", kept.managedStatus());
    // an owner's DISABLED is the owner's: a clean window does not lift it
    assertEquals("DISABLED", v.judge(100, 0, 0, null, "standard", "DISABLED", "ENABLED", null, null, 20)
        .customerStatus());
    assertFalse(ReputationVerticle.pauses("standard", "LOW"));
  }
}
