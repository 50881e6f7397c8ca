package io.mailgate.api.sesv2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.mailgate.store.MessageQuery;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the SDK tests cannot easily make happen: complaints, the case of an address, several bounced recipients. */
class MessageInsightsHandlerTest {
  static final Instant SENT = Instant.parse("2026-01-02T03:04:05.678Z");

  static MessageQuery.StoredRecipient recipient(int idx, String address) {
    return new MessageQuery.StoredRecipient(idx, address, "queued", 0, null, null, SENT, null, null, null);
  }

  static JsonObject render(List<MessageQuery.StoredRecipient> recipients, List<MessageQuery.StoredEvent> events) {
    byte[] head = "From: a@example.com\r\n\r\nbody".getBytes(StandardCharsets.US_ASCII);
    return MessageInsightsHandler.render(new MessageQuery.StoredMessage("id", "acct", "a@example.com",
        "a@example.com", null, new JsonArray(), 10, SENT, head, null, null, recipients, events, null, null, null,
        null, null, null));
  }

  static JsonArray events(JsonObject insights, int i) {
    return insights.getJsonArray("Insights").getJsonObject(i).getJsonArray("Events");
  }

  @Test
  void aComplaintConcernsItsRecipientWhateverTheCaseOfItsAddress() {
    JsonObject complaint = new JsonObject().putNull("complaintSubType").put("complaintFeedbackType", "abuse")
        .put("complainedRecipients", new JsonArray().add(new JsonObject().put("emailAddress", "bob@example.org")));
    JsonObject out = render(List.of(recipient(0, "Ann@example.org"), recipient(1, "Bob@Example.org")), List.of(
        new MessageQuery.StoredEvent("Send", null, new JsonObject(), SENT),
        new MessageQuery.StoredEvent("Complaint", "BOB@example.org", complaint, SENT.plusSeconds(60))));
    assertEquals(List.of("SEND"), events(out, 0).stream().map(e -> ((JsonObject) e).getString("Type")).toList());
    JsonObject event = events(out, 1).getJsonObject(1);
    assertEquals("COMPLAINT", event.getString("Type"));
    assertEquals(SENT.plusSeconds(60).toEpochMilli() / 1000.0, event.getDouble("Timestamp"));
    assertEquals(new JsonObject().put("Complaint", new JsonObject().put("ComplaintFeedbackType", "abuse")),
        event.getJsonObject("Details"), "a null sub-type is left out");
    assertFalse(out.containsKey("Subject"), "no Subject header, no Subject");
  }

  @Test
  void aBounceGivesEachRecipientItsOwnDiagnosticCode() {
    JsonObject bounce = new JsonObject().put("bounceType", "Transient").put("bounceSubType", "MailboxFull")
        .put("bouncedRecipients", new JsonArray()
            .add(new JsonObject().put("emailAddress", "ann@example.org").put("diagnosticCode", "smtp; 452 ann"))
            .add(new JsonObject().put("emailAddress", "bob@example.org").put("diagnosticCode", "smtp; 452 bob")));
    JsonObject out = render(List.of(recipient(0, "ann@example.org"), recipient(1, "bob@example.org"),
        recipient(2, "ann@example.org")), List.of(
        new MessageQuery.StoredEvent("Bounce", "bob@example.org", bounce, SENT),
        new MessageQuery.StoredEvent("Bounce", "stranger@example.org", bounce, SENT)));
    assertEquals(2, out.getJsonArray("Insights").size(), "one entry per address");
    assertEquals(0, events(out, 0).size(), "the bounce of another recipient, or of no recipient, is not ann's");
    assertEquals(new JsonObject().put("BounceType", "TRANSIENT").put("BounceSubType", "MailboxFull")
        .put("DiagnosticCode", "smtp; 452 bob"), events(out, 1).getJsonObject(0).getJsonObject("Details")
        .getJsonObject("Bounce"));
  }
}
