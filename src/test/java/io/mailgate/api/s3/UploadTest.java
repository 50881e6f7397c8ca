package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A PutObject's headers and body, read without a node: aws-chunked decoding, the checksums, the refusals. */
class UploadTest {
  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  static S3Error refusal(Runnable r) {
    return assertThrows(S3Exception.class, r::run).error();
  }

  @Test
  void checksumsAsS3WritesThem() {
    // the check value of CRC-64/NVME, and the CRC32 the AWS SDK sent for "hello,world\n"
    assertEquals(0xae8b14860a799888L, Checksums.crc64nvme(bytes("123456789")));
    assertEquals("aKhRWQ==", Checksums.of("crc32", bytes("hello,world\n")));
    assertEquals("4waSgw==", Checksums.of("crc32c", bytes("123456789")));
    assertEquals("98O8HYCOBHMq32eZZczDTKeuNEE=", Checksums.of("sha1", bytes("123456789")));
    assertEquals("FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=", Checksums.of("sha256", bytes("123456789")));
    assertEquals("rosUhgp5mIg=", Checksums.of("crc64nvme", bytes("123456789")));
  }

  /**
   * The checksum of two contents one after the other, made from each one's (a full-object checksum from a multipart
   * upload's parts), is the checksum of the whole: for each CRC, at lengths that exercise every bit of the shift (0, 1,
   * odd, a power of two, 5 MiB + 3), and folded over three parts.
   */
  @Test
  void crcsOfPartsCombineIntoTheWholesCrc() {
    java.util.Random random = new java.util.Random(7);
    for (String algorithm : Checksums.LINEAR) {
      for (int[] lengths : new int[][] {{0, 0}, {1, 0}, {0, 1}, {13, 1}, {1, 4096}, {777, 5 * 1024 * 1024 + 3}}) {
        byte[] a = new byte[lengths[0]];
        byte[] b = new byte[lengths[1]];
        random.nextBytes(a);
        random.nextBytes(b);
        byte[] whole = new byte[a.length + b.length];
        System.arraycopy(a, 0, whole, 0, a.length);
        System.arraycopy(b, 0, whole, a.length, b.length);
        assertEquals(Checksums.of(algorithm, whole), Checksums.combine(algorithm, Checksums.of(algorithm, a),
            Checksums.of(algorithm, b), b.length), algorithm + " " + lengths[0] + "+" + lengths[1]);
      }
      String folded = Checksums.of(algorithm, bytes("hello"));
      folded = Checksums.combine(algorithm, folded, Checksums.of(algorithm, bytes(", ")), 2);
      folded = Checksums.combine(algorithm, folded, Checksums.of(algorithm, bytes("world")), 5);
      assertEquals(Checksums.of(algorithm, bytes("hello, world")), folded, algorithm);
    }
  }

  @Test
  void unsignedChunksWithATrailer() {
    String crc = Checksums.of("crc32", bytes("hello, world"));
    AwsChunked.Decoded d = AwsChunked.decode(bytes("5\r\nhello\r\n7\r\n, world\r\n0\r\nx-amz-checksum-crc32:" + crc
        + "\r\n\r\n"), null, true, 12);
    assertArrayEquals(bytes("hello, world"), d.content());
    assertEquals(Map.of("x-amz-checksum-crc32", crc), d.trailers());
  }

  @Test
  void malformedBodies() {
    assertEquals(S3Error.INVALID_REQUEST, refusal(() -> AwsChunked.decode(bytes("zz\r\nhello\r\n0\r\n\r\n"), null,
        false, 5)));
    assertEquals(S3Error.INCOMPLETE_BODY, refusal(() -> AwsChunked.decode(bytes("5\r\nhel"), null, false, 3)));
    assertEquals(S3Error.INCOMPLETE_BODY, refusal(() -> AwsChunked.decode(bytes("5\r\nhello\r\n0\r\n\r\n"), null,
        false, 4))); // a chunk past the decoded length
    assertEquals(S3Error.INCOMPLETE_BODY, refusal(() -> AwsChunked.decode(bytes("3\r\nhel\r\n0\r\n\r\n"), null,
        false, 5))); // chunks short of it
    assertEquals(S3Error.INVALID_REQUEST, refusal(() -> AwsChunked.decode(bytes("3\r\nhello\r\n0\r\n\r\n"), null,
        false, 5))); // a chunk longer than its size
    assertEquals(S3Error.INVALID_REQUEST, refusal(() -> AwsChunked.decode(bytes("5\r\nhello\r\n0\r\n\r\nmore"), null,
        false, 5)));
    assertEquals(S3Error.INVALID_REQUEST, refusal(() -> AwsChunked.decode(bytes("5\r\nhello\r\n0\r\nx-a:b\r\n\r\n"),
        null, false, 5))); // a trailer that was not declared
    assertEquals(S3Error.INVALID_REQUEST, refusal(() -> AwsChunked.decode(bytes("5;" + "x".repeat(5000)
        + "\r\nhello\r\n0\r\n\r\n"), null, false, 5)));
    assertEquals(S3Error.INVALID_REQUEST, refusal(() -> AwsChunked.decode(bytes("fffffffffffffffffff\r\n"), null,
        false, 5)));
  }

  static Map<String, String> headers(String... pairs) {
    Map<String, String> h = new HashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      h.put(pairs[i].toLowerCase(), pairs[i + 1]);
    }
    return h;
  }

  static S3Error refused(String... pairs) {
    Map<String, String> h = headers(pairs);
    return refusal(() -> Upload.of(name -> h.get(name.toLowerCase())));
  }

  @Test
  void headersRefusedBeforeTheBodyIsRead() {
    assertEquals(S3Error.MISSING_CONTENT_LENGTH, refused("x-amz-content-sha256", "UNSIGNED-PAYLOAD"));
    assertEquals(S3Error.INVALID_ARGUMENT, refused("Content-Length", "-1"));
    assertEquals(S3Error.ENTITY_TOO_LARGE, refused("Content-Length", Long.toString(Upload.MAX_OBJECT_BYTES + 1)));
    assertEquals(S3Error.ENTITY_TOO_LARGE, refused("Content-Length", "100", "x-amz-content-sha256",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer", "x-amz-checksum-crc32",
        "x-amz-decoded-content-length", Long.toString(Upload.MAX_OBJECT_BYTES + 1)));
    assertEquals(S3Error.MISSING_CONTENT_LENGTH, refused("Content-Length", "100", "x-amz-content-sha256",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"));
    assertEquals(S3Error.INVALID_ARGUMENT, refused("Content-Length", "100", "x-amz-content-sha256",
        "STREAMING-SOMETHING-ELSE", "x-amz-decoded-content-length", "10"));
    assertEquals(S3Error.INVALID_REQUEST, refused("Content-Length", "100", "x-amz-content-sha256",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length", "10", "x-amz-trailer",
        "x-amz-checksum-crc32"));
    assertEquals(S3Error.INVALID_REQUEST, refused("Content-Length", "100", "x-amz-content-sha256",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "x-amz-decoded-content-length", "10"));
    assertEquals(S3Error.INVALID_REQUEST, refused("Content-Length", "100", "x-amz-checksum-crc32", "AAAAAA==",
        "x-amz-checksum-sha1", "AAAA"));
  }

  @Test
  void whatARefusedRequestsUnreadBodyMayCostToKeepItsConnection() {
    assertTrue(S3Api.drainable(null, null, false)); // no body
    assertTrue(S3Api.drainable(Long.toString(S3Api.MAX_DRAINED_BYTES), null, false));
    assertFalse(S3Api.drainable(Long.toString(S3Api.MAX_DRAINED_BYTES + 1), null, false));
    assertFalse(S3Api.drainable("5", null, true)); // the client waits, and sends nothing after a refusal
    assertFalse(S3Api.drainable("5", "chunked", false));
    assertFalse(S3Api.drainable(null, "chunked", false)); // of no known length
    assertFalse(S3Api.drainable("-5", null, false));
  }
}
