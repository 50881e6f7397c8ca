package io.mailgate.api.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.EventDestination;
import software.amazon.awssdk.services.sesv2.model.EventType;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.SuppressionListReason;

/**
 * The console's forms, sent as a browser sends them: each changes what its SES operation changes, with that
 * operation's checks and errors, and only with a token of a page shown to the same access key.
 */
class ConsoleFormsTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static final HttpClient HTTP = HttpClient.newHttpClient(); // follows no redirect: the 303 is checked

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

  /** A browser signed in with one access key to the node at {@code endpoint}. */
  record Browser(URI endpoint, String key, String secret) {
    String auth() {
      return "Basic " + Base64.getEncoder().encodeToString((key + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    HttpResponse<String> get(String query) throws Exception {
      return HTTP.send(HttpRequest.newBuilder(URI.create(endpoint + "/_mailgate/console" + query))
          .header("Authorization", auth()).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The token of the page this browser is shown now. */
    String token() throws Exception {
      return tokenOf(get("").body());
    }

    HttpResponse<String> post(String body, String... headers) throws Exception {
      HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(endpoint + "/_mailgate/console"))
          .header("Authorization", auth()).header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(body));
      for (int i = 0; i + 1 < headers.length; i += 2) {
        r.header(headers[i], headers[i + 1]);
      }
      return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A form of the page with its token, as the browser sends it (same origin). */
    HttpResponse<String> submit(String... fields) throws Exception {
      Map<String, String> form = new LinkedHashMap<>();
      form.put("csrf", token());
      for (int i = 0; i + 1 < fields.length; i += 2) {
        form.put(fields[i], fields[i + 1]);
      }
      return post(encode(form), "Sec-Fetch-Site", "same-origin", "Origin", endpoint.toString());
    }
  }

  static String encode(Map<String, String> form) {
    StringBuilder b = new StringBuilder();
    form.forEach((k, v) -> b.append(b.length() == 0 ? "" : "&").append(URLEncoder.encode(k, StandardCharsets.UTF_8))
        .append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    return b.toString();
  }

  static String tokenOf(String html) {
    Matcher m = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(html);
    assertTrue(m.find(), html);
    return m.group(1);
  }

  /** A done form: 303 to the page with what was done, which the page then says. */
  static String followed(Browser browser, HttpResponse<String> answer) throws Exception {
    assertEquals(303, answer.statusCode(), answer.body());
    String location = answer.headers().firstValue("Location").orElseThrow();
    assertTrue(location.startsWith("console?"), location);
    HttpResponse<String> page = browser.get(location.substring("console".length()));
    assertEquals(200, page.statusCode());
    return page.body();
  }

  /** What the page says once an action is done, as the page writes it. */
  static String said(String code) {
    return ConsoleHandler.esc(ConsoleActions.DONE.get(code));
  }

  static Browser newAccount(String name) {
    Accounts.NewKey k = node.createAccount(name, true, 10, 1000);
    return new Browser(node.endpoint(), k.accessKeyId(), k.secretAccessKey());
  }

  @Test
  void theAccountsSendingIsPausedAndResumed() throws Exception {
    Browser browser = newAccount("console-pause");
    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      assertTrue(browser.get("").body().contains("Pause sending"));
      String paused = followed(browser, browser.submit("action", "account-sending", "enabled", "false"));
      assertTrue(paused.contains(said("account-paused")), paused);
      assertTrue(paused.contains("Resume sending"), "the fresh state, not the key cache's: " + paused);
      assertFalse(ses.getAccount(r -> { }).sendingEnabled());
      String resumed = followed(browser, browser.submit("action", "account-sending", "enabled", "true"));
      assertTrue(resumed.contains(said("account-resumed")), resumed);
      assertTrue(ses.getAccount(r -> { }).sendingEnabled());
    }
    // an account an operator paused cannot resume itself here either: the API's answer, on the page
    Accounts.NewKey held = node.createAccount("console-held", true, 10, 1000);
    node.updateAccount(held.accountId(), null, null, null, false);
    Browser heldBrowser = new Browser(node.endpoint(), held.accessKeyId(), held.secretAccessKey());
    HttpResponse<String> refused = heldBrowser.submit("action", "account-sending", "enabled", "true");
    assertEquals(400, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains("Not done: BadRequestException: Sending for this account was paused by an "
        + "operator"), refused.body());
    try (SesV2Client ses = node.sesV2(held.accessKeyId(), held.secretAccessKey())) {
      assertFalse(ses.getAccount(r -> { }).sendingEnabled());
    }
  }

  @Test
  void theSuppressionListIsEditedWithTheApisChecks() throws Exception {
    Browser browser = newAccount("console-suppress");
    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      String added = followed(browser, browser.submit("action", "suppress", "address", "Gone@Example.ORG",
          "reason", "COMPLAINT"));
      assertTrue(added.contains(said("suppressed")), added);
      assertTrue(added.contains("gone@example.org"), added);
      assertEquals(SuppressionListReason.COMPLAINT, ses.getSuppressedDestination(r -> r.emailAddress(
          "gone@example.org")).suppressedDestination().reason());

      // refused, each with the API's error and status, the list as it was
      String[][] bad = {
          {"suppress", "address", "a@example.org\r\nBcc: b@example.org", "reason", "BOUNCE"},
          {"suppress", "address", "not an address", "reason", "BOUNCE"},
          {"suppress", "address", "c@example.org", "reason", "SPAM"},
          {"suppress", "address", "", "reason", "BOUNCE"},
      };
      for (String[] fields : bad) {
        String[] form = new String[fields.length + 1];
        form[0] = "action";
        System.arraycopy(fields, 0, form, 1, fields.length);
        HttpResponse<String> answer = browser.submit(form);
        assertEquals(400, answer.statusCode(), String.join(",", fields) + ": " + answer.body());
        assertTrue(answer.body().contains("Not done: BadRequestException: "), answer.body());
        assertTrue(answer.body().contains("<h2>Suppression list</h2>"), "the page, with the refusal on it");
        assertFalse(answer.body().contains("\r\nBcc"), "no line break put into the page: " + answer.body());
      }
      assertEquals(1, ses.listSuppressedDestinations(r -> { }).suppressedDestinationSummaries().size());

      String removed = followed(browser, browser.submit("action", "unsuppress", "address", "gone@example.org"));
      assertTrue(removed.contains(said("unsuppressed")), removed);
      assertThrows(NotFoundException.class, () -> ses.getSuppressedDestination(r -> r.emailAddress(
          "gone@example.org")));
      HttpResponse<String> again = browser.submit("action", "unsuppress", "address", "gone@example.org");
      assertEquals(404, again.statusCode());
      assertTrue(again.body().contains("Not done: NotFoundException: Email address gone@example.org does not exist"),
          again.body());

      HttpResponse<String> unknown = browser.submit("action", "drop-tables");
      assertEquals(400, unknown.statusCode());
      assertTrue(unknown.body().contains("Unknown console action &#39;drop-tables&#39;"), unknown.body());
      HttpResponse<String> maybe = browser.submit("action", "account-sending", "enabled", "maybe");
      assertEquals(400, maybe.statusCode());
      assertTrue(ses.getAccount(r -> { }).sendingEnabled());
    }
  }

  @Test
  void aSetIsPausedAndADestinationDisabledItsDefinitionKept() throws Exception {
    Browser browser = newAccount("console-sets");
    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      ses.createConfigurationSet(r -> r.configurationSetName("forms-set"));
      ses.createConfigurationSetEventDestination(r -> r.configurationSetName("forms-set").eventDestinationName("hook")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.BOUNCE, EventType.DELIVERY)
              .snsDestination(s -> s.topicArn("http://127.0.0.1:9/hook"))));

      // each destination's own signing secret beside its URL (an identity's notification topic's too), for its
      // receiver
      ses.createEmailIdentity(r -> r.emailIdentity("topics@forms.example"));
      try (var v1 = node.sesV1(browser.key(), browser.secret())) {
        v1.setIdentityNotificationTopic(r -> r.identity("topics@forms.example").notificationType("Bounce")
            .snsTopic("http://127.0.0.1:9/bounces"));
      }
      io.mailgate.events.WebhookSigner signer = new io.mailgate.events.WebhookSigner(
          io.mailgate.identity.SecretBox.fromBase64(TestNode.MASTER_KEY));
      String account = accountIdOf(browser);
      String page = browser.get("").body();
      for (String url : new String[] {"http://127.0.0.1:9/hook", "http://127.0.0.1:9/bounces"}) {
        assertTrue(page.contains(ConsoleHandler.esc(url) + " <span class=\"muted\">signed with</span> <code "
            + "class=\"secret\">" + ConsoleHandler.esc(signer.secret(account, 0, url)) + "</code>"),
            url + " in " + page);
      }
      assertFalse(page.contains(signer.secret(account, 0)), "the account's own secret is the operator's to give");

      String paused = followed(browser, browser.submit("action", "set-sending", "set", "forms-set", "enabled",
          "false"));
      assertTrue(paused.contains(said("set-paused")), paused);
      assertFalse(ses.getConfigurationSet(r -> r.configurationSetName("forms-set")).sendingOptions().sendingEnabled());
      followed(browser, browser.submit("action", "set-sending", "set", "forms-set", "enabled", "true"));
      assertTrue(ses.getConfigurationSet(r -> r.configurationSetName("forms-set")).sendingOptions().sendingEnabled());

      String disabled = followed(browser, browser.submit("action", "destination", "set", "forms-set",
          "destination", "hook", "enabled", "false"));
      assertTrue(disabled.contains("hook (disabled)"), disabled);
      EventDestination d = ses.getConfigurationSetEventDestinations(r -> r.configurationSetName("forms-set"))
          .eventDestinations().get(0);
      assertFalse(d.enabled());
      assertEquals(java.util.Set.of(EventType.BOUNCE, EventType.DELIVERY), java.util.Set.copyOf(
          d.matchingEventTypes()), "its types kept");
      assertEquals("http://127.0.0.1:9/hook", d.snsDestination().topicArn(), "its address kept");

      HttpResponse<String> noSet = browser.submit("action", "set-sending", "set", "no-such-set", "enabled", "false");
      assertEquals(404, noSet.statusCode());
      assertTrue(noSet.body().contains("NotFoundException"), noSet.body());
      HttpResponse<String> noHook = browser.submit("action", "destination", "set", "forms-set", "destination",
          "no-such-hook", "enabled", "true");
      assertEquals(404, noHook.statusCode());
      assertFalse(ses.getConfigurationSetEventDestinations(r -> r.configurationSetName("forms-set"))
          .eventDestinations().get(0).enabled());
    }
  }

  @Test
  void identitiesAreAddedWithTheirDnsRecordsAndDeletedOnceConfirmed() throws Exception {
    Browser browser = newAccount("console-identities");
    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      String added = followed(browser, browser.submit("action", "identity-create", "identity", "Forms.Example"));
      assertTrue(added.contains(said("identity-created")), added);
      assertTrue(added.contains("<td>forms.example</td>"), added);
      // the records to publish, as GetEmailIdentity gives them, on the page
      io.vertx.core.json.JsonArray expected = new io.vertx.core.json.JsonObject(node.signed("GET",
          "/v2/email/identities/forms.example", "", Map.of(), browser.key(), browser.secret()).body())
          .getJsonArray("DnsRecords");
      assertFalse(expected.isEmpty());
      for (Object o : expected) {
        io.vertx.core.json.JsonObject r = (io.vertx.core.json.JsonObject) o;
        assertTrue(added.contains(ConsoleHandler.esc(r.getString("Name")) + " TXT \""
            + ConsoleHandler.esc(r.getString("Value")) + "\""), r + " in " + added);
      }
      followed(browser, browser.submit("action", "identity-create", "identity", "sender@forms.example"));
      assertEquals(2, ses.listEmailIdentities(r -> { }).emailIdentities().size());

      for (String bad : new String[] {"not valid!", "a@b\r\nc.example", "forms.example"}) {
        HttpResponse<String> answer = browser.submit("action", "identity-create", "identity", bad);
        assertTrue(answer.statusCode() >= 400 && answer.statusCode() < 500, bad + ": " + answer.body());
        assertTrue(answer.body().contains("Not done: "), answer.body());
      }
      assertEquals(2, ses.listEmailIdentities(r -> { }).emailIdentities().size());

      HttpResponse<String> unconfirmed = browser.submit("action", "identity-delete", "identity", "forms.example");
      assertEquals(400, unconfirmed.statusCode());
      assertTrue(unconfirmed.body().contains("box ticked"), unconfirmed.body());
      ses.getEmailIdentity(r -> r.emailIdentity("forms.example")); // still there
      String deleted = followed(browser, browser.submit("action", "identity-delete", "identity", "forms.example",
          "confirm", "yes"));
      assertTrue(deleted.contains(said("identity-deleted")), deleted);
      assertThrows(NotFoundException.class, () -> ses.getEmailIdentity(r -> r.emailIdentity("forms.example")));
      HttpResponse<String> gone = browser.submit("action", "identity-delete", "identity", "forms.example",
          "confirm", "yes");
      assertEquals(404, gone.statusCode(), gone.body());
    }
  }

  @Test
  void aTemplateIsRenderedWithTheDataGivenAndShownEscaped() throws Exception {
    Browser browser = newAccount("console-templates");
    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      assertTrue(browser.get("").body().contains("</details><p class=\"muted\">None.</p>"));
      ses.createEmailTemplate(r -> r.templateName("welcome").templateContent(c -> c.subject("Hi {{name}}")
          .text("Hello {{name}}, your code is {{code}}.").html("<p>Hello {{name}}</p>")));
      String page = browser.get("").body();
      assertTrue(page.contains("<td><a href=\"console?template=welcome\">welcome</a></td>")
          && page.contains("<option value=\"welcome\">welcome</option>"), page);
      HttpResponse<String> rendered = browser.submit("action", "render-template", "template", "welcome", "data",
          "{\"name\": \"Ann <script>alert(1)</script>\", \"code\": 42}");
      assertEquals(200, rendered.statusCode(), rendered.body());
      String html = rendered.body();
      assertTrue(html.contains("Template welcome rendered"), html);
      assertTrue(html.contains("your code is 42."), html);
      assertFalse(html.contains("<script>"), "escaped: " + html);
      // Handlebars escapes the value ({{name}}), the page escapes the message
      assertTrue(html.contains("Hello Ann &amp;lt;script&amp;gt;"), "the text part as rendered, escaped: " + html);
      assertTrue(html.contains("<h2>Suppression list</h2>"), "on the page");

      HttpResponse<String> badData = browser.submit("action", "render-template", "template", "welcome", "data",
          "{not json");
      assertEquals(400, badData.statusCode());
      assertTrue(badData.body().contains("Not done: BadRequestException"), badData.body());
      HttpResponse<String> missing = browser.submit("action", "render-template", "template", "nope", "data", "{}");
      assertEquals(404, missing.statusCode());
      assertTrue(missing.body().contains("NotFoundException"), missing.body());
    }
  }

  /**
   * The template editor: created, edited and deleted through the API's operations and their checks; a refused save
   * shows the editor again with what was typed (escaped), nothing changed; a template over the 64 KiB that anyone's
   * form may be is saved for a signed-in key, refused unread for made-up credentials.
   */
  @Test
  void templatesAreCreatedEditedAndDeletedInTheEditor() throws Exception {
    Browser browser = newAccount("console-template-editor");
    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      assertTrue(browser.get("").body().contains("<summary>New template</summary>"));
      String html = "<p>Hello {{name}} & \"friends\"</p>\r\n<script>x</script>";
      HttpResponse<String> created = browser.submit("action", "template-save", "new", "true", "template", "receipt",
          "subject", "Your receipt, {{name}}", "text", "Thanks {{name}}.", "html", html);
      assertEquals(303, created.statusCode(), created.body());
      assertEquals("console?done=template-created&template=receipt", created.headers().firstValue("Location")
          .orElseThrow());
      String editor = followed(browser, created);
      assertTrue(editor.contains(said("template-created")), editor);
      // the editor, its content escaped; the first line break of a textarea is the browser's, not the content's
      assertTrue(editor.contains("<p>Template <b>receipt</b></p>"), editor);
      assertTrue(editor.contains("<textarea name=\"html\" rows=\"12\" cols=\"80\">\n" + ConsoleHandler.esc(html)
          + "</textarea>"), editor);
      assertFalse(editor.contains("<script>x"), editor);
      var stored = ses.getEmailTemplate(r -> r.templateName("receipt")).templateContent();
      assertEquals("Your receipt, {{name}}", stored.subject());
      assertEquals(html, stored.html());

      // edited: the text part emptied is none, as the API's absent field
      String saved = followed(browser, browser.submit("action", "template-save", "new", "false", "template",
          "receipt", "subject", "Receipt {{n}}", "text", "", "html", "<p>{{n}}</p>"));
      assertTrue(saved.contains(said("template-saved")), saved);
      stored = ses.getEmailTemplate(r -> r.templateName("receipt")).templateContent();
      assertEquals("Receipt {{n}}", stored.subject());
      assertEquals(null, stored.text());

      // refused, nothing changed, the typed content shown again
      HttpResponse<String> broken = browser.submit("action", "template-save", "new", "false", "template", "receipt",
          "subject", "Broken", "text", "{{#if x}}never closed <b>", "html", "");
      assertEquals(400, broken.statusCode(), broken.body());
      assertTrue(broken.body().contains("Not done: "), broken.body());
      assertTrue(broken.body().contains(ConsoleHandler.esc("{{#if x}}never closed <b>")), "refilled: "
          + broken.body());
      assertEquals("Receipt {{n}}", ses.getEmailTemplate(r -> r.templateName("receipt")).templateContent()
          .subject());
      for (String[] bad : new String[][] {
          {"new", "true", "template", "receipt", "subject", "s", "text", "t"}, // exists already
          {"new", "false", "template", "absent", "subject", "s", "text", "t"}, // none to update
          {"new", "true", "template", "bad name!", "subject", "s", "text", "t"},
          {"new", "true", "template", "no-parts", "subject", "s", "text", "", "html", ""},
          {"new", "true", "template", "no-subject", "text", "t"}}) {
        String[] fields = new String[bad.length + 2];
        fields[0] = "action";
        fields[1] = "template-save";
        System.arraycopy(bad, 0, fields, 2, bad.length);
        HttpResponse<String> answer = browser.submit(fields);
        assertTrue(answer.statusCode() == 400 || answer.statusCode() == 404, String.join(",", bad) + ": "
            + answer.statusCode());
        assertTrue(answer.body().contains("Not done: "), answer.body());
      }
      assertEquals(1, ses.listEmailTemplates(r -> { }).templatesMetadata().size());

      // a large template: past the 64 KiB anyone's form may be, read once the key is known
      String large = "<p>" + "Zoë & {{name}} ".repeat(20_000) + "</p>"; // about 300 KB, 500 KB as a form
      followed(browser, browser.submit("action", "template-save", "new", "true", "template", "large", "subject", "s",
          "html", large));
      assertEquals(large, ses.getEmailTemplate(r -> r.templateName("large")).templateContent().html());
      // made-up credentials: answered before any of the body is sent (none is), and the connection closed
      try (java.net.Socket socket = new java.net.Socket(node.endpoint().getHost(), node.endpoint().getPort())) {
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("POST /_mailgate/console HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\nAuthorization: "
            + new Browser(node.endpoint(), "AKIANOSUCHKEY0000000", "x").auth() + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(answer.startsWith("HTTP/1.1 401 "), answer);
        assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("\r\nconnection: close\r\n"),
            "its body left unread: " + answer);
      }

      // the editor of a template the account does not have, a name escaped
      assertTrue(browser.get("?template=%3Cb%3Enope").body().contains("No template &lt;b&gt;nope in this account."));

      HttpResponse<String> unconfirmed = browser.submit("action", "template-delete", "template", "receipt");
      assertEquals(400, unconfirmed.statusCode());
      ses.getEmailTemplate(r -> r.templateName("receipt"));
      String deleted = followed(browser, browser.submit("action", "template-delete", "template", "receipt",
          "confirm", "yes"));
      assertTrue(deleted.contains(said("template-deleted")), deleted);
      assertThrows(NotFoundException.class, () -> ses.getEmailTemplate(r -> r.templateName("receipt")));
      assertEquals(404, browser.submit("action", "template-delete", "template", "receipt", "confirm", "yes")
          .statusCode());
    }
  }

  @Test
  void aTestEmailIsSentAndFollowedOnThePage() throws Exception {
    Browser dev = new Browser(node.endpoint(), TestNode.ACCESS_KEY, TestNode.SECRET);
    assertTrue(dev.get("").body().contains("success@simulator.amazonses.com"), "the simulator's scenarios offered");
    HttpResponse<String> sent = dev.submit("action", "send-test", "from", "console@example.com",
        "to", "reader-forms@example.org", "subject", "Hello from the console", "text", "line one\r\nline two", "set",
        "");
    assertEquals(303, sent.statusCode(), sent.body());
    String location = sent.headers().firstValue("Location").orElseThrow();
    Matcher id = Pattern.compile("message=([^&]+)&done=sent").matcher(location);
    assertTrue(id.find(), location);
    String messageId = java.net.URLDecoder.decode(id.group(1), StandardCharsets.UTF_8);
    String page = followed(dev, sent);
    assertTrue(page.contains(said("sent")) && page.contains("reader-forms@example.org"), page);
    Await.until(() -> relay.received().stream().anyMatch(m -> m.text().contains("Hello from the console")),
        Duration.ofSeconds(20));
    assertEquals(1, relay.received().stream().filter(m -> m.text().contains(messageId)
        || m.text().contains("Hello from the console")).count());

    int before = relay.received().size();
    // the API's checks: a header injected into the subject, an address that is not one, an identity not verified
    String[][] bad = {
        {"subject", "Hi\r\nBcc: victim@example.org", "to", "reader-forms@example.org", "from", "console@example.com"},
        {"subject", "Hi", "to", "reader-forms@example.org\r\nBcc: victim@example.org", "from", "console@example.com"},
        {"subject", "Hi", "to", "reader-forms@example.org", "from", "not an address"},
        {"subject", "x".repeat(ConsoleActions.MAX_TEST_TEXT + 1), "to", "reader-forms@example.org", "from",
            "console@example.com"},
    };
    for (String[] fields : bad) {
      HttpResponse<String> answer = dev.submit("action", "send-test", fields[0], fields[1], fields[2], fields[3],
          fields[4], fields[5], "text", "x");
      assertTrue(answer.statusCode() == 400, answer.statusCode() + ": " + answer.body());
      assertTrue(answer.body().contains("Not done: "), answer.body());
    }
    HttpResponse<String> noSet = dev.submit("action", "send-test", "from", "console@example.com", "to",
        "success@simulator.amazonses.com", "subject", "s", "text", "t", "set", "no-such-set");
    assertEquals(404, noSet.statusCode(), noSet.body());
    // the sandbox: to a recipient the account has not verified
    Accounts.NewKey sandboxed = node.createAccount("console-sandbox", false, 10, 200);
    Browser sandboxedBrowser = new Browser(node.endpoint(), sandboxed.accessKeyId(), sandboxed.secretAccessKey());
    HttpResponse<String> sandbox = sandboxedBrowser.submit("action", "send-test", "from", "sandbox@example.com", "to",
        "reader-forms@example.org", "subject", "s", "text", "t");
    assertEquals(400, sandbox.statusCode(), sandbox.body());
    assertTrue(sandbox.body().contains("Not done: MessageRejected: "), sandbox.body());
    Thread.sleep(500);
    assertEquals(before, relay.received().size(), "nothing refused was sent");
  }

  @Test
  void aFormWithoutThePagesTokenOrFromAnotherSiteChangesNothing() throws Exception {
    Browser browser = newAccount("console-forged");
    Browser other = newAccount("console-forger");
    String suppress = "action=suppress&address=forged%40example.org&reason=BOUNCE";
    String token = browser.token();

    // no token, an empty one, garbage, another key's, one signed with another secret, expired, from too far ahead
    long now = java.time.Instant.now().getEpochSecond();
    String accountId = accountIdOf(browser);
    String[] forged = {
        null, "", "x", "123.abc", token + "x", other.token(),
        ConsoleForms.token(browser.secret() + "x", browser.key(), accountId, now + 3600),
        ConsoleForms.token(browser.secret(), browser.key(), accountId, now - 1),
        ConsoleForms.token(browser.secret(), browser.key(), accountId, now + 2 * ConsoleForms.LIFETIME_SECONDS),
        ConsoleForms.token(browser.secret(), other.key(), accountId, now + 3600),
    };
    for (String t : forged) {
      HttpResponse<String> answer = browser.post(t == null ? suppress : "csrf=" + URLEncoder.encode(t,
          StandardCharsets.UTF_8) + "&" + suppress);
      assertEquals(403, answer.statusCode(), t + ": " + answer.body());
      assertTrue(answer.body().contains("Reload the console"), answer.body());
    }
    // the right token, made as the page makes it, works: the forged ones failed for their token alone
    String made = ConsoleForms.token(browser.secret(), browser.key(), accountId, now + 3600);
    assertTrue(ConsoleForms.valid(made, browser.secret(), browser.key(), accountId, now));
    assertFalse(ConsoleForms.valid(made, browser.secret(), browser.key(), "000000000000", now));

    // the right token but the browser says another site's page sent it
    for (String site : new String[] {"cross-site", "same-site"}) {
      HttpResponse<String> answer = browser.post("csrf=" + URLEncoder.encode(token, StandardCharsets.UTF_8) + "&"
          + suppress, "Sec-Fetch-Site", site);
      assertEquals(403, answer.statusCode());
      assertTrue(answer.body().contains("another site"), answer.body());
    }
    // a form as another site can send one without script (text/plain), the right password missing, too large
    HttpResponse<String> plain = HTTP.send(HttpRequest.newBuilder(URI.create(node.endpoint() + "/_mailgate/console"))
        .header("Authorization", browser.auth()).header("Content-Type", "text/plain")
        .POST(HttpRequest.BodyPublishers.ofString("csrf=" + token + "&" + suppress)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(415, plain.statusCode(), plain.body());
    HttpResponse<String> wrongPassword = new Browser(node.endpoint(), browser.key(), browser.secret() + "x")
        .post("csrf=" + URLEncoder.encode(token, StandardCharsets.UTF_8) + "&" + suppress);
    assertEquals(401, wrongPassword.statusCode());
    HttpResponse<String> large = browser.post("csrf=" + URLEncoder.encode(token, StandardCharsets.UTF_8) + "&"
        + suppress + "&pad=" + "x".repeat(ConsoleHandler.MAX_FORM));
    assertEquals(413, large.statusCode(), large.body());
    assertFalse(large.body().contains("Exception"), large.body());
    // what it held of the node's budget of bodies while it was read is given back
    io.mailgate.ByteBudget bodies = (io.mailgate.ByteBudget) node.vertx().sharedData().getLocalMap("mailgate.http")
        .get("bodies");
    Await.until(bodies::held, held -> held == 0, Duration.ofSeconds(5));
    HttpResponse<String> badEscape = browser.post("csrf=%zz&" + suppress);
    assertEquals(400, badEscape.statusCode(), badEscape.body());
    assertTrue(badEscape.body().contains("Malformed request parameters"), badEscape.body());
    HttpResponse<String> twice = browser.post("csrf=" + URLEncoder.encode(token, StandardCharsets.UTF_8) + "&"
        + suppress + "&address=other%40example.org");
    assertEquals(400, twice.statusCode(), twice.body());

    try (SesV2Client ses = node.sesV2(browser.key(), browser.secret())) {
      assertTrue(ses.listSuppressedDestinations(r -> { }).suppressedDestinationSummaries().isEmpty(),
          "no forged form changed anything");
    }
    // and the page's own token, sent as the page sends it, does
    assertEquals(303, browser.post("csrf=" + URLEncoder.encode(token, StandardCharsets.UTF_8) + "&" + suppress,
        "Sec-Fetch-Site", "same-origin").statusCode());
  }

  private static String accountIdOf(Browser browser) throws Exception {
    Matcher m = Pattern.compile("<h1>Mailgate: account ([0-9]+)</h1>").matcher(browser.get("").body());
    assertTrue(m.find());
    return m.group(1);
  }
}
