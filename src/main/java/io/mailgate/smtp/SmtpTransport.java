package io.mailgate.smtp;

/**
 * The connection an {@link SmtpServerSession} speaks over, as the session sees it.
 *
 * <p>It exists to keep the protocol code free of any network library: the Vert.x adapter
 * implements it for a socket, tests implement it with a byte array. The session calls it only
 * from the thread that drives the session.
 */
public interface SmtpTransport {

  /** Send reply bytes; the transport must copy or send them before returning. */
  void send(byte[] bytes, int offset, int length);

  /**
   * Send {@code readyReply} (the 220 answering STARTTLS) and switch to TLS right behind it; call
   * {@link SmtpServerSession#tlsEstablished(String)} with the protocol negotiated when the
   * handshake succeeded, close the connection when it failed. The switch must be in place before
   * the client can react to the reply, otherwise its handshake could be read as plaintext.
   */
  void startTls(byte[] readyReply);

  /** Close the connection once everything sent so far has been written. */
  void close();

  /** Stop delivering input for now: the session waits on its handler. */
  void pauseInput();

  /** Deliver input again. */
  void resumeInput();
}
