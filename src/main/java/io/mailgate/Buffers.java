package io.mailgate;

import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;

/** Buffers over message bytes. */
public final class Buffers {
  private Buffers() {}

  /**
   * A buffer over {@code bytes} themselves, which must not change while it is in use. {@code Buffer.buffer(byte[])}
   * copies them: for message content, written to PostgreSQL and to each SMTP connection, that was two copies of
   * every message (a 100 KB message: 200 KB more garbage per send).
   */
  public static Buffer wrap(byte[] bytes) {
    return BufferInternal.buffer(Unpooled.wrappedBuffer(bytes));
  }
}
