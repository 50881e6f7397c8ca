package io.mailgate.send;

import io.mailgate.identity.Account;

/**
 * Who is sending: the authenticated account, the key it used, where the request came from and the TLS protocol it
 * came over ({@code sourceTls}: {@code TLSv1.3}; null in plain text, or not known, as behind a proxy).
 */
public record Caller(Account account, String accessKeyId, String sourceIp, String sourceTls) {
  public static final String SYSTEM_ACCOUNT = "system";

  /** A caller whose TLS protocol, if any, is not known. */
  public Caller(Account account, String accessKeyId, String sourceIp) {
    this(account, accessKeyId, sourceIp, null);
  }

  /** Mailgate itself (verification emails): its sender needs no identity of its own. */
  public boolean isSystem() {
    return account.id().equals(SYSTEM_ACCOUNT);
  }
}
