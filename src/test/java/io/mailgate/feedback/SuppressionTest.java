package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.identity.Accounts;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.mailgate.testing.Verification;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.InvalidNextTokenException;
import software.amazon.awssdk.services.sesv2.model.ListSuppressedDestinationsResponse;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;
import software.amazon.awssdk.services.sesv2.model.SuppressionListReason;

/** The account and global suppression lists: their API, and sends to listed addresses. */
class SuppressionTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static Accounts.NewKey a;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer().onRcpt(r -> r.startsWith("dead") ? "550 5.1.1 <" + r + ">: User unknown"
        : r.startsWith("kddi") ? "550 : User unknown" // KDDI: the recipient's own filter refused the sender
        : r.startsWith("policy") ? "550 5.7.1 Requested action not taken: mailbox unavailable" : "250 Ok");
    node = TestNode.startProduction(relay.url(), c -> c);
    a = node.createAccount("suppressing", true, 100, 100_000);
    ses = node.sesV2(a.accessKeyId(), a.secretAccessKey());
    Verification.verifiedAddress(ses, relay, "sender@supp.example");
  }

  @AfterAll
  static void stop() throws IOException {
    ses.close();
    node.close();
    relay.close();
  }

  static String send(SesV2Client client, String to) {
    return client.sendEmail(r -> r.fromEmailAddress("sender@supp.example").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(b -> b.text(t -> t.data("x")))))).messageId();
  }

  static JsonObject finalStatus(String id, String key, String secret) {
    return Await.until(() -> node.message(id, key, secret), m -> !m.getJsonArray("Recipients").getJsonObject(0)
        .getString("Status").equals("QUEUED"), Duration.ofSeconds(20));
  }

  static JsonObject lastBounce(JsonObject status) {
    JsonObject found = null;
    for (Object o : status.getJsonArray("Events")) {
      if (((JsonObject) o).getString("eventType").equals("Bounce")) {
        found = ((JsonObject) o).getJsonObject("bounce");
      }
    }
    return found;
  }

  @Test
  void theApiManagesTheList() {
    assertEquals(List.of(SuppressionListReason.BOUNCE, SuppressionListReason.COMPLAINT),
        ses.getAccount(r -> { }).suppressionAttributes().suppressedReasons());
    ses.putSuppressedDestination(r -> r.emailAddress("Listed@Example.org").reason(SuppressionListReason.COMPLAINT));
    var got = ses.getSuppressedDestination(r -> r.emailAddress("listed@example.org")).suppressedDestination();
    assertEquals("listed@example.org", got.emailAddress());
    assertEquals(SuppressionListReason.COMPLAINT, got.reason());
    assertTrue(got.lastUpdateTime().isAfter(Instant.now().minusSeconds(60)));
    assertThrows(BadRequestException.class,
        () -> ses.putSuppressedDestination(r -> r.emailAddress("not an address").reason(SuppressionListReason.BOUNCE)));
    assertThrows(NotFoundException.class, () -> ses.getSuppressedDestination(r -> r.emailAddress("nobody@example.org")));

    for (int i = 0; i < 5; i++) {
      String e = "page" + i + "@example.org";
      ses.putSuppressedDestination(r -> r.emailAddress(e).reason(SuppressionListReason.BOUNCE));
    }
    List<String> bounces = new ArrayList<>();
    String token = null;
    do {
      String t = token;
      ListSuppressedDestinationsResponse page = ses.listSuppressedDestinations(r -> r.reasons(SuppressionListReason.BOUNCE)
          .pageSize(2).nextToken(t).startDate(Instant.now().minusSeconds(600)));
      page.suppressedDestinationSummaries().forEach(s -> bounces.add(s.emailAddress()));
      token = page.nextToken();
    } while (token != null);
    assertEquals(5, bounces.stream().filter(e -> e.startsWith("page")).count(), bounces.toString());
    assertTrue(bounces.stream().noneMatch(e -> e.equals("listed@example.org")), "filtered by reason");
    // entries updated while a client pages through the list are listed once each all the same (paged by a time that
    // a Put or a new bounce changes, they jumped ahead of the cursor and were never listed)
    ListSuppressedDestinationsResponse first = ses.listSuppressedDestinations(r -> r
        .reasons(SuppressionListReason.BOUNCE).pageSize(1).startDate(Instant.now().minusSeconds(600)));
    List<String> paged = new ArrayList<>();
    first.suppressedDestinationSummaries().forEach(s -> paged.add(s.emailAddress()));
    for (int i = 0; i < 5; i++) {
      String e = "page" + i + "@example.org";
      ses.putSuppressedDestination(r -> r.emailAddress(e).reason(SuppressionListReason.BOUNCE));
    }
    token = first.nextToken();
    while (token != null) {
      String t = token;
      ListSuppressedDestinationsResponse page = ses.listSuppressedDestinations(r -> r
          .reasons(SuppressionListReason.BOUNCE).pageSize(1).nextToken(t).startDate(Instant.now().minusSeconds(600)));
      page.suppressedDestinationSummaries().forEach(s -> paged.add(s.emailAddress()));
      token = page.nextToken();
    }
    assertEquals(5, paged.stream().filter(e -> e.startsWith("page")).distinct().count(), paged.toString());
    assertEquals(paged.stream().distinct().count(), paged.size(), paged.toString());
    // a token the earlier version gave (its position a time, then an address) is refused, not read as an address
    // (which started the list over, and skipped the addresses before "2...")
    String tagged = new String(java.util.Base64.getUrlDecoder().decode(first.nextToken()),
        java.nio.charset.StandardCharsets.UTF_8);
    String tag = tagged.substring(0, tagged.indexOf(':') + 1);
    String earlier = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString((tag
        + "2026-12-01T00:00:00Z\npage0@example.org").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThrows(software.amazon.awssdk.services.sesv2.model.InvalidNextTokenException.class, () -> ses
        .listSuppressedDestinations(r -> r.reasons(SuppressionListReason.BOUNCE).pageSize(1).nextToken(earlier)));
    assertEquals(0, ses.listSuppressedDestinations(r -> r.endDate(Instant.now().minusSeconds(3600)))
        .suppressedDestinationSummaries().size());

    // a tenant's own list is not kept: naming a tenant is a 400, never the account's entry put, shown or removed
    assertThrows(BadRequestException.class, () -> ses.putSuppressedDestination(r -> r.emailAddress("t@example.org")
        .reason(SuppressionListReason.BOUNCE).tenantName("t1")));
    assertThrows(NotFoundException.class, () -> ses.getSuppressedDestination(r -> r.emailAddress("t@example.org")));
    assertThrows(BadRequestException.class, () -> ses.getSuppressedDestination(r -> r
        .emailAddress("listed@example.org").tenantName("t1")));
    assertThrows(BadRequestException.class, () -> ses.listSuppressedDestinations(r -> r.tenantName("t1")));
    assertThrows(BadRequestException.class, () -> ses.deleteSuppressedDestination(r -> r
        .emailAddress("listed@example.org").tenantName("t1")));
    assertEquals("listed@example.org", ses.getSuppressedDestination(r -> r.emailAddress("listed@example.org"))
        .suppressedDestination().emailAddress(), "still listed");

    ses.deleteSuppressedDestination(r -> r.emailAddress("listed@example.org"));
    assertThrows(NotFoundException.class, () -> ses.getSuppressedDestination(r -> r.emailAddress("listed@example.org")));
  }

  /**
   * A NextToken that is not one of ours is InvalidNextTokenException, as SES documents for this operation: one that is
   * not base64, and ones of no list of ours (a position of another form, as earlier versions wrote).
   */
  @Test
  void aBadNextTokenIsInvalidNextToken() {
    String notOurs = java.util.Base64.getUrlEncoder().encodeToString("no position".getBytes());
    String farAway = java.util.Base64.getUrlEncoder().encodeToString("+100000-01-01T00:00:00Z\na@b.example".getBytes());
    for (String token : List.of("%%%not-base64", notOurs, farAway)) {
      InvalidNextTokenException e = assertThrows(InvalidNextTokenException.class,
          () -> ses.listSuppressedDestinations(r -> r.nextToken(token)), token);
      assertEquals(400, e.statusCode());
    }
  }

  @Test
  void sendingToAListedAddressBouncesWithoutAnSmtpAttempt() {
    ses.putSuppressedDestination(r -> r.emailAddress("quiet@example.org").reason(SuppressionListReason.BOUNCE));
    String id = send(ses, "quiet@example.org");
    JsonObject bounce = lastBounce(finalStatus(id, a.accessKeyId(), a.secretAccessKey()));
    assertEquals("Permanent", bounce.getString("bounceType"));
    assertEquals("OnAccountSuppressionList", bounce.getString("bounceSubType"));
    assertTrue(relay.commands().stream().noneMatch(c -> c.contains("quiet@example.org")), "never offered to a server");
  }

  /**
   * An address the account's list holds for a complaint: SES publishes a Complaint of subtype OnAccountSuppressionList
   * ("accepted the message, but didn't attempt to send it"), not a Bounce; nothing is sent, counted or listed again.
   */
  @Test
  void sendingToAnAddressListedForAComplaintIsAComplaintOnAccountSuppressionList() {
    ses.putSuppressedDestination(r -> r.emailAddress("complained@example.org")
        .reason(SuppressionListReason.COMPLAINT));
    String id = send(ses, "complained@example.org");
    JsonObject status = finalStatus(id, a.accessKeyId(), a.secretAccessKey());
    assertNull(lastBounce(status), status.encodePrettily());
    List<JsonObject> complaints = status.getJsonArray("Events").stream().map(o -> (JsonObject) o)
        .filter(e -> e.getString("eventType").equals("Complaint")).toList();
    assertEquals(1, complaints.size(), status.encodePrettily());
    JsonObject complaint = complaints.get(0).getJsonObject("complaint");
    assertEquals("OnAccountSuppressionList", complaint.getString("complaintSubType"));
    assertEquals("complained@example.org", complaint.getJsonArray("complainedRecipients").getJsonObject(0)
        .getString("emailAddress"));
    assertNotNull(complaint.getString("feedbackId"));
    assertTrue(relay.commands().stream().noneMatch(c -> c.contains("complained@example.org")), "never offered");
    assertEquals(SuppressionListReason.COMPLAINT, ses.getSuppressedDestination(r -> r
        .emailAddress("complained@example.org")).suppressedDestination().reason(), "listed as it was");
  }

  @Test
  void hardBounceSuppressesForTheAccountAndGloballyForOthers() {
    String first = send(ses, "dead-1@example.org");
    assertEquals("Permanent", lastBounce(finalStatus(first, a.accessKeyId(), a.secretAccessKey())).getString("bounceType"));
    assertEquals(SuppressionListReason.BOUNCE, Await.until(() -> {
      try {
        return ses.getSuppressedDestination(r -> r.emailAddress("dead-1@example.org")).suppressedDestination().reason();
      } catch (NotFoundException e) {
        return null;
      }
    }, r -> r != null, Duration.ofSeconds(10)));
    long rcpts = relay.commands().stream().filter(c -> c.contains("dead-1@example.org")).count();
    String again = send(ses, "dead-1@example.org");
    assertEquals("OnAccountSuppressionList", lastBounce(finalStatus(again, a.accessKeyId(), a.secretAccessKey()))
        .getString("bounceSubType"));
    assertEquals(rcpts, relay.commands().stream().filter(c -> c.contains("dead-1@example.org")).count());

    // another account has never sent there: the global list answers for it
    Accounts.NewKey b = node.createAccount("other", true, 100, 1000);
    try (SesV2Client other = node.sesV2(b.accessKeyId(), b.secretAccessKey())) {
      Verification.verifiedAddress(other, relay, "other@supp-b.example");
      String id = other.sendEmail(r -> r.fromEmailAddress("other@supp-b.example")
          .destination(d -> d.toAddresses("dead-1@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("s")).body(x -> x.text(t -> t.data("x")))))).messageId();
      JsonObject bounce = lastBounce(finalStatus(id, b.accessKeyId(), b.secretAccessKey()));
      assertEquals("Suppressed", bounce.getString("bounceSubType"));
      assertTrue(bounce.getJsonArray("bouncedRecipients").getJsonObject(0).getString("diagnosticCode")
          .contains("recent history of bouncing"));
      assertThrows(NotFoundException.class, () -> other.getSuppressedDestination(r -> r.emailAddress("dead-1@example.org")),
          "the global list is not the account's list");

      // any account may look the global list up; none may take an address off it (mailgate admin does)
      var found = node.signed("GET", "/_mailgate/global-suppression/dead-1@example.org", null, Map.of(),
          b.accessKeyId(), b.secretAccessKey());
      assertEquals(200, found.statusCode(), found.body());
      assertTrue(new JsonObject(found.body()).getString("LastBounce").startsWith("20"), found.body());
      var removal = node.signed("DELETE", "/_mailgate/global-suppression/dead-1@example.org", null, Map.of(),
          b.accessKeyId(), b.secretAccessKey());
      assertTrue(removal.statusCode() == 404 || removal.statusCode() == 405, removal.statusCode() + " " + removal.body());
      assertEquals(200, node.signed("GET", "/_mailgate/global-suppression/dead-1@example.org", null, Map.of(),
          b.accessKeyId(), b.secretAccessKey()).statusCode());
      assertEquals(404, node.signed("GET", "/_mailgate/global-suppression/not-dead@example.org", null, Map.of(),
          b.accessKeyId(), b.secretAccessKey()).statusCode());
    }
  }

  /** Refusals at RCPT that say nothing against the address: a Transient bounce, nothing suppressed. */
  @Test
  void refusalsThatSayNothingAgainstTheAddressSuppressNothing() {
    for (String to : List.of("kddi-filtered@example.org", "policy-refused@example.org")) {
      JsonObject bounce = lastBounce(finalStatus(send(ses, to), a.accessKeyId(), a.secretAccessKey()));
      assertEquals("Transient", bounce.getString("bounceType"), to + ": " + bounce);
      assertThrows(NotFoundException.class, () -> ses.getSuppressedDestination(r -> r.emailAddress(to)), to);
    }
  }

  /** PostgreSQL refuses a timestamp millions of years away: a 400, not an internal failure. */
  @Test
  void aDateBeyondWhatCanBeStoredIsABadRequest() {
    var r = node.signed("GET", "/v2/email/suppression/addresses?StartDate=99999999999999999999", null, Map.of(),
        a.accessKeyId(), a.secretAccessKey());
    assertEquals(400, r.statusCode(), r.body());
    assertTrue(r.body().contains("StartDate"), r.body());
  }

  @Test
  void accountCanStopSuppressingBounces() {
    ses.putAccountSuppressionAttributes(r -> r.suppressedReasons(SuppressionListReason.COMPLAINT));
    try {
      assertEquals(List.of(SuppressionListReason.COMPLAINT), ses.getAccount(r -> { }).suppressionAttributes().suppressedReasons());
      String id = send(ses, "dead-2@example.org");
      finalStatus(id, a.accessKeyId(), a.secretAccessKey());
      assertThrows(NotFoundException.class, () -> ses.getSuppressedDestination(r -> r.emailAddress("dead-2@example.org")));
    } finally {
      ses.putAccountSuppressionAttributes(r -> r.suppressedReasons(SuppressionListReason.BOUNCE, SuppressionListReason.COMPLAINT));
    }
  }
}
