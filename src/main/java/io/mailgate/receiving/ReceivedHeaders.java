package io.mailgate.receiving;

import io.mailgate.events.SesEvents;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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

  /**
   * The header fields a receipt notification's {@code mail} object shows ({@link SesEvents#receivedMail}), found as
   * {@link #values} finds them (a line that is no field is passed over, with its continuation lines): the first
   * fields, in order, as long as they take no more than {@code headBytes} together, and the first field of each of
   * {@code commonNames} (lower case) in the whole header section. The section is read up to its empty line, and no
   * further than {@link #MAX_HEADER_BYTES} (the fields beyond are not known, and the head is then incomplete): a
   * header section of millions of lines costs no more than its first megabyte. A value is what follows the colon,
   * unfolded (line endings taken out), decoded as UTF-8 (RFC 6532), and not stripped.
   */
  static SesEvents.ReceivedFields notified(byte[] message, int headBytes, Set<String> commonNames) {
    Notified found = new Notified(headBytes, commonNames);
    boolean anyField = false;
    boolean ended = false; // the header section ended within what was read
    int start = 0;
    while (!found.done()) {
      if (start >= message.length) {
        ended = true; // a message of headers only ends with its last line
        break;
      }
      int end = start;
      while (end < message.length && message[end] != '\n' && message[end] != '\r') {
        end++;
      }
      if (end > MAX_HEADER_BYTES) {
        break;
      }
      if (end == start) {
        ended = true; // the empty line: the body follows
        break;
      }
      int next = end + (end + 1 < message.length && message[end] == '\r' && message[end + 1] == '\n' ? 2
          : end < message.length ? 1 : 0);
      if (anyField && (message[start] == ' ' || message[start] == '\t')) {
        found.continuation(message, start, end, next);
      } else {
        anyField = true;
        found.finish();
        int colon = start;
        while (colon < end && message[colon] != ':') {
          colon++;
        }
        String name = colon > start && colon < end
            ? fieldName(new String(message, start, colon - start, StandardCharsets.UTF_8)) : "";
        if (!name.isEmpty()) { // else no field: passed over, with its continuation lines
          found.field(name, message, colon + 1, end, next - start);
        }
      }
      start = next;
    }
    found.finish();
    return new SesEvents.ReceivedFields(List.copyOf(found.head), found.headOpen && ended, Map.copyOf(found.common));
  }

  /** What {@link #notified} has found so far, and the field it is reading. */
  private static final class Notified {
    final int headBytes;
    final Set<String> commonNames;
    final List<SesEvents.ReceivedField> head = new ArrayList<>();
    final Map<String, SesEvents.ReceivedField> common = new HashMap<>();
    /** Every field so far is in the head. */
    boolean headOpen = true;
    int headSize;
    /** The field being read, or null; its value so far (null when it is not kept); the bytes of its lines. */
    String name;
    StringBuilder value;
    int size;

    Notified(int headBytes, Set<String> commonNames) {
      this.headBytes = headBytes;
      this.commonNames = commonNames;
    }

    /** Nothing more is to be found: the head is closed, and every common field found. */
    boolean done() {
      return !headOpen && common.size() == commonNames.size();
    }

    void field(String name, byte[] message, int valueStart, int end, int size) {
      this.name = name;
      this.size = size;
      String key = name.toLowerCase(Locale.ROOT);
      this.value = headOpen || commonNames.contains(key) && !common.containsKey(key)
          ? new StringBuilder(new String(message, valueStart, end - valueStart, StandardCharsets.UTF_8)) : null;
    }

    void continuation(byte[] message, int start, int end, int next) {
      if (name != null) {
        size += next - start;
        if (value != null) {
          value.append(new String(message, start, end - start, StandardCharsets.UTF_8));
        }
      }
    }

    /** Ends the field being read, if any. */
    void finish() {
      if (name == null) {
        return;
      }
      if (headOpen && headSize + size <= headBytes) {
        headSize += size;
        head.add(new SesEvents.ReceivedField(name, value.toString(), size));
      } else {
        headOpen = false;
      }
      String key = name.toLowerCase(Locale.ROOT);
      if (value != null && commonNames.contains(key)) {
        common.putIfAbsent(key, new SesEvents.ReceivedField(name, value.toString(), size));
      }
      name = null;
      value = null;
    }
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
