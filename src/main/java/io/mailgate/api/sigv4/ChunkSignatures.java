package io.mailgate.api.sigv4;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import javax.crypto.spec.SecretKeySpec;

/**
 * The signatures of a streaming upload's chunks ({@code STREAMING-AWS4-HMAC-SHA256-PAYLOAD}, and {@code -TRAILER}):
 * each chunk is signed with the request's signing key over the signature before it, the first chunk's over the
 * request's own (its seed), so that no chunk can be changed, dropped or moved; the trailing headers are signed last,
 * the same way. Not thread-safe: one instance per upload, checked in order.
 */
public final class ChunkSignatures {
  private final SecretKeySpec key;
  private final String amzDate;
  private final String scope;
  private String previous;

  ChunkSignatures(SecretKeySpec key, String amzDate, String scope, String seed) {
    this.key = key;
    this.amzDate = amzDate;
    this.scope = scope;
    this.previous = seed;
  }

  /** Whether {@code signature} is the next chunk's, over {@code data} (the chunk's bytes); the chain moves on. */
  public boolean chunk(String signature, ByteBuffer data) {
    StringBuilder hex = new StringBuilder(64);
    SigV4Verifier.appendHex(hex, SigningKeys.sha256(data));
    return next("AWS4-HMAC-SHA256-PAYLOAD", SigV4Verifier.EMPTY_SHA256 + "\n" + hex, signature);
  }

  /**
   * Whether {@code signature} is the trailer's, over its headers as the client wrote them before the signature
   * ({@code name:value\n} each, {@code x-amz-trailer-signature} left out).
   */
  public boolean trailer(String signature, String headers) {
    StringBuilder hex = new StringBuilder(64);
    SigV4Verifier.appendHex(hex, SigningKeys.sha256(headers.getBytes(StandardCharsets.ISO_8859_1)));
    return next("AWS4-HMAC-SHA256-TRAILER", hex.toString(), signature);
  }

  private boolean next(String algorithm, String hashes, String signature) {
    String toSign = algorithm + "\n" + amzDate + "\n" + scope + "\n" + previous + "\n" + hashes;
    StringBuilder expected = new StringBuilder(64);
    SigV4Verifier.appendHex(expected, SigningKeys.hmac(key, toSign.getBytes(StandardCharsets.ISO_8859_1)));
    boolean matches = MessageDigest.isEqual(expected.toString().getBytes(StandardCharsets.ISO_8859_1),
        signature.getBytes(StandardCharsets.ISO_8859_1));
    previous = expected.toString();
    return matches;
  }
}
