package io.mailgate.identity;

import io.mailgate.SesException;
import io.mailgate.send.dkim.DkimKey;
import io.mailgate.send.dkim.DkimKeyType;
import io.mailgate.send.dkim.DkimKeys;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * DKIM keys of domain identities: generated (Easy DKIM: RSA 2048 by default, 1024 selectable, as
 * SES) or brought by the user (BYODKIM: SES's base64 private key, PEM or DER), stored as encrypted
 * PKCS#8, and turned back into a signing key.
 */
public final class DkimKeyMaterial {
  /** A key ready to store: encrypted private half, public half for the DNS record. */
  public record Prepared(String selector, String keyLength, byte[] encryptedPrivateKey, String publicKey) {}

  private DkimKeyMaterial() {}

  public static String keyLength(String requested) {
    if (requested == null || requested.isBlank() || requested.equals("RSA_2048_BIT")) {
      return "RSA_2048_BIT";
    }
    if (requested.equals("RSA_1024_BIT")) {
      return "RSA_1024_BIT";
    }
    throw SesException.badRequest("Invalid NextSigningKeyLength '" + requested + "': use RSA_1024_BIT or RSA_2048_BIT.");
  }

  /** Generates a key pair (slow: call on a worker thread) and a fresh selector. */
  public static Prepared generate(String keyLength, SecretBox secrets, String aad) {
    KeyPair pair = DkimKeys.generate(keyLength.equals("RSA_1024_BIT") ? DkimKeyType.RSA_1024 : DkimKeyType.RSA_2048);
    return prepared(newSelector(), keyLength, pair.getPrivate(), secrets, aad);
  }

  /** A key brought by the user; a BadRequest when it is not a usable RSA key. */
  public static Prepared imported(String selector, String base64Key, SecretBox secrets, String aad) {
    checkSelector(selector);
    if (base64Key == null || base64Key.isBlank()) {
      throw SesException.badRequest("DomainSigningPrivateKey is required with a DomainSigningSelector.");
    }
    PrivateKey key = parse(base64Key);
    if (!(key instanceof RSAPrivateKey rsa)
        || (rsa.getModulus().bitLength() != 1024 && rsa.getModulus().bitLength() != 2048)) {
      throw SesException.badRequest("DomainSigningPrivateKey must be an RSA key of 1024 or 2048 bits.");
    }
    if (!(key instanceof RSAPrivateCrtKey)) {
      // its encoding has zeros for them: without the public exponent there is no record to publish
      throw SesException.badRequest("DomainSigningPrivateKey is an RSA private key without its CRT parameters "
          + "(public exponent, primes): give the complete key, as openssl writes it.");
    }
    String length = rsa.getModulus().bitLength() == 1024 ? "RSA_1024_BIT" : "RSA_2048_BIT";
    return prepared(selector.toLowerCase(Locale.ROOT), length, key, secrets, aad);
  }

  private static PrivateKey parse(String input) {
    String text = input.strip();
    try {
      if (!text.startsWith("-----BEGIN")) {
        byte[] decoded = Base64.getMimeDecoder().decode(text);
        String asText = new String(decoded, StandardCharsets.US_ASCII);
        if (asText.startsWith("-----BEGIN")) {
          text = asText; // base64 of a PEM file
        } else {
          try {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(decoded));
          } catch (java.security.GeneralSecurityException notPkcs8) {
            text = "-----BEGIN RSA PRIVATE KEY-----\n" + text + "\n-----END RSA PRIVATE KEY-----\n";
          }
        }
      }
      return DkimKeys.readPrivateKeyPem(text);
    } catch (IllegalArgumentException e) {
      throw SesException.badRequest("DomainSigningPrivateKey is not a base64-encoded RSA private key.");
    }
  }

  private static Prepared prepared(String selector, String length, PrivateKey key, SecretBox secrets, String aad) {
    String publicKey = Base64.getEncoder().encodeToString(DkimKeys.publicKeyOf(key).getEncoded());
    return new Prepared(selector, length, secrets.encrypt(key.getEncoded(), aad), publicKey);
  }

  /** The signing key of a stored identity. */
  public static DkimKey signingKey(String domain, String selector, byte[] encrypted, SecretBox secrets, String aad) {
    try {
      PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(
          new PKCS8EncodedKeySpec(secrets.decrypt(encrypted, aad)));
      return DkimKey.of(domain, selector, key);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("stored DKIM key of " + domain + " is unreadable", e);
    }
  }

  static String newSelector() {
    String alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    StringBuilder sb = new StringBuilder("mg");
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int i = 0; i < 24; i++) {
      sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  /** SES's pattern: a DNS label of ASCII letters, digits and inner dashes, 63 characters at most. */
  static void checkSelector(String selector) {
    if (selector == null || selector.isEmpty() || selector.length() > 63) {
      throw SesException.badRequest("DomainSigningSelector must be 1 to 63 characters.");
    }
    for (int i = 0; i < selector.length(); i++) {
      char c = selector.charAt(i);
      boolean alphanumeric = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      boolean innerDash = c == '-' && i > 0 && i < selector.length() - 1;
      if (!alphanumeric && !innerDash) {
        throw SesException.badRequest("DomainSigningSelector may contain only ASCII letters, digits and dashes, "
            + "and neither begin nor end with a dash.");
      }
    }
  }
}
