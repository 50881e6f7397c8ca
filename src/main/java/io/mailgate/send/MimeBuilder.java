package io.mailgate.send;

import io.mailgate.SesException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Builds an RFC 5322 / MIME message from {@link SimpleContent}: text and HTML as
 * multipart/alternative, inline attachments with the HTML in multipart/related, other attachments
 * in multipart/mixed; CRLF line endings, lines within 998 octets, encoded words for non-ASCII
 * header text, quoted-printable or base64 bodies.
 */
public final class MimeBuilder {
  private static final DateTimeFormatter RFC5322_DATE =
      DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.US);

  /** The last Date header value: every message built in the same second (and offset) has the same. */
  private record FormattedDate(long epochSecond, ZoneOffset offset, String text) {}

  private static volatile FormattedDate lastDate;

  /**
   * {@code t} as an RFC 5322 date-time ({@link #RFC5322_DATE}), formatted once per second: the formatter costs more
   * than the rest of the top-level headers together.
   */
  public static String rfc5322Date(ZonedDateTime t) {
    FormattedDate d = lastDate;
    long second = t.toEpochSecond();
    if (d == null || d.epochSecond() != second || !d.offset().equals(t.getOffset())) {
      d = new FormattedDate(second, t.getOffset(), RFC5322_DATE.format(t));
      lastDate = d;
    }
    return d.text();
  }

  /** The header fields Mailgate writes at the top of a built message. */
  public record Headers(Mailbox from, List<Mailbox> to, List<Mailbox> cc, List<Mailbox> replyTo,
      String messageId, ZonedDateTime date) {}

  private MimeBuilder() {}

  /**
   * A header field naming {@code mailboxes} as the messages built here write one (display names as encoded words
   * where they need it, folded), ending with CRLF: for messages built elsewhere, as reports are.
   */
  public static String addressField(String name, List<Mailbox> mailboxes) {
    ByteSink out = new ByteSink(128);
    new HeaderWriter(out).addressList(name, mailboxes);
    return new String(out.toByteArray(), StandardCharsets.ISO_8859_1);
  }

  /** The most a message's buffer is sized for before it is built (it grows past it if it must). */
  private static final long MAX_ESTIMATE = 64L * 1024 * 1024;

  /**
   * The fewest bytes the message built of {@code content} can take, without building it: its attachments' contents
   * and the fewest header bytes each gets, and its custom headers. What is over the size limit by this is refused
   * before anything is built (100,000 empty attachments, 10 MB of JSON, made 60 MB of MIME before).
   */
  public static long leastSize(SimpleContent content) {
    long n = content.subject().length() + length(content.text()) + length(content.html());
    for (Attachment a : content.attachments()) {
      n += a.content().length + LEAST_ATTACHMENT_HEADERS;
    }
    for (MessageHeader header : content.headers()) {
      n += header.name().length() + header.value().length() + 4;
    }
    return n;
  }

  /** A boundary line, Content-Type, Content-Disposition and Content-Transfer-Encoding: more than this each. */
  static final int LEAST_ATTACHMENT_HEADERS = 128;

  public static byte[] build(Headers h, SimpleContent content) {
    return build(h, content, MimeBuilder::randomBoundary);
  }

  /** {@link #build(Headers, SimpleContent)} with the boundaries tried taken from {@code boundaries} (tests force one). */
  static byte[] build(Headers h, SimpleContent content, Supplier<String> boundaries) {
    // room for a body in base64 (4/3 and a CRLF per 76); 7bit and most quoted-printable bodies take less, and
    // the sink grows for the rest: each byte over what is needed is garbage made and zeroed per send
    long estimate = 1024 + (length(content.text()) + length(content.html())) * 11L / 8;
    for (Attachment a : content.attachments()) {
      estimate += a.content().length * 4L / 3 + 512;
    }
    // at most what the largest message could take: the sink grows past it for what is then refused as too large
    ByteSink out = new ByteSink((int) Math.min(estimate, MAX_ESTIMATE));
    HeaderWriter w = new HeaderWriter(out);
    w.raw("Date", rfc5322Date(h.date()));
    if (h.from() != null) { // only a template rendered for a look (TestRenderEmailTemplate) has none
      w.addressList("From", List.of(h.from()));
    }
    if (!h.to().isEmpty()) {
      w.addressList("To", h.to());
    }
    if (!h.cc().isEmpty()) {
      w.addressList("Cc", h.cc());
    }
    if (!h.replyTo().isEmpty()) {
      w.addressList("Reply-To", h.replyTo());
    }
    w.unstructured("Subject", content.subject(), content.subjectCharset());
    if (h.messageId() != null) {
      w.raw("Message-ID", "<" + h.messageId() + ">");
    }
    w.raw("MIME-Version", "1.0");
    for (MessageHeader header : content.headers()) {
      if (header.name().equalsIgnoreCase("Sender")) {
        // written as the one mailbox that was verified, not as given: an unquoted display name may hold what a mail
        // reader takes for another address ("ceo@bank.example, <me@verified.example>")
        w.addressList("Sender", List.of(MailboxParser.parse(header.value())));
      } else {
        w.asGiven(header.name(), header.value());
      }
    }
    Part body = structure(content);
    body.write(out, w, new Boundaries(boundaries));
    if (!out.endsWithCrlf()) {
      out.crlf();
    }
    return out.toByteArray();
  }

  private static int length(TextBody b) {
    return b == null ? 0 : b.data().length();
  }

  private static Part structure(SimpleContent c) {
    List<Part> inline = new ArrayList<>();
    List<Part> regular = new ArrayList<>();
    for (Attachment a : c.attachments()) {
      (a.inline() ? inline : regular).add(new AttachmentPart(a));
    }
    Part html = c.html() == null ? null : TextPart.of("html", c.html());
    if (html != null && !inline.isEmpty()) {
      List<Part> related = new ArrayList<>();
      related.add(html);
      related.addAll(inline);
      html = new Multipart("related", related);
      inline = List.of();
    }
    Part text = c.text() == null ? null : TextPart.of("plain", c.text());
    Part main;
    if (text != null && html != null) {
      main = new Multipart("alternative", List.of(text, html));
    } else {
      main = text != null ? text : html;
    }
    if (regular.isEmpty() && inline.isEmpty()) {
      return main;
    }
    List<Part> mixed = new ArrayList<>();
    mixed.add(main);
    mixed.addAll(inline); // inline parts without HTML to refer to them: shown as attachments
    mixed.addAll(regular);
    return new Multipart("mixed", mixed);
  }

  private interface Part {
    /** Writes the part's own headers (Content-*) then a blank line and the body. */
    void write(ByteSink out, HeaderWriter w, Boundaries boundaries);

    /** Adds the bodies written as they are (7bit) in this part and those inside it: where a boundary must not be. */
    void asWritten(List<byte[]> bodies);
  }

  private record TextPart(String subtype, Charset charset, byte[] data, TransferEncoding te) implements Part {
    static TextPart of(String subtype, TextBody body) {
      byte[] data = encodeText(body.data(), body.charset(), subtype.equals("html") ? "Html body" : "Text body");
      TransferEncoding te = sevenBitAscii(body.data(), body.charset(), data) ? TransferEncoding.SEVEN_BIT
          : TransferEncoding.forText(data);
      return new TextPart(subtype, body.charset(), data, te);
    }

    @Override
    public void write(ByteSink out, HeaderWriter w, Boundaries boundaries) {
      w.raw("Content-Type", "text/" + subtype + "; charset=" + charset.name());
      w.raw("Content-Transfer-Encoding", te.headerValue);
      out.crlf();
      te.encode(data, out);
    }

    @Override
    public void asWritten(List<byte[]> bodies) {
      if (te == TransferEncoding.SEVEN_BIT) {
        bodies.add(data);
      }
    }
  }

  private record AttachmentPart(Attachment a) implements Part {
    @Override
    public void asWritten(List<byte[]> bodies) {
      if (a.encoding() == TransferEncoding.SEVEN_BIT) {
        bodies.add(a.content());
      }
    }

    @Override
    public void write(ByteSink out, HeaderWriter w, Boundaries boundaries) {
      w.raw("Content-Type", a.contentType() + ";\r\n name=" + parameterValue(a.fileName()));
      w.raw("Content-Disposition", (a.inline() ? "inline" : "attachment") + ";\r\n " + filenameParameter(a.fileName()));
      w.raw("Content-Transfer-Encoding", a.encoding().headerValue);
      if (a.contentId() != null) {
        w.raw("Content-ID", "<" + a.contentId() + ">");
      }
      if (a.description() != null) {
        w.unstructured("Content-Description", a.description(), StandardCharsets.UTF_8);
      }
      out.crlf();
      a.encoding().encode(a.content(), out, a.contentType().regionMatches(true, 0, "text/", 0, 5));
    }
  }

  private record Multipart(String subtype, List<Part> parts) implements Part {
    @Override
    public void asWritten(List<byte[]> bodies) {
      for (Part p : parts) {
        p.asWritten(bodies);
      }
    }

    @Override
    public void write(ByteSink out, HeaderWriter w, Boundaries boundaries) {
      List<byte[]> bodies = new ArrayList<>();
      asWritten(bodies);
      String boundary = boundaries.next(bodies);
      // a multipart/related names its root's type (RFC 2387 3.1): its first part, the HTML
      w.raw("Content-Type", "multipart/" + subtype + (subtype.equals("related") ? "; type=\"text/html\"" : "")
          + "; boundary=\"" + boundary + "\"");
      out.crlf();
      out.ascii("--").ascii(boundary).crlf();
      for (int i = 0; i < parts.size(); i++) {
        parts.get(i).write(out, w, boundaries);
        // the delimiter's own CRLF: a part that ends with a line break keeps it
        out.crlf().ascii("--").ascii(boundary).ascii(i + 1 < parts.size() ? "" : "--").crlf();
      }
    }
  }

  /**
   * The boundaries of one message: each one not used before in it, and not at the start of any line of a body written
   * as it is. "=_" never appears in base64 or quoted-printable output, so only 7bit bodies are looked at: a caller who
   * guessed the boundary and put its delimiter lines in a body would add parts of their own (an attachment the
   * blocked-type check never saw), so one found there is not used.
   */
  private static final class Boundaries {
    private final Supplier<String> source;
    private final List<byte[]> used = new ArrayList<>();

    Boundaries(Supplier<String> source) {
      this.source = source;
    }

    String next(List<byte[]> bodies) {
      while (true) {
        byte[] b = source.get().getBytes(StandardCharsets.US_ASCII);
        if (used.stream().noneMatch(u -> Arrays.equals(u, b)) && bodies.stream()
            .noneMatch(body -> MimeEntity.startsAnyLine(body, 0, body.length, List.of(b)))) {
          used.add(b);
          return new String(b, StandardCharsets.US_ASCII);
        }
      }
    }
  }

  /**
   * A random 128-bit boundary from a cryptographic generator ({@link MessageIds#RANDOM}): a fast generator's outputs
   * tell its next ones, and a caller who saw one boundary (TestRenderEmailTemplate shows them) could write the next.
   */
  private static String randomBoundary() {
    SecureRandom r = MessageIds.RANDOM.get();
    return "=_mg_" + Long.toHexString(r.nextLong() | Long.MIN_VALUE) + Long.toHexString(r.nextLong() | Long.MIN_VALUE);
  }

  /** Text with its line breaks made CRLF, encoded in {@code charset} (unmappable characters refused). */
  static byte[] encodeText(String text, Charset charset, String what) {
    if (charset.equals(StandardCharsets.UTF_8)) {
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      if (bytes.length == text.length() && text.indexOf('\r') < 0) {
        return lfToCrlf(text, bytes); // ASCII with LF line breaks, the usual API body
      }
      // CR and LF are single bytes in UTF-8, never inside a multi-byte sequence: normalise the
      // encoded bytes in one pass instead of the characters
      return crlf(bytes);
    }
    StringBuilder sb = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean lf = c == '\n' && (i == 0 || text.charAt(i - 1) != '\r');
      boolean cr = c == '\r' && (i + 1 == text.length() || text.charAt(i + 1) != '\n');
      if (lf || cr) {
        if (sb == null) {
          sb = new StringBuilder(text.length() + 64).append(text, 0, i);
        }
        sb.append("\r\n");
      } else if (sb != null) {
        sb.append(c);
      }
    }
    CharSequence normalized = sb == null ? text : sb;
    try {
      ByteBuffer bb = charset.newEncoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .encode(CharBuffer.wrap(normalized));
      byte[] bytes = new byte[bb.remaining()];
      bb.get(bytes);
      return bytes;
    } catch (CharacterCodingException e) {
      throw SesException.badRequest("The " + what + " contains characters that charset " + charset.name()
          + " cannot represent.");
    }
  }

  /**
   * {@code bytes} (the ASCII encoding of {@code text}, which has no CR) with each LF as CRLF. The
   * line breaks are found with {@link String#indexOf(int, int)}, which the JVM vectorises, and the
   * lines copied whole.
   */
  static byte[] lfToCrlf(String text, byte[] bytes) {
    int breaks = 0;
    for (int i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
      breaks++;
    }
    if (breaks == 0) {
      return bytes;
    }
    byte[] out = new byte[bytes.length + breaks];
    int from = 0;
    int j = 0;
    for (int i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
      System.arraycopy(bytes, from, out, j, i - from);
      j += i - from;
      out[j++] = '\r';
      out[j++] = '\n';
      from = i + 1;
    }
    System.arraycopy(bytes, from, out, j, bytes.length - from);
    return out;
  }

  /**
   * Whether {@code data}, the encoding of {@code text}, is 7bit as it stands, decided on the text
   * with {@link String#indexOf(int)} (vectorised) instead of a byte-by-byte scan: UTF-8 with one
   * byte per character (the data is the text plus a CR per LF), no CR or NUL of its own, and no
   * line over 998 octets. False only means "look at the bytes".
   */
  static boolean sevenBitAscii(String text, Charset charset, byte[] data) {
    if (!charset.equals(StandardCharsets.UTF_8) || text.indexOf('\r') >= 0 || text.indexOf(0) >= 0) {
      return false;
    }
    int lines = 0;
    int longest = 0;
    int from = 0;
    for (int i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
      lines++;
      longest = Math.max(longest, i - from);
      from = i + 1;
    }
    longest = Math.max(longest, text.length() - from);
    // a character beyond ASCII takes more bytes than chars in UTF-8 (a lone surrogate becomes '?')
    return data.length == text.length() + lines && longest <= 998;
  }

  /** Bare CR and bare LF as CRLF; the same array when every line break already is one. */
  public static byte[] crlf(byte[] in) {
    int bare = 0;
    for (int i = 0; i < in.length; i++) {
      byte b = in[i];
      if (b == '\r') {
        if (i + 1 < in.length && in[i + 1] == '\n') {
          i++;
        } else {
          bare++;
        }
      } else if (b == '\n') {
        bare++;
      }
    }
    if (bare == 0) {
      return in;
    }
    byte[] out = new byte[in.length + bare];
    int j = 0;
    for (int i = 0; i < in.length; i++) {
      byte b = in[i];
      if (b == '\r' || b == '\n') {
        out[j++] = '\r';
        out[j++] = '\n';
        if (b == '\r' && i + 1 < in.length && in[i + 1] == '\n') {
          i++;
        }
      } else {
        out[j++] = b;
      }
    }
    return out;
  }

  /** A MIME parameter value: a quoted string, or an encoded word for non-ASCII (widely understood). */
  private static String parameterValue(String value) {
    if (EncodedWords.isPlainAscii(value)) {
      return HeaderWriter.quote(value);
    }
    try {
      // phrase rules: a quote or backslash in the name is encoded too, or it would end the quoted string early
      return "\"" + String.join("\r\n ", EncodedWords.encode(value, StandardCharsets.UTF_8, true)) + "\"";
    } catch (CharacterCodingException e) {
      throw new IllegalStateException("UTF-8 encodes every string", e);
    }
  }

  /**
   * filename="..." for ASCII names; RFC 2231 {@code filename*0*=UTF-8''...} with continuations
   * otherwise, folded so no line grows past the limits whatever the name's length.
   */
  private static String filenameParameter(String fileName) {
    if (EncodedWords.isPlainAscii(fileName) && fileName.length() < 200) {
      return "filename=" + HeaderWriter.quote(fileName);
    }
    List<String> chunks = new ArrayList<>();
    StringBuilder chunk = new StringBuilder("UTF-8''");
    byte[] bytes = fileName.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i++) {
      int c = bytes[i] & 0xff;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$&+-.^_`|~".indexOf(c) >= 0) {
        chunk.append((char) c);
      } else {
        chunk.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
      // split only before the first byte of a character so each chunk decodes on its own
      boolean boundary = i + 1 == bytes.length || (bytes[i + 1] & 0xC0) != 0x80;
      if (chunk.length() >= 60 && boundary) {
        chunks.add(chunk.toString());
        chunk.setLength(0);
      }
    }
    if (chunk.length() > 0) {
      chunks.add(chunk.toString());
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < chunks.size(); i++) {
      if (i > 0) {
        sb.append(";\r\n ");
      }
      sb.append("filename*").append(i).append("*=").append(chunks.get(i));
    }
    return sb.toString();
  }
}
