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
