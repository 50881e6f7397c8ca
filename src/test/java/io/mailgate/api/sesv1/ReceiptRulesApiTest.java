package io.mailgate.api.sesv1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.config.MailgateConfig;
import io.mailgate.receiving.ReceiptRuleStore;
import io.mailgate.testing.Db;
import io.mailgate.testing.TestNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.ses.model.AddHeaderAction;
import software.amazon.awssdk.services.ses.model.AlreadyExistsException;
import software.amazon.awssdk.services.ses.model.BounceAction;
import software.amazon.awssdk.services.ses.model.CannotDeleteException;
import software.amazon.awssdk.services.ses.model.ConnectAction;
import software.amazon.awssdk.services.ses.model.DescribeActiveReceiptRuleSetResponse;
import software.amazon.awssdk.services.ses.model.DescribeReceiptRuleSetResponse;
import software.amazon.awssdk.services.ses.model.InvalidLambdaFunctionException;
import software.amazon.awssdk.services.ses.model.InvalidS3ConfigurationException;
import software.amazon.awssdk.services.ses.model.InvalidSnsTopicException;
import software.amazon.awssdk.services.ses.model.LambdaAction;
import software.amazon.awssdk.services.ses.model.LimitExceededException;
import software.amazon.awssdk.services.ses.model.ListReceiptRuleSetsResponse;
import software.amazon.awssdk.services.ses.model.ReceiptAction;
import software.amazon.awssdk.services.ses.model.ReceiptFilter;
import software.amazon.awssdk.services.ses.model.ReceiptFilterPolicy;
import software.amazon.awssdk.services.ses.model.ReceiptRule;
import software.amazon.awssdk.services.ses.model.ReceiptRuleSetMetadata;
import software.amazon.awssdk.services.ses.model.RuleDoesNotExistException;
import software.amazon.awssdk.services.ses.model.RuleSetDoesNotExistException;
import software.amazon.awssdk.services.ses.model.S3Action;
import software.amazon.awssdk.services.ses.model.SNSAction;
import software.amazon.awssdk.services.ses.model.SNSActionEncoding;
import software.amazon.awssdk.services.ses.model.SesException;
import software.amazon.awssdk.services.ses.model.StopAction;
import software.amazon.awssdk.services.ses.model.StopScope;
import software.amazon.awssdk.services.ses.model.TlsPolicy;
import software.amazon.awssdk.services.ses.model.WorkmailAction;

/**
 * Email receiving's configuration through SES v1, with the AWS SDK's {@code ses} client: receipt rule sets, their
 * rules in order, the active set, IP address filters; every action type's fields as the SDK reads them back; SES's
 * errors for what does not exist, is taken or is refused, with nothing changed by a refused request; one account's
 * configuration out of another's reach.
 */
class ReceiptRulesApiTest {
  static TestNode node;
  static String pg;

  /** An account of its own for each test, and its v1 client. */
  record Tenant(Accounts.NewKey key, SesClient ses) implements AutoCloseable {
    String id() {
      return key.accountId();
    }

    HttpResponse<String> post(String form) {
      return node.signed("POST", "/", "Version=2010-12-01&" + form,
          Map.of("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), key.accessKeyId(),
          key.secretAccessKey());
    }

    @Override
    public void close() {
      ses.close();
    }
  }

  @BeforeAll
  static void start() {
    node = TestNode.start("");
    pg = node.config().get(MailgateConfig.PG_URL);
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  static Tenant tenant(String name) {
    Accounts.NewKey key = node.createAccount(name, true, 100, 1000);
    return new Tenant(key, node.sesV1(key.accessKeyId(), key.secretAccessKey()));
  }

  static List<String> order(Tenant t, String set) {
    return t.ses().describeReceiptRuleSet(r -> r.ruleSetName(set)).rules().stream().map(ReceiptRule::name).toList();
  }

  /** The stored positions, {@code name:position} in order: dense from 0 whatever was done. */
  static String positions(Tenant t, String set) {
    return Db.string(pg, "SELECT string_agg(name || ':' || position, ',' ORDER BY position) FROM receipt_rules "
        + "WHERE account_id = '" + t.id() + "' AND rule_set = '" + set + "'");
  }

  /** Everything the account has configured for receiving, as text: to show that a refused request changed nothing. */
  static String snapshot(Tenant t) {
    String account = "'" + t.id() + "'";
    return Db.string(pg, "SELECT coalesce((SELECT string_agg(name || ' ' || active, ',' ORDER BY name) "
        + "FROM receipt_rule_sets WHERE account_id = " + account + "), '') || ' | ' || "
        + "coalesce((SELECT string_agg(concat_ws(' ', rule_set, name, position, enabled, tls_policy, recipients, "
        + "actions, scan_enabled), ',' ORDER BY rule_set, position) FROM receipt_rules WHERE account_id = " + account
        + "), '') || ' | ' || coalesce((SELECT string_agg(concat_ws(' ', name, policy, cidr), ',' ORDER BY name) "
        + "FROM receipt_filters WHERE account_id = " + account + "), '')");
  }

  static ReceiptRule named(String name) {
    return ReceiptRule.builder().name(name).build();
  }

  static void createRule(Tenant t, String set, String name, String after) {
    t.ses().createReceiptRule(r -> r.ruleSetName(set).rule(named(name)).after(after));
  }

  @Test
  void ruleSetsAreCreatedListedClonedAndDeleted() {
    try (Tenant t = tenant("rules-sets")) {
      SesClient ses = t.ses();
      ses.createReceiptRuleSet(r -> r.ruleSetName("inbound"));
      AlreadyExistsException taken = assertThrows(AlreadyExistsException.class,
          () -> ses.createReceiptRuleSet(r -> r.ruleSetName("inbound")));
      assertTrue(taken.getMessage().contains("inbound"), taken.getMessage());
      ses.createReceiptRuleSet(r -> r.ruleSetName("Another.set_2"));

      ListReceiptRuleSetsResponse listed = ses.listReceiptRuleSets(r -> { });
      assertEquals(List.of("Another.set_2", "inbound"), listed.ruleSets().stream().map(ReceiptRuleSetMetadata::name)
          .toList());
      assertNull(listed.nextToken());
      assertNotNull(listed.ruleSets().get(0).createdTimestamp(), "the SDK reads the timestamp");

      DescribeReceiptRuleSetResponse empty = ses.describeReceiptRuleSet(r -> r.ruleSetName("inbound"));
      assertEquals("inbound", empty.metadata().name());
      assertEquals(listed.ruleSets().get(1).createdTimestamp(), empty.metadata().createdTimestamp());
      assertTrue(empty.rules().isEmpty());

      createRule(t, "inbound", "second", null);
      createRule(t, "inbound", "first", null);
      ses.cloneReceiptRuleSet(r -> r.ruleSetName("copy").originalRuleSetName("inbound"));
      assertEquals(List.of("first", "second"), order(t, "copy"));
      assertEquals("first:0,second:1", positions(t, "copy"));
      assertThrows(AlreadyExistsException.class,
          () -> ses.cloneReceiptRuleSet(r -> r.ruleSetName("copy").originalRuleSetName("inbound")));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> ses.cloneReceiptRuleSet(r -> r.ruleSetName("copy-2").originalRuleSetName("missing")));
      // the copy is its own: a change to it leaves the original as it was
      ses.deleteReceiptRule(r -> r.ruleSetName("copy").ruleName("first"));
      assertEquals(List.of("first", "second"), order(t, "inbound"));
      assertEquals(List.of("second"), order(t, "copy"));

      ses.deleteReceiptRuleSet(r -> r.ruleSetName("inbound"));
      assertThrows(RuleSetDoesNotExistException.class, () -> ses.describeReceiptRuleSet(r -> r.ruleSetName("inbound")));
      assertEquals(0, Db.count(pg, "SELECT count(*) FROM receipt_rules WHERE account_id = '" + t.id()
          + "' AND rule_set = 'inbound'"), "its rules went with it");
      ses.deleteReceiptRuleSet(r -> r.ruleSetName("inbound")); // as SES: no error for a set that is not there
      assertEquals(List.of("Another.set_2", "copy"), ses.listReceiptRuleSets(r -> { }).ruleSets().stream()
          .map(ReceiptRuleSetMetadata::name).toList());
    }
  }

  @Test
  void listingPagesByAHundredAndTheLimitsHold() {
    try (Tenant t = tenant("rules-paging")) {
      for (int i = 0; i < ReceiptRuleStore.MAX_RULE_SETS; i++) {
        String name = String.format("set-%03d", i);
        t.ses().createReceiptRuleSet(r -> r.ruleSetName(name));
      }
      LimitExceededException limit = assertThrows(LimitExceededException.class,
          () -> t.ses().createReceiptRuleSet(r -> r.ruleSetName("one-too-many")));
      assertTrue(limit.getMessage().contains("40"), limit.getMessage());
      assertThrows(LimitExceededException.class,
          () -> t.ses().cloneReceiptRuleSet(r -> r.ruleSetName("one-too-many").originalRuleSetName("set-000")));
      // more than a page can only be there from before a limit: as an operator's import would leave them
      Db.execute(pg, "INSERT INTO receipt_rule_sets (account_id, name) SELECT '" + t.id() + "', 'set-' || "
          + "lpad(i::text, 3, '0') FROM generate_series(40, 104) i");
      ListReceiptRuleSetsResponse first = t.ses().listReceiptRuleSets(r -> { });
      assertEquals(100, first.ruleSets().size());
      assertEquals("set-099", first.ruleSets().get(99).name());
      assertNotNull(first.nextToken());
      ListReceiptRuleSetsResponse second = t.ses().listReceiptRuleSets(r -> r.nextToken(first.nextToken()));
      assertEquals(List.of("set-100", "set-101", "set-102", "set-103", "set-104"), second.ruleSets().stream()
          .map(ReceiptRuleSetMetadata::name).toList());
      assertNull(second.nextToken());

      // 200 rules a set
      Db.execute(pg, "INSERT INTO receipt_rules (account_id, rule_set, name, position, enabled, tls_policy, recipients, "
          + "actions, scan_enabled) SELECT '" + t.id() + "', 'set-000', 'rule-' || i, i, false, 'Optional', '{}', '[]', "
          + "false FROM generate_series(0, 199) i");
      assertThrows(LimitExceededException.class, () -> createRule(t, "set-000", "one-too-many", null));
      t.ses().deleteReceiptRule(r -> r.ruleSetName("set-000").ruleName("rule-7"));
      createRule(t, "set-000", "now-room", "rule-8");
      assertEquals(200, order(t, "set-000").size());
      assertEquals("now-room", order(t, "set-000").get(8));
    }
  }

  @Test
  void rulesKeepTheirOrderThroughEveryChange() {
    try (Tenant t = tenant("rules-order")) {
      SesClient ses = t.ses();
      ses.createReceiptRuleSet(r -> r.ruleSetName("ordered"));
      createRule(t, "ordered", "r1", null);
      createRule(t, "ordered", "r2", "r1");
      createRule(t, "ordered", "r3", null); // as SES: without After, first
      createRule(t, "ordered", "r4", "r1");
      assertEquals(List.of("r3", "r1", "r4", "r2"), order(t, "ordered"));
      assertEquals("r3:0,r1:1,r4:2,r2:3", positions(t, "ordered"));

      ses.setReceiptRulePosition(r -> r.ruleSetName("ordered").ruleName("r2"));
      assertEquals(List.of("r2", "r3", "r1", "r4"), order(t, "ordered"));
      ses.setReceiptRulePosition(r -> r.ruleSetName("ordered").ruleName("r3").after("r4"));
      assertEquals(List.of("r2", "r1", "r4", "r3"), order(t, "ordered"));
      assertEquals("r2:0,r1:1,r4:2,r3:3", positions(t, "ordered"));

      ses.reorderReceiptRuleSet(r -> r.ruleSetName("ordered").ruleNames("r4", "r3", "r2", "r1"));
      assertEquals(List.of("r4", "r3", "r2", "r1"), order(t, "ordered"));

      ses.updateReceiptRule(r -> r.ruleSetName("ordered").rule(ReceiptRule.builder().name("r2").enabled(true)
          .recipients("info@rules.example").build()));
      ReceiptRule updated = ses.describeReceiptRule(r -> r.ruleSetName("ordered").ruleName("r2")).rule();
      assertTrue(updated.enabled());
      assertEquals(List.of("info@rules.example"), updated.recipients());
      assertEquals(List.of("r4", "r3", "r2", "r1"), order(t, "ordered"), "an update keeps the rule's place");

      ses.deleteReceiptRule(r -> r.ruleSetName("ordered").ruleName("r3"));
      assertEquals(List.of("r4", "r2", "r1"), order(t, "ordered"));
      assertEquals("r4:0,r2:1,r1:2", positions(t, "ordered"));
      ses.deleteReceiptRule(r -> r.ruleSetName("ordered").ruleName("r3")); // as SES: no error for a missing rule

      // what does not exist
      String before = snapshot(t);
      assertThrows(AlreadyExistsException.class, () -> createRule(t, "ordered", "r1", null));
      assertThrows(RuleDoesNotExistException.class, () -> createRule(t, "ordered", "r9", "missing"));
      assertThrows(RuleSetDoesNotExistException.class, () -> createRule(t, "missing", "r9", null));
      assertThrows(RuleDoesNotExistException.class,
          () -> ses.updateReceiptRule(r -> r.ruleSetName("ordered").rule(named("missing"))));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> ses.updateReceiptRule(r -> r.ruleSetName("missing").rule(named("r1"))));
      assertThrows(RuleDoesNotExistException.class,
          () -> ses.describeReceiptRule(r -> r.ruleSetName("ordered").ruleName("missing")));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> ses.describeReceiptRule(r -> r.ruleSetName("missing").ruleName("r1")));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> ses.deleteReceiptRule(r -> r.ruleSetName("missing").ruleName("r1")));
      assertThrows(RuleDoesNotExistException.class,
          () -> ses.setReceiptRulePosition(r -> r.ruleSetName("ordered").ruleName("missing")));
      assertThrows(RuleDoesNotExistException.class,
          () -> ses.setReceiptRulePosition(r -> r.ruleSetName("ordered").ruleName("r1").after("missing")));
      assertInvalid(() -> ses.setReceiptRulePosition(r -> r.ruleSetName("ordered").ruleName("r1").after("r1")),
          "after itself");
      assertThrows(RuleSetDoesNotExistException.class,
          () -> ses.setReceiptRulePosition(r -> r.ruleSetName("missing").ruleName("r1")));
      assertThrows(RuleDoesNotExistException.class,
          () -> ses.reorderReceiptRuleSet(r -> r.ruleSetName("ordered").ruleNames("r4", "r2", "r1", "r9")));
      assertInvalid(() -> ses.reorderReceiptRuleSet(r -> r.ruleSetName("ordered").ruleNames("r4", "r2")),
          "leaves out [r1]");
      assertInvalid(() -> ses.reorderReceiptRuleSet(r -> r.ruleSetName("ordered").ruleNames("r4", "r2", "r1", "r2")),
          "twice");
      assertThrows(RuleSetDoesNotExistException.class,
          () -> ses.reorderReceiptRuleSet(r -> r.ruleSetName("missing").ruleNames("r1")));
      assertEquals(before, snapshot(t), "nothing changed");
    }
  }

  @Test
  void everyActionTypeReadsBackAsGiven() {
    try (Tenant t = tenant("rules-actions")) {
      SesClient ses = t.ses();
      ses.verifyDomainIdentity(r -> r.domain("rules.example"));
      ses.createReceiptRuleSet(r -> r.ruleSetName("full"));
      ReceiptRule full = ReceiptRule.builder().name("everything").enabled(true).tlsPolicy(TlsPolicy.REQUIRE)
          .scanEnabled(true)
          .recipients("Info@Rules.Example", "rules.example", ".Sub.Rules.Example")
          .actions(
              ReceiptAction.builder().addHeaderAction(AddHeaderAction.builder().headerName("X-Received-By")
                  .headerValue("mailgate; rule=everything").build()).build(),
              ReceiptAction.builder().s3Action(S3Action.builder().bucketName("inbound-mail.rules")
                  .objectKeyPrefix("incoming/2024/").topicArn("https://hooks.example/stored?k=1")
                  .iamRoleArn("arn:aws:iam::123456789012:role/ses-s3").build()).build(),
              ReceiptAction.builder().snsAction(SNSAction.builder().topicArn("https://hooks.example/sns")
                  .encoding(SNSActionEncoding.BASE64).build()).build(),
              ReceiptAction.builder().bounceAction(BounceAction.builder().smtpReplyCode("550").statusCode("5.1.1")
                  .message("Mailbox does not exist").sender("postmaster@rules.example")
                  .topicArn("https://hooks.example/bounced").build()).build(),
              ReceiptAction.builder().stopAction(StopAction.builder().scope(StopScope.RULE_SET)
                  .topicArn("https://hooks.example/stopped").build()).build())
          .build();
      ses.createReceiptRule(r -> r.ruleSetName("full").rule(full));
      ReceiptRule expected = full.toBuilder()
          .recipients("info@rules.example", "rules.example", ".sub.rules.example") // lower-cased
          .build();
      assertEquals(expected, ses.describeReceiptRule(r -> r.ruleSetName("full").ruleName("everything")).rule());
      assertEquals(List.of(expected), ses.describeReceiptRuleSet(r -> r.ruleSetName("full")).rules());

      // what is left out takes SES's defaults: disabled, TLS optional, no scan, every recipient, no actions
      ses.createReceiptRule(r -> r.ruleSetName("full").rule(named("bare")).after("everything"));
      ReceiptRule bare = ses.describeReceiptRule(r -> r.ruleSetName("full").ruleName("bare")).rule();
      assertEquals(ReceiptRule.builder().name("bare").enabled(false).tlsPolicy(TlsPolicy.OPTIONAL).scanEnabled(false)
          .build(), bare);
      assertFalse(bare.hasRecipients());
      assertFalse(bare.hasActions());
      // an SNS action's encoding defaults to UTF-8; an optional topic is left out
      ses.updateReceiptRule(r -> r.ruleSetName("full").rule(ReceiptRule.builder().name("bare")
          .actions(ReceiptAction.builder().snsAction(SNSAction.builder().topicArn("https://hooks.example/x").build())
              .build(), ReceiptAction.builder().stopAction(StopAction.builder().scope(StopScope.RULE_SET).build())
              .build()).build()));
      List<ReceiptAction> actions = ses.describeReceiptRule(r -> r.ruleSetName("full").ruleName("bare")).rule()
          .actions();
      assertEquals(SNSActionEncoding.UTF_8, actions.get(0).snsAction().encoding());
      assertNull(actions.get(1).stopAction().topicArn());
      // stored as the model the SMTP side reads
      assertTrue(Db.string(pg, "SELECT actions::text FROM receipt_rules WHERE account_id = '" + t.id()
          + "' AND name = 'everything'").startsWith("[{\"AddHeaderAction\": {\"HeaderName\": \"X-Received-By\""));
    }
  }

  @Test
  void oneRuleSetIsActiveAndCannotBeDeleted() {
    try (Tenant t = tenant("rules-active")) {
      SesClient ses = t.ses();
      DescribeActiveReceiptRuleSetResponse none = ses.describeActiveReceiptRuleSet(r -> { });
      assertNull(none.metadata());
      assertTrue(none.rules().isEmpty());
      ses.createReceiptRuleSet(r -> r.ruleSetName("a"));
      ses.createReceiptRuleSet(r -> r.ruleSetName("b"));
      createRule(t, "b", "only", null);

      ses.setActiveReceiptRuleSet(r -> r.ruleSetName("a"));
      assertEquals("a", ses.describeActiveReceiptRuleSet(r -> { }).metadata().name());
      ses.setActiveReceiptRuleSet(r -> r.ruleSetName("b"));
      DescribeActiveReceiptRuleSetResponse active = ses.describeActiveReceiptRuleSet(r -> { });
      assertEquals("b", active.metadata().name());
      assertEquals(List.of("only"), active.rules().stream().map(ReceiptRule::name).toList());
      assertEquals("a false,b true", Db.string(pg, "SELECT string_agg(name || ' ' || active, ',' ORDER BY name) "
          + "FROM receipt_rule_sets WHERE account_id = '" + t.id() + "'"));
      ses.setActiveReceiptRuleSet(r -> r.ruleSetName("b")); // again: no change, no error

      CannotDeleteException refused = assertThrows(CannotDeleteException.class,
          () -> ses.deleteReceiptRuleSet(r -> r.ruleSetName("b")));
      assertTrue(refused.getMessage().contains("active"), refused.getMessage());
      assertEquals(List.of("only"), order(t, "b"), "still there, with its rules");
      assertThrows(RuleSetDoesNotExistException.class, () -> ses.setActiveReceiptRuleSet(r -> r.ruleSetName("zz")));
      assertEquals("b", ses.describeActiveReceiptRuleSet(r -> { }).metadata().name(), "a failed switch changes none");

      ses.setActiveReceiptRuleSet(r -> { }); // no name: none active
      assertNull(ses.describeActiveReceiptRuleSet(r -> { }).metadata());
      ses.deleteReceiptRuleSet(r -> r.ruleSetName("b"));
    }
  }

  @Test
  void badRulesAreRefusedAndChangeNothing() {
    try (Tenant t = tenant("rules-refused")) {
      SesClient ses = t.ses();
      ses.verifyEmailIdentity(r -> r.emailAddress("postmaster@refused.example"));
      ses.createReceiptRuleSet(r -> r.ruleSetName("set"));
      createRule(t, "set", "kept", null);
      String before = snapshot(t);

      // names
      assertInvalid(() -> ses.createReceiptRuleSet(r -> r.ruleSetName("has space")), "not a valid name");
      assertInvalid(() -> ses.createReceiptRuleSet(r -> r.ruleSetName("-leading")), "not a valid name");
      assertInvalid(() -> ses.createReceiptRuleSet(r -> r.ruleSetName("trailing.")), "not a valid name");
      assertInvalid(() -> ses.createReceiptRuleSet(r -> r.ruleSetName("x".repeat(65))), "at most 64");
      assertInvalid(() -> ses.cloneReceiptRuleSet(r -> r.ruleSetName("a/b").originalRuleSetName("set")), "valid name");
      assertInvalid(() -> rule(t, b -> b.name("ünicode")), "not a valid name");
      assertInvalid(() -> ses.createReceiptRule(r -> r.ruleSetName("set").rule(named("new")).after("a b")),
          "After");
      // the rule's own fields
      assertInvalid(() -> rule(t, b -> b.tlsPolicy("Sometimes")), "Optional or Require");
      assertInvalid(() -> rule(t, b -> b.recipients(IntStream.range(0, 101).mapToObj(i -> "r" + i + "@x.example")
          .toList())), "at most 100");
      for (String recipient : List.of("two words@x.example", "a@x.example\r\nRCPT TO:<b@y.example>", "@x.example",
          "a@", "localhost", ".a@x.example", "a@-x.example", "x..example")) {
        assertInvalid(() -> rule(t, b -> b.recipients(recipient)), "Recipients.member.1");
      }
      assertInvalid(() -> rule(t, b -> b.actions(IntStream.range(0, 11).mapToObj(i -> ReceiptAction.builder()
          .stopAction(StopAction.builder().scope(StopScope.RULE_SET).build()).build()).toList())), "at most 10");
      assertInvalid(() -> rule(t, b -> b.actions(ReceiptAction.builder()
          .stopAction(StopAction.builder().scope(StopScope.RULE_SET).build())
          .addHeaderAction(AddHeaderAction.builder().headerName("X-A").headerValue("v").build()).build())),
          "exactly one action");
      HttpResponse<String> noType = t.post("Action=CreateReceiptRule&RuleSetName=set&Rule.Name=new"
          + "&Rule.Actions.member.1.FutureAction.Field=x");
      assertEquals(400, noType.statusCode(), noType.body());
      assertTrue(noType.body().contains("<Code>InvalidParameterValue</Code>"), noType.body());
      assertTrue(noType.body().contains("Rule.Actions.member.1 must hold exactly one action"), noType.body());
      HttpResponse<String> notBoolean = t.post("Action=CreateReceiptRule&RuleSetName=set&Rule.Name=new"
          + "&Rule.Enabled=yes");
      assertTrue(notBoolean.body().contains("<Code>InvalidParameterValue</Code>"), notBoolean.body());

      // S3
      for (String bucket : List.of("Upper", "ab", "under_score", "-dash", "dots..twice", "192.168.1.1")) {
        SesException e = assertThrows(InvalidS3ConfigurationException.class, () -> rule(t, b -> b.actions(
            ReceiptAction.builder().s3Action(S3Action.builder().bucketName(bucket).build()).build())), bucket);
        assertTrue(e.getMessage().contains("not a valid bucket name"), e.getMessage());
      }
      SesException kms = assertThrows(InvalidS3ConfigurationException.class, () -> rule(t, b -> b.actions(
          ReceiptAction.builder().s3Action(S3Action.builder().bucketName("mail").kmsKeyArn("arn:aws:kms:x").build())
              .build())));
      assertTrue(kms.getMessage().contains("KMS encryption is not supported"), kms.getMessage());
      // S3 keys are 1,024 bytes of UTF-8 at most, the 40-character message id after the prefix among them
      for (String prefix : List.of("p".repeat(1025), "p".repeat(985), "\u00e9".repeat(600))) {
        SesException e = assertThrows(InvalidS3ConfigurationException.class, () -> rule(t, b -> b.actions(
            ReceiptAction.builder().s3Action(S3Action.builder().bucketName("mail").objectKeyPrefix(prefix).build())
                .build())), prefix);
        assertTrue(e.getMessage().contains("at most 984"), e.getMessage());
      }
      assertThrows(InvalidS3ConfigurationException.class, () -> rule(t, b -> b.actions(ReceiptAction.builder()
          .s3Action(S3Action.builder().bucketName("mail").objectKeyPrefix("a\nb").build()).build())));
      assertInvalid(() -> rule(t, b -> b.actions(ReceiptAction.builder().s3Action(S3Action.builder()
          .objectKeyPrefix("p").build()).build())), "Missing required parameter Rule.Actions.member.1.S3Action.BucketName");
      // topics are webhooks
      SesException arn = assertThrows(InvalidSnsTopicException.class, () -> rule(t, b -> b.actions(ReceiptAction
          .builder().snsAction(SNSAction.builder().topicArn("arn:aws:sns:us-east-1:123456789012:inbound").build())
          .build())));
      assertTrue(arn.getMessage().contains("Rule.Actions.member.1.SNSAction.TopicArn"), arn.getMessage());
      assertTrue(arn.getMessage().contains("is an ARN"), arn.getMessage());
      assertThrows(InvalidSnsTopicException.class, () -> rule(t, b -> b.actions(ReceiptAction.builder()
          .s3Action(S3Action.builder().bucketName("mail").topicArn("ftp://hooks.example/").build()).build())));
      assertThrows(InvalidSnsTopicException.class, () -> rule(t, b -> b.actions(ReceiptAction.builder()
          .stopAction(StopAction.builder().scope(StopScope.RULE_SET).topicArn("https://u:p@hooks.example/").build())
          .build())));
      assertInvalid(() -> rule(t, b -> b.actions(ReceiptAction.builder().snsAction(SNSAction.builder()
          .topicArn("https://hooks.example/").encoding("UTF-16").build()).build())), "UTF-8 or Base64");
      assertInvalid(() -> rule(t, b -> b.actions(ReceiptAction.builder().snsAction(SNSAction.builder()
          .encoding(SNSActionEncoding.BASE64).build()).build())), "Missing required parameter");
      // bounce
      assertInvalid(() -> bounce(t, b -> b.smtpReplyCode("450")), "three digits starting with 5");
      assertInvalid(() -> bounce(t, b -> b.smtpReplyCode("55")), "three digits starting with 5");
      assertInvalid(() -> bounce(t, b -> b.statusCode("4.1.1")), "RFC 3463");
      assertInvalid(() -> bounce(t, b -> b.statusCode("5.1.1.1")), "RFC 3463");
      assertInvalid(() -> bounce(t, b -> b.message("Gone\r\n250 OK")), "without CR, LF");
      assertInvalid(() -> bounce(t, b -> b.message("m".repeat(1001))), "longer than 1000");
      assertInvalid(() -> bounce(t, b -> b.message(null)), "Missing required parameter");
      assertInvalid(() -> bounce(t, b -> b.sender("not an address")), "not an email address");
      assertInvalid(() -> bounce(t, b -> b.sender("someone@unverified.example")), "not a verified identity");
      assertInvalid(() -> bounce(t, b -> b.sender(null)), "Missing required parameter");
      // stop and add header
      assertInvalid(() -> rule(t, b -> b.actions(ReceiptAction.builder().stopAction(StopAction.builder()
          .scope("Rule").build()).build())), "must be RuleSet");
      assertInvalid(() -> rule(t, b -> b.actions(ReceiptAction.builder().stopAction(StopAction.builder()
          .topicArn("https://hooks.example/").build()).build())), "Scope");
      for (String name : List.of("X-Colon:", "X Space", "h".repeat(51), "Ünicode")) {
        assertInvalid(() -> header(t, name, "v"), "HeaderName");
      }
      assertInvalid(() -> header(t, "X-A", "v\r\nBcc: victim@x.example"), "CR, LF");
      assertInvalid(() -> header(t, "X-A", "v".repeat(2048)), "shorter than 2048");
      // what Mailgate does not run
      SesException lambda = assertThrows(InvalidLambdaFunctionException.class, () -> rule(t, b -> b.actions(
          ReceiptAction.builder().lambdaAction(LambdaAction.builder().functionArn("arn:aws:lambda:f").build())
              .build())));
      assertTrue(lambda.getMessage().contains("Mailgate runs S3 actions"), lambda.getMessage());
      assertInvalid(() -> rule(t, b -> b.actions(ReceiptAction.builder().workmailAction(WorkmailAction.builder()
          .organizationArn("arn:aws:workmail:o").build()).build())), "WorkMail");
      assertInvalid(() -> rule(t, b -> b.actions(ReceiptAction.builder().connectAction(ConnectAction.builder()
          .instanceARN("arn:aws:connect:i").iamRoleARN("arn:aws:iam::1:role/r").build()).build())), "Connect");
      // an update refused the same way leaves the rule as it was
      assertThrows(InvalidS3ConfigurationException.class, () -> ses.updateReceiptRule(r -> r.ruleSetName("set")
          .rule(ReceiptRule.builder().name("kept").enabled(true).actions(ReceiptAction.builder()
              .s3Action(S3Action.builder().bucketName("Bad").build()).build()).build())));
      // filters
      assertInvalid(() -> filter(t, "bad name", ReceiptFilterPolicy.BLOCK, "10.0.0.0/8"), "not a valid name");
      assertInvalid(() -> ses.createReceiptFilter(r -> r.filter(f -> f.name("deny").ipFilter(ip -> ip.policy("Deny")
          .cidr("10.0.0.0/8")))), "Block or Allow");
      for (String cidr : List.of("10.0.0.0/33", "2001:db8::/129", "mail.example", "10.0.0.1/x", "10.0.0.1/", "10.0.0",
          "fe80::1%eth0", "10.0.0.1/-1", "::ffff:10.0.0.0/95")) {
        assertInvalid(() -> filter(t, "f", ReceiptFilterPolicy.BLOCK, cidr), "IpFilter.Cidr");
      }
      assertEquals(before, snapshot(t), "nothing changed by any refused request");
    }
  }

  /** Creates rule {@code new} in set {@code set}, as {@code rule} sets it up. */
  static void rule(Tenant t, Consumer<ReceiptRule.Builder> rule) {
    ReceiptRule.Builder b = ReceiptRule.builder().name("new");
    rule.accept(b);
    t.ses().createReceiptRule(r -> r.ruleSetName("set").rule(b.build()));
  }

  /** A rule with a valid bounce action, but for what {@code change} does to it. */
  static void bounce(Tenant t, Consumer<BounceAction.Builder> change) {
    BounceAction.Builder b = BounceAction.builder().smtpReplyCode("550").statusCode("5.1.1").message("Gone")
        .sender("postmaster@refused.example");
    change.accept(b);
    rule(t, r -> r.actions(ReceiptAction.builder().bounceAction(b.build()).build()));
  }

  static void header(Tenant t, String name, String value) {
    rule(t, r -> r.actions(ReceiptAction.builder().addHeaderAction(AddHeaderAction.builder().headerName(name)
        .headerValue(value).build()).build()));
  }

  static void filter(Tenant t, String name, ReceiptFilterPolicy policy, String cidr) {
    t.ses().createReceiptFilter(r -> r.filter(f -> f.name(name).ipFilter(ip -> ip.policy(policy).cidr(cidr))));
  }

  static void assertInvalid(Executable call, String message) {
    SesException e = assertThrows(SesException.class, call);
    assertEquals("InvalidParameterValue", e.awsErrorDetails().errorCode(), e.getMessage());
    assertEquals(400, e.statusCode());
    assertTrue(e.getMessage().contains(message), "'" + message + "' in: " + e.getMessage());
  }

  @Test
  void filtersAreCreatedListedAndDeleted() {
    try (Tenant t = tenant("rules-filters")) {
      filter(t, "block-ten", ReceiptFilterPolicy.BLOCK, "10.0.0.0/8");
      filter(t, "allow-one", ReceiptFilterPolicy.ALLOW, "10.1.2.3");
      filter(t, "v6", ReceiptFilterPolicy.BLOCK, "2001:DB8::/32");
      filter(t, "host-bits", ReceiptFilterPolicy.BLOCK, "192.0.2.77/24");
      assertThrows(AlreadyExistsException.class, () -> filter(t, "v6", ReceiptFilterPolicy.ALLOW, "10.0.0.1"));
      List<ReceiptFilter> filters = t.ses().listReceiptFilters(r -> { }).filters();
      assertEquals(List.of(
          filter("allow-one", ReceiptFilterPolicy.ALLOW, "10.1.2.3"),
          filter("block-ten", ReceiptFilterPolicy.BLOCK, "10.0.0.0/8"),
          // listed as given, as SES does (Terraform compares it with its configuration); matched as its network
          filter("host-bits", ReceiptFilterPolicy.BLOCK, "192.0.2.77/24"),
          filter("v6", ReceiptFilterPolicy.BLOCK, "2001:DB8::/32")), filters);
      assertEquals("192.0.2.0/24", Db.string(pg, "SELECT cidr::text FROM receipt_filters WHERE account_id = '" + t.id()
          + "' AND name = 'host-bits'"));
      assertEquals("10.1.2.3/32", Db.string(pg, "SELECT cidr::text FROM receipt_filters WHERE account_id = '" + t.id()
          + "' AND name = 'allow-one'"), "what the SMTP side reads");

      t.ses().deleteReceiptFilter(r -> r.filterName("block-ten"));
      t.ses().deleteReceiptFilter(r -> r.filterName("block-ten")); // as SES: no error for a missing filter
      assertEquals(List.of("allow-one", "host-bits", "v6"), t.ses().listReceiptFilters(r -> { }).filters().stream()
          .map(ReceiptFilter::name).toList());

      for (int i = 3; i < ReceiptRuleStore.MAX_FILTERS; i++) {
        filter(t, "f" + i, ReceiptFilterPolicy.BLOCK, "198.51.100." + i);
      }
      assertThrows(LimitExceededException.class, () -> filter(t, "f-last", ReceiptFilterPolicy.BLOCK, "203.0.113.1"));
    }
  }

  static ReceiptFilter filter(String name, ReceiptFilterPolicy policy, String cidr) {
    return ReceiptFilter.builder().name(name).ipFilter(ip -> ip.policy(policy).cidr(cidr)).build();
  }

  @Test
  void anotherAccountCannotSeeOrChangeThem() {
    try (Tenant a = tenant("rules-owner"); Tenant b = tenant("rules-other")) {
      a.ses().createReceiptRuleSet(r -> r.ruleSetName("mine"));
      createRule(a, "mine", "rule", null);
      a.ses().setActiveReceiptRuleSet(r -> r.ruleSetName("mine"));
      filter(a, "mine", ReceiptFilterPolicy.BLOCK, "10.0.0.0/8");
      String before = snapshot(a);

      assertTrue(b.ses().listReceiptRuleSets(r -> { }).ruleSets().isEmpty());
      assertNull(b.ses().describeActiveReceiptRuleSet(r -> { }).metadata());
      assertTrue(b.ses().listReceiptFilters(r -> { }).filters().isEmpty());
      assertThrows(RuleSetDoesNotExistException.class, () -> b.ses().describeReceiptRuleSet(r -> r.ruleSetName("mine")));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> b.ses().describeReceiptRule(r -> r.ruleSetName("mine").ruleName("rule")));
      assertThrows(RuleSetDoesNotExistException.class, () -> createRule(b, "mine", "intruder", null));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> b.ses().updateReceiptRule(r -> r.ruleSetName("mine").rule(named("rule"))));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> b.ses().deleteReceiptRule(r -> r.ruleSetName("mine").ruleName("rule")));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> b.ses().setReceiptRulePosition(r -> r.ruleSetName("mine").ruleName("rule")));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> b.ses().reorderReceiptRuleSet(r -> r.ruleSetName("mine").ruleNames("rule")));
      assertThrows(RuleSetDoesNotExistException.class, () -> b.ses().setActiveReceiptRuleSet(r -> r.ruleSetName("mine")));
      assertThrows(RuleSetDoesNotExistException.class,
          () -> b.ses().cloneReceiptRuleSet(r -> r.ruleSetName("copied").originalRuleSetName("mine")));
      b.ses().deleteReceiptRuleSet(r -> r.ruleSetName("mine")); // not b's: nothing to delete
      b.ses().deleteReceiptFilter(r -> r.filterName("mine"));
      b.ses().setActiveReceiptRuleSet(r -> { }); // b deactivates its own, not a's
      assertEquals(before, snapshot(a), "a's configuration is as it was");

      // the same names are b's own to take
      b.ses().createReceiptRuleSet(r -> r.ruleSetName("mine"));
      b.ses().setActiveReceiptRuleSet(r -> r.ruleSetName("mine"));
      filter(b, "mine", ReceiptFilterPolicy.ALLOW, "10.0.0.1");
      assertEquals(List.of("rule"), a.ses().describeActiveReceiptRuleSet(r -> { }).rules().stream()
          .map(ReceiptRule::name).toList());
      assertEquals(before, snapshot(a));
    }
  }

  @Test
  void concurrentChangesNeitherFailNorBreakTheOrder() throws Exception {
    try (Tenant t = tenant("rules-racing")) {
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        // the same name twice at once: one is created, the other is AlreadyExists (not an internal error)
        for (int round = 0; round < 5; round++) {
          String name = "race-" + round;
          List<Future<String>> outcomes = new ArrayList<>();
          for (int i = 0; i < 2; i++) {
            outcomes.add(pool.submit(() -> outcome(() -> t.ses().createReceiptRuleSet(r -> r.ruleSetName(name)))));
          }
          List<String> got = new ArrayList<>();
          for (Future<String> o : outcomes) {
            got.add(o.get());
          }
          Collections.sort(got);
          assertEquals(List.of("AlreadyExists", "ok"), got, name);
        }
        // rules added at once: each lands, the positions stay 0 to n-1
        List<Future<String>> adds = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
          String name = "rule-" + i;
          adds.add(pool.submit(() -> outcome(() -> createRule(t, "race-0", name, null))));
        }
        for (Future<String> o : adds) {
          assertEquals("ok", o.get());
        }
        assertEquals(12, order(t, "race-0").size());
        assertEquals("0,1,2,3,4,5,6,7,8,9,10,11", Db.string(pg, "SELECT string_agg(position::text, ',' ORDER BY "
            + "position) FROM receipt_rules WHERE account_id = '" + t.id() + "' AND rule_set = 'race-0'"));
        // activations at once: each succeeds, one set is active after them
        List<Future<String>> switches = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          String name = "race-" + (i % 5);
          switches.add(pool.submit(() -> outcome(() -> t.ses().setActiveReceiptRuleSet(r -> r.ruleSetName(name)))));
        }
        for (Future<String> o : switches) {
          assertEquals("ok", o.get());
        }
        assertEquals(1, Db.count(pg, "SELECT count(*) FROM receipt_rule_sets WHERE account_id = '" + t.id()
            + "' AND active"));
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /** "ok", or the SES error code the call failed with. */
  static String outcome(Runnable call) {
    try {
      call.run();
      return "ok";
    } catch (SesException e) {
      return e.awsErrorDetails().errorCode();
    }
  }
}
