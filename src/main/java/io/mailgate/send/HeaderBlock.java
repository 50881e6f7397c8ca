package io.mailgate.send;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The header section of a CRLF message, as byte ranges so a message can be edited (a Bcc removed,
 * a Message-ID added) without re-serializing what the sender wrote.
 */
public final class HeaderBlock {

  /** One header field: its name and the byte range of all its lines, CRLFs included. */
  public record Field(String name, int start, int end) {
    public boolean is(String other) {
      return name.equalsIgnoreCase(other);
    }
  }

  private final byte[] message;
  private final List<Field> fields;
  private final int bodyStart;
  private final boolean separator;

  private HeaderBlock(byte[] message, List<Field> fields, int bodyStart, boolean separator) {
    this.message = message;
    this.fields = fields;
    this.bodyStart = bodyStart;
    this.separator = separator;
  }

  /**
   * Parses the header section of {@code message} (CRLF line endings).
   *
   * @throws IllegalArgumentException naming the first malformed line
   */
  public static HeaderBlock parse(byte[] message) {
    List<Field> fields = new ArrayList<>();
    int pos = 0;
    int fieldStart = -1;
    String name = null;
    while (pos < message.length) {
      int eol = indexOfCrlf(message, pos);
      int lineEnd = eol < 0 ? message.length : eol + 2;
      if (eol == pos) { // empty line: end of headers
        if (name != null) {
          fields.add(new Field(name, fieldStart, pos));
        }
        return new HeaderBlock(message, fields, lineEnd, true);
      }
      byte first = message[pos];
      if (first == ' ' || first == '\t') {
        if (name == null) {
          throw new IllegalArgumentException("message starts with a continuation line");
        }
      } else {
        if (name != null) {
          fields.add(new Field(name, fieldStart, pos));
        }
        int colon = -1;
        for (int i = pos; i < (eol < 0 ? message.length : eol); i++) {
          byte b = message[i];
          if (b == ':') {
            colon = i;
            break;
          }
          if (b <= 32 || b >= 127) {
            break;
          }
        }
        if (colon <= pos) {
          String line = new String(message, pos, Math.min(60, (eol < 0 ? message.length : eol) - pos),
              StandardCharsets.ISO_8859_1);
          throw new IllegalArgumentException("malformed header line: " + line);
        }
        name = new String(message, pos, colon - pos, StandardCharsets.US_ASCII);
        fieldStart = pos;
      }
      pos = lineEnd;
    }
    if (name != null) {
      fields.add(new Field(name, fieldStart, message.length));
    }
    return new HeaderBlock(message, fields, message.length, false);
  }

  static int indexOfCrlf(byte[] b, int from) {
    for (int i = from; i < b.length - 1; i++) {
      if (b[i] == '\r' && b[i + 1] == '\n') {
        return i;
      }
    }
    return -1;
  }

  public List<Field> fields() {
    return fields;
  }

  /** Offset of the first body byte (after the blank line), or the message length when there is none. */
  public int bodyStart() {
    return bodyStart;
  }

  /** True when the message had the blank line that separates headers from body. */
  public boolean hasSeparator() {
    return separator;
  }

  /** The unfolded raw value (after the colon, surrounding whitespace removed), undecoded. */
  public String rawValue(Field f) {
    int colon = f.start() + f.name().length();
    StringBuilder sb = new StringBuilder(f.end() - colon);
    for (int i = colon + 1; i < f.end(); i++) {
      byte b = message[i];
      if (b == '\r' || b == '\n') {
        continue;
      }
      sb.append((char) (b & 0xff));
    }
    String latin = sb.toString().strip();
    // bytes above 127 are most likely UTF-8 (RFC 6532); decode them as such
    for (int i = 0; i < latin.length(); i++) {
      if (latin.charAt(i) > 127) {
        return new String(latin.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
      }
    }
    return latin;
  }

  /** The value with RFC 2047 encoded words decoded. */
  public String decodedValue(Field f) {
    String raw = rawValue(f);
    return EncodedWordDecoder.decode(raw);
  }

  /** The first field named {@code name}, or null. */
  public Field first(String name) {
    for (Field f : fields) {
      if (f.is(name)) {
        return f;
      }
    }
    return null;
  }

  public List<Field> all(String name) {
    List<Field> out = new ArrayList<>();
    for (Field f : fields) {
      if (f.is(name)) {
        out.add(f);
      }
    }
    return out;
  }
}
