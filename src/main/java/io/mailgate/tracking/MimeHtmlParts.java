package io.mailgate.tracking;

import io.mailgate.send.HeaderBlock;
import io.mailgate.send.TransferEncoding;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Rewrites the HTML body parts of a raw message (SendRawEmail, SMTP submission) for open and click tracking. The
 * caller built the MIME structure, so only the HTML parts' bodies change: everything else keeps its bytes, found
 * as byte ranges by walking the boundaries here (mime4j's parser gives no offsets). What cannot be parsed or
 * decoded with certainty is left as it is: a message delivered untracked beats one delivered damaged.
 */
public final class MimeHtmlParts {
  /** Deeper multiparts are left alone: no sender nests that far, and it bounds the recursion. */
  private static final int MAX_DEPTH = 16;
  private static final int MAX_LINE = 998;
  private static final byte[] QP_HEADER =
      "Content-Transfer-Encoding: quoted-printable\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CRLF = {'\r', '\n'};
  private static final Base64.Encoder BASE64 = Base64.getMimeEncoder(76, CRLF);

  /** Bytes [start, end) of the message replaced by {@code bytes} (start == end inserts). */
  private record Edit(int start, int end, byte[] bytes) {}

  /** A Content-Type, -Disposition or -Transfer-Encoding value: lower case, and its parameters by lower-case name. */
  private record HeaderValue(String value, Map<String, String> params) {
    static final HeaderValue TEXT_PLAIN = new HeaderValue("text/plain", Map.of());
    static final HeaderValue MESSAGE_RFC822 = new HeaderValue("message/rfc822", Map.of());

    static HeaderValue parse(String s) {
      List<String> segments = splitUnquoted(s);
      Map<String, String> params = new HashMap<>();
      for (String segment : segments.subList(1, segments.size())) {
        int eq = segment.indexOf('=');
        if (eq > 0) {
          String v = segment.substring(eq + 1).strip();
          params.putIfAbsent(segment.substring(0, eq).strip().toLowerCase(Locale.ROOT),
              v.startsWith("\"") ? unquote(v) : token(v));
        }
      }
      return new HeaderValue(token(segments.get(0).strip()).toLowerCase(Locale.ROOT), params);
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

  private final byte[] message;
  private final UnaryOperator<String> rewrite;
  private final List<Edit> edits = new ArrayList<>();

  private MimeHtmlParts(byte[] message, UnaryOperator<String> rewrite) {
    this.message = message;
    this.rewrite = rewrite;
  }

  /**
   * Passes the decoded text of each HTML body part (text/html, not an attachment, outside forwarded messages) to
   * {@code rewrite} and puts the result back in the part's charset and transfer encoding. A 7bit or 8bit part whose
   * new text no longer fits that encoding (a line over 998 octets, 8-bit bytes in 7bit) becomes quoted-printable,
   * its Content-Transfer-Encoding header replaced or added. A bare CR or LF the function puts in such a part
   * becomes CRLF, the only line break it can carry.
   *
   * @param message a complete message with CRLF line endings (RawMessage has normalised it), headers then body
   * @param rewrite given one HTML part's decoded text, returns the new text (may return the same String instance:
   *     then the part is left byte for byte)
   * @return the message with each rewritten HTML part re-encoded; the same array instance when nothing changed
   */
  public static byte[] rewrite(byte[] message, UnaryOperator<String> rewrite) {
    MimeHtmlParts walk = new MimeHtmlParts(message, rewrite);
    walk.entity(0, message.length, false, 0, List.of());
    return walk.edits.isEmpty() ? message : walk.applyEdits();
  }

  /**
   * The entity in bytes [start, end): headers, blank line, body.
   *
   * @param inDigest whether the entity is a part of multipart/digest, where the default type is message/rfc822
   * @param boundaries the boundaries of the enclosing multiparts, which a new body must not contain
   */
  private void entity(int start, int end, boolean inDigest, int depth, List<byte[]> boundaries) {
    int bodyStart = bodyStart(start, end);
    if (bodyStart < 0) {
      return; // header block not terminated
    }
    HeaderBlock headers;
    try {
      headers = HeaderBlock.parse(Arrays.copyOfRange(message, start, bodyStart));
    } catch (IllegalArgumentException e) {
      return;
    }
    HeaderBlock.Field ct = headers.first("Content-Type");
    HeaderValue type = ct != null ? HeaderValue.parse(headers.rawValue(ct))
        : inDigest ? HeaderValue.MESSAGE_RFC822 : HeaderValue.TEXT_PLAIN;
    if (type.value().startsWith("multipart/")) {
      // what is signed or encrypted is the sender's: a change would break its S/MIME or OpenPGP signature
      if (depth < MAX_DEPTH && !type.value().equals("multipart/signed") && !type.value().equals("multipart/encrypted")) {
        multipart(type, bodyStart, end, depth + 1, boundaries);
      }
    } else if (type.value().equals("text/html") && !isAttachment(headers)) {
      html(start, headers, ct, type, bodyStart, end, boundaries);
    }
  }

  /** Where the body of the entity starting at {@code start} begins, or -1 when its headers have no end. */
  private int bodyStart(int start, int end) {
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

  private static boolean isAttachment(HeaderBlock headers) {
    HeaderBlock.Field f = headers.first("Content-Disposition");
    return f != null && HeaderValue.parse(headers.rawValue(f)).value().equals("attachment");
  }

  /**
   * Finds the parts between the delimiter lines (RFC 2046 5.1.1) and walks each; preamble and epilogue are not
   * looked at. Without a close delimiter nothing is walked: where the last part ends would be a guess.
   */
  private void multipart(HeaderValue type, int bodyStart, int end, int depth, List<byte[]> boundaries) {
    String b = type.params().get("boundary");
    if (b == null || b.isEmpty()) {
      return;
    }
    byte[] boundary = b.getBytes(StandardCharsets.UTF_8);
    List<int[]> parts = new ArrayList<>();
    int partStart = -1;
    boolean closed = false;
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
          closed = true;
          break;
        }
        partStart = eol < 0 ? end : eol + 2;
      }
      if (eol < 0) {
        break;
      }
      line = eol + 2;
    }
    if (!closed) {
      return;
    }
    List<byte[]> inner = new ArrayList<>(boundaries);
    inner.add(boundary);
    boolean digest = type.value().equals("multipart/digest");
    for (int[] part : parts) {
      entity(part[0], part[1], digest, depth, inner);
    }
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

  private int indexOfCrlf(int from, int end) {
    for (int i = from; i + 1 < end; i++) {
      if (message[i] == '\r' && message[i + 1] == '\n') {
        return i;
      }
    }
    return -1;
  }

  /** Decodes, rewrites and re-encodes one HTML part, or leaves it when any step is not certain. */
  private void html(int start, HeaderBlock headers, HeaderBlock.Field ct, HeaderValue type, int bodyStart, int end,
      List<byte[]> boundaries) {
    HeaderBlock.Field cteField = headers.first("Content-Transfer-Encoding");
    String cte = cteField == null ? "" : HeaderValue.parse(headers.rawValue(cteField)).value();
    boolean identity = cte.isEmpty() || cte.equals("7bit") || cte.equals("8bit") || cte.equals("binary");
    if (!identity && !cte.equals("quoted-printable") && !cte.equals("base64")) {
      return; // x-uuencode and the like
    }
    if (startsAnyLine(message, bodyStart, end, boundaries)) {
      return; // a line other parsers may take for a delimiter: where this part ends is not certain
    }
    byte[] raw;
    if (cte.equals("base64")) {
      try {
        ByteBuffer decoded = Base64.getMimeDecoder().decode(ByteBuffer.wrap(message, bodyStart, end - bodyStart));
        raw = Arrays.copyOfRange(decoded.array(), decoded.position(), decoded.limit());
      } catch (IllegalArgumentException e) {
        return;
      }
    } else if (cte.equals("quoted-printable")) {
      raw = decodeQuotedPrintable(bodyStart, end);
    } else {
      raw = Arrays.copyOfRange(message, bodyStart, end);
    }

    Charset declared = charset(type.params().get("charset"));
    if (declared == null) {
      return;
    }
    // us-ascii is often declared (or defaulted) over 8-bit bytes: read them as Latin-1 so they come back as they were
    boolean ascii = declared.equals(StandardCharsets.US_ASCII);
    String text = decode(raw, ascii ? StandardCharsets.ISO_8859_1 : declared);
    if (text == null) {
      return;
    }
    String next = rewrite.apply(text);
    if (next == text || next.equals(text)) {
      return;
    }
    if (identity) {
      next = crlfLineBreaks(next);
    }
    // a part that really was ASCII takes no new 8-bit characters: they would contradict its label
    byte[] bytes = encode(next, ascii && isAscii(raw) ? StandardCharsets.US_ASCII
        : ascii ? StandardCharsets.ISO_8859_1 : declared);
    if (bytes == null) {
      return;
    }

    byte[] body;
    boolean toQuotedPrintable = false;
    if (cte.equals("base64")) {
      boolean crlfAfter = end - bodyStart >= 2 && message[end - 2] == '\r' && message[end - 1] == '\n';
      body = BASE64.encode(bytes);
      if (crlfAfter) {
        body = Arrays.copyOf(body, body.length + 2);
        body[body.length - 2] = '\r';
        body[body.length - 1] = '\n';
      }
    } else if (cte.equals("quoted-printable")) {
      body = TransferEncoding.quotedPrintable(bytes);
    } else if (cte.equals("binary") || fitsAsIs(bytes, !cte.equals("8bit"))) {
      body = bytes;
    } else {
      body = TransferEncoding.quotedPrintable(bytes);
      toQuotedPrintable = true;
    }
    if (startsAnyLine(body, 0, body.length, boundaries)) {
      return; // the new text would end the part early
    }
    if (toQuotedPrintable) {
      edits.add(cteField != null
          ? new Edit(start + cteField.start(), start + cteField.end(), QP_HEADER)
          : new Edit(start + ct.end(), start + ct.end(), QP_HEADER));
    }
    edits.add(new Edit(bodyStart, end, body));
  }

  /** The charset named, us-ascii when none is; null when the JDK does not know it or cannot encode in it. */
  private static Charset charset(String name) {
    if (name == null || name.isBlank()) {
      return StandardCharsets.US_ASCII;
    }
    try {
      Charset c = Charset.forName(name.strip());
      return c.canEncode() ? c : null;
    } catch (IllegalArgumentException e) { // illegal or unsupported name
      return null;
    }
  }

  /** The text, or null when the bytes are not valid in the charset (a wrong label: rewriting would garble it). */
  private static String decode(byte[] bytes, Charset charset) {
    try {
      return charset.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** The bytes, or null when the charset cannot represent the text. */
  private static byte[] encode(String text, Charset charset) {
    try {
      ByteBuffer bb = charset.newEncoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .encode(CharBuffer.wrap(text));
      return Arrays.copyOfRange(bb.array(), bb.position(), bb.limit());
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static boolean isAscii(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0) {
        return false;
      }
    }
    return true;
  }

  /** {@code s} with every bare CR and bare LF made CRLF; {@code s} itself when there is none. */
  private static String crlfLineBreaks(String s) {
    StringBuilder sb = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean bare = (c == '\n' && (i == 0 || s.charAt(i - 1) != '\r'))
          || (c == '\r' && (i + 1 == s.length() || s.charAt(i + 1) != '\n'));
      if (bare && sb == null) {
        sb = new StringBuilder(s.length() + 64).append(s, 0, i);
      }
      if (sb != null) {
        sb.append(bare ? "\r\n" : String.valueOf(c));
      }
    }
    return sb == null ? s : sb.toString();
  }

  /** Whether CRLF text can go as it is: no line over 998 octets, and only ASCII when {@code sevenBit}. */
  private static boolean fitsAsIs(byte[] bytes, boolean sevenBit) {
    int lineLength = 0;
    for (int i = 0; i < bytes.length; i++) {
      byte b = bytes[i];
      if (b < 0 && sevenBit) {
        return false;
      }
      if (b == '\r' && i + 1 < bytes.length && bytes[i + 1] == '\n') {
        lineLength = 0;
        i++;
      } else if (++lineLength > MAX_LINE) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether a line of bytes [from, to) starts with "--" and one of the boundaries: a delimiter to a parser more
   * lenient than {@link #delimiter}.
   */
  private static boolean startsAnyLine(byte[] bytes, int from, int to, List<byte[]> boundaries) {
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

  /**
   * Quoted-printable decoding (RFC 2045 6.7), lenient as readers are: an '=' not followed by two hex digits or a
   * line break stays as it is; whitespace at the end of a line (added in transport) is dropped.
   */
  private byte[] decodeQuotedPrintable(int start, int end) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(end - start);
    for (int i = start; i < end; i++) {
      byte b = message[i];
      if (b == '=') {
        int hi = i + 2 < end ? Character.digit(message[i + 1], 16) : -1;
        int lo = i + 2 < end ? Character.digit(message[i + 2], 16) : -1;
        if (hi >= 0 && lo >= 0) {
          out.write(hi << 4 | lo);
          i += 2;
          continue;
        }
        int j = skipBlanks(i + 1, end);
        if (j == end) {
          break; // soft line break at the very end
        }
        if (j + 1 < end && message[j] == '\r' && message[j + 1] == '\n') {
          i = j + 1; // soft line break
          continue;
        }
        out.write(b);
      } else if (b == ' ' || b == '\t') {
        int j = skipBlanks(i, end);
        if (j == end || (j + 1 < end && message[j] == '\r' && message[j + 1] == '\n')) {
          i = j - 1; // trailing whitespace
        } else {
          out.write(message, i, j - i);
          i = j - 1;
        }
      } else {
        out.write(b);
      }
    }
    return out.toByteArray();
  }

  private int skipBlanks(int from, int end) {
    while (from < end && (message[from] == ' ' || message[from] == '\t')) {
      from++;
    }
    return from;
  }

  private byte[] applyEdits() {
    int size = message.length;
    for (Edit e : edits) {
      size += e.bytes().length - (e.end() - e.start());
    }
    byte[] out = new byte[size];
    int from = 0;
    int j = 0;
    for (Edit e : edits) { // in message order: the walk goes front to back
      System.arraycopy(message, from, out, j, e.start() - from);
      j += e.start() - from;
      System.arraycopy(e.bytes(), 0, out, j, e.bytes().length);
      j += e.bytes().length;
      from = e.end();
    }
    System.arraycopy(message, from, out, j, message.length - from);
    return out;
  }
}
