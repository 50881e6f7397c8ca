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

  /**
   * The regions SES sends from, whose SMTP passwords are accepted too: a password derived for the region a team used
   * SES in works against a node of another {@code region}, as the HTTP API accepts any region's signatures.
   */
  static final java.util.List<String> SES_REGIONS = java.util.List.of("us-east-1", "us-east-2", "us-west-1",
      "us-west-2", "af-south-1", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
      "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-5", "ca-central-1", "ca-west-1",
      "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1",
      "il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1", "us-gov-east-1", "us-gov-west-1");

  /** Whether {@code given} is the secret's SMTP password for {@code region} or for any SES region. */
  public static boolean matchesAnyRegion(String given, String secretAccessKey, String region) {
    if (matches(given, secretAccessKey, region)) {
      return true;
    }
    boolean found = false;
    for (String r : SES_REGIONS) {
      found |= !r.equals(region) && matches(given, secretAccessKey, r); // every one: no timing by region
    }
    return found;
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
