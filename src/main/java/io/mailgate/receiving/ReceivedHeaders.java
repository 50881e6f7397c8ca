package io.mailgate.receiving;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Header fields of a received message, found leniently: what any sender can send must not hide a field from the
 * checks that read it, where another reader of the message (a mail client, jDKIM, Python's email package) would see
 * it. So a line ends at CR, LF or CRLF (a bare CR ends a line for mime4j and most clients); a line that is no header
 * field is passed over (where a strict parse would give up on the whole header section); a field name may have space
 * and comments around it ({@code From :}, RFC 5322's obsolete syntax, or {@code (x)From:}); a first line that starts
 * with a space is a field, not a continuation of nothing. The header section ends at the first empty line.
 */
final class ReceivedHeaders {
  /** Most of a header section read: beyond it (no empty line yet), the fields cannot all be known. */
  static final int MAX_HEADER_BYTES = 1024 * 1024;

  /** The header section is longer than {@link #MAX_HEADER_BYTES}: a verdict on its fields cannot be had. */
  static final class TooLong extends RuntimeException {
    TooLong() {
      super("the header section is longer than " + MAX_HEADER_BYTES + " bytes", null, false, false);
    }
  }

  private ReceivedHeaders() {}

  /** A header line, as {@link #scan} finds it: a field's first line ({@code name} non-null) or a continuation. */
  private interface LineVisitor {
    /**
     * @param start where the line begins
     * @param next where the next line begins (after this one's ending)
     * @param name the field's name and {@code value} what follows its colon, for a field's first line; both null
     *     for a continuation line, and for a line that is no field
     */
    void line(int start, int next, String line, String name, String value, boolean continuation);
  }

  /**
   * Walks the header section's lines leniently (see the class): a line ends at CR, LF or CRLF, the section at the
   * first empty line or the end of the message.
   *
   * @throws TooLong when the header section does not end within {@link #MAX_HEADER_BYTES}
   */
  private static void scan(byte[] message, LineVisitor visitor) {
    boolean anyField = false;
    int start = 0;
    while (start < message.length) { // a message of headers only ends with its last line
      int end = start;
      while (end < message.length && message[end] != '\n' && message[end] != '\r') {
        end++;
      }
      if (end > MAX_HEADER_BYTES) {
        throw new TooLong();
      }
      if (end == start) {
        break; // the empty line: the body follows
      }
      // CRLF is one line ending; a bare CR or a bare LF is one too
      int next = end + (end + 1 < message.length && message[end] == '\r' && message[end + 1] == '\n' ? 2
          : end < message.length ? 1 : 0);
      String line = new String(message, start, end - start, StandardCharsets.UTF_8); // RFC 6532 allows UTF-8
      boolean continuation = anyField && (line.charAt(0) == ' ' || line.charAt(0) == '\t');
      String name = null;
      String value = null;
      if (!continuation) {
        anyField = true;
        int colon = line.indexOf(':');
        if (colon > 0) {
          name = fieldName(line.substring(0, colon));
          value = line.substring(colon + 1);
        }
      }
      visitor.line(start, next, line, name, value, continuation);
      start = next;
    }
  }

  /**
   * The values of the fields named {@code name} (any case), unfolded, in their order.
   *
   * @throws TooLong when the header section does not end within {@link #MAX_HEADER_BYTES}
   */
  static List<String> values(byte[] message, String name) {
    List<StringBuilder> fields = new ArrayList<>();
    StringBuilder[] current = {null};
    scan(message, (start, next, line, field, value, continuation) -> {
      if (continuation) {
        if (current[0] != null) {
          current[0].append(line);
        }
      } else {
        current[0] = field != null && field.equalsIgnoreCase(name) ? new StringBuilder(value) : null;
        if (current[0] != null) {
          fields.add(current[0]);
        }
      }
    });
    return fields.stream().map(StringBuilder::toString).toList();
  }

  /**
   * The message without the fields named {@code name} (any case) after the first {@code keep} of them, each with its
   * continuation lines and line endings; the message itself when it has no more than that. Fields are found as
   * {@link #values} finds them.
   *
   * @throws TooLong when the header section does not end within {@link #MAX_HEADER_BYTES}
   */
  static byte[] withoutFieldsAfter(byte[] message, String name, int keep) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int[] seen = {0};
    int[] copied = {0}; // message[copied, start) is still to be copied
    boolean[] dropping = {false};
    scan(message, (start, next, line, field, value, continuation) -> {
      if (!continuation) {
        dropping[0] = field != null && field.equalsIgnoreCase(name) && ++seen[0] > keep;
      }
      if (dropping[0]) {
        out.write(message, copied[0], start - copied[0]);
        copied[0] = next;
      }
    });
    if (seen[0] <= keep) {
      return message;
    }
    out.write(message, copied[0], message.length - copied[0]);
    return out.toByteArray();
  }

  /** A field name without the space and comments a lenient reader passes over. */
  private static String fieldName(String raw) {
    StringBuilder out = new StringBuilder(raw.length());
    int depth = 0;
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')' && depth > 0) {
        depth--;
      } else if (depth == 0 && c != ' ' && c != '\t') {
        out.append(c);
      }
    }
    return out.toString();
  }
}
