package io.mailgate.identity;

import java.util.Base64;

/**
 * SES v1's domain verification token (VerifyDomainIdentity): the value of a TXT record at {@code _amazonses.<domain>}
 * that proves the account controls the domain, besides its DKIM record. Derived from the master key, the account and
 * the domain, so it is the same on every node and for every call, and needs no storage; 44 characters, well within
 * one TXT string.
 */
public final class DomainVerificationToken {
  /** Where the token is published, under the domain. */
  public static final String RECORD_PREFIX = "_amazonses.";

  private final byte[] key;

  public DomainVerificationToken(SecretBox secrets) {
    this.key = secrets.derive("ses-domain-verification-token");
  }

  public String of(String accountId, String domain) {
    return Base64.getEncoder().encodeToString(SecretBox.hmac(key, accountId + "/" + domain));
  }

  /** Whether one of the TXT records at {@code _amazonses.<domain>} is the token (quotes and spaces ignored). */
  public static boolean present(java.util.List<String> records, String token) {
    for (String r : records) {
      if (r.replace("\"", "").strip().equals(token)) {
        return true;
      }
    }
    return false;
  }
}
