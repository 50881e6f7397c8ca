package io.mailgate.smtp;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.ServerSSLOptions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Binds one accepted {@link NetSocket} to one {@link SmtpServerSession}.
 *
 * <p>It exists to keep every Vert.x concern of a connection in one small class: moving bytes both
 * ways, pausing the socket while the session waits on its handler or the client does not read
 * its replies, the STARTTLS upgrade, and the idle timeouts of RFC 5321 section 4.5.3.2.
 *
 * <p>The idle timer is not re-armed on every read: reads only record the time, and one timer per
 * connection checks it and re-arms itself for the time that is left.
 */
final class SmtpConnection implements SmtpTransport {

  private static final System.Logger LOG = System.getLogger(SmtpConnection.class.getName());
  /** How long a close waits for the last replies to be written before the channel is closed without them. */
  static final long CLOSE_GRACE_MILLIS = 10_000;

  /** The longest an implicit TLS handshake may take (Vert.x's default); the command timeout when that is shorter. */
  static final long MAX_HANDSHAKE_MILLIS = 10_000;

  private final Vertx vertx;
  private final Context context;
  private final NetSocket socket;
  private final ServerSSLOptions tlsOptions;
  private final ConnectionLimit limit;
  private final AtomicInteger pausedConnections;
  private final long commandTimeoutNanos;
  private final long dataTimeoutNanos;
  private final long checkIntervalNanos;
  private SmtpServerSession session;

  private long lastActivity;
  private long timerId = -1;
  private boolean handlerPaused;
  private boolean writePaused;
  private boolean socketPaused;
  private boolean closed;
  private boolean handshaking;

  SmtpConnection(Vertx vertx, NetSocket socket, SmtpServerOptions options,
      ServerSSLOptions tlsOptions, ConnectionLimit limit, AtomicInteger pausedConnections) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.socket = socket;
    this.tlsOptions = tlsOptions;
    this.limit = limit;
    this.pausedConnections = pausedConnections;
    this.commandTimeoutNanos = options.getCommandTimeout().toNanos();
    this.dataTimeoutNanos = options.getDataTimeout().toNanos();
    this.checkIntervalNanos = Math.min(commandTimeoutNanos, dataTimeoutNanos);
  }

  void start(SmtpSessionConfig config, SessionInfo info, SmtpSessionHandler handler) {
    java.net.InetAddress client = info.remoteAddress() == null ? null : info.remoteAddress().getAddress();
    session = new SmtpServerSession(config, info, handler, this, this::runOnContext, limit.budgetFor(client),
        () -> limit.tryStartMessage(client));
    socket.handler(this::onData);
    socket.drainHandler(v -> onDrain());
    socket.exceptionHandler(this::onException);
    socket.closeHandler(v -> onClosed());
    socket.shutdownHandler(v -> {
      if (handshaking) {
        socket.close(); // nothing said yet: no session to finish
      } else {
        session.shutdown();
      }
    });
    if (!info.tls()) {
      begin();
      return;
    }
    // implicit TLS: the handshake is ours, not the listener's, so that the connection counted under the limits
    // before it cost a handshake (a listener with TLS on hands over only connections that completed one, and a
    // client could hold any number of handshakes open uncounted). Its length is bounded by the options' handshake
    // timeout; the greeting comes once it is done. Nothing is read until the TLS handler is in the pipeline: the
    // client's first flight, read before, would pass it by as plaintext.
    handshaking = true;
    Channel channel = ((NetSocketInternal) socket).channelHandlerContext().channel();
    channel.config().setAutoRead(false);
    ServerSSLOptions handshake = tlsOptions.copy()
        .setSslHandshakeTimeout(Math.min(TimeUnit.NANOSECONDS.toMillis(commandTimeoutNanos), MAX_HANDSHAKE_MILLIS))
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
    readOnceTlsIsInPlace(channel, System.nanoTime());
    socket.upgradeToSsl(handshake).onComplete(result -> {
      handshaking = false;
      if (closed) {
        return;
      }
      if (result.succeeded()) {
        begin();
      } else {
        LOG.log(System.Logger.Level.DEBUG, "TLS handshake failed", result.cause());
        socket.close();
      }
    });
  }

  /**
   * Vert.x puts the TLS handler in place a few turns of the event loop after the upgrade starts (once its context is
   * ready and an empty write has gone out); reading resumes then. A handler never in place (a Vert.x that names it
   * otherwise) closes the connection after the handshake timeout rather than reading past it.
   */
  private void readOnceTlsIsInPlace(Channel channel, long since) {
    if (closed) {
      return;
    }
    if (channel.pipeline().get(SslHandler.class) != null) {
      channel.config().setAutoRead(true); // and reads
    } else if (System.nanoTime() - since > TimeUnit.MILLISECONDS.toNanos(MAX_HANDSHAKE_MILLIS)) {
      socket.close();
    } else if (System.nanoTime() - since < TimeUnit.MILLISECONDS.toNanos(1)) {
      context.runOnContext(v -> readOnceTlsIsInPlace(channel, since));
    } else {
      vertx.setTimer(1, id -> readOnceTlsIsInPlace(channel, since)); // a TLS context being built: no busy loop
    }
  }

  private void begin() {
    lastActivity = System.nanoTime();
    scheduleIdleCheck(checkIntervalNanos);
    session.start(protocol(socket)); // implicit TLS's, now that its handshake is done
  }

  @Override
  public void send(byte[] bytes, int offset, int length) {
    if (closed) {
      return;
    }
    socket.write(Buffer.buffer(length).appendBytes(bytes, offset, length));
    lastActivity = System.nanoTime(); // the client's time to answer starts now
    if (!writePaused && socket.writeQueueFull()) {
      writePaused = true; // the client does not read its replies: stop reading its commands
      updatePause();
    }
  }

  @Override
  public void startTls(byte[] readyReply) {
    // Vert.x writes the reply once the TLS context is ready and installs the TLS handler right
    // behind it, so the client's handshake cannot overtake the switch. Plaintext the client sent
    // before the reply is still delivered as data before this completes: the session, waiting
    // for the handshake, treats it as an injection attempt and closes.
    lastActivity = System.nanoTime();
    socket.upgradeToSsl(tlsOptions, Buffer.buffer(readyReply)).onComplete(result -> {
      if (result.succeeded()) {
        lastActivity = System.nanoTime();
        session.tlsEstablished(protocol(socket));
      } else {
        LOG.log(System.Logger.Level.DEBUG, "STARTTLS handshake failed", result.cause());
        socket.close();
      }
    });
  }

  /** The TLS protocol of {@code socket} ({@code TLSv1.3}), or null in plain text. */
  static String protocol(NetSocket socket) {
    javax.net.ssl.SSLSession tls = socket.isSsl() ? socket.sslSession() : null;
    return tls == null ? null : tls.getProtocol();
  }

  @Override
  public void close() {
    if (!closed) {
      socket.close(); // Vert.x writes what is queued before closing
      // ... and waits for that write: a client that stopped reading (its window full) would keep the connection, and
      // its place under the connection limit, for good. After a grace period the channel is closed as it is, below
      // the pipeline (a close through it waits for the same write).
      vertx.setTimer(CLOSE_GRACE_MILLIS, id -> {
        if (!closed && socket instanceof NetSocketInternal internal) {
          io.netty.channel.Channel channel = internal.channelHandlerContext().channel();
          channel.unsafe().close(channel.voidPromise());
        }
      });
    }
  }

  @Override
  public void pauseInput() {
    handlerPaused = true;
    updatePause();
  }

  @Override
  public void resumeInput() {
    handlerPaused = false;
    updatePause();
  }

  private void onData(Buffer buffer) {
    lastActivity = System.nanoTime();
    byte[] bytes = buffer.getBytes();
    try {
      session.feed(bytes, 0, bytes.length);
    } catch (RuntimeException e) {
      // a bug, not a client mistake: drop this connection, keep the event loop serving others
      LOG.log(System.Logger.Level.ERROR, "SMTP session " + session.info().id() + " failed", e);
      session.disconnected();
      socket.close();
    }
  }

  private void onDrain() {
    if (writePaused) {
      writePaused = false;
      updatePause();
    }
  }

  private void onException(Throwable error) {
    LOG.log(System.Logger.Level.DEBUG, "SMTP connection error", error);
  }

  private void onClosed() {
    if (closed) {
      return;
    }
    closed = true;
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
      timerId = -1;
    }
    // the session's buffers go back to the budget before its connection slot does: no open connection means nothing
    // held (a reader of both saw a closed server still holding a session's buffer)
    session.disconnected();
    limit.release();
    limit.releaseFor(session.info().remoteAddress() == null ? null : session.info().remoteAddress().getAddress());
    if (socketPaused) {
      pausedConnections.decrementAndGet();
    }
  }

  private void updatePause() {
    boolean pause = handlerPaused || writePaused;
    if (pause != socketPaused && !closed) {
      socketPaused = pause;
      pausedConnections.addAndGet(pause ? 1 : -1);
      if (pause) {
        socket.pause();
      } else {
        socket.resume();
      }
    }
  }

  private void scheduleIdleCheck(long delayNanos) {
    long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(delayNanos));
    timerId = vertx.setTimer(millis, id -> checkIdle());
  }

  private void checkIdle() {
    timerId = -1;
    if (closed) {
      return;
    }
    long now = System.nanoTime();
    if (session.isAwaitingHandler()) {
      lastActivity = now; // our own handler is slow, not the client
      scheduleIdleCheck(checkIntervalNanos);
      return;
    }
    long timeout = session.isReceivingData() ? dataTimeoutNanos : commandTimeoutNanos;
    long idle = now - lastActivity;
    if (idle >= timeout) {
      session.timeout();
      return;
    }
    scheduleIdleCheck(Math.min(timeout - idle, checkIntervalNanos));
  }

  private void runOnContext(Runnable task) {
    context.runOnContext(v -> task.run());
  }
}
