package io.mailgate.send;

/**
 * Whether a message has 8-bit bytes in any header section of its MIME structure: its own, a part's at any depth of
 * its multiparts, or that of a message a message/rfc822 part forwards. Raw UTF-8 there is RFC 6532's wherever it is
 * (an attachment's {@code filename="résumé.pdf"} as much as a Subject), and makes the message an internationalized
 * one (SMTPUTF8, RFC 6531 3.4). Bodies, preambles and epilogues are not header sections: 8-bit text there needs
 * 8BITMIME only. A message/global part is not walked into: it is how an internationalized message travels inside one
 * that is not (RFC 6532 3.7). These are the entities {@link SevenBitConversion} walks, and the bytes it refuses.
 *
 * <p>The walk reads the header sections and a multipart's lines for its delimiters: delivery asks only about a
 * message with 8-bit bytes in its body and none in its own header section (Raw content, SMTP submission), not about
 * one Mailgate built, which is 7-bit throughout.
 */
public final class EightBitHeaders {
  private EightBitHeaders() {}

  /** @param message a complete message with CRLF line endings, as it is committed */
  public static boolean anywhere(byte[] message) {
    return entity(message, 0, message.length, false, 0);
  }

  private static boolean entity(byte[] message, int start, int end, boolean inDigest, int depth) {
    MimeEntity e = MimeEntity.parse(message, start, end, inDigest);
    if (e == null) {
      // a header section that does not end, or is malformed: its lines up to an empty one are still header lines
      int bodyStart = MimeEntity.bodyStart(message, start, end);
      return SevenBitConversion.hasEightBit(message, start, bodyStart < 0 ? end : bodyStart);
    }
    if (SevenBitConversion.hasEightBit(message, start, e.bodyStart())) {
      return true;
    }
    if (depth >= SevenBitConversion.MAX_DEPTH) {
      return false;
    }
    String type = e.type().value();
    if (e.isMultipart()) {
      // an unclosed multipart's last part too: readers show it, and its header fields
      MimeEntity.Parts parts = e.partsEvenUnclosed();
      boolean digest = type.equals("multipart/digest");
      for (int[] part : parts == null ? java.util.List.<int[]>of() : parts.ranges()) {
        if (entity(message, part[0], part[1], digest, depth + 1)) {
          return true;
        }
      }
      return false;
    }
    return (type.equals("message/rfc822") || type.equals("message/news"))
        && entity(message, e.bodyStart(), end, false, depth + 1);
  }
}
