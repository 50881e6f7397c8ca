package io.mailgate.identity;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts secrets at rest (access key secrets, DKIM private keys) with AES-256-GCM under the
 * configured master key, and derives purpose-specific HMAC keys from it (verification links).
 * The associated data binds a ciphertext to its row: a secret copied to another key's row does
 * not decrypt.
 */
public final class SecretBox {
  private static final int NONCE = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec key;
  private final byte[] master;

  private SecretBox(byte[] master) {
    this.master = master.clone();
    this.key = new SecretKeySpec(derive("mailgate/secret-box/v1"), "AES");
  }

  /**
   * @param masterKey base64 of at least 32 random bytes (e.g. {@code openssl rand -base64 32})
   */
  public static SecretBox fromBase64(String masterKey) {
    byte[] raw;
    try {
      raw = Base64.getDecoder().decode(masterKey.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("security.masterKey is not valid base64");
    }
    if (raw.length < 32) {
      throw new IllegalArgumentException("security.masterKey must decode to at least 32 bytes, got " + raw.length);
    }
    return new SecretBox(raw);
  }

  public static String generateMasterKey() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return Base64.getEncoder().encodeToString(b);
  }

  /** An HMAC-SHA256 key for one purpose, derived from the master key. */
  public byte[] derive(String purpose) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(master, "HmacSHA256"));
      return mac.doFinal(purpose.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public byte[] encrypt(byte[] plaintext, String associatedData) {
    try {
      byte[] nonce = new byte[NONCE];
      RANDOM.nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
      byte[] ct = c.doFinal(plaintext);
      return ByteBuffer.allocate(NONCE + ct.length).put(nonce).put(ct).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @throws IllegalArgumentException when the ciphertext was not made with this key for this row */
  public byte[] decrypt(byte[] box, String associatedData) {
    if (box == null || box.length <= NONCE) {
      throw new IllegalArgumentException("not an encrypted secret");
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, box, 0, NONCE));
      c.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
      return c.doFinal(box, NONCE, box.length - NONCE);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot decrypt secret (wrong master key?)", e);
    }
  }

  public byte[] encryptString(String s, String associatedData) {
    return encrypt(s.getBytes(StandardCharsets.UTF_8), associatedData);
  }

  public String decryptString(byte[] box, String associatedData) {
    return new String(decrypt(box, associatedData), StandardCharsets.UTF_8);
  }

  /** HMAC-SHA256 of {@code data} under {@code key}; compare results with {@link #equal}. */
  public static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static boolean equal(byte[] a, byte[] b) {
    return MessageDigest.isEqual(a, b);
  }
}
