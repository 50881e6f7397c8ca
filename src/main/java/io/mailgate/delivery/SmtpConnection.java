package io.mailgate.delivery;

import io.mailgate.delivery.dns.TlsaRecord;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One SMTP client connection (RFC 5321) on a Vert.x NetSocket: greeting, EHLO (HELO fallback),
 * opportunistic STARTTLS, AUTH PLAIN, then any number of single-recipient transactions. With
 * PIPELINING, MAIL, RCPT and DATA go in one write and their replies are read together, so a
 * transaction costs two round trips. Each transaction's result is the reply that decided it.
 *
 * <p>Used from one event loop only (its pool's verticle).
 */
final class SmtpConnection {

  /**
   * Connection settings shared by a pool. {@code dataTimeoutMs} is the wait for the reply to the final dot, from when
   * it has been written (RFC 5321 4.5.3.2.6); {@code dataBlockTimeoutMs} the most a block of the content may take to
   * be taken by the server while it is being written (4.5.3.2.5).
   */
  record Options(String heloName, long connectTimeoutMs, long commandTimeoutMs, long dataTimeoutMs,
      long dataBlockTimeoutMs, RelayTls relayTls) {}

  /** How STARTTLS is used on a connection. */
  enum TlsMode {
    /** Never (a server whose TLS is broken, retried in plain text). */
    NONE,
    /** When the server offers it. */
    OPPORTUNISTIC,
    /** Or the connection fails (TlsPolicy REQUIRE). */
    REQUIRED
  }

  /**
   * Where to connect: the host's name (for SNI, certificate checks and logs) and the address to dial; {@code relay}
   * when the operator named it (a smarthost), not an MX host found in DNS; {@code report}, for an MX host, the policy
   * its sessions are counted under for TLS reporting ({@link TlsReportCounts}), null for none.
   */
  record Endpoint(String host, String address, int port, boolean implicitTls, String username, String password,
      boolean relay, boolean mtaSts, List<TlsaRecord> tlsa, TlsReportCounts.Policy report) {
    Endpoint {
      tlsa = List.copyOf(tlsa);
    }

    Endpoint(String host, String address, int port, boolean implicitTls, String username, String password,
        boolean relay) {
      this(host, address, port, implicitTls, username, password, relay, false, List.of(), null);
    }

    /**
     * A DANE host: TLS or nothing, with a chain its usable TLSA records ({@link #tlsa}) stand for, or any if none of
     * them is usable (RFC 7672 2.2: authentic TLSA records promise TLS whatever they say).
     */
    boolean dane() {
      return !tlsa.isEmpty();
    }

    /**
     * An MX host of a domain whose MTA-STS policy is testing, its sessions reported: TLS opportunistic as without a
     * policy, its certificate and name checked as an enforced policy would, only for the report.
     */
    boolean stsTesting() {
      return report != null && !mtaSts && !dane() && report.type().equals("sts");
    }

    /** This endpoint, its sessions reported under {@code domain} (the policy the same). */
    Endpoint reportedFor(String domain) {
      TlsReportCounts.Policy p = report == null ? null : report.forDomain(domain);
      return p == report ? this : new Endpoint(host, address, port, implicitTls, username, password, relay, mtaSts,
          tlsa, p);
    }

    static Endpoint of(SmtpRoute route) {
      return new Endpoint(route.host(), route.host(), route.port(), route.implicitTls(), route.username(),
          route.password(), true);
    }

    static Endpoint mx(String host, String address, int port) {
      return new Endpoint(host, address, port, false, null, null, false);
    }

    /** An MX host without a policy, its sessions counted under {@code report}'s domain. */
    static Endpoint mx(String host, String address, int port, TlsReportCounts.Policy report) {
      return new Endpoint(host, address, port, false, null, null, false, false, List.of(), report);
    }

    /**
     * An MX host of a domain whose MTA-STS policy is enforced: TLS (STARTTLS) with a certificate valid for the host's
     * name, or nothing.
     */
    static Endpoint mxUnderMtaSts(String host, String address, int port, TlsReportCounts.Policy report) {
      return new Endpoint(host, address, port, false, null, null, false, true, List.of(), report);
    }

    /**
     * An MX host with TLSA records authentic in DNS (RFC 7672): TLS (STARTTLS) with a chain they stand for, or
     * nothing; before any MTA-STS policy of its domain's (RFC 8461 2).
     */
    static Endpoint mxUnderDane(String host, String address, int port, List<TlsaRecord> records,
        TlsReportCounts.Policy report) {
      return new Endpoint(host, address, port, false, null, null, false, false, records, report);
    }

    @Override
    public String toString() {
      return host + (address.equals(host) ? "" : "[" + address + "]") + ":" + port;
    }
  }

  /** A failure of the connection itself (not an SMTP reply): I/O error, timeout, TLS failure. */
  static class ConnectionFailure extends RuntimeException {
    ConnectionFailure(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The connection failed before the server answered any command of the transaction, so the message was not
   * delivered and the server decided nothing about it: it can go out on another connection at once.
   */
  static final class Unanswered extends ConnectionFailure {
    Unanswered(String message) {
      super(message);
    }
  }

  /**
   * The host failed the session under a transaction before any of the message's content went, so it cannot have taken
   * the message, and said or did something about this session rather than about the recipient: no reply to one of
   * the transaction's own commands within the command timeout ({@code timedOut}); a 421 to one of them ({@code reply})
   * other than the idle timeout's ({@link Unanswered}); or, under the connection's first transaction, the connection
   * lost or a reply that cannot be read (on a later one that is a server closing a connection it has had enough of:
   * {@link Unanswered}). Unlike {@link Unanswered} it is the host's doing: an attempt, counted, unless another host
   * takes the message (RFC 5321 5.1).
   */
  static final class SessionFailure extends ConnectionFailure {
    /** The 421 that ended the session; null when no reply did. */
    final SmtpResponse reply;
    /** No reply came within the command timeout: a new connection to the host would wait as long again. */
    final boolean timedOut;

    SessionFailure(String message, SmtpResponse reply, boolean timedOut) {
      super(message);
      this.reply = reply;
      this.timedOut = timedOut;
    }
  }

  /**
   * No reply came within its timeout. Only the reply at the head of the line times out: those pipelined behind it fail
   * as plain {@link ConnectionFailure}s, the server having said nothing yet about their commands.
   */
  static final class ReplyTimeout extends ConnectionFailure {
    ReplyTimeout(String message) {
      super(message);
    }
  }

  /**
   * The host does not serve us: it is left alone for a while ({@link HostHealth}), as one that cannot be connected to,
   * so that each new connection does not spend a timeout on it again; except a {@link GreetingRefused} with a 4yz, a
   * busy host that the throttle rules slow the site down for instead (SitePool).
   */
  static class HostFailure extends ConnectionFailure {
    HostFailure(String message) {
      super(message);
    }
  }

  /** The host could not be connected to at all: refused, unreachable or timed out (not a TLS or SMTP failure). */
  static final class Unreachable extends HostFailure {
    Unreachable(String message) {
      super(message);
    }
  }

  /**
   * Connected, but no greeting came within the command timeout (a tarpit, a hung server), or the connection closed
   * first, or what came was not SMTP.
   */
  static final class NoGreeting extends HostFailure {
    NoGreeting(String message) {
      super(message);
    }
  }

  /**
   * The server refuses service (perhaps asking us to slow down): its greeting was not 220, or it answered EHLO with a
   * 4yz (421 among them) or a 5yz that does not say EHLO is unknown to it.
   */
  static final class GreetingRefused extends HostFailure {
    final SmtpResponse greeting;

    GreetingRefused(Endpoint endpoint, String step, SmtpResponse greeting) {
      super(step + " from " + endpoint + ": " + greeting);
      this.greeting = greeting;
    }
  }

  /** The TLS handshake failed: in opportunistic mode the pool tries again without TLS. */
  static final class TlsFailure extends ConnectionFailure {
    TlsFailure(String message) {
      super(message);
    }
  }

  /** A reply waited for; {@code timeoutMs} changes while the content before it is being written ({@link #content}). */
  private static final class Expect {
    final Promise<SmtpResponse> promise;
    final String what;
    long timeoutMs;
    /** The message's content is being written: the timeout is the data block's, started again as each is taken. */
    boolean sending;

    Expect(Promise<SmtpResponse> promise, long timeoutMs, String what) {
      this.promise = promise;
      this.timeoutMs = timeoutMs;
      this.what = what;
    }
  }

  /** The content is written in blocks this large, each restarting the data block timeout once the server took it. */
  private static final int DATA_BLOCK = 64 * 1024;

  private final Vertx vertx;
  private final NetSocket socket;
  private final Options options;
  private final Endpoint route;
  private final TlsMode tls;
  private final ArrayDeque<Expect> expects = new ArrayDeque<>();
  private final StringBuilder partial = new StringBuilder();
  private final List<String> replyLines = new ArrayList<>();
  /** The reply being read: its lines read, the characters of those kept, whether some were left out, mixed codes. */
  private int replyLinesRead;
  private int replyChars;
  private boolean replyCut;
  private boolean replyMixed;

  /**
   * What is kept of a reply's text (as BounceClassifier reads at most): its lines from the first while they fit, and
   * its last line whole (a line is at most 4096 characters as read; the first one's text is cut to make room when it
   * must); the rest of its lines are read, to stay in step, and dropped. A reply of a thousand lines of 4 KB would otherwise be kept whole (4 MB), written to the recipient's
   * row and its events and read by the retry and throttle rules' patterns on the event loop. (An EHLO reply's
   * capabilities are a few hundred characters.)
   */
  static final int MAX_REPLY_TEXT = 4096;

  /** What ends a reply's text when some of it was left out. */
  static final String CUT = " [reply cut]";
  private final Set<String> extensions = new HashSet<>();
  /** The extensions each transaction asks about, read from {@link #extensions} once per EHLO. */
  private boolean pipelining;
  private boolean sizeExtension;
  private boolean eightBitMime;
  private boolean smtpUtf8;
  private boolean dsn;
  /** What a Delivery over this connection tags of it ({@link #outgoing()}), once read. */
  private AttemptResult.Outgoing outgoing;
  /** The SASL mechanisms the server offers (AUTH), upper case. */
  private final Set<String> authMechanisms = new HashSet<>();
  /** The timer that checks the deadline (-1: none), and when it fires (System.nanoTime()). */
  private long timer = -1;
  private long timerDue;
  /** When the reply at the head of the queue is overdue (System.nanoTime()); meaningless when none waits. */
  private long deadline;
  private boolean closed;
  private int transactions;
  private long lastUsed;
  /** When the last reply came (System.nanoTime()). */
  private long lastReply;
  /** STARTTLS was answered 220 in the read being parsed: what follows it in that read is not parsed. */
  private boolean plaintextEnded;
  /** How long a connection must have had nothing to do for a 421 to its next MAIL to be read as its idle timeout. */
  private static final long IDLE_NANOS = 1_000_000_000L;
  private long maxSize;
  /** Why this connection's TLS session failed, as an RFC 8460 result type, once {@link #secure} says it did. */
  private String tlsFailure;
  /** What happened to a session that failed, for its report. */
  private String tlsDetail;
  /** The node's TLS reporting counts, when the route's sessions are counted ({@link Endpoint#report}); else null. */
  private final TlsReportCounts reports;
  /**
   * The TLS session's outcome for reporting: null while unknown or not to be counted, empty when under TLS, else its
   * RFC 8460 result type (a connection in plain text after a failed handshake included).
   */
  private String tlsOutcome;
  /** Why the session failed the checks of its domain's testing MTA-STS policy (only reported); null if it did not. */
  private String testingFailure;
  /** The recipient domains this connection's session has been counted for. */
  private java.util.Set<String> countedFor;

  private SmtpConnection(Vertx vertx, NetSocket socket, Endpoint route, Options options, TlsMode tls) {
    this.vertx = vertx;
    this.socket = socket;
    this.route = route;
    this.options = options;
    // a relay whose certificate is verified, or a DANE host, gets TLS or nothing: falling back to plain text would undo
    // the check
    this.tls = options.relayTls().verifies(route) || route.dane() ? TlsMode.REQUIRED : tls;
    this.reports = route.report() == null ? null : TlsReportCounts.of(vertx);
    socket.handler(this::onData);
    socket.closeHandler(v -> onClosed("connection closed by " + route.host()));
    socket.exceptionHandler(e -> onClosed("connection error: " + e.getMessage())); // Vert.x then closes the socket
  }

  static Future<SmtpConnection> open(Vertx vertx, NetClient client, Endpoint route, Options options, TlsMode tls) {
    if (route.port() < 1 || route.port() > 65535) {
      // the client would throw on its event loop, outside this future: the attempt would never end, its lease renewed
      // for ever and its recipient left queued
      return Future.failedFuture(new ConnectionFailure("cannot connect to " + route + ": port " + route.port()
          + " is out of range"));
    }
    ConnectOptions co = new ConnectOptions().setHost(route.address()).setPort(route.port())
        .setTimeout((int) options.connectTimeoutMs());
    if (route.implicitTls()) {
      co.setSsl(true).setSslOptions(options.relayTls().options(route)).setSniServerName(route.host());
    }
    return client.connect(co)
        .recover(e -> Future.failedFuture(connectFailure(route, options, e)))
        .compose(socket -> {
          SmtpConnection c = new SmtpConnection(vertx, socket, route, options, tls);
          return c.handshake().map(c).recover(e -> {
            c.close();
            return Future.failedFuture(e);
          });
        });
  }

  private static ConnectionFailure connectFailure(Endpoint route, Options options, Throwable e) {
    if (hostUnreachable(root(e))) {
      return new Unreachable("cannot connect to " + route + ": " + e.getMessage());
    }
    return new ConnectionFailure("cannot connect to " + route + ": "
        + (route.implicitTls() && options.relayTls().verifies(route)
            ? rootMessage(e) + " (the certificate must be valid for " + route.host() + ": relay.tlsCaFile, relay.tlsVerify)"
            : e.getMessage()));
  }

  /**
   * Whether a connect failure is the host's (refused, unreachable, timed out), not this machine's: the native transport
   * reports local trouble (no ephemeral port left, a local firewall, no buffers) as a ConnectException too, and that
   * must not mark a remote host down.
   */
  static boolean hostUnreachable(Throwable root) {
    if (root instanceof io.netty.channel.ConnectTimeoutException || root instanceof java.net.NoRouteToHostException) {
      return true;
    }
    if (!(root instanceof java.net.ConnectException)) {
      return false;
    }
    String m = String.valueOf(root.getMessage()).toLowerCase(Locale.ROOT);
    return m.contains("refused") || m.contains("unreachable") || m.contains("no route") || m.contains("timed out");
  }

  private static Throwable root(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * The RFC 8460 result type of a failed handshake whose certificate was checked: an expired (or not yet valid)
   * certificate, a chain no trusted CA issued, a certificate that does not name the host, or another failure.
   */
  static String handshakeResult(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.security.cert.CertificateExpiredException
          || t instanceof java.security.cert.CertificateNotYetValidException) {
        return TlsReportCounts.CERTIFICATE_EXPIRED;
      }
    }
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.security.cert.CertPathBuilderException
          || t instanceof java.security.cert.CertPathValidatorException) {
        return TlsReportCounts.CERTIFICATE_NOT_TRUSTED;
      }
      String m = String.valueOf(t.getMessage());
      if (t instanceof java.security.cert.CertificateException
          && (m.startsWith("No subject alternative") || m.startsWith("No name matching"))) {
        return TlsReportCounts.CERTIFICATE_HOST_MISMATCH;
      }
    }
    return TlsReportCounts.VALIDATION_FAILURE;
  }

  /** The innermost cause's message: a certificate failure is several exceptions deep in a handshake failure. */
  private static String rootMessage(Throwable e) {
    Throwable t = root(e);
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }

  private Future<Void> handshake() {
    // RFC 5321 4.5.3.2.1: wait 5 minutes for the 220 (a server may delay it on purpose): the command timeout
    return expect(options.commandTimeoutMs(), "greeting")
        .recover(e -> Future.failedFuture(new NoGreeting("no greeting from " + route + ": " + e.getMessage())))
        .compose(greeting -> greeting.code() == 220 ? ehlo()
            : quitQuietly().transform(ar -> Future.failedFuture(new GreetingRefused(route, "greeting", greeting))))
        .compose(v -> startTls())
        .compose(v -> authenticate());
  }

  /**
   * EHLO, or HELO when the server does not know EHLO (RFC 5321 3.2, 4.1.4: 500, 502, 504, and 501 and 550 as some old
   * servers answer). Any other refusal, a 4yz above all (421: going away), is the server refusing service, as a
   * refused greeting is: a HELO session would only hide it, and would have no STARTTLS and no 8BITMIME.
   */
  private Future<Void> ehlo() {
    return command("EHLO " + options.heloName(), options.commandTimeoutMs()).compose(r -> {
      if (r.code() == 250) {
        parseExtensions(r);
        return Future.succeededFuture();
      }
      if (!ehloUnknown(r.code())) {
        return refused("EHLO reply", r);
      }
      extensions.clear();
      authMechanisms.clear();
      maxSize = 0;
      extensionsChanged();
      // the server refusing HELO too is refusing the session, as with EHLO: QUIT after a 5yz, the host set aside for
      // it, a 421 read by the throttle rules
      return command("HELO " + options.heloName(), options.commandTimeoutMs()).compose(h -> h.code() == 250
          ? Future.<Void>succeededFuture() : refused("HELO reply", h));
    });
  }

  /** A session refused by the reply to EHLO or HELO: QUIT (unless the server closes it, 421), and GreetingRefused. */
  private Future<Void> refused(String what, SmtpResponse r) {
    return (r.code() == 421 ? Future.<Void>succeededFuture() : quitQuietly())
        .transform(ar -> Future.failedFuture(new GreetingRefused(route, what, r)));
  }

  /** Whether an EHLO reply says the server does not know EHLO, so that HELO is the way in. */
  static boolean ehloUnknown(int code) {
    return code == 500 || code == 501 || code == 502 || code == 504 || code == 550;
  }

  private void parseExtensions(SmtpResponse r) {
    extensions.clear();
    authMechanisms.clear();
    maxSize = 0;
    // line 1 is the server's greeting text; each further line is "KEYWORD [params]", words apart by any run of spaces
    // (and AUTH=, as some old servers still write it, taken for AUTH)
    for (int i = 1; i < r.lines().size(); i++) {
      String[] words = r.lines().get(i).strip().split("[ \t]+");
      String keyword = words[0].toUpperCase(Locale.ROOT);
      if (keyword.startsWith("AUTH=")) {
        authMechanisms.add(keyword.substring(5));
        keyword = "AUTH";
      }
      extensions.add(keyword);
      if (keyword.equals("SIZE") && words.length > 1) {
        try {
          maxSize = Long.parseLong(words[1]);
        } catch (NumberFormatException ignored) {
          // no usable limit advertised
        }
      } else if (keyword.equals("AUTH")) {
        for (int w = 1; w < words.length; w++) {
          authMechanisms.add(words[w].toUpperCase(Locale.ROOT));
        }
      }
    }
    extensionsChanged();
  }

  boolean supports(String extension) {
    return extensions.contains(extension);
  }

  /** Whether the server takes 8-bit content (RFC 6152); without it, such a message goes converted to 7 bits. */
  boolean eightBitMime() {
    return eightBitMime;
  }

  private void extensionsChanged() {
    pipelining = supports("PIPELINING");
    sizeExtension = supports("SIZE");
    eightBitMime = supports("8BITMIME");
    smtpUtf8 = supports("SMTPUTF8");
    dsn = supports("DSN");
  }

  private Future<Void> startTls() {
    if (route.implicitTls() || tls == TlsMode.NONE) {
      if (tls == TlsMode.NONE && reports != null) {
        // plain text because its TLS handshake failed lately (TlsFallbacks): a failed session too
        tlsOutcome = TlsReportCounts.VALIDATION_FAILURE;
        tlsDetail = "plain text: TLS with " + route + " failed a little earlier (its handshake)";
      }
      return Future.succeededFuture();
    }
    Future<Boolean> secured = secure();
    if (reports != null) {
      secured.onComplete(done -> {
        if (done.succeeded()) {
          // counted for each domain whose mail the connection carries
          tlsOutcome = done.result() ? (testingFailure == null ? "" : testingFailure) : tlsFailure;
        } else {
          // the connection ends here: its session is its route's domain's
          tlsOutcome = tlsFailure == null ? TlsReportCounts.VALIDATION_FAILURE : tlsFailure;
          tlsDetail = done.cause().getMessage();
          countSessionFor(route.report().domain());
        }
      });
    }
    if (route.dane()) {
      secured.onComplete(done -> io.mailgate.metrics.Metrics.of(vertx).daneConnection(done.failed()
          ? io.mailgate.metrics.Metrics.DaneResult.FAILED : Dane.usable(route.tlsa()).isEmpty()
          ? io.mailgate.metrics.Metrics.DaneResult.ENCRYPTED : io.mailgate.metrics.Metrics.DaneResult.AUTHENTICATED));
    }
    return secured.compose(upgraded -> upgraded ? ehlo() : Future.succeededFuture());
  }

  /**
   * Counts this connection's TLS session for TLS reporting (RFC 8460) under a recipient domain whose mail it carries,
   * the first time it carries some: a session is the domain's when its mail went over it (a connection is shared by
   * the domains of a site), under the route's policy with the domain's name.
   */
  void countSessionFor(String domain) {
    if (reports == null || tlsOutcome == null) {
      return;
    }
    if (countedFor == null) {
      countedFor = new java.util.HashSet<>(4);
    }
    if (!countedFor.add(domain)) {
      return;
    }
    TlsReportCounts.Policy policy = route.report().forDomain(domain);
    if (tlsOutcome.isEmpty()) {
      reports.success(policy);
    } else {
      reports.failure(policy, tlsOutcome, socket.localAddress() == null ? "" : socket.localAddress().hostAddress(),
          route.host(), route.address(), tlsDetail);
    }
  }

  /**
   * STARTTLS, the handshake and the checks of the certificate the route asks for: true once under TLS, false when the
   * session goes on in plain text (TLS opportunistic, and not offered or refused).
   */
  private Future<Boolean> secure() {
    if (!supports("STARTTLS")) {
      tlsFailure = TlsReportCounts.STARTTLS_NOT_SUPPORTED;
      tlsDetail = "STARTTLS was not offered";
      return tls == TlsMode.REQUIRED
          ? Future.failedFuture(new ConnectionFailure("TLS is required but " + route + " does not offer STARTTLS"
              + (route.dane() ? " (it has DANE TLSA records)" : route.mtaSts()
                  ? " (its domain's MTA-STS policy is enforce)" : "")))
          : Future.succeededFuture(false);
    }
    return command("STARTTLS", options.commandTimeoutMs()).compose(r -> {
      if (r.code() != 220) {
        tlsFailure = TlsReportCounts.STARTTLS_NOT_SUPPORTED;
        tlsDetail = "STARTTLS was refused: " + r.code();
        return tls == TlsMode.REQUIRED
            ? Future.failedFuture(new ConnectionFailure("TLS is required but " + route + " refused STARTTLS: " + r))
            : Future.succeededFuture(false); // offered but refused: continue in plain text (opportunistic)
      }
      // an MX's certificate is verified only under its domain's MTA-STS policy (RelayTls says why); a relay's may be
      boolean verified = options.relayTls().verifies(route);
      tlsFailure = null;
      return socket.upgradeToSsl(options.relayTls().options(route), route.host())
          .onFailure(e -> tlsFailure = route.dane() ? TlsReportCounts.VALIDATION_FAILURE : handshakeResult(e))
          .recover(e -> Future.failedFuture(route.dane()
              ? new ConnectionFailure("TLS with " + route + " failed: " + rootMessage(e)
                  + " (it has DANE TLSA records)")
              : route.mtaSts()
              ? new ConnectionFailure("TLS with " + route + " failed: " + rootMessage(e) + " (its domain's MTA-STS "
                  + "policy requires a certificate valid for " + route.host() + ")")
              : verified
              ? new ConnectionFailure("TLS with relay " + route + " failed: " + rootMessage(e)
                  + " (the certificate must be valid for " + route.host() + ": relay.tlsCaFile, relay.tlsVerify)")
              : new TlsFailure("TLS handshake with " + route + " failed: " + e.getMessage())))
          .compose(v -> route.dane() ? standsForByTlsa() : route.mtaSts() ? namedByCertificate()
              : route.stsTesting() && reports != null && options.relayTls().mtaStsTrust() != null
              ? checkedForReport() : Future.succeededFuture())
          .map(true);
    });
  }

  /**
   * A DANE host: its TLSA records stand for the chain it presented ({@link Dane}), before anything is sent over it; one
   * whose records are all unusable is taken encrypted, unauthenticated (RFC 7672 2.2).
   */
  private Future<Void> standsForByTlsa() {
    List<TlsaRecord> usable = Dane.usable(route.tlsa());
    if (usable.isEmpty()) {
      return Future.succeededFuture();
    }
    String mismatch;
    try {
      mismatch = Dane.mismatch(socket.peerCertificates(), usable, route.host());
    } catch (javax.net.ssl.SSLPeerUnverifiedException | RuntimeException e) {
      mismatch = "no certificate to check (" + e.getMessage() + ")";
    }
    if (mismatch != null) {
      tlsFailure = TlsReportCounts.TLSA_INVALID;
    }
    return mismatch == null ? Future.succeededFuture() : Future.failedFuture(new ConnectionFailure("TLS with "
        + route + ": " + mismatch + " (DANE: its TLSA records are authentic in DNS, so its certificate must match "
        + "one of them)"));
  }

  /**
   * Under a testing MTA-STS policy, for its report only (RFC 8461 5: the mail goes whatever the result): the MX is
   * one the policy names, and its chain validates against the web PKI and names it, as under an enforced policy.
   */
  private Future<Void> checkedForReport() {
    String problem = null;
    String result = TlsReportCounts.VALIDATION_FAILURE;
    try {
      if (!new MtaStsPolicy(MtaStsPolicy.Mode.TESTING, route.report().mxHosts(), 0).matches(route.host())) {
        problem = route.host() + " is not an MX host the policy names";
      } else {
        List<java.security.cert.Certificate> chain = socket.peerCertificates();
        java.security.cert.X509Certificate[] x509 = chain.stream()
            .map(c -> (java.security.cert.X509Certificate) c).toArray(java.security.cert.X509Certificate[]::new);
        try {
          options.relayTls().mtaStsTrust().checkServerTrusted(x509, "UNKNOWN");
          if (!CertificateNames.valid(x509[0], route.host())) {
            result = TlsReportCounts.CERTIFICATE_HOST_MISMATCH;
            problem = "its certificate does not name " + route.host();
          }
        } catch (java.security.cert.CertificateException e) {
          result = handshakeResult(e);
          problem = "its certificate: " + rootMessage(e);
        }
      }
    } catch (javax.net.ssl.SSLPeerUnverifiedException | RuntimeException e) {
      problem = "no certificate to check (" + e.getMessage() + ")";
    }
    if (problem != null) {
      testingFailure = result;
      tlsDetail = "TLS with " + route + ": " + problem + " (its domain's MTA-STS policy is testing: delivered)";
    }
    return Future.succeededFuture();
  }

  /**
   * Under an MTA-STS policy: the MX's certificate names it by a DNS-ID ({@link CertificateNames}), beyond the chain and
   * name checks of the handshake, which would also take an IP address entry for the address dialled.
   */
  private Future<Void> namedByCertificate() {
    tlsFailure = TlsReportCounts.CERTIFICATE_HOST_MISMATCH; // unless it is
    try {
      java.security.cert.Certificate leaf = socket.peerCertificates().get(0);
      if (leaf instanceof java.security.cert.X509Certificate x509 && CertificateNames.valid(x509, route.host())) {
        tlsFailure = null;
        return Future.succeededFuture();
      }
      List<String> names = leaf instanceof java.security.cert.X509Certificate x509
          ? CertificateNames.dnsNames(x509) : List.of();
      String named = names.isEmpty() ? "no DNS name" : String.join(", ", names.subList(0, Math.min(5, names.size())))
          + (names.size() > 5 ? " and " + (names.size() - 5) + " more" : "");
      return Future.failedFuture(new ConnectionFailure("TLS with " + route + ": its certificate names "
          + named + ", not " + route.host()
          + " (its domain's MTA-STS policy requires a certificate valid for " + route.host() + ")"));
    } catch (javax.net.ssl.SSLPeerUnverifiedException | RuntimeException e) {
      return Future.failedFuture(new ConnectionFailure("TLS with " + route + ": no certificate to check ("
          + e.getMessage() + "; its domain's MTA-STS policy requires a certificate valid for " + route.host() + ")"));
    }
  }

  private Future<Void> authenticate() {
    if (route.username() == null) {
      return Future.succeededFuture();
    }
    if (!socket.isSsl() && !io.mailgate.NetAddresses.isLoopback(socket.remoteAddress())) {
      // RFC 4616 6 / RFC 3207 6: PLAIN only over a protected channel. Without TLS here (none offered, or stripped from
      // the EHLO reply by someone on the path, or a handshake that failed) the password is not sent.
      return Future.failedFuture(new ConnectionFailure("will not send the relay credentials to " + route
          + " in clear text: it offered no TLS (use smtps://, or a relay that offers STARTTLS)"));
    }
    if (!authMechanisms.contains("PLAIN")) {
      // the credentials go only to a mechanism the server offers: PLAIN (RFC 4954, 4616) is the one this client speaks
      return Future.failedFuture(new ConnectionFailure("relay " + route + " does not offer AUTH PLAIN ("
          + (authMechanisms.isEmpty() ? "it offers no AUTH" : "it offers AUTH " + String.join(" ", authMechanisms))
          + ")"));
    }
    String token = Base64.getEncoder().encodeToString(
        ("\0" + route.username() + "\0" + route.password()).getBytes(StandardCharsets.UTF_8));
    return command("AUTH PLAIN " + token, options.commandTimeoutMs())
        .compose(r -> {
          if (r.code() != 334) {
            return Future.succeededFuture(r);
          }
          // a server that does not take the initial response asks for it with an empty challenge (RFC 4954 4)
          write(token + "\r\n");
          return expect(options.commandTimeoutMs(), "AUTH");
        })
        .compose(r -> {
          if (r.code() == 235) {
            return Future.<Void>succeededFuture();
          }
          if (r.code() == 334) {
            close(); // a second challenge: PLAIN has no second step, and the exchange is not worth cancelling
          }
          return Future.failedFuture(new ConnectionFailure("authentication to " + route + " failed: " + r));
        });
  }

  /** The SIZE limit the server advertised, 0 when none. */
  long maxSize() {
    return maxSize;
  }

  boolean isTls() {
    return socket.isSsl();
  }

  /**
   * A transaction under way. {@code decided} fails with {@link ConnectionFailure} (the connection failed under it), or
   * with IllegalArgumentException for an envelope that cannot be written (a non-ASCII address: nothing was sent, and
   * the connection is as it was); every SMTP answer, good or bad, is a result, but a 421 before the content, which
   * ends the session rather than answer about the message ({@link SessionFailure}, or {@link Unanswered} for the idle
   * timeout's). {@code contentSent} completes when the
   * message has been written to a server that offers PIPELINING, and never otherwise: from then on the connection can
   * start the next transaction while this one waits for its reply (RFC 2920 3.1: message content may be the first
   * "command" of a group, so the next MAIL, RCPT and DATA follow the final dot in the same write).
   */
  record Transaction(Future<SmtpResponse> decided, Future<Void> contentSent) {}

  /**
   * Starts one transaction for one recipient. {@code data} is dot-stuffed and ends with CRLF; {@code eightBit} whether
   * it has 8-bit bytes (BODY=8BITMIME), {@code utf8Headers} whether a header section has, its own or a MIME part's
   * (RFC 6532: SMTPUTF8, when the server offers it).
   */
  Transaction send(String mailFrom, String rcpt, Buffer data, int size, boolean eightBit, boolean utf8Headers,
      String envelopeId) {
    StringBuilder mail = new StringBuilder(96).append("MAIL FROM:<").append(mailFrom).append('>');
    if (sizeExtension) {
      mail.append(" SIZE=").append(size);
    }
    if (eightBit && eightBitMime) {
      mail.append(" BODY=8BITMIME");
    }
    if (utf8Headers && smtpUtf8) {
      // RFC 6531 3.4: the message is an internationalized one; without SMTPUTF8 offered it goes as it is, with
      // 8BITMIME, as Postfix sends mail whose sender did not ask for SMTPUTF8 (README, Delivery)
      mail.append(" SMTPUTF8");
    }
    if (dsn && envelopeId != null) {
      // RFC 3461: a DSN from this server names our message and recipient
      mail.append(" RET=HDRS ENVID=").append(xtext(envelopeId));
    }
    mail.append("\r\n");
    String rcptLine = "RCPT TO:<" + rcpt + ">"
        + (dsn ? " NOTIFY=FAILURE,DELAY ORCPT=rfc822;" + xtext(rcpt) : "") + "\r\n";
    Buffer mailCmd;
    Buffer rcptCmd;
    try {
      mailCmd = ascii(mail);
      rcptCmd = ascii(rcptLine);
    } catch (IllegalArgumentException e) {
      // before anything is written, so that the connection stays in step for the next transaction
      return new Transaction(Future.failedFuture(e), Promise.<Void>promise().future());
    }
    long now = System.nanoTime();
    // a connection that sat idle with nothing outstanding: the server's idle timeout may meet this MAIL
    boolean idleBefore = transactions > 0 && expects.isEmpty() && now - lastReply > IDLE_NANOS;
    // nothing went before it on the connection: what becomes of the session is the host's doing, not the end of a
    // connection it has had enough of
    boolean first = transactions == 0;
    lastUsed = now;
    transactions++;
    Promise<Void> contentSent = Promise.promise();
    // set once DATA is answered 354 and the content goes out: until then the server cannot have taken the message
    boolean[] contentGoing = {false};
    Future<SmtpResponse> decided;
    Future<SmtpResponse> m;
    if (pipelining) {
      socket.write(Buffer.buffer(mailCmd.length() + rcptCmd.length() + 6).appendBuffer(mailCmd).appendBuffer(rcptCmd)
          .appendBuffer(DATA_COMMAND));
      m = expect(options.commandTimeoutMs(), "MAIL FROM");
      Future<SmtpResponse> r = expect(options.commandTimeoutMs(), "RCPT TO");
      Future<SmtpResponse> d = expect(options.commandTimeoutMs(), "DATA");
      // the first refusal decides; later replies may never come (a 421 closes the connection)
      decided = m.compose(mr -> !mr.isPositive()
          ? settled(r, d).compose(v -> refused(mr, d))
          : mr.code() >= 300 ? outOfStep(mr, "MAIL FROM")
          : r.compose(rr -> !rr.isPositive()
              ? settled(d).compose(v -> refused(rr, d))
              : rr.code() >= 300 ? outOfStep(rr, "RCPT TO")
              : d.compose(dr -> afterData(dr, data, contentSent, contentGoing))));
    } else {
      socket.write(mailCmd);
      m = expect(options.commandTimeoutMs(), "MAIL FROM");
      decided = m.compose(mr -> {
        if (!mr.isPositive()) {
          return reset(mr);
        }
        if (mr.code() >= 300) {
          return outOfStep(mr, "MAIL FROM");
        }
        socket.write(rcptCmd);
        return expect(options.commandTimeoutMs(), "RCPT TO").compose(rr -> {
          if (!rr.isPositive()) {
            return reset(rr);
          }
          if (rr.code() >= 300) {
            return outOfStep(rr, "RCPT TO");
          }
          return command("DATA", options.commandTimeoutMs()).compose(dr -> afterData(dr, data, null, contentGoing));
        });
      });
    }
    return new Transaction(decided.transform(ar -> {
      if (ar.succeeded() && ar.result().code() == 421) {
        close(); // the server is shutting this connection down
        if (idleBefore && m.succeeded() && m.result().code() == 421) {
          // its answer to our MAIL on a connection it had let idle: the idle timeout (or a restart) met our first
          // command, which says nothing of this recipient or of the site's rate; tried again, as unanswered (a
          // 421 to a MAIL that followed the last transaction at once is the server's word, and slows the site)
          return Future.failedFuture(new Unanswered("421 to MAIL FROM on a reused connection: " + ar.result()));
        }
        if (!contentGoing[0]) {
          // RFC 5321 3.8: the server closes the channel before it had the message; not its word on the recipient
          return Future.failedFuture(new SessionFailure(route + " ended the session: " + ar.result(), ar.result(),
              false));
        }
      }
      if (ar.failed() && ar.cause() instanceof ConnectionFailure f && !contentGoing[0]) {
        // no 354 to DATA, so the content was never sent and the server cannot have taken the message, whatever it
        // answered to MAIL and RCPT
        if (f instanceof ReplyTimeout) {
          // the server took our command and said nothing for the whole timeout: it is not serving this session
          return Future.failedFuture(new SessionFailure(f.getMessage(), null, true));
        }
        if (first && !(f instanceof Unanswered)) {
          return Future.failedFuture(new SessionFailure(f.getMessage(), null, false));
        }
        // e.g. the connection dropped under a transaction pipelined ahead of it, or a server closed an idle connection
        // as this one started, or one that had taken messages on it went away before answering DATA
        return Future.failedFuture(f instanceof Unanswered ? f : new Unanswered(f.getMessage()));
      }
      return ar.succeeded() ? Future.succeededFuture(ar.result()) : Future.failedFuture(ar.cause());
    }), contentSent.future());
  }

  private static final Buffer DATA_COMMAND = Buffer.buffer("DATA\r\n");
  private static final Buffer FINAL_DOT = Buffer.buffer(".\r\n");

  /** RFC 3461 xtext: printable ASCII except '+' and '=', the rest as +XX. */
  static String xtext(String s) {
    int i = 0;
    while (i < s.length() && s.charAt(i) >= 33 && s.charAt(i) <= 126 && s.charAt(i) != '+' && s.charAt(i) != '=') {
      i++;
    }
    if (i == s.length()) {
      return s; // the usual case (message ids, most addresses): nothing to encode
    }
    StringBuilder sb = new StringBuilder(s.length());
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (c >= 33 && c <= 126 && c != '+' && c != '=') {
        sb.append((char) c);
      } else {
        sb.append('+').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return sb.toString();
  }

  /** Completes when all the given replies arrived or failed, whichever. */
  @SafeVarargs
  private static Future<Void> settled(Future<SmtpResponse>... replies) {
    return Future.join(java.util.List.of(replies)).<Void>mapEmpty().otherwiseEmpty();
  }

  /**
   * The reply to DATA: 354 asks for the content; a refusal is the transaction's result; any other positive reply
   * (a 250 with no content sent) is a server out of step, not a delivery.
   */
  private Future<SmtpResponse> afterData(SmtpResponse dr, Buffer data, Promise<Void> sent, boolean[] contentGoing) {
    if (dr.code() == 354) {
      return content(data, sent, contentGoing);
    }
    return dr.isPositive() ? outOfStep(dr, "DATA") : reset(dr);
  }

  /**
   * Writes the message and the final dot; {@code sent} (null without PIPELINING) completes once they are queued for
   * writing. While they are written each block the server takes restarts the data block timeout (RFC 5321 4.5.3.2.5:
   * a slow receiver is not a dead one); the wait for the reply (4.5.3.2.6) starts when the final dot has been written,
   * not when a large message was queued. Only a 2yz after the final dot delivers (RFC 5321 4.2.1); a 3yz there is a
   * server out of step.
   */
  private Future<SmtpResponse> content(Buffer data, Promise<Void> sent, boolean[] going) {
    Future<SmtpResponse> reply = expect(options.dataBlockTimeoutMs(), "end of DATA");
    if (!closed) {
      going[0] = true;
      Expect e = expects.peekLast();
      e.sending = true;
      for (int at = 0; at < data.length(); at += DATA_BLOCK) {
        socket.write(data.slice(at, Math.min(data.length(), at + DATA_BLOCK))).onSuccess(v -> taken(e));
      }
      socket.write(FINAL_DOT).onSuccess(v -> {
        e.sending = false;
        e.timeoutMs = options.dataTimeoutMs();
        taken(e);
      });
    }
    if (sent != null) {
      sent.complete();
    }
    return reply.compose(r -> r.code() >= 300 && r.code() < 400 ? outOfStep(r, "end of DATA") : Future.succeededFuture(r));
  }

  /** A block of the content (or the final dot) was taken: the clock of the reply after it starts again. */
  private void taken(Expect e) {
    if (expects.peek() == e) {
      arm();
    }
  }

  /**
   * A positive reply where none of that kind belongs (3yz to MAIL or RCPT, 2yz to DATA, 3yz after the content): the
   * conversation cannot be trusted, so the connection ends and the attempt is a soft failure, tried again later,
   * rather than a delivery that never happened.
   */
  private Future<SmtpResponse> outOfStep(SmtpResponse r, String step) {
    close();
    return Future.failedFuture(new ConnectionFailure(route.host() + " answered " + step + " out of step: " + r));
  }

  /**
   * A pipelined transaction refused at MAIL or RCPT, once the later replies are in. A server should then refuse DATA
   * too (RFC 2920 3.1), but one that answers 354 is waiting for content: an empty message ends it, for no recipient,
   * before the RSET (as Postfix's client does), instead of an RSET it would read as content until the timeout.
   */
  private Future<SmtpResponse> refused(SmtpResponse decided, Future<SmtpResponse> data) {
    if (closed || !data.succeeded() || data.result().code() != 354) {
      return reset(decided);
    }
    socket.write(FINAL_DOT);
    return expect(options.dataTimeoutMs(), "end of DATA").transform(ar -> reset(decided));
  }

  /** After a refused transaction: RSET so the connection is clean for the next one. */
  private Future<SmtpResponse> reset(SmtpResponse decided) {
    if (decided.code() == 421 || closed) {
      return Future.succeededFuture(decided);
    }
    return command("RSET", options.commandTimeoutMs()).transform(ar -> {
      if (ar.failed() || ar.result().code() != 250) {
        close();
      }
      return Future.succeededFuture(decided);
    });
  }

  /** After a refused greeting: QUIT (RFC 5321 3.1 expects it), briefly, before the connection is closed. */
  private Future<Void> quitQuietly() {
    write("QUIT\r\n");
    return expect(2_000, "QUIT").<Void>mapEmpty().otherwiseEmpty();
  }

  /** The most {@link #quit} waits, whatever replies are still due before QUIT's. */
  static final long QUIT_MILLIS = 5_000;

  /**
   * QUIT, then the connection closed once it is answered or after {@link #QUIT_MILLIS}. The bound is on the whole
   * wait, not on QUIT's reply alone: a reply to a final dot pipelined before it may be due in ten minutes, and a
   * stopping node that has given up its attempts (their leases no longer renewed) does not wait for it.
   */
  Future<Void> quit() {
    if (closed) {
      return Future.succeededFuture();
    }
    long deadline = vertx.setTimer(QUIT_MILLIS, t -> close());
    return command("QUIT", QUIT_MILLIS).<Void>mapEmpty()
        .eventually(() -> {
          vertx.cancelTimer(deadline);
          return close();
        })
        .otherwiseEmpty();
  }

  Future<Void> close() {
    closed = true;
    return socket.close().otherwiseEmpty();
  }

  boolean isOpen() {
    return !closed;
  }

  int transactions() {
    return transactions;
  }

  long idleNanos() {
    return System.nanoTime() - lastUsed;
  }

  String remoteAddress() {
    return socket.remoteAddress() == null ? route.address() : socket.remoteAddress().hostAddress();
  }

  /**
   * The public address this connection left from and its TLS protocol, read at its first delivery (after STARTTLS,
   * while the connection is up) and kept.
   */
  AttemptResult.Outgoing outgoing() {
    if (outgoing == null) {
      io.vertx.core.net.SocketAddress local = socket.localAddress();
      javax.net.ssl.SSLSession tls = socket.isSsl() ? socket.sslSession() : null;
      outgoing = outgoing(local == null ? null : local.hostAddress(), tls == null ? null : tls.getProtocol());
    }
    return outgoing;
  }

  /**
   * What a Delivery's event tags of a connection from {@code localIp} in TLS {@code protocol}: the address only when it
   * is public (a private or loopback one, behind NAT or to a relay on the machine, is neither the address the recipient
   * saw nor anything to show a tenant's webhook), the protocol only once negotiated (the JDK says NONE before).
   */
  static AttemptResult.Outgoing outgoing(String localIp, String protocol) {
    java.net.InetAddress local = localIp == null ? null : io.mailgate.NetAddresses.literal(localIp);
    String ip = local != null && io.mailgate.NetAddresses.isPublic(local) ? localIp : null;
    return new AttemptResult.Outgoing(ip, protocol == null || protocol.equals("NONE") ? null : protocol);
  }

  Endpoint endpoint() {
    return route;
  }

  private Future<SmtpResponse> command(String line, long timeoutMs) {
    write(line + "\r\n");
    return expect(timeoutMs, line.startsWith("AUTH") ? "AUTH" : line);
  }

  private void write(String s) {
    socket.write(ascii(s));
  }

  /**
   * A command line, ending in its CRLF, as bytes. A character beyond ASCII cannot be written without SMTPUTF8 (and
   * this client writes addresses only as ASCII): it is refused, where an encoder would make it '?' and name another
   * mailbox. A control character before the line's end is refused too: no command has one (RFC 5321 4.1.2), and a CR
   * or LF would end the line there and put what follows to the server as a command of its own.
   */
  static Buffer ascii(CharSequence s) {
    byte[] bytes = new byte[s.length()];
    int end = bytes.length - 2;
    for (int i = 0; i < bytes.length; i++) {
      char c = s.charAt(i);
      if (c > 0x7f || i < end && (c < 0x20 || c == 0x7f)) {
        throw new IllegalArgumentException("cannot write '" + shown(s) + "': it has "
            + (c > 0x7f ? "a character beyond ASCII" : "a control character") + " (U+"
            + String.format("%04X", (int) c) + ")");
      }
      bytes[i] = (byte) c;
    }
    return Buffer.buffer(bytes);
  }

  /** A refused command line as a diagnostic may show it: AUTH without its credentials, control characters as '?'. */
  private static String shown(CharSequence s) {
    String line = s.toString().strip();
    return line.startsWith("AUTH") ? "AUTH" : line.replaceAll("\\p{Cntrl}", "?");
  }

  private Future<SmtpResponse> expect(long timeoutMs, String what) {
    if (closed) {
      return Future.failedFuture(new ConnectionFailure("connection to " + route + " is closed"));
    }
    Promise<SmtpResponse> p = Promise.promise();
    expects.add(new Expect(p, timeoutMs, what));
    if (expects.size() == 1) {
      arm();
    }
    return p.future();
  }

  /**
   * Starts the clock for the reply now at the head of the queue. Replies come several times per
   * message, so this only moves a deadline: one timer checks it when it falls due and sets itself
   * again for whatever is left, instead of a timer set and cancelled for every reply.
   */
  private void arm() {
    Expect head = expects.peek();
    if (head == null) {
      return; // the timer, if set, finds nothing waiting and stops
    }
    long now = System.nanoTime();
    deadline = now + head.timeoutMs * 1_000_000L;
    if (timer >= 0 && timerDue - deadline > 0) {
      vertx.cancelTimer(timer); // due after the new deadline (a shorter timeout than the last): set it earlier
      timer = -1;
    }
    if (timer < 0) {
      schedule(now, deadline);
    }
  }

  private void schedule(long now, long due) {
    timerDue = due;
    timer = vertx.setTimer(Math.max(1, (due - now + 999_999) / 1_000_000), id -> onTimer());
  }

  private void onTimer() {
    timer = -1;
    Expect head = expects.peek();
    if (closed || head == null) {
      return;
    }
    long now = System.nanoTime();
    if (now - deadline < 0) {
      schedule(now, deadline);
      return;
    }
    onClosed(head.sending
        ? "timeout after " + seconds(head.timeoutMs) + " with no part of the message taken by the server"
        : "timeout after " + seconds(head.timeoutMs) + " waiting for the reply to " + head.what, true);
    socket.close();
  }

  private static String seconds(long ms) {
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms / 1000.0 + "s";
  }

  /**
   * Reply lines as the server wrote them, less control characters other than tab: a reply's text
   * goes into the recipient's row and its events, and PostgreSQL refuses a NUL in text and in
   * jsonb. One NUL from a server would fail the whole batch of outcomes it was written with, every
   * time that recipient was tried.
   */
  private void onData(Buffer buf) {
    for (int i = 0; i < buf.length(); i++) {
      char c = (char) (buf.getByte(i) & 0xff);
      if (c == '\n') {
        onLine(partial.toString());
        partial.setLength(0);
        if (plaintextEnded) {
          // RFC 3207 section 5: what came in plain text after STARTTLS's 220 is not the server's word (someone on
          // the path may have added it), nor to be read with its first reply over TLS
          plaintextEnded = false;
          return;
        }
      } else if ((c >= 0x20 && c != 0x7f || c == '\t') && partial.length() < 4096) {
        partial.append(c); // RFC 5321 allows 512 octets; the limit guards against a flood
      }
    }
  }

  private void onLine(String line) {
    if (line.isBlank()) {
      // a stray empty line (after a reply, or between its lines) says nothing: skipped, as most MTAs do, rather than
      // read as the malformed reply to the next command, which would end the session
      return;
    }
    boolean last = line.length() < 4 || line.charAt(3) != '-';
    replyLinesRead++;
    replyMixed |= !replyLines.isEmpty() && SmtpResponse.code(line) != SmtpResponse.code(replyLines.get(0));
    if (!replyCut && replyChars + line.length() <= MAX_REPLY_TEXT) {
      replyLines.add(line);
      replyChars += line.length();
    } else if (last) {
      // the last line gives the reply its code: kept whole, the lines before it given up for its room, then the
      // first one's text cut (an EHLO reply's greeting, not a capability: "SIZE 35882577" is never read from half of
      // its line, nor a capability line read as the greeting)
      while (replyLines.size() > 1 && replyChars + line.length() > MAX_REPLY_TEXT) {
        replyChars -= replyLines.remove(replyLines.size() - 1).length();
      }
      if (!replyLines.isEmpty() && replyChars + line.length() > MAX_REPLY_TEXT) {
        String greeting = replyLines.get(0);
        int keep = Math.max(4, MAX_REPLY_TEXT - line.length());
        replyLines.set(0, greeting.substring(0, Math.min(greeting.length(), keep)));
        replyChars = replyLines.get(0).length();
      }
      replyLines.add(line);
      replyChars += line.length();
      replyCut = true;
    } else {
      replyCut = true; // and the lines after it too: what is kept reads on without a gap
    }
    if (!last) {
      if (replyLinesRead > 1000) {
        onClosed("reply from " + route + " has too many lines");
        socket.close();
      }
      return;
    }
    SmtpResponse parsed = SmtpResponse.parse(replyLines);
    SmtpResponse reply = replyMixed ? new SmtpResponse(-1, null, parsed.text(), parsed.lines(), null)
        : replyCut ? new SmtpResponse(parsed.code(), parsed.enhancedStatus(), parsed.text() + CUT, parsed.lines(), null)
        : parsed;
    String first = replyLines.get(0);
    replyLines.clear();
    replyLinesRead = 0;
    replyChars = 0;
    replyCut = false;
    replyMixed = false;
    Expect e = expects.poll();
    if (e == null) {
      // unsolicited, e.g. 421 before an idle disconnect
      close();
      return;
    }
    arm();
    if (reply.code() < 200 || reply.code() > 599) {
      // unparsable, lines of one reply with different codes, or a code SMTP does not use (1yz, 6yz-9yz): not a
      // decision about the message either way
      // closed first, so that what the failure sets off finds the connection closed
      onClosed("malformed reply");
      socket.close();
      e.promise.fail(new ConnectionFailure("malformed reply from " + route + " to " + e.what + ": "
          + (first.equals(line) ? line : first + " ... " + line)));
      return;
    }
    lastReply = System.nanoTime();
    if (reply.code() == 220 && e.what.equals("STARTTLS")) {
      plaintextEnded = true; // the handshake comes next: the rest of this read is dropped
    }
    e.promise.complete(reply.answering(stage(e.what)));
  }

  /** The command a reply answered, in the bounce rules' terms. */
  private static String stage(String what) {
    if (what.startsWith("MAIL")) {
      return "MAIL";
    }
    if (what.startsWith("RCPT")) {
      return "RCPT";
    }
    if (what.contains("DATA")) {
      return "DATA";
    }
    if (what.equals("greeting")) {
      return "CONNECT";
    }
    return what.startsWith("EHLO") || what.startsWith("HELO") ? "HELO" : null;
  }

  private void onClosed(String reason) {
    onClosed(reason, false);
  }

  /** The connection is over; {@code timedOut}: because the reply at the head of the line did not come in time. */
  private void onClosed(String reason, boolean timedOut) {
    closed = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    boolean head = true;
    Expect e;
    while ((e = expects.poll()) != null) {
      String message = reason + " (waiting for the reply to " + e.what + ")";
      e.promise.tryFail(timedOut && head ? new ReplyTimeout(message) : new ConnectionFailure(message));
      head = false;
    }
  }
}
