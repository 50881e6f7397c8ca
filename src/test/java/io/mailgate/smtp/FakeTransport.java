package io.mailgate.smtp;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** A transport that records what the session sends, for tests that feed bytes directly. */
final class FakeTransport implements SmtpTransport {
  private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
  int writes;
  boolean closed;
  boolean tlsStarted;
  boolean paused;

  @Override
  public void send(byte[] bytes, int offset, int length) {
    if (closed) {
      throw new AssertionError("send after close");
    }
    writes++;
    sent.write(bytes, offset, length);
  }

  @Override
  public void startTls(byte[] readyReply) {
    send(readyReply, 0, readyReply.length);
    tlsStarted = true;
  }

  @Override
  public void close() {
    closed = true;
  }

  @Override
  public void pauseInput() {
    paused = true;
  }

  @Override
  public void resumeInput() {
    paused = false;
  }

  /** Everything sent since the last call. */
  String take() {
    String s = sent.toString(StandardCharsets.UTF_8);
    sent.reset();
    return s;
  }
}
