package io.mailgate.smtp;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.tls.SslContextManager;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ServerSSLOptions;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An SMTP server on a Vert.x {@link NetServer}: one {@link SmtpServerSession} per connection,
 * answering through a {@link SmtpSessionHandler}.
 *
 * <p>It exists as the thin network half of the SMTP server; the protocol lives in {@link
 * SmtpServerSession}. Start one per event loop (from each instance of a verticle) or a single
 * one: instances bound to the same address share the listening socket and the connection limit.
 */
public final class SmtpServer {
  private static final System.Logger LOG = System.getLogger(SmtpServer.class.getName());

  private final SmtpServerOptions options;
  private final SmtpSessionConfig sessionConfig;
  private final SmtpSessionHandler handler;
  private final Vertx vertx;
  private final NetServer netServer;
  private final ServerSSLOptions tlsOptions;
  /**
   * The certificate files, read again as options say: this instance's until it listens, its listener's after (shared
   * by its instances); null: {@link #tlsOptions} as given (or no TLS).
   */
  private volatile ServerCertificate certificate;
  private boolean released;
  private final ConnectionLimit limit;
  private final Buffer tooManyConnections;
  private final String idPrefix;
  private final AtomicLong connectionCount = new AtomicLong();
  private final AtomicInteger pausedConnections = new AtomicInteger();

  private SmtpServer(Vertx vertx, SmtpServerOptions options, SmtpSessionConfig sessionConfig,
      SmtpSessionHandler handler, ServerCertificate certificate) {
    this.vertx = vertx;
    this.options = options;
    this.sessionConfig = sessionConfig;
    this.handler = handler;
    this.certificate = certificate;
    KeyCertOptions keyCert = certificate != null ? certificate.options().getKeyCertOptions()
        : options.getKeyCertOptions();
    this.tlsOptions = keyCert == null ? null : new ServerSSLOptions().setKeyCertOptions(keyCert);
    this.limit = ConnectionLimit.forAddress(vertx, options);
    this.tooManyConnections = Buffer.buffer(new SmtpReply(421, "4.7.0",
        options.getServerName() + " Error: too many connections, try again later").toWire());
    this.idPrefix = Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36) + ".";
    NetServerOptions netOptions = new NetServerOptions()
        .setHost(options.getHost())
        .setPort(options.getPort())
        .setTcpNoDelay(true); // implicit TLS too: each connection's handshake is started once it is counted
    if (keyCert != null) {
      netOptions.setKeyCertOptions(keyCert);
    }
    this.netServer = vertx.createNetServer(netOptions).connectHandler(this::accept);
    if (tlsOptions != null) {
      giveTlsContextManager(netServer, netOptions);
    }
  }

  /**
   * Vert.x 5.0.7 upgrades a server's socket to TLS with the TLS context manager of the server instance that accepted
   * it, and only the instance that bound the port gets one ({@code NetServerImpl.bind} sets it on the first server of a
   * shared port alone). STARTTLS on the connections of every other instance (one per event loop) failed with a
   * NullPointerException and the connection closed, so a client's STARTTLS worked on some connections and not on
   * others. Each instance gets a manager of its own before it listens; the first one's is then replaced by Vert.x's.
   */
  private static void giveTlsContextManager(NetServer server, NetServerOptions netOptions) {
    try {
      java.lang.reflect.Field field = server.getClass().getDeclaredField("sslContextManager");
      field.setAccessible(true);
      field.set(server, new SslContextManager(
          SslContextManager.resolveEngineOptions(netOptions.getSslEngineOptions(), netOptions.isUseAlpn())));
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING,
          "STARTTLS may fail on the connections of all but one event loop: this Vert.x has no "
              + "NetServerImpl.sslContextManager to set", e);
    }
  }

  /**
   * Binds the server. The options are copied; the handler is called on the event loop of each
   * connection.
   *
   * @return the listening server, or a failed future if the options are inconsistent or the
   *     address cannot be bound
   */
  public static Future<SmtpServer> start(
      Vertx vertx, SmtpServerOptions options, SmtpSessionHandler handler) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(handler, "handler");
    SmtpServerOptions copy = new SmtpServerOptions(options);
    SmtpSessionConfig config;
    try {
      config = copy.sessionConfig();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    KeyCertOptions keyCert = copy.getKeyCertOptions();
    Future<ServerCertificate> certificate = keyCert != null && ServerCertificate.fromFiles(keyCert)
        ? ServerCertificate.load(vertx, (PemKeyCertOptions) keyCert) : Future.succeededFuture();
    return certificate.compose(files -> {
      SmtpServer server = new SmtpServer(vertx, copy, config, handler, files);
      return server.netServer.listen().map(listening -> {
        if (files != null) {
          // every handshake (implicit TLS and STARTTLS) reads options() when it starts
          server.certificate = files.share(copy.getHost() + ":" + server.actualPort(), copy.getTlsReloadInterval(),
              renewed -> Future.succeededFuture());
        }
        return server;
      });
    });
  }

  /** The bound port (the chosen one when the options said 0). */
  public int actualPort() {
    return netServer.actualPort();
  }

  /** Bytes of message content the sessions of this server's address hold now. */
  long dataBytesHeld() {
    return limit.dataHeld();
  }

  /** Connections open now on this server's address (shared with its sibling instances). */
  public int openConnections() {
    return limit.open();
  }

  /**
   * Connections of this instance not being read right now: their handler has not answered yet,
   * or the client does not read its replies.
   */
  int pausedConnections() {
    return pausedConnections.get();
  }

  /**
   * Stops accepting, lets each session finish the transaction in progress (idle sessions get
   * 421 4.3.2 at once), and closes what is still open after the shutdown timeout.
   */
  public Future<Void> close() {
    ServerCertificate presented = certificate;
    if (presented != null && !released) {
      released = true;
      presented.release();
    }
    return netServer.shutdown(options.getShutdownTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  private void accept(NetSocket socket) {
    // an implicit TLS client is refused before its handshake, which the refusal is there to spare: it is closed,
    // as a plaintext reply would be no TLS record to it
    boolean plaintext = !options.isImplicitTls();
    if (!limit.tryAcquire()) {
      if (plaintext) {
        socket.write(tooManyConnections);
      }
      socket.close();
      return;
    }
    InetSocketAddress remote = inet(socket.remoteAddress());
    InetAddress client = remote == null ? null : remote.getAddress();
    boolean underCount = limit.tryAcquireFor(client);
    if (!underCount || !limit.tryConnect(client)) {
      // too many open, or opened in its minute (Postfix answers both alike)
      if (underCount) {
        limit.releaseFor(client);
      }
      limit.release();
      if (plaintext) {
        socket.write(Buffer.buffer(new SmtpReply(421, "4.7.0", options.getServerName()
            + " Error: too many connections from " + client.getHostAddress()).toWire()));
      }
      socket.close();
      return;
    }
    SessionInfo info = new SessionInfo(
        idPrefix + Long.toString(connectionCount.incrementAndGet(), 36),
        remote,
        inet(socket.localAddress()),
        options.getServerName(),
        null,
        options.isImplicitTls(),
        null);
    ServerCertificate presented = certificate;
    new SmtpConnection(vertx, socket, options, presented != null ? presented.options() : tlsOptions, limit,
        pausedConnections)
        .start(sessionConfig, info, handler);
  }

  /** An IP literal never triggers a DNS lookup; anything else stays unresolved. */
  private static InetSocketAddress inet(SocketAddress address) {
    if (address == null || address.hostAddress() == null) {
      return null;
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(address.hostAddress()), address.port());
    } catch (UnknownHostException e) {
      return InetSocketAddress.createUnresolved(address.hostAddress(), address.port());
    }
  }
}
