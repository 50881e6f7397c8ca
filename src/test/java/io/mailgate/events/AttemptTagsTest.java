package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tags of a delivery attempt's connection, kept with its event's detail and shown in its mail object's tags. */
class AttemptTagsTest {

  private static JsonObject mail() {
    return new JsonObject().put("messageId", "m-1").put("tags", SesEvents.tags("SendEmail", "receipts", "192.0.2.9",
        null, "a@example.com", "AKIDEXAMPLE", new JsonArray().add(new JsonObject().put("Name", "campaign")
            .put("Value", "spring"))));
  }

  @Test
  void anEventShowsItsAttemptsTagsAfterSesOwnAndKeepsThemOutOfItsDetail() {
    JsonObject mail = mail();
    String shared = mail.encode();
    JsonObject stored = new JsonObject(SesEvents.sentOver(new JsonObject().put("recipients", new JsonArray()
        .add("b@example.org")), "198.51.100.7", "TLSv1.3").encode()); // as the outbox gives it back

    JsonObject event = SesEvents.event(EventType.DELIVERY, mail, stored);

    JsonObject tags = event.getJsonObject("mail").getJsonObject("tags");
    assertEquals(List.of("ses:operation", "ses:configuration-set", "ses:source-ip", "ses:from-domain",
        "ses:caller-identity", "ses:outgoing-ip", "ses:outgoing-tls-version", "campaign"),
        new ArrayList<>(tags.fieldNames()));
    assertEquals(new JsonArray().add("198.51.100.7"), tags.getJsonArray("ses:outgoing-ip"));
    assertEquals(new JsonArray().add("TLSv1.3"), tags.getJsonArray("ses:outgoing-tls-version"));
    assertEquals(new JsonObject().put("recipients", new JsonArray().add("b@example.org")),
        event.getJsonObject("delivery"));
    assertEquals(shared, mail.encode(), "the message's other events share its mail object: it is not changed");
  }

  @Test
  void plainTextHasNoTlsTagAndNoConnectionNoTags() {
    JsonObject plain = SesEvents.event(EventType.BOUNCE, mail(),
        SesEvents.sentOver(new JsonObject().put("bounceType", "Permanent"), "198.51.100.7", null));
    JsonObject tags = plain.getJsonObject("mail").getJsonObject("tags");
    assertEquals(new JsonArray().add("198.51.100.7"), tags.getJsonArray("ses:outgoing-ip"));
    assertFalse(tags.containsKey("ses:outgoing-tls-version"));

    JsonObject detail = new JsonObject().put("bounceType", "Permanent");
    assertSame(detail, SesEvents.sentOver(detail, null, null));
    assertEquals(new JsonObject().put("bounceType", "Permanent"), detail);
    JsonObject mail = mail();
    assertSame(mail, SesEvents.event(EventType.BOUNCE, mail, detail).getJsonObject("mail"));
  }

  @Test
  void aMessageWithoutTagsOfItsOwnGetsThemLast() {
    JsonObject mail = new JsonObject().put("tags", SesEvents.tags(null, null, null, null, "a@example.com", null, null));
    JsonObject event = SesEvents.event(EventType.DELIVERY, mail,
        SesEvents.sentOver(new JsonObject(), "2001:db8::25", "TLSv1.2"));
    assertEquals(List.of("ses:from-domain", "ses:outgoing-ip", "ses:outgoing-tls-version"),
        new ArrayList<>(event.getJsonObject("mail").getJsonObject("tags").fieldNames()));
  }

  /** An identity's notification has no tags (SES publishes none there): nor its detail what the tags were kept in. */
  @Test
  void aNotificationLeavesThemOut() {
    JsonObject mail = new JsonObject().put("messageId", "m-1");
    JsonObject n = SesEvents.notification(EventType.BOUNCE, mail,
        SesEvents.sentOver(new JsonObject().put("bounceType", "Permanent"), "198.51.100.7", "TLSv1.3"));
    assertEquals(new JsonObject().put("bounceType", "Permanent"), n.getJsonObject("bounce"));
    assertEquals(new JsonObject().put("messageId", "m-1"), n.getJsonObject("mail"));
  }

  private static SesEvents.MailFacts delivered(List<String> to, List<String> ips, List<String> tls) {
    return new SesEvents.MailFacts("m-1", "111122223333", "us-east-1", "a@example.com", java.time.Instant.EPOCH, to,
        null, new JsonArray(), new byte[0], null, null, null, null, "SendEmail", null, ips, tls, null);
  }

  private static JsonObject tagsOf(SesEvents.MailFacts f, EventType type, String recipient, JsonObject detail) {
    return SesEvents.event(type, SesEvents.mail(f), f.deliveredOver(type, recipient, detail)).getJsonObject("mail")
        .getJsonObject("tags");
  }

  /** A complaint or a later bounce of a recipient tags the connection that recipient was delivered over. */
  @Test
  void aLaterEventOfARecipientTagsTheConnectionItWasDeliveredOver() {
    SesEvents.MailFacts f = delivered(List.of("x@example.org", "Y@example.net", "z@example.com"),
        java.util.Arrays.asList("198.51.100.7", "203.0.113.5", null), java.util.Arrays.asList("TLSv1.3", null, null));
    JsonObject y = tagsOf(f, EventType.COMPLAINT, "y@EXAMPLE.net", new JsonObject());
    assertEquals(new JsonArray().add("203.0.113.5"), y.getJsonArray("ses:outgoing-ip"));
    assertFalse(y.containsKey("ses:outgoing-tls-version"));
    JsonObject x = tagsOf(f, EventType.BOUNCE, "x@example.org", new JsonObject());
    assertEquals(new JsonArray().add("TLSv1.3"), x.getJsonArray("ses:outgoing-tls-version"));
    // z was not delivered over a connection (a suppressed bounce, say): nothing to tag
    assertFalse(tagsOf(f, EventType.BOUNCE, "z@example.com", new JsonObject()).containsKey("ses:outgoing-ip"));
    // an attempt's own tags are its own; a Send or a Reject has no delivery behind it
    assertEquals(new JsonArray().add("192.0.2.1"), tagsOf(f, EventType.BOUNCE, "x@example.org",
        SesEvents.sentOver(new JsonObject(), "192.0.2.1", null)).getJsonArray("ses:outgoing-ip"));
    assertFalse(tagsOf(f, EventType.SEND, null, new JsonObject()).containsKey("ses:outgoing-ip"));
    assertFalse(tagsOf(f, EventType.REJECT, "x@example.org", new JsonObject()).containsKey("ses:outgoing-ip"));
  }

  /** An open or a click names no recipient: the connection is tagged when every delivered recipient went over it. */
  @Test
  void anOpenTagsTheConnectionOnlyWhenTheRecipientsShareIt() {
    SesEvents.MailFacts same = delivered(List.of("x@example.org", "y@example.net", "z@example.com"),
        java.util.Arrays.asList("198.51.100.7", null, "198.51.100.7"), java.util.Arrays.asList("TLSv1.3", null,
            "TLSv1.3"));
    JsonObject tags = tagsOf(same, EventType.OPEN, null, new JsonObject());
    assertEquals(new JsonArray().add("198.51.100.7"), tags.getJsonArray("ses:outgoing-ip"));
    assertEquals(new JsonArray().add("TLSv1.3"), tags.getJsonArray("ses:outgoing-tls-version"));

    // a Send (published after the delivery, from a backlog) has no delivery behind it
    assertFalse(tagsOf(same, EventType.SEND, null, new JsonObject()).containsKey("ses:outgoing-ip"));

    SesEvents.MailFacts apart = delivered(List.of("x@example.org", "y@example.net"),
        List.of("198.51.100.7", "198.51.100.7"), java.util.Arrays.asList("TLSv1.3", null));
    assertFalse(tagsOf(apart, EventType.CLICK, null, new JsonObject()).containsKey("ses:outgoing-ip"));
    SesEvents.MailFacts none = delivered(List.of("x@example.org"), java.util.Arrays.asList((String) null),
        java.util.Arrays.asList((String) null));
    assertFalse(tagsOf(none, EventType.OPEN, null, new JsonObject()).containsKey("ses:outgoing-ip"));
  }
}
