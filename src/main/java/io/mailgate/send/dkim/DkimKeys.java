package io.mailgate.send.dkim;

import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * DKIM key material: generating key pairs, the DNS TXT record that publishes a public key, and reading and writing
 * PEM private keys for bring-your-own-key. Key generation is slow (RSA-2048 takes tens of milliseconds): run it on a
 * worker thread.
 */
public final class DkimKeys {

  /** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows. */
  private static final byte[] ED25519_SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03,
      0x21, 0x00};
  /** DER AlgorithmIdentifier for rsaEncryption with NULL parameters. */
  private static final byte[] RSA_ALGORITHM_ID = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86,
      (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

  private DkimKeys() {}

  /** A new key pair of the given type from the active provider. */
  public static KeyPair generate(DkimKeyType type) {
    CryptoProvider.active();
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance(type.jcaAlgorithm);
      if (type.bits > 0) generator.initialize(type.bits);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate " + type, e);
    }
  }

  /**
   * The TXT record value for {@code <selector>._domainkey.<domain>}: {@code v=DKIM1; k=rsa; p=<base64
   * SubjectPublicKeyInfo>}, or for Ed25519 {@code v=DKIM1; k=ed25519; p=<base64 raw 32-byte key>} (RFC 8463). An
   * RSA-2048 record is longer than 255 characters: see {@link #dnsTxtStrings(String)}.
   */
  public static String dnsTxtRecord(PublicKey publicKey) {
    return switch (publicKey.getAlgorithm()) {
      case "RSA" -> "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(publicKey.getEncoded());
      case "EdDSA", "Ed25519" -> "v=DKIM1; k=ed25519; p=" + Base64.getEncoder().encodeToString(rawEd25519(publicKey));
      default -> throw new IllegalArgumentException("not a DKIM key: " + publicKey.getAlgorithm());
    };
  }

  /** Splits a TXT value into the at most 255-character strings one TXT record is made of. */
  public static List<String> dnsTxtStrings(String value) {
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < value.length(); i += 255) parts.add(value.substring(i, Math.min(value.length(), i + 255)));
    return parts;
  }

  /** The public half of a private key (RSA CRT or Ed25519), e.g. to publish the record of an uploaded key. */
  public static PublicKey publicKeyOf(PrivateKey privateKey) {
    try {
      if (privateKey instanceof RSAPrivateCrtKey rsa) {
        return KeyFactory.getInstance("RSA").generatePublic(
            new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
      }
      if (DkimKey.algorithmOf(privateKey) == DkimAlgorithm.ED25519_SHA256) {
        // No JDK API derives an Ed25519 public key; SunEC's generator does when its "random" seed is the key.
        EdECPrivateKey ed = (EdECPrivateKey) KeyFactory.getInstance("Ed25519", "SunEC")
            .generatePrivate(new PKCS8EncodedKeySpec(privateKey.getEncoded()));
        byte[] seed = ed.getBytes().orElseThrow();
        KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519", "SunEC");
        generator.initialize(NamedParameterSpec.ED25519, new FixedSeed(seed));
        return generator.generateKeyPair().getPublic();
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot derive the public key", e);
    }
    throw new IllegalArgumentException("cannot derive the public key of a " + privateKey.getAlgorithm()
        + " key without CRT parameters");
  }

  /**
   * Reads a PEM private key: PKCS#8 ({@code BEGIN PRIVATE KEY}, RSA or Ed25519) or PKCS#1 ({@code BEGIN RSA PRIVATE
   * KEY}). Encrypted keys are refused.
   */
  public static PrivateKey readPrivateKeyPem(String pem) {
    String type = pemType(pem);
    byte[] der = pemBody(pem);
    try {
      switch (type) {
        case "RSA PRIVATE KEY":
          return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs1ToPkcs8(der)));
        case "PRIVATE KEY":
          try {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
          } catch (GeneralSecurityException notRsa) {
            return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
          }
        case "ENCRYPTED PRIVATE KEY":
          throw new IllegalArgumentException("encrypted private keys are not supported; decrypt it first "
              + "(openssl pkcs8 -topk8 -nocrypt)");
        default:
          throw new IllegalArgumentException("not a private key PEM: BEGIN " + type);
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("unreadable " + type + ": " + e.getMessage(), e);
    }
  }

  /** PKCS#8 PEM ({@code BEGIN PRIVATE KEY}) for storing a generated key. */
  public static String toPem(PrivateKey privateKey) {
    String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(privateKey.getEncoded());
    return "-----BEGIN PRIVATE KEY-----\n" + b64 + "\n-----END PRIVATE KEY-----\n";
  }

  private static byte[] rawEd25519(PublicKey key) {
    byte[] spki = key.getEncoded();
    if (spki.length != ED25519_SPKI_PREFIX.length + 32) {
      throw new IllegalArgumentException("unexpected Ed25519 public key encoding");
    }
    for (int i = 0; i < ED25519_SPKI_PREFIX.length; i++) {
      if (spki[i] != ED25519_SPKI_PREFIX[i]) throw new IllegalArgumentException("not an Ed25519 public key");
    }
    byte[] raw = new byte[32];
    System.arraycopy(spki, ED25519_SPKI_PREFIX.length, raw, 0, 32);
    return raw;
  }

  private static String pemType(String pem) {
    int begin = pem.indexOf("-----BEGIN ");
    int end = begin < 0 ? -1 : pem.indexOf("-----", begin + 11);
    if (end < 0) throw new IllegalArgumentException("not PEM: no -----BEGIN line");
    return pem.substring(begin + 11, end).trim();
  }

  private static byte[] pemBody(String pem) {
    int begin = pem.indexOf("-----BEGIN ");
    int start = pem.indexOf('\n', begin);
    int end = pem.indexOf("-----END ", begin);
    if (start < 0 || end < start) throw new IllegalArgumentException("not PEM: no -----END line");
    String body = pem.substring(start + 1, end);
    if (body.contains(":")) {
      throw new IllegalArgumentException("PEM with headers (legacy OpenSSL encryption) is not supported");
    }
    return Base64.getMimeDecoder().decode(body);
  }

  /** Wraps an RSAPrivateKey (PKCS#1) in a PrivateKeyInfo (PKCS#8), which is what the JDK reads. */
  static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
    ByteArrayOutputStream inner = new ByteArrayOutputStream(pkcs1.length + 32);
    inner.writeBytes(new byte[] {0x02, 0x01, 0x00}); // version 0
    inner.writeBytes(RSA_ALGORITHM_ID);
    inner.write(0x04); // OCTET STRING
    writeDerLength(inner, pkcs1.length);
    inner.writeBytes(pkcs1);
    ByteArrayOutputStream outer = new ByteArrayOutputStream(inner.size() + 8);
    outer.write(0x30); // SEQUENCE
    writeDerLength(outer, inner.size());
    outer.writeBytes(inner.toByteArray());
    return outer.toByteArray();
  }

  private static void writeDerLength(ByteArrayOutputStream out, int length) {
    if (length < 0x80) {
      out.write(length);
    } else if (length < 0x100) {
      out.write(0x81);
      out.write(length);
    } else if (length < 0x10000) {
      out.write(0x82);
      out.write(length >>> 8);
      out.write(length & 0xff);
    } else {
      out.write(0x83);
      out.write(length >>> 16);
      out.write((length >>> 8) & 0xff);
      out.write(length & 0xff);
    }
  }

  /** A "random" source that returns the given seed: lets SunEC compute the public key of a known private key. */
  private static final class FixedSeed extends SecureRandom {
    private static final long serialVersionUID = 1L;
    private final byte[] seed;

    FixedSeed(byte[] seed) {
      this.seed = seed.clone();
    }

    @Override
    public void nextBytes(byte[] bytes) {
      if (bytes.length != seed.length) throw new IllegalStateException("unexpected request for randomness");
      System.arraycopy(seed, 0, bytes, 0, bytes.length);
    }
  }
}
