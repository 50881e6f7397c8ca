package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.standardwebhooks.Webhook;
import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.SecretBox;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.Jdkim;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.ses.model.TrackingOptionsAlreadyExistsException;
import software.amazon.awssdk.services.ses.model.TrackingOptionsDoesNotExistException;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.EventType;
import software.amazon.awssdk.services.sesv2.model.HttpsPolicy;

/**
 * Open and click tracking end to end: messages sent through the AWS SDK with a configuration set whose destination
 * takes Open and Click events are delivered by a real SMTP conversation with their HTML links rewritten and a pixel
 * added; fetching those with a real HTTP client redirects and answers as a reader's mail client would see, and the
 * Open and Click events arrive, signed, at a real HTTP server.
 */
class OpenAndClickTrackingTest {
  static RecordingSmtpServer relay;
  static WebhookReceiver webhook;
  static TestNode node;
  static SesV2Client ses;
  static String secret;
  static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  static final Pattern TRACKED = Pattern.compile("(https?://[^\"/]+)/t/([oc])/([A-Za-z0-9_-]+)");

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    webhook = new WebhookReceiver();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    secret = new WebhookSigner(SecretBox.fromBase64(TestNode.MASTER_KEY))
        .secret(node.config().get(MailgateConfig.DEV_ACCOUNT_ID));
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
    webhook.close();
  }

  static void trackedSet(String set, String path, EventType... types) {
    ses.createConfigurationSet(r -> r.configurationSetName(set));
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName(set).eventDestinationName("hook")
        .eventDestination(d -> d.enabled(true).matchingEventTypes(types)
            .snsDestination(s -> s.topicArn(webhook.url(path)))));
  }

  static String send(String set, String from, String html, String text) {
    return ses.sendEmail(r -> r.fromEmailAddress(from).destination(d -> d.toAddresses("reader@example.com"))
        .configurationSetName(set)
        .content(c -> c.simple(m -> m.subject(s -> s.data("Spring sale")).body(b -> b.html(h -> h.data(html))
            .text(t -> t.data(text)))))).messageId();
  }

  static byte[] delivered(String messageId) {
    return Await.until(() -> relay.received().stream().filter(r -> r.text().contains("<" + messageId + "@"))
        .findFirst().orElse(null), r -> r != null, Duration.ofSeconds(20)).data();
  }

  /** The decoded text of the message's first part of this type. */
  static String part(byte[] message, String mimeType) throws IOException {
    Message m = new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(message));
    List<Entity> todo = new ArrayList<>(List.of(m));
    while (!todo.isEmpty()) {
      Entity e = todo.remove(0);
      if (e.getBody() instanceof Multipart mp) {
        todo.addAll(mp.getBodyParts());
      } else if (e.getMimeType().equals(mimeType) && e.getBody() instanceof TextBody t) {
        try (var r = t.getReader()) {
          StringBuilder b = new StringBuilder();
          r.transferTo(new java.io.StringWriter() {
            @Override
            public void write(char[] c, int off, int len) {
              b.append(c, off, len);
            }
          });
          return b.toString();
        }
      }
    }
    return null;
  }

  static List<String> tracked(String html, String kind) {
    List<String> out = new ArrayList<>();
    Matcher m = TRACKED.matcher(html);
    while (m.find()) {
      if (m.group(2).equals(kind)) {
        out.add(m.group());
      }
    }
    return out;
  }

  static HttpResponse<byte[]> get(String url) throws Exception {
    // a client's own X-Forwarded-For: this node trusts no proxy, so it is not believed
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("User-Agent", "TrackingTest/1.0 (mail client)")
        .header("X-Forwarded-For", "203.0.113.66").GET().build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /**
   * The status line and headers of a GET of {@code path} from the node with this Host header, as a browser sends it
   * to a custom redirect domain that points at the node.
   */
  static String getAs(String host, String path) throws IOException {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", node.endpoint().getPort())) {
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      return answer.substring(0, answer.indexOf("\r\n\r\n"));
    }
  }

  static String path(String link) {
    return URI.create(link).getRawPath();
  }

  /** A tracking URL as it would be fetched from this node (whatever host the link names). */
  static String onNode(String link) {
    Matcher m = TRACKED.matcher(link);
    assertTrue(m.matches(), link);
    return node.endpoint() + "/t/" + m.group(2) + "/" + m.group(3);
  }

  @Test
  void linksAndPixelAreTrackedAndOpensAndClicksArePosted() throws Exception {
    trackedSet("news", "/news", EventType.OPEN, EventType.CLICK);
    String html = "<html><body><p>Hello <a href=\"https://shop.example/sale?x=1&amp;y=2\" "
        + "ses:tags=\"campaign:spring;variant:b\">shop</a>, <A HREF='http://shop.example/plain'>plain</A>, "
        + "<a href=\"mailto:help@shop.example\">write</a>, <a ses:no-track href=\"https://shop.example/private\">"
        + "private</a></p></body></html>";
    String id = send("news", "news@shop.example", html, "Shop at https://shop.example/sale?x=1&y=2");
    byte[] message = delivered(id);
    String sentHtml = part(message, "text/html");
    assertEquals("Shop at https://shop.example/sale?x=1&y=2", part(message, "text/plain").strip(),
        "the text part is not rewritten");
    List<String> clicks = tracked(sentHtml, "c");
    assertEquals(2, clicks.size(), sentHtml);
    assertFalse(sentHtml.contains("shop.example/sale"), sentHtml);
    assertTrue(sentHtml.contains("href=\"mailto:help@shop.example\""), sentHtml);
    assertTrue(sentHtml.contains("href=\"https://shop.example/private\""), sentHtml);
    assertFalse(sentHtml.contains("ses:"), "ses: attributes are taken out: " + sentHtml);
    List<String> pixels = tracked(sentHtml, "o");
    assertEquals(1, pixels.size(), sentHtml);
    assertTrue(sentHtml.indexOf(pixels.get(0)) < sentHtml.indexOf("</body>"), sentHtml);
    assertTrue(clicks.get(0).startsWith(node.endpoint().toString() + "/t/c/"), "the node's URL: " + clicks.get(0));

    HttpResponse<byte[]> click = get(clicks.get(0));
    assertEquals(302, click.statusCode());
    assertEquals("https://shop.example/sale?x=1&y=2", click.headers().firstValue("Location").orElseThrow());
    assertEquals(302, get(clicks.get(1)).statusCode());
    HttpResponse<byte[]> pixel = get(pixels.get(0));
    assertEquals(200, pixel.statusCode());
    assertEquals("image/gif", pixel.headers().firstValue("Content-Type").orElseThrow());
    assertTrue(pixel.headers().firstValue("Cache-Control").orElseThrow().contains("no-store"));
    assertEquals("GIF89a", new String(pixel.body(), 0, 6, StandardCharsets.US_ASCII));

    List<WebhookReceiver.Post> posts = Await.until(() -> webhook.posts("/news", id), p -> p.size() >= 3,
        Duration.ofSeconds(20));
    Map<String, List<JsonObject>> byType = new HashMap<>();
    for (WebhookReceiver.Post p : posts) {
      new Webhook(secret).verify(p.body(), p.headers());
      byType.computeIfAbsent(p.json().getString("eventType"), k -> new ArrayList<>()).add(p.json());
    }
    assertEquals(2, byType.get("Click").size(), byType.keySet().toString());
    assertEquals(1, byType.get("Open").size());
    JsonObject sale = byType.get("Click").stream().map(e -> e.getJsonObject("click"))
        .filter(c -> c.getString("link").contains("sale")).findFirst().orElseThrow();
    assertEquals("https://shop.example/sale?x=1&y=2", sale.getString("link"));
    assertEquals(new JsonObject().put("campaign", new JsonArray().add("spring")).put("variant", new JsonArray().add("b")),
        sale.getJsonObject("linkTags"));
    assertEquals("TrackingTest/1.0 (mail client)", sale.getString("userAgent"));
    assertEquals("127.0.0.1", sale.getString("ipAddress"));
    assertTrue(sale.getString("timestamp").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"));
    JsonObject plain = byType.get("Click").stream().map(e -> e.getJsonObject("click"))
        .filter(c -> c.getString("link").contains("plain")).findFirst().orElseThrow();
    assertEquals("http://shop.example/plain", plain.getString("link"));
    assertNull(plain.getJsonObject("linkTags"));
    JsonObject open = byType.get("Open").get(0);
    assertEquals(id, open.getJsonObject("mail").getString("messageId"));
    assertEquals("TrackingTest/1.0 (mail client)", open.getJsonObject("open").getString("userAgent"));
    assertEquals("Spring sale", open.getJsonObject("mail").getJsonObject("commonHeaders").getString("subject"));
    // kept with the message too: GetMessageInsights lists them, after the Send (each was committed before its answer)
    List<String> types = ses.getMessageInsights(r -> r.messageId(id)).insights().get(0).events().stream()
        .map(e -> e.typeAsString()).toList();
    assertEquals("SEND", types.get(0), types.toString());
    assertEquals(1, types.stream().filter("OPEN"::equals).count(), types.toString());
    assertEquals(2, types.stream().filter("CLICK"::equals).count(), types.toString());
  }

  /**
   * A reader is not kept waiting on the database: with the events table locked (a stalled commit), the click is still
   * answered within about a second, and recorded once the database lets it.
   */
  @Test
  void aStalledDatabaseDoesNotKeepTheReaderWaiting() throws Exception {
    trackedSet("stalled", "/stalled", EventType.CLICK);
    String id = send("stalled", "news@shop.example", "<html><body><a href=\"https://shop.example/x\">x</a></body></html>",
        "x");
    String link = tracked(part(delivered(id), "text/html"), "c").get(0);
    String pg = node.config().get(MailgateConfig.PG_URL);
    String clicks = "SELECT count(*) FROM events WHERE type = 'Click' AND message_id = '" + id + "'";
    try (java.sql.Connection lock = java.sql.DriverManager.getConnection(
        "jdbc:" + pg.replace("postgresql://postgres@", "postgresql://"), "postgres", "")) {
      lock.setAutoCommit(false);
      try (java.sql.Statement st = lock.createStatement()) {
        st.execute("LOCK TABLE events IN EXCLUSIVE MODE"); // reads go on, writes wait
      }
      long start = System.nanoTime();
      HttpResponse<byte[]> click = HTTP.send(HttpRequest.newBuilder(URI.create(link)).timeout(Duration.ofSeconds(10))
          .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertEquals(302, click.statusCode());
      assertTrue(millis < 5_000, "answered after " + millis + " ms");
      assertEquals(0, Db.count(pg, clicks), "not recorded while the table is locked");
      lock.rollback();
    }
    Await.until(() -> Db.count(pg, clicks) == 1, Duration.ofSeconds(10));
  }

  @Test
  void aLinkMailgateDidNotWriteIsNotFollowedAndRecordsNothing() throws Exception {
    trackedSet("forged", "/forged", EventType.OPEN, EventType.CLICK);
    String id = send("forged", "news@shop.example", "<a href=\"https://shop.example/x\">x</a>", "x");
    String sentHtml = part(delivered(id), "text/html");
    String link = onNode(tracked(sentHtml, "c").get(0));
    String pixel = onNode(tracked(sentHtml, "o").get(0));
    // one character of the token changed: its MAC no longer matches
    int at = link.length() - 5;
    String forged = link.substring(0, at) + (link.charAt(at) == 'A' ? 'B' : 'A') + link.substring(at + 1);
    HttpResponse<byte[]> r = get(forged);
    assertEquals(404, r.statusCode());
    assertTrue(r.headers().firstValue("Location").isEmpty());
    // an open token where a click is expected, and the other way round
    assertEquals(404, get(link.replace("/t/c/", "/t/o/")).statusCode());
    assertEquals(404, get(pixel.replace("/t/o/", "/t/c/")).statusCode());
    assertEquals(404, get(node.endpoint() + "/t/c/not-a-token").statusCode());
    // a HEAD (a link checker) gets the answer a GET would, and records nothing
    HttpResponse<Void> head = HTTP.send(HttpRequest.newBuilder(URI.create(link)).method("HEAD",
        HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
    assertEquals(302, head.statusCode());
    assertEquals("https://shop.example/x", head.headers().firstValue("Location").orElseThrow());
    assertEquals(200, HTTP.send(HttpRequest.newBuilder(URI.create(pixel)).method("HEAD",
        HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
    // the real one still works, once: only it is posted
    assertEquals(302, get(link).statusCode());
    Await.until(() -> webhook.posts("/forged", id), p -> !p.isEmpty(), Duration.ofSeconds(20));
    String pg = node.config().get(MailgateConfig.PG_URL);
    // nothing of the message waits to be posted: what was recorded has been
    Await.until(() -> Db.count(pg, "SELECT count(*) FROM event_outbox WHERE message_id = '" + id + "'") == 0,
        Duration.ofSeconds(10));
    assertEquals(List.of("Click"), webhook.posts("/forged", id).stream().map(p -> p.json().getString("eventType"))
        .toList());
  }

  @Test
  void behindATrustedProxyTheReadersAddressIsTheOneItForwards() throws Exception {
    try (TestNode proxied = TestNode.start(relay.url(),
        c -> c.with(MailgateConfig.HTTP_TRUSTED_PROXIES, "127.0.0.0/8, 10.0.0.0/8"));
        SesV2Client client = proxied.sesV2()) {
      client.createConfigurationSet(r -> r.configurationSetName("proxied"));
      client.createConfigurationSetEventDestination(r -> r.configurationSetName("proxied").eventDestinationName("h")
          .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.CLICK)
              .snsDestination(s -> s.topicArn(webhook.url("/proxied")))));
      String id = client.sendEmail(r -> r.fromEmailAddress("news@shop.example")
          .destination(d -> d.toAddresses("reader@example.com")).configurationSetName("proxied")
          .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.html(h -> h.data(
              "<a href=\"https://shop.example/p\">p</a>")))))).messageId();
      String link = tracked(part(delivered(id), "text/html"), "c").get(0);
      // the reader, then a proxy of ours (10.1.2.3) that appended what it saw; a forged entry further left
      HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create(link))
          .header("X-Forwarded-For", "192.0.2.1, 203.0.113.7, 10.1.2.3").GET().build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(302, r.statusCode());
      JsonObject click = Await.until(() -> webhook.posts("/proxied", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
          .get(0).json().getJsonObject("click");
      assertEquals("203.0.113.7", click.getString("ipAddress"));
    }
  }

  @Test
  void aLongLinkWithManyTagsIsFollowedToo() throws Exception {
    trackedSet("long-links", "/long-links", EventType.CLICK);
    String target = "https://shop.example/p?q=" + "x".repeat(2000);
    StringBuilder tags = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      tags.append("tag").append(i).append(':').append("v".repeat(100)).append(';');
    }
    String id = send("long-links", "news@shop.example", "<a ses:tags=\"" + tags + "\" href=\"" + target + "\">x</a>",
        "x");
    String link = tracked(part(delivered(id), "text/html"), "c").get(0);
    assertTrue(link.length() > 5000, "a long link: " + link.length());
    HttpResponse<byte[]> click = get(link);
    assertEquals(302, click.statusCode());
    assertEquals(target, click.headers().firstValue("Location").orElseThrow());
    JsonObject event = Await.until(() -> webhook.posts("/long-links", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
        .get(0).json().getJsonObject("click");
    assertEquals(20, event.getJsonObject("linkTags").size());
  }

  @Test
  void messagesOfASetThatWantsNeitherAreLeftAlone() throws Exception {
    trackedSet("plain-events", "/plain-events", EventType.SEND, EventType.DELIVERY);
    String html = "<p><a href=\"https://shop.example/untouched\">x</a></p>";
    String id = send("plain-events", "news@shop.example", html, "x");
    assertEquals(html, part(delivered(id), "text/html"));
    // only opens: a pixel, links as they were
    trackedSet("opens-only", "/opens-only", EventType.OPEN);
    String opened = send("opens-only", "news@shop.example", html, "x");
    String sentHtml = part(delivered(opened), "text/html");
    assertTrue(sentHtml.contains("href=\"https://shop.example/untouched\""), sentHtml);
    assertEquals(1, tracked(sentHtml, "o").size(), sentHtml);
    assertTrue(tracked(sentHtml, "c").isEmpty(), sentHtml);
  }

  @Test
  void rawMessagesAreTrackedAndStillCarryAValidDkimSignature() throws Exception {
    trackedSet("raw-news", "/raw-news", EventType.CLICK);
    String domain = "tracked.example";
    String selector = ses.createEmailIdentity(r -> r.emailIdentity(domain)).dkimAttributes().tokens().get(0);
    JsonObject identity = new JsonObject(node.signed("GET", "/v2/email/identities/" + domain, null, Map.of()).body());
    JsonObject record = identity.getJsonArray("DnsRecords").getJsonObject(0);
    assertEquals(selector + "._domainkey." + domain, record.getString("Name"));
    String raw = "From: news@" + domain + "\r\nTo: reader@example.com\r\nSubject: raw sale\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n\r\nhttps://shop.example/raw\r\n--b1\r\n"
        + "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + "<p>Gr=C3=BC=C3=9Fe <a href=3D\"https://shop.example/raw?long=3D" + "x".repeat(60) + "\">=\r\nraw</a></p>\r\n"
        + "--b1--\r\n";
    String id = ses.sendEmail(r -> r.configurationSetName("raw-news")
        .content(c -> c.raw(x -> x.data(SdkBytes.fromByteArray(raw.getBytes(StandardCharsets.UTF_8)))))).messageId();
    byte[] message = delivered(id);
    assertNull(Jdkim.verify(message, Map.of(record.getString("Name"), record.getString("Value"))),
        "signed after the rewrite");
    String sentHtml = part(message, "text/html");
    assertTrue(sentHtml.startsWith("<p>Grüße <a href=\""), sentHtml);
    List<String> clicks = tracked(sentHtml, "c");
    assertEquals(1, clicks.size(), sentHtml);
    assertEquals("https://shop.example/raw", part(message, "text/plain").strip());
    HttpResponse<byte[]> click = get(clicks.get(0));
    assertEquals(302, click.statusCode());
    assertEquals("https://shop.example/raw?long=" + "x".repeat(60),
        click.headers().firstValue("Location").orElseThrow());
    JsonObject event = Await.until(() -> webhook.posts("/raw-news", id), p -> !p.isEmpty(), Duration.ofSeconds(20))
        .get(0).json();
    assertEquals("Click", event.getString("eventType"));
  }

  @Test
  void aCustomRedirectDomainMustBeTheAccountsAndShapesTheLinks() throws Exception {
    trackedSet("branded", "/branded", EventType.OPEN, EventType.CLICK);
    // not a verified domain of the account, not a host name, not a policy: refused, nothing changed
    assertThrows(BadRequestException.class, () -> ses.putConfigurationSetTrackingOptions(r -> r
        .configurationSetName("branded").customRedirectDomain("track.someone-else.example")));
    assertThrows(BadRequestException.class, () -> ses.putConfigurationSetTrackingOptions(r -> r
        .configurationSetName("branded").customRedirectDomain("not a host")));
    assertThrows(BadRequestException.class, () -> ses.putConfigurationSetTrackingOptions(r -> r
        .configurationSetName("branded").customRedirectDomain("198.51.100.7")));
    assertEquals(400, node.signed("PUT", "/v2/email/configuration-sets/branded/tracking-options",
        "{\"CustomRedirectDomain\":\"track.brand.example\",\"HttpsPolicy\":\"SOMETIMES\"}", Map.of()).statusCode());
    assertNull(ses.getConfigurationSet(r -> r.configurationSetName("branded")).trackingOptions());
    assertThrows(software.amazon.awssdk.services.sesv2.model.NotFoundException.class, () -> ses
        .putConfigurationSetTrackingOptions(r -> r.configurationSetName("no-such-set")
            .customRedirectDomain("track.someone-else.example")));

    ses.createEmailIdentity(r -> r.emailIdentity("brand.example"));
    ses.putConfigurationSetTrackingOptions(r -> r.configurationSetName("branded")
        .customRedirectDomain("Track.Brand.Example").httpsPolicy(HttpsPolicy.REQUIRE_OPEN_ONLY));
    var options = ses.getConfigurationSet(r -> r.configurationSetName("branded")).trackingOptions();
    assertEquals("track.brand.example", options.customRedirectDomain());
    assertEquals(HttpsPolicy.REQUIRE_OPEN_ONLY, options.httpsPolicy());

    String id = send("branded", "news@shop.example", "<a href=\"http://shop.example/h\">h</a>"
        + "<a href=\"https://shop.example/s\">s</a>", "x");
    String sentHtml = part(delivered(id), "text/html");
    List<String> clicks = tracked(sentHtml, "c");
    assertTrue(clicks.get(0).startsWith("http://track.brand.example/t/c/"), "an http link stays http: " + sentHtml);
    assertTrue(clicks.get(1).startsWith("https://track.brand.example/t/c/"), sentHtml);
    assertTrue(tracked(sentHtml, "o").get(0).startsWith("https://track.brand.example/t/o/"), sentHtml);
    String answer = getAs("track.brand.example", path(clicks.get(1)));
    assertTrue(answer.startsWith("HTTP/1.1 302"), answer);
    assertTrue(answer.contains("\r\nLocation: https://shop.example/s\r\n")
        || answer.contains("\r\nlocation: https://shop.example/s\r\n"), answer);
    // the same link under another host (another tenant's domain, or the node's own) is not one: no redirect
    assertTrue(getAs("track.other-tenant.example", path(clicks.get(1))).startsWith("HTTP/1.1 404"));
    assertEquals(404, get(onNode(clicks.get(1))).statusCode());
    // nor a link made for the node's own host served under the brand's domain
    trackedSet("unbranded", "/unbranded", EventType.CLICK);
    String unbranded = send("unbranded", "news@shop.example", "<a href=\"https://shop.example/u\">u</a>", "x");
    String plainLink = tracked(part(delivered(unbranded), "text/html"), "c").get(0);
    assertTrue(getAs("track.brand.example", path(plainLink)).startsWith("HTTP/1.1 404"));
    assertTrue(getAs("127.0.0.1:" + node.endpoint().getPort(), path(plainLink)).startsWith("HTTP/1.1 302"));

    // v1's actions on the same options
    try (var v1 = node.sesV1()) {
      assertThrows(TrackingOptionsAlreadyExistsException.class, () -> v1.createConfigurationSetTrackingOptions(r -> r
          .configurationSetName("branded").trackingOptions(t -> t.customRedirectDomain("t2.brand.example"))));
      v1.updateConfigurationSetTrackingOptions(r -> r.configurationSetName("branded")
          .trackingOptions(t -> t.customRedirectDomain("t2.brand.example")));
      assertEquals("t2.brand.example", v1.describeConfigurationSet(r -> r.configurationSetName("branded")
          .configurationSetAttributeNamesWithStrings("trackingOptions")).trackingOptions().customRedirectDomain());
      v1.deleteConfigurationSetTrackingOptions(r -> r.configurationSetName("branded"));
      assertThrows(TrackingOptionsDoesNotExistException.class,
          () -> v1.deleteConfigurationSetTrackingOptions(r -> r.configurationSetName("branded")));
      assertNull(ses.getConfigurationSet(r -> r.configurationSetName("branded")).trackingOptions());
      // options without a domain (Terraform's empty tracking_options block): they exist, links use the node's URL
      v1.createConfigurationSetTrackingOptions(r -> r.configurationSetName("branded").trackingOptions(t -> { }));
      assertEquals(HttpsPolicy.OPTIONAL, ses.getConfigurationSet(r -> r.configurationSetName("branded"))
          .trackingOptions().httpsPolicy());
      assertThrows(software.amazon.awssdk.services.ses.model.InvalidTrackingOptionsException.class,
          () -> v1.updateConfigurationSetTrackingOptions(r -> r.configurationSetName("branded")
              .trackingOptions(t -> t.customRedirectDomain("track.someone-else.example"))));
    }
  }
}
