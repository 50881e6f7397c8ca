package io.mailgate.smtp;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Collects the reply bytes a session produces while it works through one batch of input.
 *
 * <p>It exists so pipelined commands are answered with one network write instead of one per
 * reply, and so replies are encoded without building strings: ASCII text (nearly every reply)
 * is copied char by char into a reused array.
 */
final class ReplyWriter implements Appendable {

  private static final int RETAINED_CAPACITY = 4096;

  private byte[] bytes = new byte[256];
  private int length;

  void reply(SmtpReply reply) {
    reply.appendWire(this);
  }

  boolean isEmpty() {
    return length == 0;
  }

  /** Hands everything collected to {@code transport} and starts over. */
  void flushTo(SmtpTransport transport) {
    if (length == 0) {
      return;
    }
    int n = length;
    length = 0;
    transport.send(bytes, 0, n);
    if (bytes.length > RETAINED_CAPACITY) {
      bytes = new byte[256];
    }
  }

  @Override
  public ReplyWriter append(CharSequence text) {
    return append(text, 0, text.length());
  }

  @Override
  public ReplyWriter append(CharSequence text, int start, int end) {
    ensureCapacity(end - start);
    for (int i = start; i < end; i++) {
      char c = text.charAt(i);
      if (c >= 0x80) {
        // rare: non-ASCII text (SMTPUTF8); encode the rest properly
        byte[] utf8 = text.subSequence(i, end).toString().getBytes(StandardCharsets.UTF_8);
        ensureCapacity(utf8.length);
        System.arraycopy(utf8, 0, bytes, length, utf8.length);
        length += utf8.length;
        return this;
      }
      bytes[length++] = (byte) c;
    }
    return this;
  }

  @Override
  public ReplyWriter append(char c) {
    if (c >= 0x80) {
      return append(String.valueOf(c));
    }
    ensureCapacity(1);
    bytes[length++] = (byte) c;
    return this;
  }

  private void ensureCapacity(int extra) {
    if (length + extra > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + extra));
    }
  }
}
