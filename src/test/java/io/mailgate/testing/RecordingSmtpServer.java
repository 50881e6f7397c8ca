package io.mailgate.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A small SMTP server for tests, written on plain sockets and threads so it shares no code with
 * Mailgate: it is the independent peer Mailgate's client talks to. Replies to RCPT and to the end
 * of DATA are scriptable per recipient; every accepted message is recorded with its envelope.
 */
public final class RecordingSmtpServer implements AutoCloseable {

  /**
   * One message as received: envelope and content (dot-stuffing undone), the connection it came on (1 for the first),
   * and when it was taken (before its reply went out).
   */
  public record Received(String mailFrom, List<String> rcptTo, String mailParams, byte[] data, int connection,
      java.time.Instant at) {
    public String text() {
      return new String(data, StandardCharsets.UTF_8);
    }
  }

  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final List<String> commands = new CopyOnWriteArrayList<>();
  private final AtomicInteger connections = new AtomicInteger();
  /** Each connection's client address, and the name it gave in its last EHLO or HELO, by connection number. */
  private final java.util.Map<Integer, String> peers = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.Map<Integer, String> helos = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile Function<String, String> rcptReply = rcpt -> "250 2.1.5 Ok";
  /** When set, the reply to RCPT TO by the connection's client address and the address (over {@link #rcptReply}). */
  private volatile java.util.function.BiFunction<String, String, String> rcptReplyByPeer;
  private volatile Function<String, String> dataReply = rcpt -> "250 2.0.0 Ok: queued";
  private volatile String ehloExtensions = "PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES";
  private volatile long dataDelayMillis;
  private volatile boolean timeoutAtTheSecondMail;
  private volatile boolean stallAfterData;
  private volatile boolean dataWithoutRecipients;
  private volatile String greeting = "220 test.local ESMTP ready";
  /** When set, the greeting for a connection from a given client address (as {@link #greeting(String)}'s line). */
  private volatile Function<String, String> greetingByPeer;
  private volatile long holdDataReplyMillis;
  private volatile java.util.concurrent.CountDownLatch greetingHeld;
  private volatile Function<String, String> onCommand = line -> null;
  private volatile int dataReadBlock;
  private volatile long dataReadPauseMillis;
  private volatile long stopReadingDataAfter = -1;
  private final AtomicInteger pipelinedAfterData = new AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger active = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger maxActive = new java.util.concurrent.atomic.AtomicInteger();

  public RecordingSmtpServer() throws IOException {
    this(InetAddress.getLoopbackAddress(), 0);
  }

  /** A server on a given address and port (several loopback addresses can share one port: 127.0.0.x). */
  public RecordingSmtpServer(InetAddress address, int port) throws IOException {
    server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new java.net.InetSocketAddress(address, port), 100);
    threads.submit(this::acceptLoop);
  }

  /** Waits this long before answering the end of DATA (a slow receiving server). */
  public RecordingSmtpServer dataDelay(java.time.Duration delay) {
    this.dataDelayMillis = delay.toMillis();
    return this;
  }

  /**
   * The greeting line, e.g. "421 4.7.0 Too many connections" (a server that refuses service ends the session); null for
   * none at all (a tarpit: the connection is held, silent, until the client gives up).
   */
  public RecordingSmtpServer greeting(String line) {
    this.greetingByPeer = null;
    this.greeting = line;
    return this;
  }

  /** Closes the connection instead of replying (see {@link #onCommand}). */
  public static final String DROP = "\0drop";

  /**
   * Replies to a command line (as the client sent it, without CRLF) in place of the server's own reply when
   * {@code reply} returns text for it: written as it is with CRLF after it, so "250-a\r\n250 b" is a multi-line reply
   * and "250 b\r\n" one followed by an empty line; "" writes nothing; {@link #DROP} closes the connection. Null: the
   * server's own reply. A command answered here changes nothing in the server's state (a MAIL so answered sets no
   * sender).
   */
  public RecordingSmtpServer onCommand(Function<String, String> reply) {
    this.onCommand = reply;
    return this;
  }

  /**
   * Reads the content after DATA {@code block} bytes at a time with {@code pause} after each (a receiver slower than
   * the sender), with small socket buffers so that the sender feels it.
   */
  public RecordingSmtpServer readDataSlowly(int block, java.time.Duration pause) throws IOException {
    server.setReceiveBufferSize(8 * 1024);
    this.dataReadBlock = block;
    this.dataReadPauseMillis = pause.toMillis();
    return this;
  }

  /** Stops reading the content after DATA once {@code bytes} of it came (a receiver that hangs in mid-message). */
  public RecordingSmtpServer stopReadingDataAfter(long bytes) throws IOException {
    server.setReceiveBufferSize(8 * 1024);
    this.stopReadingDataAfter = bytes;
    return this;
  }

  /**
   * Keeps each new connection without its greeting until {@link #releaseGreeting}: the client's messages queue up
   * behind a connection that is not ready yet, so a test knows what was waiting when the connection opened.
   */
  public RecordingSmtpServer holdGreeting() {
    this.greetingHeld = new java.util.concurrent.CountDownLatch(1);
    return this;
  }

  /** Greets the connections held by {@link #holdGreeting}, and every later one at once. */
  public void releaseGreeting() {
    java.util.concurrent.CountDownLatch held = greetingHeld;
    if (held != null) {
      held.countDown();
    }
  }

  /**
   * Answers DATA with 354 even when no recipient was accepted, and refuses the content that follows: a server that
   * breaks RFC 2920 3.1, which says DATA must then be refused.
   */
  public RecordingSmtpServer dataWithoutRecipients() {
    this.dataWithoutRecipients = true;
    return this;
  }

  /** Reads DATA, then never answers (a stalled server). */
  public RecordingSmtpServer stallAfterData() {
    this.stallAfterData = true;
    return this;
  }

  /**
   * After each message's final dot, waits up to {@code max} for the client's next command before replying, and
   * counts the times it came first ({@link #pipelinedAfterData}): a client that pipelines the next transaction
   * behind the dot (RFC 2920 3.1) gets its reply at once, one that waits for the reply gets it after {@code max}.
   */
  public RecordingSmtpServer holdDataReply(java.time.Duration max) {
    holdDataReplyMillis = max.toMillis();
    return this;
  }

  /** How many messages were followed by the client's next command before their reply (see holdDataReply). */
  public int pipelinedAfterData() {
    return pipelinedAfterData.get();
  }

  /** The EHLO extension lines after the greeting line, e.g. "PIPELINING\r\n250 DSN". */
  public RecordingSmtpServer extensions(String lines) {
    this.ehloExtensions = lines;
    return this;
  }

  /** The most connections that were open at the same time. */
  public int maxConcurrentConnections() {
    return maxActive.get();
  }

  public int port() {
    return server.getLocalPort();
  }

  public String url() {
    return "smtp://127.0.0.1:" + port();
  }

  /** The reply to RCPT TO for each address, e.g. {@code "550 5.1.1 No such user"}. */
  public RecordingSmtpServer onRcpt(Function<String, String> reply) {
    this.rcptReply = reply;
    return this;
  }

  /** The reply to RCPT TO by the connection's client address and the address: {@code reply.apply(peer, rcpt)}. */
  public RecordingSmtpServer onRcptByPeer(java.util.function.BiFunction<String, String, String> reply) {
    this.rcptReplyByPeer = reply;
    return this;
  }

  /** The reply at the end of DATA, by the transaction's (first) recipient; null drops the connection instead. */
  public RecordingSmtpServer onData(Function<String, String> reply) {
    this.dataReply = reply;
    return this;
  }

  /** Answers every MAIL after a connection's first with a 421 (its idle timeout met the command) and closes. */
  public RecordingSmtpServer timeoutAtTheSecondMail() {
    this.timeoutAtTheSecondMail = true;
    return this;
  }

  public RecordingSmtpServer withoutPipelining() {
    ehloExtensions = "SIZE 52428800\r\n250 8BITMIME";
    return this;
  }

  public List<Received> received() {
    return List.copyOf(received);
  }

  public List<String> commands() {
    return List.copyOf(commands);
  }

  /** The client address of connection {@code connection} (1 for the first), or null. */
  public String peer(int connection) {
    return peers.get(connection);
  }

  /** The name connection {@code connection} gave in EHLO (or HELO), or null. */
  public String helo(int connection) {
    return helos.get(connection);
  }

  /** Greets each connection with the line {@code byPeer} gives for its client address (as {@link #greeting}). */
  public RecordingSmtpServer greetingByPeer(Function<String, String> byPeer) {
    this.greetingByPeer = byPeer;
    return this;
  }

  public int connections() {
    return connections.get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        int n = connections.incrementAndGet();
        threads.submit(() -> session(s, n));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void session(Socket socket, int connection) {
    maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
    peers.put(connection, socket.getInetAddress().getHostAddress());
    boolean counted = true;
    try (socket; InputStream in = new BufferedInputStream(socket.getInputStream());
         OutputStream out = socket.getOutputStream()) {
      java.util.concurrent.CountDownLatch held = greetingHeld;
      if (held != null) {
        held.await();
      }
      Function<String, String> byPeer = greetingByPeer;
      String greeting = byPeer == null ? this.greeting : byPeer.apply(socket.getInetAddress().getHostAddress());
      if (greeting == null) {
        while (in.read() >= 0) {
          // silent: what the client sends is read and never answered, until it closes
        }
        return;
      }
      write(out, greeting);
      if (!greeting.startsWith("220")) {
        return;
      }
      String from = null;
      String params = "";
      int mails = 0;
      List<String> rcpts = new ArrayList<>();
      String line;
      while ((line = readLine(in)) != null) {
        commands.add(line);
        String scripted = onCommand.apply(line);
        if (scripted != null) {
          if (scripted.equals(DROP)) {
            return;
          }
          if (!scripted.isEmpty()) {
            write(out, scripted);
          }
          continue;
        }
        String upper = line.toUpperCase();
        if (upper.startsWith("EHLO") || upper.startsWith("HELO")) {
          helos.put(connection, line.substring(4).strip());
        }
        if (upper.startsWith("EHLO")) {
          write(out, "250-test.local\r\n250-" + ehloExtensions);
        } else if (upper.startsWith("HELO")) {
          write(out, "250 test.local");
        } else if (upper.startsWith("MAIL FROM:")) {
          if (timeoutAtTheSecondMail && mails++ > 0) {
            write(out, "421 4.4.2 test.local Error: timeout exceeded");
            return;
          }
          int close = line.indexOf('>');
          from = line.substring(line.indexOf('<') + 1, close);
          params = line.substring(close + 1).strip();
          rcpts.clear();
          write(out, "250 2.1.0 Ok");
        } else if (upper.startsWith("RCPT TO:")) {
          String rcpt = line.substring(line.indexOf('<') + 1, line.indexOf('>'));
          java.util.function.BiFunction<String, String, String> rcptByPeer = rcptReplyByPeer;
          String reply = rcptByPeer != null ? rcptByPeer.apply(socket.getInetAddress().getHostAddress(), rcpt)
              : rcptReply.apply(rcpt);
          if (reply.startsWith("2")) {
            rcpts.add(rcpt);
          }
          write(out, reply);
          if (reply.startsWith("421")) {
            return; // RFC 5321: 421 closes the transmission channel
          }
        } else if (upper.equals("DATA")) {
          if (from == null || rcpts.isEmpty()) {
            if (dataWithoutRecipients) {
              write(out, "354 End data with <CR><LF>.<CR><LF>");
              readData(in, 0, 0, -1);
            }
            write(out, "554 5.5.1 No valid recipients");
            continue;
          }
          write(out, "354 End data with <CR><LF>.<CR><LF>");
          byte[] data = readData(in, dataReadBlock, dataReadPauseMillis, stopReadingDataAfter);
          if (holdDataReplyMillis > 0 && inputWithin(socket, in, holdDataReplyMillis)) {
            pipelinedAfterData.incrementAndGet();
          }
          if (stallAfterData) {
            Thread.sleep(600_000);
          }
          if (dataDelayMillis > 0) {
            Thread.sleep(dataDelayMillis);
          }
          String reply = dataReply.apply(rcpts.get(0));
          if (reply == null) {
            return; // the connection drops with the message unanswered
          }
          if (reply.startsWith("2")) {
            received.add(new Received(from, List.copyOf(rcpts), params, data, connection, java.time.Instant.now()));
          }
          write(out, reply);
          from = null;
          rcpts.clear();
          if (reply.startsWith("421")) {
            return;
          }
        } else if (upper.equals("RSET")) {
          from = null;
          rcpts.clear();
          write(out, "250 2.0.0 Ok");
        } else if (upper.equals("NOOP")) {
          write(out, "250 2.0.0 Ok");
        } else if (upper.equals("QUIT")) {
          // the session ends here: once the client has the 221 it may open the next connection at once, maybe
          // before this thread gets to run again and close this one
          active.decrementAndGet();
          counted = false;
          write(out, "221 2.0.0 Bye");
          return;
        } else {
          write(out, "500 5.5.2 Unknown command");
        }
      }
    } catch (IOException e) {
      // client went away
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (counted) {
        active.decrementAndGet();
      }
    }
  }

  /** Whether the client sends more within {@code millis}; what it sends stays to be read. */
  private static boolean inputWithin(Socket socket, InputStream in, long millis) throws IOException {
    socket.setSoTimeout((int) millis);
    in.mark(1);
    try {
      if (in.read() < 0) {
        return false;
      }
      in.reset();
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } finally {
      socket.setSoTimeout(0);
    }
  }

  private static void write(OutputStream out, String reply) throws IOException {
    out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        byte[] bytes = buf.toByteArray();
        int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, len, StandardCharsets.UTF_8);
      }
      buf.write(b);
    }
    return null;
  }

  /**
   * Reads DATA up to the lone "." line, undoing dot-stuffing; lines keep their CRLF. With {@code block} > 0, pauses
   * {@code pauseMillis} after each {@code block} bytes; with {@code stopAfter} >= 0, stops reading after that many.
   */
  private static byte[] readData(InputStream in, int block, long pauseMillis, long stopAfter)
      throws IOException, InterruptedException {
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    long read = 0;
    int b;
    while ((b = in.read()) >= 0) {
      read++;
      if (block > 0 && read % block == 0) {
        Thread.sleep(pauseMillis);
      }
      if (read == stopAfter) {
        Thread.sleep(600_000); // hung: the client's writes back up
      }
      line.write(b);
      if (b == '\n') {
        byte[] l = line.toByteArray();
        line.reset();
        if (l.length == 3 && l[0] == '.' && l[1] == '\r') {
          return data.toByteArray();
        }
        int off = l.length > 0 && l[0] == '.' ? 1 : 0;
        data.write(l, off, l.length - off);
      }
    }
    throw new IOException("connection closed in DATA");
  }

  @Override
  public void close() throws IOException {
    server.close();
    threads.shutdownNow();
  }
}
