package io.mailgate.send;

import io.mailgate.identity.Account;

/** Who is sending: the authenticated account, the key it used and where the request came from. */
public record Caller(Account account, String accessKeyId, String sourceIp) {
  public static final String SYSTEM_ACCOUNT = "system";

  /** Mailgate itself (verification emails): its sender needs no identity of its own. */
  public boolean isSystem() {
    return account.id().equals(SYSTEM_ACCOUNT);
  }
}
