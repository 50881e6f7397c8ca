package io.mailgate.identity;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * SES SMTP credentials: the user name is an access key ID, the password is derived from the key's
 * secret and the region the way SES derives it (version 4: an HMAC-SHA256 chain over a fixed date,
 * the region, "ses", "aws4_request" and "SendRawEmail", prefixed with the version byte 0x04 and
 * Base64-encoded). A mailer configured for SES SMTP with credentials an AWS tool printed for a key
 * keeps working against Mailgate with the same key.
 */
public final class SmtpCredentials {
  private static final byte VERSION = 0x04;

  private SmtpCredentials() {}

  /** The SMTP password of a secret access key in a region. */
  public static String password(String secretAccessKey, String region) {
    byte[] k = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), "11111111");
    k = hmac(k, region);
    k = hmac(k, "ses");
    k = hmac(k, "aws4_request");
    k = hmac(k, "SendRawEmail");
    byte[] versioned = new byte[k.length + 1];
    versioned[0] = VERSION;
    System.arraycopy(k, 0, versioned, 1, k.length);
    return Base64.getEncoder().encodeToString(versioned);
  }

  /** Whether {@code given} is the SMTP password of the secret, compared in constant time. */
  public static boolean matches(String given, String secretAccessKey, String region) {
    if (given == null || secretAccessKey == null) {
      return false;
    }
    return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8),
        password(secretAccessKey, region).getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
