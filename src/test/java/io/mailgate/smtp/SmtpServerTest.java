package io.mailgate.smtp;

import static io.mailgate.smtp.SmtpTestClient.await;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The server over real sockets: the adapter, TLS, timeouts, limits and hostile clients. */
@ExtendWith(VertxExtension.class)
class SmtpServerTest {

  private static final String EHLO_LINES = "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n"
      + "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n";
  private static final String START_DATA = "354 End data with <CR><LF>.<CR><LF>\r\n";

  private Vertx vertx;
  private final RecordingHandler handler = new RecordingHandler();
  private final List<SmtpServer> servers = new ArrayList<>();
  private final List<SmtpTestClient> clients = new ArrayList<>();
  private static SelfSignedCertificate certificate; // key generation is slow: one per class

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
  }

  @AfterEach
  void tearDown() {
    for (SmtpTestClient client : clients) {
      try {
        client.close();
      } catch (AssertionError ignored) {
        // already closed by the server
      }
    }
    for (SmtpServer server : servers) {
      await(server.close());
    }
  }

  @AfterAll
  static void deleteCertificate() {
    if (certificate != null) {
      certificate.delete();
    }
  }

  private static SmtpServerOptions options() {
    return new SmtpServerOptions().setHost("127.0.0.1").setPort(0).setServerName("mx.test");
  }

  private SmtpServer start(SmtpServerOptions options, SmtpSessionHandler h) {
    SmtpServer server = await(SmtpServer.start(vertx, options, h));
    servers.add(server);
    return server;
  }

  private SmtpServer start(SmtpServerOptions options) {
    return start(options, handler);
  }

  private SmtpTestClient connect(SmtpServer server) {
    SmtpTestClient client = SmtpTestClient.connect(vertx, server.actualPort());
    clients.add(client);
    return client;
  }

  private SmtpTestClient greeted(SmtpServer server) {
    return connect(server).expect("220 mx.test ESMTP\r\n");
  }

  private static SelfSignedCertificate certificate() {
    if (certificate == null) {
      certificate = SelfSignedCertificate.create("localhost");
    }
    return certificate;
  }

  @Test
  void pipelinedTransactionsWithRset() {
    SmtpServer server = start(options());
    SmtpTestClient client = greeted(server);
    client.send("EHLO client.test\r\n").expect(EHLO_LINES + "250 DSN\r\n");
    client.send("MAIL FROM:<a@x.test> BODY=8BITMIME\r\nRCPT TO:<b@y.test>\r\n"
            + "RCPT TO:<c@y.test> NOTIFY=FAILURE\r\nDATA\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect("250 2.1.5 Ok\r\n")
        .expect(START_DATA);
    client.send("Subject: one\r\n\r\nfirst\r\n.\r\n").expect("250 2.0.0 Ok: queued as M1\r\n");
    // a transaction abandoned with RSET, then another one, all pipelined
    client.send("MAIL FROM:<>\r\nRCPT TO:<d@y.test>\r\nRSET\r\nMAIL FROM:<e@x.test>\r\n"
            + "RCPT TO:<f@y.test>\r\nDATA\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect("250 2.0.0 Ok\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA);
    client.send("Subject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
        .expect("250 2.0.0 Ok: queued as M2\r\n").expect("221 2.0.0 Bye\r\n");
    client.expectClosed();

    assertEquals(2, handler.messages.size());
    assertEquals("Subject: one\r\n\r\nfirst\r\n", handler.message(0));
    assertEquals("Subject: two\r\n\r\nsecond\r\n", handler.message(1));
    Envelope first = handler.envelopes.get(0);
    assertEquals("a@x.test", first.reversePath());
    assertEquals(List.of(new Recipient("b@y.test", Map.of()),
        new Recipient("c@y.test", Map.of("NOTIFY", "FAILURE"))), first.recipients());
    assertEquals(MailParameters.BodyType.EIGHT_BIT_MIME, first.mailParameters().body());
    assertEquals("client.test", first.heloName());
    assertEquals("127.0.0.1", first.remoteAddress().getAddress().getHostAddress());
    Envelope second = handler.envelopes.get(1);
    assertEquals("e@x.test", second.reversePath());
    assertEquals(List.of(new Recipient("f@y.test", Map.of())), second.recipients());
    assertEquals(handler.messageSessions.get(0).id(), handler.messageSessions.get(1).id());
  }

  @Test
  void dotStuffingRoundTripAndTerminatorSplitAcrossWrites() {
    SmtpServer server = start(options());
    SmtpTestClient client = greeted(server);
    client.send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .expect(EHLO_LINES + "250 DSN\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n")
        .expect(START_DATA);
    String original = ".leading dot\r\n.\r\n..\r\nmiddle . dot\r\n.\r\n";
    // what a client sends: every line starting with a dot gets one more
    String stuffed = "..leading dot\r\n..\r\n...\r\nmiddle . dot\r\n..\r\n";
    client.send(stuffed);
    client.send("\r");
    client.send("\n.");
    client.send("\r");
    client.send("\n").expect("250 2.0.0 Ok: queued as M1\r\n");
    // the lone CRLF sent above was an empty last line of content
    assertEquals(original + "\r\n", handler.message(0));
  }

  @Test
  void messageWithoutFinalLineBreakGetsOne() {
    SmtpServer server = start(options());
    SmtpTestClient client = greeted(server);
    client.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n")
        .expect(START_DATA);
    // content "Subject: x\r\n\r\nno newline at the end": the client adds CRLF before the dot
    client.send("Subject: x\r\n\r\nno newline at the end\r\n.\r\n")
        .expect("250 2.0.0 Ok: queued as M1\r\n");
    byte[] expected = "Subject: x\r\n\r\nno newline at the end\r\n".getBytes(UTF_8);
    assertArrayEquals(expected, handler.messages.get(0));
  }

  @Test
  void sizeLimitAtMailAndInData() {
    SmtpServer server = start(options().setMaxMessageSize(1000));
    SmtpTestClient client = greeted(server);
    client.send("EHLO c\r\n").expect("250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
        + "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n");
    client.send("MAIL FROM:<a@x.test> SIZE=1001\r\n")
        .expect("552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    client.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA);
    String line = "x".repeat(98) + "\r\n";
    for (int i = 0; i < 200; i++) {
      client.send(line); // 20 000 octets, twenty times the limit
    }
    client.send(".\r\n").expect("552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    assertTrue(handler.messages.isEmpty());
    // the session goes on
    client.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA);
    client.send(line.repeat(10) + ".\r\n").expect("250 2.0.0 Ok: queued as M1\r\n");
    assertEquals(line.repeat(10), handler.message(0));
  }

  @Test
  void tooLongLineUnknownCommandAndBadSequence() {
    SmtpServer server = start(options());
    SmtpTestClient client = greeted(server);
    client.send("MAIL FROM:<a@x.test>\r\n").expect("503 5.5.1 Error: send HELO/EHLO first\r\n");
    client.send("NOOP " + "x".repeat(10_000) + "\r\n").expect("500 5.5.2 Error: line too long\r\n");
    client.send("WHAT is this\r\n").expect("500 5.5.2 Error: command not recognized\r\n");
    client.send("HELO c\r\n").expect("250 mx.test\r\n");
    client.send("RCPT TO:<b@y.test>\r\n").expect("503 5.5.1 Error: need MAIL command\r\n");
    client.send("DATA\r\n").expect("503 5.5.1 Error: need MAIL command\r\n");
    client.send("MAIL FROM:<a@x.test>\r\nDATA\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("554 5.5.1 Error: no valid recipients\r\n");
    client.send("NOOP\r\n").expect("250 2.0.0 Ok\r\n");
  }

  @Test
  void startTlsUpgradeResetsTheSession() {
    SmtpServer server = start(options().setKeyCertOptions(certificate().keyCertOptions())
        .setAuthEnabled(true));
    SmtpTestClient client = greeted(server);
    client.send("EHLO c\r\n").expect(EHLO_LINES + "250-DSN\r\n250 STARTTLS\r\n");
    client.send("AUTH PLAIN " + b64("\0alice\0s3cret") + "\r\n")
        .expect("538 5.7.11 Encryption required for requested authentication mechanism\r\n");
    client.send("MAIL FROM:<a@x.test>\r\n").expect("250 2.1.0 Ok\r\n");
    client.send("STARTTLS\r\n").expect("220 2.0.0 Ready to start TLS\r\n");
    client.startTls();
    assertTrue(client.isSsl());
    // everything before the handshake is forgotten
    client.send("RCPT TO:<b@y.test>\r\n").expect("503 5.5.1 Error: need MAIL command\r\n");
    client.send("EHLO c\r\n").expect(EHLO_LINES + "250-DSN\r\n250 AUTH PLAIN LOGIN\r\n");
    client.send("STARTTLS\r\n").expect("503 5.5.1 Error: TLS already active\r\n");
    client.send("AUTH PLAIN " + b64("\0alice\0s3cret") + "\r\n")
        .expect("235 2.7.0 Authentication successful\r\n");
    client.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA);
    client.send("secret\r\n.\r\n").expect("250 2.0.0 Ok: queued as M1\r\n");
    Envelope envelope = handler.envelopes.get(0);
    assertTrue(envelope.tls());
    assertEquals("alice", envelope.authenticatedUser());
    assertEquals("c", envelope.heloName());
  }

  @Test
  void commandsPipelinedAfterStartTlsAreRejected() {
    SmtpServer server = start(options().setKeyCertOptions(certificate().keyCertOptions()));
    SmtpTestClient client = greeted(server);
    client.send("EHLO c\r\n").expect(EHLO_LINES + "250-DSN\r\n250 STARTTLS\r\n");
    client.send("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\n")
        .expect("554 5.5.1 Error: command pipelined after STARTTLS\r\n");
    client.expectClosed();
  }

  @Test
  void plaintextInsteadOfTheHandshakeIsNeverExecuted() {
    SmtpServer server = start(options().setKeyCertOptions(certificate().keyCertOptions()));
    SmtpTestClient client = greeted(server);
    client.send("EHLO c\r\n").expect(EHLO_LINES + "250-DSN\r\n250 STARTTLS\r\n");
    client.send("STARTTLS\r\n").expect("220 2.0.0 Ready to start TLS\r\n");
    client.send("MAIL FROM:<evil@x.test>\r\n");
    client.expectClosed();
    assertTrue(handler.mailParams.isEmpty(), "the plaintext MAIL FROM reached the handler");
  }

  @Test
  void implicitTls() {
    SmtpServer server = start(options().setKeyCertOptions(certificate().keyCertOptions())
        .setImplicitTls(true));
    SmtpTestClient client = connect(server);
    client.startTls(); // before any byte: the server speaks TLS from the start
    assertTrue(client.isSsl());
    client.expect("220 mx.test ESMTP\r\n");
    client.send("EHLO c\r\n").expect(EHLO_LINES + "250 DSN\r\n");
    client.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nhi\r\n.\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA)
        .expect("250 2.0.0 Ok: queued as M1\r\n");
    assertTrue(handler.envelopes.get(0).tls());
  }

  /**
   * An implicit TLS connection is counted from its first byte, not from the end of its handshake: connections that never
   * start one fill the limit, a further one is closed before any handshake, and a slot freed is taken again.
   */
  @Test
  void implicitTlsConnectionsCountBeforeTheirHandshake() {
    SmtpServer server = start(options().setKeyCertOptions(certificate().keyCertOptions())
        .setImplicitTls(true).setMaxConnections(2));
    SmtpTestClient silent = connect(server);
    connect(server);
    waitUntil(() -> server.openConnections() == 2);
    connect(server).expectClosed(); // no handshake asked for, none given: closed at once
    silent.close();
    waitUntil(() -> server.openConnections() == 1);
    SmtpTestClient client = connect(server);
    client.startTls();
    client.expect("220 mx.test ESMTP\r\n");
    client.send("NOOP\r\n").expect("250 2.0.0 Ok\r\n");
  }

  /** A client that never completes its handshake is closed after the command timeout (at most 10 s), its slot freed. */
  @Test
  void anUnfinishedHandshakeTimesOut() {
    SmtpServer server = start(options().setKeyCertOptions(certificate().keyCertOptions())
        .setImplicitTls(true).setCommandTimeout(Duration.ofMillis(300)));
    connect(server);
    waitUntil(() -> server.openConnections() == 1);
    waitUntil(() -> server.openConnections() == 0); // the TLS handler's alert, then the close
  }

  @Test
  void authPlainAndLoginOverPlainTextWhenAllowed() {
    SmtpServer server = start(options().setAuthEnabled(true).setPlainTextAuthAllowed(true)
        .setAuthRequired(true));
    SmtpTestClient client = greeted(server);
    client.send("EHLO c\r\n").expect(EHLO_LINES + "250-DSN\r\n250 AUTH PLAIN LOGIN\r\n");
    client.send("MAIL FROM:<a@x.test>\r\n").expect("530 5.7.0 Authentication required\r\n");
    client.send("AUTH PLAIN " + b64("\0alice\0wrong") + "\r\n")
        .expect("535 5.7.8 Authentication credentials invalid\r\n");
    client.send("AUTH LOGIN\r\n").expect("334 VXNlcm5hbWU6\r\n");
    client.send(b64("alice") + "\r\n").expect("334 UGFzc3dvcmQ6\r\n");
    client.send(b64("wrong") + "\r\n").expect("535 5.7.8 Authentication credentials invalid\r\n");
    client.send("AUTH LOGIN\r\n").expect("334 VXNlcm5hbWU6\r\n");
    client.send(b64("alice") + "\r\n").expect("334 UGFzc3dvcmQ6\r\n");
    client.send(b64("s3cret") + "\r\n").expect("235 2.7.0 Authentication successful\r\n");
    client.send("MAIL FROM:<a@x.test>\r\n").expect("250 2.1.0 Ok\r\n");

    SmtpTestClient second = greeted(server);
    second.send("EHLO c\r\n").expect(EHLO_LINES + "250-DSN\r\n250 AUTH PLAIN LOGIN\r\n");
    second.send("AUTH PLAIN\r\n").expect("334 \r\n");
    second.send(b64("\0alice\0s3cret") + "\r\n").expect("235 2.7.0 Authentication successful\r\n");
  }

  @Test
  void asyncHandlerCompletingOnAnotherThread() {
    SmtpSessionHandler async = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onRcptTo(
          SessionInfo s, String forwardPath, Map<String, String> esmtpParams) {
        return CompletableFuture.supplyAsync(() -> forwardPath.startsWith("no")
            ? SmtpReply.noSuchUser(forwardPath) : SmtpReply.RECIPIENT_OK);
      }

      @Override
      public CompletionStage<SmtpReply> onMessage(SessionInfo s, Envelope e, byte[] m) {
        return CompletableFuture.supplyAsync(() -> super.onMessage(s, e, m))
            .thenCompose(stage -> stage);
      }
    };
    SmtpServer server = start(options(), async);
    SmtpTestClient client = greeted(server);
    StringBuilder pipelined = new StringBuilder("EHLO c\r\nMAIL FROM:<a@x.test>\r\n");
    for (int i = 0; i < 50; i++) {
      String local = (i % 3 == 0 ? "no" : "r") + i;
      pipelined.append("RCPT TO:<").append(local).append("@y.test>\r\n");
    }
    client.send(pipelined.append("DATA\r\nbody\r\n.\r\nQUIT\r\n").toString());
    client.expect(EHLO_LINES + "250 DSN\r\n").expect("250 2.1.0 Ok\r\n");
    for (int i = 0; i < 50; i++) {
      client.expect(i % 3 == 0
          ? "550 5.1.1 <no" + i + "@y.test>: Recipient address rejected: user unknown\r\n"
          : "250 2.1.5 Ok\r\n");
    }
    client.expect(START_DATA).expect("250 2.0.0 Ok: queued as M1\r\n").expect("221 2.0.0 Bye\r\n");
    client.expectClosed();
  }

  @Test
  void clientThatDoesNotReadItsRepliesIsThrottled() {
    // commands without mail are limited (100 by default): not here, where a million are the load
    SmtpServer server = start(options().setMaxJunkCommands(Integer.MAX_VALUE));
    SmtpTestClient client = greeted(server);
    client.pauseReading();
    int commands = 1_000_000;
    client.sendInBackground("HELO c\r\n".repeat(commands));
    // more than the socket buffers hold: the server must stop reading once its replies pile up
    waitUntil(() -> server.pausedConnections() == 1);
    client.resumeReading();
    client.expectRepeated("250 mx.test\r\n", commands);
    assertEquals(0, server.pausedConnections());
    client.send("QUIT\r\n").expect("221 2.0.0 Bye\r\n");
  }

  @Test
  void binaryGarbageDoesNotHurtTheServer() {
    SmtpServer server = start(options());
    SmtpTestClient hostile = greeted(server);
    byte[] garbage = new byte[4096]; // about 16 "lines"; the server gives up after 10 errors
    new Random(7).nextBytes(garbage);
    hostile.send(garbage);
    for (int i = 0; i < SmtpServerOptions.DEFAULT_MAX_CONSECUTIVE_ERRORS; i++) {
      hostile.expectStart("500 5.5.2 ");
    }
    hostile.expect("421 4.7.0 Error: too many errors, closing connection\r\n");
    hostile.expectClosed();

    SmtpTestClient next = greeted(server);
    next.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nok\r\n.\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n")
        .expect(START_DATA).expect("250 2.0.0 Ok: queued as M1\r\n");
  }

  /**
   * One client address holds at most its limit of connections (Postfix's smtpd_client_connection_count_limit); a
   * place it gives back is free again; loopback clients are not counted. Needs an address of this machine's that is
   * not loopback, to connect from.
   */
  @Test
  void oneClientHoldsAtMostItsLimitOfConnections() throws Exception {
    String local = io.mailgate.testing.OwnAddress.get();
    SmtpServer server = start(new SmtpServerOptions().setHost("0.0.0.0").setPort(0).setServerName("mx.test")
        .setMaxConnectionsPerClient(2));
    List<SmtpTestClient> two = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      SmtpTestClient c = SmtpTestClient.connect(vertx, local, server.actualPort()).expect("220 mx.test ESMTP\r\n");
      clients.add(c);
      two.add(c);
    }
    SmtpTestClient third = SmtpTestClient.connect(vertx, local, server.actualPort());
    clients.add(third);
    third.expect("421 4.7.0 mx.test Error: too many connections from " + local + "\r\n").expectClosed();
    greeted(server).send("QUIT\r\n").expect("221 2.0.0 Bye\r\n"); // loopback: not counted
    two.get(0).send("QUIT\r\n").expect("221 2.0.0 Bye\r\n").expectClosed();
    waitUntil(() -> server.openConnections() == 1);
    SmtpTestClient again = SmtpTestClient.connect(vertx, local, server.actualPort());
    clients.add(again);
    again.expect("220 mx.test ESMTP\r\n");
  }

  /**
   * A client opens at most its rate of connections in a minute (Postfix's smtpd_client_connection_rate_limit), however
   * few it holds open: a third within the minute is answered 421 and closed though the first two were closed. Messages
   * it starts count by the minute too (smtpd_client_message_rate_limit), over its connections: the third MAIL FROM is
   * answered 450 4.7.1, and the session goes on. Loopback is not counted.
   */
  @Test
  void aClientIsHeldToItsRatesOfConnectionsAndMessages() throws Exception {
    String local = io.mailgate.testing.OwnAddress.get();
    SmtpServer server = start(new SmtpServerOptions().setHost("0.0.0.0").setPort(0).setServerName("mx.test")
        .setConnectionRatePerClient(2).setMessageRatePerClient(2));
    SmtpTestClient first = SmtpTestClient.connect(vertx, local, server.actualPort());
    clients.add(first);
    first.expect("220 mx.test ESMTP\r\n").send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRSET\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.0.0 Ok\r\n")
        .send("QUIT\r\n").expect("221 2.0.0 Bye\r\n").expectClosed();
    SmtpTestClient second = SmtpTestClient.connect(vertx, local, server.actualPort());
    clients.add(second);
    second.expect("220 mx.test ESMTP\r\n").send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRSET\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.0.0 Ok\r\n")
        .send("MAIL FROM:<a@x.test>\r\n")
        .expect("450 4.7.1 Error: too much mail from " + local + "\r\n")
        .send("NOOP\r\n").expect("250 2.0.0 Ok\r\n");
    waitUntil(() -> server.openConnections() == 1);
    SmtpTestClient third = SmtpTestClient.connect(vertx, local, server.actualPort());
    clients.add(third);
    third.expect("421 4.7.0 mx.test Error: too many connections from " + local + "\r\n").expectClosed();
    for (int i = 0; i < 3; i++) { // loopback: not counted
      greeted(server).send("HELO c\r\nMAIL FROM:<a@x.test>\r\n").expect("250 mx.test\r\n")
          .expect("250 2.1.0 Ok\r\n").send("QUIT\r\n").expect("221 2.0.0 Bye\r\n");
    }
  }

  @Test
  void stalledClientTimesOut() {
    SmtpServer server = start(options().setCommandTimeout(Duration.ofMillis(200)));
    SmtpTestClient client = greeted(server);
    client.expect("421 4.4.2 mx.test Error: timeout exceeded\r\n");
    client.expectClosed();
  }

  /**
   * A client that sends but never reads: its window fills, so the 421 and the close never get written. The connection
   * is closed without them after a grace period instead of holding its place under the connection limit for good.
   */
  @Test
  void aClientThatStopsReadingIsClosedAnyway() throws Exception {
    // commands without mail unlimited here: past 100 of them the session would end before the window fills
    SmtpServer server = start(options().setCommandTimeout(Duration.ofMillis(300)).setMaxJunkCommands(Integer.MAX_VALUE));
    try (java.net.Socket socket = new java.net.Socket()) {
      socket.setReceiveBufferSize(4096);
      socket.connect(new java.net.InetSocketAddress("127.0.0.1", server.actualPort()));
      Thread flood = new Thread(() -> {
        try {
          java.io.OutputStream out = socket.getOutputStream();
          out.write("EHLO c\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          byte[] hellos = "EHLO c\r\n".repeat(10_000).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
          for (int i = 0; i < 10; i++) { // over 10 MB of replies: more than the socket buffers on both sides hold
            out.write(hellos);
          }
        } catch (java.io.IOException e) {
          // the server closed the connection
        }
      });
      flood.setDaemon(true);
      flood.start();
      waitUntil(() -> server.openConnections() == 1);
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SmtpConnection.CLOSE_GRACE_MILLIS + 30_000);
      while (server.openConnections() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertEquals(0, server.openConnections());
    }
  }

  /**
   * The content the sessions of an address hold together is bounded: a message that would take more is answered 452
   * (try later) without being kept, and every session gives its buffer back when it ends.
   */
  @Test
  void messageContentHeldAtOnceIsBounded() {
    SmtpServer server = start(options().setMaxMessageSize(40_000).setMaxDataBytesHeld(45_000));
    SmtpTestClient holder = greeted(server);
    String line = "x".repeat(70) + "\r\n";
    holder.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line.repeat(500))
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA);
    waitUntil(() -> server.dataBytesHeld() > 32 * 1024); // 36 KB of a message under way in a 40 KB buffer
    SmtpTestClient late = greeted(server);
    late.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line.repeat(100) + ".\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA)
        .expect("452 4.3.1 Insufficient system storage, try again later\r\n");
    holder.send(".\r\n").expect("250 2.0.0 Ok: queued as M1\r\n");
    late.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line.repeat(100) + ".\r\n")
        .expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA)
        .expect("250 2.0.0 Ok: queued as M2\r\n");
    holder.close();
    late.close();
    clients.remove(holder);
    clients.remove(late);
    waitUntil(() -> server.openConnections() == 0);
    assertEquals(0, server.dataBytesHeld());
  }

  /**
   * One client address holds at most a quarter of the budget (or one largest message): its messages past that are
   * answered 452 while the other clients' still fit. The test needs an address of this machine that is not loopback
   * (loopback, a local relay, is counted with the port only): the first one the machine has.
   */
  @Test
  void oneClientHoldsAQuarterOfTheBudget() throws Exception {
    java.net.InetAddress own = java.net.InetAddress.getByName(io.mailgate.testing.OwnAddress.get());
    SmtpServer server = start(new SmtpServerOptions().setHost("0.0.0.0").setPort(0).setServerName("mx.test")
        .setMaxMessageSize(400_000).setMaxDataBytesHeld(4_000_000).setMaxConnectionsPerClient(10));
    String line = "x".repeat(70) + "\r\n";
    List<SmtpTestClient> holders = new ArrayList<>();
    for (int i = 0; i < 2; i++) { // 380 KB of a message under way each, in 400 KB buffers: 800 KB of the client's 1 MB
      SmtpTestClient holder = SmtpTestClient.connect(vertx, own.getHostAddress(), server.actualPort());
      clients.add(holder);
      holders.add(holder);
      holder.expect("220 mx.test ESMTP\r\n")
          .send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line.repeat(5400))
          .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA);
      int held = i + 1;
      waitUntil(() -> server.dataBytesHeld() >= held * 380_000L);
    }
    SmtpTestClient third = SmtpTestClient.connect(vertx, own.getHostAddress(), server.actualPort());
    clients.add(third);
    third.expect("220 mx.test ESMTP\r\n")
        .send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line.repeat(5400) + ".\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA)
        .expect("452 4.3.1 Insufficient system storage, try again later\r\n");
    // another client (here loopback) still has room
    SmtpTestClient other = greeted(server);
    other.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line.repeat(5400) + ".\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA)
        .expect("250 2.0.0 Ok: queued as M1\r\n");
    holders.get(0).send(".\r\n").expect("250 2.0.0 Ok: queued as M2\r\n");
  }

  /** A message waiting on a slow handler still counts: a flood of messages left to a stalled store cannot fill the heap. */
  @Test
  void messagesWaitingOnTheHandlerCountAgainstTheBudget() {
    CompletableFuture<SmtpReply> stalled = new CompletableFuture<>();
    SmtpSessionHandler slow = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onMessage(SessionInfo s, Envelope e, byte[] m) {
        return stalled;
      }
    };
    SmtpServer server = start(options().setMaxMessageSize(40_000).setMaxDataBytesHeld(45_000), slow);
    String line = "x".repeat(70) + "\r\n";
    SmtpTestClient first = greeted(server);
    first.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line.repeat(500) + ".\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA);
    waitUntil(() -> server.dataBytesHeld() >= 500 * 72); // its content, now the handler's, is still counted
    SmtpTestClient second = greeted(server);
    second.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line.repeat(200) + ".\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n").expect(START_DATA)
        .expect("452 4.3.1 Insufficient system storage, try again later\r\n");
    first.close(); // the session goes, the handler still has the message
    clients.remove(first);
    waitUntil(() -> server.openConnections() == 1);
    assertTrue(server.dataBytesHeld() >= 500 * 72);
    stalled.complete(SmtpReply.queued("M1"));
    waitUntil(() -> server.dataBytesHeld() <= 16 * 1024); // what the second session keeps for its next message
    second.close();
    clients.remove(second);
    waitUntil(() -> server.openConnections() == 0);
    assertEquals(0, server.dataBytesHeld());
  }

  @Test
  void stalledDataTimesOutWithTheDataTimeout() {
    SmtpServer server = start(options().setCommandTimeout(Duration.ofSeconds(60))
        .setDataTimeout(Duration.ofMillis(200)));
    SmtpTestClient client = greeted(server);
    client.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nsome content")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n")
        .expect(START_DATA);
    client.expect("421 4.4.2 mx.test Error: timeout exceeded\r\n");
    client.expectClosed();
    assertTrue(handler.messages.isEmpty());
  }

  @Test
  void disconnectMidDataIsHarmless() {
    SmtpServer server = start(options());
    SmtpTestClient quitter = greeted(server);
    quitter.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n")
        .expect(START_DATA);
    quitter.send("Subject: half\r\n\r\nhalf a mess");
    quitter.close();
    clients.remove(quitter);
    waitUntil(() -> server.openConnections() == 0);
    assertTrue(handler.messages.isEmpty());

    SmtpTestClient next = greeted(server);
    next.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nwhole\r\n.\r\n")
        .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n")
        .expect(START_DATA).expect("250 2.0.0 Ok: queued as M1\r\n");
    assertEquals(List.of("whole\r\n"), List.of(handler.message(0)));
  }

  @Test
  void connectionLimit() {
    SmtpServer server = start(options().setMaxConnections(2));
    SmtpTestClient first = greeted(server);
    greeted(server);
    SmtpTestClient third = connect(server);
    third.expect("421 4.7.0 mx.test Error: too many connections, try again later\r\n");
    third.expectClosed();
    first.send("QUIT\r\n").expect("221 2.0.0 Bye\r\n");
    first.expectClosed();
    waitUntil(() -> server.openConnections() == 1);
    greeted(server).send("NOOP\r\n").expect("250 2.0.0 Ok\r\n");
  }

  @Test
  void oneServerPerEventLoopSharesPortAndConnectionLimit() throws IOException {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    SmtpServerOptions options = options().setPort(port).setMaxConnections(3);
    List<SmtpServer> started = new ArrayList<>();
    await(vertx.deployVerticle(() -> new VerticleBase() {
      @Override
      public Future<?> start() {
        return SmtpServer.start(vertx, options, handler).onSuccess(started::add);
      }
    }, new DeploymentOptions().setInstances(2)));
    servers.addAll(started);
    assertEquals(2, started.size());
    List<SmtpTestClient> open = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      SmtpTestClient c = SmtpTestClient.connect(vertx, port);
      clients.add(c);
      open.add(c.expect("220 mx.test ESMTP\r\n"));
    }
    SmtpTestClient refused = SmtpTestClient.connect(vertx, port);
    clients.add(refused);
    refused.expect("421 4.7.0 mx.test Error: too many connections, try again later\r\n");
    for (SmtpTestClient c : open) {
      c.send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nx\r\n.\r\n")
          .expect("250 mx.test\r\n").expect("250 2.1.0 Ok\r\n").expect("250 2.1.5 Ok\r\n")
          .expect(START_DATA).expectStart("250 2.0.0 Ok: queued as M");
    }
    assertEquals(3, handler.messages.size());
  }

  @Test
  void closeSaysGoodbyeToIdleClients() {
    SmtpServer server = start(options());
    SmtpTestClient client = greeted(server);
    client.send("HELO c\r\n").expect("250 mx.test\r\n");
    Future<Void> closed = server.close();
    servers.remove(server);
    client.expect("421 4.3.2 Server shutting down, closing connection\r\n");
    client.expectClosed();
    await(closed);
    assertFalse(handler.messages.size() > 0);
  }

  @Test
  void inconsistentOptionsFailTheStart() {
    Future<SmtpServer> future = SmtpServer.start(vertx, options().setImplicitTls(true), handler);
    assertTrue(future.failed());
    assertTrue(future.cause() instanceof IllegalStateException, future.cause().toString());
  }

  private static void waitUntil(BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(SmtpTestClient.WAIT_SECONDS).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("condition not reached in time");
      }
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(UTF_8));
  }
}
