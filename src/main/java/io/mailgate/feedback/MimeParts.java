package io.mailgate.feedback;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
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
import org.apache.james.mime4j.MimeException;
import org.apache.james.mime4j.MimeIOException;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.dom.Body;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Header;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.SingleBody;
import org.apache.james.mime4j.field.LenientFieldParser;
import org.apache.james.mime4j.internal.ParserStreamContentHandler;
import org.apache.james.mime4j.message.BasicBodyFactory;
import org.apache.james.mime4j.message.DefaultBodyDescriptorBuilder;
import org.apache.james.mime4j.message.MessageImpl;
import org.apache.james.mime4j.parser.ContentHandler;
import org.apache.james.mime4j.parser.MimeStreamParser;
import org.apache.james.mime4j.stream.BodyDescriptor;
import org.apache.james.mime4j.stream.Field;
import org.apache.james.mime4j.stream.MimeConfig;
import org.apache.james.mime4j.util.MimeUtil;

/**
 * A message flattened by mime4j into its parts in document order, with bodies decoded to text.
 * Reports are small and often malformed, so parsing is as permissive as mime4j allows and a part
 * that cannot be decoded is kept as ISO-8859-1 rather than dropped. A message of more entities or
 * header fields than any report has is read only as far as {@link #MAX_PARTS} and {@link
 * #MAX_FIELDS}: a report's own parts (the status, the returned message's header) come first.
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
  /**
   * Entities (messages and their parts) read of one report, and parts kept: a report has a handful; a
   * message of a million empty parts was a tree of hundreds of MB.
   */
  static final int MAX_PARTS = 1000;
  /** Header fields read of one report, all its entities together: a report has a few hundred. */
  static final int MAX_FIELDS = 10_000;

  private static final MimeConfig CONFIG =
      new MimeConfig.Builder()
          .setMaxLineLen(-1)
          .setMaxHeaderLen(-1)
          .setMaxHeaderCount(-1) // mime4j fails the whole message past it; Bounded keeps what came first
          .setMaxContentLen(-1)
          .setStrictParsing(false)
          .setMalformedHeaderStartsBody(true)
          .build();

  final Header top;
  final List<Part> parts = new ArrayList<>();
  /** What is left to read, shared by the report and the messages enclosed in it as text. */
  private final Budget budget;

  private MimeParts(Header top, Budget budget) {
    this.top = top;
    this.budget = budget;
  }

  static MimeParts parse(byte[] raw) throws IOException {
    Budget budget = new Budget();
    Message message = parseMessage(normalizeLineEnds(raw), budget);
    MimeParts result = new MimeParts(message.getHeader(), budget);
    result.walk(message, 0, false);
    return result;
  }

  /** Parses a header block given as text (text/rfc822-headers, or a copy pasted into a bounce). */
  static Header parseHeaderBlock(String text) {
    try {
      byte[] bytes = (text.strip() + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
      return parseMessage(normalizeLineEnds(bytes), new Budget()).getHeader();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** What DefaultMessageBuilder.parseMessage does, but its tree is built only as far as {@code budget} goes. */
  private static Message parseMessage(byte[] bytes, Budget budget) throws IOException {
    MessageImpl message = new MessageImpl();
    Cuttable in = new Cuttable(new ByteArrayInputStream(bytes));
    MimeStreamParser parser =
        new MimeStreamParser(
            CONFIG,
            DecodeMonitor.SILENT,
            new DefaultBodyDescriptorBuilder(null, LenientFieldParser.getParser(), DecodeMonitor.SILENT));
    parser.setContentHandler(
        new Bounded(new ParserStreamContentHandler(message, new BasicBodyFactory(true)), in, budget));
    parser.setContentDecoding(true);
    parser.setRecurse();
    try {
      parser.parse(in);
    } catch (MimeException e) {
      throw new MimeIOException(e);
    }
    parser.stop(); // gives its buffers back (mime4j recycles them), as DefaultMessageBuilder does
    return message;
  }

  private void walk(Entity entity, int depth, boolean returned) {
    if (depth > MAX_DEPTH || parts.size() >= MAX_PARTS) {
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
      Message enclosed = parseMessage(text.getBytes(StandardCharsets.UTF_8), budget);
      parts.add(new Part(type, enclosed.getHeader(), null, true));
      walk(enclosed, depth + 1, true);
    } catch (IOException | RuntimeException e) {
      parts.add(new Part(type, entity.getHeader(), text, true));
    }
  }

  /** Entities and header fields still to be read. */
  private static final class Budget {
    int entities = MAX_PARTS;
    int fields = MAX_FIELDS;
  }

  /** The message's bytes, ending early once {@link #cut}: mime4j then ends every open entity. */
  private static final class Cuttable extends FilterInputStream {
    private boolean cut;

    Cuttable(InputStream in) {
      super(in);
    }

    void cut() {
      cut = true;
    }

    @Override
    public int read() throws IOException {
      return cut ? -1 : super.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return cut ? -1 : super.read(b, off, len);
    }
  }

  /**
   * mime4j's events, passed on to the tree's builder until the budget is spent: the input is then cut, and what
   * mime4j still has in its buffers is passed over but for the ends of the entities already begun, so the tree
   * holds everything before the cut and nothing after. (MimeStreamParser.stop is no way to end a parse early in
   * mime4j 0.8.14: it releases the parser's recycled buffers.)
   */
  private static final class Bounded implements ContentHandler {
    private final ContentHandler tree;
    private final Cuttable in;
    private final Budget budget;
    private boolean cut;
    /** Entities begun after the cut and not yet ended: nothing of them reaches the tree. */
    private int passedOver;

    Bounded(ContentHandler tree, Cuttable in, Budget budget) {
      this.tree = tree;
      this.in = in;
      this.budget = budget;
    }

    private void cut() {
      cut = true;
      in.cut();
    }

    /** Whether an entity that begins now is built. */
    private boolean begins() {
      if (!cut && --budget.entities < 0) {
        cut();
      }
      if (cut) {
        passedOver++;
        return false;
      }
      return true;
    }

    /** Whether the entity that ends now was built. */
    private boolean ends() {
      if (passedOver > 0) {
        passedOver--;
        return false;
      }
      return true;
    }

    @Override
    public void startMessage() throws MimeException {
      if (begins()) {
        tree.startMessage();
      }
    }

    @Override
    public void endMessage() throws MimeException {
      if (ends()) {
        tree.endMessage();
      }
    }

    @Override
    public void startBodyPart() throws MimeException {
      if (begins()) {
        tree.startBodyPart();
      }
    }

    @Override
    public void endBodyPart() throws MimeException {
      if (ends()) {
        tree.endBodyPart();
      }
    }

    @Override
    public void startHeader() throws MimeException {
      if (passedOver == 0) {
        tree.startHeader();
      }
    }

    @Override
    public void field(Field field) throws MimeException {
      if (!cut && --budget.fields < 0) {
        cut();
      }
      if (!cut) {
        tree.field(field);
      }
    }

    @Override
    public void endHeader() throws MimeException {
      if (passedOver == 0) {
        tree.endHeader();
      }
    }

    @Override
    public void preamble(InputStream is) throws MimeException, IOException {
      if (passedOver == 0) {
        tree.preamble(is);
      }
    }

    @Override
    public void epilogue(InputStream is) throws MimeException, IOException {
      if (passedOver == 0) {
        tree.epilogue(is);
      }
    }

    @Override
    public void startMultipart(BodyDescriptor bd) throws MimeException {
      if (passedOver == 0) {
        tree.startMultipart(bd);
      }
    }

    @Override
    public void endMultipart() throws MimeException {
      if (passedOver == 0) {
        tree.endMultipart();
      }
    }

    @Override
    public void body(BodyDescriptor bd, InputStream is) throws MimeException, IOException {
      if (passedOver == 0) {
        tree.body(bd, is);
      }
    }

    @Override
    public void raw(InputStream is) throws MimeException, IOException {
      if (passedOver == 0) {
        tree.raw(is);
      }
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
