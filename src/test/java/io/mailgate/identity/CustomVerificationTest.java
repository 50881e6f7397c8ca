package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.Verification;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.SesClient;
import software.amazon.awssdk.services.ses.model.CustomVerificationEmailInvalidContentException;
import software.amazon.awssdk.services.ses.model.CustomVerificationEmailTemplateAlreadyExistsException;
import software.amazon.awssdk.services.ses.model.CustomVerificationEmailTemplateDoesNotExistException;
import software.amazon.awssdk.services.ses.model.FromEmailAddressNotVerifiedException;
import software.amazon.awssdk.services.ses.model.GetCustomVerificationEmailTemplateResponse;
import software.amazon.awssdk.services.ses.model.ListCustomVerificationEmailTemplatesResponse;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.AlreadyExistsException;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.CustomVerificationEmailTemplateMetadata;
import software.amazon.awssdk.services.sesv2.model.LimitExceededException;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/** SES custom verification email templates and SendCustomVerificationEmail, through the AWS SDKs (v2 and v1). */
class CustomVerificationTest {
  static final String FROM = "signup@example.org";
  static final String SUCCESS = "https://app.example.org/verified";
  static final String FAILURE = "https://app.example.org/verify-failed";
  static final String CONTENT = "<html><body><h1>Welcome to Example</h1><p>Please confirm your address.</p></body></html>";
  private static final Pattern LINK = Pattern.compile("href=\"(http://[^\"]+/_mailgate/verify-email\\?token=[A-Za-z0-9_\\-.]+)\"");

  static RecordingSmtpServer relay;
  static TestNode node;
  static Accounts.NewKey a;
  static Accounts.NewKey b;
  static SesV2Client sesA;
  static SesV2Client sesB;
  static SesClient v1A;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.startProduction(relay.url(), c -> c.with(MailgateConfig.IDENTITY_DNS_CHECK_INTERVAL_SECONDS, 3600));
    a = node.createAccount("team-a", true, 100, 10_000);
    b = node.createAccount("team-b", true, 100, 10_000);
    sesA = node.sesV2(a.accessKeyId(), a.secretAccessKey());
    sesB = node.sesV2(b.accessKeyId(), b.secretAccessKey());
    v1A = node.sesV1(a.accessKeyId(), a.secretAccessKey());
    Verification.verifiedAddress(sesA, relay, FROM);
  }

  @AfterAll
  static void stop() throws IOException {
    sesA.close();
    sesB.close();
    v1A.close();
    node.close();
    relay.close();
  }

  static void create(SesV2Client ses, String name) {
    ses.createCustomVerificationEmailTemplate(r -> r.templateName(name).fromEmailAddress(FROM)
        .templateSubject("Confirm your address for " + name).templateContent(CONTENT)
        .successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE));
  }

  @Test
  void templatesAreCreatedReadUpdatedListedAndDeletedThroughV2() {
    for (String n : List.of("a3", "a1", "a2")) {
      create(sesA, n);
    }
    var got = sesA.getCustomVerificationEmailTemplate(r -> r.templateName("a1"));
    assertEquals("a1", got.templateName());
    assertEquals(FROM, got.fromEmailAddress());
    assertEquals("Confirm your address for a1", got.templateSubject());
    assertEquals(CONTENT, got.templateContent());
    assertEquals(SUCCESS, got.successRedirectionURL());
    assertEquals(FAILURE, got.failureRedirectionURL());

    sesA.updateCustomVerificationEmailTemplate(r -> r.templateName("a1").fromEmailAddress(FROM)
        .templateSubject("New subject").templateContent("<p>new</p>").successRedirectionURL("https://x.example/ok")
        .failureRedirectionURL("https://x.example/no"));
    var updated = sesA.getCustomVerificationEmailTemplate(r -> r.templateName("a1"));
    assertEquals("New subject", updated.templateSubject());
    assertEquals("<p>new</p>", updated.templateContent());
    assertEquals("https://x.example/ok", updated.successRedirectionURL());

    AlreadyExistsException dup = assertThrows(AlreadyExistsException.class, () -> create(sesA, "a2"));
    assertEquals(400, dup.statusCode());

    var first = sesA.listCustomVerificationEmailTemplates(r -> r.pageSize(2));
    List<String> names = first.customVerificationEmailTemplates().stream()
        .map(CustomVerificationEmailTemplateMetadata::templateName).toList();
    assertEquals(List.of("a1", "a2"), names);
    CustomVerificationEmailTemplateMetadata meta = first.customVerificationEmailTemplates().get(0);
    assertEquals("New subject", meta.templateSubject());
    assertEquals(FROM, meta.fromEmailAddress());
    assertEquals("https://x.example/no", meta.failureRedirectionURL());
    assertNotNull(first.nextToken());
    var second = sesA.listCustomVerificationEmailTemplates(r -> r.pageSize(2).nextToken(first.nextToken()));
    assertEquals("a3", second.customVerificationEmailTemplates().get(0).templateName());
    assertThrows(BadRequestException.class, () -> sesA.listCustomVerificationEmailTemplates(r -> r.pageSize(51)));

    // another account sees none of them
    assertThrows(NotFoundException.class, () -> sesB.getCustomVerificationEmailTemplate(r -> r.templateName("a1")));
    assertTrue(sesB.listCustomVerificationEmailTemplates(r -> r.pageSize(50)).customVerificationEmailTemplates().stream()
        .noneMatch(t -> t.templateName().startsWith("a")));

    sesA.deleteCustomVerificationEmailTemplate(r -> r.templateName("a3"));
    assertThrows(NotFoundException.class, () -> sesA.getCustomVerificationEmailTemplate(r -> r.templateName("a3")));
    assertThrows(NotFoundException.class, () -> sesA.deleteCustomVerificationEmailTemplate(r -> r.templateName("a3")));
    assertThrows(NotFoundException.class, () -> sesA.updateCustomVerificationEmailTemplate(r -> r.templateName("a3")
        .fromEmailAddress(FROM).templateSubject("s").templateContent("c").successRedirectionURL(SUCCESS)
        .failureRedirectionURL(FAILURE)));
  }

  @Test
  void templatesWorkThroughV1WithItsErrorCodes() {
    v1A.createCustomVerificationEmailTemplate(r -> r.templateName("v1-a").fromEmailAddress(FROM)
        .templateSubject("Hello").templateContent(CONTENT).successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE));
    v1A.createCustomVerificationEmailTemplate(r -> r.templateName("v1-b").fromEmailAddress(FROM)
        .templateSubject("Hello b").templateContent(CONTENT).successRedirectionURL(SUCCESS)
        .failureRedirectionURL(FAILURE));
    // v1's update changes only what it names
    v1A.updateCustomVerificationEmailTemplate(r -> r.templateName("v1-a").templateSubject("Changed"));
    GetCustomVerificationEmailTemplateResponse got = v1A.getCustomVerificationEmailTemplate(r -> r.templateName("v1-a"));
    assertEquals("Changed", got.templateSubject());
    assertEquals(CONTENT, got.templateContent());
    assertEquals(FROM, got.fromEmailAddress());
    assertEquals(SUCCESS, got.successRedirectionURL());
    assertEquals(FAILURE, got.failureRedirectionURL());

    assertThrows(CustomVerificationEmailTemplateAlreadyExistsException.class,
        () -> v1A.createCustomVerificationEmailTemplate(r -> r.templateName("v1-a").fromEmailAddress(FROM)
            .templateSubject("Hello").templateContent(CONTENT).successRedirectionURL(SUCCESS)
            .failureRedirectionURL(FAILURE)));
    assertThrows(FromEmailAddressNotVerifiedException.class,
        () -> v1A.createCustomVerificationEmailTemplate(r -> r.templateName("v1-x").fromEmailAddress("nobody@example.org")
            .templateSubject("Hello").templateContent(CONTENT).successRedirectionURL(SUCCESS)
            .failureRedirectionURL(FAILURE)));
    assertThrows(CustomVerificationEmailInvalidContentException.class,
        () -> v1A.createCustomVerificationEmailTemplate(r -> r.templateName("v1-x").fromEmailAddress(FROM)
            .templateSubject("Hello").templateContent("").successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE)));
    assertThrows(CustomVerificationEmailTemplateDoesNotExistException.class,
        () -> v1A.getCustomVerificationEmailTemplate(r -> r.templateName("v1-x")));
    assertThrows(CustomVerificationEmailTemplateDoesNotExistException.class,
        () -> v1A.sendCustomVerificationEmail(r -> r.templateName("v1-x").emailAddress("user@example.net")));

    ListCustomVerificationEmailTemplatesResponse page = v1A.listCustomVerificationEmailTemplates(r -> r.maxResults(1));
    assertEquals(1, page.customVerificationEmailTemplates().size());
    assertNotNull(page.nextToken());
    List<String> all = new java.util.ArrayList<>();
    v1A.listCustomVerificationEmailTemplatesPaginator(r -> r.maxResults(1))
        .forEach(p -> p.customVerificationEmailTemplates().forEach(t -> all.add(t.templateName())));
    assertTrue(all.containsAll(List.of("v1-a", "v1-b")), all.toString());
    assertEquals(all.stream().sorted().toList(), all);

    v1A.deleteCustomVerificationEmailTemplate(r -> r.templateName("v1-b"));
    v1A.deleteCustomVerificationEmailTemplate(r -> r.templateName("v1-b")); // not there: no error in v1
    assertThrows(CustomVerificationEmailTemplateDoesNotExistException.class,
        () -> v1A.getCustomVerificationEmailTemplate(r -> r.templateName("v1-b")));
  }

  @Test
  void badInputIsRefusedAndNothingIsStored() {
    assertThrows(BadRequestException.class, () -> sesA.createCustomVerificationEmailTemplate(r -> r.templateName("bad")
        .fromEmailAddress("nobody@example.org").templateSubject("s").templateContent(CONTENT)
        .successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE)));
    BadRequestException crlf = assertThrows(BadRequestException.class, () -> sesA.createCustomVerificationEmailTemplate(
        r -> r.templateName("bad").fromEmailAddress(FROM).templateSubject("Hi\r\nBcc: victim@example.net")
            .templateContent(CONTENT).successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE)));
    assertTrue(crlf.getMessage().contains("TemplateSubject"), crlf.getMessage());
    assertThrows(BadRequestException.class, () -> sesA.createCustomVerificationEmailTemplate(r -> r.templateName("bad")
        .fromEmailAddress(FROM + "\r\nBcc: victim@example.net").templateSubject("s").templateContent(CONTENT)
        .successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE)));
    for (String url : List.of("javascript:alert(1)", "/relative", "not a url", "ftp://example.org/x")) {
      assertThrows(BadRequestException.class, () -> sesA.createCustomVerificationEmailTemplate(r -> r.templateName("bad")
          .fromEmailAddress(FROM).templateSubject("s").templateContent(CONTENT).successRedirectionURL(url)
          .failureRedirectionURL(FAILURE)), url);
    }
    assertThrows(BadRequestException.class, () -> sesA.createCustomVerificationEmailTemplate(r -> r.templateName("bad")
        .fromEmailAddress(FROM).templateSubject("s").successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE)));
    assertThrows(BadRequestException.class, () -> sesA.createCustomVerificationEmailTemplate(r -> r.templateName("bad")
        .fromEmailAddress(FROM).templateSubject("s").templateContent("x".repeat(10 * 1024 * 1024 + 1))
        .successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE)));
    assertThrows(NotFoundException.class, () -> sesA.getCustomVerificationEmailTemplate(r -> r.templateName("bad")));

    create(sesA, "errors");
    // an update that is wrong leaves the template as it was
    assertThrows(BadRequestException.class, () -> sesA.updateCustomVerificationEmailTemplate(r -> r.templateName("errors")
        .fromEmailAddress("nobody@example.org").templateSubject("s").templateContent("c")
        .successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE)));
    assertEquals(FROM, sesA.getCustomVerificationEmailTemplate(r -> r.templateName("errors")).fromEmailAddress());

    assertThrows(NotFoundException.class, () -> sesA.sendCustomVerificationEmail(r -> r.templateName("missing")
        .emailAddress("someone@example.net")));
    assertThrows(NotFoundException.class, () -> sesA.sendCustomVerificationEmail(r -> r.templateName("errors")
        .emailAddress("someone@example.net").configurationSetName("no-such-set")));
    assertThrows(BadRequestException.class, () -> sesA.sendCustomVerificationEmail(r -> r.templateName("errors")
        .emailAddress("example.net")));
    // nothing was registered by the refused sends
    assertThrows(software.amazon.awssdk.services.sesv2.model.NotFoundException.class,
        () -> sesA.getEmailIdentity(r -> r.emailIdentity("someone@example.net")));
  }

  @Test
  void anAccountHasAtMostFiftyTemplates() throws Exception {
    Verification.verifiedAddress(sesB, relay, "limits@example.com");
    for (int i = 0; i < 40; i++) {
      String name = "t" + i;
      sesB.createCustomVerificationEmailTemplate(r -> r.templateName(name).fromEmailAddress("limits@example.com")
          .templateSubject("s").templateContent("c").successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE));
    }
    // the last ten places, and ten more, asked for at once (large contents, so that the inserts overlap): ten get one
    ExecutorService pool = Executors.newFixedThreadPool(20);
    List<Future<Boolean>> creates = new ArrayList<>();
    String large = "<p>" + "x".repeat(1_000_000) + "</p>";
    for (int i = 40; i < 60; i++) {
      String name = "t" + (i < 50 ? i : "x" + i);
      creates.add(pool.submit(() -> {
        try {
          sesB.createCustomVerificationEmailTemplate(r -> r.templateName(name).fromEmailAddress("limits@example.com")
              .templateSubject("s").templateContent(large).successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE));
          return true;
        } catch (LimitExceededException e) {
          return false;
        }
      }));
    }
    int created = 0;
    for (Future<Boolean> f : creates) {
      created += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
    }
    pool.shutdown();
    assertEquals(10, created);
    List<String> kept = new ArrayList<>();
    for (String token = null; ; ) {
      String from = token;
      software.amazon.awssdk.services.sesv2.model.ListCustomVerificationEmailTemplatesResponse page =
          sesB.listCustomVerificationEmailTemplates(r -> r.nextToken(from).pageSize(50));
      page.customVerificationEmailTemplates().forEach(t -> kept.add(t.templateName()));
      token = page.nextToken();
      if (token == null) {
        break;
      }
    }
    assertEquals(50, kept.size());
    for (String name : kept.stream().filter(n -> n.startsWith("tx")).toList()) { // make the names t0..t49 again
      sesB.deleteCustomVerificationEmailTemplate(r -> r.templateName(name));
    }
    for (int i = 40; i < 50; i++) {
      String name = "t" + i;
      if (!kept.contains(name)) {
        sesB.createCustomVerificationEmailTemplate(r -> r.templateName(name).fromEmailAddress("limits@example.com")
            .templateSubject("s").templateContent("c").successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE));
      }
    }
    assertThrows(LimitExceededException.class, () -> sesB.createCustomVerificationEmailTemplate(r -> r.templateName("t50")
        .fromEmailAddress("limits@example.com").templateSubject("s").templateContent("c").successRedirectionURL(SUCCESS)
        .failureRedirectionURL(FAILURE)));
    sesB.deleteCustomVerificationEmailTemplate(r -> r.templateName("t0"));
    sesB.createCustomVerificationEmailTemplate(r -> r.templateName("t50").fromEmailAddress("limits@example.com")
        .templateSubject("s").templateContent("c").successRedirectionURL(SUCCESS).failureRedirectionURL(FAILURE));
  }

  @Test
  void theEmailCarriesTheTemplateAndALinkThatVerifiesAndRedirects() {
    create(sesA, "welcome");
    String messageId = sesA.sendCustomVerificationEmail(r -> r.templateName("welcome").emailAddress("New.User@Example.net"))
        .messageId();
    assertNotNull(messageId);
    RecordingSmtpServer.Received mail = received("new.user@example.net", "Confirm your address for welcome");
    String text = decoded(mail.text());
    assertTrue(text.contains("From: " + FROM), text);
    assertTrue(text.contains("<h1>Welcome to Example</h1><p>Please confirm your address.</p>"), text);
    assertTrue(text.indexOf("verify-email?token=") < text.indexOf("</body>"), "link before </body>: " + text);
    assertFalse(text.contains("Verification Request"), text); // not Mailgate's own email as well
    Matcher m = LINK.matcher(text);
    assertTrue(m.find(), text);
    String link = m.group(1);

    assertEquals("PENDING", sesA.getEmailIdentity(r -> r.emailIdentity("new.user@example.net"))
        .verificationStatusAsString());
    // Mailgate's own verification email is not sent for it
    assertTrue(relay.received().stream().noneMatch(r -> r.rcptTo().contains("new.user@example.net")
        && r.text().contains("Verification Request")));

    // a changed link is nothing: not the template's failure page, which anyone could reach with made-up tokens
    String forged = link.substring(0, link.length() - 3) + (link.endsWith("AAA") ? "BBB" : "AAA");
    HttpResponse<String> failed = Verification.follow(forged);
    assertEquals(400, failed.statusCode());
    assertEquals(null, failed.headers().firstValue("Location").orElse(null));
    assertEquals("PENDING", sesA.getEmailIdentity(r -> r.emailIdentity("new.user@example.net"))
        .verificationStatusAsString());
    HttpResponse<String> garbage = Verification.follow(link.substring(0, link.indexOf("token=") + 6) + "nonsense");
    assertEquals(400, garbage.statusCode());

    HttpResponse<String> followed = Verification.follow(link);
    assertEquals(302, followed.statusCode());
    assertEquals(SUCCESS, followed.headers().firstValue("Location").orElse(null));
    var identity = sesA.getEmailIdentity(r -> r.emailIdentity("new.user@example.net"));
    assertEquals("SUCCESS", identity.verificationStatusAsString());
    assertTrue(identity.verifiedForSendingStatus());
  }

  @Test
  void v1SendsItTooAndTheAddressVerifiesThroughTheLink() {
    v1A.createCustomVerificationEmailTemplate(r -> r.templateName("v1-send").fromEmailAddress("Example App <" + FROM + ">")
        .templateSubject("Verify with v1").templateContent("<p>No body element here</p>").successRedirectionURL(SUCCESS)
        .failureRedirectionURL(FAILURE));
    String id = v1A.sendCustomVerificationEmail(r -> r.templateName("v1-send").emailAddress("v1user@example.net"))
        .messageId();
    assertNotNull(id);
    String text = decoded(received("v1user@example.net", "Verify with v1").text());
    assertTrue(text.contains("<p>No body element here</p>"), text);
    Matcher m = LINK.matcher(text);
    assertTrue(m.find(), text);
    assertEquals("Pending", v1A.getIdentityVerificationAttributes(r -> r.identities("v1user@example.net"))
        .verificationAttributes().get("v1user@example.net").verificationStatusAsString());
    // the template deleted before the link is followed: verified, and the plain page says so
    v1A.deleteCustomVerificationEmailTemplate(r -> r.templateName("v1-send"));
    HttpResponse<String> followed = Verification.follow(m.group(1));
    assertEquals(200, followed.statusCode(), followed.body());
    assertEquals("Success", v1A.getIdentityVerificationAttributes(r -> r.identities("v1user@example.net"))
        .verificationAttributes().get("v1user@example.net").verificationStatusAsString());
  }

  @Test
  void anAccountInTheSandboxMayNotSendIt() {
    Accounts.NewKey c = node.createAccount("team-sandbox", false, 1, 200);
    try (SesV2Client ses = node.sesV2(c.accessKeyId(), c.secretAccessKey())) {
      Verification.verifiedAddress(ses, relay, "owner@sandbox.example");
      ses.createCustomVerificationEmailTemplate(r -> r.templateName("sandbox").fromEmailAddress("owner@sandbox.example")
          .templateSubject("Sandbox verification").templateContent(CONTENT).successRedirectionURL(SUCCESS)
          .failureRedirectionURL(FAILURE));
      // its own HTML to an address nobody verified: the sandbox would mean nothing
      BadRequestException e = assertThrows(BadRequestException.class, () -> ses.sendCustomVerificationEmail(r -> r
          .templateName("sandbox").emailAddress("stranger@example.net")));
      assertTrue(e.getMessage().contains("production access"), e.getMessage());
      assertThrows(software.amazon.awssdk.services.sesv2.model.NotFoundException.class,
          () -> ses.getEmailIdentity(r -> r.emailIdentity("stranger@example.net")), "nothing registered");
    }
  }

  static RecordingSmtpServer.Received received(String to, String subject) {
    return Await.until(() -> relay.received().stream()
            .filter(r -> r.rcptTo().contains(to) && r.text().contains(subject)).findFirst().orElse(null),
        r -> r != null, Duration.ofSeconds(20));
  }

  /** The message with quoted-printable soft breaks and escaped '=' undone (enough for the checks here). */
  static String decoded(String text) {
    return text.replace("=\r\n", "").replace("=3D", "=");
  }
}
