package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.SmtpCredentials;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AlreadyExistsException;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.BulkEmailEntry;
import software.amazon.awssdk.services.sesv2.model.BulkEmailEntryResult;
import software.amazon.awssdk.services.sesv2.model.CreateTenantResponse;
import software.amazon.awssdk.services.sesv2.model.ListTenantsFilterKey;
import software.amazon.awssdk.services.sesv2.model.ListTenantsResponse;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.ReputationEntity;
import software.amazon.awssdk.services.sesv2.model.ReputationEntityType;
import software.amazon.awssdk.services.sesv2.model.ResourceType;
import software.amazon.awssdk.services.sesv2.model.SendEmailRequest;
import software.amazon.awssdk.services.sesv2.model.SendingPausedException;
import software.amazon.awssdk.services.sesv2.model.SendingStatus;
import software.amazon.awssdk.services.sesv2.model.Tag;
import software.amazon.awssdk.services.sesv2.model.TenantInfo;

/**
 * SES v2 tenants through the AWS SDK: the tenant operations, resource associations, tenants as reputation entities,
 * and what a tenant's send may use (its associated identity, configuration set and template, while it is sending),
 * over the API (TenantName) and over SMTP ({@code X-SES-TENANT}).
 */
class TenantsTest {
  static final String ACCOUNT = "000000000000";
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    ses.createEmailIdentity(r -> r.emailIdentity("acme.example"));
    ses.createEmailIdentity(r -> r.emailIdentity("other.example"));
    ses.createConfigurationSet(r -> r.configurationSetName("acme-set"));
    ses.createConfigurationSet(r -> r.configurationSetName("other-set"));
    for (String t : List.of("acme-welcome", "other-welcome")) {
      ses.createEmailTemplate(r -> r.templateName(t).templateContent(c -> c.subject("Hi {{name}}").text("Hello {{name}}")));
    }
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static String arn(String resource) {
    return "arn:aws:ses:us-east-1:" + ACCOUNT + ":" + resource;
  }

  static String send(String tenant, String from, String set, String to) {
    return ses.sendEmail(sendRequest(tenant, from, set, to)).messageId();
  }

  static SendEmailRequest sendRequest(String tenant, String from, String set, String to) {
    return SendEmailRequest.builder().tenantName(tenant).fromEmailAddress(from).configurationSetName(set)
        .destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("tenant mail")).body(b -> b.text(t -> t.data("x")))))
        .build();
  }

  /** A tenant with the acme identity, set and template associated. */
  static CreateTenantResponse tenantWithResources(String name) {
    CreateTenantResponse created = ses.createTenant(r -> r.tenantName(name));
    for (String resource : List.of("identity/Acme.Example", "configuration-set/acme-set", "template/acme-welcome")) {
      ses.createTenantResourceAssociation(r -> r.tenantName(name).resourceArn(arn(resource)));
    }
    return created;
  }

  @Test
  void tenantsAreCreatedReadListedAndDeleted() {
    CreateTenantResponse created = ses.createTenant(r -> r.tenantName("crud-1")
        .tags(Tag.builder().key("customer").value("one").build()));
    assertEquals("crud-1", created.tenantName());
    assertTrue(created.tenantId().matches("tn-[0-9a-f]{24}"), created.tenantId());
    assertEquals(arn("tenant/crud-1/" + created.tenantId()), created.tenantArn());
    assertEquals(SendingStatus.ENABLED, created.sendingStatus());
    assertEquals(List.of(Tag.builder().key("customer").value("one").build()), created.tags());
    assertTrue(Math.abs(created.createdTimestamp().toEpochMilli() - System.currentTimeMillis()) < 60_000);

    var got = ses.getTenant(r -> r.tenantName("crud-1")).tenant();
    assertEquals(created.tenantId(), got.tenantId());
    assertEquals(created.tenantArn(), got.tenantArn());
    assertEquals(created.tags(), got.tags());
    assertEquals(SendingStatus.ENABLED, got.sendingStatus());

    assertThrows(AlreadyExistsException.class, () -> ses.createTenant(r -> r.tenantName("crud-1")));
    assertThrows(BadRequestException.class, () -> ses.createTenant(r -> r.tenantName("not a name")));
    assertThrows(BadRequestException.class, () -> ses.createTenant(r -> r.tenantName("x".repeat(65))));
    assertThrows(BadRequestException.class, () -> ses.createTenant(r -> r.tenantName("crud-supp")
        .suppressionAttributes(s -> s.suppressionScope("TENANT").suppressedReasonsWithStrings("BOUNCE"))),
        "a tenant-level suppression list is refused, not ignored");
    assertThrows(NotFoundException.class, () -> ses.getTenant(r -> r.tenantName("crud-supp")), "nothing created");
    assertThrows(NotFoundException.class, () -> ses.getTenant(r -> r.tenantName("never-there")));

    ses.createTenant(r -> r.tenantName("crud-2"));
    ses.createTenant(r -> r.tenantName("crud-3"));
    List<String> names = new ArrayList<>();
    String token = null;
    int pages = 0;
    do {
      String next = token;
      ListTenantsResponse page = ses.listTenants(r -> r.pageSize(1).nextToken(next)
          .filterWithStrings(Map.of("TENANT_NAME_CONTAINS", "crud-")));
      page.tenants().stream().map(TenantInfo::tenantName).forEach(names::add);
      token = page.nextToken();
      pages++;
    } while (token != null);
    assertEquals(List.of("crud-1", "crud-2", "crud-3"), names);
    assertTrue(pages >= 3, "one a page");

    ses.tagResource(r -> r.resourceArn(created.tenantArn()).tags(Tag.builder().key("tier").value("gold").build()));
    assertEquals(List.of("customer=one", "tier=gold"), ses.listTagsForResource(r -> r.resourceArn(created.tenantArn()))
        .tags().stream().map(t -> t.key() + "=" + t.value()).toList());

    ses.deleteTenant(r -> r.tenantName("crud-2"));
    assertThrows(NotFoundException.class, () -> ses.getTenant(r -> r.tenantName("crud-2")));
    assertThrows(NotFoundException.class, () -> ses.deleteTenant(r -> r.tenantName("crud-2")));
  }

  @Test
  void resourcesAreAssociatedListedAndRemoved() {
    tenantWithResources("assoc-1");
    ses.createTenant(r -> r.tenantName("assoc-2"));
    ses.createTenantResourceAssociation(r -> r.tenantName("assoc-2").resourceArn(arn("identity/acme.example")));

    assertThrows(AlreadyExistsException.class, () -> ses.createTenantResourceAssociation(r -> r.tenantName("assoc-1")
        .resourceArn(arn("identity/acme.example"))));
    assertThrows(NotFoundException.class, () -> ses.createTenantResourceAssociation(r -> r.tenantName("assoc-1")
        .resourceArn(arn("configuration-set/no-such-set"))));
    assertThrows(NotFoundException.class, () -> ses.createTenantResourceAssociation(r -> r.tenantName("no-tenant")
        .resourceArn(arn("configuration-set/acme-set"))));
    assertThrows(BadRequestException.class, () -> ses.createTenantResourceAssociation(r -> r.tenantName("assoc-1")
        .resourceArn(arn("contact-list/news"))));
    assertThrows(BadRequestException.class, () -> ses.createTenantResourceAssociation(r -> r.tenantName("assoc-1")
        .resourceArn("not-an-arn")));
    assertThrows(NotFoundException.class, () -> ses.createTenantResourceAssociation(r -> r.tenantName("assoc-1")
        .resourceArn("arn:aws:ses:us-east-1:999999999999:configuration-set/acme-set")), "another account's");

    assertEquals(List.of("CONFIGURATION_SET " + arn("configuration-set/acme-set"),
        "EMAIL_IDENTITY " + arn("identity/acme.example"), "EMAIL_TEMPLATE " + arn("template/acme-welcome")),
        ses.listTenantResources(r -> r.tenantName("assoc-1")).tenantResources().stream()
            .map(t -> t.resourceType() + " " + t.resourceArn()).toList());
    assertEquals(List.of(arn("configuration-set/acme-set")), ses.listTenantResources(r -> r.tenantName("assoc-1")
            .filter(Map.of(software.amazon.awssdk.services.sesv2.model.ListTenantResourcesFilterKey.RESOURCE_TYPE,
                ResourceType.CONFIGURATION_SET.toString())))
        .tenantResources().stream().map(t -> t.resourceArn()).toList());
    var firstPage = ses.listTenantResources(r -> r.tenantName("assoc-1").pageSize(2));
    assertEquals(2, firstPage.tenantResources().size());
    assertEquals(List.of(arn("template/acme-welcome")), ses.listTenantResources(r -> r.tenantName("assoc-1")
        .pageSize(2).nextToken(firstPage.nextToken())).tenantResources().stream().map(t -> t.resourceArn()).toList());
    // the token is this tenant's list's: another tenant's is refused, not read as a place to start from
    assertThrows(BadRequestException.class, () -> ses.listTenantResources(r -> r.tenantName("assoc-2").pageSize(2)
        .nextToken(firstPage.nextToken())));
    assertThrows(NotFoundException.class, () -> ses.listTenantResources(r -> r.tenantName("no-tenant")));
    assertThrows(NotFoundException.class, () -> ses.listResourceTenants(r -> r.resourceArn(
        arn("configuration-set/no-such-set"))));
    assertThrows(BadRequestException.class, () -> ses.listResourceTenants(r -> r.pageSize(0).resourceArn(
        "arn:aws:ses:us-east-1:999999999999:configuration-set/acme-set")), "the request is checked before the ARN's owner");

    List<String> tenantsOfIdentity = ses.listResourceTenants(r -> r.resourceArn(arn("identity/acme.example")))
        .resourceTenants().stream().map(t -> t.tenantName()).filter(n -> n.startsWith("assoc-")).toList();
    assertEquals(List.of("assoc-1", "assoc-2"), tenantsOfIdentity);

    ses.deleteTenantResourceAssociation(r -> r.tenantName("assoc-2").resourceArn(arn("identity/acme.example")));
    assertThrows(NotFoundException.class, () -> ses.deleteTenantResourceAssociation(r -> r.tenantName("assoc-2")
        .resourceArn(arn("identity/acme.example"))));

    // a resource deleted takes its associations with it; one of that name made again is another resource
    ses.createConfigurationSet(r -> r.configurationSetName("short-lived"));
    ses.createTenantResourceAssociation(r -> r.tenantName("assoc-2").resourceArn(arn("configuration-set/short-lived")));
    ses.deleteConfigurationSet(r -> r.configurationSetName("short-lived"));
    assertEquals(List.of(), ses.listTenantResources(r -> r.tenantName("assoc-2")).tenantResources());
    ses.createConfigurationSet(r -> r.configurationSetName("short-lived"));
    assertEquals(List.of(), ses.listResourceTenants(r -> r.resourceArn(arn("configuration-set/short-lived")))
        .resourceTenants());

    // deleting a tenant removes its associations, not the resources
    ses.deleteTenant(r -> r.tenantName("assoc-1"));
    assertFalse(ses.listResourceTenants(r -> r.resourceArn(arn("identity/acme.example"))).resourceTenants().stream()
        .anyMatch(t -> t.tenantName().equals("assoc-1")));
    ses.getConfigurationSet(r -> r.configurationSetName("acme-set"));
  }

  @Test
  void aTenantSendsOnlyWithItsResources() {
    tenantWithResources("shop");
    String id = send("shop", "orders@acme.example", "acme-set", "buyer@example.org");
    assertEquals("shop", node.message(id).getString("TenantName"));
    Await.until(() -> relay.received().stream().filter(r -> r.rcptTo().contains("buyer@example.org")).count(),
        n -> n == 1, Duration.ofSeconds(20));
    // a subdomain's address is covered by its parent domain's identity, as it is for verification
    send("shop", "orders@eu.acme.example", null, "buyer2@example.org");

    BadRequestException identity = assertThrows(BadRequestException.class,
        () -> send("shop", "orders@other.example", null, "x@example.org"));
    assertTrue(identity.getMessage().contains("Identity other.example is not associated with tenant shop"),
        identity.getMessage());
    // the identity that lets the address send is the one checked: a tenant with a parent domain only does not cover
    // an address whose own identity is verified (its settings, not the domain's, are the message's)
    ses.createEmailIdentity(r -> r.emailIdentity("billing@acme.example"));
    BadRequestException own = assertThrows(BadRequestException.class,
        () -> send("shop", "billing@acme.example", null, "x@example.org"));
    assertTrue(own.getMessage().contains("Identity billing@acme.example is not associated"), own.getMessage());
    ses.deleteEmailIdentity(r -> r.emailIdentity("billing@acme.example"));
    send("shop", "billing@acme.example", null, "x2@example.org");
    // a set the request names no set: its identity's default set is the message's, and must be the tenant's too
    ses.putEmailIdentityConfigurationSetAttributes(r -> r.emailIdentity("acme.example")
        .configurationSetName("other-set"));
    try {
      BadRequestException defaultSet = assertThrows(BadRequestException.class,
          () -> send("shop", "orders@acme.example", null, "x3@example.org"));
      assertTrue(defaultSet.getMessage().contains("Configuration set other-set is not associated"),
          defaultSet.getMessage());
    } finally {
      ses.putEmailIdentityConfigurationSetAttributes(r -> r.emailIdentity("acme.example"));
    }
    BadRequestException set = assertThrows(BadRequestException.class,
        () -> send("shop", "orders@acme.example", "other-set", "x@example.org"));
    assertTrue(set.getMessage().contains("Configuration set other-set is not associated"), set.getMessage());
    assertThrows(NotFoundException.class, () -> send("ghost", "orders@acme.example", null, "x@example.org"));
    assertThrows(BadRequestException.class, () -> send("bad tenant", "orders@acme.example", null, "x@example.org"));

    // templates: the stored one must be associated; an inline one is no resource
    ses.sendEmail(r -> r.tenantName("shop").fromEmailAddress("orders@acme.example")
        .destination(d -> d.toAddresses("t1@example.org"))
        .content(c -> c.template(t -> t.templateName("acme-welcome").templateData("{\"name\":\"Ann\"}"))));
    BadRequestException template = assertThrows(BadRequestException.class, () -> ses.sendEmail(r -> r.tenantName("shop")
        .fromEmailAddress("orders@acme.example").destination(d -> d.toAddresses("t2@example.org"))
        .content(c -> c.template(t -> t.templateName("other-welcome").templateData("{\"name\":\"Bo\"}")))));
    assertTrue(template.getMessage().contains("Template other-welcome is not associated"), template.getMessage());
    // named by its ARN, it is the same template; one that does not exist is that, not "not associated"
    ses.sendEmail(r -> r.tenantName("shop").fromEmailAddress("orders@acme.example")
        .destination(d -> d.toAddresses("t4@example.org"))
        .content(c -> c.template(t -> t.templateArn(arn("template/acme-welcome")).templateData("{\"name\":\"Di\"}"))));
    assertThrows(NotFoundException.class, () -> ses.sendEmail(r -> r.tenantName("shop")
        .fromEmailAddress("orders@acme.example").destination(d -> d.toAddresses("t5@example.org"))
        .content(c -> c.template(t -> t.templateName("no-such-template").templateData("{}")))));
    ses.sendEmail(r -> r.tenantName("shop").fromEmailAddress("orders@acme.example")
        .destination(d -> d.toAddresses("t3@example.org")).content(c -> c.template(t -> t
            .templateContent(tc -> tc.subject("inline").text("inline {{name}}")).templateData("{\"name\":\"Cy\"}"))));

    List<BulkEmailEntryResult> bulk = ses.sendBulkEmail(r -> r.tenantName("shop").fromEmailAddress("orders@acme.example")
        .defaultContent(c -> c.template(t -> t.templateName("acme-welcome").templateData("{\"name\":\"all\"}")))
        .bulkEmailEntries(BulkEmailEntry.builder().destination(d -> d.toAddresses("b1@example.org")).build(),
            BulkEmailEntry.builder().destination(d -> d.toAddresses("b2@example.org")).build()))
        .bulkEmailEntryResults();
    assertEquals(List.of("SUCCESS", "SUCCESS"), bulk.stream().map(b -> b.statusAsString()).toList());
    assertEquals("shop", node.message(bulk.get(0).messageId()).getString("TenantName"));
    assertThrows(BadRequestException.class, () -> ses.sendBulkEmail(r -> r.tenantName("shop")
        .fromEmailAddress("orders@acme.example")
        .defaultContent(c -> c.template(t -> t.templateName("other-welcome").templateData("{}")))
        .bulkEmailEntries(BulkEmailEntry.builder().destination(d -> d.toAddresses("b3@example.org")).build())));

    // without a tenant, nothing of this applies
    send(null, "orders@other.example", "other-set", "plain@example.org");
  }

  /**
   * A delegate's send from another account's identity (sending authorization) is not a tenant's, even when the
   * delegate's tenant has an identity of the same name: the identity the message goes out with is the owner's.
   */
  @Test
  void aDelegatesSendFromAnotherAccountsIdentityIsNoTenants() {
    try (io.mailgate.testing.Tenant owner = io.mailgate.testing.Tenant.create(node, "identity-owner")) {
      owner.v2().createEmailIdentity(r -> r.emailIdentity("shared-brand.example"));
      String ownerArn = "arn:aws:ses:us-east-1:" + owner.id() + ":identity/shared-brand.example";
      owner.v2().createEmailIdentityPolicy(r -> r.emailIdentity("shared-brand.example").policyName("delegate")
          .policy("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
              + "[\"arn:aws:iam::" + ACCOUNT + ":root\"]},\"Action\":[\"ses:SendEmail\"],\"Resource\":\""
              + ownerArn + "\"}]}"));
      ses.createEmailIdentity(r -> r.emailIdentity("shared-brand.example"));
      ses.createTenant(r -> r.tenantName("delegating"));
      ses.createTenantResourceAssociation(r -> r.tenantName("delegating")
          .resourceArn(arn("identity/shared-brand.example")));
      SendEmailRequest delegated = sendRequest("delegating", "news@shared-brand.example", null, "d1@example.org")
          .toBuilder().fromEmailAddressIdentityArn(ownerArn).build();
      BadRequestException e = assertThrows(BadRequestException.class, () -> ses.sendEmail(delegated));
      assertTrue(e.getMessage().contains("another account's"), e.getMessage());
      // without the tenant, the delegated send is the owner's policy's to allow
      ses.sendEmail(delegated.toBuilder().tenantName(null).build());
      // and from its own identity, the tenant's send goes
      send("delegating", "news@shared-brand.example", null, "d2@example.org");
    }
  }

  @Test
  void rawMailNamesItsTenantInAHeaderOverTheApiAndSmtp() throws IOException {
    tenantWithResources("raw");
    String message = "X-SES-TENANT: raw\r\nFrom: news@acme.example\r\nTo: TO\r\nSubject: raw tenant\r\n\r\nbody\r\n";
    String id = ses.sendEmail(r -> r.content(c -> c.raw(m -> m.data(SdkBytes.fromUtf8String(
        message.replace("TO", "raw1@example.org")))))).messageId();
    assertEquals("raw", node.message(id).getString("TenantName"));
    String delivered = Await.until(() -> relay.received().stream().filter(r -> r.rcptTo().contains("raw1@example.org"))
        .findFirst().orElse(null), Objects::nonNull, Duration.ofSeconds(20)).text();
    assertFalse(delivered.toUpperCase(java.util.Locale.ROOT).contains("X-SES-TENANT"), delivered);
    // the parameter wins over the header
    assertThrows(NotFoundException.class, () -> ses.sendEmail(r -> r.tenantName("ghost").content(c -> c.raw(m -> m.data(
        SdkBytes.fromUtf8String(message.replace("TO", "raw2@example.org")))))));
    assertThrows(BadRequestException.class, () -> ses.sendEmail(r -> r.content(c -> c.raw(m -> m.data(
        SdkBytes.fromUtf8String("X-SES-TENANT: raw\r\n" + message.replace("TO", "raw3@example.org")))))),
        "named twice");

    String region = node.config().get(MailgateConfig.REGION);
    try (SmtpSubmissionTest.Session s = new SmtpSubmissionTest.Session(
        node.config().get(MailgateConfig.SMTP_SUBMISSION_PORT))) {
      s.command("EHLO client.test");
      assertTrue(s.login(TestNode.ACCESS_KEY, SmtpCredentials.password(TestNode.SECRET, region)).startsWith("235"));
      String reply = s.send("news@acme.example", List.of("smtp1@example.org"), message.replace("TO", "smtp1@example.org"));
      Matcher m = Pattern.compile("250 Ok (\\S+)").matcher(reply);
      assertTrue(m.matches(), reply);
      assertEquals("raw", node.message(m.group(1)).getString("TenantName"));
      String refused = s.send("news@acme.example", List.of("smtp2@example.org"),
          message.replace("X-SES-TENANT: raw", "X-SES-TENANT: ghost").replace("TO", "smtp2@example.org"));
      assertTrue(refused.startsWith("5"), refused);
    }
  }

  @Test
  void aTenantsSendingStatusAndPolicyAreItsReputationEntity() {
    CreateTenantResponse t = tenantWithResources("status");
    ReputationEntity entity = ses.getReputationEntity(r -> r.reputationEntityType(ReputationEntityType.RESOURCE)
        .reputationEntityReference(t.tenantArn())).reputationEntity();
    assertEquals(t.tenantArn(), entity.reputationEntityReference());
    assertEquals("arn:aws:ses:us-east-1:aws:reputation-policy/standard", entity.reputationManagementPolicy());
    assertEquals(SendingStatus.ENABLED, entity.customerManagedStatus().status());
    assertEquals(SendingStatus.ENABLED, entity.awsSesManagedStatus().status());
    assertEquals(SendingStatus.ENABLED, entity.sendingStatusAggregate());
    assertNull(entity.reputationImpact());

    ses.updateReputationEntityCustomerManagedStatus(r -> r.reputationEntityType(ReputationEntityType.RESOURCE)
        .reputationEntityReference(t.tenantArn()).sendingStatus(SendingStatus.DISABLED));
    SendingPausedException paused = assertThrows(SendingPausedException.class,
        () -> send("status", "orders@acme.example", null, "s1@example.org"));
    assertTrue(paused.getMessage().contains("tenant status"), paused.getMessage());
    assertEquals(SendingStatus.DISABLED, ses.getTenant(r -> r.tenantName("status")).tenant().sendingStatus());
    assertEquals(SendingStatus.DISABLED, ses.getReputationEntity(r -> r.reputationEntityType(ReputationEntityType.RESOURCE)
        .reputationEntityReference(t.tenantArn())).reputationEntity().sendingStatusAggregate());
    assertTrue(ses.listTenants(r -> r.filter(Map.of(ListTenantsFilterKey.SENDING_STATUS, "DISABLED"))).tenants()
        .stream().anyMatch(i -> i.tenantName().equals("status")));
    assertFalse(ses.listTenants(r -> r.filter(Map.of(ListTenantsFilterKey.SENDING_STATUS, "ENABLED"))).tenants()
        .stream().anyMatch(i -> i.tenantName().equals("status")));
    assertTrue(ses.listReputationEntities(r -> r.filterWithStrings(Map.of("SENDING_STATUS", "DISABLED",
            "ENTITY_REFERENCE_PREFIX", arn("tenant/stat")))).reputationEntities().stream()
        .anyMatch(e -> e.reputationEntityReference().equals(t.tenantArn())));

    ses.updateReputationEntityCustomerManagedStatus(r -> r.reputationEntityType(ReputationEntityType.RESOURCE)
        .reputationEntityReference(arn("tenant/status")).sendingStatus(SendingStatus.ENABLED));
    send("status", "orders@acme.example", null, "s2@example.org");

    ses.updateReputationEntityPolicy(r -> r.reputationEntityType(ReputationEntityType.RESOURCE)
        .reputationEntityReference(t.tenantArn())
        .reputationEntityPolicy("arn:aws:ses:us-east-1:aws:reputation-policy/strict"));
    assertEquals("arn:aws:ses:us-east-1:aws:reputation-policy/strict", ses.getReputationEntity(r -> r
        .reputationEntityType(ReputationEntityType.RESOURCE).reputationEntityReference(t.tenantArn()))
        .reputationEntity().reputationManagementPolicy());
    assertThrows(BadRequestException.class, () -> ses.updateReputationEntityPolicy(r -> r
        .reputationEntityType(ReputationEntityType.RESOURCE).reputationEntityReference(t.tenantArn())
        .reputationEntityPolicy("arn:aws:ses:us-east-1:aws:reputation-policy/lenient")));
    assertThrows(NotFoundException.class, () -> ses.getReputationEntity(r -> r
        .reputationEntityType(ReputationEntityType.RESOURCE).reputationEntityReference(arn("tenant/status/tn-0"))),
        "a deleted tenant's id");
    assertThrows(BadRequestException.class, () -> ses.getReputationEntity(r -> r
        .reputationEntityType(ReputationEntityType.RESOURCE).reputationEntityReference(arn("identity/acme.example"))));

    // deleted, it sends nothing and names nothing
    ses.deleteTenant(r -> r.tenantName("status"));
    assertThrows(NotFoundException.class, () -> send("status", "orders@acme.example", null, "s3@example.org"));
    assertEquals(0, Db.count(node.config().get(MailgateConfig.PG_URL),
        "SELECT count(*) FROM tenant_resources WHERE tenant_name = 'status'"));
  }
}
