package io.mailgate.api.s3;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * S3's additional checksums of an object's content, as its {@code x-amz-checksum-<algorithm>} headers (or trailers)
 * carry them: the checksum's bytes, big-endian, in base64. CRC32 (what the AWS SDKs send by default), CRC32C,
 * CRC64NVME (Rocksoft's CRC-64, reflected, initial value and final XOR all ones), SHA-1 and SHA-256.
 */
final class Checksums {
  /** The algorithms, as their header names end. */
  static final List<String> ALGORITHMS = List.of("crc32", "crc32c", "crc64nvme", "sha1", "sha256");
  static final String HEADER = "x-amz-checksum-";
  private static final long CRC64NVME_POLY = 0x9a6c9329ac4bc9b5L;
  private static final long[] CRC64NVME_TABLE = new long[256];

  static {
    for (int i = 0; i < 256; i++) {
      long crc = i;
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 1) != 0 ? (crc >>> 1) ^ CRC64NVME_POLY : crc >>> 1;
      }
      CRC64NVME_TABLE[i] = crc;
    }
  }

  private Checksums() {}

  /** The checksum of {@code content} by {@code algorithm} (one of {@link #ALGORITHMS}), in base64. */
  static String of(String algorithm, byte[] content) {
    byte[] value = switch (algorithm) {
      case "crc32" -> crc(new CRC32(), content);
      case "crc32c" -> crc(new CRC32C(), content);
      case "crc64nvme" -> ByteBuffer.allocate(8).putLong(crc64nvme(content)).array();
      case "sha1" -> digest("SHA-1", content);
      case "sha256" -> digest("SHA-256", content);
      default -> throw new IllegalArgumentException(algorithm);
    };
    return Base64.getEncoder().encodeToString(value);
  }

  /** The CRC algorithms, whose checksum of a whole object can be made from its parts' ({@link #combine}). */
  static final List<String> LINEAR = List.of("crc32", "crc32c", "crc64nvme");
  private static final long CRC32_POLY = 0xedb88320L; // reflected
  private static final long CRC32C_POLY = 0x82f63b78L; // reflected

  /**
   * The checksum by {@code algorithm} (one of {@link #LINEAR}) of two contents one after the other, from the checksum
   * of each (base64) and the second's length: zlib's {@code crc32_combine}, for any of the three CRCs (each starts from
   * all ones and ends XORed with all ones, so the first's checksum only needs to be moved past the second's bytes).
   */
  static String combine(String algorithm, String first, String second, long secondLength) {
    int width = algorithm.equals("crc64nvme") ? 64 : 32;
    long poly = switch (algorithm) {
      case "crc32" -> CRC32_POLY;
      case "crc32c" -> CRC32C_POLY;
      case "crc64nvme" -> CRC64NVME_POLY;
      default -> throw new IllegalArgumentException(algorithm);
    };
    long a = value(first, width);
    long b = value(second, width);
    long shifted = multiply(xPower8n(secondLength, width, poly), a, width, poly);
    ByteBuffer out = ByteBuffer.allocate(width / 8);
    if (width == 64) {
      out.putLong(shifted ^ b);
    } else {
      out.putInt((int) (shifted ^ b));
    }
    return Base64.getEncoder().encodeToString(out.array());
  }

  private static long value(String base64, int width) {
    byte[] bytes = Base64.getDecoder().decode(base64);
    if (bytes.length != width / 8) {
      throw new IllegalArgumentException("a " + width + "-bit checksum has " + width / 8 + " bytes");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    return width == 64 ? b.getLong() : b.getInt() & 0xffffffffL;
  }

  /** {@code a * b} modulo the polynomial, both in the CRC's reflected form (its top bit is x^0). */
  private static long multiply(long a, long b, int width, long poly) {
    long m = 1L << (width - 1);
    long product = 0;
    while (true) {
      if ((a & m) != 0) {
        product ^= b;
        if ((a & (m - 1)) == 0) {
          return product;
        }
      }
      m >>>= 1;
      b = (b & 1) != 0 ? (b >>> 1) ^ poly : b >>> 1;
    }
  }

  /** x^(8n) modulo the polynomial, by squaring: x^(2^k) for each bit k of 8n. */
  private static long xPower8n(long n, int width, long poly) {
    long power = 1L << (width - 2); // x^1
    for (int k = 0; k < 3; k++) {
      power = multiply(power, power, width, poly); // x^8
    }
    long result = 1L << (width - 1); // x^0
    for (; n != 0; n >>>= 1) {
      if ((n & 1) != 0) {
        result = multiply(power, result, width, poly);
      }
      power = multiply(power, power, width, poly);
    }
    return result;
  }

  /** Content-MD5's value: the MD5 of {@code content}, in base64. */
  static String md5(byte[] content) {
    return Base64.getEncoder().encodeToString(digest("MD5", content));
  }

  static long crc64nvme(byte[] content) {
    long crc = -1L;
    for (byte b : content) {
      crc = CRC64NVME_TABLE[(int) ((crc ^ b) & 0xff)] ^ (crc >>> 8);
    }
    return ~crc;
  }

  private static byte[] crc(Checksum crc, byte[] content) {
    crc.update(content, 0, content.length);
    return ByteBuffer.allocate(4).putInt((int) crc.getValue()).array();
  }

  static byte[] digest(String algorithm, byte[] content) {
    try {
      return MessageDigest.getInstance(algorithm).digest(content);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e); // every JDK has MD5, SHA-1 and SHA-256
    }
  }
}
