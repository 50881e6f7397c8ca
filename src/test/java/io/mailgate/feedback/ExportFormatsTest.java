package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesException;
import io.mailgate.store.VdmStore;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.LocalDate;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * What export files hold and how their data sources read: CSV quoting (RFC 4180), JSON Lines, SES's partial matches
 * and their escapes, a message's last delivery and engagement events by SES's order, the metrics' rates and what they
 * are shares of.
 */
class ExportFormatsTest {

  @Test
  void csvQuotesWhatNeedsItAndJsonIsALinePerRecord() {
    List<JsonObject> records = List.of(
        new JsonObject().put("A", "plain").put("B", 0.25).put("C", 3),
        new JsonObject().put("A", "a, \"b\"").put("C", new JsonArray().add("x")),
        new JsonObject().put("A", " edge").put("B", 1e-7).put("C", "two\r\nlines"));
    assertEquals("A,B,C\r\nplain,0.25,3\r\n\"a, \"\"b\"\"\",,\"[\"\"x\"\"]\"\r\n"
        + "\" edge\",0.0000001,\"two\r\nlines\"\r\n",
        ExportFile.write("CSV", List.of("A", "B", "C"), records).toString());
    assertEquals("{\"A\":\"plain\",\"B\":0.25,\"C\":3}\n{\"A\":\"a, \\\"b\\\"\",\"C\":[\"x\"]}\n"
        + "{\"A\":\" edge\",\"B\":1.0E-7,\"C\":\"two\\r\\nlines\"}\n",
        ExportFile.write("JSON", List.of("A", "B", "C"), records).toString());
    assertEquals("A\r\n", ExportFile.write("CSV", List.of("A"), List.of()).toString(), "a header alone");
    assertEquals("", ExportFile.write("JSON", List.of("A"), List.of()).toString());
  }

  @Test
  void partialMatchesAreSesOnesWithTheirEscapes() {
    Predicate<String> exact = MessageInsightsExport.pattern("news@example.com");
    assertTrue(exact.test("news@example.com"));
    assertFalse(exact.test("News@example.com"), "case-sensitive");
    assertFalse(exact.test("news@example.com.au"));
    assertTrue(MessageInsightsExport.pattern("news@*").test("news@a.example"));
    assertFalse(MessageInsightsExport.pattern("news@*").test("old-news@a.example"));
    assertTrue(MessageInsightsExport.pattern("*@gmail.com").test("a@gmail.com"));
    assertFalse(MessageInsightsExport.pattern("*@gmail.com").test("a@gmail.com.evil"));
    assertTrue(MessageInsightsExport.pattern("*Sale*").test("Big Sale today"));
    assertTrue(MessageInsightsExport.pattern("*").test("anything"));
    assertTrue(MessageInsightsExport.pattern("50\\*").test("50*"));
    assertFalse(MessageInsightsExport.pattern("50\\*").test("500"));
    assertTrue(MessageInsightsExport.pattern("\\**").test("*starred"), "a literal star, then any");
    assertTrue(MessageInsightsExport.pattern("a\\\\b").test("a\\b"));
    assertThrows(IllegalArgumentException.class, () -> MessageInsightsExport.pattern("a*b"));
    assertThrows(IllegalArgumentException.class, () -> MessageInsightsExport.pattern("a\\b"));
    assertThrows(IllegalArgumentException.class, () -> MessageInsightsExport.pattern("a\\"));
  }

  private static JsonArray events(String... types) {
    JsonArray out = new JsonArray();
    for (String t : types) {
      String[] parts = t.split(":");
      JsonObject e = new JsonObject().put("Type", parts[0]);
      if (parts.length > 1) {
        e.put("Details", new JsonObject().put("Bounce", new JsonObject().put("BounceType", parts[1])));
      }
      out.add(e);
    }
    return out;
  }

  @Test
  void theLastEventsGoBySesOrderNotByTime() {
    assertEquals("SEND", MessageInsightsExport.lastDelivery(events("SEND")));
    assertEquals("DELIVERY", MessageInsightsExport.lastDelivery(events("SEND", "DELIVERY_DELAY", "DELIVERY")));
    assertEquals("PERMANENT_BOUNCE", MessageInsightsExport.lastDelivery(events("SEND", "BOUNCE:TRANSIENT",
        "BOUNCE:PERMANENT")));
    assertEquals("UNDETERMINED_BOUNCE", MessageInsightsExport.lastDelivery(events("SEND", "BOUNCE")));
    assertEquals("DELIVERY", MessageInsightsExport.lastDelivery(events("SEND", "DELIVERY", "BOUNCE:PERMANENT")),
        "a bounce after a delivery (a DSN) ranks below it");
    assertEquals("COMPLAINT", MessageInsightsExport.lastDelivery(events("SEND", "DELIVERY", "OPEN", "COMPLAINT")));
    assertNull(MessageInsightsExport.lastDelivery(events("RENDERING_FAILURE")));
    assertEquals("CLICK", MessageInsightsExport.lastEngagement(events("SEND", "CLICK", "OPEN")));
    assertEquals("OPEN", MessageInsightsExport.lastEngagement(events("SEND", "OPEN", "OPEN")));
    assertNull(MessageInsightsExport.lastEngagement(events("SEND", "DELIVERY")));
  }

  @Test
  void filtersJoinFieldsByAndAndValuesByOr() {
    MessageInsightsExport.Source s = MessageInsightsExport.parse(new JsonObject().put("StartDate", 1).put("EndDate", 2)
        .put("Include", new JsonObject().put("Isp", new JsonArray().add("Gmail").add("Yahoo"))
            .put("Subject", new JsonArray().add("Receipt*")))
        .put("Exclude", new JsonObject().put("LastDeliveryEvent", new JsonArray().add("PERMANENT_BOUNCE"))), "S");
    JsonObject gmail = new JsonObject().put("Isp", "Gmail").put("Subject", "Receipt 7").put("LastDeliveryEvent",
        "DELIVERY");
    assertTrue(s.include().test(gmail) && !s.exclude().test(gmail));
    assertTrue(s.include().test(gmail.copy().put("Isp", "Yahoo")));
    assertFalse(s.include().test(gmail.copy().put("Isp", "Outlook")));
    assertFalse(s.include().test(gmail.copy().put("Subject", "Alert")));
    assertFalse(s.include().test(new JsonObject().put("Isp", "Gmail")), "no subject matches no subject filter");
    assertTrue(s.exclude().test(gmail.copy().put("LastDeliveryEvent", "PERMANENT_BOUNCE")));
    assertEquals(MessageInsightsExport.MAX_RESULTS, s.maxResults());

    MessageInsightsExport.Source none = MessageInsightsExport.parse(new JsonObject().put("StartDate", 1)
        .put("EndDate", 2).put("MaxResults", 5).put("Include", new JsonObject()).put("Exclude", new JsonObject()), "S");
    assertTrue(none.include().test(gmail), "an empty Include keeps all");
    assertFalse(none.exclude().test(gmail), "an empty Exclude drops none");
    assertEquals(5, none.maxResults());
    assertThrows(SesException.class, () -> MessageInsightsExport.parse(new JsonObject().put("StartDate", 1)
        .put("EndDate", 2).put("MaxResults", 2.5), "S"));
    assertThrows(SesException.class, () -> MessageInsightsExport.parse(new JsonObject().put("StartDate", 1)
        .put("EndDate", 2).put("Include", new JsonObject().put("Isp", "Gmail")), "S"));
  }

  @Test
  void ratesAreSharesOfWhatCouldShowThem() {
    MetricsExport e = MetricsExport.parse(new JsonObject().put("Namespace", "VDM")
        .put("Dimensions", new JsonObject().put("ISP", new JsonArray().add("*")).put("EMAIL_IDENTITY",
            new JsonArray().add("a@x.example")))
        .put("Metrics", new JsonArray().add(new JsonObject().put("Name", "OPEN").put("Aggregation", "RATE"))
            .add(new JsonObject().put("Name", "PERMANENT_BOUNCE").put("Aggregation", "RATE"))
            .add(new JsonObject().put("Name", "COMPLAINT").put("Aggregation", "RATE"))
            .add(new JsonObject().put("Name", "SEND")))
        .put("StartDate", 1796119200).put("EndDate", "2026-12-05T23:59:59Z"), "M");
    assertEquals(List.of("EMAIL_IDENTITY", "ISP"), e.groupBy(), "in the dimensions' order, whatever the request's");
    assertEquals(List.of("Date", "EMAIL_IDENTITY", "ISP", "OPEN_RATE", "PERMANENT_BOUNCE_RATE", "COMPLAINT_RATE",
        "SEND_VOLUME"), e.header());
    assertEquals(new VdmStore.Filter(List.of("a@x.example"), null, null), e.filter());
    assertEquals(LocalDate.parse("2026-12-01"), e.from());
    assertEquals(LocalDate.parse("2026-12-05"), e.to());
    // SEND, DELIVERY, PERMANENT_BOUNCE, TRANSIENT_BOUNCE, COMPLAINT, OPEN, CLICK, DELIVERY_OPEN, _CLICK, _COMPLAINT
    VdmStore.Sums row = new VdmStore.Sums(LocalDate.parse("2026-12-01"), List.of("a@x.example", "Gmail"),
        new long[] {200, 190, 10, 0, 1, 40, 5, 80, 0, 0});
    assertEquals(List.of(0.5, 0.05), List.of(e.metrics().get(0).value(row), e.metrics().get(1).value(row)));
    assertNull(e.metrics().get(2).value(row), "no delivery to a provider with a feedback loop: no complaint rate");
    assertEquals(200L, e.metrics().get(3).value(row));
  }
}
