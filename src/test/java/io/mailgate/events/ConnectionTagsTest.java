package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tags of the connection a Delivery went over, kept with its detail and shown in its mail object's tags. */
class ConnectionTagsTest {

  private static JsonObject mail() {
    return new JsonObject().put("messageId", "m-1").put("tags", SesEvents.tags("SendEmail", "receipts", "192.0.2.9",
        "TLSv1.2", "a@example.com", "AKIDEXAMPLE", new JsonArray().add(new JsonObject().put("Name", "campaign")
            .put("Value", "spring"))));
  }

  @Test
  void aDeliveryShowsItsConnectionsTagsAfterSesOwnAndKeepsThemOutOfItsDetail() {
    JsonObject mail = mail();
    String shared = mail.encode();
    JsonObject stored = new JsonObject(SesEvents.sentOver(new JsonObject().put("recipients", new JsonArray()
        .add("b@example.org")), "198.51.100.7", "TLSv1.3").encode()); // as the outbox gives it back

    JsonObject event = SesEvents.event(EventType.DELIVERY, mail, stored);

    JsonObject tags = event.getJsonObject("mail").getJsonObject("tags");
    assertEquals(List.of("ses:operation", "ses:configuration-set", "ses:source-ip", "ses:source-tls-version",
        "ses:from-domain", "ses:caller-identity", "ses:outgoing-ip", "ses:outgoing-tls-version", "campaign"),
        new ArrayList<>(tags.fieldNames()));
    assertEquals(new JsonArray().add("198.51.100.7"), tags.getJsonArray("ses:outgoing-ip"));
    assertEquals(new JsonArray().add("TLSv1.3"), tags.getJsonArray("ses:outgoing-tls-version"));
    assertEquals(new JsonArray().add("TLSv1.2"), tags.getJsonArray("ses:source-tls-version"), "the submission's own");
    assertEquals(new JsonObject().put("recipients", new JsonArray().add("b@example.org")),
        event.getJsonObject("delivery"));
    assertEquals(shared, mail.encode(), "the message's other events share its mail object: it is not changed");
  }

  @Test
  void plainTextHasNoTlsTagAndNoConnectionNoTags() {
    JsonObject plain = SesEvents.event(EventType.DELIVERY, mail(),
        SesEvents.sentOver(new JsonObject().put("smtpResponse", "250 Ok"), "198.51.100.7", null));
    JsonObject tags = plain.getJsonObject("mail").getJsonObject("tags");
    assertEquals(new JsonArray().add("198.51.100.7"), tags.getJsonArray("ses:outgoing-ip"));
    assertFalse(tags.containsKey("ses:outgoing-tls-version"));

    JsonObject detail = new JsonObject().put("smtpResponse", "250 Ok");
    assertSame(detail, SesEvents.sentOver(detail, null, null));
    assertEquals(new JsonObject().put("smtpResponse", "250 Ok"), detail);
    JsonObject mail = mail();
    assertSame(mail, SesEvents.event(EventType.DELIVERY, mail, detail).getJsonObject("mail"));
  }

  @Test
  void aMessageWithoutTagsOfItsOwnGetsThemLast() {
    JsonObject mail = new JsonObject().put("tags", SesEvents.tags(null, null, null, null, "a@example.com", null, null));
    JsonObject event = SesEvents.event(EventType.DELIVERY, mail,
        SesEvents.sentOver(new JsonObject(), "2001:db8::25", "TLSv1.2"));
    assertEquals(List.of("ses:from-domain", "ses:outgoing-ip", "ses:outgoing-tls-version"),
        new ArrayList<>(event.getJsonObject("mail").getJsonObject("tags").fieldNames()));
  }

  /** Only a Delivery tags its connection, as SES's: another event's detail never shows what it would keep them in. */
  @Test
  void anotherEventTypeShowsNoConnection() {
    JsonObject mail = mail();
    JsonObject bounce = SesEvents.event(EventType.BOUNCE, mail,
        SesEvents.sentOver(new JsonObject().put("bounceType", "Permanent"), "198.51.100.7", "TLSv1.3"));
    assertSame(mail, bounce.getJsonObject("mail"));
    assertFalse(mail.getJsonObject("tags").containsKey("ses:outgoing-ip"));
    assertEquals(new JsonObject().put("bounceType", "Permanent"), bounce.getJsonObject("bounce"));
  }

  /** An identity's notification has no tags (SES publishes none there): nor its detail what the tags were kept in. */
  @Test
  void aNotificationLeavesThemOut() {
    JsonObject mail = new JsonObject().put("messageId", "m-1");
    JsonObject n = SesEvents.notification(EventType.DELIVERY, mail,
        SesEvents.sentOver(new JsonObject().put("smtpResponse", "250 Ok"), "198.51.100.7", "TLSv1.3"));
    assertEquals(new JsonObject().put("smtpResponse", "250 Ok"), n.getJsonObject("delivery"));
    assertEquals(new JsonObject().put("messageId", "m-1"), n.getJsonObject("mail"));
  }
}
