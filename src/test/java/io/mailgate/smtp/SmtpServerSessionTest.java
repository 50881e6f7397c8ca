package io.mailgate.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.net.PemKeyCertOptions;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/** The protocol state machine, fed bytes directly: every edge case without a socket. */
class SmtpServerSessionTest {

  private static final String EHLO_REPLY = "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n"
      + "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n";

  private final FakeTransport transport = new FakeTransport();
  private final RecordingHandler handler = new RecordingHandler();
  private SmtpServerSession session;

  private SmtpServerSession start(SmtpServerOptions options, SmtpSessionHandler h) {
    SessionInfo info = new SessionInfo("s1", new InetSocketAddress("192.0.2.7", 40000),
        new InetSocketAddress("192.0.2.1", 25), "mx.test", null, false, null);
    session = new SmtpServerSession(options.sessionConfig(), info, h, transport, Runnable::run);
    session.start();
    return session;
  }

  private SmtpServerSession start() {
    return start(new SmtpServerOptions().setServerName("mx.test"), handler);
  }

  private String send(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    session.feed(bytes, 0, bytes.length);
    return transport.take();
  }

  private String sendByteByByte(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i++) {
      session.feed(bytes, i, 1);
    }
    return transport.take();
  }

  private void ehlo() {
    assertEquals("220 mx.test ESMTP\r\n", transport.take());
    assertEquals(EHLO_REPLY, send("EHLO client.test\r\n"));
  }

  @Test
  void greetsAndAdvertisesExtensions() {
    start();
    ehlo();
    assertEquals("250 mx.test\r\n", send("HELO client.test\r\n"));
  }

  @Test
  void fullTransactionFedByteByByte() {
    start();
    ehlo();
    String replies = sendByteByByte("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
        + "DATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n");
    assertEquals("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
        + "250 2.0.0 Ok: queued as M1\r\n221 2.0.0 Bye\r\n", replies);
    assertEquals("Subject: hi\r\n\r\nbody\r\n", handler.message(0));
    Envelope envelope = handler.envelopes.get(0);
    assertEquals("a@example.com", envelope.reversePath());
    assertEquals(List.of(new Recipient("b@example.org", Map.of())), envelope.recipients());
    assertEquals("client.test", envelope.heloName());
    assertEquals(new InetSocketAddress("192.0.2.7", 40000), envelope.remoteAddress());
    assertFalse(envelope.tls());
    assertNull(envelope.authenticatedUser());
    assertTrue(transport.closed);
  }

  @Test
  void pipelinedCommandsInOneChunkAreAnsweredInOneWrite() {
    start();
    ehlo();
    int before = transport.writes;
    String replies = send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n"
        + "DATA\r\n");
    assertEquals("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
        + "354 End data with <CR><LF>.<CR><LF>\r\n", replies);
    assertEquals(before + 1, transport.writes);
  }

  @Test
  void terminatorSplitAtEveryPosition() {
    String content = "line one\r\n..dotted\r\nlast";
    String wire = content + "\r\n.\r\n";
    for (int split = 1; split < wire.length(); split++) {
      transport.take();
      RecordingHandler h = new RecordingHandler();
      start(new SmtpServerOptions().setServerName("mx.test"), h);
      send("EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
      assertEquals("", send(wire.substring(0, split)), "split at " + split);
      assertEquals("250 2.0.0 Ok: queued as M1\r\n", send(wire.substring(split)), "split " + split);
      assertEquals("line one\r\n.dotted\r\nlast\r\n", h.message(0), "split at " + split);
    }
  }

  @Test
  void dotUnstuffing() {
    start();
    ehlo();
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
    send("..\r\n...\r\n.x\r\n. \r\nend.\r\n.\r\n");
    assertEquals(".\r\n..\r\nx\r\n \r\nend.\r\n", handler.message(0));
  }

  @Test
  void emptyMessage() {
    start();
    ehlo();
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
    assertEquals("250 2.0.0 Ok: queued as M1\r\n", send(".\r\n"));
    assertEquals("", handler.message(0));
  }

  @Test
  void bareLineFeedsAreNormalizedButNeverEndTheData() {
    start();
    ehlo();
    // LF-only command lines are accepted
    assertEquals("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
        send("MAIL FROM:<a@x.test>\nRCPT TO:<b@y.test>\nDATA\n"));
    // "\n.\r\n" and ".\n" are content (SMTP smuggling), only CRLF.CRLF ends the data
    assertEquals("", send("one\ntwo\n.\r\nMAIL FROM:<evil@x.test>\r\n.\nthree\r\n"));
    assertEquals("250 2.0.0 Ok: queued as M1\r\n", send(".\r\n"));
    assertEquals("one\r\ntwo\r\n\r\nMAIL FROM:<evil@x.test>\r\n\r\nthree\r\n", handler.message(0));
    assertTrue(handler.envelopes.get(0).bareLineFeeds());
    assertEquals(1, handler.messages.size());
  }

  @Test
  void bareCarriageReturnIsContent() {
    start();
    ehlo();
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
    send("a\rb\r\r\n.\rx\r\n.\r\n");
    assertEquals("a\rb\r\r\n\rx\r\n", handler.message(0));
    assertFalse(handler.envelopes.get(0).bareLineFeeds());
  }

  @Test
  void longDataLinesAreAcceptedAndFlagged() {
    start(new SmtpServerOptions().setServerName("mx.test").setMaxDataLineLength(10), handler);
    ehlo();
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n0123456789\r\n.\r\n");
    assertFalse(handler.envelopes.get(0).longLines());
    String line = "x".repeat(5000);
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" + line + "\r\n.\r\n");
    assertTrue(handler.envelopes.get(1).longLines());
    assertEquals(line + "\r\n", handler.message(1));
  }

  @Test
  void messageOverSizeLimitIsReadToTheEndAndRefused() {
    start(new SmtpServerOptions().setServerName("mx.test").setMaxMessageSize(100), handler);
    transport.take();
    assertTrue(send("EHLO c\r\n").contains("250-SIZE 100\r\n"));
    assertEquals("552 5.3.4 Message size exceeds fixed maximum message size\r\n",
        send("MAIL FROM:<a@x.test> SIZE=101\r\n"));
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<a@x.test> SIZE=100\r\n"));
    send("RCPT TO:<b@y.test>\r\nDATA\r\n");
    for (int i = 0; i < 100; i++) {
      assertEquals("", send("0123456789012345678901234567890123456789\r\n"));
    }
    assertEquals("552 5.3.4 Message size exceeds fixed maximum message size\r\n", send(".\r\n"));
    assertTrue(handler.messages.isEmpty());
    // exactly at the limit is fine, and the transaction was reset
    assertEquals("503 5.5.1 Error: need MAIL command\r\n", send("RCPT TO:<b@y.test>\r\n"));
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
    String exact = "x".repeat(98) + "\r\n";
    assertEquals("250 2.0.0 Ok: queued as M1\r\n", send(exact + ".\r\n"));
    assertEquals(exact, handler.message(0));
  }

  @Test
  void commandLineTooLongIsSkippedWithoutKillingTheSession() {
    start();
    ehlo();
    String longLine = "NOOP " + "x".repeat(5000);
    // arrives in pieces: the session must not buffer it
    assertEquals("", send(longLine.substring(0, 3000)));
    assertEquals("", send(longLine.substring(3000)));
    assertEquals("500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n", send("\r\nNOOP\r\n"));
    String justFits = "NOOP " + "x".repeat(2048 - 7) + "\r\n";
    assertEquals(2048, justFits.length());
    assertEquals("250 2.0.0 Ok\r\n", send(justFits));
    assertEquals("500 5.5.2 Error: line too long\r\n",
        send("NOOP " + "x".repeat(2048 - 6) + "\r\n"));
  }

  @Test
  void unknownCommandsAndSyntaxErrors() {
    start();
    ehlo();
    assertEquals("500 5.5.2 Error: command not recognized\r\n", send("FOO bar\r\n"));
    assertEquals("500 5.5.2 Error: command not recognized\r\n", send("\r\n"));
    assertEquals("501 5.5.4 Syntax: EHLO hostname\r\n", send("EHLO\r\n"));
    assertEquals("501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n",
        send("MAIL TO:<a@b.c>\r\n"));
    assertEquals("501 5.1.7 Bad sender address syntax\r\n", send("MAIL FROM:<a@b.c\r\n"));
    assertEquals("501 5.1.7 Bad sender address syntax\r\n", send("MAIL FROM:<nodomain>\r\n"));
    assertEquals("501 5.5.4 Syntax: RSET\r\n", send("RSET now\r\n"));
    assertEquals("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n",
        send("VRFY bob\r\n"));
    assertEquals("502 5.5.1 Error: command not implemented\r\n", send("EXPN staff\r\n"));
    assertEquals("502 5.5.1 Error: command not implemented\r\n", send("STARTTLS\r\n"));
    assertEquals("502 5.5.1 Error: command not implemented\r\n", send("AUTH PLAIN\r\n"));
    assertTrue(send("HELP\r\n").startsWith("214-2.0.0 Commands:"));
    assertEquals("250 2.0.0 Ok\r\n", send("noop\r\n"));
  }

  /**
   * A quoted local part escapes printable ASCII only (RFC 5321 section 4.1.2): a CR or NUL behind a backslash would
   * reach the Return-Path and Received fields of stored mail. Address literals are IPv4 or tagged (section 4.1.3).
   */
  @Test
  void addressesCarryNoControlCharactersAndOnlyRealLiterals() {
    start();
    ehlo();
    String bad = "501 5.1.7 Bad sender address syntax\r\n";
    assertEquals(bad, send("MAIL FROM:<\"x\\\rX-Evil: 1\"@evil.test>\r\n"));
    assertEquals(bad, send("MAIL FROM:<\"x\\\u0000y\"@evil.test>\r\n"));
    assertEquals(bad, send("MAIL FROM:<a@\"evil\".test>\r\n"));
    assertEquals(bad, send("MAIL FROM:<a@[\" > x \"]>\r\n"));
    assertEquals(bad, send("MAIL FROM:<a@[300.1.1.1]>\r\n"));
    assertEquals(bad, send("MAIL FROM:<a@[1.2.3]>\r\n"));
    assertEquals(bad, send("MAIL FROM:<a@[:1]>\r\n"));
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<\"odd \\\" name\"@x.test>\r\n"));
    assertEquals("250 2.0.0 Ok\r\n", send("RSET\r\n"));
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<a@[192.0.2.1]>\r\n"));
    assertEquals("250 2.0.0 Ok\r\n", send("RSET\r\n"));
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<a@[IPv6:2001:db8::1]>\r\n"));
  }

  @Test
  void badSequences() {
    start();
    transport.take();
    assertEquals("503 5.5.1 Error: send HELO/EHLO first\r\n", send("MAIL FROM:<a@x.test>\r\n"));
    send("EHLO c\r\n");
    assertEquals("503 5.5.1 Error: need MAIL command\r\n", send("RCPT TO:<b@y.test>\r\n"));
    assertEquals("503 5.5.1 Error: need MAIL command\r\n", send("DATA\r\n"));
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<>\r\n"));
    assertEquals("503 5.5.1 Error: nested MAIL command\r\n", send("MAIL FROM:<a@x.test>\r\n"));
    assertEquals("554 5.5.1 Error: no valid recipients\r\n", send("DATA\r\n"));
    assertEquals("250 2.0.0 Ok\r\n", send("RSET\r\n"));
    assertEquals("503 5.5.1 Error: need MAIL command\r\n", send("RCPT TO:<b@y.test>\r\n"));
  }

  @Test
  void noValidRecipientsWhenTheHandlerRejectedThemAll() {
    SmtpSessionHandler strict = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onRcptTo(
          SessionInfo s, String forwardPath, Map<String, String> esmtpParams) {
        return CompletableFuture.completedFuture(SmtpReply.noSuchUser(forwardPath));
      }
    };
    start(new SmtpServerOptions().setServerName("mx.test"), strict);
    transport.take();
    assertEquals("250 mx.test\r\n250 2.1.0 Ok\r\n"
            + "550 5.1.1 <nobody@y.test>: Recipient address rejected: user unknown\r\n"
            + "554 5.5.1 Error: no valid recipients\r\n",
        send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<nobody@y.test>\r\nDATA\r\n"));
  }

  @Test
  void mailAndRcptParameters() {
    start();
    ehlo();
    assertEquals("250 2.1.0 Ok\r\n",
        send("MAIL FROM:<a@x.test> BODY=8BITMIME SIZE=42 RET=HDRS ENVID=QQ+2B1 smtputf8\r\n"));
    assertEquals("250 2.1.5 Ok\r\n",
        send("RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@y.test\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO: <\"odd user\"@y.test>\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<Postmaster>\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<@relay.test:c@y.test>\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>\r\n"));
    send("DATA\r\nhi\r\n.\r\n");
    Envelope e = handler.envelopes.get(0);
    MailParameters p = e.mailParameters();
    assertEquals(42, p.declaredSize());
    assertEquals(MailParameters.BodyType.EIGHT_BIT_MIME, p.body());
    assertEquals(MailParameters.DsnReturn.HDRS, p.ret());
    assertEquals("QQ+2B1", p.envelopeId());
    assertTrue(p.smtpUtf8());
    assertEquals("{BODY=8BITMIME, SIZE=42, RET=HDRS, ENVID=QQ+2B1, SMTPUTF8=}",
        handler.mailParams.get(0));
    assertEquals("SUCCESS,FAILURE", e.recipients().get(0).dsnNotify());
    assertEquals("rfc822;b@y.test", e.recipients().get(0).originalRecipient());
    assertEquals("\"odd user\"@y.test", e.recipients().get(1).address());
    assertEquals("Postmaster", e.recipients().get(2).address());
    assertEquals("c@y.test", e.recipients().get(3).address());
    assertEquals("δοκιμή@παράδειγμα.δοκιμή", e.recipients().get(4).address());
  }

  @Test
  void parameterErrors() {
    start();
    ehlo();
    assertEquals("555 5.5.4 Unsupported parameter FOO\r\n", send("MAIL FROM:<a@x.test> FOO=1\r\n"));
    assertEquals("501 5.5.4 Unsupported BODY type, use 7BIT or 8BITMIME\r\n",
        send("MAIL FROM:<a@x.test> BODY=BINARYMIME\r\n"));
    assertEquals("501 5.5.4 Invalid SIZE\r\n", send("MAIL FROM:<a@x.test> SIZE=12k\r\n"));
    assertEquals("501 5.5.4 Duplicate parameter SIZE\r\n",
        send("MAIL FROM:<a@x.test> SIZE=1 size=2\r\n"));
    assertEquals("553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter\r\n",
        send("MAIL FROM:<jörg@x.test>\r\n"));
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<a@x.test>\r\n"));
    assertEquals("553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter\r\n",
        send("RCPT TO:<jörg@x.test>\r\n"));
    assertEquals("501 5.5.4 NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY\r\n",
        send("RCPT TO:<b@y.test> NOTIFY=NEVER,SUCCESS\r\n"));
    assertEquals("555 5.5.4 Unsupported parameter SIZE\r\n", send("RCPT TO:<b@y.test> SIZE=1\r\n"));
  }

  /**
   * Without DSN offered (as both of the node's servers have it), RET, ENVID, NOTIFY and ORCPT are parameters the server
   * does not know: taken and ignored, the client would believe the DSN it asked for is coming.
   */
  @Test
  void dsnParametersAreRefusedWhereDsnIsNotOffered() {
    start(new SmtpServerOptions().setServerName("mx.test").setDsn(false), handler);
    assertEquals("220 mx.test ESMTP\r\n", transport.take());
    assertFalse(send("EHLO client.test\r\n").contains("DSN"));
    assertEquals("555 5.5.4 Unsupported parameter RET\r\n", send("MAIL FROM:<a@x.test> RET=HDRS\r\n"));
    assertEquals("555 5.5.4 Unsupported parameter ENVID\r\n", send("MAIL FROM:<a@x.test> ENVID=QQ+2B1\r\n"));
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<a@x.test> BODY=8BITMIME SIZE=42\r\n"));
    assertEquals("555 5.5.4 Unsupported parameter NOTIFY\r\n", send("RCPT TO:<b@y.test> NOTIFY=NEVER\r\n"));
    assertEquals("555 5.5.4 Unsupported parameter ORCPT\r\n", send("RCPT TO:<b@y.test> ORCPT=rfc822;b@y.test\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<b@y.test>\r\n"));
  }

  /** After HELO no extension was offered: any MAIL or RCPT parameter is one the server does not know. */
  @Test
  void parametersAfterHeloAreRefused() {
    start();
    assertEquals("220 mx.test ESMTP\r\n", transport.take());
    assertEquals("250 mx.test\r\n", send("HELO client.test\r\n"));
    assertEquals("555 5.5.4 Unsupported parameter SIZE\r\n", send("MAIL FROM:<a@x.test> SIZE=42\r\n"));
    assertEquals("555 5.5.4 Unsupported parameter BODY\r\n", send("MAIL FROM:<a@x.test> BODY=8BITMIME\r\n"));
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<a@x.test>\r\n"));
    assertEquals("555 5.5.4 Unsupported parameter NOTIFY\r\n", send("RCPT TO:<b@y.test> NOTIFY=NEVER\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<b@y.test>\r\n"));
    // EHLO again: the extensions are offered, and their parameters taken
    send("EHLO client.test\r\n");
    assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<a@x.test> SIZE=42\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<b@y.test> NOTIFY=NEVER\r\n"));
    // and HELO again (an implied RSET): none offered any more
    assertEquals("250 mx.test\r\n", send("HELO client.test\r\n"));
    assertEquals("555 5.5.4 Unsupported parameter SIZE\r\n", send("MAIL FROM:<a@x.test> SIZE=42\r\n"));
  }

  @Test
  void tooManyRecipients() {
    start(new SmtpServerOptions().setServerName("mx.test").setMaxRecipients(2), handler);
    transport.take();
    assertEquals("250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            + "452 4.5.3 Error: too many recipients\r\n",
        send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<1@y.test>\r\nRCPT TO:<2@y.test>\r\n"
            + "RCPT TO:<3@y.test>\r\n"));
    send("DATA\r\nx\r\n.\r\n");
    assertEquals(2, handler.envelopes.get(0).recipients().size());
  }

  @Test
  void authLoginGuessesEndInTheSameWayDespiteTheChallengesBetweenThem() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setPlainTextAuthAllowed(true).setMaxConsecutiveErrors(3), handler);
    transport.take();
    send("EHLO c\r\n");
    String guess = "AUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("guess") + "\r\n";
    String round = "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n535 5.7.8 Authentication credentials invalid\r\n";
    assertEquals(round + round + round + "421 4.7.0 Error: too many errors, closing connection\r\n",
        send(guess) + send(guess) + send(guess));
    assertTrue(session.isClosed());
  }

  @Test
  void tooManyErrorsInARowCloses() {
    start(new SmtpServerOptions().setServerName("mx.test").setMaxConsecutiveErrors(3), handler);
    transport.take();
    assertEquals("500 5.5.2 Error: command not recognized\r\n250 2.0.0 Ok\r\n"
            + "500 5.5.2 Error: command not recognized\r\n"
            + "500 5.5.2 Error: command not recognized\r\n"
            + "500 5.5.2 Error: command not recognized\r\n"
            + "421 4.7.0 Error: too many errors, closing connection\r\n",
        send("X\r\nNOOP\r\nX\r\nX\r\nX\r\nNOOP\r\n"));
    assertTrue(transport.closed);
    assertTrue(session.isClosed());
    assertEquals("", send("NOOP\r\n"));
  }

  @Test
  void binaryGarbageGets500sAndNeverThrows() {
    start(new SmtpServerOptions().setServerName("mx.test").setMaxConsecutiveErrors(1000), handler);
    transport.take();
    Random random = new Random(42);
    byte[] garbage = new byte[200_000];
    random.nextBytes(garbage);
    for (int i = 0; i < garbage.length; i += 1 + random.nextInt(3000)) {
      session.feed(garbage, i, Math.min(garbage.length - i, 1 + random.nextInt(3000)));
    }
    String replies = send("\r\n");
    String[] lines = replies.split("\r\n");
    assertTrue(lines.length > 100, replies);
    for (String line : lines) {
      assertTrue(line.startsWith("500 5.5.2 "), line);
    }
    if (!session.isClosed()) {
      assertEquals("250 2.0.0 Ok\r\n", send("NOOP\r\n"));
    }
  }

  @Test
  void asyncHandlerHoldsInputUntilItAnswers() {
    List<CompletableFuture<SmtpReply>> pending = new ArrayList<>();
    SmtpSessionHandler slow = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onRcptTo(
          SessionInfo s, String forwardPath, Map<String, String> esmtpParams) {
        CompletableFuture<SmtpReply> f = new CompletableFuture<>();
        pending.add(f);
        return f;
      }
    };
    start(new SmtpServerOptions().setServerName("mx.test"), slow);
    transport.take();
    assertEquals("250 mx.test\r\n250 2.1.0 Ok\r\n",
        send("HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<1@y.test>\r\nRCPT TO:<2@y.test>\r\n"
            + "NOOP\r\n"));
    assertTrue(transport.paused);
    assertTrue(session.isAwaitingHandler());
    assertEquals(1, pending.size());
    assertEquals("", send("QUIT\r\n")); // buffered, not processed
    pending.get(0).complete(SmtpReply.RECIPIENT_OK);
    assertEquals("250 2.1.5 Ok\r\n", transport.take());
    assertEquals(2, pending.size());
    assertTrue(transport.paused);
    pending.get(1).complete(new SmtpReply(450, "4.2.0", "Mailbox busy"));
    assertEquals("450 4.2.0 Mailbox busy\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n", transport.take());
    assertTrue(transport.closed);
  }

  @Test
  void handlerFailuresBecomeTemporaryErrors() {
    SmtpSessionHandler broken = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onRcptTo(
          SessionInfo s, String forwardPath, Map<String, String> esmtpParams) {
        if (forwardPath.startsWith("throw")) {
          throw new IllegalStateException("boom");
        }
        return CompletableFuture.failedFuture(new IllegalStateException("database down"));
      }

      @Override
      public CompletionStage<SmtpReply> onMessage(SessionInfo s, Envelope e, byte[] m) {
        return null;
      }
    };
    start(new SmtpServerOptions().setServerName("mx.test"), broken);
    transport.take();
    send("HELO c\r\nMAIL FROM:<a@x.test>\r\n");
    String localError = "451 4.3.0 Requested action aborted: local error in processing\r\n";
    assertEquals(localError, send("RCPT TO:<throw@y.test>\r\n"));
    assertEquals(localError, send("RCPT TO:<fail@y.test>\r\n"));
    assertFalse(session.isClosed());
  }

  @Test
  void handler421ClosesTheConnection() {
    SmtpSessionHandler closing = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onMailFrom(
          SessionInfo s, String reversePath, Map<String, String> esmtpParams) {
        return CompletableFuture.completedFuture(SmtpReply.SERVICE_UNAVAILABLE);
      }
    };
    start(new SmtpServerOptions().setServerName("mx.test"), closing);
    transport.take();
    assertEquals("250 mx.test\r\n421 4.3.2 Service not available, closing transmission channel\r\n",
        send("HELO c\r\nMAIL FROM:<a@x.test>\r\nNOOP\r\n"));
    assertTrue(transport.closed);
  }

  @Test
  void refusedGreetingAnswers503UntilQuit() {
    SmtpSessionHandler refusing = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onConnect(SessionInfo s) {
        return CompletableFuture.completedFuture(
            new SmtpReply(554, null, "mx.test No SMTP service here"));
      }
    };
    start(new SmtpServerOptions().setServerName("mx.test"), refusing);
    assertEquals("554 mx.test No SMTP service here\r\n", transport.take());
    assertEquals("503 5.5.1 Error: service refused, send QUIT\r\n", send("EHLO c\r\n"));
    assertEquals("221 2.0.0 Bye\r\n", send("QUIT\r\n"));
    assertTrue(transport.closed);
  }

  @Test
  void inputBeforeTheGreetingWaitsForIt() {
    CompletableFuture<SmtpReply> greeting = new CompletableFuture<>();
    SmtpSessionHandler late = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onConnect(SessionInfo s) {
        return greeting;
      }
    };
    start(new SmtpServerOptions().setServerName("mx.test"), late);
    assertEquals("", send("HELO c\r\n"));
    greeting.complete(SmtpReply.greeting("mx.test"));
    assertEquals("220 mx.test ESMTP\r\n250 mx.test\r\n", transport.take());
  }

  @Test
  void startTlsRejectsPipelinedCommands() {
    start(new SmtpServerOptions().setServerName("mx.test")
        .setKeyCertOptions(new PemKeyCertOptions()), handler);
    transport.take();
    assertTrue(send("EHLO c\r\n").contains("STARTTLS\r\n"));
    assertEquals("554 5.5.1 Error: command pipelined after STARTTLS\r\n",
        send("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\n"));
    assertTrue(transport.closed);
    assertFalse(transport.tlsStarted);
  }

  @Test
  void startTlsThenPlaintextBeforeTheHandshakeCloses() {
    start(new SmtpServerOptions().setServerName("mx.test")
        .setKeyCertOptions(new PemKeyCertOptions()), handler);
    transport.take();
    send("EHLO c\r\n");
    assertEquals("220 2.0.0 Ready to start TLS\r\n", send("STARTTLS\r\n"));
    assertTrue(transport.tlsStarted);
    assertEquals("", send("MAIL FROM:<evil@x.test>\r\n"));
    assertTrue(transport.closed);
  }

  @Test
  void startTlsResetsTheSession() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setKeyCertOptions(new PemKeyCertOptions()), handler);
    transport.take();
    String common = "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n"
        + "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n";
    assertEquals(common + "250 STARTTLS\r\n", send("EHLO c\r\n"));
    send("STARTTLS\r\n");
    session.tlsEstablished();
    assertTrue(session.info().tls());
    assertNull(session.info().heloName());
    assertEquals("503 5.5.1 Error: send HELO/EHLO first\r\n", send("MAIL FROM:<a@x.test>\r\n"));
    assertEquals(common + "250 AUTH PLAIN LOGIN\r\n", send("EHLO c\r\n"));
    assertEquals("503 5.5.1 Error: TLS already active\r\n", send("STARTTLS\r\n"));
  }

  @Test
  void authPlainAndLogin() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setPlainTextAuthAllowed(true), handler);
    transport.take();
    send("EHLO c\r\n");
    assertEquals("535 5.7.8 Authentication credentials invalid\r\n",
        send("AUTH PLAIN " + b64("\0alice\0wrong") + "\r\n"));
    assertEquals("501 5.5.2 Invalid authentication response\r\n", send("AUTH PLAIN !!!\r\n"));
    assertEquals("501 5.5.2 Invalid authentication response\r\n",
        send("AUTH PLAIN " + b64("alice-no-nul") + "\r\n"));
    assertEquals("501 5.5.2 Invalid authentication response\r\n", send("AUTH PLAIN =\r\n"));
    assertEquals("334 \r\n", send("AUTH PLAIN\r\n"));
    assertEquals("501 5.0.0 Authentication cancelled\r\n", send("*\r\n"));
    assertEquals("504 5.5.4 Unrecognized authentication type\r\n", send("AUTH CRAM-MD5\r\n"));
    assertEquals("334 VXNlcm5hbWU6\r\n", send("AUTH LOGIN\r\n"));
    assertEquals("334 UGFzc3dvcmQ6\r\n", send(b64("alice") + "\r\n"));
    assertEquals("535 5.7.8 Authentication credentials invalid\r\n", send(b64("nope") + "\r\n"));
    assertEquals("334 UGFzc3dvcmQ6\r\n", send("AUTH LOGIN " + b64("alice") + "\r\n"));
    assertEquals("235 2.7.0 Authentication successful\r\n", send(b64("s3cret") + "\r\n"));
    assertEquals("alice", session.info().authenticatedUser());
    assertEquals("503 5.5.1 Error: already authenticated\r\n",
        send("AUTH PLAIN " + b64("\0alice\0s3cret") + "\r\n"));
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nx\r\n.\r\n");
    assertEquals("alice", handler.envelopes.get(0).authenticatedUser());
  }

  @Test
  void authPlainWithContinuationAndAuthzid() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setPlainTextAuthAllowed(true), handler);
    transport.take();
    send("EHLO c\r\n");
    assertEquals("334 \r\n", send("AUTH PLAIN\r\n"));
    assertEquals("235 2.7.0 Authentication successful\r\n",
        send(b64("admin\0alice\0s3cret") + "\r\n"));
    assertEquals(List.of("PLAIN admin alice"), handler.authCalls);
  }

  /** A recipient named twice in a transaction is taken once (as Postfix's cleanup and SES do). */
  @Test
  void aRecipientNamedTwiceIsTakenOnce() {
    start();
    ehlo();
    send("MAIL FROM:<a@x.test>\r\n");
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<b@y.test>\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<B@Y.test>\r\n"));
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<c@y.test>\r\n"));
    send("DATA\r\n");
    send("x\r\n.\r\n");
    assertEquals(List.of("b@y.test", "c@y.test"),
        handler.envelopes.get(0).recipients().stream().map(Recipient::address).toList());
  }

  /** Guessing recipients is not free: 20 refused without an accepted message, and the session closes. */
  @Test
  void refusedRecipientsCountUntilAMessageIsAccepted() {
    RecordingHandler refusing = new RecordingHandler() {
      @Override
      public CompletionStage<SmtpReply> onRcptTo(SessionInfo s, String to, Map<String, String> params) {
        return CompletableFuture.completedFuture(to.startsWith("nobody") ? new SmtpReply(550, "5.1.1", "User unknown")
            : to.startsWith("later") ? new SmtpReply(451, "4.3.0", "Try again later") : SmtpReply.RECIPIENT_OK);
      }
    };
    start(new SmtpServerOptions().setServerName("mx.test"), refusing);
    ehlo();
    send("MAIL FROM:<a@x.test>\r\n");
    for (int i = 0; i < 2 * SmtpServerSession.MAX_REFUSED_RECIPIENTS; i++) { // the server's "not now" is no guess
      assertEquals("451 4.3.0 Try again later\r\n", send("RCPT TO:<later" + i + "@y.test>\r\n"));
    }
    for (int i = 0; i < SmtpServerSession.MAX_REFUSED_RECIPIENTS - 1; i++) {
      assertEquals("550 5.1.1 User unknown\r\n", send("RCPT TO:<nobody" + i + "@y.test>\r\n"));
      assertEquals("250 2.0.0 Ok\r\n", send("NOOP\r\n"), "a good command does not wipe the count");
    }
    // a message accepted starts the count again
    assertTrue(send("RCPT TO:<real@y.test>\r\n").startsWith("250"));
    assertTrue(send("DATA\r\n").startsWith("354"));
    assertTrue(send("x\r\n.\r\n").startsWith("250"));
    send("MAIL FROM:<a@x.test>\r\n");
    for (int i = 0; i < SmtpServerSession.MAX_REFUSED_RECIPIENTS - 1; i++) {
      assertEquals("550 5.1.1 User unknown\r\n", send("RCPT TO:<nobody" + i + "@y.test>\r\n"));
    }
    assertEquals("550 5.1.1 User unknown\r\n421 4.7.0 Error: too many errors, closing connection\r\n",
        send("RCPT TO:<nobody-last@y.test>\r\n"));
    assertTrue(transport.closed);
  }

  /** RFC 4954 section 4: a response line of up to 12,288 octets is read; a longer one ends the exchange. */
  @Test
  void aLongAuthResponseIsReadAndATooLongOneEndsTheExchange() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setPlainTextAuthAllowed(true), handler);
    transport.take();
    send("EHLO c\r\n");
    assertEquals("334 \r\n", send("AUTH PLAIN\r\n"));
    assertEquals("535 5.7.8 Authentication credentials invalid\r\n",
        send(b64("\0alice\0" + "x".repeat(8000)) + "\r\n"));
    assertEquals("334 \r\n", send("AUTH PLAIN\r\n"));
    assertEquals("500 5.5.6 Authentication Exchange line is too long\r\n", send("A".repeat(13_000) + "\r\n"));
    assertEquals("250 2.0.0 Ok\r\n", send("NOOP\r\n"), "a command again, not an AUTH response");
  }

  /** RFC 4954 section 4: "=" is an empty initial response, for LOGIN as for PLAIN. */
  @Test
  void anEmptyInitialResponseIsEqualsSign() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setPlainTextAuthAllowed(true), handler);
    transport.take();
    send("EHLO c\r\n");
    assertEquals("334 UGFzc3dvcmQ6\r\n", send("AUTH LOGIN =\r\n"), "the password is asked for next");
  }

  /**
   * Commands that move no mail are limited, as Postfix's smtpd_junk_command_limit: a client that never logs in nor
   * sends cannot hold its connection for good with a NOOP every few minutes. A message accepted starts the count
   * again.
   */
  @Test
  void tooManyCommandsWithoutMailEndTheSession() {
    start();
    ehlo();
    for (int i = 0; i < 50; i++) {
      assertEquals("250 2.0.0 Ok\r\n", send("NOOP\r\n"));
      assertEquals("250 2.0.0 Ok\r\n", send("RSET\r\n"));
    }
    send("MAIL FROM:<a@x.test>\r\n");
    send("RCPT TO:<b@y.test>\r\n");
    send("DATA\r\n");
    assertTrue(send("Subject: s\r\n\r\nbody\r\n.\r\n").startsWith("250"));
    for (int i = 0; i < 100; i++) {
      assertTrue(send(i % 3 == 0 ? "HELP\r\n" : i % 3 == 1 ? "NOOP\r\n" : "VRFY x\r\n").startsWith("2"));
    }
    assertEquals("421 4.7.0 Error: too many commands without mail, closing connection\r\n", send("NOOP\r\n"));
    assertTrue(transport.closed);
  }

  /**
   * A transaction that went through DATA moved mail, whatever its answer: a pooled client whose messages are all
   * refused, an RSET after each, is not ended as idle (RFC 5321 4.1.1.5: RSET must not close the connection).
   */
  @Test
  void refusedMessagesWithAnRsetBetweenThemAreNotCommandsWithoutMail() {
    start(new SmtpServerOptions().setServerName("mx.test"), new RecordingHandler() {
      @Override
      public java.util.concurrent.CompletionStage<SmtpReply> onMessage(SessionInfo session, Envelope envelope,
          byte[] message) {
        return java.util.concurrent.CompletableFuture.completedFuture(
            new SmtpReply(554, "5.0.0", "Message rejected: Email address is not verified."));
      }
    });
    ehlo();
    for (int i = 0; i < 2 * SmtpServerOptions.DEFAULT_MAX_JUNK_COMMANDS; i++) {
      assertEquals("250 2.1.0 Ok\r\n", send("MAIL FROM:<a@x.test>\r\n"), "message " + i);
      send("RCPT TO:<b@y.test>\r\n");
      send("DATA\r\n");
      assertTrue(send("Subject: s\r\n\r\nbody\r\n.\r\n").startsWith("554 5.0.0"), "message " + i);
      assertEquals("250 2.0.0 Ok\r\n", send("RSET\r\n"), "message " + i);
    }
    assertFalse(transport.closed);
  }

  /**
   * An AUTH exchange cancelled with "*", answered with what is not base64 or with a line over 12,288 bytes, is a failed
   * login: its 334 challenge
   * would otherwise end the run of errors, and a client cancelling again and again would hold its slot for good.
   */
  @Test
  void cancelledLoginsCountAsFailedOnes() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true).setPlainTextAuthAllowed(true),
        handler);
    transport.take();
    send("EHLO c\r\n");
    for (int i = 1; i < SmtpServerOptions.DEFAULT_MAX_CONSECUTIVE_ERRORS; i++) {
      assertEquals("334 VXNlcm5hbWU6\r\n", send("AUTH LOGIN\r\n"), "exchange " + i);
      String reply = send(i % 3 == 0 ? "*\r\n" : i % 3 == 1 ? "!!!\r\n" : "x".repeat(13_000) + "\r\n");
      assertTrue(reply.startsWith("501 ") || reply.startsWith("500 "), reply);
      assertEquals("250 2.0.0 Ok\r\n", send("NOOP\r\n"));
    }
    assertEquals("334 \r\n", send("AUTH PLAIN\r\n"));
    assertEquals("501 5.0.0 Authentication cancelled\r\n421 4.7.0 Error: too many errors, closing connection\r\n", send("*\r\n"));
    assertTrue(transport.closed);
    assertTrue(handler.authCalls.isEmpty());
  }

  /** A greeting repeated (each answered 250) is a command without mail too; the one after STARTTLS is not. */
  @Test
  void repeatedGreetingsCountAsCommandsWithoutMail() {
    start();
    ehlo();
    for (int i = 0; i < SmtpServerOptions.DEFAULT_MAX_JUNK_COMMANDS; i++) {
      assertTrue(send("EHLO c\r\n").startsWith("250-"), "greeting " + i);
    }
    assertEquals("421 4.7.0 Error: too many commands without mail, closing connection\r\n", send("EHLO c\r\n"));
    assertTrue(transport.closed);
  }

  /** The greeting after STARTTLS is the session's first again: not counted. */
  @Test
  void theGreetingAfterStartTlsIsNotCounted() {
    start(new SmtpServerOptions().setServerName("mx.test").setKeyCertOptions(new PemKeyCertOptions()), handler);
    transport.take();
    send("EHLO c\r\n");
    send("STARTTLS\r\n");
    session.tlsEstablished();
    for (int i = 0; i <= SmtpServerOptions.DEFAULT_MAX_JUNK_COMMANDS; i++) { // the first, then 100 counted
      assertTrue(send("EHLO c\r\n").startsWith("250-"), "greeting " + i);
    }
    assertTrue(send("NOOP\r\n").startsWith("421 4.7.0 Error: too many commands without mail"),
        "the 100 after the first over TLS are the limit");
  }

  /**
   * Recipients past the limit are answered 452 (the client sends them later); a thousand more in the transaction (a
   * long list pipelined at once) are allowed, and past those each counts as a command without mail.
   */
  @Test
  void recipientsFarPastTheLimitCountAsCommandsWithoutMail() {
    start(new SmtpServerOptions().setServerName("mx.test").setMaxRecipients(2), handler);
    ehlo();
    send("MAIL FROM:<a@x.test>\r\n");
    send("RCPT TO:<b@y.test>\r\n");
    send("RCPT TO:<c@y.test>\r\n");
    int beyond = SmtpServerSession.MAX_RECIPIENT_OVERSHOOT + SmtpServerOptions.DEFAULT_MAX_JUNK_COMMANDS;
    for (int i = 0; i < beyond; i++) {
      assertEquals("452 4.5.3 Error: too many recipients\r\n", send("RCPT TO:<d" + i + "@y.test>\r\n"), "rcpt " + i);
    }
    assertEquals("421 4.7.0 Error: too many commands without mail, closing connection\r\n",
        send("RCPT TO:<last@y.test>\r\n"));
    assertTrue(transport.closed);
  }

  /** So is a recipient named again in a transaction: taken once, and counted. */
  @Test
  void aRecipientNamedAgainAndAgainCountsAsACommandWithoutMail() {
    start();
    ehlo();
    send("MAIL FROM:<a@x.test>\r\n");
    assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<b@y.test>\r\n"));
    for (int i = 0; i < SmtpServerOptions.DEFAULT_MAX_JUNK_COMMANDS; i++) {
      assertEquals("250 2.1.5 Ok\r\n", send("RCPT TO:<b@y.test>\r\n"), "again " + i);
    }
    assertEquals("421 4.7.0 Error: too many commands without mail, closing connection\r\n",
        send("RCPT TO:<b@y.test>\r\n"));
    assertTrue(transport.closed);
  }

  /**
   * A login the handler could not check (its database down, or too many failed from the client's address) counts as a
   * failed one: repeating AUTH on one connection ends in 421 all the same.
   */
  @Test
  void loginsThatCannotBeCheckedCountAsFailed() {
    RecordingHandler unchecked = new RecordingHandler() {
      @Override
      public CompletionStage<Boolean> onAuth(SessionInfo s, String mechanism, String authzid, String username,
          String password) {
        return CompletableFuture.failedFuture(new TemporaryRefusal("too many failed logins"));
      }
    };
    SmtpServerOptions options = new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setPlainTextAuthAllowed(true);
    start(options, unchecked);
    transport.take();
    send("EHLO c\r\n");
    String auth = "AUTH PLAIN " + b64("\0alice\0s3cret") + "\r\n";
    for (int i = 1; i < options.getMaxConsecutiveErrors(); i++) {
      assertEquals("454 4.7.0 Temporary authentication failure\r\n", send(auth), "attempt " + i);
      assertEquals("250 2.0.0 Ok\r\n", send("NOOP\r\n"), "a good command does not wipe the count");
    }
    assertEquals("454 4.7.0 Temporary authentication failure\r\n"
        + "421 4.7.0 Error: too many errors, closing connection\r\n", send(auth));
    assertTrue(transport.closed);
  }

  /** RFC 1870 allows 20 digits: a SIZE beyond what a long holds is too big, not a syntax error. */
  @Test
  void aHugeSizeIsTooBig() {
    start();
    ehlo();
    assertTrue(send("MAIL FROM:<a@x.test> SIZE=99999999999999999999\r\n").startsWith("552 5.3.4"));
    assertTrue(send("MAIL FROM:<a@x.test> SIZE=1000000000000000000\r\n").startsWith("552 5.3.4"));
    // 2^64 + 1: would wrap around to 1 in a long
    assertTrue(send("MAIL FROM:<a@x.test> SIZE=18446744073709551617\r\n").startsWith("552 5.3.4"));
    assertEquals("501 5.5.4 Invalid SIZE\r\n", send("MAIL FROM:<a@x.test> SIZE=999999999999999999999\r\n"));
  }

  @Test
  void authNeedsTlsUnlessAllowedAndIsRequiredWhenConfigured() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setAuthRequired(true)
        .setKeyCertOptions(new PemKeyCertOptions()), handler);
    transport.take();
    send("EHLO c\r\n");
    assertEquals("538 5.7.11 Encryption required for requested authentication mechanism\r\n",
        send("AUTH PLAIN " + b64("\0alice\0s3cret") + "\r\n"));
    assertEquals("530 5.7.0 Authentication required\r\n", send("MAIL FROM:<a@x.test>\r\n"));
  }

  @Test
  void authFailuresCountAsErrors() {
    start(new SmtpServerOptions().setServerName("mx.test").setAuthEnabled(true)
        .setPlainTextAuthAllowed(true).setMaxConsecutiveErrors(3), handler);
    transport.take();
    send("EHLO c\r\n");
    String bad = "AUTH PLAIN " + b64("\0alice\0guess") + "\r\n";
    String replies = send(bad + bad + bad);
    assertTrue(
        replies.endsWith("421 4.7.0 Error: too many errors, closing connection\r\n"), replies);
    assertTrue(transport.closed);
  }

  @Test
  void timeoutAndShutdown() {
    start();
    ehlo();
    session.timeout();
    assertEquals("421 4.4.2 mx.test Error: timeout exceeded\r\n", transport.take());
    assertTrue(transport.closed);
  }

  @Test
  void shutdownWaitsForTheMessageInProgress() {
    start();
    ehlo();
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\npart");
    session.shutdown();
    assertFalse(transport.closed);
    assertEquals("250 2.0.0 Ok: queued as M1\r\n"
        + "421 4.3.2 Server shutting down, closing connection\r\n", send("\r\n.\r\n"));
    assertTrue(transport.closed);
  }

  @Test
  void disconnectMidDataNeverCallsTheHandler() {
    start();
    ehlo();
    send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\npartial content\r\n");
    session.disconnected();
    send(".\r\n");
    assertTrue(handler.messages.isEmpty());
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
