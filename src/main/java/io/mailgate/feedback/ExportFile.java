package io.mailgate.feedback;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigDecimal;
import java.util.List;

/**
 * An export job's file: its records as CSV (RFC 4180: a header line, then a line per record, CRLF line ends, a field
 * quoted when it holds a comma, a quote, a line break or edge white space) or as JSON (JSON Lines: an object per line,
 * its fields those the record has).
 */
final class ExportFile {
  private ExportFile() {}

  static Buffer write(String format, List<String> header, List<JsonObject> records) {
    return format.equals("CSV") ? csv(header, records) : json(records);
  }

  static Buffer csv(List<String> header, List<JsonObject> records) {
    StringBuilder out = new StringBuilder();
    line(out, header.stream().map(h -> (Object) h).toList());
    for (JsonObject r : records) {
      line(out, header.stream().map(r::getValue).toList());
    }
    return Buffer.buffer(out.toString());
  }

  private static void line(StringBuilder out, List<Object> fields) {
    for (int i = 0; i < fields.size(); i++) {
      if (i > 0) {
        out.append(',');
      }
      out.append(field(fields.get(i)));
    }
    out.append("\r\n");
  }

  /** A field's text: empty for none, numbers in plain decimal, lists and objects as their JSON, quoted as needed. */
  static String field(Object value) {
    String s = value == null ? ""
        : value instanceof Double d ? new BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString()
        : value instanceof JsonObject || value instanceof JsonArray ? value.toString()
        : value.toString();
    boolean quoted = !s.isEmpty() && (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\r') >= 0
        || s.indexOf('\n') >= 0 || Character.isWhitespace(s.charAt(0))
        || Character.isWhitespace(s.charAt(s.length() - 1)));
    return quoted ? '"' + s.replace("\"", "\"\"") + '"' : s;
  }

  static Buffer json(List<JsonObject> records) {
    Buffer out = Buffer.buffer();
    for (JsonObject r : records) {
      out.appendBuffer(r.toBuffer()).appendByte((byte) '\n');
    }
    return out;
  }
}
