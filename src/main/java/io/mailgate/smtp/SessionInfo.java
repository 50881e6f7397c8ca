package io.mailgate.smtp;

import java.net.InetSocketAddress;

/**
 * What the server knows about one SMTP connection at the moment a handler is called.
 *
 * <p>It exists so handlers can make decisions (policy by client address, by authenticated user,
 * by TLS) without reaching into the session. It is immutable: the session hands out a new value
 * whenever something changes (HELO, STARTTLS, AUTH).
 *
 * @param id unique per connection within a server, for logs and message ids
 * @param remoteAddress the client's address (IP literal, never resolved), or {@code null} if
 *     unknown
 * @param localAddress the address the client connected to, or {@code null} if unknown
 * @param serverName the host name this server announces (greeting, EHLO)
 * @param heloName the name the client gave in its last HELO/EHLO, or {@code null} before that
 * @param tls whether the connection is encrypted (implicit TLS or after STARTTLS)
 * @param authenticatedUser the user name accepted by AUTH, or {@code null}
 * @param tlsProtocol the TLS protocol of an encrypted connection ({@code TLSv1.3}), or {@code null}
 *     (plain text, or not known)
 */
public record SessionInfo(
    String id,
    InetSocketAddress remoteAddress,
    InetSocketAddress localAddress,
    String serverName,
    String heloName,
    boolean tls,
    String authenticatedUser,
    String tlsProtocol) {

  /** A session whose TLS protocol, if any, is not known. */
  public SessionInfo(String id, InetSocketAddress remoteAddress, InetSocketAddress localAddress, String serverName,
      String heloName, boolean tls, String authenticatedUser) {
    this(id, remoteAddress, localAddress, serverName, heloName, tls, authenticatedUser, null);
  }

  SessionInfo withHelo(String name) {
    return new SessionInfo(
        id, remoteAddress, localAddress, serverName, name, tls, authenticatedUser, tlsProtocol);
  }

  SessionInfo withTlsProtocol(String protocol) {
    return new SessionInfo(id, remoteAddress, localAddress, serverName, heloName, tls, authenticatedUser, protocol);
  }

  SessionInfo withAuthenticatedUser(String user) {
    return new SessionInfo(id, remoteAddress, localAddress, serverName, heloName, tls, user, tlsProtocol);
  }

  /**
   * The state after a STARTTLS handshake of {@code protocol} (null: not known): encrypted, and everything learnt
   * before is forgotten.
   */
  SessionInfo afterTlsUpgrade(String protocol) {
    return new SessionInfo(id, remoteAddress, localAddress, serverName, null, true, null, protocol);
  }
}
