package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AlreadyExistsException;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.BulkEmailEntry;
import software.amazon.awssdk.services.sesv2.model.BulkEmailEntryResult;
import software.amazon.awssdk.services.sesv2.model.BulkEmailStatus;
import software.amazon.awssdk.services.sesv2.model.EmailTemplateMetadata;
import software.amazon.awssdk.services.sesv2.model.ListEmailTemplatesResponse;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/**
 * Email templates through the real AWS SDK: their operations, rendering (escaping, conditionals, loops, what a missing
 * attribute does), SendEmail with Template content and SendBulkEmail, down to the messages the relay receives.
 */
class TemplatesTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static String pg;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    pg = node.config().get(MailgateConfig.PG_URL);
    ses.createEmailTemplate(r -> r.templateName("welcome").templateContent(c -> c
        .subject("Welcome, {{name}}")
        .text("Hello {{name}},\n{{#if plan}}Your plan: {{plan}}\n{{/if}}{{#each items}}- {{this}}\n{{/each}}Bye")
        .html("<p>Hello {{name}}</p><p>{{{signature}}}</p>")));
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  @Test
  void templatesAreCreatedReadUpdatedListedAndDeleted() {
    ses.createEmailTemplate(r -> r.templateName("crud-1").templateContent(c -> c.subject("S {{a}}").text("T")));
    var got = ses.getEmailTemplate(r -> r.templateName("crud-1"));
    assertEquals("S {{a}}", got.templateContent().subject());
    assertEquals("T", got.templateContent().text());
    assertNull(got.templateContent().html());

    assertThrows(AlreadyExistsException.class, () -> ses.createEmailTemplate(r -> r.templateName("crud-1")
        .templateContent(c -> c.subject("x").text("y"))));
    ses.updateEmailTemplate(r -> r.templateName("crud-1").templateContent(c -> c.subject("S2").html("<b>H</b>")));
    var updated = ses.getEmailTemplate(r -> r.templateName("crud-1")).templateContent();
    assertEquals("S2", updated.subject());
    assertNull(updated.text());
    assertEquals("<b>H</b>", updated.html());

    for (int i = 2; i <= 5; i++) {
      String name = "crud-" + i;
      ses.createEmailTemplate(r -> r.templateName(name).templateContent(c -> c.subject("s").text("t")));
    }
    List<String> names = new ArrayList<>();
    String token = null;
    int pages = 0;
    do {
      String t = token;
      ListEmailTemplatesResponse page = ses.listEmailTemplates(r -> r.pageSize(2).nextToken(t));
      for (EmailTemplateMetadata m : page.templatesMetadata()) {
        names.add(m.templateName());
        assertTrue(m.createdTimestamp().getEpochSecond() > 1_700_000_000L, m.toString());
      }
      token = page.nextToken();
      pages++;
    } while (token != null);
    assertTrue(names.containsAll(List.of("crud-1", "crud-2", "crud-3", "crud-4", "crud-5", "welcome")), names.toString());
    assertEquals(names.size(), new HashSet<>(names).size(), "no name twice across pages");
    assertTrue(pages >= 3);
    // SES's range for ListEmailTemplates is 1 to 100
    assertEquals(names.size(), ses.listEmailTemplates(r -> r.pageSize(100)).templatesMetadata().size());
    assertThrows(BadRequestException.class, () -> ses.listEmailTemplates(r -> r.pageSize(101)));

    ses.deleteEmailTemplate(r -> r.templateName("crud-5"));
    assertThrows(NotFoundException.class, () -> ses.getEmailTemplate(r -> r.templateName("crud-5")));
    assertThrows(NotFoundException.class, () -> ses.deleteEmailTemplate(r -> r.templateName("crud-5")));
    assertThrows(NotFoundException.class, () -> ses.updateEmailTemplate(r -> r.templateName("crud-5")
        .templateContent(c -> c.subject("s").text("t"))));
  }

  @Test
  void badTemplatesAreRefusedAndNothingIsStored() {
    long before = Db.count(pg, "SELECT count(*) FROM email_templates");
    var syntax = assertThrows(BadRequestException.class, () -> ses.createEmailTemplate(r -> r.templateName("bad-1")
        .templateContent(c -> c.subject("Hi {{name").text("t"))));
    assertTrue(syntax.getMessage().contains("Subject has a syntax error"), syntax.getMessage());
    assertThrows(BadRequestException.class, () -> ses.createEmailTemplate(r -> r.templateName("bad name!")
        .templateContent(c -> c.subject("s").text("t"))));
    assertThrows(BadRequestException.class, () -> ses.createEmailTemplate(r -> r.templateName("bad-2")
        .templateContent(c -> c.subject("no body"))));
    assertThrows(BadRequestException.class, () -> ses.createEmailTemplate(r -> r.templateName("bad-3")
        .templateContent(c -> c.subject("s").text("x".repeat(600 * 1024)))));
    assertThrows(BadRequestException.class, () -> ses.createEmailTemplate(r -> r.templateName("bad-4")
        .templateContent(c -> c.subject("s").text("{{> /etc/passwd}}"))), "partials are not read");
    assertEquals(before, Db.count(pg, "SELECT count(*) FROM email_templates"));
  }

  @Test
  void anotherAccountDoesNotSeeTheTemplates() {
    Accounts.NewKey b = node.createAccount("templates-b", true, 100, 1000);
    try (SesV2Client other = node.sesV2(b.accessKeyId(), b.secretAccessKey())) {
      assertThrows(NotFoundException.class, () -> other.getEmailTemplate(r -> r.templateName("welcome")));
      assertThrows(NotFoundException.class, () -> other.deleteEmailTemplate(r -> r.templateName("welcome")));
      assertTrue(other.listEmailTemplates(r -> { }).templatesMetadata().isEmpty());
      // another account's ARN names nothing here
      String arn = "arn:aws:ses:us-east-1:" + accountOf(TestNode.ACCESS_KEY) + ":template/welcome";
      assertThrows(NotFoundException.class, () -> other.sendEmail(r -> r.fromEmailAddress("sender@example.com")
          .destination(d -> d.toAddresses("x@example.org"))
          .content(c -> c.template(t -> t.templateArn(arn).templateData("{\"name\":\"n\"}")))));
      // the same name in two accounts: two templates
      other.createEmailTemplate(r -> r.templateName("welcome").templateContent(c -> c.subject("B's").text("b")));
      assertEquals("Welcome, {{name}}", ses.getEmailTemplate(r -> r.templateName("welcome")).templateContent().subject());
    }
  }

  @Test
  void testRenderShowsTheWholeMessage() throws IOException {
    String rendered = ses.testRenderEmailTemplate(r -> r.templateName("welcome")
        .templateData("{\"name\":\"Ann & <Bob>\",\"plan\":\"pro\",\"items\":[\"one\",\"two\"],\"signature\":\"<i>S</i>\"}"))
        .renderedTemplate();
    Message m = new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(rendered.getBytes()));
    assertEquals("Welcome, Ann &amp; &lt;Bob&gt;", m.getSubject(), "{{ }} escapes as in SES");
    Multipart alt = (Multipart) m.getBody();
    assertEquals("Hello Ann &amp; &lt;Bob&gt;,\r\nYour plan: pro\r\n- one\r\n- two\r\nBye", text(alt.getBodyParts().get(0)));
    assertEquals("<p>Hello Ann &amp; &lt;Bob&gt;</p><p><i>S</i></p>", text(alt.getBodyParts().get(1)),
        "{{{ }}} does not escape");

    var missing = assertThrows(BadRequestException.class, () -> ses.testRenderEmailTemplate(r -> r.templateName("welcome")
        .templateData("{\"plan\":\"pro\"}")));
    assertTrue(missing.getMessage().contains("Attribute 'name' is not present in the rendering data"), missing.getMessage());
    assertThrows(BadRequestException.class, () -> ses.testRenderEmailTemplate(r -> r.templateName("welcome")
        .templateData("[1, 2]")), "TemplateData is an object");
    assertThrows(NotFoundException.class, () -> ses.testRenderEmailTemplate(r -> r.templateName("nope")
        .templateData("{}")));
  }

  @Test
  void sendEmailWithATemplateDeliversTheRenderedMessage() throws IOException {
    String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("t1@example.org"))
        .content(c -> c.template(t -> t.templateName("welcome")
            .templateData("{\"name\":\"Zoë\",\"items\":[],\"signature\":\"sig\"}")
            .headers(h -> h.name("X-Campaign").value("spring"))))).messageId();
    Message m = parse(awaitReceived("t1@example.org").data());
    assertEquals("Welcome, Zoë", m.getSubject());
    assertEquals("spring", m.getHeader().getField("X-Campaign").getBody());
    Multipart alt = (Multipart) m.getBody();
    assertEquals("Hello Zoë,\r\nBye", text(alt.getBodyParts().get(0)));
    assertEquals("DELIVERED", node.awaitOutcomes(id, 1).getJsonArray("Recipients").getJsonObject(0).getString("Status"));

    // inline template content, no stored template
    ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("t2@example.org"))
        .content(c -> c.template(t -> t.templateContent(x -> x.subject("Inline {{n}}").text("n={{n}}"))
            .templateData("{\"n\": 42}"))));
    Message inline = parse(awaitReceived("t2@example.org").data());
    assertEquals("Inline 42", inline.getSubject());
    assertEquals("n=42\r\n", text(inline));
  }

  /** Nodes keep templates they read for cache.ttlMillis: an update reaches every send after that. */
  @Test
  void anUpdatedTemplateIsWhatLaterSendsUse() throws Exception {
    ses.createEmailTemplate(r -> r.templateName("changing").templateContent(c -> c.subject("Version 1").text("t")));
    ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses("v1@example.org"))
        .content(c -> c.template(t -> t.templateName("changing").templateData("{}"))));
    assertEquals("Version 1", parse(awaitReceived("v1@example.org").data()).getSubject());
    ses.updateEmailTemplate(r -> r.templateName("changing").templateContent(c -> c.subject("Version 2").text("t")));
    Thread.sleep(node.config().get(MailgateConfig.CACHE_TTL_MILLIS) + 50L);
    for (int i = 0; i < 4; i++) { // whichever event loop takes it
      String to = "v2-" + i + "@example.org";
      ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses(to))
          .content(c -> c.template(t -> t.templateName("changing").templateData("{}"))));
      assertEquals("Version 2", parse(awaitReceived(to).data()).getSubject());
    }
    ses.deleteEmailTemplate(r -> r.templateName("changing"));
    Thread.sleep(node.config().get(MailgateConfig.CACHE_TTL_MILLIS) + 50L);
    assertThrows(NotFoundException.class, () -> send("changing", "{}"));
  }

  @Test
  void aTemplateSendThatCannotBeRenderedIsRefusedAndStoresNothing() {
    long before = Db.count(pg, "SELECT count(*) FROM messages");
    // (data that lacks an attribute is no refusal: it is accepted as a Rendering Failure, RenderingFailureTest)
    // data cannot add header lines through the subject
    var injected = assertThrows(BadRequestException.class, () -> send("welcome",
        "{\"name\":\"x\\r\\nBcc: victim@example.org\",\"signature\":\"s\"}"));
    assertTrue(injected.getMessage().contains("Subject"), injected.getMessage());
    assertThrows(BadRequestException.class, () -> send("welcome", "{not json"));
    assertThrows(NotFoundException.class, () -> send("no-such-template", "{}"));
    // loops over the data are held to a size: three nested loops over 1,000 items would be 10^9 lines
    StringBuilder items = new StringBuilder("[");
    for (int i = 0; i < 1000; i++) {
      items.append(i == 0 ? "" : ",").append(i);
    }
    String data = "{\"a\":" + items + "]}";
    var huge = assertThrows(BadRequestException.class, () -> ses.sendEmail(r -> r.fromEmailAddress("sender@example.com")
        .destination(d -> d.toAddresses("x@example.org"))
        .content(c -> c.template(t -> t.templateContent(x -> x.subject("s")
            .text("{{#each a}}{{#each ../a}}{{#each ../../a}}0123456789{{/each}}{{/each}}{{/each}}")).templateData(data)))));
    assertTrue(huge.getMessage().contains("cannot be rendered") || huge.getMessage().contains("longer than"),
        huge.getMessage());
    assertEquals(before, Db.count(pg, "SELECT count(*) FROM messages"));
  }

  @Test
  void sendBulkEmailSendsEachEntryWithItsOwnDataAndStatus() throws IOException {
    List<BulkEmailEntry> entries = List.of(
        entry("b1@example.org", "{\"name\":\"One\",\"signature\":\"s1\"}", "Spring"),
        entry("b2@example.org", null, null),                       // the default data
        entry("b3@example.org", "{\"signature\":\"s3\"}", null),   // no name: accepted, this entry only not sent
        entry("not an address", "{\"name\":\"x\",\"signature\":\"s\"}", null));
    List<BulkEmailEntryResult> results = ses.sendBulkEmail(r -> r.fromEmailAddress("sender@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("welcome").templateData("{\"name\":\"Default\",\"signature\":\"d\"}")))
        .defaultEmailTags(t -> t.name("campaign").value("c1"))
        .bulkEmailEntries(entries)).bulkEmailEntryResults();
    assertEquals(4, results.size());
    assertEquals(BulkEmailStatus.SUCCESS, results.get(0).status());
    assertEquals(BulkEmailStatus.SUCCESS, results.get(1).status());
    assertEquals(BulkEmailStatus.SUCCESS, results.get(2).status(), "a Rendering Failure, as in SES");
    assertEquals("RENDERING_FAILED", node.message(results.get(2).messageId()).getJsonArray("Recipients")
        .getJsonObject(0).getString("Status"));
    assertEquals(BulkEmailStatus.INVALID_PARAMETER, results.get(3).status());
    Set<String> ids = new HashSet<>(List.of(results.get(0).messageId(), results.get(1).messageId()));
    assertEquals(2, ids.size(), "each entry is its own message");

    assertEquals("Welcome, One", parse(awaitReceived("b1@example.org").data()).getSubject());
    assertEquals("Welcome, Default", parse(awaitReceived("b2@example.org").data()).getSubject());
    var tags = node.message(results.get(0).messageId()).getJsonArray("Tags");
    assertTrue(tags.toString().contains("\"Spring\"") && !tags.toString().contains("\"c1\""),
        "an entry's tag replaces the default of the same name: " + tags);
    Await.until(() -> relay.received().size(), n -> n >= 2, Duration.ofSeconds(5));
    assertFalse(relay.received().stream().anyMatch(x -> x.rcptTo().contains("b3@example.org")));

    var none = ses.sendBulkEmail(r -> r.fromEmailAddress("sender@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("no-such-template").templateData("{}")))
        .bulkEmailEntries(entry("b4@example.org", null, null))).bulkEmailEntryResults();
    assertEquals(BulkEmailStatus.TEMPLATE_NOT_FOUND, none.get(0).status());

    List<BulkEmailEntry> tooMany = new ArrayList<>();
    for (int i = 0; i < 51; i++) {
      tooMany.add(entry("many" + i + "@example.org", null, null));
    }
    assertThrows(BadRequestException.class, () -> ses.sendBulkEmail(r -> r.fromEmailAddress("sender@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("welcome").templateData("{\"name\":\"n\",\"signature\":\"s\"}")))
        .bulkEmailEntries(tooMany)));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM recipients WHERE address LIKE 'many%'"));

    // an entry whose ReplacementTags over the DefaultEmailTags come to more than 50 fails the request as it is read,
    // before any entry is sent (a caller fixing it and sending again would otherwise mail the first ones twice)
    List<software.amazon.awssdk.services.sesv2.model.MessageTag> thirty = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      thirty.add(software.amazon.awssdk.services.sesv2.model.MessageTag.builder().name("d" + i).value("v").build());
    }
    List<software.amazon.awssdk.services.sesv2.model.MessageTag> own = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      own.add(software.amazon.awssdk.services.sesv2.model.MessageTag.builder().name("r" + i).value("v").build());
    }
    BadRequestException overTags = assertThrows(BadRequestException.class, () -> ses.sendBulkEmail(r -> r
        .fromEmailAddress("sender@example.com").defaultEmailTags(thirty)
        .defaultContent(c -> c.template(t -> t.templateName("welcome").templateData("{\"name\":\"n\",\"signature\":\"s\"}")))
        .bulkEmailEntries(entry("tagged0@example.org", null, null), entry("tagged1@example.org", null, null).toBuilder()
            .replacementTags(own).build())));
    assertTrue(overTags.getMessage().contains("at most 50 EmailTags"), overTags.getMessage());
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM recipients WHERE address LIKE 'tagged%'"));
  }

  /**
   * A bulk send with an attachment: every entry gets its own message with the attachment, and its result in its own
   * place. Entries this large (600 KB each) are built and stored one after another ({@code BulkEmailHandler.window});
   * the request (800 KB of base64) is read on a worker thread.
   */
  @Test
  void bulkEntriesWithAnAttachmentEachGetTheirMessageInOrder() throws IOException {
    byte[] file = new byte[600 * 1024];
    for (int i = 0; i < file.length; i++) {
      file[i] = (byte) (i * 7 + i / 1000);
    }
    int n = 5;
    List<BulkEmailEntry> entries = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      entries.add(entry("attached" + i + "@example.org", "{\"name\":\"N" + i + "\",\"signature\":\"s\"}", null));
    }
    entries.set(2, entry("not an address", "{\"name\":\"N2\",\"signature\":\"s\"}", null)); // fails alone
    List<BulkEmailEntryResult> results = ses.sendBulkEmail(r -> r.fromEmailAddress("sender@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("welcome").templateData("{}")
            .attachments(a -> a.fileName("report.pdf").contentType("application/pdf")
                .rawContent(software.amazon.awssdk.core.SdkBytes.fromByteArray(file)))))
        .bulkEmailEntries(entries)).bulkEmailEntryResults();
    assertEquals(n, results.size());
    assertEquals(BulkEmailStatus.INVALID_PARAMETER, results.get(2).status());
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < n; i++) {
      if (i == 2) {
        continue;
      }
      String to = "attached" + i + "@example.org";
      BulkEmailEntryResult result = results.get(i);
      assertEquals(BulkEmailStatus.SUCCESS, result.status(), result.error());
      assertTrue(ids.add(result.messageId()), "each entry is its own message");
      assertEquals(to, node.message(result.messageId()).getJsonArray("Recipients").getJsonObject(0)
          .getString("Address"), "entry " + i + "'s result is its own");
      Message m = parse(awaitReceived(to).data());
      assertEquals("Welcome, N" + i, m.getSubject());
      List<Entity> parts = ((Multipart) m.getBody()).getBodyParts();
      Entity attachment = parts.get(parts.size() - 1);
      assertEquals("report.pdf", attachment.getFilename());
      try (InputStream in = ((org.apache.james.mime4j.dom.BinaryBody) attachment.getBody()).getInputStream()) {
        assertTrue(java.util.Arrays.equals(file, in.readAllBytes()), "entry " + i + " has the whole attachment");
      }
    }
  }

  /** An entry's ReplacementHeaders replace the template's of the same name; the template's others stay, repeats too. */
  @Test
  void replacementHeadersReplaceOnlyTheirOwnNames() throws IOException {
    List<BulkEmailEntryResult> results = ses.sendBulkEmail(r -> r.fromEmailAddress("sender@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("welcome")
            .templateData("{\"name\":\"H\",\"signature\":\"s\"}")
            .headers(h -> h.name("X-Tag").value("a"), h -> h.name("X-Tag").value("b"),
                h -> h.name("X-Keep").value("default"))))
        .bulkEmailEntries(BulkEmailEntry.builder().destination(d -> d.toAddresses("headers@example.org"))
            .replacementHeaders(h -> h.name("X-Keep").value("mine")).build())).bulkEmailEntryResults();
    assertEquals(BulkEmailStatus.SUCCESS, results.get(0).status(), results.get(0).error());
    Message m = parse(awaitReceived("headers@example.org").data());
    assertEquals(List.of("a", "b"), m.getHeader().getFields("X-Tag").stream().map(f -> f.getBody().strip()).toList());
    assertEquals(List.of("mine"), m.getHeader().getFields("X-Keep").stream().map(f -> f.getBody().strip()).toList());
  }

  /** An entry over the rendering budget fails alone: what it would have used is not taken from the entries after it. */
  @Test
  void anEntryOverTheRenderingBudgetFailsAlone() {
    ses.createEmailTemplate(r -> r.templateName("looped").templateContent(c -> c.subject("Hi {{name}}")
        .text("Hi {{name}}{{#each items}}{{this}}{{/each}}")));
    String many = "[" + "1,".repeat(100_000) + "1]"; // 100,001 iterations, more than a rendering may run
    List<BulkEmailEntry> entries = List.of(
        entry("budget0@example.org", "{\"name\":\"A\",\"items\":" + many + "}", null),
        entry("budget1@example.org", "{\"name\":\"B\",\"items\":[]}", null),
        entry("budget2@example.org", "{\"name\":\"C\",\"items\":[1,2]}", null));
    List<BulkEmailEntryResult> results = ses.sendBulkEmail(r -> r.fromEmailAddress("sender@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("looped").templateData("{}")))
        .bulkEmailEntries(entries)).bulkEmailEntryResults();
    assertEquals(BulkEmailStatus.INVALID_PARAMETER, results.get(0).status());
    assertTrue(results.get(0).error().contains("100000 times"), results.get(0).error());
    assertEquals(BulkEmailStatus.SUCCESS, results.get(1).status(), results.get(1).error());
    assertEquals(BulkEmailStatus.SUCCESS, results.get(2).status(), results.get(2).error());

    // an entry that spent most of the budget, then failed (an attribute it lacks), gives it back
    ses.createEmailTemplate(r -> r.templateName("spent").templateContent(c -> c.subject("Hi")
        .text("{{#each items}}{{this}}{{/each}}{{#if fail}}{{nothing}}{{/if}}")));
    String sixty = "[" + "1,".repeat(59_999) + "1]"; // 60,000 iterations each: two do not fit in 100,000
    List<BulkEmailEntryResult> spent = ses.sendBulkEmail(r -> r.fromEmailAddress("sender@example.com")
        .defaultContent(c -> c.template(t -> t.templateName("spent").templateData("{}")))
        .bulkEmailEntries(entry("spent0@example.org", "{\"fail\":true,\"items\":" + sixty + "}", null),
            entry("spent1@example.org", "{\"fail\":false,\"items\":" + sixty + "}", null)))
        .bulkEmailEntryResults();
    assertEquals(BulkEmailStatus.SUCCESS, spent.get(0).status(), "accepted, as a Rendering Failure");
    assertEquals("RENDERING_FAILED", node.message(spent.get(0).messageId()).getJsonArray("Recipients")
        .getJsonObject(0).getString("Status"));
    assertEquals(BulkEmailStatus.SUCCESS, spent.get(1).status(), spent.get(1).error());
  }

  private static BulkEmailEntry entry(String to, String data, String campaign) {
    return BulkEmailEntry.builder().destination(d -> d.toAddresses(to))
        .replacementEmailContent(data == null ? null
            : software.amazon.awssdk.services.sesv2.model.ReplacementEmailContent.builder()
                .replacementTemplate(t -> t.replacementTemplateData(data)).build())
        .replacementTags(campaign == null ? List.of()
            : List.of(software.amazon.awssdk.services.sesv2.model.MessageTag.builder().name("campaign").value(campaign).build()))
        .build();
  }

  private static void send(String template, String data) {
    ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses("x@example.org"))
        .content(c -> c.template(t -> t.templateName(template).templateData(data))));
  }

  private static String accountOf(String accessKey) {
    return Db.string(pg, "SELECT account_id FROM access_keys WHERE access_key_id = '" + accessKey + "'");
  }

  private static RecordingSmtpServer.Received awaitReceived(String rcpt) {
    return Await.until(() -> relay.received().stream().filter(r -> r.rcptTo().contains(rcpt)).findFirst().orElse(null),
        r -> r != null, Duration.ofSeconds(20));
  }

  private static Message parse(byte[] data) throws IOException {
    return new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(data));
  }

  private static String text(Entity e) throws IOException {
    try (InputStream in = ((TextBody) e.getBody()).getInputStream()) {
      return new String(in.readAllBytes(), e.getCharset() == null ? "US-ASCII" : e.getCharset());
    }
  }
}
