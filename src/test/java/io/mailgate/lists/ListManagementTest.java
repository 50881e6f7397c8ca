package io.mailgate.lists;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.WebhookReceiver;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.EventType;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.SubscriptionStatus;
import software.amazon.awssdk.services.sesv2.model.Topic;
import software.amazon.awssdk.services.sesv2.model.TopicPreference;

/**
 * SendEmail with ListManagementOptions end to end: the RFC 8058 headers and the filled-in placeholder in what the
 * relay receives, the one-click POST to the delivered link, and the sends after it (unsubscribed recipients are not
 * mailed, others are), through the AWS SDK and plain HTTP as a mail provider would make it.
 */
class ListManagementTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static SesV2Client ses;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    ses = node.sesV2();
    ses.createContactList(r -> r.contactListName("news").topics(
        Topic.builder().topicName("weekly").displayName("Weekly digest").defaultSubscriptionStatus(SubscriptionStatus.OPT_IN).build(),
        Topic.builder().topicName("promo").displayName("Offers").defaultSubscriptionStatus(SubscriptionStatus.OPT_OUT).build()));
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static String send(String topic, String subject, String... to) {
    return ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
        .destination(d -> d.toAddresses(to))
        .listManagementOptions(l -> l.contactListName("news").topicName(topic))
        .content(c -> c.simple(m -> m.subject(s -> s.data(subject))
            .body(b -> b.text(t -> t.data("Hello.\nUnsubscribe: {{amazonSESUnsubscribeUrl}}\n"))
                .html(h -> h.data("<p>Hello.</p><a href=\"{{amazonSESUnsubscribeUrl}}\">unsubscribe</a>")))))).messageId();
  }

  static RecordingSmtpServer.Received awaitReceived(String rcpt, String subject) {
    return Await.until(() -> relay.received().stream()
            .filter(r -> r.rcptTo().contains(rcpt) && r.text().contains("Subject: " + subject + "\r\n")).findFirst()
            .orElse(null),
        r -> r != null, Duration.ofSeconds(20));
  }

  static boolean received(String rcpt, String subject) {
    return relay.received().stream().anyMatch(r -> r.rcptTo().contains(rcpt)
        && r.text().contains("Subject: " + subject + "\r\n"));
  }

  static Message parse(byte[] data) throws IOException {
    return new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(data));
  }

  static String text(Entity e) throws IOException {
    try (InputStream in = ((TextBody) e.getBody()).getInputStream()) {
      return new String(in.readAllBytes(), e.getCharset() == null ? "US-ASCII" : e.getCharset());
    }
  }

  /** The List-Unsubscribe URL of a delivered message. */
  static String unsubscribeUrl(Message m) {
    String value = m.getHeader().getField("List-Unsubscribe").getBody().strip();
    assertTrue(value.startsWith("<") && value.endsWith(">"), value);
    return value.substring(1, value.length() - 1);
  }

  static HttpResponse<String> post(String url, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The one-click POST as RFC 8058 says it SHOULD be sent (Gmail's): multipart/form-data. */
  static HttpResponse<String> postMultipart(String url) throws Exception {
    String body = "--b0undary\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n"
        + "--b0undary--\r\n";
    return http.send(HttpRequest.newBuilder(URI.create(url))
        .header("Content-Type", "multipart/form-data; boundary=b0undary")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  static String status(JsonObject message, String address) {
    JsonArray recipients = message.getJsonArray("Recipients");
    for (int i = 0; i < recipients.size(); i++) {
      if (recipients.getJsonObject(i).getString("Address").equals(address)) {
        return recipients.getJsonObject(i).getString("Status");
      }
    }
    throw new AssertionError(address + " is not a recipient of " + message.encode());
  }

  @Test
  void theMessageCarriesOneClickHeadersAndTheFilledPlaceholder() throws Exception {
    send("weekly", "Issue 1", "reader1@example.org");
    Message m = parse(awaitReceived("reader1@example.org", "Issue 1").data());
    String url = unsubscribeUrl(m);
    assertTrue(url.startsWith(node.endpoint().toString().replaceAll("/$", "") + "/t/u/"), url);
    assertEquals("List-Unsubscribe=One-Click", m.getHeader().getField("List-Unsubscribe-Post").getBody().strip());
    Multipart alternative = (Multipart) m.getBody();
    String plain = text(alternative.getBodyParts().get(0));
    String html = text(alternative.getBodyParts().get(1));
    assertTrue(plain.contains("Unsubscribe: " + url + "\r\n"), plain);
    assertTrue(html.contains("<a href=\"" + url + "\">"), html);
    assertFalse(plain.contains("amazonSESUnsubscribeUrl") || html.contains("amazonSESUnsubscribeUrl"));
  }

  @Test
  void aTemplateKeepsThePlaceholderForTheLink() throws Exception {
    ses.sendEmail(r -> r.fromEmailAddress("news@example.com").destination(d -> d.toAddresses("templated@example.org"))
        .listManagementOptions(l -> l.contactListName("news"))
        .content(c -> c.template(t -> t.templateContent(tc -> tc.subject("Hi {{name}}")
            .text("Dear {{name}}, leave: {{amazonSESUnsubscribeUrl}}")).templateData("{\"name\":\"Tom\"}"))));
    Message m = parse(awaitReceived("templated@example.org", "Hi Tom").data());
    assertEquals("Dear Tom, leave: " + unsubscribeUrl(m), text(m).strip());
  }

  @Test
  void oneClickPostUnsubscribesFromTheTopicAndLaterSendsSkipOnlyThatRecipient() throws Exception {
    send("weekly", "Issue 2", "leaver@example.org");
    String url = unsubscribeUrl(parse(awaitReceived("leaver@example.org", "Issue 2").data()));

    HttpResponse<String> done = post(url, "List-Unsubscribe=One-Click");
    assertEquals(200, done.statusCode(), done.body());
    assertEquals(200, post(url, "List-Unsubscribe=One-Click").statusCode(), "idempotent");
    var contact = ses.getContact(r -> r.contactListName("news").emailAddress("leaver@example.org"));
    assertEquals(List.of(TopicPreference.builder().topicName("weekly").subscriptionStatus(SubscriptionStatus.OPT_OUT)
        .build()), contact.topicPreferences(), "created by the unsubscription, out of the topic only");
    assertFalse(contact.unsubscribeAll());

    String id = send("weekly", "Issue 3", "LEAVER@example.org");
    String other = send("weekly", "Issue 3", "stayer@example.org");
    awaitReceived("stayer@example.org", "Issue 3");
    assertEquals("DELIVERED", status(node.awaitOutcomes(other, 1), "stayer@example.org"));
    JsonObject status = node.awaitOutcomes(id, 1);
    assertEquals("BOUNCED", status(status, "LEAVER@example.org"), "addresses compare without regard to case");
    assertFalse(received("LEAVER@example.org", "Issue 3"));
    JsonObject bounce = status.getJsonArray("Events").stream().map(JsonObject.class::cast)
        .filter(e -> e.getString("eventType").equals("Bounce")).findFirst().orElseThrow();
    assertTrue(bounce.encode().contains("unsubscribed from contact list news (topic weekly)"), bounce.encode());

    // another topic of the same list still reaches them, once they opt in to it
    ses.updateContact(r -> r.contactListName("news").emailAddress("leaver@example.org")
        .topicPreferences(TopicPreference.builder().topicName("promo").subscriptionStatus(SubscriptionStatus.OPT_IN).build(),
            TopicPreference.builder().topicName("weekly").subscriptionStatus(SubscriptionStatus.OPT_OUT).build()));
    send("promo", "Offer 2", "leaver@example.org");
    awaitReceived("leaver@example.org", "Offer 2");
  }

  @Test
  void clickTrackingLeavesTheUnsubscribeLinkAlone() throws Exception {
    ses.createConfigurationSet(r -> r.configurationSetName("tracked"));
    ses.createConfigurationSetEventDestination(r -> r.configurationSetName("tracked").eventDestinationName("hook")
        .eventDestination(d -> d.enabled(true).matchingEventTypes(EventType.CLICK)
            .snsDestination(sns -> sns.topicArn("http://127.0.0.1:9/hook"))));
    ses.sendEmail(r -> r.fromEmailAddress("news@example.com").destination(d -> d.toAddresses("clicker@example.org"))
        .configurationSetName("tracked").listManagementOptions(l -> l.contactListName("news"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Tracked"))
            .body(b -> b.html(h -> h.data("<a href=\"https://example.com/offer\">offer</a> "
                + "<a href=\"{{amazonSESUnsubscribeUrl}}\">unsubscribe</a>"))))));
    Message m = parse(awaitReceived("clicker@example.org", "Tracked").data());
    String html = text(m);
    assertTrue(html.contains("<a href=\"" + unsubscribeUrl(m) + "\">unsubscribe</a>"), html);
    assertFalse(html.contains("https://example.com/offer"), "the other link is tracked: " + html);
    assertTrue(html.contains("/t/c/"), html);
  }

  @Test
  void anUnsubscriptionIsASubscriptionEventOfTheMessageItCameIn() throws Exception {
    try (WebhookReceiver webhook = new WebhookReceiver()) {
      ses.createConfigurationSet(r -> r.configurationSetName("subscriptions"));
      ses.createConfigurationSetEventDestination(r -> r.configurationSetName("subscriptions")
          .eventDestinationName("hook").eventDestination(d -> d.enabled(true)
              .matchingEventTypes(EventType.SUBSCRIPTION)
              .snsDestination(sns -> sns.topicArn(webhook.url("/subscriptions")))));
      String id = ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
          .destination(d -> d.toAddresses("evented@example.org")).configurationSetName("subscriptions")
          .listManagementOptions(l -> l.contactListName("news").topicName("weekly"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("Evented")).body(b -> b.text(t -> t.data("x"))))))
          .messageId();
      String url = unsubscribeUrl(parse(awaitReceived("evented@example.org", "Evented").data()));
      // the page's button first (UnsubscribeLink), then the same again from the header: a change only once
      HttpResponse<String> viaPage = post(url, "List-Unsubscribe=One-Click&via=page");
      assertEquals(200, viaPage.statusCode(), viaPage.body());
      assertEquals(200, postMultipart(url).statusCode());
      JsonObject event = Await.until(() -> webhook.posts("/subscriptions", id), p -> !p.isEmpty(),
          Duration.ofSeconds(20)).get(0).json();
      assertEquals("Subscription", event.getString("eventType"));
      assertEquals(id, event.getJsonObject("mail").getString("messageId"));
      JsonObject subscription = event.getJsonObject("subscription");
      assertEquals("news", subscription.getString("contactList"));
      assertEquals("UnsubscribeLink", subscription.getString("source"));
      // SES's time format, milliseconds and Z, as every other event's
      assertTrue(subscription.getString("timestamp").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"),
          subscription.getString("timestamp"));
      assertEquals(new JsonObject().put("unsubscribeAll", false).put("topicSubscriptionStatus", new JsonArray()),
          subscription.getJsonObject("oldTopicPreferences"), "not a contact before");
      assertEquals(new JsonObject().put("unsubscribeAll", false).put("topicSubscriptionStatus", new JsonArray()
              .add(new JsonObject().put("topicName", "weekly").put("subscriptionStatus", "OptOut"))),
          subscription.getJsonObject("newTopicPreferences"));
      assertEquals(1, Db.count(node.config().get(MailgateConfig.PG_URL),
          "SELECT count(*) FROM events WHERE type = 'Subscription' AND message_id = '" + id + "'"),
          "the second POST changed nothing, and recorded nothing");
    }
  }

  @Test
  void firstUnsubscriptionsArrivingTogetherAreOneChange() throws Exception {
    String id = send("weekly", "Racing", "racing@example.org");
    String url = unsubscribeUrl(parse(awaitReceived("racing@example.org", "Racing").data()));
    // the contact does not exist yet: there is no row for the concurrent POSTs to wait on
    HttpRequest oneClick = HttpRequest.newBuilder(URI.create(url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("List-Unsubscribe=One-Click")).build();
    List<CompletableFuture<HttpResponse<String>>> posts = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      posts.add(http.sendAsync(oneClick, HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> p : posts) {
      assertEquals(200, p.get().statusCode(), p.get().body());
    }
    assertEquals(1, Db.count(node.config().get(MailgateConfig.PG_URL),
        "SELECT count(*) FROM events WHERE type = 'Subscription' AND message_id = '" + id + "'"));
  }

  /** The same link again (a repeated one-click, the page's button after it) writes nothing: the contact stays. */
  @Test
  void aRepeatedUnsubscriptionWritesNothing() throws Exception {
    String pg = node.config().get(MailgateConfig.PG_URL);
    send("weekly", "Twice", "twice@example.org");
    send(null, "Twice all", "twice-all@example.org");
    for (String[] sent : new String[][] {{"twice@example.org", "Twice"}, {"twice-all@example.org", "Twice all"}}) {
      String address = sent[0];
      String url = unsubscribeUrl(parse(awaitReceived(address, sent[1]).data()));
      assertEquals(200, post(url, "List-Unsubscribe=One-Click").statusCode());
      java.time.Instant updated = ses.getContact(r -> r.contactListName("news").emailAddress(address))
          .lastUpdatedTimestamp();
      String version = Db.string(pg, "SELECT xmin::text FROM contacts WHERE email = '" + address + "'");
      Thread.sleep(5); // a rewrite would stamp a later time
      HttpResponse<String> again = post(url, "List-Unsubscribe=One-Click");
      assertEquals(200, again.statusCode(), again.body());
      assertTrue(again.body().contains("is unsubscribed"), again.body());
      assertEquals(200, post(url, "List-Unsubscribe=One-Click&via=page").statusCode());
      assertEquals(updated, ses.getContact(r -> r.contactListName("news").emailAddress(address))
          .lastUpdatedTimestamp(), address);
      assertEquals(version, Db.string(pg, "SELECT xmin::text FROM contacts WHERE email = '" + address + "'"),
          address + ": the row was not written again");
    }
  }

  /**
   * The link needs no authentication and is in every copy of a newsletter: once the contact is out, a POST answers
   * from a plain read and does not queue on the contact's lock (holding a connection of the API's pool meanwhile).
   */
  @Test
  void anUnsubscribedContactsLinkWaitsForNoLock() throws Exception {
    String pg = node.config().get(MailgateConfig.PG_URL);
    send("weekly", "Flooded", "flooded@example.org");
    String url = unsubscribeUrl(parse(awaitReceived("flooded@example.org", "Flooded").data()));
    assertEquals(200, post(url, "List-Unsubscribe=One-Click").statusCode());
    try (java.sql.Connection held = Db.connect(pg); java.sql.Statement st = held.createStatement()) {
      held.setAutoCommit(false);
      st.execute("SELECT 1 FROM contacts WHERE email = 'flooded@example.org' FOR UPDATE");
      HttpResponse<String> again = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString("List-Unsubscribe=One-Click")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, again.statusCode(), again.body());
      held.rollback();
    }
  }

  /**
   * A contact that left by another way between the link's first read and its lock (here: an update that held the row
   * until then) is left as it is: the upsert's update changes nothing, so it writes nothing.
   */
  @Test
  void anUnsubscriptionThatLandedMeanwhileIsNotWrittenAgain() throws Exception {
    String pg = node.config().get(MailgateConfig.PG_URL);
    ses.createContact(r -> r.contactListName("news").emailAddress("overtaken@example.org"));
    String id = send("weekly", "Overtaken", "overtaken@example.org");
    String url = unsubscribeUrl(parse(awaitReceived("overtaken@example.org", "Overtaken").data()));
    CompletableFuture<HttpResponse<String>> posted;
    String version;
    try (java.sql.Connection other = Db.connect(pg); java.sql.Statement st = other.createStatement()) {
      other.setAutoCommit(false);
      st.executeUpdate("UPDATE contacts SET topic_preferences = topic_preferences || '{\"weekly\": \"OPT_OUT\"}' "
          + "WHERE email = 'overtaken@example.org'");
      try (java.sql.ResultSet rs = st.executeQuery("SELECT xmin::text FROM contacts WHERE email = 'overtaken@example.org'")) {
        rs.next();
        version = rs.getString(1);
      }
      posted = http.sendAsync(HttpRequest.newBuilder(URI.create(url))
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString("List-Unsubscribe=One-Click")).build(),
          HttpResponse.BodyHandlers.ofString());
      // the POST read the contact as still subscribed, and waits for the row under the contact's lock
      Await.until(() -> Db.count(pg, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
          + "AND query LIKE 'SELECT topic_preferences, unsubscribe_all FROM contacts%FOR UPDATE'"), n -> n > 0,
          Duration.ofSeconds(20));
      other.commit();
    }
    HttpResponse<String> done = posted.get(20, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(200, done.statusCode(), done.body());
    assertEquals(version, Db.string(pg, "SELECT xmin::text FROM contacts WHERE email = 'overtaken@example.org'"),
        "the row is the other transaction's, not written again");
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM events WHERE type = 'Subscription' AND message_id = '" + id
        + "'"), "nothing changed by the link, nothing recorded");
  }

  @Test
  void aMessageForAListHasOneRecipient() {
    BadRequestException e = assertThrows(BadRequestException.class,
        () -> send("weekly", "Two readers", "one@example.org", "two@example.org"));
    assertTrue(e.awsErrorDetails().errorMessage().contains("exactly one recipient"), e.getMessage());
    assertThrows(BadRequestException.class, () -> ses.sendEmail(r -> r.fromEmailAddress("news@example.com")
        .destination(d -> d.toAddresses("one@example.org").bccAddresses("archive@example.org"))
        .listManagementOptions(l -> l.contactListName("news"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("Bcc")).body(b -> b.text(t -> t.data("x")))))));
  }

  @Test
  void aLinkWithoutTopicUnsubscribesFromEverything() throws Exception {
    send(null, "General 1", "all@example.org");
    String url = unsubscribeUrl(parse(awaitReceived("all@example.org", "General 1").data()));
    HttpResponse<String> done = postMultipart(url);
    assertEquals(200, done.statusCode(), done.body());
    assertTrue(ses.getContact(r -> r.contactListName("news").emailAddress("all@example.org")).unsubscribeAll());
    String id = send("weekly", "General 2", "all@example.org");
    assertEquals("BOUNCED", status(node.awaitOutcomes(id, 1), "all@example.org"));
  }

  @Test
  void aGetShowsAFormAndUnsubscribesNobody() throws Exception {
    send("weekly", "Issue 4", "prefetched@example.org");
    String url = unsubscribeUrl(parse(awaitReceived("prefetched@example.org", "Issue 4").data()));
    HttpResponse<String> page = get(url);
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("<form method=\"post\">"), page.body());
    assertTrue(page.body().contains("name=\"List-Unsubscribe\" value=\"One-Click\""), page.body());
    HttpResponse<String> head = http.send(HttpRequest.newBuilder(URI.create(url))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, head.statusCode());
    assertThrows(NotFoundException.class, () -> ses.getContact(r -> r.contactListName("news")
        .emailAddress("prefetched@example.org")), "neither a GET nor a HEAD is an unsubscription");
    assertEquals(400, post(url, "").statusCode(), "a POST without RFC 8058's body is not one either");
    HttpResponse<String> large = post(url, "List-Unsubscribe=One-Click&" + "x".repeat(10_000));
    assertEquals(413, large.statusCode());
    assertTrue(large.body().contains("<h1>Unsubscribe</h1>"), large.body());
    assertThrows(NotFoundException.class, () -> ses.getContact(r -> r.contactListName("news")
        .emailAddress("prefetched@example.org")));
  }

  /** A list deleted since its message went out: the page says so at once (a 404), not after its button. */
  @Test
  void aDeletedListsLinkIsNotFoundOnTheGetAsOnThePost() throws Exception {
    try (io.mailgate.testing.Tenant t = io.mailgate.testing.Tenant.create(node, "list-gone")) {
      t.v2().createContactList(r -> r.contactListName("gone"));
      t.v2().sendEmail(r -> r.fromEmailAddress("news@gone.example").destination(d -> d.toAddresses("left@example.org"))
          .listManagementOptions(l -> l.contactListName("gone"))
          .content(c -> c.simple(m -> m.subject(x -> x.data("Gone 1")).body(b -> b.text(x -> x.data("Bye."))))));
      String url = unsubscribeUrl(parse(awaitReceived("left@example.org", "Gone 1").data()));
      assertEquals(200, get(url).statusCode());
      t.v2().deleteContactList(r -> r.contactListName("gone"));
      HttpResponse<String> page = get(url);
      assertEquals(404, page.statusCode(), page.body());
      assertTrue(page.body().contains("no longer exists") && !page.body().contains("<form"), page.body());
      assertEquals(404, post(url, "List-Unsubscribe=One-Click").statusCode());
    }
  }

  @Test
  void aTamperedTokenIsRefused() throws Exception {
    send("weekly", "Issue 5", "victim@example.org");
    String url = unsubscribeUrl(parse(awaitReceived("victim@example.org", "Issue 5").data()));
    String token = url.substring(url.lastIndexOf('/') + 1);
    // another address in the payload, the MAC kept
    String payload = new String(java.util.Base64.getUrlDecoder().decode(token.substring(0, token.indexOf('.'))),
        java.nio.charset.StandardCharsets.UTF_8).replace("victim@", "target@");
    String forged = url.substring(0, url.lastIndexOf('/') + 1) + java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString(payload.getBytes(java.nio.charset.StandardCharsets.UTF_8)) + token.substring(token.indexOf('.'));
    for (String bad : List.of(forged, url + "x", url.substring(0, url.length() - 2),
        url.substring(0, url.lastIndexOf('/') + 1) + token.replace(".", ""))) {
      HttpResponse<String> refused = post(bad, "List-Unsubscribe=One-Click");
      assertEquals(400, refused.statusCode(), bad);
      assertTrue(refused.body().contains("not valid"), refused.body());
      assertEquals(400, get(bad).statusCode());
    }
    assertThrows(NotFoundException.class, () -> ses.getContact(r -> r.contactListName("news")
        .emailAddress("target@example.org")));
    assertThrows(NotFoundException.class, () -> ses.getContact(r -> r.contactListName("news")
        .emailAddress("victim@example.org")));
  }

  @Test
  void aTopicsDefaultOptOutHoldsUnlessTheContactOptedIn() {
    ses.createContact(r -> r.contactListName("news").emailAddress("keen@example.org")
        .topicPreferences(TopicPreference.builder().topicName("promo").subscriptionStatus(SubscriptionStatus.OPT_IN).build()));
    ses.createContact(r -> r.contactListName("news").emailAddress("silent@example.org"));
    assertEquals("DELIVERED", status(node.awaitOutcomes(send("promo", "Sale", "keen@example.org"), 1),
        "keen@example.org"), "explicit OPT_IN");
    assertEquals("BOUNCED", status(node.awaitOutcomes(send("promo", "Sale", "silent@example.org"), 1),
        "silent@example.org"), "the topic's default OPT_OUT");
    assertEquals("DELIVERED", status(node.awaitOutcomes(send("promo", "Sale", "stranger@example.org"), 1),
        "stranger@example.org"), "not a contact: mailed");
    assertFalse(received("silent@example.org", "Sale"));
  }

  @Test
  void aRawMessagesSesHeaderIsListManagementOptionsAndIsRemoved() throws Exception {
    String raw = "From: news@example.com\r\nTo: raw@example.org\r\nSubject: Raw issue\r\n"
        + "X-SES-LIST-MANAGEMENT-OPTIONS: news; topic=weekly\r\nList-Unsubscribe: <mailto:old@example.com>\r\n"
        + "\r\nHello.\r\n";
    ses.sendEmail(r -> r.content(c -> c.raw(m -> m.data(software.amazon.awssdk.core.SdkBytes.fromUtf8String(raw)))));
    RecordingSmtpServer.Received got = awaitReceived("raw@example.org", "Raw issue");
    Message m = parse(got.data());
    assertFalse(got.text().contains("X-SES-LIST-MANAGEMENT-OPTIONS"), got.text());
    assertEquals(1, m.getHeader().getFields("List-Unsubscribe").size(), "the sender's own is replaced");
    String url = unsubscribeUrl(m);
    assertEquals("List-Unsubscribe=One-Click", m.getHeader().getField("List-Unsubscribe-Post").getBody().strip());
    assertEquals(200, post(url, "List-Unsubscribe=One-Click").statusCode());
    assertEquals(List.of(TopicPreference.builder().topicName("weekly").subscriptionStatus(SubscriptionStatus.OPT_OUT)
        .build()), ses.getContact(r -> r.contactListName("news").emailAddress("raw@example.org")).topicPreferences());

    String unknown = raw.replace("news; topic=weekly", "gone").replace("Raw issue", "Raw unknown");
    assertThrows(NotFoundException.class, () -> ses.sendEmail(r -> r.content(c -> c.raw(m2 -> m2.data(
        software.amazon.awssdk.core.SdkBytes.fromUtf8String(unknown))))));
  }

  /** A templated send whose data lacks the attribute its template prints. */
  static String sendUnrendered(String list, String topic, String... to) {
    return ses.sendEmail(r -> r.fromEmailAddress("news@example.com").destination(d -> d.toAddresses(to))
        .listManagementOptions(l -> l.contactListName(list).topicName(topic))
        .content(c -> c.template(t -> t.templateContent(tc -> tc.subject("Hi {{name}}").text("Dear {{name}}"))
            .templateData("{}")))).messageId();
  }

  /**
   * A templated send whose data lacks an attribute is accepted as a rendering failure (as SES does), but only after
   * the checks any send has: its ListManagementOptions' list and topic, and its one recipient, as a rendered one.
   */
  @Test
  void aTemplatedSendThatCannotBeRenderedHasItsListCheckedFirst() {
    NotFoundException list = assertThrows(NotFoundException.class,
        () -> sendUnrendered("other", null, "unrendered-1@example.org"));
    assertTrue(list.getMessage().contains("other"), list.getMessage());
    assertThrows(NotFoundException.class, () -> sendUnrendered("news", "nope", "unrendered-1@example.org"));
    BadRequestException several = assertThrows(BadRequestException.class,
        () -> sendUnrendered("news", null, "unrendered-1@example.org", "unrendered-2@example.org"));
    assertTrue(several.awsErrorDetails().errorMessage().contains("exactly one recipient"), several.getMessage());
    assertEquals(0, Db.count(node.config().get(MailgateConfig.PG_URL),
        "SELECT count(*) FROM recipients WHERE address LIKE 'unrendered-%'"));
    // with its list right it is accepted, and never delivered
    String id = sendUnrendered("news", "weekly", "unrendered-3@example.org");
    assertEquals("RENDERING_FAILED", status(node.message(id), "unrendered-3@example.org"));
  }

  @Test
  void anUnknownListOrTopicIsNotFoundAndNothingIsSent() {
    NotFoundException list = assertThrows(NotFoundException.class, () -> ses.sendEmail(r -> r
        .fromEmailAddress("news@example.com").destination(d -> d.toAddresses("x@example.org"))
        .listManagementOptions(l -> l.contactListName("other"))
        .content(c -> c.simple(m -> m.subject(s -> s.data("No list")).body(b -> b.text(t -> t.data("x")))))));
    assertTrue(list.getMessage().contains("other"), list.getMessage());
    assertThrows(NotFoundException.class, () -> send("nope", "No topic", "x@example.org"));
    assertNotNull(ses.getContactList(r -> r.contactListName("news")));
  }
}
