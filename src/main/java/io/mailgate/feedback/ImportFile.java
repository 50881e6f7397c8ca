package io.mailgate.feedback;

import io.mailgate.SesException;
import io.mailgate.lists.Contact;
import io.mailgate.lists.ContactList;
import io.mailgate.send.MailboxParser;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An import job's file, read into its records: CSV (RFC 4180: fields separated by commas, quoted with {@code "} when
 * they hold one, a comma or a line break; an optional first line naming the columns, {@code emailAddress} among them)
 * or JSON (JSON Lines: an object per line). Blank lines are skipped; a byte order mark at the start is ignored.
 *
 * <p>A suppression list's record is an address and, to put it on the list, its reason: CSV {@code address,BOUNCE}
 * (SES's example; white space around a field is trimmed), JSON {@code {"emailAddress": ..., "reason": ...}}. A contact
 * list's record is CSV {@code emailAddress,unsubscribeAll,topicPreferences,attributesData} (in that order, or in the
 * header's; {@code topicPreferences} is the API's TopicPreferences as JSON) or a JSON object with those fields (the
 * API's names, {@code EmailAddress}..., are read too). A record that cannot be read (an invalid address, a reason that
 * is neither BOUNCE nor COMPLAINT, a topic the list does not have) fails alone: the job goes on and counts it. The file
 * fails whole only when it is no text (not UTF-8) or has more than {@link #MAX_RECORDS} records.
 */
final class ImportFile {
  /** SES's limit on a file. */
  static final int MAX_RECORDS = 100_000;
  /** The header of the file of failed records. */
  static final List<String> FAILED_HEADER = List.of("lineNumber", "record", "errorMessage");
  private static final List<String> CONTACT_COLUMNS =
      List.of("emailAddress", "unsubscribeAll", "topicPreferences", "attributesData");

  /** A record that could be read: its key (what two records of one address share) and what is written of it. */
  record Entry(String key, Object value) {}

  /**
   * What a file holds: the records to write, one per key (the last of an address's records, where it stands in the
   * file), those that failed, as {@link #FAILED_HEADER} says, and how many records were read in all.
   */
  record Parsed(List<Entry> entries, List<JsonObject> failures, int records) {}

  private ImportFile() {}

  /** A suppression list's file; {@code put}: each record needs a reason (else its address is taken off the list). */
  static Parsed suppression(String format, boolean put, byte[] content) {
    return read(format, content, List.of("emailAddress", "reason"), fields -> {
      String email = email(fields.get("emailAddress"));
      if (!put) {
        return new Entry(email, null);
      }
      String given = fields.get("reason");
      String reason = given == null ? "" : given.strip().toUpperCase(Locale.ROOT);
      if (reason.isEmpty()) {
        throw SesException.badRequest("The record has no reason: BOUNCE or COMPLAINT.");
      }
      if (!reason.equals("BOUNCE") && !reason.equals("COMPLAINT")) {
        throw SesException.badRequest("The reason must be BOUNCE or COMPLAINT, not '" + fields.get("reason") + "'.");
      }
      return new Entry(email, reason);
    });
  }

  /** A contact list's file; {@code put}: each record is a whole contact (else only its address counts). */
  static Parsed contacts(String format, boolean put, byte[] content, ContactList list) {
    return read(format, content, CONTACT_COLUMNS, fields -> {
      String address = Contact.checkAddress(stripped(fields.get("emailAddress")));
      if (!put) {
        return new Entry(Contact.key(address), null);
      }
      JsonObject body = new JsonObject();
      String unsubscribe = stripped(fields.get("unsubscribeAll"));
      if (unsubscribe != null && !unsubscribe.isEmpty()) {
        if (!unsubscribe.equalsIgnoreCase("true") && !unsubscribe.equalsIgnoreCase("false")) {
          throw SesException.badRequest("unsubscribeAll must be true or false, not '" + unsubscribe + "'.");
        }
        body.put("UnsubscribeAll", Boolean.parseBoolean(unsubscribe.toLowerCase(Locale.ROOT)));
      }
      String preferences = stripped(fields.get("topicPreferences"));
      if (preferences != null && !preferences.isEmpty()) {
        try {
          body.put("TopicPreferences", new io.vertx.core.json.JsonArray(preferences));
        } catch (DecodeException e) {
          throw SesException.badRequest("topicPreferences is not a JSON array of TopicName and SubscriptionStatus.");
        }
      }
      String attributes = fields.get("attributesData");
      if (attributes != null && !attributes.isEmpty()) {
        body.put("AttributesData", attributes);
      }
      return new Entry(Contact.key(address), Contact.fromRequest(address, body, list));
    });
  }

  private interface RecordReader {
    Entry read(Map<String, String> fields);
  }

  private static Parsed read(String format, byte[] content, List<String> columns, RecordReader reader) {
    String text = text(content);
    boolean csv = format.equals("CSV");
    Map<String, Entry> entries = new LinkedHashMap<>();
    List<JsonObject> failures = new ArrayList<>();
    int records = 0;
    List<String> order = columns;
    Lines lines = new Lines(text, csv);
    for (List<String> fields = lines.next(); fields != null; fields = lines.next()) {
      int line = lines.line;
      if (csv && records == 0 && failures.isEmpty() && order == columns
          && fields.stream().anyMatch(f -> f.strip().equalsIgnoreCase(columns.get(0)))) {
        order = header(fields, columns);
        continue;
      }
      if (++records > MAX_RECORDS) {
        throw SesException.badRequest("The file has more than " + String.format(Locale.ROOT, "%,d", MAX_RECORDS)
            + " records: split it, and import the parts.");
      }
      try {
        Entry e = reader.read(csv ? named(fields, order) : json(lines.raw, columns));
        entries.remove(e.key()); // the last record of an address is the one that counts, where it stands
        entries.put(e.key(), e);
      } catch (SesException e) {
        failures.add(new JsonObject().put("lineNumber", line).put("record", lines.raw.length() > 1000
            ? lines.raw.substring(0, 1000) + "..." : lines.raw).put("errorMessage", e.getMessage()));
      }
    }
    return new Parsed(new ArrayList<>(entries.values()), failures, records);
  }

  /** The columns a header names, each one of {@code columns}, once. */
  private static List<String> header(List<String> fields, List<String> columns) {
    List<String> order = new ArrayList<>();
    for (String f : fields) {
      String name = columns.stream().filter(c -> c.equalsIgnoreCase(f.strip())).findFirst().orElseThrow(() ->
          SesException.badRequest("The header names a column '" + f.strip() + "'; the columns are "
              + String.join(", ", columns) + "."));
      if (order.contains(name)) {
        throw SesException.badRequest("The header names the column " + name + " twice.");
      }
      order.add(name);
    }
    return order;
  }

  private static Map<String, String> named(List<String> fields, List<String> order) {
    if (fields.size() > order.size()) {
      throw SesException.badRequest("The record has " + fields.size() + " fields; at most " + order.size() + " ("
          + String.join(", ", order) + ").");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < fields.size(); i++) {
      out.put(order.get(i), fields.get(i));
    }
    return out;
  }

  /** A JSON line's fields, by {@code columns}' names or the API's (the same, capitalized). */
  private static Map<String, String> json(String line, List<String> columns) {
    JsonObject o;
    try {
      o = new JsonObject(line);
    } catch (DecodeException | ClassCastException e) {
      throw SesException.badRequest("The line is not a JSON object.");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String c : columns) {
      Object v = o.getValue(c);
      if (v == null) {
        v = o.getValue(Character.toUpperCase(c.charAt(0)) + c.substring(1));
      }
      if (v != null) {
        out.put(c, v instanceof String s ? s : v.toString()); // an array or object as its JSON, a boolean as text
      }
    }
    return out;
  }

  private static String email(String raw) {
    if (raw == null || raw.isBlank()) {
      throw SesException.badRequest("The record has no email address.");
    }
    return MailboxParser.parseAddrSpec(raw.strip()).address().toLowerCase(Locale.ROOT);
  }

  private static String stripped(String s) {
    return s == null ? null : s.strip();
  }

  /** The file's text: UTF-8, strictly (a file of another encoding would import addresses no one has). */
  private static String text(byte[] content) {
    try {
      String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(content)).toString();
      return s.startsWith("\uFEFF") ? s.substring(1) : s;
    } catch (CharacterCodingException e) {
      throw SesException.badRequest("The file is not UTF-8 text.");
    }
  }

  /**
   * The records of a file, one after the other: a CSV record's fields (a quoted field may hold line breaks), or a JSON
   * line alone. {@link #line} is where the record last read starts (from 1), {@link #raw} its text. Blank lines are
   * skipped. A quote left open runs to the end of the file, as one record (that then fails alone, or reads oddly).
   */
  private static final class Lines {
    private final String text;
    private final boolean csv;
    private int pos;
    private int lineNo = 1;
    int line;
    String raw;

    Lines(String text, boolean csv) {
      this.text = text;
      this.csv = csv;
    }

    List<String> next() {
      while (pos < text.length()) {
        int start = pos;
        line = lineNo;
        List<String> fields = csv ? csvRecord() : null;
        if (!csv) {
          int nl = text.indexOf('\n', pos);
          int end = nl < 0 ? text.length() : nl;
          pos = nl < 0 ? text.length() : nl + 1;
          lineNo++;
          fields = List.of();
          raw = text.substring(start, end > start && text.charAt(end - 1) == '\r' ? end - 1 : end);
        } else {
          int end = pos;
          while (end > start && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) {
            end--;
          }
          raw = text.substring(start, end);
        }
        if (!raw.isBlank()) {
          return fields;
        }
      }
      return null;
    }

    /** One CSV record from {@link #pos}, which ends past its line break. */
    private List<String> csvRecord() {
      List<String> fields = new ArrayList<>();
      StringBuilder field = new StringBuilder();
      boolean quoted = false;
      while (pos < text.length()) {
        char c = text.charAt(pos++);
        if (quoted) {
          if (c == '"') {
            if (pos < text.length() && text.charAt(pos) == '"') {
              field.append('"');
              pos++;
            } else {
              quoted = false;
            }
          } else {
            if (c == '\n') {
              lineNo++;
            }
            field.append(c);
          }
        } else if (c == '"') {
          quoted = true;
        } else if (c == ',') {
          fields.add(field.toString());
          field.setLength(0);
        } else if (c == '\n') {
          lineNo++;
          break;
        } else if (c != '\r' || (pos < text.length() && text.charAt(pos) != '\n')) {
          field.append(c);
        }
      }
      fields.add(field.toString());
      return fields;
    }
  }
}
