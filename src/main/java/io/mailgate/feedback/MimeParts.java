package io.mailgate.feedback;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.dom.Body;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Header;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.SingleBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.apache.james.mime4j.stream.Field;
import org.apache.james.mime4j.stream.MimeConfig;
import org.apache.james.mime4j.util.MimeUtil;

/**
 * A message flattened by mime4j into its parts in document order, with bodies decoded to text.
 * Reports are small and often malformed, so parsing is as permissive as mime4j allows and a part
 * that cannot be decoded is kept as ISO-8859-1 rather than dropped.
 */
final class MimeParts {

  /**
   * One entity of the tree.
   *
   * @param mimeType lower-case media type ({@code text/plain} when absent)
   * @param header the entity's header; for {@code message/rfc822} the header of the enclosed
   *     message
   * @param text decoded body for single parts, null for containers
   * @param returned true inside (or being) an enclosed message: not written by the reporter
   */
  record Part(String mimeType, Header header, String text, boolean returned) {
    String headerValue(String name) {
      return MimeParts.headerValue(header, name);
    }
  }

  private static final int MAX_DEPTH = 12;

  final Header top;
  final List<Part> parts = new ArrayList<>();

  private MimeParts(Header top) {
    this.top = top;
  }

  static MimeParts parse(byte[] raw) throws IOException {
    Message message = builder().parseMessage(new ByteArrayInputStream(normalizeLineEnds(raw)));
    MimeParts result = new MimeParts(message.getHeader());
    result.walk(message, 0, false);
    return result;
  }

  /** Parses a header block given as text (text/rfc822-headers, or a copy pasted into a bounce). */
  static Header parseHeaderBlock(String text) {
    try {
      byte[] bytes = (text.strip() + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
      return builder().parseMessage(new ByteArrayInputStream(normalizeLineEnds(bytes))).getHeader();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static DefaultMessageBuilder builder() {
    MimeConfig config =
        new MimeConfig.Builder()
            .setMaxLineLen(-1)
            .setMaxHeaderLen(-1)
            .setMaxHeaderCount(-1)
            .setMaxContentLen(-1)
            .setStrictParsing(false)
            .setMalformedHeaderStartsBody(true)
            .build();
    DefaultMessageBuilder builder = new DefaultMessageBuilder();
    builder.setMimeEntityConfig(config);
    builder.setDecodeMonitor(DecodeMonitor.SILENT);
    return builder;
  }

  private void walk(Entity entity, int depth, boolean returned) {
    if (depth > MAX_DEPTH) {
      return;
    }
    Body body = entity.getBody();
    String type = mimeType(entity);
    if (body instanceof Multipart multipart) {
      parts.add(new Part(type, entity.getHeader(), null, returned));
      if (multipart.getBodyParts().isEmpty()) {
        // Declared multipart without a single delimiter (seen from old gateways): the report is
        // all in the preamble.
        String preamble = multipart.getPreamble();
        if (preamble != null && !preamble.isBlank()) {
          parts.add(new Part("text/plain", entity.getHeader(), preamble, returned));
        }
      }
      for (Entity child : multipart.getBodyParts()) {
        walk(child, depth + 1, returned);
      }
    } else if (body instanceof Message enclosed) {
      parts.add(new Part(type, enclosed.getHeader(), null, true));
      walk(enclosed, depth + 1, true);
    } else if (body instanceof SingleBody single) {
      String text = decode(single, entity.getCharset());
      if ((type.equals("message/global") || type.equals("message/rfc822")) && text != null) {
        // mime4j only descends into message/rfc822 it could parse; RFC 6532 message/global
        // (and an undecoded rfc822) arrive as bytes: parse them as a message here.
        walkEnclosedText(type, text, depth, entity);
      } else if (type.startsWith("multipart/")) {
        // A multipart mime4j could not split (no usable boundary): keep its text readable.
        parts.add(new Part("text/plain", entity.getHeader(), text, returned));
      } else {
        parts.add(new Part(type, entity.getHeader(), text, returned));
      }
    }
  }

  private void walkEnclosedText(String type, String text, int depth, Entity entity) {
    try {
      Message enclosed =
          builder().parseMessage(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
      parts.add(new Part(type, enclosed.getHeader(), null, true));
      walk(enclosed, depth + 1, true);
    } catch (IOException | RuntimeException e) {
      parts.add(new Part(type, entity.getHeader(), text, true));
    }
  }

  private static String mimeType(Entity entity) {
    Field field = entity.getHeader() == null ? null : entity.getHeader().getField("Content-Type");
    if (field == null) {
      // mime4j defaults parts of multipart/digest to message/rfc822; everything else is text.
      return entity.getMimeType() == null ? "text/plain" : entity.getMimeType().toLowerCase(Locale.ROOT);
    }
    String value = MimeUtil.unfold(field.getBody()).strip();
    int semi = value.indexOf(';');
    String type = (semi < 0 ? value : value.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    return type.contains("/") ? type : "text/plain";
  }

  private static String decode(SingleBody body, String charsetName) {
    byte[] bytes;
    try (InputStream in = body.getInputStream()) {
      bytes = in.readAllBytes();
    } catch (IOException | RuntimeException e) {
      return null;
    }
    return decodeBytes(bytes, charsetName);
  }

  static String decodeBytes(byte[] bytes, String charsetName) {
    Charset declared = charset(charsetName);
    if (declared != null && !declared.equals(StandardCharsets.US_ASCII)) {
      return new String(bytes, declared);
    }
    // Undeclared or ASCII: reports in the wild are UTF-8 (RFC 6533) or Latin-1; try strictly.
    // Japanese MTAs put 7-bit ISO-2022-JP into undeclared report parts: its escapes give it away.
    if (hasIso2022JpEscape(bytes)) {
      return new String(bytes, Charset.forName("ISO-2022-JP"));
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return new String(bytes, StandardCharsets.ISO_8859_1);
    }
  }

  private static boolean hasIso2022JpEscape(byte[] bytes) {
    for (int i = 0; i + 2 < bytes.length; i++) {
      if (bytes[i] == 0x1B && bytes[i + 1] == '$' && (bytes[i + 2] == 'B' || bytes[i + 2] == '@')) {
        return true;
      }
    }
    return false;
  }

  private static Charset charset(String name) {
    if (name == null || name.isBlank()) {
      return null;
    }
    try {
      return Charset.forName(name.strip().replace("\"", ""));
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** Unfolded, MIME-decoded value of the first field with this name, or null. */
  static String headerValue(Header header, String name) {
    if (header == null) {
      return null;
    }
    Field field = header.getField(name);
    return field == null ? null : fieldValue(field);
  }

  static List<String> headerValues(Header header, String name) {
    List<String> values = new ArrayList<>();
    if (header != null) {
      for (Field field : header.getFields(name)) {
        values.add(fieldValue(field));
      }
    }
    return values;
  }

  static String fieldValue(Field field) {
    String body = field.getBody();
    if (body == null) {
      return null;
    }
    String value = io.mailgate.send.EncodedWordDecoder.decode(MimeUtil.unfold(body));
    value = value.replaceAll("\\s+", " ").strip();
    return value.isEmpty() ? null : value;
  }

  /** A message saved from an mbox starts with a "From sender date" line that is not a header. */
  private static byte[] withoutMboxLine(byte[] raw) {
    if (raw.length > 5 && raw[0] == 'F' && raw[1] == 'r' && raw[2] == 'o' && raw[3] == 'm' && raw[4] == ' ') {
      for (int i = 5; i < raw.length; i++) {
        if (raw[i] == '\n' || raw[i] == '\r') {
          int start = i + (raw[i] == '\r' && i + 1 < raw.length && raw[i + 1] == '\n' ? 2 : 1);
          return java.util.Arrays.copyOfRange(raw, start, raw.length);
        }
      }
    }
    return raw;
  }

  /**
   * mime4j and the line-oriented scanners expect LF or CRLF; old Mac-style bare CR ends are
   * turned into LF so that such a report is not read as one long line.
   */
  static byte[] normalizeLineEnds(byte[] raw) {
    raw = withoutMboxLine(raw);
    boolean bareCr = false;
    for (int i = 0; i < raw.length; i++) {
      if (raw[i] == '\r' && (i + 1 == raw.length || raw[i + 1] != '\n')) {
        bareCr = true;
        break;
      }
    }
    if (!bareCr) {
      return raw;
    }
    byte[] out = new byte[raw.length];
    for (int i = 0; i < raw.length; i++) {
      byte b = raw[i];
      out[i] = b == '\r' && (i + 1 == raw.length || raw[i + 1] != '\n') ? (byte) '\n' : b;
    }
    return out;
  }
}
