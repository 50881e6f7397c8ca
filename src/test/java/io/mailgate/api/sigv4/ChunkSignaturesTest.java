package io.mailgate.api.sigv4;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * A streaming upload's chunk signatures, checked against what the AWS SDK for Java 2.57.8 sent for
 * {@code putObject(..., RequestBody.fromString("hello,world\n"))} with secret {@code SECRET} at 20261205T161853Z
 * (its default to an http endpoint: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, a CRC32 trailer).
 */
class ChunkSignaturesTest {
  static final String SEED = "a992283c8f44a7d36fe33837fa9ea1ab165c565d10709e8c4abf8a319dbf2f0a";
  static final String FIRST = "dc17c389ca939a2585134ed5f997e6dac921a76851f43038a4405e4a8cb55de2";
  static final String LAST = "7aff019c9ebd2ba6feda4547c1b1eb72564a58ddccce858f194141224279ea83";
  static final String TRAILER = "b2289cb17a3236f932af1ac7861864283ac7a9f1e66fd85b7b6cb50f6b638618";

  static ChunkSignatures chain() {
    return new ChunkSignatures(new SigningKeys(10).signingKey("SECRET", "20261205", "us-east-1", "s3"),
        "20261205T161853Z", "20261205/us-east-1/s3/aws4_request", SEED);
  }

  static ByteBuffer bytes(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void theSdksChunksAndTrailerVerify() {
    ChunkSignatures c = chain();
    assertTrue(c.chunk(FIRST, bytes("hello,world\n")));
    assertTrue(c.chunk(LAST, bytes("")));
    assertTrue(c.trailer(TRAILER, "x-amz-checksum-crc32:aKhRWQ==\n"));
  }

  @Test
  void changedDataAMovedChunkOrAnotherTrailerDoNot() {
    assertFalse(chain().chunk(FIRST, bytes("hello,world!")));
    assertFalse(chain().chunk(LAST, bytes(""))); // the last chunk first: its signature chains from the first's
    ChunkSignatures c = chain();
    c.chunk(FIRST, bytes("hello,world\n"));
    c.chunk(LAST, bytes(""));
    assertFalse(c.trailer(TRAILER, "x-amz-checksum-crc32:AAAAAA==\n"));
    // a chunk that failed still moves the chain on as it should have been: what follows a forged chunk fails too
    ChunkSignatures forged = chain();
    assertFalse(forged.chunk(FIRST, bytes("HELLO,WORLD\n")));
    assertFalse(forged.chunk(LAST, bytes("")));
  }
}
