package io.mailgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.events.SesEvents.NotifiedHeaders;
import io.mailgate.events.SesEvents.ReceivedField;
import io.mailgate.events.SesEvents.ReceivedFields;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NotifiedHeadersTest {

  private static ReceivedField field(String name, String value) {
    return new ReceivedField(name, " " + value, name.length() + value.length() + 4);
  }

  private static JsonObject mail(NotifiedHeaders headers) {
    return SesEvents.receivedMail("id", "s@x.example", Instant.EPOCH, List.of("r@y.example"), headers);
  }

  @Test
  void fieldsPutBeforeTheMessagesOwnComeFirst() {
    ReceivedField subject = field("Subject", "=?UTF-8?Q?caf=C3=A9?=");
    ReceivedField spoofed = field("Return-Path", "<spoofed@evil.example>");
    NotifiedHeaders headers = NotifiedHeaders.of(new ReceivedFields(List.of(spoofed, subject), true,
        Map.of("subject", subject, "return-path", spoofed)))
        .withLeading(List.of(field("Return-Path", "<a@b.example>"), field("Received", "from x")))
        .withLeading(List.of(field("X-Added", "yes")));
    JsonObject mail = mail(headers);
    assertEquals(List.of("Return-Path", "Received", "X-Added", "Return-Path", "Subject"),
        mail.getJsonArray("headers").stream().map(h -> ((JsonObject) h).getString("name")).toList());
    assertEquals("<a@b.example>", mail.getJsonArray("headers").getJsonObject(0).getString("value"));
    JsonObject common = mail.getJsonObject("commonHeaders");
    assertEquals("a@b.example", common.getString("returnPath"), "the address, as SES gives it");
    assertEquals("caf\u00e9", common.getString("subject"));
    assertFalse(mail.getBoolean("headersTruncated"));
  }

  /**
   * A header section longer than what is stored of it (64 KB) is cut, maybe inside a field's name: the fields before
   * that one are shown (and commonHeaders filled), said to be cut, rather than none at all.
   */
  @Test
  void headersCutInsideAFieldNameStillShowTheFieldsBefore() {
    String head = "From: a@example.com\r\nSubject: hello\r\nMessage-ID: <m@example.com>\r\nReferences: <r@x>\r\n"
        + " <s@x>\r\nX-Cut-Inside-Its-Na";
    JsonObject mail = SesEvents.mail(new SesEvents.MailFacts("id", "111122223333", "us-east-1", "a@example.com",
        Instant.EPOCH, List.of("r@y.example"), null, new JsonArray(), head.getBytes(java.nio.charset.StandardCharsets
        .US_ASCII), null, null, null, null, null, null));
    assertTrue(mail.getBoolean("headersTruncated"));
    assertEquals(List.of("From", "Subject", "Message-ID", "References"),
        mail.getJsonArray("headers").stream().map(h -> ((JsonObject) h).getString("name")).toList());
    assertEquals("hello", mail.getJsonObject("commonHeaders").getString("subject"));
    assertEquals(0, SesEvents.lastFieldStart("no line at all".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
  }

  /**
   * A raw message's own Date and Message-ID are shown in place of Mailgate's, and count toward the headers' 10 KB as
   * long as they are: a caller's Message-ID of 20 KB is not shown past it, the headers said to be cut.
   */
  @Test
  void theCallersOwnFieldsAreShownAndCountAsLongAsTheyAre() {
    String head = "From: a@example.com\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        + "Message-ID: <id@mailgate.example>\r\nSubject: s\r\n";
    byte[] given = "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <mine@app.example>\r\n"
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    JsonObject mail = SesEvents.mail(new SesEvents.MailFacts("id", "111122223333", "us-east-1", "a@example.com",
        Instant.EPOCH, List.of("r@y.example"), null, new JsonArray(), head.getBytes(java.nio.charset.StandardCharsets
        .US_ASCII), null, null, null, null, null, given));
    assertEquals(List.of("a@example.com", "Mon, 01 Jan 2024 00:00:00 +0000", "<mine@app.example>", "s"),
        mail.getJsonArray("headers").stream().map(h -> ((JsonObject) h).getString("value").strip()).toList());
    assertEquals("Mon, 01 Jan 2024 00:00:00 +0000", mail.getJsonObject("commonHeaders").getString("date").strip());
    assertEquals("id", mail.getJsonObject("commonHeaders").getString("messageId"), "an event's is the MessageId");
    assertFalse(mail.getBoolean("headersTruncated"));

    byte[] huge = ("Message-ID: <" + "x".repeat(20_000) + "@app.example>\r\n")
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    JsonObject cut = SesEvents.mail(new SesEvents.MailFacts("id", "111122223333", "us-east-1", "a@example.com",
        Instant.EPOCH, List.of("r@y.example"), null, new JsonArray(), head.getBytes(java.nio.charset.StandardCharsets
        .US_ASCII), null, null, null, null, null, huge));
    assertTrue(cut.getBoolean("headersTruncated"));
    assertEquals(List.of("From", "Date"),
        cut.getJsonArray("headers").stream().map(h -> ((JsonObject) h).getString("name")).toList());
  }

  /**
   * An address list is split into its addresses before their encoded words are decoded: an Outlook "Last, First" name
   * carries its comma encoded, and split after decoding it made two addresses of one; decoded, such a name is quoted.
   */
  @Test
  void anEncodedCommaStaysInItsAddress() {
    String head = "From: =?UTF-8?Q?M=C3=BCller=2C_Hans?= <h@example.com>\r\n"
        + "To: =?UTF-8?B?RG9lLCBKYW5l?= <j@example.org>, \"Roe, Rick\" <r@example.org>, plain@example.org,\r\n"
        + " =?UTF-8?Q?The_=22Best=22_Shop?= <s@example.org>, =?UTF-8?Q?J=C3=BCrgen?= <g@example.org>,\r\n"
        + " \"John Doe\" <jd@example.org>, \"O\\'Neil \\\"Q\\\"\" <q@example.org>, \"\" <e@example.org>\r\n"
        + "Subject: hi\r\n";
    JsonObject sent = SesEvents.mail(new SesEvents.MailFacts("id", "111122223333", "us-east-1", "h@example.com",
        Instant.EPOCH, List.of("j@example.org"), null, new JsonArray(), head.getBytes(java.nio.charset.StandardCharsets
        .US_ASCII), null, null, null, null, null, null)).getJsonObject("commonHeaders");
    assertEquals(new JsonArray().add("\"M\u00fcller, Hans\" <h@example.com>"), sent.getJsonArray("from"),
        "its name quoted once decoded, as JavaMail writes it: one address to a parser still");
    assertEquals(new JsonArray().add("\"Doe, Jane\" <j@example.org>").add("\"Roe, Rick\" <r@example.org>")
        .add("plain@example.org").add("\"The \\\"Best\\\" Shop\" <s@example.org>").add("J\u00fcrgen <g@example.org>")
        // a quoted name is quoted only when it needs it, as SES shows "John Doe" <jd@...>
        .add("John Doe <jd@example.org>").add("\"O'Neil \\\"Q\\\"\" <q@example.org>").add("\"\" <e@example.org>"),
        sent.getJsonArray("to"));
    ReceivedField from = field("From", "=?UTF-8?Q?M=C3=BCller=2C_Hans?= <h@example.com>");
    JsonObject received = mail(NotifiedHeaders.of(new ReceivedFields(List.of(from), true, Map.of("from", from))))
        .getJsonObject("commonHeaders");
    assertEquals(new JsonArray().add("\"M\u00fcller, Hans\" <h@example.com>"), received.getJsonArray("from"));
  }

  @Test
  void theHeadersStopAtTenKilobytes() {
    ReceivedField big = new ReceivedField("X-Big", " " + "x".repeat(6000), 6009);
    NotifiedHeaders headers = NotifiedHeaders.of(new ReceivedFields(List.of(big), true, Map.of()));
    assertFalse(mail(headers).getBoolean("headersTruncated"));
    JsonObject mail = mail(headers.withLeading(List.of(new ReceivedField("X-Added", " " + "y".repeat(5000), 5011))));
    assertTrue(mail.getBoolean("headersTruncated"));
    assertEquals(1, mail.getJsonArray("headers").size());
    assertEquals(new JsonArray(), mail(NotifiedHeaders.of(new ReceivedFields(List.of(), false, Map.of())))
        .getJsonArray("headers"));
    assertTrue(mail(NotifiedHeaders.of(new ReceivedFields(List.of(), false, Map.of()))).getBoolean("headersTruncated"),
        "fields not read are fields not shown");
  }
}
