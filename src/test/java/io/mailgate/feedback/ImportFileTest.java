package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesException;
import io.mailgate.lists.Contact;
import io.mailgate.lists.ContactList;
import io.mailgate.lists.SubscriptionStatus;
import io.mailgate.lists.Topic;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An import job's file read into its records: CSV and JSON Lines, records that fail alone, files that fail whole. */
class ImportFileTest {
  static final ContactList LIST = new ContactList("news", null,
      List.of(Topic.fromJson(new JsonObject().put("TopicName", "sports").put("DisplayName", "Sports")
          .put("DefaultSubscriptionStatus", "OPT_IN"), "Topics")), null, null, null);

  static ImportFile.Parsed suppression(String format, boolean put, String text) {
    return ImportFile.suppression(format, put, text.getBytes(StandardCharsets.UTF_8));
  }

  static List<String> keys(ImportFile.Parsed p) {
    return p.entries().stream().map(ImportFile.Entry::key).toList();
  }

  @Test
  void csvRecordsWithQuotesHeaderBlankLinesAndAByteOrderMark() {
    ImportFile.Parsed p = suppression("CSV", true, "\uFEFFEmailAddress , Reason\r\n\r\n"
        + "\"a@example.com\",\"BOUNCE\"\r\n"
        + "  b@example.com , complaint \n"
        + "\"x,y\"@example.com,BOUNCE\n"
        + "last@example.com,BOUNCE");
    assertEquals(List.of("a@example.com", "b@example.com", "last@example.com"), keys(p));
    assertEquals(List.of("BOUNCE", "COMPLAINT", "BOUNCE"), p.entries().stream().map(e -> e.value()).toList());
    assertEquals(4, p.records());
    assertEquals(1, p.failures().size()); // the quotes around "x,y" end at its second quote: a field of its own
    assertEquals(5, p.failures().get(0).getInteger("lineNumber"));
  }

  @Test
  void theLastRecordOfAnAddressCountsWhereItStands() {
    ImportFile.Parsed p = suppression("CSV", true, "a@example.com,BOUNCE\nb@example.com,BOUNCE\nA@Example.com,"
        + "COMPLAINT\n");
    assertEquals(List.of("b@example.com", "a@example.com"), keys(p));
    assertEquals("COMPLAINT", p.entries().get(1).value());
    assertEquals(3, p.records());
  }

  @Test
  void aQuotedFieldMayHoldLineBreaksAndTheNextRecordKnowsItsLine() {
    ImportFile.Parsed p = ImportFile.contacts("CSV", true, ("a@example.com,,,\"line one\nline two\"\n"
        + "bad address,,,\n").getBytes(StandardCharsets.UTF_8), LIST);
    assertEquals("line one\nline two", ((Contact) p.entries().get(0).value()).attributesData());
    assertEquals(3, p.failures().get(0).getInteger("lineNumber"));
  }

  @Test
  void contactsByHeaderOrderOrTheDefaultOne() {
    String prefs = "\"[{\"\"TopicName\"\":\"\"sports\"\",\"\"SubscriptionStatus\"\":\"\"OPT_OUT\"\"}]\"";
    ImportFile.Parsed byHeader = ImportFile.contacts("CSV", true, ("attributesData,emailAddress,topicPreferences\n"
        + "{},Ann@example.com," + prefs + "\n").getBytes(StandardCharsets.UTF_8), LIST);
    Contact ann = (Contact) byHeader.entries().get(0).value();
    assertEquals("ann@example.com", byHeader.entries().get(0).key());
    assertEquals("Ann@example.com", ann.address());
    assertEquals(Map.of("sports", SubscriptionStatus.OPT_OUT), ann.preferences());
    assertEquals("{}", ann.attributesData());

    ImportFile.Parsed json = ImportFile.contacts("JSON", true, ("{\"EmailAddress\":\"b@example.com\","
        + "\"UnsubscribeAll\":true,\"TopicPreferences\":[{\"TopicName\":\"sports\",\"SubscriptionStatus\":\"OPT_IN\"}],"
        + "\"attributesData\":{\"n\":1}}\n"
        + "{\"emailAddress\":\"c@example.com\",\"topicPreferences\":[{\"TopicName\":\"golf\",\"SubscriptionStatus\":"
        + "\"OPT_IN\"}]}\n").getBytes(StandardCharsets.UTF_8), LIST);
    Contact b = (Contact) json.entries().get(0).value();
    assertTrue(b.unsubscribeAll());
    assertEquals("{\"n\":1}", b.attributesData());
    assertEquals(1, json.failures().size());
    assertEquals("Topic golf does not exist in contact list news.", json.failures().get(0).getString("errorMessage"));

    // a header naming a column that is not one fails the file
    assertThrows(SesException.class, () -> ImportFile.contacts("CSV", true,
        "emailAddress,colour\na@example.com,red\n".getBytes(StandardCharsets.UTF_8), LIST));
    // a deletion reads only the address
    ImportFile.Parsed delete = ImportFile.contacts("CSV", false, "a@example.com,,nonsense,\n"
        .getBytes(StandardCharsets.UTF_8), LIST);
    assertEquals(List.of("a@example.com"), keys(delete));
    assertEquals(0, delete.failures().size());
  }

  @Test
  void recordsThatFailAlone() {
    ImportFile.Parsed p = suppression("JSON", true, "{\"emailAddress\":\"a@example.com\",\"reason\":\"BOUNCE\"}\n"
        + "not json\n"
        + "{\"emailAddress\":\"a@b\\r\\nBcc: x@example.com\",\"reason\":\"BOUNCE\"}\n"
        + "{\"reason\":\"BOUNCE\"}\n"
        + "{\"emailAddress\":\"c@example.com\",\"reason\":\"HARD\"}\n"
        + "{\"emailAddress\":\"" + "x".repeat(300) + "@example.com\",\"reason\":\"BOUNCE\"}\n");
    assertEquals(List.of("a@example.com"), keys(p));
    assertEquals(List.of(2, 3, 4, 5, 6), p.failures().stream().map(f -> f.getInteger("lineNumber")).toList());
    assertEquals(6, p.records());
    assertTrue(p.failures().get(1).getString("errorMessage").contains("control character"));
  }

  @Test
  void filesThatFailWhole() {
    assertThrows(SesException.class, () -> ImportFile.suppression("CSV", true,
        new byte[] {'a', '@', 'b', '.', 'c', (byte) 0xe9, '\n'}));
    StringBuilder many = new StringBuilder();
    for (int i = 0; i < ImportFile.MAX_RECORDS; i++) {
      many.append('a').append(i).append("@example.com\n");
    }
    assertEquals(ImportFile.MAX_RECORDS, suppression("CSV", false, many.toString()).entries().size());
    SesException e = assertThrows(SesException.class,
        () -> suppression("CSV", false, many + "one.more@example.com\n"));
    assertTrue(e.getMessage().startsWith("The file has more than 100,000 records"), e.getMessage());
  }
}
