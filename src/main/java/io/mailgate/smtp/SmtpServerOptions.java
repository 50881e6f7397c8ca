package io.mailgate.smtp;

import io.vertx.core.net.KeyCertOptions;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of an {@link SmtpServer}, with defaults that suit a public MX and the limits of RFC
 * 5321 section 4.5.3.
 *
 * <p>It exists as the one place where SMTP server defaults live; {@link #sessionConfig()} derives
 * the plain protocol settings each session uses. Fluent setters validate their argument; {@link
 * SmtpServer#start} takes a copy, so later changes do not affect a running server.
 *
 * <p>TLS: set {@link #setKeyCertOptions} to offer STARTTLS, and also {@link #setImplicitTls} for
 * a port where TLS starts before the greeting (465).
 */
public final class SmtpServerOptions {

  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 25;
  public static final String DEFAULT_SERVER_NAME = "localhost";
  public static final long DEFAULT_MAX_MESSAGE_SIZE = 10L * 1024 * 1024;
  public static final int DEFAULT_MAX_RECIPIENTS = 1000;
  public static final int DEFAULT_MAX_COMMAND_LINE_LENGTH = 2048;
  public static final int DEFAULT_MAX_DATA_LINE_LENGTH = 998;
  public static final int DEFAULT_MAX_CONSECUTIVE_ERRORS = 10;
  /** As Postfix's {@code smtpd_junk_command_limit}. */
  public static final int DEFAULT_MAX_JUNK_COMMANDS = 100;
  public static final int DEFAULT_MAX_CONNECTIONS = 1000;
  public static final long DEFAULT_MAX_DATA_BYTES_HELD = 128L * 1024 * 1024;
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMinutes(5);
  public static final Duration DEFAULT_DATA_TIMEOUT = Duration.ofMinutes(3);
  public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);

  private String host = DEFAULT_HOST;
  private int port = DEFAULT_PORT;
  private String serverName = DEFAULT_SERVER_NAME;
  private long maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
  private int maxRecipients = DEFAULT_MAX_RECIPIENTS;
  private int maxCommandLineLength = DEFAULT_MAX_COMMAND_LINE_LENGTH;
  private int maxDataLineLength = DEFAULT_MAX_DATA_LINE_LENGTH;
  private int maxConsecutiveErrors = DEFAULT_MAX_CONSECUTIVE_ERRORS;
  private int maxJunkCommands = DEFAULT_MAX_JUNK_COMMANDS;
  private boolean dsn = true;
  private boolean smtpUtf8 = true;
  private int maxConnections = DEFAULT_MAX_CONNECTIONS;
  private int maxConnectionsPerClient;
  private int connectionRatePerClient;
  private int messageRatePerClient;
  private long maxDataBytesHeld = DEFAULT_MAX_DATA_BYTES_HELD;
  private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
  private Duration dataTimeout = DEFAULT_DATA_TIMEOUT;
  private Duration shutdownTimeout = DEFAULT_SHUTDOWN_TIMEOUT;
  private KeyCertOptions keyCertOptions;
  private Duration tlsReloadInterval = Duration.ZERO;
  private boolean implicitTls;
  private boolean authEnabled;
  private boolean plainTextAuthAllowed;
  private boolean authRequired;
  private boolean tlsRequired;

  public SmtpServerOptions() {}

  public SmtpServerOptions(SmtpServerOptions other) {
    host = other.host;
    port = other.port;
    serverName = other.serverName;
    maxMessageSize = other.maxMessageSize;
    maxRecipients = other.maxRecipients;
    maxCommandLineLength = other.maxCommandLineLength;
    maxDataLineLength = other.maxDataLineLength;
    maxConsecutiveErrors = other.maxConsecutiveErrors;
    maxJunkCommands = other.maxJunkCommands;
    dsn = other.dsn;
    smtpUtf8 = other.smtpUtf8;
    maxConnections = other.maxConnections;
    maxConnectionsPerClient = other.maxConnectionsPerClient;
    connectionRatePerClient = other.connectionRatePerClient;
    messageRatePerClient = other.messageRatePerClient;
    maxDataBytesHeld = other.maxDataBytesHeld;
    commandTimeout = other.commandTimeout;
    dataTimeout = other.dataTimeout;
    shutdownTimeout = other.shutdownTimeout;
    keyCertOptions = other.keyCertOptions == null ? null : other.keyCertOptions.copy();
    tlsReloadInterval = other.tlsReloadInterval;
    implicitTls = other.implicitTls;
    authEnabled = other.authEnabled;
    plainTextAuthAllowed = other.plainTextAuthAllowed;
    authRequired = other.authRequired;
    tlsRequired = other.tlsRequired;
  }

  /**
   * The protocol settings for a session. Throws {@link IllegalStateException} for combinations
   * that cannot work (implicit TLS or required TLS without a certificate, required AUTH without
   * AUTH).
   */
  public SmtpSessionConfig sessionConfig() {
    if ((implicitTls || tlsRequired) && keyCertOptions == null) {
      throw new IllegalStateException("implicitTls and tlsRequired need keyCertOptions");
    }
    if (authRequired && !authEnabled) {
      throw new IllegalStateException("authRequired needs authEnabled");
    }
    return new SmtpSessionConfig(serverName, maxMessageSize, maxRecipients, maxCommandLineLength,
        maxDataLineLength, maxConsecutiveErrors, maxJunkCommands, dsn, smtpUtf8, keyCertOptions != null && !implicitTls,
        authEnabled, plainTextAuthAllowed, authRequired, tlsRequired);
  }

  /** The address to bind; default {@value #DEFAULT_HOST}. */
  public String getHost() {
    return host;
  }

  public SmtpServerOptions setHost(String host) {
    this.host = Objects.requireNonNull(host, "host");
    return this;
  }

  /** The port to bind, 0 for any free port; default {@value #DEFAULT_PORT}. */
  public int getPort() {
    return port;
  }

  public SmtpServerOptions setPort(int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    this.port = port;
    return this;
  }

  /** The host name announced in the greeting and EHLO; default {@value #DEFAULT_SERVER_NAME}. */
  public String getServerName() {
    return serverName;
  }

  public SmtpServerOptions setServerName(String serverName) {
    Objects.requireNonNull(serverName, "serverName");
    if (serverName.isEmpty() || serverName.chars().anyMatch(c -> c <= ' ' || c >= 0x7F)) {
      throw new IllegalArgumentException("serverName must be a printable ASCII host name");
    }
    this.serverName = serverName;
    return this;
  }

  /** The SIZE limit in octets; default 10 MiB. */
  public long getMaxMessageSize() {
    return maxMessageSize;
  }

  public SmtpServerOptions setMaxMessageSize(long maxMessageSize) {
    if (maxMessageSize <= 0 || maxMessageSize > SmtpSessionConfig.MAX_MESSAGE_SIZE_LIMIT) {
      throw new IllegalArgumentException("maxMessageSize out of range: " + maxMessageSize);
    }
    this.maxMessageSize = maxMessageSize;
    return this;
  }

  /** Recipients per message; default {@value #DEFAULT_MAX_RECIPIENTS}. */
  public int getMaxRecipients() {
    return maxRecipients;
  }

  public SmtpServerOptions setMaxRecipients(int maxRecipients) {
    this.maxRecipients = positive(maxRecipients, "maxRecipients");
    return this;
  }

  /** Longest command line, CRLF included; default {@value #DEFAULT_MAX_COMMAND_LINE_LENGTH}. */
  public int getMaxCommandLineLength() {
    return maxCommandLineLength;
  }

  public SmtpServerOptions setMaxCommandLineLength(int maxCommandLineLength) {
    if (maxCommandLineLength < 512) {
      throw new IllegalArgumentException("maxCommandLineLength must be at least 512 (RFC 5321)");
    }
    this.maxCommandLineLength = maxCommandLineLength;
    return this;
  }

  /**
   * Content line length above which a message is flagged ({@link Envelope#longLines()}), CRLF
   * excluded; default {@value #DEFAULT_MAX_DATA_LINE_LENGTH}. Longer lines are still accepted.
   */
  public int getMaxDataLineLength() {
    return maxDataLineLength;
  }

  public SmtpServerOptions setMaxDataLineLength(int maxDataLineLength) {
    this.maxDataLineLength = positive(maxDataLineLength, "maxDataLineLength");
    return this;
  }

  /** Protocol errors in a row before 421; default {@value #DEFAULT_MAX_CONSECUTIVE_ERRORS}. */
  public int getMaxConsecutiveErrors() {
    return maxConsecutiveErrors;
  }

  public SmtpServerOptions setMaxConsecutiveErrors(int maxConsecutiveErrors) {
    this.maxConsecutiveErrors = positive(maxConsecutiveErrors, "maxConsecutiveErrors");
    return this;
  }

  /**
   * Commands that move no mail (RSET, NOOP, VRFY, HELP, a greeting repeated, a recipient named again) since the
   * session's last accepted message before 421; default {@value #DEFAULT_MAX_JUNK_COMMANDS}.
   */
  public int getMaxJunkCommands() {
    return maxJunkCommands;
  }

  public SmtpServerOptions setMaxJunkCommands(int maxJunkCommands) {
    this.maxJunkCommands = positive(maxJunkCommands, "maxJunkCommands");
    return this;
  }

  /**
   * Whether EHLO offers DSN (RFC 3461); default true. A server whose handler does not act on NOTIFY, RET and ENVID
   * (a success report, no failure report for NOTIFY=NEVER, the envelope id in it) must not offer it: they are parsed
   * and kept in the envelope either way.
   */
  public boolean isDsn() {
    return dsn;
  }

  public SmtpServerOptions setDsn(boolean dsn) {
    this.dsn = dsn;
    return this;
  }

  /**
   * Whether EHLO offers SMTPUTF8 (RFC 6531); default true. A server whose handler cannot take internationalized
   * addresses must not offer it: a client that sees it sends them, and a whole message, to be refused at its end.
   */
  public boolean isSmtpUtf8() {
    return smtpUtf8;
  }

  public SmtpServerOptions setSmtpUtf8(boolean smtpUtf8) {
    this.smtpUtf8 = smtpUtf8;
    return this;
  }

  /**
   * Concurrent connections; more are answered 421 4.7.0 and closed. Shared by all servers of one
   * Vert.x instance bound to the same host and non-zero port (one per event loop), with the limit
   * of the first one started; a server on port 0 counts alone. Default {@value
   * #DEFAULT_MAX_CONNECTIONS}.
   */
  public int getMaxConnections() {
    return maxConnections;
  }

  /**
   * Message content the sessions of one address may hold at once, in bytes, shared as the connection limit is. A
   * message that would take more is read to its end without being kept and answered 452 4.3.1, so the client
   * tries again later: a thousand clients sending their largest message at once must not exhaust the heap. Default
   * {@value #DEFAULT_MAX_DATA_BYTES_HELD}.
   */
  public long getMaxDataBytesHeld() {
    return maxDataBytesHeld;
  }

  public SmtpServerOptions setMaxDataBytesHeld(long maxDataBytesHeld) {
    if (maxDataBytesHeld <= 0) {
      throw new IllegalArgumentException("maxDataBytesHeld must be positive");
    }
    this.maxDataBytesHeld = maxDataBytesHeld;
    return this;
  }

  public SmtpServerOptions setMaxConnections(int maxConnections) {
    this.maxConnections = positive(maxConnections, "maxConnections");
    return this;
  }

  /**
   * Concurrent connections from one client IP address (loopback addresses excepted), counted as {@link
   * #getMaxConnections()} is; more are answered 421 4.7.0 and closed, as Postfix's {@code
   * smtpd_client_connection_count_limit}: one client must not take every place, nor the content budget with
   * transactions it never finishes. 0 (the default): no limit of its own.
   */
  public int getMaxConnectionsPerClient() {
    return maxConnectionsPerClient;
  }

  public SmtpServerOptions setMaxConnectionsPerClient(int maxConnectionsPerClient) {
    this.maxConnectionsPerClient = notNegative(maxConnectionsPerClient, "maxConnectionsPerClient");
    return this;
  }

  /**
   * Connections one client IP address (loopback addresses excepted; an IPv6 client counted as {@link
   * #getMaxConnectionsPerClient()} counts it) may open in a minute; more are answered 421 4.7.0 and closed until its
   * minute is over, as Postfix's {@code smtpd_client_connection_rate_limit} (with anvil's time unit of a minute). A
   * client opening a connection per message, or a flood of connections each closed at once, is held to it, where the
   * concurrency limit only counts those open together. 0 (the default): no limit.
   */
  public int getConnectionRatePerClient() {
    return connectionRatePerClient;
  }

  public SmtpServerOptions setConnectionRatePerClient(int connectionRatePerClient) {
    this.connectionRatePerClient = notNegative(connectionRatePerClient, "connectionRatePerClient");
    return this;
  }

  /**
   * Messages one client IP address (counted as for {@link #getConnectionRatePerClient()}) may start (MAIL FROM) in a
   * minute, over all of its connections, whether or not they are then accepted, as Postfix's {@code
   * smtpd_client_message_rate_limit}; more are answered 450 4.7.1 until its minute is over (the session goes on, and
   * may try again). 0 (the default): no limit.
   */
  public int getMessageRatePerClient() {
    return messageRatePerClient;
  }

  public SmtpServerOptions setMessageRatePerClient(int messageRatePerClient) {
    this.messageRatePerClient = notNegative(messageRatePerClient, "messageRatePerClient");
    return this;
  }

  private static int notNegative(int value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " must not be negative");
    }
    return value;
  }

  /** How long the client may take to send a command; default 5 minutes (RFC 5321 4.5.3.2). */
  public Duration getCommandTimeout() {
    return commandTimeout;
  }

  public SmtpServerOptions setCommandTimeout(Duration commandTimeout) {
    this.commandTimeout = positive(commandTimeout, "commandTimeout");
    return this;
  }

  /** How long the client may pause while sending content; default 3 minutes (RFC 5321 4.5.3.2). */
  public Duration getDataTimeout() {
    return dataTimeout;
  }

  public SmtpServerOptions setDataTimeout(Duration dataTimeout) {
    this.dataTimeout = positive(dataTimeout, "dataTimeout");
    return this;
  }

  /** How long {@link SmtpServer#close()} lets transactions in progress finish; default 30 s. */
  public Duration getShutdownTimeout() {
    return shutdownTimeout;
  }

  public SmtpServerOptions setShutdownTimeout(Duration shutdownTimeout) {
    Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
    if (shutdownTimeout.isNegative()) {
      throw new IllegalArgumentException("shutdownTimeout must not be negative");
    }
    this.shutdownTimeout = shutdownTimeout;
    return this;
  }

  /** Key and certificate for TLS; {@code null} (default) means no STARTTLS. */
  public KeyCertOptions getKeyCertOptions() {
    return keyCertOptions;
  }

  public SmtpServerOptions setKeyCertOptions(KeyCertOptions keyCertOptions) {
    this.keyCertOptions = keyCertOptions;
    return this;
  }

  /**
   * How often the certificate and key files of {@link #setKeyCertOptions} (a {@code PemKeyCertOptions} of one certificate
   * path and one key path) are read again, a renewed pair served from the next connection on; zero (default): never.
   */
  public Duration getTlsReloadInterval() {
    return tlsReloadInterval;
  }

  public SmtpServerOptions setTlsReloadInterval(Duration tlsReloadInterval) {
    Objects.requireNonNull(tlsReloadInterval, "tlsReloadInterval");
    if (tlsReloadInterval.isNegative()) {
      throw new IllegalArgumentException("tlsReloadInterval must not be negative");
    }
    this.tlsReloadInterval = tlsReloadInterval;
    return this;
  }

  /** TLS from the first byte (port 465, RFC 8314); default false. */
  public boolean isImplicitTls() {
    return implicitTls;
  }

  public SmtpServerOptions setImplicitTls(boolean implicitTls) {
    this.implicitTls = implicitTls;
    return this;
  }

  /** Offer AUTH PLAIN and LOGIN; default false. */
  public boolean isAuthEnabled() {
    return authEnabled;
  }

  public SmtpServerOptions setAuthEnabled(boolean authEnabled) {
    this.authEnabled = authEnabled;
    return this;
  }

  /** Allow AUTH on an unencrypted connection; default false. */
  public boolean isPlainTextAuthAllowed() {
    return plainTextAuthAllowed;
  }

  public SmtpServerOptions setPlainTextAuthAllowed(boolean plainTextAuthAllowed) {
    this.plainTextAuthAllowed = plainTextAuthAllowed;
    return this;
  }

  /** Refuse MAIL before a successful AUTH (submission); default false. */
  public boolean isAuthRequired() {
    return authRequired;
  }

  public SmtpServerOptions setAuthRequired(boolean authRequired) {
    this.authRequired = authRequired;
    return this;
  }

  /** Refuse MAIL and AUTH before TLS; default false. */
  public boolean isTlsRequired() {
    return tlsRequired;
  }

  public SmtpServerOptions setTlsRequired(boolean tlsRequired) {
    this.tlsRequired = tlsRequired;
    return this;
  }

  private static int positive(int value, String name) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive");
    }
    return value;
  }

  private static Duration positive(Duration value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive");
    }
    return value;
  }
}
