package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.Tag;

/**
 * SES v2 TagResource / UntagResource / ListTagsForResource on identities and configuration sets, and
 * PutEmailIdentityConfigurationSetAttributes, through the AWS SDK.
 */
class TagsApiTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static final String ACCOUNT = "000000000000";

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    ses.createConfigurationSet(r -> r.configurationSetName("tagged-set")
        .tags(Tag.builder().key("team").value("billing").build()));
    ses.createEmailIdentity(r -> r.emailIdentity("tags.example").tags(Tag.builder().key("env").value("prod").build()));
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static Map<String, String> tags(String arn) {
    return ses.listTagsForResource(r -> r.resourceArn(arn)).tags().stream()
        .collect(Collectors.toMap(Tag::key, Tag::value, (a, b) -> a, java.util.LinkedHashMap::new));
  }

  static String arn(String resource) {
    return "arn:aws:ses:us-east-1:" + ACCOUNT + ":" + resource;
  }

  @Test
  void tagsAreAddedReplacedListedAndRemoved() {
    String identity = arn("identity/Tags.Example");
    assertEquals(Map.of("env", "prod"), tags(identity), "the tags given at creation");
    ses.tagResource(r -> r.resourceArn(identity).tags(Tag.builder().key("env").value("staging").build(),
        Tag.builder().key("owner").value("").build()));
    assertEquals(Map.of("env", "staging", "owner", ""), tags(identity));
    ses.untagResource(r -> r.resourceArn(identity).tagKeys("owner", "never-there"));
    assertEquals(Map.of("env", "staging"), tags(identity));

    String set = arn("configuration-set/tagged-set");
    ses.tagResource(r -> r.resourceArn(set).tags(Tag.builder().key("cost-center").value("42").build()));
    assertEquals(Map.of("team", "billing", "cost-center", "42"), tags(set));
    assertEquals(List.of(Map.of("Key", "team", "Value", "billing"), Map.of("Key", "cost-center", "Value", "42")),
        ses.getConfigurationSet(r -> r.configurationSetName("tagged-set")).tags().stream()
            .map(t -> Map.of("Key", t.key(), "Value", t.value())).toList(), "GetConfigurationSet sees them");
  }

  @Test
  void badRequestsChangeNothing() {
    String set = arn("configuration-set/tagged-set");
    Map<String, String> before = tags(set);
    List<Tag> many = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      many.add(Tag.builder().key("k" + i).value("v").build());
    }
    BadRequestException tooMany = assertThrows(BadRequestException.class,
        () -> ses.tagResource(r -> r.resourceArn(set).tags(many)));
    assertTrue(tooMany.getMessage().contains("at most 50 tags"), tooMany.getMessage());
    assertThrows(BadRequestException.class, () -> ses.tagResource(r -> r.resourceArn(set)
        .tags(Tag.builder().key("x".repeat(129)).value("v").build())));
    assertThrows(BadRequestException.class, () -> ses.tagResource(r -> r.resourceArn("arn:aws:sns:us-east-1:"
        + ACCOUNT + ":topic").tags(Tag.builder().key("a").value("b").build())));
    assertThrows(BadRequestException.class, () -> ses.tagResource(r -> r.resourceArn(arn("template/welcome"))
        .tags(Tag.builder().key("a").value("b").build())));
    assertThrows(BadRequestException.class, () -> ses.listTagsForResource(r -> r.resourceArn("not an arn")));
    assertThrows(BadRequestException.class, () -> ses.untagResource(r -> r.resourceArn(set)));
    assertThrows(NotFoundException.class, () -> ses.listTagsForResource(r -> r.resourceArn(arn("identity/nobody.example"))));
    assertThrows(NotFoundException.class, () -> ses.tagResource(r -> r.resourceArn(arn("configuration-set/none"))
        .tags(Tag.builder().key("a").value("b").build())));
    assertThrows(BadRequestException.class, () -> ses.tagResource(r -> r.resourceArn(set).tags(
        Tag.builder().key("dup").value("1").build(), Tag.builder().key("dup").value("2").build())));
    // a Tag's Value is required, as in SES (it may be empty)
    BadRequestException noValue = assertThrows(BadRequestException.class,
        () -> ses.tagResource(r -> r.resourceArn(set).tags(Tag.builder().key("novalue").build())));
    assertTrue(noValue.getMessage().contains("Missing required field Tags.Value"), noValue.getMessage());
    assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r.configurationSetName("no-value")
        .tags(Tag.builder().key("novalue").build())));
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("no-value")));
    assertEquals(before, tags(set));
    // the limit holds at creation too: a resource created with 51 tags could never be tagged again
    many.add(Tag.builder().key("k50").value("v").build());
    assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r.configurationSetName("too-many")
        .tags(many)));
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("too-many")));
  }

  /** Terraform's aws_sesv2_contact_list reads the list's tags by its ARN after every create and read. */
  @Test
  void contactListsCarryTags() {
    ses.createContactList(r -> r.contactListName("tagged-list").tags(Tag.builder().key("team").value("growth").build()));
    String list = arn("contact-list/tagged-list");
    assertEquals(Map.of("team", "growth"), tags(list), "the tags given at creation");
    assertEquals(List.of(Tag.builder().key("team").value("growth").build()),
        ses.getContactList(r -> r.contactListName("tagged-list")).tags(), "GetContactList sees them");

    ses.tagResource(r -> r.resourceArn(list).tags(Tag.builder().key("env").value("prod").build(),
        Tag.builder().key("team").value("retention").build()));
    assertEquals(Map.of("team", "retention", "env", "prod"), tags(list));
    ses.untagResource(r -> r.resourceArn(list).tagKeys("team"));
    assertEquals(Map.of("env", "prod"), tags(list));
    ses.updateContactList(r -> r.contactListName("tagged-list").description("Renewed"));
    assertEquals(List.of(Tag.builder().key("env").value("prod").build()),
        ses.getContactList(r -> r.contactListName("tagged-list")).tags(), "UpdateContactList leaves them");

    String none = arn("contact-list/no-such-list");
    assertThrows(NotFoundException.class, () -> ses.listTagsForResource(r -> r.resourceArn(none)));
    assertThrows(NotFoundException.class, () -> ses.tagResource(r -> r.resourceArn(none)
        .tags(Tag.builder().key("a").value("b").build())));
    assertThrows(NotFoundException.class, () -> ses.untagResource(r -> r.resourceArn(none).tagKeys("a")));
    Accounts.NewKey other = node.createAccount("list-tags", true, 10, 1000);
    try (SesV2Client theirs = node.sesV2(other.accessKeyId(), other.secretAccessKey())) {
      assertThrows(NotFoundException.class, () -> theirs.listTagsForResource(r -> r.resourceArn(list)));
    }

    ses.deleteContactList(r -> r.contactListName("tagged-list"));
    assertThrows(NotFoundException.class, () -> ses.listTagsForResource(r -> r.resourceArn(list)),
        "gone with the list");
    ses.createContactList(r -> r.contactListName("tagged-list"));
    assertEquals(Map.of(), tags(list), "a list created again under the name starts without them");
    ses.deleteContactList(r -> r.contactListName("tagged-list"));
  }

  /** AWS's rules for resource tags, not message tags' (EmailTags). */
  @Test
  void tagsAreCheckedAsAwsChecksThem() {
    String set = arn("configuration-set/tagged-set");
    Map<String, String> before = tags(set);
    List<Tag> refused = List.of(Tag.builder().key("aws:team").value("x").build(),
        Tag.builder().key("AWS:Team").value("x").build(), Tag.builder().key("Aws:").value("x").build(),
        Tag.builder().key("team").value("aws:prod").build(), Tag.builder().key("team").value("aWs:prod").build(),
        Tag.builder().key("a;b").value("x").build(), Tag.builder().key("<script>").value("x").build(),
        Tag.builder().key("tab\there").value("x").build(), Tag.builder().key("team").value("x\r\ny").build(),
        Tag.builder().key("team").value("100%").build(), Tag.builder().key("smile \uD83D\uDE42").value("x").build());
    for (Tag bad : refused) {
      String shown = bad.key() + "=" + bad.value();
      assertThrows(BadRequestException.class, () -> ses.tagResource(r -> r.resourceArn(set).tags(bad)), shown);
      assertThrows(BadRequestException.class, () -> ses.createConfigurationSet(r -> r.configurationSetName("checked")
          .tags(bad)), shown);
      assertThrows(BadRequestException.class, () -> ses.createEmailIdentity(r -> r.emailIdentity("checked.example")
          .tags(bad)), shown);
      assertThrows(BadRequestException.class, () -> ses.createContactList(r -> r.contactListName("checked")
          .tags(bad)), shown);
      assertThrows(BadRequestException.class, () -> ses.createEmailTemplate(r -> r.templateName("checked")
          .templateContent(c -> c.subject("s").text("t")).tags(bad)), shown);
      assertThrows(BadRequestException.class, () -> ses.createCustomVerificationEmailTemplate(r -> r
          .templateName("checked").fromEmailAddress("verify@tags.example").templateSubject("s")
          .templateContent("<p>Confirm</p>").successRedirectionURL("https://example.com/ok")
          .failureRedirectionURL("https://example.com/no").tags(bad)), shown);
    }
    assertEquals(before, tags(set));
    assertThrows(NotFoundException.class, () -> ses.getConfigurationSet(r -> r.configurationSetName("checked")));
    assertThrows(NotFoundException.class, () -> ses.getEmailIdentity(r -> r.emailIdentity("checked.example")));
    assertThrows(NotFoundException.class, () -> ses.getContactList(r -> r.contactListName("checked")));
    assertThrows(NotFoundException.class, () -> ses.getEmailTemplate(r -> r.templateName("checked")));
    assertThrows(NotFoundException.class, () -> ses.getCustomVerificationEmailTemplate(r -> r.templateName("checked")));

    // what AWS takes: letters and digits of any script, white space, _ . : / = + - @, and aws: other than first
    Tag wide = Tag.builder().key("Kostenstelle Zürich").value("Ωμέγα ٤٢ _.:/=+-@").build();
    Tag inner = Tag.builder().key("team:aws:x").value("my-aws:prod").build();
    ses.tagResource(r -> r.resourceArn(set).tags(wide, inner));
    Map<String, String> tagged = new java.util.LinkedHashMap<>(before);
    tagged.put(wide.key(), wide.value());
    tagged.put(inner.key(), inner.value());
    assertEquals(tagged, tags(set));
    ses.untagResource(r -> r.resourceArn(set).tagKeys(wide.key(), inner.key()));
    assertEquals(before, tags(set));
  }

  /**
   * AWS counts a tag's characters, not UTF-16 units: a letter outside the BMP (U+1D400, U+20000: two units each) is
   * one of the 128 a key has and of the 256 a value has.
   */
  @Test
  void lengthsAreCountedInCharacters() {
    String key = Character.toString(0x1D400).repeat(128);
    String value = Character.toString(0x20000).repeat(256);
    Tag longest = Tag.builder().key(key).value(value).build();
    String set = arn("configuration-set/tagged-set");
    Map<String, String> before = tags(set);
    ses.tagResource(r -> r.resourceArn(set).tags(longest));
    assertEquals(value, tags(set).get(key));
    ses.untagResource(r -> r.resourceArn(set).tagKeys(key));
    assertEquals(before, tags(set));

    ses.createEmailIdentity(r -> r.emailIdentity("longest-tag.example").tags(longest));
    assertEquals(List.of(longest), ses.getEmailIdentity(r -> r.emailIdentity("longest-tag.example")).tags(),
        "taken at creation too");

    // one character more is one too many
    assertThrows(BadRequestException.class, () -> ses.tagResource(r -> r.resourceArn(set)
        .tags(Tag.builder().key(key + "A").value("v").build())));
    assertThrows(BadRequestException.class, () -> ses.tagResource(r -> r.resourceArn(set)
        .tags(Tag.builder().key("k").value(value + "A").build())));
    assertThrows(BadRequestException.class, () -> ses.untagResource(r -> r.resourceArn(set).tagKeys(key + "A")));
    assertEquals(before, tags(set));
  }

  /**
   * UntagResource's TagKeys follow the rules of the keys TagResource takes, and one bad key removes nothing; AWS's own
   * {@code aws:} tags cannot be removed.
   */
  @Test
  void untagKeysAreCheckedAsAwsChecksThem() {
    String set = arn("configuration-set/tagged-set");
    ses.tagResource(r -> r.resourceArn(set).tags(Tag.builder().key("c=d+e @x").value("kept").build()));
    Map<String, String> before = tags(set);
    assertEquals("kept", before.get("c=d+e @x"));
    for (String bad : List.of("", "x".repeat(129), "a;b", "<script>", "tab\there", "smile \uD83D\uDE42", "aws:team",
        "AWS:Team", "aWs:")) {
      BadRequestException e = assertThrows(BadRequestException.class,
          () -> ses.untagResource(r -> r.resourceArn(set).tagKeys("c=d+e @x", bad)), bad);
      assertTrue(e.getMessage().contains("tag key"), e.getMessage());
      assertEquals(before, tags(set), "nothing removed for " + bad);
    }
    assertThrows(BadRequestException.class, () -> ses.untagResource(r -> r.resourceArn(set).tagKeys(List.of())));

    ses.untagResource(r -> r.resourceArn(set).tagKeys("c=d+e @x", "team:aws:x"));
    assertTrue(!tags(set).containsKey("c=d+e @x"), "a good key, + and = in it, is removed");
  }

  @Test
  void anotherAccountsResourcesAreNotThere() {
    Accounts.NewKey other = node.createAccount("other", true, 10, 1000);
    try (SesV2Client theirs = node.sesV2(other.accessKeyId(), other.secretAccessKey())) {
      assertThrows(NotFoundException.class, () -> theirs.listTagsForResource(r -> r.resourceArn(arn("identity/tags.example"))));
      assertThrows(NotFoundException.class, () -> theirs.tagResource(r -> r.resourceArn(arn("identity/tags.example"))
          .tags(Tag.builder().key("mine").value("now").build())));
      // a request that is bad whatever it names is refused as bad, as AWS checks input before it looks anything up
      assertThrows(BadRequestException.class, () -> theirs.tagResource(r -> r.resourceArn(arn("identity/tags.example"))
          .tags(Tag.builder().key("aws:mine").value("now").build())));
      assertThrows(BadRequestException.class, () -> theirs.untagResource(r -> r.resourceArn(arn("identity/tags.example"))
          .tagKeys("aws:mine")));
      assertThrows(NotFoundException.class, () -> theirs.untagResource(r -> r.resourceArn(arn("identity/tags.example"))
          .tagKeys("mine")));
      // nor under their own account id: they have no such identity
      assertThrows(NotFoundException.class, () -> theirs.listTagsForResource(r -> r.resourceArn(
          "arn:aws:ses:us-east-1:" + other.accountId() + ":identity/tags.example")));
    }
    assertTrue(!tags(arn("identity/tags.example")).containsKey("mine"));
  }

  @Test
  void anIdentitysDefaultConfigurationSetCanBeChanged() {
    ses.createEmailIdentity(r -> r.emailIdentity("defaults.example"));
    ses.createConfigurationSet(r -> r.configurationSetName("default-set"));
    ses.putEmailIdentityConfigurationSetAttributes(r -> r.emailIdentity("defaults.example")
        .configurationSetName("default-set"));
    assertEquals("default-set", ses.getEmailIdentity(r -> r.emailIdentity("defaults.example")).configurationSetName());
    String id = ses.sendEmail(r -> r.fromEmailAddress("news@defaults.example").destination(d -> d.toAddresses("a@x.test"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("b")))))).messageId();
    assertEquals("default-set", node.message(id).getString("ConfigurationSetName"), "a send naming none takes it");

    assertThrows(NotFoundException.class, () -> ses.putEmailIdentityConfigurationSetAttributes(r -> r
        .emailIdentity("defaults.example").configurationSetName("no-such-set")));
    assertThrows(NotFoundException.class, () -> ses.putEmailIdentityConfigurationSetAttributes(r -> r
        .emailIdentity("unknown.example").configurationSetName("default-set")));
    assertEquals("default-set", ses.getEmailIdentity(r -> r.emailIdentity("defaults.example")).configurationSetName());

    ses.putEmailIdentityConfigurationSetAttributes(r -> r.emailIdentity("defaults.example"));
    assertNull(ses.getEmailIdentity(r -> r.emailIdentity("defaults.example")).configurationSetName());
  }
}
