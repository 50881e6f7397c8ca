package io.mailgate.identity;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;

/**
 * Signed, expiring links that verify an email address identity: the token carries account,
 * address and expiry, and an HMAC under a key derived from the master key, so it cannot be forged
 * or reused for another address, and needs no table. A custom verification email's token names its template too
 * (SendCustomVerificationEmail), so that following it can redirect where the template says.
 */
public final class VerificationLinks {
  /** What a valid token proves; {@code template} is the custom verification template's name, or null. */
  public record Claim(String accountId, String identity, String template) {
    public Claim(String accountId, String identity) {
      this(accountId, identity, null);
    }
  }

  private final byte[] key;
  private final Clock clock;
  private final Duration ttl;

  public VerificationLinks(SecretBox secrets, Clock clock, Duration ttl) {
    this.key = secrets.derive("mailgate/email-verification/v1");
    this.clock = clock;
    this.ttl = ttl;
  }

  /** How long a link works. */
  public Duration ttl() {
    return ttl;
  }

  public String token(String accountId, String identity) {
    return token(accountId, identity, null);
  }

  /** A token that also names a custom verification template (whose names cannot hold a line break). */
  public String token(String accountId, String identity, String template) {
    long expires = clock.instant().plus(ttl).getEpochSecond();
    String payload = accountId + "\n" + identity + "\n" + expires + (template == null ? "" : "\n" + template);
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    return b64.encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(SecretBox.hmac(key, payload));
  }

  /** The claim of a genuine, unexpired token; empty for anything else. */
  public Optional<Claim> check(String token) {
    return genuine(token, false);
  }

  /**
   * The claim of a genuine token that has expired: a custom verification link followed too late can still be sent
   * to its template's failure page. Only a token whose MAC holds names a template: one that was changed or made up
   * is nothing (else anyone could be redirected to any account's failure page, with the account and template names
   * guessed).
   */
  public Optional<Claim> expired(String token) {
    return genuine(token, true).filter(c -> c.template() != null);
  }

  private Optional<Claim> genuine(String token, boolean expired) {
    if (token == null) {
      return Optional.empty();
    }
    int dot = token.indexOf('.');
    if (dot <= 0) {
      return Optional.empty();
    }
    try {
      Base64.Decoder b64 = Base64.getUrlDecoder();
      String payload = new String(b64.decode(token.substring(0, dot)), StandardCharsets.UTF_8);
      byte[] mac = b64.decode(token.substring(dot + 1));
      if (!SecretBox.equal(mac, SecretBox.hmac(key, payload))) {
        return Optional.empty();
      }
      String[] parts = payload.split("\n");
      if (parts.length < 3 || parts.length > 4
          || (Long.parseLong(parts[2]) < clock.instant().getEpochSecond()) != expired) {
        return Optional.empty();
      }
      return Optional.of(new Claim(parts[0], parts[1], parts.length == 4 ? parts[3] : null));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
