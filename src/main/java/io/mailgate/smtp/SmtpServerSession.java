package io.mailgate.smtp;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The server side of one SMTP connection as a state machine: bytes in, reply bytes and handler
 * calls out (RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, DSN,
 * STARTTLS and AUTH PLAIN/LOGIN).
 *
 * <p>It exists so the protocol can be tested by feeding bytes, without sockets, and reused by
 * every SMTP role of Mailgate. It knows nothing about the network: input arrives through {@link
 * #feed} in chunks of any size, replies leave through {@link SmtpTransport}.
 *
 * <p>Commands are handled strictly in order. While a {@link SmtpSessionHandler} call is pending
 * the session buffers further input, asks the transport to pause, and carries on once the handler
 * answered; replies produced while working through one chunk of input leave in one write.
 *
 * <p>Not thread-safe: call it from one thread (the connection's event loop). Handler stages that
 * complete on another thread are brought back through the {@code executor} given at construction.
 */
public final class SmtpServerSession {

  private enum Phase {
    GREETING,
    COMMAND,
    DATA,
    AUTH_PLAIN,
    AUTH_LOGIN_USERNAME,
    AUTH_LOGIN_PASSWORD,
    TLS_HANDSHAKE,
    REFUSED,
    CLOSED
  }

  private static final int AUTH_LINE_LIMIT = 12_288;
  /** Refused recipients without an accepted message before the session closes (Postfix's default hard limit). */
  static final int MAX_REFUSED_RECIPIENTS = 20;

  /** Pipelined input held while a handler call is pending; only a flooding client reaches it. */
  private static final int MAX_BUFFERED_INPUT = 1 << 20;

  private static final byte[] NO_BYTES = new byte[0];

  private static final System.Logger LOG = System.getLogger(SmtpServerSession.class.getName());

  private final SmtpSessionConfig config;
  private final SmtpSessionHandler handler;
  private final SmtpTransport transport;
  private final Executor executor;
  private final ReplyWriter out = new ReplyWriter();
  private DataReader data;

  private SessionInfo info;
  private Phase phase = Phase.GREETING;
  private boolean awaiting;
  private boolean inlineWindow;
  private boolean driving;
  private boolean inputPaused;
  private boolean shutdownRequested;
  private boolean discardingLine;
  private final DataReader.Budget budget;
  private final java.util.function.BooleanSupplier messageRate;
  private int consecutiveErrors;
  /** Recipients the handler refused since the session's last accepted message. */
  private int refusedRecipients;
  private int authFailures;
  /** Commands that move no mail since the session's last accepted message ({@link #junk}). */
  private int junkCommands;
  /** RCPTs of this transaction beyond the recipient limit (answered 452). */
  private int recipientOvershoot;
  static final int MAX_RECIPIENT_OVERSHOOT = 1000;

  private byte[] input = NO_BYTES;
  private int inputLength;

  private String reversePath; // null: no transaction
  private MailParameters mailParameters;
  /** The client greeted with EHLO (and was offered extensions), not HELO: MAIL and RCPT may take parameters. */
  private boolean extensionsOffered;
  private final List<Recipient> recipients = new ArrayList<>(4);
  private String loginUsername;

  /**
   * @param info the connection as known at accept time (TLS already on for implicit TLS)
   * @param executor runs handler completions that arrive on another thread (or later) on the
   *     session's thread
   */
  public SmtpServerSession(
      SmtpSessionConfig config,
      SessionInfo info,
      SmtpSessionHandler handler,
      SmtpTransport transport,
      Executor executor) {
    this(config, info, handler, transport, executor, DataReader.Budget.UNLIMITED, () -> true);
  }

  /**
   * @param budget the message content this session may hold, shared with the other sessions of its address
   * @param messageRate counts a message the client starts, and says whether it may: false once it has started as many
   *     as its rate allows in its minute (over all its connections)
   */
  SmtpServerSession(
      SmtpSessionConfig config,
      SessionInfo info,
      SmtpSessionHandler handler,
      SmtpTransport transport,
      Executor executor,
      DataReader.Budget budget,
      java.util.function.BooleanSupplier messageRate) {
    this.budget = Objects.requireNonNull(budget, "budget");
    this.messageRate = Objects.requireNonNull(messageRate, "messageRate");
    this.config = Objects.requireNonNull(config, "config");
    this.info = Objects.requireNonNull(info, "info");
    this.handler = Objects.requireNonNull(handler, "handler");
    this.transport = Objects.requireNonNull(transport, "transport");
    this.executor = Objects.requireNonNull(executor, "executor");
  }

  /** Asks the handler for the greeting and sends it; call once, before any {@link #feed}. */
  public void start() {
    start(null);
  }

  /** {@link #start()} on a connection under TLS from its first byte, in {@code tlsProtocol} (null: not known). */
  public void start(String tlsProtocol) {
    if (phase != Phase.GREETING || awaiting) {
      throw new IllegalStateException("session already started");
    }
    if (tlsProtocol != null && info.tls()) {
      info = info.withTlsProtocol(tlsProtocol);
    }
    call(() -> handler.onConnect(info), this::greeted);
    drive();
  }

  /** Input from the client, exactly as received; the bytes are not kept after the call. */
  public void feed(byte[] bytes, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, bytes.length);
    if (phase == Phase.CLOSED || length == 0) {
      return;
    }
    if (inputLength == 0 && !awaiting && !driving) {
      // the common case: work straight from the caller's bytes, keep only an unfinished line
      int end = offset + length;
      driving = true;
      try {
        int pos = process(bytes, offset, end);
        if (pos < end && phase != Phase.CLOSED) {
          appendInput(bytes, pos, end - pos);
        }
      } finally {
        driving = false;
      }
      settle();
    } else {
      appendInput(bytes, offset, length);
      drive();
    }
  }

  /** The TLS handshake requested through {@link SmtpTransport#startTls} succeeded, its protocol not known. */
  public void tlsEstablished() {
    tlsEstablished(null);
  }

  /** The TLS handshake requested through {@link SmtpTransport#startTls} succeeded, in {@code protocol}. */
  public void tlsEstablished(String protocol) {
    if (phase != Phase.TLS_HANDSHAKE) {
      return;
    }
    // RFC 3207 section 4.2: forget everything learnt before the handshake
    info = info.afterTlsUpgrade(protocol);
    resetTransaction();
    inputLength = 0;
    discardingLine = false;
    phase = Phase.COMMAND;
    drive();
  }

  /** The client was idle too long: 421 4.4.2 and close. */
  public void timeout() {
    if (phase == Phase.CLOSED) {
      return;
    }
    if (phase == Phase.TLS_HANDSHAKE) {
      close();
      return;
    }
    closeWith(new SmtpReply(421, "4.4.2", config.serverName() + " Error: timeout exceeded"));
  }

  /**
   * The server is going down: close with 421 4.3.2 now if the session waits for a command,
   * otherwise as soon as the message or handler call in progress has been answered.
   */
  public void shutdown() {
    shutdownRequested = true;
    if (!driving) {
      settle();
    }
  }

  /** The connection is gone; a pending handler answer will be dropped. */
  public void disconnected() {
    phase = Phase.CLOSED;
    releaseBuffers();
  }

  /** Whether the client is sending message content (the DATA timeout applies). */
  public boolean isReceivingData() {
    return phase == Phase.DATA;
  }

  /** Whether the session waits for its handler (no client timeout applies). */
  public boolean isAwaitingHandler() {
    return awaiting;
  }

  public boolean isClosed() {
    return phase == Phase.CLOSED;
  }

  /** The connection as currently known. */
  public SessionInfo info() {
    return info;
  }

  // ---------------------------------------------------------------- input

  private void drive() {
    if (driving) {
      return;
    }
    driving = true;
    try {
      if (inputLength > 0 && !awaiting && phase != Phase.CLOSED) {
        consumeInput(process(input, 0, inputLength));
      }
    } finally {
      driving = false;
    }
    settle();
  }

  /** After a batch of work: shut down if asked and idle, send the replies, adjust input flow. */
  private void settle() {
    if (shutdownRequested && !awaiting && isBetweenCommands()) {
      closeWith(Replies.SHUTTING_DOWN);
    }
    out.flushTo(transport);
    if (phase == Phase.CLOSED) {
      return;
    }
    boolean pause = awaiting;
    if (pause != inputPaused) {
      inputPaused = pause;
      if (pause) {
        transport.pauseInput();
      } else {
        transport.resumeInput();
      }
    }
  }

  /** Works through {@code buf[pos, end)}; returns how far it got (an unfinished line stays). */
  private int process(byte[] buf, int pos, int end) {
    while (pos < end && !awaiting) {
      switch (phase) {
        case DATA -> {
          int after = data.consume(buf, pos, end);
          if (after < 0) {
            return end;
          }
          pos = after;
          endOfData();
        }
        case COMMAND, AUTH_PLAIN, AUTH_LOGIN_USERNAME, AUTH_LOGIN_PASSWORD, REFUSED -> {
          int next = line(buf, pos, end);
          if (next == pos) {
            return pos;
          }
          pos = next;
        }
        case TLS_HANDSHAKE -> {
          // plaintext where the TLS handshake belongs: a command injection attempt
          close();
          return end;
        }
        default -> {
          return end;
        }
      }
    }
    return pos;
  }

  /** Handles one line if complete; returns the index after it, or {@code pos} if unfinished. */
  private int line(byte[] buf, int pos, int end) {
    int lf = -1;
    int bits = 0;
    for (int i = pos; i < end; i++) {
      byte b = buf[i];
      if (b == '\n') {
        lf = i;
        break;
      }
      bits |= b;
    }
    boolean auth = phase == Phase.AUTH_PLAIN || phase == Phase.AUTH_LOGIN_USERNAME
        || phase == Phase.AUTH_LOGIN_PASSWORD;
    // RFC 4954 section 4: an AUTH response line may be up to 12,288 octets
    int limit = auth ? Math.max(AUTH_LINE_LIMIT, config.maxCommandLineLength()) : config.maxCommandLineLength();
    if (lf < 0) {
      if (discardingLine || end - pos >= limit) {
        discardingLine = true; // never buffer an over-long line; answer once its end arrives
        return end;
      }
      return pos;
    }
    int next = lf + 1;
    if (discardingLine || next - pos > limit) {
      discardingLine = false;
      if (auth) { // the exchange is over, without credentials to check: a failed login, as a cancelled one
        phase = Phase.COMMAND;
        loginUsername = null;
        authAbandoned(Replies.AUTH_LINE_TOO_LONG);
      } else {
        protocolError(Replies.LINE_TOO_LONG);
      }
      return next;
    }
    int lineEnd = lf > pos && buf[lf - 1] == '\r' ? lf - 1 : lf;
    boolean ascii = bits >= 0; // a byte >= 0x80 is negative and sets the sign bit
    switch (phase) {
      case COMMAND -> command(buf, pos, lineEnd, ascii, next < end);
      case REFUSED -> refusedCommand(buf, pos, lineEnd);
      default -> authResponse(new String(buf, pos, lineEnd - pos, StandardCharsets.ISO_8859_1));
    }
    return next;
  }

  private void appendInput(byte[] bytes, int offset, int length) {
    if (inputLength + length > MAX_BUFFERED_INPUT) {
      closeWith(Replies.TOO_MUCH_INPUT);
      return;
    }
    if (inputLength + length > input.length) {
      input = Arrays.copyOf(input, Math.max(inputLength + length, Math.max(256, input.length * 2)));
    }
    System.arraycopy(bytes, offset, input, inputLength, length);
    inputLength += length;
  }

  private void consumeInput(int consumed) {
    if (phase == Phase.CLOSED || consumed >= inputLength) {
      inputLength = 0;
    } else if (consumed > 0) {
      System.arraycopy(input, consumed, input, 0, inputLength - consumed);
      inputLength -= consumed;
    }
    if (inputLength == 0 && input.length > 64 * 1024) {
      input = NO_BYTES;
    }
  }

  // ---------------------------------------------------------------- commands

  private void command(byte[] buf, int start, int end, boolean ascii, boolean moreInput) {
    int verbEnd = start;
    while (verbEnd < end && buf[verbEnd] != ' ') {
      verbEnd++;
    }
    Command command = Command.parse(buf, start, verbEnd);
    if (command == null) {
      protocolError(Replies.UNKNOWN_COMMAND);
      return;
    }
    String args;
    try {
      args = decode(buf, verbEnd, end, ascii);
    } catch (CharacterCodingException e) {
      protocolError(Replies.INVALID_UTF8);
      return;
    }
    switch (command) {
      case EHLO, HELO -> {
        // a greeting again (not the one after STARTTLS, which forgets the first) moves no mail either: a client
        // repeating EHLO, each answered 250, must not hold its connection slot for good
        if (info.heloName() == null || !junk()) {
          helo(command == Command.EHLO, args, ascii);
        }
      }
      case MAIL -> mail(args);
      case RCPT -> rcpt(args);
      case DATA -> data(args);
      case RSET -> {
        if (junk()) {
          return;
        } else if (!args.isBlank()) {
          protocolError(syntax("RSET"));
        } else {
          resetTransaction();
          reply(SmtpReply.OK);
        }
      }
      case NOOP -> {
        if (!junk()) {
          reply(SmtpReply.OK);
        }
      }
      case QUIT -> closeWith(Replies.BYE);
      case VRFY -> {
        if (junk()) {
          return;
        } else if (args.isBlank()) {
          protocolError(syntax("VRFY address"));
        } else {
          reply(Replies.CANNOT_VRFY);
        }
      }
      case HELP -> {
        if (!junk()) {
          reply(Replies.HELP);
        }
      }
      case STARTTLS -> startTls(args, moreInput);
      case AUTH -> auth(args);
      case EXPN, BDAT -> protocolError(Replies.NOT_IMPLEMENTED);
    }
  }

  /**
   * Counts a command that moves no mail (RSET, NOOP, VRFY, HELP, a repeated HELO or EHLO, a recipient named again, one
   * far past the recipient limit), as Postfix's {@code smtpd_junk_command_limit}: past
   * {@link SmtpSessionConfig#maxJunkCommands} of them since the session's last message, the session ends (421), and
   * true is returned. They are answered without an error and reset the command timeout, so without a limit a client
   * that never logs in or sends could hold a connection slot for good.
   */
  private boolean junk() {
    if (++junkCommands > config.maxJunkCommands()) {
      closeWith(Replies.TOO_MANY_JUNK_COMMANDS);
      return true;
    }
    return false;
  }

  private void refusedCommand(byte[] buf, int start, int end) {
    int verbEnd = start;
    while (verbEnd < end && buf[verbEnd] != ' ') {
      verbEnd++;
    }
    if (Command.parse(buf, start, verbEnd) == Command.QUIT) {
      closeWith(Replies.BYE);
    } else {
      protocolError(Replies.REFUSED_SEND_QUIT);
    }
  }

  private void helo(boolean extended, String args, boolean ascii) {
    String domain = firstToken(args);
    if (domain.isEmpty() || !ascii || !isPrintable(domain)) {
      protocolError(syntax(extended ? "EHLO hostname" : "HELO hostname"));
      return;
    }
    call(() -> handler.onHelo(info, domain), (reply, error) -> {
      if (error != null) {
        handlerReply(SmtpReply.LOCAL_ERROR);
      } else if (!reply.isPositive()) {
        handlerReply(reply);
      } else {
        resetTransaction(); // RFC 5321 section 4.1.4: HELO/EHLO implies RSET
        info = info.withHelo(domain);
        extensionsOffered = extended;
        reply(extended ? ehloReply() : new SmtpReply(250, null, config.serverName()));
      }
    });
  }

  private SmtpReply ehloReply() {
    List<String> lines = new ArrayList<>(10);
    lines.add(config.serverName());
    lines.add("PIPELINING");
    lines.add("SIZE " + config.maxMessageSize());
    lines.add("8BITMIME");
    if (config.smtpUtf8()) {
      lines.add("SMTPUTF8");
    }
    lines.add("ENHANCEDSTATUSCODES");
    if (config.dsn()) {
      lines.add("DSN");
    }
    if (config.startTlsAvailable() && !info.tls()) {
      lines.add("STARTTLS");
    }
    if (config.authEnabled() && (info.tls() || config.plainTextAuthAllowed())) {
      lines.add("AUTH PLAIN LOGIN");
    }
    return new SmtpReply(250, null, lines);
  }

  private void mail(String args) {
    if (info.heloName() == null) {
      protocolError(Replies.NEED_HELO);
      return;
    }
    if (reversePath != null) {
      protocolError(Replies.NESTED_MAIL);
      return;
    }
    if (config.tlsRequired() && !info.tls()) {
      protocolError(Replies.TLS_REQUIRED);
      return;
    }
    if (config.authRequired() && info.authenticatedUser() == null) {
      protocolError(Replies.AUTH_REQUIRED);
      return;
    }
    PathSyntax.PathArgument path;
    MailParameters params;
    try {
      path = PathSyntax.mailFrom(args);
      refuseParametersAfterHelo(path);
      params = PathSyntax.mailParameters(
          path.params(), config.maxMessageSize(), config.authEnabled(), config.smtpUtf8(), config.dsn());
      if (!params.smtpUtf8() && PathSyntax.isInternational(path.address())) {
        throw new SmtpSyntaxException(PathSyntax.needsSmtpUtf8());
      }
    } catch (SmtpSyntaxException e) {
      protocolError(e.reply());
      return;
    }
    if (!messageRate.getAsBoolean()) {
      protocolError(new SmtpReply(450, "4.7.1", "Error: too much mail from " + info.remoteAddress().getHostString()));
      return;
    }
    call(() -> handler.onMailFrom(info, path.address(), params.all()), (reply, error) -> {
      if (error != null) {
        handlerReply(SmtpReply.LOCAL_ERROR);
        return;
      }
      if (reply.isPositive()) {
        reversePath = path.address();
        mailParameters = params;
      }
      handlerReply(reply);
    });
  }

  /** After HELO no extension was offered, so no parameter is one this server knows (RFC 5321 section 4.1.1.11). */
  private void refuseParametersAfterHelo(PathSyntax.PathArgument path) throws SmtpSyntaxException {
    if (!extensionsOffered && !path.params().isEmpty()) {
      throw PathSyntax.unsupported(path.params().keySet().iterator().next());
    }
  }

  private void rcpt(String args) {
    if (reversePath == null) {
      protocolError(Replies.NEED_MAIL);
      return;
    }
    if (recipients.size() >= config.maxRecipients()) {
      // RFC 5321 section 4.5.3.1.10: a temporary failure, the client sends the rest later; past
      // MAX_RECIPIENT_OVERSHOOT more in the transaction (Postfix's smtpd_recipient_overshoot_limit: a client may
      // pipeline a long list at once), each is a command without mail, or repeating RCPT would hold the slot for good
      if (++recipientOvershoot > MAX_RECIPIENT_OVERSHOOT && junk()) {
        return;
      }
      reply(Replies.TOO_MANY_RECIPIENTS);
      return;
    }
    PathSyntax.PathArgument path;
    try {
      path = PathSyntax.rcptTo(args);
      refuseParametersAfterHelo(path);
      PathSyntax.checkRcptParameters(path.params(), config.dsn());
      if (!mailParameters.smtpUtf8() && PathSyntax.isInternational(path.address())) {
        throw new SmtpSyntaxException(PathSyntax.needsSmtpUtf8());
      }
    } catch (SmtpSyntaxException e) {
      protocolError(e.reply());
      return;
    }
    for (Recipient r : recipients) {
      if (r.address().equalsIgnoreCase(path.address())) {
        // already a recipient of this transaction: taken once (the message is delivered to it once, as Postfix's
        // cleanup and SES do), without asking the handler again; it moves no more mail, so it counts as junk
        if (!junk()) {
          reply(SmtpReply.RECIPIENT_OK);
        }
        return;
      }
    }
    call(() -> handler.onRcptTo(info, path.address(), path.params(), List.copyOf(recipients)), (reply, error) -> {
      if (error != null) {
        handlerReply(SmtpReply.LOCAL_ERROR);
        return;
      }
      if (reply.isPositive()) {
        recipients.add(new Recipient(path.address(), path.params()));
      }
      handlerReply(reply);
      // a client guessing addresses (harvesting, each guess a lookup) makes no mistake of protocol: its refused
      // recipients count on their own, until a message is accepted (Postfix's smtpd_hard_error_limit); a 4xx
      // ("not now", "in a transaction of its own") is the server's condition, not the client's guess
      if (reply.code() >= 500 && phase == Phase.COMMAND && ++refusedRecipients >= MAX_REFUSED_RECIPIENTS) {
        closeWith(Replies.TOO_MANY_ERRORS);
      }
    });
  }

  private void data(String args) {
    if (!args.isBlank()) {
      protocolError(syntax("DATA"));
    } else if (reversePath == null) {
      protocolError(Replies.NEED_MAIL);
    } else if (recipients.isEmpty()) {
      protocolError(Replies.NO_VALID_RECIPIENTS);
    } else {
      if (data == null) {
        data = new DataReader(config.maxMessageSize(), config.maxDataLineLength(), budget);
      }
      data.start(mailParameters.declaredSize());
      phase = Phase.DATA;
      reply(Replies.START_DATA);
    }
  }

  private void endOfData() {
    phase = Phase.COMMAND;
    if (data.oversized()) {
      data.release();
      resetTransaction();
      reply(Replies.MESSAGE_TOO_BIG);
      return;
    }
    if (data.overBudget()) {
      data.release();
      resetTransaction();
      reply(Replies.INSUFFICIENT_STORAGE); // the client tries again later, when other messages are done
      return;
    }
    DataReader.Taken taken = data.takeMessage();
    byte[] message = taken.message();
    Envelope envelope = new Envelope(reversePath, mailParameters, recipients, info.heloName(),
        info.remoteAddress(), info.tls(), info.authenticatedUser(), data.longLines(),
        data.bareLineFeeds(), info.tlsProtocol());
    SessionInfo session = info;
    resetTransaction(); // the transaction ends with the final reply, whatever it says
    // the copy counts until the handler is done with it, whether or not the session is still there to reply
    call(() -> {
      CompletionStage<SmtpReply> stage;
      try {
        stage = handler.onMessage(session, envelope, message);
      } catch (RuntimeException e) {
        budget.give(taken.held());
        throw e;
      }
      if (stage == null) {
        budget.give(taken.held());
        return null;
      }
      return stage.whenComplete((r, e) -> budget.give(taken.held()));
    }, (reply, error) -> {
      // a transaction that went through DATA moved mail, whatever its answer: a pooled client whose messages are
      // refused (a sender not verified yet), with an RSET between them, is not ended as idle
      junkCommands = 0;
      if (error == null && reply.isPositive()) {
        refusedRecipients = 0;
      }
      handlerReply(error != null ? SmtpReply.LOCAL_ERROR : reply);
    });
  }

  private void startTls(String args, boolean moreInput) {
    if (info.tls()) {
      protocolError(Replies.TLS_ALREADY_ACTIVE);
    } else if (!config.startTlsAvailable()) {
      protocolError(Replies.NOT_IMPLEMENTED);
    } else if (!args.isBlank()) {
      protocolError(syntax("STARTTLS"));
    } else if (moreInput) {
      // RFC 3207 section 5: STARTTLS ends a pipelined group; what follows it in plaintext must
      // not be executed after the handshake (the STARTTLS command injection attack)
      closeWith(Replies.PIPELINED_AFTER_STARTTLS);
    } else {
      phase = Phase.TLS_HANDSHAKE;
      resetTransaction();
      consecutiveErrors = 0;
      out.flushTo(transport); // earlier replies first, then the 220 goes out with the switch
      transport.startTls(Replies.READY_FOR_TLS_WIRE);
    }
  }

  // ---------------------------------------------------------------- AUTH (RFC 4954)

  private void auth(String args) {
    if (!config.authEnabled()) {
      protocolError(Replies.NOT_IMPLEMENTED);
      return;
    }
    if (info.heloName() == null) {
      protocolError(Replies.NEED_HELO);
      return;
    }
    if (info.authenticatedUser() != null) {
      protocolError(Replies.ALREADY_AUTHENTICATED);
      return;
    }
    if (reversePath != null) {
      protocolError(Replies.AUTH_IN_TRANSACTION);
      return;
    }
    if (!info.tls() && (config.tlsRequired() || !config.plainTextAuthAllowed())) {
      protocolError(Replies.AUTH_NEEDS_TLS);
      return;
    }
    String words = args.strip();
    int space = words.indexOf(' ');
    String mechanism = (space < 0 ? words : words.substring(0, space)).toUpperCase(Locale.ROOT);
    String initialResponse = space < 0 ? null : words.substring(space + 1).strip();
    if (mechanism.isEmpty() || initialResponse != null && initialResponse.indexOf(' ') >= 0) {
      protocolError(syntax("AUTH mechanism [initial-response]"));
      return;
    }
    switch (mechanism) {
      case "PLAIN" -> {
        if (initialResponse == null) {
          phase = Phase.AUTH_PLAIN;
          reply(Replies.AUTH_CHALLENGE_EMPTY);
        } else {
          byte[] response = base64(initialResponse.equals("=") ? "" : initialResponse);
          if (response != null) {
            plainCredentials(response);
          }
        }
      }
      case "LOGIN" -> {
        if (initialResponse == null) {
          phase = Phase.AUTH_LOGIN_USERNAME;
          reply(Replies.AUTH_CHALLENGE_USERNAME);
        } else {
          byte[] username = base64(initialResponse.equals("=") ? "" : initialResponse); // "=": empty (RFC 4954 4)
          if (username != null) {
            loginUsername = new String(username, StandardCharsets.UTF_8);
            phase = Phase.AUTH_LOGIN_PASSWORD;
            reply(Replies.AUTH_CHALLENGE_PASSWORD);
          }
        }
      }
      default -> protocolError(Replies.AUTH_UNKNOWN_MECHANISM);
    }
  }

  private void authResponse(String line) {
    Phase step = phase;
    phase = Phase.COMMAND;
    if (line.equals("*")) {
      loginUsername = null;
      authAbandoned(Replies.AUTH_CANCELLED);
      return;
    }
    byte[] response = base64(line);
    if (response == null) {
      loginUsername = null;
      return;
    }
    switch (step) {
      case AUTH_PLAIN -> plainCredentials(response);
      case AUTH_LOGIN_USERNAME -> {
        loginUsername = new String(response, StandardCharsets.UTF_8);
        phase = Phase.AUTH_LOGIN_PASSWORD;
        reply(Replies.AUTH_CHALLENGE_PASSWORD);
      }
      default -> {
        String username = loginUsername;
        loginUsername = null;
        verifyCredentials("LOGIN", null, username, new String(response, StandardCharsets.UTF_8));
      }
    }
  }

  /** RFC 4616: {@code [authzid] NUL authcid NUL passwd}. */
  private void plainCredentials(byte[] response) {
    int first = indexOf(response, 0, (byte) 0);
    int second = first < 0 ? -1 : indexOf(response, first + 1, (byte) 0);
    if (second < 0 || indexOf(response, second + 1, (byte) 0) >= 0) {
      authAbandoned(Replies.AUTH_BAD_RESPONSE);
      return;
    }
    String authzid = first == 0 ? null : new String(response, 0, first, StandardCharsets.UTF_8);
    String username = new String(response, first + 1, second - first - 1, StandardCharsets.UTF_8);
    String password = new String(response, second + 1, response.length - second - 1,
        StandardCharsets.UTF_8);
    verifyCredentials("PLAIN", authzid, username, password);
  }

  private void verifyCredentials(
      String mechanism, String authzid, String username, String password) {
    if (username.isEmpty()) {
      authFailed();
      return;
    }
    call(() -> handler.onAuth(info, mechanism, authzid, username, password), (accepted, error) -> {
      if (error != null) {
        // a login not checked (the database down, or too many failed from this address) counts as a failed one: a
        // client repeating AUTH on one connection meets the limit all the same
        if (++authFailures >= config.maxConsecutiveErrors()) {
          out.reply(Replies.AUTH_TEMPORARY_FAILURE);
          closeWith(Replies.TOO_MANY_ERRORS);
        } else {
          handlerReply(Replies.AUTH_TEMPORARY_FAILURE);
        }
      } else if (accepted) {
        info = info.withAuthenticatedUser(username);
        reply(Replies.AUTH_SUCCEEDED);
      } else {
        authFailed();
      }
    });
  }

  /**
   * Refused credentials. They are counted on their own as well as errors: the 334 challenges of AUTH LOGIN between two
   * guesses end a run of errors, and guessing passwords must still end in 421.
   */
  private void authFailed() {
    if (++authFailures >= config.maxConsecutiveErrors()) {
      out.reply(Replies.AUTH_FAILED);
      closeWith(Replies.TOO_MANY_ERRORS);
    } else {
      protocolError(Replies.AUTH_FAILED);
    }
  }

  /**
   * An exchange that ended without credentials to check (cancelled with "*", or a response that is not base64 or not
   * PLAIN's three fields) counts as a failed login: its 334 challenges answer below 400 and would end a run of errors,
   * so a client cancelling AUTH again and again would hold its connection slot for good, never logged in.
   */
  private void authAbandoned(SmtpReply reply) {
    if (++authFailures >= config.maxConsecutiveErrors()) {
      out.reply(reply);
      closeWith(Replies.TOO_MANY_ERRORS);
    } else {
      protocolError(reply);
    }
  }

  /** Decodes base64, answering 501 itself (a failed login) when it is not valid. */
  private byte[] base64(String text) {
    try {
      return Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException e) {
      authAbandoned(Replies.AUTH_BAD_RESPONSE);
      return null;
    }
  }

  // ---------------------------------------------------------------- handler calls

  private void greeted(SmtpReply reply, Throwable error) {
    if (error != null) {
      closeWith(SmtpReply.SERVICE_UNAVAILABLE);
    } else if (reply.closesConnection()) {
      closeWith(reply);
    } else {
      phase = reply.isPositive() ? Phase.COMMAND : Phase.REFUSED;
      out.reply(reply);
    }
  }

  /**
   * Calls the handler and continues with its answer: right away if the stage is already complete
   * (the common case), otherwise later on the session's thread, with input held until then.
   * A {@code null} answer counts as a failure.
   */
  private <T> void call(Supplier<CompletionStage<T>> invocation, BiConsumer<T, Throwable> then) {
    CompletionStage<T> stage;
    try {
      stage = Objects.requireNonNull(invocation.get(), "handler returned null");
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    awaiting = true;
    Thread caller = Thread.currentThread();
    inlineWindow = true;
    stage.whenComplete((value, error) -> {
      Throwable failure = error != null || value != null ? error : new NullPointerException(
          "handler completed with null");
      if (inlineWindow && Thread.currentThread() == caller) {
        resume(then, value, failure, true);
      } else {
        executor.execute(() -> resume(then, value, failure, false));
      }
    });
    inlineWindow = false;
  }

  private <T> void resume(BiConsumer<T, Throwable> then, T value, Throwable error, boolean inline) {
    awaiting = false;
    if (phase == Phase.CLOSED) {
      return;
    }
    if (error != null && !(error instanceof TemporaryRefusal)) {
      LOG.log(System.Logger.Level.WARNING, "SMTP handler failed in session " + info.id(), error);
    }
    try {
      then.accept(value, error);
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.ERROR, "SMTP session " + info.id() + " failed", e);
      closeWith(Replies.INTERNAL_ERROR);
    }
    if (!inline) {
      drive();
    }
  }

  // ---------------------------------------------------------------- replies and state

  /** A reply of the protocol itself; anything below 400 ends a run of errors. */
  private void reply(SmtpReply reply) {
    if (reply.code() < 400) {
      consecutiveErrors = 0;
    }
    out.reply(reply);
  }

  /** A reply from the handler; 421 closes the connection. */
  private void handlerReply(SmtpReply reply) {
    if (reply.closesConnection()) {
      closeWith(reply);
    } else {
      reply(reply);
    }
  }

  /** A client mistake; too many in a row and the session gives up on the client. */
  private void protocolError(SmtpReply reply) {
    out.reply(reply);
    if (++consecutiveErrors >= config.maxConsecutiveErrors()) {
      closeWith(Replies.TOO_MANY_ERRORS);
    }
  }

  private void closeWith(SmtpReply reply) {
    if (phase == Phase.CLOSED) {
      return;
    }
    out.reply(reply);
    close();
  }

  private void close() {
    phase = Phase.CLOSED;
    out.flushTo(transport);
    releaseBuffers();
    transport.close();
  }

  private void releaseBuffers() {
    input = NO_BYTES;
    inputLength = 0;
    if (data != null) {
      data.dispose(); // the session is over: its buffer goes back to the address's budget
    }
    resetTransaction();
  }

  private void resetTransaction() {
    reversePath = null;
    mailParameters = null;
    recipients.clear();
    recipientOvershoot = 0;
  }

  private boolean isBetweenCommands() {
    return switch (phase) {
      case COMMAND, REFUSED, AUTH_PLAIN, AUTH_LOGIN_USERNAME, AUTH_LOGIN_PASSWORD -> true;
      default -> false;
    };
  }

  private static SmtpReply syntax(String usage) {
    return new SmtpReply(501, "5.5.4", "Syntax: " + usage);
  }

  private static String decode(byte[] buf, int from, int to, boolean ascii)
      throws CharacterCodingException {
    if (from >= to) {
      return "";
    }
    if (ascii) {
      return new String(buf, from, to - from, StandardCharsets.ISO_8859_1);
    }
    return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(buf, from, to - from))
        .toString();
  }

  private static String firstToken(String args) {
    String s = args.strip();
    int space = s.indexOf(' ');
    return space < 0 ? s : s.substring(0, space);
  }

  private static boolean isPrintable(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= ' ' || c >= 0x7F) {
        return false;
      }
    }
    return true;
  }

  private static int indexOf(byte[] bytes, int from, byte value) {
    for (int i = from; i < bytes.length; i++) {
      if (bytes[i] == value) {
        return i;
      }
    }
    return -1;
  }
}
