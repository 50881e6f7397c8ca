package io.mailgate.send;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One MIME entity of a message with CRLF line endings (RFC 2045, 2046), read in place: the message itself, a part of a
 * multipart body, or the message a message/rfc822 part holds. Everything is a byte range of the message, so a caller
 * that changes one part (tracking's HTML rewriting, delivery's 7-bit conversion) keeps every other byte as the sender
 * wrote it; mime4j's parser gives no offsets.
 */
public final class MimeEntity {

  /** A Content-Type, -Disposition or -Transfer-Encoding value: lower case, and its parameters by lower-case name. */
  public record HeaderValue(String value, Map<String, String> params) {
    static final HeaderValue TEXT_PLAIN = new HeaderValue("text/plain", Map.of());
    static final HeaderValue MESSAGE_RFC822 = new HeaderValue("message/rfc822", Map.of());

    public static HeaderValue parse(String s) {
      List<String> segments = splitUnquoted(withoutComments(s));
      Map<String, String> params = new HashMap<>();
      for (String segment : segments.subList(1, segments.size())) {
        int eq = segment.indexOf('=');
        if (eq > 0) {
          String v = segment.substring(eq + 1).strip();
          params.putIfAbsent(segment.substring(0, eq).strip().toLowerCase(Locale.ROOT),
              v.startsWith("\"") ? unquote(v) : token(v));
        }
      }
      // "multipart /mixed" and "multipart (x)/mixed" are multipart/mixed to readers (RFC 2045 5.1 allows the spaces)
      String value = SLASH.matcher(segments.get(0).strip()).replaceFirst("/");
      return new HeaderValue(token(value).toLowerCase(Locale.ROOT), params);
    }

    private static final java.util.regex.Pattern SLASH = java.util.regex.Pattern.compile("\\s*/\\s*");

    /** {@code s} with each RFC 822 comment outside a quoted string (nested ones in it) a space. */
    static String withoutComments(String s) {
      if (s.indexOf('(') < 0) {
        return s;
      }
      StringBuilder sb = new StringBuilder(s.length());
      boolean quoted = false;
      int depth = 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (depth > 0) {
          if (c == '\\') {
            i++;
          } else if (c == '(') {
            depth++;
          } else if (c == ')' && --depth == 0) {
            sb.append(' ');
          }
          continue;
        }
        if (c == '(' && !quoted) {
          depth = 1;
          continue;
        }
        if (quoted && c == '\\' && i + 1 < s.length()) {
          sb.append(c).append(s.charAt(++i));
          continue;
        }
        if (c == '"') {
          quoted = !quoted;
        }
        sb.append(c);
      }
      return sb.toString();
    }

    /**
     * Every parameter of a header value, in order, repeated ones included ({@link #params} keeps the first): each as
     * its lower-case name and its value: unquoted, or as written (to its end, spaces included) when not quoted.
     */
    public static List<Map.Entry<String, String>> allParams(String s) {
      List<String> segments = splitUnquoted(s);
      List<Map.Entry<String, String>> out = new ArrayList<>(segments.size() - 1);
      for (String segment : segments.subList(1, segments.size())) {
        int eq = segment.indexOf('=');
        if (eq > 0) {
          String v = segment.substring(eq + 1).strip();
          out.add(Map.entry(segment.substring(0, eq).strip().toLowerCase(Locale.ROOT),
              v.startsWith("\"") ? unquote(v) : v));
        }
      }
      return out;
    }

    /** {@code s} split at each ';' outside a quoted string. */
    private static List<String> splitUnquoted(String s) {
      List<String> out = new ArrayList<>();
      boolean quoted = false;
      int from = 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (quoted && c == '\\') {
          i++;
        } else if (c == '"') {
          quoted = !quoted;
        } else if (c == ';' && !quoted) {
          out.add(s.substring(from, i));
          from = i + 1;
        }
      }
      out.add(s.substring(from));
      return out;
    }

    /** The leading token of {@code s}: up to whitespace or a comment. */
    private static String token(String s) {
      int end = 0;
      while (end < s.length() && s.charAt(end) > ' ' && s.charAt(end) != '(') {
        end++;
      }
      return s.substring(0, end);
    }

    /** The content of the quoted string {@code s} starts with (to its end if unclosed). */
    private static String unquote(String s) {
      StringBuilder sb = new StringBuilder(s.length());
      for (int i = 1; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c == '\\' && i + 1 < s.length()) {
          sb.append(s.charAt(++i));
        } else if (c == '"') {
          break;
        } else {
          sb.append(c);
        }
      }
      return sb.toString();
    }
  }

  /** A multipart body's boundary and its parts, each bytes [start, end) of the message between delimiter lines. */
  public record Parts(byte[] boundary, List<int[]> ranges) {}

  private final byte[] message;
  private final int start;
  private final int bodyStart;
  private final int end;
  private final HeaderBlock headers;
  private final HeaderBlock.Field contentType;
  private final HeaderValue type;

  private MimeEntity(byte[] message, int start, int bodyStart, int end, HeaderBlock headers,
      HeaderBlock.Field contentType, HeaderValue type) {
    this.message = message;
    this.start = start;
    this.bodyStart = bodyStart;
    this.end = end;
    this.headers = headers;
    this.contentType = contentType;
    this.type = type;
  }

  /**
   * The entity in bytes [start, end) of {@code message}: headers, blank line, body. Null when its header section has
   * no end or is malformed.
   *
   * @param inDigest whether the entity is a part of multipart/digest, where the default type is message/rfc822
   */
  public static MimeEntity parse(byte[] message, int start, int end, boolean inDigest) {
    int bodyStart = bodyStart(message, start, end);
    if (bodyStart < 0) {
      return null;
    }
    HeaderBlock headers;
    try {
      headers = HeaderBlock.parse(Arrays.copyOfRange(message, start, bodyStart));
    } catch (IllegalArgumentException e) {
      return null;
    }
    HeaderBlock.Field ct = headers.first("Content-Type");
    HeaderValue type = ct != null ? HeaderValue.parse(headers.rawValue(ct))
        : inDigest ? HeaderValue.MESSAGE_RFC822 : HeaderValue.TEXT_PLAIN;
    return new MimeEntity(message, start, bodyStart, end, headers, ct, type);
  }

  /** Where the body of the entity starting at {@code start} begins, or -1 when its headers have no end. */
  static int bodyStart(byte[] message, int start, int end) {
    if (end - start >= 2 && message[start] == '\r' && message[start + 1] == '\n') {
      return start + 2; // no header fields
    }
    for (int i = start; i + 3 < end; i++) {
      if (message[i] == '\r' && message[i + 1] == '\n' && message[i + 2] == '\r' && message[i + 3] == '\n') {
        return i + 4;
      }
    }
    return -1;
  }

  public int start() {
    return start;
  }

  /** The first byte of the body, after the blank line. */
  public int bodyStart() {
    return bodyStart;
  }

  public int end() {
    return end;
  }

  /** The header fields; their offsets count from {@link #start()}. */
  public HeaderBlock headers() {
    return headers;
  }

  /** The Content-Type field, or null when the entity has none (its type is then the default). */
  public HeaderBlock.Field contentTypeField() {
    return contentType;
  }

  public HeaderValue type() {
    return type;
  }

  public boolean isMultipart() {
    return type.value().startsWith("multipart/");
  }

  /** The Content-Transfer-Encoding field, or null. */
  public HeaderBlock.Field transferEncodingField() {
    return headers.first("Content-Transfer-Encoding");
  }

  /** The Content-Transfer-Encoding, lower case; empty when there is none (7bit, RFC 2045 6.1). */
  public String transferEncoding() {
    HeaderBlock.Field f = transferEncodingField();
    return f == null ? "" : HeaderValue.parse(headers.rawValue(f)).value();
  }

  public boolean isAttachment() {
    HeaderBlock.Field f = headers.first("Content-Disposition");
    return f != null && HeaderValue.parse(headers.rawValue(f)).value().equals("attachment");
  }

  /** Whether the body ends with CRLF (which, in a part, the next delimiter line does not claim). */
  public boolean bodyEndsWithCrlf() {
    return end - bodyStart >= 2 && message[end - 2] == '\r' && message[end - 1] == '\n';
  }

  /**
   * The body decoded from its Content-Transfer-Encoding (7bit, 8bit and binary as they are); null when the encoding is
   * one this does not know (x-uuencode and the like) or the base64 is malformed.
   */
  public byte[] decodedBody() {
    return switch (transferEncoding()) {
      case "", "7bit", "8bit", "binary" -> Arrays.copyOfRange(message, bodyStart, end);
      case "quoted-printable" -> TransferEncoding.decodeQuotedPrintable(message, bodyStart, end);
      case "base64" -> {
        try {
          ByteBuffer decoded = Base64.getMimeDecoder().decode(ByteBuffer.wrap(message, bodyStart, end - bodyStart));
          yield Arrays.copyOfRange(decoded.array(), decoded.position(), decoded.limit());
        } catch (IllegalArgumentException e) {
          yield null;
        }
      }
      default -> null;
    };
  }

  /** {@code data} encoded as a base64 body for this entity, ending with CRLF where its body did. */
  public byte[] base64Body(byte[] data) {
    byte[] body = TransferEncoding.base64(data);
    if (!bodyEndsWithCrlf()) {
      return body;
    }
    body = Arrays.copyOf(body, body.length + 2);
    body[body.length - 2] = '\r';
    body[body.length - 1] = '\n';
    return body;
  }

  /**
   * Adds to {@code edits} the change of this entity's Content-Transfer-Encoding to {@code value}: its field replaced,
   * or a new one after Content-Type (at the end of the header section without one).
   */
  public void setTransferEncoding(ByteEdits edits, String value) {
    byte[] field = ("Content-Transfer-Encoding: " + value + "\r\n").getBytes(StandardCharsets.US_ASCII);
    HeaderBlock.Field cte = transferEncodingField();
    if (cte != null) {
      edits.replace(start + cte.start(), start + cte.end(), field);
    } else {
      edits.insert(contentType != null ? start + contentType.end() : bodyStart - 2, field);
    }
  }

  /**
   * The parts between the delimiter lines (RFC 2046 5.1.1); null when this is not a multipart with a boundary, or
   * when its body has no close delimiter (where the last part ends would be a guess). Preamble and epilogue are
   * what lies outside the parts.
   */
  public Parts parts() {
    return parts(false);
  }

  /**
   * {@link #parts()}, and for a multipart without a close delimiter the parts it has, the last one to the end of the
   * body (as lenient readers show it): for a check of what readers may see, not for an edit.
   */
  public Parts partsEvenUnclosed() {
    return parts(true);
  }

  private Parts parts(boolean unclosed) {
    String b = type.params().get("boundary");
    if (!isMultipart() || b == null || b.isEmpty()) {
      return null;
    }
    byte[] boundary = b.getBytes(StandardCharsets.UTF_8);
    List<int[]> parts = new ArrayList<>();
    int partStart = -1;
    int line = bodyStart;
    while (line < end) {
      int eol = indexOfCrlf(line, end);
      int lineEnd = eol < 0 ? end : eol;
      int kind = delimiter(line, lineEnd, boundary);
      if (kind != 0) {
        if (partStart >= 0 && line - 2 > partStart) { // the CRLF before a delimiter belongs to it
          parts.add(new int[] {partStart, line - 2});
        }
        if (kind == 2) {
          return new Parts(boundary, parts);
        }
        partStart = eol < 0 ? end : eol + 2;
      }
      if (eol < 0) {
        break;
      }
      line = eol + 2;
    }
    if (unclosed && partStart >= 0) {
      if (end > partStart) {
        parts.add(new int[] {partStart, end});
      }
      return new Parts(boundary, parts);
    }
    return null;
  }

  /** 1 when bytes [line, lineEnd) are a delimiter line, 2 a close delimiter, 0 neither. */
  private int delimiter(int line, int lineEnd, byte[] boundary) {
    int after = line + 2 + boundary.length;
    if (after > lineEnd || message[line] != '-' || message[line + 1] != '-'
        || !Arrays.equals(message, line + 2, after, boundary, 0, boundary.length)) {
      return 0;
    }
    if (after + 1 < lineEnd && message[after] == '-' && message[after + 1] == '-') {
      return 2; // whatever follows on the line is epilogue
    }
    for (int i = after; i < lineEnd; i++) {
      if (message[i] != ' ' && message[i] != '\t') {
        return 0;
      }
    }
    return 1;
  }

  private int indexOfCrlf(int from, int to) {
    for (int i = from; i + 1 < to; i++) {
      if (message[i] == '\r' && message[i + 1] == '\n') {
        return i;
      }
    }
    return -1;
  }

  /**
   * Whether a line of bytes [from, to) starts with "--" and one of the boundaries: a delimiter to a parser more
   * lenient than this one. A new body for a part must have none, or it would end the part early.
   */
  public static boolean startsAnyLine(byte[] bytes, int from, int to, List<byte[]> boundaries) {
    for (int line = from; line < to; ) {
      for (byte[] b : boundaries) {
        int after = line + 2 + b.length;
        if (after <= to && bytes[line] == '-' && bytes[line + 1] == '-'
            && Arrays.equals(bytes, line + 2, after, b, 0, b.length)) {
          return true;
        }
      }
      int next = line;
      while (next + 1 < to && !(bytes[next] == '\r' && bytes[next + 1] == '\n')) {
        next++;
      }
      line = next + 2;
    }
    return false;
  }
}
