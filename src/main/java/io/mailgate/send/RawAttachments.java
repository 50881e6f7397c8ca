package io.mailgate.send;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Refuses a raw message (SendRawEmail, Raw content, SMTP submission) with a part named as a file of a type SES does
 * not accept ({@link Attachment#isBlocked}), as SES refuses it and a Simple message's attachment: MessageRejected,
 * "Illegal filename". A part's names are its Content-Disposition {@code filename} and its Content-Type {@code name},
 * as written, as RFC 2047 encoded words, or as RFC 2231 parameters (encoded, continued, or both); every field and
 * every parameter of them counts, not only the first. The parts are walked as {@link MimeEntity} finds them, into
 * forwarded messages too, a multipart without its close delimiter included (readers show its parts), to
 * {@link #MAX_DEPTH} levels: each level reads its part's bytes once, so the walk costs at most that many passes
 * over the message.
 */
final class RawAttachments {
  /** Deeper parts are not looked at: no sender nests that far, and it bounds the walk. */
  static final int MAX_DEPTH = 16;
  /** The most continuation segments of one parameter read (RFC 2231 numbers them from 0). */
  private static final int MAX_SEGMENTS = 1000;

  private RawAttachments() {}

  /**
   * @param message a complete message with CRLF line endings, headers then body
   * @throws io.mailgate.SesException (MessageRejected) naming the first part whose name is refused
   */
  static void check(byte[] message) {
    walk(message, 0, message.length, false, 0);
  }

  private static void walk(byte[] message, int start, int end, boolean inDigest, int depth) {
    MimeEntity e = MimeEntity.parse(message, start, end, inDigest);
    if (e == null) {
      // a header section the strict reader refuses (a space before a colon, a line that is no field): lenient readers
      // still show its part, so its names are found as they find them; what is inside it is not walked
      checkLeniently(message, start, end);
      return;
    }
    checkNames(e.headers());
    refuseAmbiguousType(e);
    if (depth >= MAX_DEPTH) {
      if (e.isMultipart() || e.type().value().startsWith("message/")) { // not looked into: refused, not let through
        throw new io.mailgate.SesException(io.mailgate.SesError.MESSAGE_REJECTED, "Message rejected: its parts are "
            + "nested more than " + MAX_DEPTH + " levels deep.");
      }
      return;
    }
    String type = e.type().value();
    if (e.isMultipart()) {
      MimeEntity.Parts parts = e.partsEvenUnclosed();
      if (parts == null) {
        return;
      }
      boolean digest = type.equals("multipart/digest");
      for (int[] part : parts.ranges()) {
        walk(message, part[0], part[1], digest, depth + 1);
      }
    } else if (type.equals("message/rfc822") || type.equals("message/global")) {
      String cte = e.transferEncoding();
      if (cte.isEmpty() || cte.equals("7bit") || cte.equals("8bit") || cte.equals("binary")) {
        walk(message, e.bodyStart(), e.end(), false, depth + 1);
      }
    }
  }

  /**
   * Refuses a part whose structure readers would see differently from this walk, so that parts one of them shows
   * would not be the parts checked here: a part with two Content-Type fields (this reader takes the first, others the
   * last), a Content-Type that gives a parameter twice (mime4j takes the last boundary, {@link MimeEntity} the first),
   * or a boundary with a comment outside quotes ({@code boundary=b(x)}: "b" to a reader that drops RFC 822 comments,
   * as this one and mime4j do, "b(x)" to one that reads up to the next ';').
   */
  private static void refuseAmbiguousType(MimeEntity e) {
    if (e.contentTypeField() == null) {
      return;
    }
    if (e.headers().fields().stream().filter(f -> f.is("Content-Type")).count() > 1) {
      throw io.mailgate.SesException.badRequest("Raw message is malformed: a part has more than one Content-Type "
          + "field.");
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    String raw = e.headers().rawValue(e.contentTypeField());
    String value = MimeEntity.HeaderValue.withoutComments(raw);
    for (Map.Entry<String, String> p : MimeEntity.HeaderValue.allParams(value)) {
      if (!seen.add(p.getKey())) {
        throw io.mailgate.SesException.badRequest("Raw message is malformed: a Content-Type gives the parameter '"
            + MailboxParser.abbreviate(p.getKey()) + "' more than once.");
      }
    }
    if (!value.equals(raw) && !boundary(value).equals(boundary(raw))) {
      throw io.mailgate.SesException.badRequest("Raw message is malformed: a Content-Type's boundary has a comment "
          + "in it.");
    }
  }

  /** The boundary parameter's value as {@code value} gives it (empty: none). */
  private static String boundary(String value) {
    for (Map.Entry<String, String> p : MimeEntity.HeaderValue.allParams(value)) {
      if (p.getKey().equals("boundary")) {
        return p.getValue().strip();
      }
    }
    return "";
  }

  /**
   * The Content-Type and Content-Disposition fields of a header section (up to its blank line, or {@code end}) read
   * leniently: continuation lines unfolded, a line without a colon passed over, spaces before a colon ignored.
   */
  static void checkLeniently(byte[] message, int start, int end) {
    int stop = end;
    for (int i = start; i + 3 < end; i++) {
      if (message[i] == '\r' && message[i + 1] == '\n' && message[i + 2] == '\r' && message[i + 3] == '\n') {
        stop = i;
        break;
      }
    }
    String head = new String(message, start, stop - start, StandardCharsets.ISO_8859_1);
    StringBuilder field = new StringBuilder();
    for (String line : head.split("\r\n", -1)) {
      if (!line.isEmpty() && (line.charAt(0) == ' ' || line.charAt(0) == '\t')) {
        field.append(' ').append(line.strip());
        continue;
      }
      checkLenientField(field.toString());
      field.setLength(0);
      field.append(line);
    }
    checkLenientField(field.toString());
  }

  private static void checkLenientField(String field) {
    int colon = field.indexOf(':');
    if (colon < 0) {
      return;
    }
    String name = field.substring(0, colon).strip();
    if (name.equalsIgnoreCase("Content-Disposition")) {
      checkNames(field.substring(colon + 1), "filename");
    } else if (name.equalsIgnoreCase("Content-Type")) {
      checkNames(field.substring(colon + 1), "name");
    }
  }

  private static void checkNames(HeaderBlock headers) {
    for (HeaderBlock.Field f : headers.fields()) {
      if (f.is("Content-Disposition")) {
        checkNames(headers.rawValue(f), "filename");
      } else if (f.is("Content-Type")) {
        checkNames(headers.rawValue(f), "name");
      }
    }
  }

  /**
   * Refuses a header value whose parameter {@code param} (in any of its forms) names a refused file type, read with
   * its RFC 822 comments and without them: a '"' in a comment ({@code attachment (") ; filename=x.exe ; y=(")}) would
   * otherwise hide the name from this reader, which takes quotes as they come, and not from one that drops comments.
   */
  static void checkNames(String value, String param) {
    checkNamesAsWritten(value, param);
    if (value.indexOf('(') >= 0) {
      checkNamesAsWritten(MimeEntity.HeaderValue.withoutComments(value), param);
    }
  }

  private static void checkNamesAsWritten(String value, String param) {
    if (!value.contains(";")) {
      return; // no parameter: most Content-Type fields of text parts
    }
    List<Map.Entry<String, String>> params = MimeEntity.HeaderValue.allParams(value);
    TreeMap<Integer, String> segments = null;
    String prefix = param + "*";
    for (Map.Entry<String, String> p : params) {
      String name = p.getKey();
      if (name.equals(param)) {
        String v = p.getValue();
        check(EncodedWordDecoder.decode(v));
      } else if (name.equals(prefix)) {
        check(extended(p.getValue()));
      } else if (name.startsWith(prefix)) {
        String index = name.substring(prefix.length());
        boolean encoded = index.endsWith("*");
        if (encoded) {
          index = index.substring(0, index.length() - 1);
        }
        if (!index.isEmpty() && index.length() <= 3 && index.chars().allMatch(c -> c >= '0' && c <= '9')) {
          if (segments == null) {
            segments = new TreeMap<>();
          }
          // E: an encoded segment (name*1*), L: a literal one (name*1)
          segments.putIfAbsent(Integer.parseInt(index), (encoded ? "E" : "L") + p.getValue());
        }
      }
    }
    if (segments != null) {
      check(continued(segments));
    }
  }

  /** The value of continued parameter segments 0, 1, ... (RFC 2231 section 3), decoded where they are encoded. */
  private static String continued(TreeMap<Integer, String> segments) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Charset[] charset = {null};
    for (int i = 0; i < MAX_SEGMENTS && segments.containsKey(i); i++) {
      String s = segments.get(i);
      String v = s.substring(1);
      if (s.charAt(0) == 'E') {
        percentDecode(i == 0 ? afterLanguage(v, charset) : v, bytes);
      } else {
        byte[] b = v.getBytes(StandardCharsets.UTF_8);
        bytes.write(b, 0, b.length);
      }
    }
    return new String(bytes.toByteArray(), charset[0] == null ? StandardCharsets.UTF_8 : charset[0]);
  }

  /** An RFC 2231 extended value ({@code charset'language'percent-encoded}) decoded. */
  private static String extended(String v) {
    Charset[] charset = {null};
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    percentDecode(afterLanguage(v, charset), bytes);
    return new String(bytes.toByteArray(), charset[0] == null ? StandardCharsets.UTF_8 : charset[0]);
  }

  /** What follows {@code charset'language'}, the charset put in {@code charset[0]} when it is one the JDK knows. */
  private static String afterLanguage(String v, Charset[] charset) {
    int q1 = v.indexOf('\'');
    int q2 = q1 < 0 ? -1 : v.indexOf('\'', q1 + 1);
    if (q2 < 0) {
      return v;
    }
    try {
      charset[0] = q1 == 0 ? null : Charset.forName(v.substring(0, q1));
    } catch (IllegalArgumentException unknown) {
      charset[0] = null;
    }
    return v.substring(q2 + 1);
  }

  private static void percentDecode(String v, ByteArrayOutputStream out) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      int hi = c == '%' && i + 2 < v.length() ? Character.digit(v.charAt(i + 1), 16) : -1;
      int lo = hi >= 0 ? Character.digit(v.charAt(i + 2), 16) : -1;
      if (hi >= 0 && lo >= 0) {
        out.write(hi * 16 + lo);
        i += 2;
      } else {
        int cp = v.codePointAt(i);
        byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        i += Character.charCount(cp) - 1;
      }
    }
  }

  private static void check(String fileName) {
    if (Attachment.isBlocked(fileName)) {
      throw Attachment.illegalFileName(printable(fileName));
    }
  }

  /** The name as an answer can carry it: controls as '?', at most 100 characters. */
  private static String printable(String s) {
    StringBuilder sb = new StringBuilder(Math.min(s.length(), 100));
    for (int i = 0; i < s.length() && sb.length() < 100; i++) {
      char c = s.charAt(i);
      sb.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return s.length() > 100 ? sb + "..." : sb.toString();
  }
}
