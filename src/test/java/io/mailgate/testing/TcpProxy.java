package io.mailgate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A TCP proxy to a server on this machine that can be cut: what is connected is closed and new connections are closed
 * at once (a database failing over, a network partition that resets), until it is restored.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int upstreamPort;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "tcp-proxy");
    t.setDaemon(true);
    return t;
  });
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  /** Upstream sockets whose answers are swallowed ({@link #loseAnswers}). */
  private final java.util.Set<Socket> swallowing = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.Set<Socket> upstreams = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** Each upstream socket's client socket. */
  private final java.util.Map<Socket, Socket> clientOf = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile boolean cut;

  /** The URL through the proxy, for a proxy made by {@link #toDatabase}. */
  private String databaseUrl;

  public TcpProxy(int upstreamPort) throws IOException {
    this.upstreamPort = upstreamPort;
    this.server = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
    threads.submit(this::acceptLoop);
  }

  /** A proxy to the PostgreSQL server of {@code pgUrl} (on this machine); {@link #databaseUrl} goes through it. */
  public static TcpProxy toDatabase(String pgUrl) throws IOException {
    int port = java.net.URI.create(pgUrl.replace("postgresql://", "http://")).getPort();
    TcpProxy proxy = new TcpProxy(port);
    proxy.databaseUrl = pgUrl.replace(":" + port + "/", ":" + proxy.port() + "/");
    return proxy;
  }

  public String databaseUrl() {
    return databaseUrl;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Closes every connection through the proxy, and each new one as it comes, until {@link #restore}. */
  public void cut() {
    cut = true;
    for (Socket s : open) {
      closeQuietly(s);
    }
    open.clear();
  }

  public void restore() {
    cut = false;
  }

  /**
   * The connections open now deliver what the client sends but no longer what the server answers, and are closed
   * after {@code closeAfterMillis}: a statement committed whose answer was lost on the way (new connections work).
   */
  public void loseAnswers(long closeAfterMillis) {
    List<Socket> now = List.copyOf(open);
    swallowing.addAll(upstreams);
    threads.submit(() -> {
      try {
        Thread.sleep(closeAfterMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      now.forEach(TcpProxy::closeQuietly);
    });
  }

  /**
   * As {@link #loseAnswers(long)}, for the one connection whose end on the server's side is {@code upstreamPort} (what
   * PostgreSQL calls its client_port, in pg_stat_activity); the others go on working.
   */
  public void loseAnswers(int upstreamPort, long closeAfterMillis) {
    Socket upstream = upstreams.stream().filter(s -> s.getLocalPort() == upstreamPort).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no connection from port " + upstreamPort));
    Socket client = clientOf.get(upstream);
    swallowing.add(upstream);
    threads.submit(() -> {
      try {
        Thread.sleep(closeAfterMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      closeQuietly(upstream);
      closeQuietly(client);
    });
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return;
      }
      if (cut) {
        closeQuietly(client);
        continue;
      }
      try {
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
        open.add(client);
        open.add(upstream);
        upstreams.add(upstream);
        clientOf.put(upstream, client);
        threads.submit(() -> pump(client, upstream));
        threads.submit(() -> pump(upstream, client));
      } catch (IOException e) {
        closeQuietly(client);
      }
    }
  }

  private void pump(Socket from, Socket to) {
    byte[] buf = new byte[16384];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        if (swallowing.contains(from)) {
          continue;
        }
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // closed: the other direction ends too
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      open.remove(from);
      open.remove(to);
      swallowing.remove(from);
      upstreams.remove(from);
      clientOf.remove(from);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    cut();
    threads.shutdownNow();
  }
}
