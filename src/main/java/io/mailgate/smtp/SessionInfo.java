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
 */
public record SessionInfo(
    String id,
    InetSocketAddress remoteAddress,
    InetSocketAddress localAddress,
    String serverName,
    String heloName,
    boolean tls,
    String authenticatedUser) {

  SessionInfo withHelo(String name) {
    return new SessionInfo(
        id, remoteAddress, localAddress, serverName, name, tls, authenticatedUser);
  }

  SessionInfo withAuthenticatedUser(String user) {
    return new SessionInfo(id, remoteAddress, localAddress, serverName, heloName, tls, user);
  }

  /** The state after a STARTTLS handshake: encrypted, and everything learnt before is forgotten. */
  SessionInfo afterTlsUpgrade() {
    return new SessionInfo(id, remoteAddress, localAddress, serverName, null, true, null);
  }
}
