package io.mailgate.api;

import io.mailgate.SesException;
import io.mailgate.send.SendRequest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * SES's SMTP-only headers: {@code X-SES-CONFIGURATION-SET: name} picks the configuration set and
 * {@code X-SES-MESSAGE-TAGS: name1=value1, name2=value2} adds message tags, as SendEmail's
 * ConfigurationSetName and EmailTags do. Both are removed from the message before it is stored and
 * sent (they are instructions to the service, not content); every other byte stays as given.
 */
final class SesSmtpHeaders {
  static final String CONFIGURATION_SET = "x-ses-configuration-set";
  static final String MESSAGE_TAGS = "x-ses-message-tags";

  /** What the headers asked for, and the message without them. */
  record Extracted(String configurationSet, List<SendRequest.EmailTag> tags, byte[] message) {}

  private SesSmtpHeaders() {}

  /** @throws SesException (BadRequest) when a tag is malformed or the set is named twice */
  static Extracted extract(byte[] message) {
    int end = headerEnd(message);
    String configurationSet = null;
    List<SendRequest.EmailTag> tags = new ArrayList<>();
    ByteArrayOutputStream kept = null;
    int fieldStart = 0;
    while (fieldStart < end) {
      int fieldEnd = fieldEnd(message, fieldStart, end);
      String name = fieldName(message, fieldStart, fieldEnd);
      if (CONFIGURATION_SET.equals(name) || MESSAGE_TAGS.equals(name)) {
        if (kept == null) {
          kept = new ByteArrayOutputStream(message.length);
          kept.write(message, 0, fieldStart);
        }
        String value = value(message, fieldStart, fieldEnd);
        if (CONFIGURATION_SET.equals(name)) {
          if (configurationSet != null) {
            throw SesException.badRequest("The X-SES-CONFIGURATION-SET header may appear only once.");
          }
          configurationSet = value;
        } else {
          tags.addAll(tags(value));
        }
      } else if (kept != null) {
        kept.write(message, fieldStart, fieldEnd - fieldStart);
      }
      fieldStart = fieldEnd;
    }
    if (kept == null) {
      return new Extracted(null, List.of(), message);
    }
    kept.write(message, end, message.length - end);
    return new Extracted(configurationSet == null || configurationSet.isEmpty() ? null : configurationSet,
        List.copyOf(tags), kept.toByteArray());
  }

  private static List<SendRequest.EmailTag> tags(String value) {
    List<SendRequest.EmailTag> out = new ArrayList<>();
    for (String pair : value.split(",")) {
      if (pair.isBlank()) {
        continue;
      }
      int eq = pair.indexOf('=');
      if (eq < 0) {
        throw SesException.badRequest("X-SES-MESSAGE-TAGS must be name=value pairs separated by commas: " + pair.strip());
      }
      out.add(new SendRequest.EmailTag(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip()));
    }
    return out;
  }

  /** Index of the blank line that ends the header block (its first byte), or the message length. */
  private static int headerEnd(byte[] m) {
    for (int i = 0; i < m.length; i++) {
      if (m[i] == '\n' && (i + 1 < m.length && (m[i + 1] == '\n' || (m[i + 1] == '\r' && i + 2 < m.length && m[i + 2] == '\n')))) {
        return i + 1;
      }
    }
    return m.length;
  }

  /** The end of the field starting at {@code start}: after its last line break, continuation lines included. */
  private static int fieldEnd(byte[] m, int start, int end) {
    int i = start;
    while (i < end) {
      int nl = i;
      while (nl < end && m[nl] != '\n') {
        nl++;
      }
      i = nl + 1;
      if (i >= end || (m[i] != ' ' && m[i] != '\t')) {
        return Math.min(i, end);
      }
    }
    return end;
  }

  private static String fieldName(byte[] m, int start, int end) {
    for (int i = start; i < end; i++) {
      if (m[i] == ':') {
        return new String(m, start, i - start, StandardCharsets.US_ASCII).strip().toLowerCase(Locale.ROOT);
      }
      if (m[i] == '\n') {
        break;
      }
    }
    return "";
  }

  /** The unfolded value, trimmed. */
  private static String value(byte[] m, int start, int end) {
    int colon = start;
    while (m[colon] != ':') {
      colon++;
    }
    return new String(m, colon + 1, end - colon - 1, StandardCharsets.UTF_8).replaceAll("\\r?\\n[ \\t]+", " ").strip();
  }
}
