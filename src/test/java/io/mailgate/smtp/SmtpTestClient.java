package io.mailgate.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A raw SMTP client over a real Vert.x socket with a blocking API for the test thread: it sends
 * exactly the bytes it is given and reads replies line by line.
 */
final class SmtpTestClient implements AutoCloseable {

  static final long WAIT_SECONDS = 5;
  private static final Object CLOSED = new Object();

  private final NetClient client;
  private final NetSocket socket;
  private final BlockingQueue<Object> incoming = new LinkedBlockingQueue<>();
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private boolean closed;

  private final Context context;

  private SmtpTestClient(NetClient client, NetSocket socket, Context context) {
    this.client = client;
    this.socket = socket;
    this.context = context;
  }

  /**
   * Connects in plaintext. TLS, implicit or STARTTLS, is started with {@link #startTls()}: a
   * client configured for TLS up front completes its connect future late in Vert.x 5.0, and the
   * greeting could arrive before the data handler is set.
   */
  static SmtpTestClient connect(Vertx vertx, int port) {
    return connect(vertx, "127.0.0.1", port);
  }

  static SmtpTestClient connect(Vertx vertx, String host, int port) {
    NetClient client = vertx.createNetClient(new NetClientOptions());
    Context context = vertx.getOrCreateContext();
    Promise<SmtpTestClient> connected = Promise.promise();
    // connect and set the handlers from the event loop: the socket cannot deliver the greeting
    // before its handler is set (a socket drops data that arrives without a handler)
    context.runOnContext(v -> client.connect(port, host).map(socket -> {
      SmtpTestClient c = new SmtpTestClient(client, socket, context);
      socket.handler(c.incoming::add);
      socket.closeHandler(nothing -> c.incoming.add(CLOSED));
      return c;
    }).onComplete(connected));
    return await(connected.future());
  }

  SmtpTestClient send(String text) {
    return send(text.getBytes(StandardCharsets.UTF_8));
  }

  SmtpTestClient send(byte[] bytes) {
    await(socket.write(Buffer.buffer(bytes)));
    return this;
  }

  /** One complete reply, all its lines, each with CRLF. */
  String readReply() {
    StringBuilder reply = new StringBuilder();
    while (true) {
      String line = readLine();
      if (line == null) {
        fail("connection closed, reply so far: " + reply);
      }
      reply.append(line).append("\r\n");
      if (line.length() < 4 || line.charAt(3) == ' ') {
        return reply.toString();
      }
    }
  }

  /** Reads one reply and checks it exactly. */
  SmtpTestClient expect(String reply) {
    assertEquals(reply, readReply());
    return this;
  }

  /** Reads one reply and checks its first line starts with {@code prefix}. */
  SmtpTestClient expectStart(String prefix) {
    String reply = readReply();
    if (!reply.startsWith(prefix)) {
      fail("expected a reply starting with <" + prefix + "> but got <" + reply + ">");
    }
    return this;
  }

  /** The next line without CRLF, or {@code null} if the server closed the connection. */
  String readLine() {
    while (true) {
      byte[] bytes = pending.toByteArray();
      for (int i = 0; i + 1 < bytes.length; i++) {
        if (bytes[i] == '\r' && bytes[i + 1] == '\n') {
          pending.reset();
          pending.write(bytes, i + 2, bytes.length - i - 2);
          return new String(bytes, 0, i, StandardCharsets.UTF_8);
        }
      }
      if (closed) {
        if (bytes.length > 0) {
          fail("unterminated reply before close: " + new String(bytes, StandardCharsets.UTF_8));
        }
        return null;
      }
      Object next = poll();
      if (next == CLOSED) {
        closed = true;
      } else {
        pending.writeBytes(((Buffer) next).getBytes());
      }
    }
  }

  /** Waits until the server closes the connection; fails if it sends anything first. */
  void expectClosed() {
    String line = readLine();
    if (line != null) {
      fail("expected the connection to close, got: " + line);
    }
  }

  /** Stops reading from the socket, as a client that never reads its replies. */
  void pauseReading() {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      socket.pause();
      done.complete();
    });
    await(done.future());
  }

  void resumeReading() {
    context.runOnContext(v -> socket.resume());
  }

  /** Queues bytes for sending without waiting for them to leave (the peer may not be reading). */
  void sendInBackground(String text) {
    Buffer bytes = Buffer.buffer(text);
    context.runOnContext(v -> socket.write(bytes));
  }

  /** Reads {@code reply} exactly {@code times} times in a row, without keeping it. */
  void expectRepeated(String reply, int times) {
    byte[] pattern = reply.getBytes(StandardCharsets.UTF_8);
    long total = (long) pattern.length * times;
    long seen = 0;
    byte[] bytes = pending.toByteArray();
    pending.reset();
    while (true) {
      int i = 0;
      for (; i < bytes.length && seen < total; i++, seen++) {
        if (bytes[i] != pattern[(int) (seen % pattern.length)]) {
          fail("unexpected byte after " + seen / pattern.length + " replies: "
              + new String(bytes, i, Math.min(80, bytes.length - i), StandardCharsets.UTF_8));
        }
      }
      if (seen == total) {
        pending.write(bytes, i, bytes.length - i);
        return;
      }
      Object next = poll();
      if (next == CLOSED) {
        fail("closed after " + seen / pattern.length + " replies");
      }
      bytes = ((Buffer) next).getBytes();
    }
  }

  /** TLS handshake trusting any certificate (the server's is self-signed). */
  void startTls() {
    ClientSSLOptions trustAll = new ClientSSLOptions().setTrustAll(true)
        .setHostnameVerificationAlgorithm("");
    Promise<Void> upgraded = Promise.promise();
    context.runOnContext(v -> socket.upgradeToSsl(trustAll).onComplete(upgraded));
    await(upgraded.future());
  }

  boolean isSsl() {
    return socket.isSsl();
  }

  @Override
  public void close() {
    await(socket.close());
    await(client.close());
  }

  private Object poll() {
    try {
      Object next = incoming.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (next == null) {
        fail("no data from the server within " + WAIT_SECONDS + " s; pending: "
            + pending.toString(StandardCharsets.UTF_8));
      }
      return next;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
