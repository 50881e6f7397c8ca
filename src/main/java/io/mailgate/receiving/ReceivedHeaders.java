package io.mailgate.receiving;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Header fields of a received message, found leniently: what any sender can send must not hide a field from the
 * checks that read it. A line that is no header field is passed over (where a strict parse would give up on the whole
 * header section), and {@code Name :} (RFC 5322's obsolete syntax, space before the colon) counts; the header section
 * ends at the first empty line.
 */
final class ReceivedHeaders {
  private ReceivedHeaders() {}

  /** The values of the fields named {@code name} (any case), unfolded, in their order. */
  static List<String> values(byte[] message, String name) {
    List<StringBuilder> fields = new ArrayList<>();
    StringBuilder current = null;
    int start = 0;
    while (start < message.length) {
      int end = start;
      while (end < message.length && message[end] != '\n') {
        end++;
      }
      int stop = end > start && message[end - 1] == '\r' ? end - 1 : end;
      if (stop == start) {
        break; // the empty line: the body follows
      }
      String line = new String(message, start, stop - start, StandardCharsets.UTF_8); // RFC 6532 allows UTF-8
      if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
        if (current != null) {
          current.append(line);
        }
      } else {
        int colon = line.indexOf(':');
        current = colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase(name)
            ? new StringBuilder(line.substring(colon + 1)) : null;
        if (current != null) {
          fields.add(current);
        }
      }
      start = end + 1;
    }
    return fields.stream().map(StringBuilder::toString).toList();
  }
}
