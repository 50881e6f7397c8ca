package io.mailgate.send;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * RFC 6152 section 3: a message with 8-bit bytes goes to a server that does not offer 8BITMIME only once converted to
 * 7 bits, as Postfix, Sendmail and Exim convert it. Each leaf part whose body has 8-bit bytes is encoded again as
 * quoted-printable (RFC 2045 6.7), its Content-Transfer-Encoding changed to say so; multiparts and message/rfc822
 * parts are walked into (they may not be encoded themselves, RFC 2046 5.1 and 5.2.1), and a label of 8bit or binary on
 * them becomes 7bit. Headers, boundaries and every part without 8-bit bytes keep their bytes. The parts of a
 * multipart/signed are converted too: RFC 1847 asks signers for 7-bit content, and a signature over 8-bit content no
 * longer verifies, as with Postfix.
 *
 * <p>8-bit bytes in header fields cannot be converted (raw UTF-8 there is RFC 6532's, for SMTPUTF8 servers): such a
 * message is {@link NotConvertible}, as is one whose structure hides where 8-bit bytes belong.
 *
 * <p>Two callers: {@link SendService} converts a message it is about to DKIM-sign before signing it (RFC 6376 5.3), so
 * that every recipient gets the same 7-bit bytes and the signature survives any server (one it cannot convert is
 * signed as it is); delivery converts what is still 8-bit, unsigned messages left as their senders wrote them, for a
 * server without 8BITMIME. A DKIM signature already on a message (its sender's own) no longer verifies after a
 * conversion: its body hash, and the Content-Transfer-Encoding field it signs, changed. Messages Mailgate builds
 * itself are 7-bit already, so only Raw content and SMTP submission can meet this.
 */
public final class SevenBitConversion {
  /** Deeper nesting is not walked: no sender nests that far, and it bounds the recursion. */
  static final int MAX_DEPTH = 16;
  private static final byte[] MIME_VERSION = "MIME-Version: 1.0\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long HIGH_BITS = 0x8080808080808080L;

  /** The message cannot be sent in 7 bits: why, with its RFC 3463 status. */
  public static final class NotConvertible extends RuntimeException {
    private final String status;

    NotConvertible(String status, String message) {
      super(message, null, false, false);
      this.status = status;
    }

    public String status() {
      return status;
    }
  }

  private final byte[] message;
  private final ByteEdits edits = new ByteEdits();

  private SevenBitConversion(byte[] message) {
    this.message = message;
  }

  /**
   * The message in 7 bits.
   *
   * @param message a complete message with CRLF line endings, as it is committed
   * @throws NotConvertible when it has 8-bit header fields, or 8-bit bytes where no part can carry them
   */
  public static byte[] convert(byte[] message) {
    SevenBitConversion c = new SevenBitConversion(message);
    c.entity(0, message.length, false, true, 0, List.of());
    byte[] out = c.edits.applyTo(message);
    if (hasEightBit(out, 0, out.length)) { // every byte was walked; this only guards against what the walk missed
      throw cannotConvert("8-bit content outside any MIME part");
    }
    return out;
  }

  /**
   * The entity in bytes [start, end).
   *
   * @param isMessage whether it is a message: the whole one, or the one a message/rfc822 part holds
   * @param boundaries those of the enclosing multiparts, which no new line may start with
   */
  private void entity(int start, int end, boolean inDigest, boolean isMessage, int depth, List<byte[]> boundaries) {
    MimeEntity e = MimeEntity.parse(message, start, end, inDigest);
    if (e == null) {
      if (hasEightBit(message, start, end)) {
        throw cannotConvert("a part with 8-bit content has a malformed header section");
      }
      return;
    }
    if (hasEightBit(message, start, e.bodyStart())) {
      throw new NotConvertible("5.6.7",
          "Message has 8-bit headers and the destination does not support 8BITMIME/SMTPUTF8");
    }
    if (!hasEightBit(message, e.bodyStart(), end)) {
      return;
    }
    if (depth >= MAX_DEPTH) {
      throw cannotConvert("8-bit content nested more than " + MAX_DEPTH + " levels deep");
    }
    String type = e.type().value();
    if (e.isMultipart()) {
      multipart(e, depth, boundaries);
    } else if (type.equals("message/rfc822") || type.equals("message/news")) {
      relabelSevenBit(e);
      entity(e.bodyStart(), end, false, true, depth + 1, boundaries);
    } else if (type.startsWith("message/") && !type.equals("message/global")) {
      // message/partial and message/external-body must be 7bit (RFC 2046 5.2.2.1, 5.2.3.1)
      throw cannotConvert("a " + type + " part has 8-bit content");
    } else {
      leaf(e, isMessage, boundaries);
    }
  }

  /**
   * Walks the parts; 8-bit bytes outside them (preamble, epilogue: text no reader shows, RFC 2046 5.1.1) become '?'.
   */
  private void multipart(MimeEntity e, int depth, List<byte[]> boundaries) {
    MimeEntity.Parts parts = e.parts();
    if (parts == null) {
      throw cannotConvert("a multipart with 8-bit content has no boundary or no close delimiter");
    }
    relabelSevenBit(e);
    List<byte[]> inner = new ArrayList<>(boundaries);
    inner.add(parts.boundary());
    boolean digest = e.type().value().equals("multipart/digest");
    int outside = e.bodyStart();
    for (int[] part : parts.ranges()) {
      blank8Bit(outside, part[0]);
      entity(part[0], part[1], digest, false, depth + 1, inner);
      outside = part[1];
    }
    blank8Bit(outside, e.end());
  }

  /** A multipart or message part labelled 8bit or binary holds 7-bit content once its parts are converted. */
  private void relabelSevenBit(MimeEntity e) {
    String cte = e.transferEncoding();
    if (cte.equals("8bit") || cte.equals("binary")) {
      e.setTransferEncoding(edits, "7bit");
    }
  }

  private void blank8Bit(int from, int to) {
    if (!hasEightBit(message, from, to)) {
      return;
    }
    byte[] bytes = Arrays.copyOfRange(message, from, to);
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] < 0) {
        bytes[i] = '?';
      }
    }
    edits.replace(from, to, bytes);
  }

  /**
   * A leaf part with 8-bit bytes in its body: quoted-printable when it is text and mostly ASCII, base64 otherwise (a
   * type that is not text, a part labelled binary, or text that is over a quarter 8-bit, which quoted-printable would
   * triple; RFC 2045 6.7 (4): binary data's CRLFs are not line breaks). One already labelled quoted-printable or base64
   * (whose 8-bit bytes readers would pass through, or skip) is decoded and encoded again the same way, which gives
   * readers what they read before.
   *
   * @param isMessage whether the part is a message (the whole one, or one a message/rfc822 part holds), which needs
   *     a MIME-Version for its new transfer encoding to mean anything
   */
  private void leaf(MimeEntity e, boolean isMessage, List<byte[]> boundaries) {
    byte[] decoded = e.decodedBody();
    String cte = e.transferEncoding();
    if (decoded == null) {
      throw cannotConvert("a part with 8-bit content has the transfer encoding " + cte);
    }
    String encoding = cte.equals("base64") || (!cte.equals("quoted-printable") && (cte.equals("binary")
        || !e.type().value().startsWith("text/") || mostlyEightBit(decoded))) ? "base64" : "quoted-printable";
    byte[] body = encoding.equals("base64") ? null : TransferEncoding.quotedPrintable(decoded);
    if (body == null || MimeEntity.startsAnyLine(body, 0, body.length, boundaries)) {
      // base64, or a soft line break that put a delimiter at the start of a line (base64 has no '-')
      encoding = "base64";
      body = e.base64Body(decoded);
    }
    if (!encoding.equals(cte)) {
      e.setTransferEncoding(edits, encoding);
    }
    if (isMessage && e.headers().first("MIME-Version") == null) {
      edits.insert(e.bodyStart() - 2, MIME_VERSION);
    }
    edits.replace(e.bodyStart(), e.end(), body);
  }

  private static NotConvertible cannotConvert(String why) {
    return new NotConvertible("5.6.3", "Conversion to 7 bit required but not possible (the destination does not "
        + "support 8BITMIME): " + why);
  }

  private static boolean mostlyEightBit(byte[] bytes) {
    int high = 0;
    for (byte b : bytes) {
      if (b < 0) {
        high++;
      }
    }
    return high * 4 > bytes.length;
  }

  /** Whether the message has a byte above 127 anywhere: the one scan a 7-bit message (nearly every one) costs. */
  public static boolean hasEightBit(byte[] message) {
    return hasEightBit(message, 0, message.length);
  }

  /** Eight bytes at a time, as {@code delivery.DotStuffing} reads them. */
  static boolean hasEightBit(byte[] bytes, int from, int to) {
    int i = from;
    for (; i + 8 <= to; i += 8) {
      if (((long) LONGS.get(bytes, i) & HIGH_BITS) != 0) {
        return true;
      }
    }
    for (; i < to; i++) {
      if (bytes[i] < 0) {
        return true;
      }
    }
    return false;
  }
}
