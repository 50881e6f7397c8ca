package io.mailgate.api.s3;

import io.mailgate.api.sigv4.ChunkSignatures;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A streaming upload's body ({@code Content-Encoding: aws-chunked}) decoded: chunks of
 * {@code hex-size[;chunk-signature=signature]CRLF data CRLF}, a last chunk of size 0, then, when the upload declared a
 * trailer, its headers ({@code name:value CRLF} each, {@code x-amz-trailer-signature} last when the chunks are signed)
 * and an empty line.
 * Signed chunks are checked in order against the request's {@link ChunkSignatures}: a chunk changed, dropped or moved
 * is a SignatureDoesNotMatch, and nothing of the upload is kept. Plain Java over the bytes received.
 */
final class AwsChunked {
  /** Longer than any chunk header a client writes (a size, and a signature of 64 hex digits). */
  private static final int MAX_LINE = 4096;
  private static final String SIGNATURE = "chunk-signature=";
  private static final String TRAILER_SIGNATURE = "x-amz-trailer-signature";

  /** The content, and the trailing headers by their lower-case names (the trailer's signature left out). */
  record Decoded(byte[] content, Map<String, String> trailers) {}

  private final byte[] body;
  private int pos;

  private AwsChunked(byte[] body) {
    this.body = body;
  }

  /**
   * @param chunks the signatures the chunks must have; null for unsigned chunks ({@code STREAMING-UNSIGNED-PAYLOAD-
   *     TRAILER})
   * @param trailer whether the upload declared trailing headers
   * @param decodedLength {@code x-amz-decoded-content-length}: what the chunks must add up to
   */
  static Decoded decode(byte[] body, ChunkSignatures chunks, boolean trailer, long decodedLength) {
    if (decodedLength < 0 || decodedLength > body.length) {
      throw new S3Exception(S3Error.INCOMPLETE_BODY);
    }
    return new AwsChunked(body).read(chunks, trailer, (int) decodedLength);
  }

  private Decoded read(ChunkSignatures chunks, boolean trailer, int decodedLength) {
    byte[] content = new byte[decodedLength];
    int filled = 0;
    while (true) {
      String header = line();
      int semi = header.indexOf(';');
      long size = hexSize(semi < 0 ? header : header.substring(0, semi));
      String signature = semi < 0 ? null : header.substring(semi + 1).strip();
      if (chunks != null && (signature == null || !signature.startsWith(SIGNATURE))) {
        throw malformed("a chunk without its chunk-signature");
      }
      if (size > decodedLength - filled || size > body.length - pos) {
        throw new S3Exception(S3Error.INCOMPLETE_BODY);
      }
      int n = (int) size;
      if (chunks != null && !chunks.chunk(signature.substring(SIGNATURE.length()), ByteBuffer.wrap(body, pos, n))) {
        throw new S3Exception(S3Error.SIGNATURE_DOES_NOT_MATCH);
      }
      System.arraycopy(body, pos, content, filled, n);
      filled += n;
      pos += n;
      if (n == 0) {
        break;
      }
      if (!line().isEmpty()) {
        throw malformed("a chunk longer than its size");
      }
    }
    if (filled != decodedLength) {
      throw new S3Exception(S3Error.INCOMPLETE_BODY);
    }
    Map<String, String> trailers = new LinkedHashMap<>();
    StringBuilder signed = new StringBuilder();
    String trailerSignature = null;
    for (String line = line(); !line.isEmpty(); line = line()) {
      int colon = line.indexOf(':');
      if (!trailer || colon <= 0 || trailerSignature != null) {
        throw malformed("a trailer that is not one");
      }
      String name = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).strip();
      if (name.equals(TRAILER_SIGNATURE)) {
        trailerSignature = value;
      } else if (trailers.put(name, value) != null) {
        throw malformed("a trailer given twice");
      } else {
        signed.append(name).append(':').append(value).append('\n');
      }
    }
    if (chunks != null && trailer && (trailerSignature == null || !chunks.trailer(trailerSignature,
        signed.toString()))) {
      throw new S3Exception(S3Error.SIGNATURE_DOES_NOT_MATCH);
    }
    if (pos != body.length) {
      throw malformed("bytes after its end");
    }
    return new Decoded(content, trailers);
  }

  /** The text up to the next CRLF (consumed); the body's end without one is an incomplete body. */
  private String line() {
    int limit = Math.min(body.length, pos + MAX_LINE);
    for (int i = pos; i + 1 < limit; i++) {
      if (body[i] == '\r' && body[i + 1] == '\n') {
        String s = new String(body, pos, i - pos, StandardCharsets.ISO_8859_1);
        pos = i + 2;
        return s;
      }
    }
    throw limit == body.length ? new S3Exception(S3Error.INCOMPLETE_BODY) : malformed("a line too long");
  }

  private static long hexSize(String s) {
    if (s.isEmpty() || s.length() > 15) {
      throw malformed("a chunk size that is not one");
    }
    long size = 0;
    for (int i = 0; i < s.length(); i++) {
      int d = Character.digit(s.charAt(i), 16);
      if (d < 0) {
        throw malformed("a chunk size that is not one");
      }
      size = size * 16 + d;
    }
    return size;
  }

  private static S3Exception malformed(String what) {
    return new S3Exception(S3Error.INVALID_REQUEST, "The aws-chunked body is malformed: " + what + ".");
  }
}
