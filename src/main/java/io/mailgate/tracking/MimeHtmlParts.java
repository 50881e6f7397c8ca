package io.mailgate.tracking;

import io.mailgate.send.ByteEdits;
import io.mailgate.send.MimeEntity;
import io.mailgate.send.TransferEncoding;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Rewrites the HTML body parts of a raw message (SendRawEmail, SMTP submission) for open and click tracking. The
 * caller built the MIME structure, so only the HTML parts' bodies change: everything else keeps its bytes, found
 * as byte ranges by {@link MimeEntity}. What cannot be parsed or decoded with certainty is left as it is: a message
 * delivered untracked beats one delivered damaged.
 */
public final class MimeHtmlParts {
  /** Deeper multiparts are left alone: no sender nests that far, and it bounds the recursion. */
  private static final int MAX_DEPTH = 16;
  private static final int MAX_LINE = 998;
  private static final byte[] MIME_VERSION = "MIME-Version: 1.0\r\n".getBytes(StandardCharsets.US_ASCII);

  /** What rewrites one HTML part's text. */
  @FunctionalInterface
  public interface PartRewrite {
    /**
     * @param text the part's decoded text
     * @param charset what the part's text was read as
     * @param charsetGuessed the part's 8-bit bytes were read as Latin-1, for want of a charset that says what they are
     *     (none declared, or us-ascii, and not UTF-8 either): its non-ASCII characters may not be the ones its author
     *     wrote, and a link holding one may lead elsewhere once copied out of the part
     * @return the new text (may be the same String instance: then the part is left byte for byte)
     */
    String apply(String text, Charset charset, boolean charsetGuessed);
  }

  private final byte[] message;
  private final PartRewrite rewrite;
  private final ByteEdits edits = new ByteEdits();

  private MimeHtmlParts(byte[] message, PartRewrite rewrite) {
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
   * @param rewrite given one HTML part's decoded text, returns the new text
   * @return the message with each rewritten HTML part re-encoded; the same array instance when nothing changed
   */
  public static byte[] rewrite(byte[] message, PartRewrite rewrite) {
    MimeHtmlParts walk = new MimeHtmlParts(message, rewrite);
    walk.entity(MimeEntity.parse(message, 0, message.length, false), 0, List.of());
    return walk.edits.applyTo(message);
  }

  /**
   * Walks one entity (null: one whose headers could not be read, left alone).
   *
   * @param boundaries the boundaries of the enclosing multiparts, which a new body must not contain
   */
  private void entity(MimeEntity e, int depth, List<byte[]> boundaries) {
    if (e == null) {
      return;
    }
    String type = e.type().value();
    if (e.isMultipart()) {
      // what is signed or encrypted is the sender's: a change would break its S/MIME or OpenPGP signature
      MimeEntity.Parts parts = depth < MAX_DEPTH && !type.equals("multipart/signed")
          && !type.equals("multipart/encrypted") ? e.parts() : null;
      if (parts == null) {
        return; // preamble and epilogue are not looked at
      }
      List<byte[]> inner = new ArrayList<>(boundaries);
      inner.add(parts.boundary());
      for (int[] part : parts.ranges()) {
        entity(MimeEntity.parse(message, part[0], part[1], type.equals("multipart/digest")), depth + 1, inner);
      }
    } else if (type.equals("text/html") && !e.isAttachment()) {
      html(e, boundaries, depth == 0);
    }
  }

  /**
   * Decodes, rewrites and re-encodes one HTML part, or leaves it when any step is not certain; {@code whole}: the
   * part is the message itself, whose new transfer encoding means nothing without a MIME-Version.
   */
  private void html(MimeEntity e, List<byte[]> boundaries, boolean whole) {
    String cte = e.transferEncoding();
    boolean identity = cte.isEmpty() || cte.equals("7bit") || cte.equals("8bit") || cte.equals("binary");
    if (MimeEntity.startsAnyLine(message, e.bodyStart(), e.end(), boundaries)) {
      return; // a line other parsers may take for a delimiter: where this part ends is not certain
    }
    byte[] raw = e.decodedBody();
    if (raw == null) {
      return; // x-uuencode and the like, or broken base64
    }

    Charset declared = charset(e.type().params().get("charset"));
    if (declared == null) {
      return;
    }
    // us-ascii is often declared (or defaulted) over 8-bit bytes. They are read as UTF-8 when they are valid UTF-8
    // (what they almost always are today, and then what a link's non-ASCII characters are), else as Latin-1: either
    // way they come back as they were, byte for byte. A part that really is ASCII stays so: a new 8-bit character
    // would contradict its label, and is refused by its encoder.
    Charset read = declared;
    boolean guessed = false;
    String text;
    if (declared.equals(StandardCharsets.US_ASCII) && !isAscii(raw)) {
      read = StandardCharsets.UTF_8;
      text = decode(raw, read);
      if (text == null) {
        read = StandardCharsets.ISO_8859_1;
        guessed = true;
        text = decode(raw, read);
      }
    } else {
      text = decode(raw, read);
    }
    if (text == null) {
      return;
    }
    String next = rewrite.apply(text, read, guessed);
    if (next == text || next.equals(text)) {
      return;
    }
    if (identity) {
      next = crlfLineBreaks(next);
    }
    byte[] bytes = encode(next, read);
    if (bytes == null) {
      return;
    }

    byte[] body;
    boolean toQuotedPrintable = false;
    if (cte.equals("base64")) {
      body = e.base64Body(bytes);
    } else if (cte.equals("quoted-printable")) {
      body = TransferEncoding.quotedPrintable(bytes);
    } else if (cte.equals("binary") || fitsAsIs(bytes, !cte.equals("8bit"))) {
      body = bytes;
    } else {
      body = TransferEncoding.quotedPrintable(bytes);
      toQuotedPrintable = true;
    }
    if (MimeEntity.startsAnyLine(body, 0, body.length, boundaries)) {
      return; // the new text would end the part early
    }
    if (toQuotedPrintable) {
      e.setTransferEncoding(edits, "quoted-printable");
      if (whole && e.headers().first("MIME-Version") == null) {
        edits.insert(e.bodyStart() - 2, MIME_VERSION);
      }
    }
    edits.replace(e.bodyStart(), e.end(), body);
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
}
