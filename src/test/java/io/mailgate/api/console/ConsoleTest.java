package io.mailgate.api.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.Accounts;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.EventType;
import software.amazon.awssdk.services.sesv2.model.SubscriptionStatus;
import software.amazon.awssdk.services.sesv2.model.SuppressionListReason;

/** The console page, fetched as a browser would, signed in with an access key over HTTP Basic. */
class ConsoleTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static HttpResponse<String> console(String user, String password) throws Exception {
    return get("/_mailgate/console", user, password);
  }

  /** A page of the console's, signed in as {@code user} (none: null). */
  static HttpResponse<String> get(String path, String user, String password) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(node.endpoint() + path));
    if (user != null) {
      r.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
          .getBytes(StandardCharsets.UTF_8)));
    }
    return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void withoutTheRightKeyThereIsNothingToSee() throws Exception {
    HttpResponse<String> none = console(null, null);
    assertEquals(401, none.statusCode());
    assertTrue(none.headers().firstValue("WWW-Authenticate").orElseThrow().startsWith("Basic "));
    assertEquals(401, console(TestNode.ACCESS_KEY, TestNode.SECRET + "x").statusCode());
    assertEquals(401, console("AKIANOSUCHKEY0000000", TestNode.SECRET).statusCode());
    HttpResponse<String> garbled = HTTP.send(HttpRequest.newBuilder(URI.create(node.endpoint() + "/_mailgate/console"))
        .header("Authorization", "Basic !!!").build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, garbled.statusCode());
    assertFalse(garbled.body().contains(node.config().get(MailgateConfig.DEV_ACCOUNT_ID)));
  }

  @Test
  void theAccountsStandingAndWhatItHasAreShownEscaped() throws Exception {
    ses.createEmailIdentity(r -> r.emailIdentity("console.example"));
    ses.createConfigurationSet(r -> r.configurationSetName("console-set"));
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName("console-set").eventDestinationName("hook")
        .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.CLICK)
            .snsDestination(s -> s.topicArn("http://127.0.0.1:9/hook?a=1&b=2"))));
    ses.putSuppressedDestination(r -> r.emailAddress("gone@example.org").reason(SuppressionListReason.BOUNCE));
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1()) {
      v1.setIdentityNotificationTopic(r -> r.identity("console.example").notificationType("Bounce")
          .snsTopic("http://127.0.0.1:9/bounces?a=1&c=2"));
    }

    HttpResponse<String> page = console(TestNode.ACCESS_KEY, TestNode.SECRET);
    assertEquals(200, page.statusCode(), page.body());
    assertTrue(page.headers().firstValue("Content-Type").orElseThrow().startsWith("text/html"));
    assertTrue(page.headers().firstValue("Content-Security-Policy").orElseThrow().contains("default-src 'none'"));
    assertEquals("no-store", page.headers().firstValue("Cache-Control").orElseThrow());
    String html = page.body();
    assertTrue(html.contains(node.config().get(MailgateConfig.DEV_ACCOUNT_ID)), html);
    assertTrue(html.contains("console.example"), html);
    assertTrue(html.contains("console-set"), html);
    assertTrue(html.contains("clicks"), "the set tracks clicks: " + html);
    assertTrue(html.contains("http://127.0.0.1:9/hook?a=1&amp;b=2"), "escaped: " + html);
    assertFalse(html.contains("a=1&b=2"), html);
    assertTrue(html.contains("Bounce to http://127.0.0.1:9/bounces?a=1&amp;c=2"), "the identity's topic: " + html);
    assertTrue(html.contains("gone@example.org"), html);
    assertTrue(html.contains("BOUNCE"), html);

    // another account sees its own, not this one's
    Accounts.NewKey other = node.createAccount("console-other", false, 1, 200);
    String theirs = console(other.accessKeyId(), other.secretAccessKey()).body();
    assertTrue(theirs.contains(other.accountId()), theirs);
    assertTrue(theirs.contains("sandbox"), theirs);
    assertFalse(theirs.contains("console.example"), theirs);
    assertFalse(theirs.contains("gone@example.org"), theirs);
  }

  /** Whom the account sends to: its contact lists (topics, counts of contacts) and its tenants, its own only. */
  @Test
  void contactListsAndTenantsAreShownEscaped() throws Exception {
    ses.createContactList(r -> r.contactListName("console-news").description("Weekly <b>news</b> & offers")
        .topics(t -> t.topicName("weekly").displayName("Weekly").defaultSubscriptionStatus(
            SubscriptionStatus.OPT_IN)));
    for (String address : new String[] {"a@example.org", "b@example.org"}) {
      ses.createContact(r -> r.contactListName("console-news").emailAddress(address));
    }
    ses.createTenant(r -> r.tenantName("console-tenant"));

    String html = console(TestNode.ACCESS_KEY, TestNode.SECRET).body();
    assertTrue(html.contains("<h2>Contact lists</h2>"), html);
    assertTrue(html.contains("console-news<br><span class=\"muted\">Weekly &lt;b&gt;news&lt;/b&gt; &amp; offers"),
        "escaped: " + html);
    assertTrue(html.contains("</span></td><td>2</td><td><code>weekly</code> (opt_in by default)"), html);
    assertTrue(html.contains("<h2>Tenants</h2>") && html.contains("console-tenant"), html);
    assertTrue(html.contains("</span></td><td>ENABLED</td>"), html);

    Accounts.NewKey other = node.createAccount("console-audience-other", false, 1, 200);
    String theirs = console(other.accessKeyId(), other.secretAccessKey()).body();
    assertFalse(theirs.contains("console-news") || theirs.contains("console-tenant"), theirs);
    assertFalse(theirs.contains("<h2>Contact lists</h2>") || theirs.contains("<h2>Tenants</h2>"),
        "no section for none: " + theirs);
  }

  /** Redis down is when an operator needs the page: what cannot be read says so, the rest is shown. */
  @Test
  void withRedisSilentThePageIsShownAndSaysWhatItCannotRead() throws Exception {
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      // accepts connections, reads everything, answers nothing
      io.vertx.core.net.NetServer silent = vertx.createNetServer().connectHandler(so -> so.handler(b -> { }))
          .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get();
      try (TestNode quiet = TestNode.start(relay.url(),
          c -> c.with(MailgateConfig.REDIS_URL, "redis://127.0.0.1:" + silent.actualPort()))) {
        HttpResponse<String> page = HTTP.send(HttpRequest.newBuilder(URI.create(quiet.endpoint() + "/_mailgate/console"))
            .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((TestNode.ACCESS_KEY + ":"
                + TestNode.SECRET).getBytes(StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode(), page.body());
        String html = page.body();
        assertTrue(html.contains("unavailable now (the sending counters could not be read)"), html);
        assertTrue(html.contains(quiet.config().get(MailgateConfig.DEV_ACCOUNT_ID)), html);
        assertTrue(html.contains("<h2>Identities</h2>"), html);
      }
    } finally {
      vertx.close();
    }
  }

  @Test
  void theActiveReceiptRuleSetAndFiltersAreShown() throws Exception {
    try (software.amazon.awssdk.services.ses.SesClient v1 = node.sesV1()) {
      assertTrue(console(TestNode.ACCESS_KEY, TestNode.SECRET).body().contains("No active receipt rule set"));
      v1.createReceiptRuleSet(r -> r.ruleSetName("console-rules"));
      v1.createReceiptRule(r -> r.ruleSetName("console-rules").rule(rule -> rule.name("keep-all").enabled(true)
          .recipients("inbox.example").actions(a -> a.s3Action(s3 -> s3.bucketName("mail-store")),
              a -> a.snsAction(sns -> sns.topicArn("http://127.0.0.1:9/in?x=1&y=2")))));
      v1.setActiveReceiptRuleSet(r -> r.ruleSetName("console-rules"));
      v1.createReceiptFilter(r -> r.filter(f -> f.name("no-lan").ipFilter(ip -> ip.policy("Block")
          .cidr("10.0.0.0/8"))));
    }
    String html = console(TestNode.ACCESS_KEY, TestNode.SECRET).body();
    assertTrue(html.contains("Active receipt rule set <b>console-rules</b>"), html);
    assertTrue(html.contains("keep-all") && html.contains("mail-store"), html);
    assertTrue(html.contains("x=1&amp;y=2"), "escaped: " + html);
    assertTrue(html.contains("10.0.0.0/8"), html);
    assertTrue(html.contains("<h3>Stored mail</h3>") && html.contains("nothing under its root yet"), html);

    // the mail its S3 action stored, newest first (keys begin with their time), each a link to its source
    try (software.amazon.awssdk.services.s3.S3Client s3 = node.s3(TestNode.ACCESS_KEY, TestNode.SECRET, 1)) {
      for (int i = 0; i < 12; i++) {
        String key = "0100" + i / 10 + i % 10 + "-<b>&msg";
        s3.putObject(r -> r.bucket("mail-store").key(key), software.amazon.awssdk.core.sync.RequestBody.fromString(
            "Subject: <script>alert(" + key + ")</script>\r\n\r\nbody"));
      }
      s3.putObject(r -> r.bucket("mail-store").key("big"), software.amazon.awssdk.core.sync.RequestBody.fromBytes(
          new byte[ConsoleHandler.VIEWED + 10]));
    }
    html = console(TestNode.ACCESS_KEY, TestNode.SECRET).body();
    int newest = html.indexOf("010011-&lt;b&gt;&amp;msg");
    int older = html.indexOf("010010-&lt;b&gt;&amp;msg");
    assertTrue(newest > 0 && older > newest, html);
    assertFalse(html.contains("010001-"), "ten shown: " + html);
    assertFalse(html.contains("<b>&msg"), "escaped: " + html);
    assertTrue(html.contains("/_mailgate/console/object?bucket=mail-store&amp;key=010011-%3Cb%3E%26msg"), html);

    HttpResponse<String> source = object(TestNode.ACCESS_KEY, TestNode.SECRET,
        "bucket=mail-store&key=010011-%3Cb%3E%26msg");
    assertEquals(200, source.statusCode(), source.body());
    assertEquals("Subject: <script>alert(010011-<b>&msg)</script>\r\n\r\nbody", source.body());
    assertTrue(source.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain"));
    assertEquals("nosniff", source.headers().firstValue("X-Content-Type-Options").orElseThrow());
    assertTrue(source.headers().firstValue("Content-Security-Policy").orElseThrow().contains("default-src 'none'"));
    HttpResponse<String> big = object(TestNode.ACCESS_KEY, TestNode.SECRET, "bucket=mail-store&key=big");
    assertTrue(big.body().endsWith("[The first " + ConsoleHandler.VIEWED + " of " + (ConsoleHandler.VIEWED + 10)
        + " bytes; the S3 API reads all of them.]\n"), big.body().substring(big.body().length() - 100));
  }

  static HttpResponse<String> object(String user, String password, String query) throws Exception {
    return get("/_mailgate/console/object?" + query, user, password);
  }

  /** The object view: only for the account's own objects, signed in, named right. */
  @Test
  void anObjectIsShownOnlyToItsAccountSignedIn() throws Exception {
    try (software.amazon.awssdk.services.s3.S3Client s3 = node.s3(TestNode.ACCESS_KEY, TestNode.SECRET, 1)) {
      s3.putObject(r -> r.bucket("view").key("mine"), software.amazon.awssdk.core.sync.RequestBody.fromString("mine"));
    }
    assertEquals("mine", object(TestNode.ACCESS_KEY, TestNode.SECRET, "bucket=view&key=mine").body());
    assertEquals(401, object(null, null, "bucket=view&key=mine").statusCode());
    assertEquals(401, object(TestNode.ACCESS_KEY, TestNode.SECRET + "x", "bucket=view&key=mine").statusCode());
    Accounts.NewKey other = node.createAccount("console-viewer", true, 10, 1000);
    HttpResponse<String> theirs = object(other.accessKeyId(), other.secretAccessKey(), "bucket=view&key=mine");
    assertEquals(404, theirs.statusCode());
    assertTrue(theirs.body().startsWith("The account has no object mine"), theirs.body());
    assertEquals(404, object(TestNode.ACCESS_KEY, TestNode.SECRET, "bucket=view&key=absent").statusCode());
    for (String bad : new String[] {"bucket=view", "key=mine", "bucket=&key=mine", "bucket=view&key=%00",
        "bucket=view&key=" + "k".repeat(1025)}) {
      assertEquals(400, object(TestNode.ACCESS_KEY, TestNode.SECRET, bad).statusCode(), bad);
    }
  }

  static HttpResponse<String> lookUp(String user, String password, String messageId) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(node.endpoint() + "/_mailgate/console?message="
            + java.net.URLEncoder.encode(messageId, StandardCharsets.UTF_8)))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
            .getBytes(StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aMessageIsLookedUpByItsIdWithItsRecipientsAndEvents() throws Exception {
    String id = ses.sendEmail(r -> r.fromEmailAddress("console@example.com")
        .destination(d -> d.toAddresses("reader-console@example.org"))
        .content(c -> c.simple(m -> m.subject(x -> x.data("s")).body(b -> b.text(t -> t.data("x")))))).messageId();
    io.mailgate.testing.Await.until(() -> {
      try {
        return lookUp(TestNode.ACCESS_KEY, TestNode.SECRET, id).body();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, html -> html.contains("DELIVERED"), java.time.Duration.ofSeconds(20));
    String html = lookUp(TestNode.ACCESS_KEY, TestNode.SECRET, id).body();
    assertTrue(html.contains("reader-console@example.org"), html);
    assertTrue(html.contains("<td>Send</td>") && html.contains("<td>Delivery</td>"), html);
    assertTrue(html.contains("value=\"" + id + "\""), "the form keeps the id: " + html);
    // another account's message does not exist for this one; what was asked is shown escaped
    Accounts.NewKey other = node.createAccount("console-lookup", true, 1, 200);
    String theirs = lookUp(other.accessKeyId(), other.secretAccessKey(), id).body();
    assertTrue(theirs.contains("No message " + id), theirs);
    assertFalse(theirs.contains("reader-console@example.org"), theirs);
    String odd = lookUp(TestNode.ACCESS_KEY, TestNode.SECRET, "<b>\"x").body();
    assertTrue(odd.contains("No message &lt;b&gt;&quot;x"), odd);
    assertFalse(odd.contains("<b>\"x"), odd);
  }

  /**
   * A malformed escape in the query (which java.net.URI refuses to send, hence the socket) is a 400, on the console
   * (whose key lookup is asynchronous: thrown there, the request was never answered) and on the verification link.
   */
  @Test
  void aMalformedEscapeInTheQueryIsA400NotA500() throws Exception {
    String auth = Base64.getEncoder().encodeToString((TestNode.ACCESS_KEY + ":" + TestNode.SECRET)
        .getBytes(StandardCharsets.UTF_8));
    for (String target : new String[] {"/_mailgate/console?message=%zz", "/_mailgate/verify-email?token=%zz"}) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", node.config().get(MailgateConfig.HTTP_PORT))) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " + auth
            + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(answer.startsWith("HTTP/1.1 400"), target + ": " + answer);
        assertFalse(answer.contains("Exception"), answer);
      }
    }
  }

  @Test
  void escapingCoversMarkupAndAttributes() {
    assertEquals("&lt;script&gt;&amp;&quot;&#39;", ConsoleHandler.esc("<script>&\"'"));
    assertTrue(ConsoleHandler.basic("Basic " + Base64.getEncoder().encodeToString("id:se:cret".getBytes()))
        .map(c -> c[0].equals("id") && c[1].equals("se:cret")).orElse(false), "a colon in the secret stays");
    assertTrue(ConsoleHandler.basic("Bearer x").isEmpty());
    assertTrue(ConsoleHandler.basic("Basic " + Base64.getEncoder().encodeToString(":nouser".getBytes())).isEmpty());
  }
}
