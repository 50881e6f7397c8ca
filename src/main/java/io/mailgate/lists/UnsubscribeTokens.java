package io.mailgate.lists;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The signed token of an unsubscribe link: which account's list, which address, which topic (or none: the whole
 * list), and the message it came in (whose configuration set's destinations get the Subscription event). It carries everything the unsubscribe endpoint needs, so any node serves any link, and only the holder of
 * the key can mint one: nobody can unsubscribe an address from a list by writing a link for it.
 *
 * <p>Layout: base64url (no padding) of {@code 1 NUL account NUL list NUL address NUL topic NUL message id} (UTF-8; an
 * empty topic for none), a dot, then base64url of the first 16 bytes of HMAC-SHA256(key, that payload). No field can hold a NUL
 * (names are letters, digits, '_' and '-'; addresses have no control characters). Accepted only in its canonical
 * spelling. Links do not expire, as SES's do not: a message read a year later still unsubscribes.
 */
public final class UnsubscribeTokens {
  /** What a token says; {@code topic} is null for the whole list. */
  public record Token(String accountId, String list, String address, String topic, String messageId) {}

  /** Longest token read: the fields' limits (64-character names, 254-character address) fit well within it. */
  public static final int MAX_TOKEN_LENGTH = 2048;
  private static final int MAC_LENGTH = 16;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private final ThreadLocal<Mac> macs;

  /** @param key the HMAC-SHA256 key, at least 32 bytes */
  public UnsubscribeTokens(byte[] key) {
    if (key == null || key.length < 32) {
      throw new IllegalArgumentException("unsubscribe key must be at least 32 bytes");
    }
    SecretKeySpec spec = new SecretKeySpec(key, "HmacSHA256");
    newMac(spec); // fail here, not on an event loop
    this.macs = ThreadLocal.withInitial(() -> newMac(spec));
  }

  public String token(Token t) {
    byte[] payload = String.join("\0", "1", t.accountId(), t.list(), t.address(), t.topic() == null ? "" : t.topic(),
        t.messageId()).getBytes(StandardCharsets.UTF_8);
    return ENCODER.encodeToString(payload) + "." + ENCODER.encodeToString(mac(payload));
  }

  /** The token's content when it is one of ours and unaltered; empty otherwise. Never throws. */
  public Optional<Token> read(String token) {
    if (token == null || token.length() > MAX_TOKEN_LENGTH) {
      return Optional.empty();
    }
    int dot = token.indexOf('.');
    if (dot < 0) {
      return Optional.empty();
    }
    byte[] payload;
    byte[] mac;
    try {
      payload = Base64.getUrlDecoder().decode(token.substring(0, dot));
      mac = Base64.getUrlDecoder().decode(token.substring(dot + 1));
    } catch (IllegalArgumentException notBase64) {
      return Optional.empty();
    }
    if (!MessageDigest.isEqual(mac(payload), mac)
        || !(ENCODER.encodeToString(payload) + "." + ENCODER.encodeToString(mac)).equals(token)) {
      return Optional.empty();
    }
    String[] f = new String(payload, StandardCharsets.UTF_8).split("\0", -1);
    if (f.length != 6 || !f[0].equals("1")) {
      return Optional.empty();
    }
    return Optional.of(new Token(f[1], f[2], f[3], f[4].isEmpty() ? null : f[4], f[5]));
  }

  private byte[] mac(byte[] payload) {
    return Arrays.copyOf(macs.get().doFinal(payload), MAC_LENGTH);
  }

  private static Mac newMac(SecretKeySpec key) {
    try {
      Mac mac = Mac.getInstance(key.getAlgorithm());
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
