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

  /**
   * The values of the fields named {@code name} (any case), unfolded, in their order.
   *
   * @throws TooLong when the header section does not end within {@link #MAX_HEADER_BYTES}
   */
  static List<String> values(byte[] message, String name) {
    List<StringBuilder> fields = new ArrayList<>();
    StringBuilder current = null;
    boolean anyField = false;
    int start = 0;
    while (true) {
      if (start >= message.length) {
        break; // a message of headers only
      }
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
      String line = new String(message, start, end - start, StandardCharsets.UTF_8); // RFC 6532 allows UTF-8
      boolean continuation = line.charAt(0) == ' ' || line.charAt(0) == '\t';
      if (continuation && anyField) {
        if (current != null) {
          current.append(line);
        }
      } else {
        anyField = true;
        int colon = line.indexOf(':');
        current = colon > 0 && fieldName(line.substring(0, colon)).equalsIgnoreCase(name)
            ? new StringBuilder(line.substring(colon + 1)) : null;
        if (current != null) {
          fields.add(current);
        }
      }
      // CRLF is one line ending; a bare CR or a bare LF is one too
      start = end + (end + 1 < message.length && message[end] == '\r' && message[end + 1] == '\n' ? 2 : 1);
    }
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
    java.io.ByteArrayOutputStream out = null;
    int seen = 0;
    boolean anyField = false;
    boolean dropping = false;
    int copied = 0; // message[copied, start) is still to be copied when out is in use
    int start = 0;
    while (start < message.length) {
      int end = start;
      while (end < message.length && message[end] != '\n' && message[end] != '\r') {
        end++;
      }
      if (end > MAX_HEADER_BYTES) {
        throw new TooLong();
      }
      if (end == start) {
        break;
      }
      int next = end + (end + 1 < message.length && message[end] == '\r' && message[end + 1] == '\n' ? 2
          : end < message.length ? 1 : 0);
      boolean continuation = anyField && (message[start] == ' ' || message[start] == '\t');
      if (!continuation) {
        anyField = true;
        String line = new String(message, start, end - start, StandardCharsets.UTF_8);
        int colon = line.indexOf(':');
        boolean named = colon > 0 && fieldName(line.substring(0, colon)).equalsIgnoreCase(name);
        dropping = named && ++seen > keep;
      }
      if (dropping) {
        if (out == null) {
          out = new java.io.ByteArrayOutputStream(message.length);
        }
        out.write(message, copied, start - copied);
        copied = next;
      }
      start = next;
    }
    if (out == null) {
      return message;
    }
    out.write(message, copied, message.length - copied);
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
