package io.mailgate.delivery;

import io.mailgate.Buffers;
import io.mailgate.OffLoop;
import io.mailgate.send.EightBitHeaders;
import io.mailgate.send.SevenBitConversion;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;

/**
 * A message as its recipients' attempts send it, shared by them all on the delivery instance's event loop: the bytes
 * for DATA, dot-stuffed once, and their 7-bit form ({@link SevenBitConversion}) for servers without 8BITMIME, made the
 * first time one of them is met and kept while the message's attempts last. A 7-bit message, and any message to
 * servers that offer 8BITMIME (almost all), costs nothing more. A message Mailgate DKIM-signed was converted before it
 * was signed, so what such a message still has in 8 bits (header fields, a structure that hides where its 8-bit bytes
 * belong) cannot be converted here either: only unsigned messages are. Made on a worker thread for a large message
 * ({@link OffLoop}).
 */
final class OutgoingMessage {
  /**
   * What goes after DATA: dot-stuffed, ending in CRLF. {@code size} is the message's own (SIZE=); {@code eightBit}
   * whether it has 8-bit bytes (BODY=8BITMIME); {@code utf8Headers} whether some are in a header section, its own or a
   * MIME part's (SMTPUTF8). Found once per message rather than per attempt: by the same pass ({@link DotStuffing}) for
   * the message's own header section, and for its parts' by a walk of its MIME structure ({@link EightBitHeaders}) that
   * only a message with 8-bit bytes in its body, and none in its own headers, costs.
   */
  record Form(Buffer data, int size, boolean eightBit, boolean utf8Headers) {}

  private final byte[] content;
  private final Form original;
  private Future<Form> sevenBit;

  OutgoingMessage(byte[] content) {
    this.content = content;
    DotStuffing.Prepared prepared = DotStuffing.prepare(content);
    // a 7-bit message (every one Mailgate builds) is not walked; one with UTF-8 in its own header section need not be
    boolean utf8Headers = prepared.eightBitHeaders() || prepared.eightBit() && utf8InPartHeaders(content);
    this.original = new Form(Buffers.wrap(prepared.data()), content.length, prepared.eightBit(), utf8Headers);
  }

  /**
   * Whether a MIME part's header section has 8-bit bytes. A structure the walk cannot follow counts as having them
   * (SMTPUTF8 where offered, as the message goes anyway): the walk decides a parameter of the transaction, never
   * whether the message can be delivered at all.
   */
  private static boolean utf8InPartHeaders(byte[] content) {
    try {
      return EightBitHeaders.anywhere(content);
    } catch (RuntimeException e) {
      return true;
    }
  }

  /** The message as it was committed. */
  Form original() {
    return original;
  }

  /** Whether a server takes the original: it has no 8-bit bytes, or the server offers 8BITMIME. */
  boolean goesAsIs(boolean eightBitMime) {
    return !original.eightBit() || eightBitMime;
  }

  /**
   * The 7-bit form for servers without 8BITMIME (RFC 6152 3), made at the first call (a large message's on a worker
   * thread, as its parts are walked and encoded again). Fails with
   * {@link SevenBitConversion.NotConvertible} when there is none.
   */
  Future<Form> sevenBit() {
    if (sevenBit == null) {
      sevenBit = OffLoop.when(content.length, () -> {
        byte[] converted = SevenBitConversion.convert(content);
        // the conversion refuses 8-bit header fields (NotConvertible): what it makes is 7-bit throughout
        return new Form(Buffers.wrap(DotStuffing.prepare(converted).data()), converted.length, false, false);
      });
    }
    return sevenBit;
  }
}
