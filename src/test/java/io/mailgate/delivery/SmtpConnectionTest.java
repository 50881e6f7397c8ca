package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.Await;
import io.mailgate.testing.OnLoop;
import io.mailgate.testing.RecordingSmtpServer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The SMTP client alone, against {@link RecordingSmtpServer} on loopback with scripted replies: how EHLO is answered,
 * replies that are not well formed, EHLO parameters, AUTH PLAIN, what cannot be written, SMTPUTF8, and the timeouts
 * while the content is written. Everything runs on one event loop, as a pool uses a connection.
 */
class SmtpConnectionTest {
  static Vertx vertx;
  static NetClient client;
  static Context loop;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    // a small send buffer: a receiver that reads slowly holds the writes back at once
    client = vertx.createNetClient(new NetClientOptions().setSendBufferSize(16 * 1024));
    loop = vertx.getOrCreateContext();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static SmtpConnection.Options options(long commandMs, long dataMs, long dataBlockMs) {
    return new SmtpConnection.Options("client.test", 2_000, commandMs, dataMs, dataBlockMs,
        RelayTls.of("credentials", ""));
  }

  static final SmtpConnection.Options OPTIONS = options(2_000, 4_000, 2_000);

  /** Starts {@code action} on the connection's event loop; what it comes to. */
  @SuppressWarnings("unchecked")
  static CompletableFuture<Object> run(Supplier<? extends Future<?>> action) {
    return OnLoop.start(loop, () -> (Future<Object>) action.get());
  }

  /** The result of what {@code action} starts on the connection's event loop. */
  @SuppressWarnings("unchecked")
  static <T> T on(Supplier<? extends Future<T>> action) throws Exception {
    try {
      return (T) run(action).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    }
  }

  /** Why what {@code action} starts fails; an AssertionError when it succeeds. */
  static Throwable failure(Supplier<? extends Future<?>> action) throws Exception {
    Object result;
    try {
      result = run(action).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("succeeded: " + result);
  }

  static SmtpConnection open(RecordingSmtpServer server, SmtpConnection.Options options) throws Exception {
    return on(() -> SmtpConnection.open(vertx, client, SmtpConnection.Endpoint.mx("mx.test", "127.0.0.1",
        server.port()), options, SmtpConnection.TlsMode.OPPORTUNISTIC));
  }

  static Buffer message(String subject, String body) {
    return Buffer.buffer(("Subject: " + subject + "\r\n\r\n" + body + "\r\n").getBytes(StandardCharsets.UTF_8));
  }

  static SmtpResponse send(SmtpConnection c, String rcpt, Buffer data) throws Exception {
    return on(() -> c.send("sender@example.com", rcpt, data, data.length(), false, false, null).decided());
  }

  static long count(RecordingSmtpServer server, String prefix) {
    return server.commands().stream().filter(c -> c.startsWith(prefix)).count();
  }

  @Test
  void ehloUnknownToTheServerFallsBackToHelo() throws Exception {
    for (String reply : List.of("500 5.5.1 Command unrecognized", "502 5.5.2 Not implemented")) {
      try (RecordingSmtpServer server = new RecordingSmtpServer()
          .onCommand(line -> line.startsWith("EHLO") ? reply : null)) {
        SmtpConnection c = open(server, OPTIONS);
        assertEquals(1, count(server, "HELO client.test"), server.commands().toString());
        assertEquals(250, send(c, "a@example.org", message("helo", "x")).code());
        assertEquals(1, server.received().size());
      }
    }
  }

  /**
   * A reply of 900 lines of 4000 characters (3.6 MB) is read to its end, to stay in step, but only its first
   * {@link SmtpConnection#MAX_REPLY_TEXT} characters are kept, marked as cut: the code and status are the reply's, and
   * the connection takes the next transaction.
   */
  @Test
  void aHugeReplyIsReadToItsEndButKeptOnlyUpToTheCap() throws Exception {
    String filler = "x".repeat(4000);
    StringBuilder huge = new StringBuilder();
    for (int i = 0; i < 900; i++) {
      huge.append("550-").append(i == 0 ? "5.1.1 " : "").append(filler).append("\r\n");
    }
    huge.append("550 5.1.1 no such user\r\n");
    try (RecordingSmtpServer server = new RecordingSmtpServer()
        .onCommand(line -> line.startsWith("RCPT TO:<huge@") ? huge.toString() : null)) {
      SmtpConnection c = open(server, OPTIONS);
      SmtpResponse refused = send(c, "huge@example.org", message("huge", "x"));
      assertEquals(550, refused.code());
      assertEquals("5.1.1", refused.enhancedStatus());
      assertTrue(refused.text().endsWith(SmtpConnection.CUT), refused.text().substring(refused.text().length() - 40));
      assertTrue(refused.text().length() <= SmtpConnection.MAX_REPLY_TEXT + SmtpConnection.CUT.length(),
          "kept: " + refused.text().length());
      assertTrue(String.join("", refused.lines()).length() <= SmtpConnection.MAX_REPLY_TEXT);
      assertEquals(250, send(c, "next@example.org", message("next", "x")).code());
      assertEquals(1, server.received().size());
    }
  }

  /**
   * An EHLO reply too long to keep whole keeps its capability lines whole or not at all: its last line's SIZE is the
   * server's limit, not the digits of it that had room (a message over those would have bounced for good).
   */
  @Test
  void aCutEhloReplyKeepsItsCapabilitiesWhole() throws Exception {
    String ehlo = "250-mx.test " + "x".repeat(4080) + "\r\n250-8BITMIME\r\n250 SIZE 35882577\r\n";
    try (RecordingSmtpServer server = new RecordingSmtpServer()
        .onCommand(line -> line.startsWith("EHLO") ? ehlo : null)) {
      SmtpConnection c = open(server, OPTIONS);
      assertEquals(35882577L, c.maxSize());
      assertEquals(250, send(c, "a@example.org", message("ehlo", "x")).code());
    }
  }

  /**
   * EHLO taken for unknown (501, 550) and HELO refused too: the session is refused, as a refused EHLO is
   * (GreetingRefused, with HELO's reply: a 5yz sets the host aside, a 421 goes to the throttle rules), with a QUIT
   * after a 5yz, none after a 421 (the server is closing).
   */
  @Test
  void heloRefusedAfterAnUnknownEhloIsARefusedSession() throws Exception {
    for (String ehlo : List.of("501 5.5.4 Syntax error", "550 5.7.1 Not here")) {
      for (String helo : List.of("550 5.7.1 Go away", "421 4.7.0 mx.test Too many connections, closing")) {
        try (RecordingSmtpServer server = new RecordingSmtpServer()
            .onCommand(line -> line.startsWith("EHLO") ? ehlo : line.startsWith("HELO") ? helo : null)) {
          Throwable e = failure(() -> SmtpConnection.open(vertx, client,
              SmtpConnection.Endpoint.mx("mx.test", "127.0.0.1", server.port()), OPTIONS,
              SmtpConnection.TlsMode.OPPORTUNISTIC));
          SmtpConnection.GreetingRefused refused = assertInstanceOf(SmtpConnection.GreetingRefused.class, e,
              ehlo + " / " + helo + ": " + e);
          assertEquals(Integer.parseInt(helo.substring(0, 3)), refused.greeting.code());
          assertEquals(1, count(server, "HELO"), server.commands().toString());
          assertEquals(helo.startsWith("5") ? 1 : 0, count(server, "QUIT"), server.commands().toString());
        }
      }
    }
  }

  /** A port no connection can have fails the attempt, as a refused connection would, rather than never ending it. */
  @Test
  void aPortOutOfRangeFailsTheConnection() throws Exception {
    for (int port : new int[] {0, 70000}) {
      Throwable e = failure(() -> SmtpConnection.open(vertx, client, SmtpConnection.Endpoint.mx("mx.test", "127.0.0.1",
          port), OPTIONS, SmtpConnection.TlsMode.OPPORTUNISTIC));
      assertInstanceOf(SmtpConnection.ConnectionFailure.class, e, String.valueOf(e));
    }
  }

  /**
   * RFC 5321 3.2 / 4.1.4: HELO is for a server that does not know EHLO. A 4yz (421 above all) is the server refusing
   * service now: the connection fails, as with a refused greeting, and nothing goes over a HELO session (which would
   * have had no STARTTLS and no 8BITMIME).
   */
  @Test
  void a4yzToEhloIsARefusalNotAReasonForHelo() throws Exception {
    for (String reply : List.of("421 4.7.0 mx.test Too many connections, closing", "451 4.3.2 Try again later",
        "554 5.7.1 Go away")) {
      try (RecordingSmtpServer server = new RecordingSmtpServer()
          .onCommand(line -> line.startsWith("EHLO") ? reply : null)) {
        Throwable e = failure(() -> SmtpConnection.open(vertx, client,
            SmtpConnection.Endpoint.mx("mx.test", "127.0.0.1", server.port()), OPTIONS,
            SmtpConnection.TlsMode.OPPORTUNISTIC));
        SmtpConnection.GreetingRefused refused = assertInstanceOf(SmtpConnection.GreetingRefused.class, e);
        assertEquals(Integer.parseInt(reply.substring(0, 3)), refused.greeting.code());
        assertEquals(0, count(server, "HELO"), server.commands().toString());
      }
    }
  }

  /** An empty line after a reply (or inside one) is skipped, not read as the reply to the next command. */
  @Test
  void strayEmptyLinesBetweenRepliesAreSkipped() throws Exception {
    for (String ehlo : List.of("250-test.local\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
        "250-test.local\r\n\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n\r\n")) {
      try (RecordingSmtpServer server = new RecordingSmtpServer()
          .onCommand(line -> line.startsWith("EHLO") ? ehlo : null)) {
        SmtpConnection c = open(server, OPTIONS);
        assertTrue(c.eightBitMime());
        assertEquals(250, send(c, "a@example.org", message("blank", "x")).code());
        assertEquals(250, send(c, "b@example.org", message("blank", "y")).code());
        assertEquals(2, server.received().size());
        assertEquals(1, server.connections());
      }
    }
  }

  /**
   * RFC 5321 4.2.1: every line of a reply has its code, the same one. "250-" then "550 ..." is neither a yes nor a no:
   * a protocol error that ends the connection, and the transaction goes out again (nothing was sent of it), never a
   * delivery nor a bounce. On the connection's first transaction it is the host failing the session (the pool tries
   * another host), not a connection lost under it.
   */
  @Test
  void aReplyWhoseLinesHaveDifferentCodesIsAProtocolError() throws Exception {
    for (String reply : List.of("250-2.1.0 Sender ok\r\n550 5.7.1 Sender rejected",
        "550-5.7.1 Sender rejected\r\n250 2.1.0 Ok")) {
      try (RecordingSmtpServer server = new RecordingSmtpServer()
          .onCommand(line -> line.startsWith("MAIL FROM") ? reply : null)) {
        SmtpConnection c = open(server, OPTIONS);
        Throwable e = failure(() -> c.send("sender@example.com", "a@example.org", message("codes", "x"), 20, false,
            false, null).decided());
        SmtpConnection.SessionFailure f = assertInstanceOf(SmtpConnection.SessionFailure.class, e);
        assertFalse(f.timedOut);
        assertEquals(null, f.reply);
        assertTrue(e.getMessage().contains("malformed reply"), e.getMessage());
        assertFalse(on(() -> Future.succeededFuture(c.isOpen())));
        assertTrue(server.received().isEmpty());
      }
    }
  }

  @Test
  void sizeIsReadWhateverTheSpacesBeforeIt() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer()
        .extensions("PIPELINING\r\n250-SIZE  1000\r\n250 8BITMIME")) {
      assertEquals(1000, open(server, OPTIONS).maxSize());
    }
    try (RecordingSmtpServer server = new RecordingSmtpServer().extensions("SIZE\t2000\r\n250 8BITMIME")) {
      assertEquals(2000, open(server, OPTIONS).maxSize());
    }
  }

  static SmtpConnection.Endpoint relay(RecordingSmtpServer server) {
    // on this machine: PLAIN without TLS is allowed (the password does not leave it)
    return new SmtpConnection.Endpoint("127.0.0.1", "127.0.0.1", server.port(), false, "user", "secret", true);
  }

  static final String TOKEN = Base64.getEncoder().encodeToString("\0user\0secret".getBytes(StandardCharsets.UTF_8));

  /** The credentials go only to a server that offers PLAIN: one that offers other mechanisms gets nothing. */
  @Test
  void noCredentialsForAServerWithoutAuthPlain() throws Exception {
    for (String ext : List.of("AUTH LOGIN CRAM-MD5\r\n250 8BITMIME", "PIPELINING\r\n250 8BITMIME")) {
      try (RecordingSmtpServer server = new RecordingSmtpServer().extensions(ext)
          .onCommand(line -> line.startsWith("AUTH") ? "235 2.7.0 Authentication successful" : null)) {
        Throwable e = failure(() -> SmtpConnection.open(vertx, client, relay(server), OPTIONS,
            SmtpConnection.TlsMode.OPPORTUNISTIC));
        assertTrue(e.getMessage().contains("does not offer AUTH PLAIN"), e.getMessage());
        assertEquals(0, count(server, "AUTH"), server.commands().toString());
      }
    }
  }

  /** RFC 4954 4: a server that does not take the initial response asks for it with an empty 334 challenge. */
  @Test
  void anEmptyChallengeToAuthPlainIsAnsweredWithTheCredentials() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().extensions("AUTH=LOGIN PLAIN\r\n250 8BITMIME")
        .onCommand(line -> line.startsWith("AUTH PLAIN") ? "334 " : line.equals(TOKEN)
            ? "235 2.7.0 Authentication successful" : null)) {
      SmtpConnection c = on(() -> SmtpConnection.open(vertx, client, relay(server), OPTIONS,
          SmtpConnection.TlsMode.OPPORTUNISTIC));
      assertEquals(List.of("AUTH PLAIN " + TOKEN, TOKEN), server.commands().stream()
          .filter(l -> l.startsWith("AUTH") || l.equals(TOKEN)).toList());
      assertEquals(250, send(c, "a@example.org", message("auth", "x")).code());
    }
    try (RecordingSmtpServer server = new RecordingSmtpServer().extensions("AUTH PLAIN\r\n250 8BITMIME")
        .onCommand(line -> line.startsWith("AUTH PLAIN") || line.equals(TOKEN) ? "334 " : null)) {
      Throwable e = failure(() -> SmtpConnection.open(vertx, client, relay(server), OPTIONS,
          SmtpConnection.TlsMode.OPPORTUNISTIC));
      assertTrue(e.getMessage().startsWith("authentication to"), e.getMessage());
      assertFalse(e.getMessage().contains(TOKEN), "the credentials are not in the diagnostic");
    }
  }

  /**
   * A character beyond ASCII in an address cannot be written without SMTPUTF8: the transaction fails before anything
   * is sent (an encoder would have written '?', another mailbox), and the connection goes on in step.
   */
  @Test
  void aNonAsciiAddressIsRefusedNotWrittenAsAnotherMailbox() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer()) {
      SmtpConnection c = open(server, OPTIONS);
      Throwable e = failure(() -> c.send("sender@example.com", "bü@example.org", message("x", "y"), 20, false, false,
          null).decided());
      assertInstanceOf(IllegalArgumentException.class, e);
      assertTrue(e.getMessage().contains("beyond ASCII"), e.getMessage());
      assertEquals(0, count(server, "MAIL"), server.commands().toString());
      assertEquals(250, send(c, "b@example.org", message("after", "z")).code());
      assertEquals(List.of(List.of("b@example.org")), server.received().stream().map(r -> r.rcptTo()).toList());
    }
  }

  /**
   * A CR or LF inside an address would end the command line there and put the rest to the server as a command of its
   * own: the transaction fails before anything is written, the diagnostic shows the line without them, and the
   * connection goes on in step.
   */
  @Test
  void aLineBreakInAnAddressIsRefusedNotWrittenAsASecondCommand() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer()) {
      SmtpConnection c = open(server, OPTIONS);
      for (String rcpt : List.of("a@example.org>\r\nRSET\r\nRCPT TO:<b@example.org", "a\n@example.org",
          "a\u0000@example.org")) {
        Throwable e = failure(() -> c.send("sender@example.com", rcpt, message("x", "y"), 20, false, false, null)
            .decided());
        assertInstanceOf(IllegalArgumentException.class, e);
        assertTrue(e.getMessage().contains("a control character"), e.getMessage());
        assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
      }
      Throwable e = failure(() -> c.send("sender@example.com\r\nDATA", "c@example.org", message("x", "y"), 20,
          false, false, null).decided());
      assertInstanceOf(IllegalArgumentException.class, e);
      assertEquals(0, count(server, "MAIL") + count(server, "RSET") + count(server, "DATA"),
          server.commands().toString());
      assertEquals(250, send(c, "d@example.org", message("after", "z")).code());
      assertEquals(List.of(List.of("d@example.org")), server.received().stream().map(r -> r.rcptTo()).toList());
    }
  }

  /**
   * QUIT's wait is bounded as a whole: behind a final dot whose reply may take the data timeout (60 s here), the
   * connection is closed after {@link SmtpConnection#QUIT_MILLIS}, and the transaction still waiting fails.
   */
  @Test
  void quitBehindAnUnansweredFinalDotClosesTheConnectionInTime() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().stallAfterData()) {
      SmtpConnection c = open(server, options(60_000, 60_000, 60_000));
      long start = System.nanoTime();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      on(() -> {
        Buffer data = message("stalled", "x");
        SmtpConnection.Transaction t = c.send("sender@example.com", "a@example.org", data, data.length(), false,
            false, null);
        t.decided().onFailure(failure::set);
        return t.contentSent().compose(v -> c.quit());
      });
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(millis >= SmtpConnection.QUIT_MILLIS - 500 && millis < SmtpConnection.QUIT_MILLIS + 5_000,
          millis + " ms");
      assertFalse(c.isOpen());
      Await.until(failure::get, java.util.Objects::nonNull, Duration.ofSeconds(5));
    }
  }

  /** RFC 6531 3.4: a message with UTF-8 header fields is declared SMTPUTF8 to a server that offers it. */
  @Test
  void smtpUtf8IsDeclaredForUtf8HeadersWhenOffered() throws Exception {
    Buffer utf8 = message("Grüße", "ü");
    try (RecordingSmtpServer server = new RecordingSmtpServer()
        .extensions("PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8")) {
      SmtpConnection c = open(server, OPTIONS);
      on(() -> c.send("s@example.com", "a@example.org", utf8, utf8.length(), true, true, null).decided());
      on(() -> c.send("s@example.com", "b@example.org", utf8, utf8.length(), true, false, null).decided());
      assertEquals(List.of("BODY=8BITMIME SMTPUTF8", "BODY=8BITMIME"),
          server.received().stream().map(RecordingSmtpServer.Received::mailParams).toList());
    }
    try (RecordingSmtpServer server = new RecordingSmtpServer().extensions("PIPELINING\r\n250 8BITMIME")) {
      SmtpConnection c = open(server, OPTIONS);
      on(() -> c.send("s@example.com", "a@example.org", utf8, utf8.length(), true, true, null).decided());
      assertEquals("BODY=8BITMIME", server.received().get(0).mailParams(), "not offered: not declared");
    }
  }

  static Buffer large(int bytes) {
    StringBuilder sb = new StringBuilder("Subject: large\r\n\r\n");
    while (sb.length() < bytes) {
      sb.append("0123456789".repeat(7)).append("\r\n");
    }
    return Buffer.buffer(sb.toString());
  }

  /**
   * RFC 5321 4.5.3.2.6: the wait for the reply to the final dot starts when the dot has been written. A receiver that
   * takes the content slower than that wait (here 1 s for some 1.9 s of writing) but steadily gets it all; each
   * block of it it takes starts the data block timeout again.
   */
  @Test
  void aSlowReceiverIsNotTimedOutWhileTheContentIsWritten() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().readDataSlowly(16 * 1024, Duration.ofMillis(50))) {
      SmtpConnection c = open(server, options(2_000, 1_000, 3_000));
      Buffer data = large(600 * 1024);
      long start = System.nanoTime();
      assertEquals(250, send(c, "a@example.org", data).code());
      assertTrue(System.nanoTime() - start > 1_300_000_000L, "the receiver was not slow");
      assertEquals(1, server.received().size());
    }
  }

  /**
   * A server that answers EHLO and then nothing: its silence for the command timeout fails the session, as the host's
   * doing ({@link SmtpConnection.SessionFailure}, timed out), on any transaction of the connection, not as a connection
   * lost under the transaction ({@link SmtpConnection.Unanswered}), which would send it out again at once to the same
   * silence without ever counting it. A transaction pipelined behind another that a timeout ends is not the one the
   * server failed: it went under the first, unanswered.
   */
  @Test
  void silenceAfterACommandIsASessionFailureOfItsOwnTransaction() throws Exception {
    java.util.concurrent.atomic.AtomicBoolean silent = new java.util.concurrent.atomic.AtomicBoolean();
    try (RecordingSmtpServer server = new RecordingSmtpServer()
        .onCommand(line -> silent.get() && (line.startsWith("MAIL") || line.startsWith("RCPT") || line.equals("DATA"))
            ? "" : null)) {
      SmtpConnection c = open(server, options(500, 1_000, 500));
      assertEquals(250, send(c, "a@example.org", message("first", "x")).code());
      silent.set(true);
      long start = System.nanoTime();
      Throwable e = failure(() -> c.send("sender@example.com", "b@example.org", message("second", "x"), 20, false,
          false, null).decided());
      SmtpConnection.SessionFailure f = assertInstanceOf(SmtpConnection.SessionFailure.class, e);
      assertTrue(f.timedOut);
      assertTrue(f.getMessage().contains("timeout after 0.5s waiting for the reply to MAIL FROM"), f.getMessage());
      assertTrue(System.nanoTime() - start >= 400_000_000L, "not after the command timeout");
    }
    try (RecordingSmtpServer server = new RecordingSmtpServer().stallAfterData()) {
      SmtpConnection c = open(server, options(2_000, 500, 500));
      Throwable[] failures = on(() -> {
        Buffer data = message("stalled", "x");
        SmtpConnection.Transaction first = c.send("sender@example.com", "a@example.org", data, data.length(), false,
            false, null);
        // pipelined behind the first message's final dot, as the pool does once its content is written
        return first.contentSent().compose(v -> {
          Future<SmtpResponse> second = c.send("sender@example.com", "b@example.org", data, data.length(), false,
              false, null).decided();
          return Future.join(first.decided(), second).transform(ar -> Future.succeededFuture(new Throwable[] {
              first.decided().cause(), second.cause()}));
        });
      });
      assertInstanceOf(SmtpConnection.ReplyTimeout.class, failures[0], "the first: timed out after its content");
      assertInstanceOf(SmtpConnection.Unanswered.class, failures[1], "the second: went under the first");
    }
  }

  /** RFC 5321 4.5.3.2.5: a receiver that stops taking the content fails the attempt after the data block timeout. */
  @Test
  void aReceiverThatStopsTakingTheContentTimesOutAfterTheDataBlockTimeout() throws Exception {
    try (RecordingSmtpServer server = new RecordingSmtpServer().stopReadingDataAfter(64 * 1024)) {
      SmtpConnection c = open(server, options(2_000, 15_000, 500));
      long start = System.nanoTime();
      Throwable e = failure(() -> c.send("s@example.com", "a@example.org", large(2 * 1024 * 1024), 1, false, false,
          null).decided());
      long took = (System.nanoTime() - start) / 1_000_000;
      assertInstanceOf(SmtpConnection.ConnectionFailure.class, e);
      assertFalse(e instanceof SmtpConnection.Unanswered, "the content went out: it may not be sent again at once");
      assertTrue(e.getMessage().contains("no part of the message taken"), e.getMessage());
      assertTrue(took < 5_000, "timed out after " + took + " ms");
    }
  }
}
