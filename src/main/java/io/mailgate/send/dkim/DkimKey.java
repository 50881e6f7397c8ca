package io.mailgate.send.dkim;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.RSAKey;
import java.util.Objects;

/**
 * A signing identity: {@code d=} domain, {@code s=} selector and the private key whose public half is published at
 * {@code <selector>._domainkey.<domain>}.
 */
public record DkimKey(String domain, String selector, PrivateKey privateKey, DkimAlgorithm algorithm) {

  public DkimKey {
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(algorithm, "algorithm");
    // Both go verbatim into the header: allow only DNS label characters, so nothing can inject tags or lines.
    requireDnsName("domain", domain);
    requireDnsName("selector", selector);
    if (algorithmOf(privateKey) != algorithm) {
      throw new IllegalArgumentException(privateKey.getAlgorithm() + " key cannot sign " + algorithm.tag());
    }
    if (privateKey instanceof RSAKey rsa && rsa.getModulus().bitLength() < 1024) {
      throw new IllegalArgumentException("RSA keys for DKIM must have at least 1024 bits (RFC 8301)");
    }
  }

  /**
   * A key for {@code domain} and {@code selector}; the algorithm follows from the key. The key is translated to the
   * active provider's own form once here, so that signing does not convert it on every message (ACCP would):
   * make one per identity and keep it (the signer also skips re-initialising when it sees the same key again).
   */
  public static DkimKey of(String domain, String selector, PrivateKey privateKey) {
    DkimAlgorithm algorithm = algorithmOf(privateKey);
    return new DkimKey(domain, selector, forActiveProvider(privateKey, algorithm), algorithm);
  }

  static DkimAlgorithm algorithmOf(PrivateKey key) {
    return switch (key.getAlgorithm()) {
      case "RSA" -> DkimAlgorithm.RSA_SHA256;
      case "EdDSA", "Ed25519" -> DkimAlgorithm.ED25519_SHA256;
      default -> throw new IllegalArgumentException("unsupported DKIM key algorithm: " + key.getAlgorithm());
    };
  }

  private static PrivateKey forActiveProvider(PrivateKey key, DkimAlgorithm algorithm) {
    CryptoProvider.active();
    try {
      String name = algorithm == DkimAlgorithm.RSA_SHA256 ? "RSA" : "Ed25519";
      return (PrivateKey) KeyFactory.getInstance(name).translateKey(key);
    } catch (GeneralSecurityException | RuntimeException e) {
      return key; // signing still works, just converts the key each time
    }
  }

  private static void requireDnsName(String what, String name) {
    if (name == null || name.isEmpty() || name.length() > 253) {
      throw new IllegalArgumentException(what + " must be a DNS name");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
          || c == '.' || c == '_';
      if (!ok) throw new IllegalArgumentException(what + " must be an ASCII DNS name (A-labels): " + name);
    }
  }

  @Override
  public String toString() {
    return "DkimKey[d=" + domain + ", s=" + selector + ", a=" + algorithm.tag() + "]";
  }
}
