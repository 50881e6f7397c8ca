package io.mailgate.api.sigv4;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.spec.SecretKeySpec;

/**
 * SigV4a's keys (AWS4-ECDSA-P256-SHA256, what the SDKs sign with for SES multi-region endpoints, {@code EndpointId}):
 * the P-256 key pair every region shares is derived from the access key by a NIST SP 800-108 counter-mode KDF over
 * HMAC-SHA256 (keyed with {@code "AWS4A" + secret}, fixed input {@code 1 || label || 0x00 || access key id ||
 * counter || 256}, the counter raised until the result is below the group order less one; the private scalar is the
 * result plus one), as the AWS CRT derives it. The verifier needs only the public point: it is computed once per
 * key and cached. The JDK has no API that makes a public key of a private one, so the point is multiplied out here
 * (Jacobian coordinates, not constant-time: it runs once per access key, from a secret the caller already holds).
 */
final class SigV4aKeys {
  static final String ALGORITHM = "AWS4-ECDSA-P256-SHA256";

  private static final BigInteger P = new BigInteger(
      "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 16);
  private static final BigInteger N = new BigInteger(
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16);
  private static final BigInteger GX = new BigInteger(
      "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296", 16);
  private static final BigInteger GY = new BigInteger(
      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5", 16);
  private static final BigInteger THREE = BigInteger.valueOf(3);
  private static final ECParameterSpec P256;

  static {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec("secp256r1"));
      P256 = params.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private record Key(String accessKeyId, String secret) {}

  private final int maxEntries;
  private final ConcurrentHashMap<Key, ECPublicKey> cache = new ConcurrentHashMap<>();

  SigV4aKeys(int maxEntries) {
    this.maxEntries = maxEntries;
  }

  /** Whether {@code signature} (hex DER) is the access key's ECDSA P-256 SHA-256 signature of {@code stringToSign}. */
  boolean verify(String accessKeyId, String secret, byte[] stringToSign, byte[] signature) {
    try {
      Signature ecdsa = Signature.getInstance("SHA256withECDSA");
      ecdsa.initVerify(publicKey(accessKeyId, secret));
      ecdsa.update(stringToSign);
      return ecdsa.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // not a DER signature, or not one of this key
    }
  }

  private ECPublicKey publicKey(String accessKeyId, String secret) throws GeneralSecurityException {
    Key k = new Key(accessKeyId, secret);
    ECPublicKey key = cache.get(k);
    if (key == null) {
      if (cache.size() >= maxEntries) {
        cache.clear();
      }
      BigInteger[] q = multiply(privateScalar(accessKeyId, secret));
      key = (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(
          new ECPublicKeySpec(new ECPoint(q[0], q[1]), P256));
      cache.put(k, key);
    }
    return key;
  }

  /** The private scalar SigV4a derives from an access key. */
  static BigInteger privateScalar(String accessKeyId, String secret) {
    SecretKeySpec inputKey = new SecretKeySpec(("AWS4A" + secret).getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    byte[] id = accessKeyId.getBytes(StandardCharsets.UTF_8);
    BigInteger limit = N.subtract(BigInteger.TWO);
    for (int counter = 1; counter <= 254; counter++) {
      ByteArrayOutputStream fixed = new ByteArrayOutputStream(64);
      fixed.writeBytes(new byte[] {0, 0, 0, 1});
      fixed.writeBytes(ALGORITHM.getBytes(StandardCharsets.US_ASCII));
      fixed.write(0);
      fixed.writeBytes(id);
      fixed.write(counter);
      fixed.writeBytes(new byte[] {0, 0, 1, 0}); // 256 bits
      BigInteger c = new BigInteger(1, SigningKeys.hmac(inputKey, fixed.toByteArray()));
      if (c.compareTo(limit) <= 0) {
        return c.add(BigInteger.ONE);
      }
    }
    throw new IllegalStateException("no SigV4a key within 254 counters"); // a chance of about 2^-8000
  }

  /** {@code d}·G on P-256, in affine coordinates. */
  static BigInteger[] multiply(BigInteger d) {
    BigInteger[] r = null; // the point at infinity
    BigInteger[] g = {GX, GY, BigInteger.ONE};
    for (int i = d.bitLength() - 1; i >= 0; i--) {
      r = r == null ? null : twice(r);
      if (d.testBit(i)) {
        r = r == null ? g : add(r, g);
      }
    }
    if (r == null) {
      throw new IllegalArgumentException("a zero scalar");
    }
    BigInteger zi = r[2].modInverse(P);
    BigInteger zi2 = zi.multiply(zi).mod(P);
    return new BigInteger[] {r[0].multiply(zi2).mod(P), r[1].multiply(zi2).multiply(zi).mod(P)};
  }

  /** 2·(X, Y, Z) in Jacobian coordinates, a = -3. */
  private static BigInteger[] twice(BigInteger[] p) {
    BigInteger z2 = p[2].multiply(p[2]).mod(P);
    BigInteger m = THREE.multiply(p[0].subtract(z2)).multiply(p[0].add(z2)).mod(P);
    BigInteger y2 = p[1].multiply(p[1]).mod(P);
    BigInteger s = BigInteger.valueOf(4).multiply(p[0]).multiply(y2).mod(P);
    BigInteger x = m.multiply(m).subtract(s.shiftLeft(1)).mod(P);
    BigInteger y = m.multiply(s.subtract(x)).subtract(BigInteger.valueOf(8).multiply(y2).multiply(y2)).mod(P);
    BigInteger z = p[1].multiply(p[2]).shiftLeft(1).mod(P);
    return new BigInteger[] {x, y, z};
  }

  /** (X, Y, Z) + (x, y, 1), in Jacobian coordinates; the points distinct, or the same (then doubled). */
  private static BigInteger[] add(BigInteger[] p, BigInteger[] q) {
    BigInteger z2 = p[2].multiply(p[2]).mod(P);
    BigInteger u2 = q[0].multiply(z2).mod(P);
    BigInteger s2 = q[1].multiply(z2).multiply(p[2]).mod(P);
    BigInteger h = u2.subtract(p[0]).mod(P);
    BigInteger r = s2.subtract(p[1]).mod(P);
    if (h.signum() == 0) {
      return r.signum() == 0 ? twice(p) : null; // P + P, or P + (-P)
    }
    BigInteger h2 = h.multiply(h).mod(P);
    BigInteger h3 = h2.multiply(h).mod(P);
    BigInteger v = p[0].multiply(h2).mod(P);
    BigInteger x = r.multiply(r).subtract(h3).subtract(v.shiftLeft(1)).mod(P);
    BigInteger y = r.multiply(v.subtract(x)).subtract(p[1].multiply(h3)).mod(P);
    BigInteger z = p[2].multiply(h).mod(P);
    return new BigInteger[] {x, y, z};
  }
}
