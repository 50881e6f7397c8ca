package io.mailgate;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;

/** Checks on key pairs a user brings (a server's TLS certificate, an S/MIME certificate). Plain Java. */
public final class KeyChecks {
  private static final byte[] PROBE = "mailgate key check".getBytes(StandardCharsets.US_ASCII);

  private KeyChecks() {}

  /** The SHA-256 signature algorithm of a key: RSA, ECDSA or Ed25519; null for another kind (RSASSA-PSS, ...). */
  public static String signatureAlgorithm(PrivateKey key) {
    return switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null;
    };
  }

  /**
   * Whether the private key is the public key's: a signature made with it verifies with the public key. A key of a
   * kind {@link #signatureAlgorithm} does not know is not probed (true); one of another algorithm than the public key's
   * does not match.
   */
  public static boolean matches(PrivateKey key, PublicKey publicKey) {
    String algorithm = signatureAlgorithm(key);
    if (algorithm == null) {
      return true;
    }
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(PROBE);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(PROBE);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }
}
