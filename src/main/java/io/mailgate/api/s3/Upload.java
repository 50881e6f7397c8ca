package io.mailgate.api.s3;

import io.mailgate.api.sigv4.ChunkSignatures;
import io.mailgate.api.sigv4.SigV4Verifier;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * What a PutObject's headers say of its body, checked before it is read: its length (Content-Length, required, as S3
 * requires it), how it is signed ({@code x-amz-content-sha256}: the body's SHA-256, {@code UNSIGNED-PAYLOAD}, or a
 * streaming upload in aws-chunked encoding with {@code x-amz-decoded-content-length} and maybe a trailer), and the
 * digests its content must have ({@code Content-MD5}, one {@code x-amz-checksum-*}). Plain Java.
 */
final class Upload {
  /**
   * The largest object a PUT writes. S3 takes 5 GB in one PUT; here an object is a row read whole into memory
   * (GetObject, import jobs), so files are kept to what a node holds comfortably: 32 MiB.
   */
  static final long MAX_OBJECT_BYTES = 32L * 1024 * 1024;
  /** What chunk headers and trailers may add to a streaming upload's content (a chunk of 1 byte is valid). */
  static final long MAX_OVERHEAD = 1024 * 1024;

  private final long length;
  private final String claimed;
  private final long decodedLength;
  private final String trailer;
  private final String contentMd5;
  private final Map.Entry<String, String> checksum;

  /** The content as written, its hex MD5 (the ETag), and the checksum to echo ({@code crc32} and its value). */
  record Checked(byte[] bytes, String md5, Map.Entry<String, String> checksum) {
    /** Bytes the node has (a part copied): their MD5, and their checksum by {@code algorithm} (null: none). */
    static Checked of(byte[] bytes, String algorithm) {
      return new Checked(bytes, HexFormat.of().formatHex(Checksums.digest("MD5", bytes)),
          algorithm == null ? null : Map.entry(algorithm, Checksums.of(algorithm, bytes)));
    }

    /** The content as a Buffer over the same bytes, not a copy of them ({@code Buffer.buffer(byte[])} copies). */
    io.vertx.core.buffer.Buffer buffer() {
      return io.vertx.core.internal.buffer.BufferInternal.buffer(io.netty.buffer.Unpooled.unreleasableBuffer(
          io.netty.buffer.Unpooled.wrappedBuffer(bytes)));
    }
  }

  private Upload(long length, String claimed, long decodedLength, String trailer, String contentMd5,
      Map.Entry<String, String> checksum) {
    this.length = length;
    this.claimed = claimed;
    this.decodedLength = decodedLength;
    this.trailer = trailer;
    this.contentMd5 = contentMd5;
    this.checksum = checksum;
  }

  /** The upload a request's headers describe; refused (S3's errors) before anything is read. */
  static Upload of(Function<String, String> header) {
    return of(header, MAX_OBJECT_BYTES, true);
  }

  /**
   * The body a request's headers describe, of at most {@code maxBytes}.
   *
   * @param contentChecksums whether {@code x-amz-checksum-*} headers are the body's (an object's content, a part's);
   *     a CompleteMultipartUpload's describe the object it completes, not its document
   */
  static Upload of(Function<String, String> header, long maxBytes, boolean contentChecksums) {
    String lengthHeader = header.apply("Content-Length");
    if (lengthHeader == null) {
      throw new S3Exception(S3Error.MISSING_CONTENT_LENGTH);
    }
    long length = number(lengthHeader, "Content-Length");
    String claimed = header.apply("x-amz-content-sha256");
    boolean streaming = claimed != null && claimed.startsWith("STREAMING-");
    if (streaming && !claimed.equals(SigV4Verifier.STREAMING_SIGNED) && !claimed.equals(
        SigV4Verifier.STREAMING_SIGNED_TRAILER) && !claimed.equals(SigV4Verifier.STREAMING_UNSIGNED_TRAILER)) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, "x-amz-content-sha256 must be the payload's SHA-256, "
          + "UNSIGNED-PAYLOAD or a streaming mode S3 knows, not '" + claimed + "'.");
    }
    long decoded = length;
    if (streaming) {
      String d = header.apply("x-amz-decoded-content-length");
      if (d == null) {
        throw new S3Exception(S3Error.MISSING_CONTENT_LENGTH, "A streaming upload needs "
            + "x-amz-decoded-content-length.");
      }
      decoded = number(d, "x-amz-decoded-content-length");
    }
    if (decoded > maxBytes || length > maxBytes + MAX_OVERHEAD) {
      throw new S3Exception(S3Error.ENTITY_TOO_LARGE).with("ProposedSize", Long.toString(decoded))
          .with("MaxSizeAllowed", Long.toString(maxBytes));
    }
    String trailer = header.apply("x-amz-trailer");
    if (trailer != null) {
      trailer = trailer.strip().toLowerCase(Locale.ROOT);
      if (!streaming || claimed.equals(SigV4Verifier.STREAMING_SIGNED) || !trailer.startsWith(Checksums.HEADER)
          || !Checksums.ALGORITHMS.contains(trailer.substring(Checksums.HEADER.length()))) {
        throw new S3Exception(S3Error.INVALID_REQUEST, "x-amz-trailer names a trailer this upload cannot have: '"
            + trailer + "'.");
      }
    } else if (streaming && !claimed.equals(SigV4Verifier.STREAMING_SIGNED)) {
      throw new S3Exception(S3Error.INVALID_REQUEST, "A trailing upload (" + claimed + ") needs x-amz-trailer.");
    }
    Map.Entry<String, String> checksum = null;
    for (String algorithm : contentChecksums ? Checksums.ALGORITHMS : List.<String>of()) {
      String value = header.apply(Checksums.HEADER + algorithm);
      if (value != null) {
        if (checksum != null || trailer != null) {
          throw new S3Exception(S3Error.INVALID_REQUEST, "Expecting a single x-amz-checksum- header. Multiple "
              + "checksum Types are not allowed.");
        }
        checksum = Map.entry(algorithm, value.strip());
      }
    }
    return new Upload(length, claimed, decoded, trailer, header.apply("Content-MD5"), checksum);
  }

  long length() {
    return length;
  }

  /** Whether the body's integrity is checked: a Content-MD5 or a checksum (in a header or a trailer) came with it. */
  boolean digested() {
    return contentMd5 != null || checksum != null || trailer != null;
  }

  /**
   * The bytes the node holds for this body at once: the body as it came, and an aws-chunked body's decoded content
   * beside it (until the content is written, both are referenced).
   */
  long inMemory() {
    return streaming() ? length + decodedLength : length;
  }

  private boolean streaming() {
    return claimed != null && claimed.startsWith("STREAMING-");
  }

  /**
   * The body's SHA-256 in hex, for the signature, when the signature covers it (a body signed by its hash); null for
   * an unsigned or streamed body. A body whose hash is not the one claimed is XAmzContentSHA256Mismatch.
   */
  String hashed(byte[] body) {
    if (streaming() || "UNSIGNED-PAYLOAD".equals(claimed)) {
      return null;
    }
    String hash = SigV4Verifier.bodySha256(ByteBuffer.wrap(body));
    if (claimed != null && !claimed.equals(hash)) {
      throw new S3Exception(S3Error.CONTENT_SHA256_MISMATCH).with("ClientComputedContentSHA256", claimed)
          .with("S3ComputedContentSHA256", hash);
    }
    return hash;
  }

  /**
   * The content of an authenticated body: decoded from aws-chunked (each chunk checked against {@code chunks}, null
   * when they are unsigned), then checked against the Content-MD5 and checksum given (header or trailer).
   */
  Checked content(byte[] body, ChunkSignatures chunks) {
    byte[] content = body;
    Map.Entry<String, String> expected = checksum;
    if (streaming()) {
      AwsChunked.Decoded decoded = AwsChunked.decode(body, chunks, trailer != null, decodedLength);
      content = decoded.content();
      if (trailer != null) {
        String value = decoded.trailers().get(trailer);
        if (value == null) {
          throw new S3Exception(S3Error.INVALID_REQUEST, "The trailer " + trailer + " that x-amz-trailer declared "
              + "is not there.");
        }
        expected = Map.entry(trailer.substring(Checksums.HEADER.length()), value);
      }
    }
    byte[] md5 = Checksums.digest("MD5", content);
    if (contentMd5 != null) {
      byte[] given;
      try {
        given = java.util.Base64.getDecoder().decode(contentMd5.strip());
      } catch (IllegalArgumentException e) {
        given = null;
      }
      if (given == null || given.length != 16) {
        throw new S3Exception(S3Error.INVALID_DIGEST).with("Content-MD5", contentMd5);
      }
      if (!java.security.MessageDigest.isEqual(given, md5)) {
        throw new S3Exception(S3Error.BAD_DIGEST).with("ExpectedDigest", contentMd5)
            .with("CalculatedDigest", java.util.Base64.getEncoder().encodeToString(md5));
      }
    }
    if (expected != null) {
      String computed = Checksums.of(expected.getKey(), content);
      if (!computed.equals(expected.getValue())) {
        throw new S3Exception(S3Error.BAD_DIGEST, "The " + expected.getKey().toUpperCase(Locale.ROOT)
            + " you specified did not match the calculated checksum.");
      }
    }
    return new Checked(content, HexFormat.of().formatHex(md5), expected);
  }

  private static long number(String value, String name) {
    long n = length(value);
    if (n < 0) {
      throw new S3Exception(S3Error.INVALID_ARGUMENT, name + " is not a length: '" + value + "'.");
    }
    return n;
  }

  /** A length header's value (decimal digits, at most 15 of them), or -1 when it is not one. */
  static long length(String value) {
    String v = value.strip();
    return v.isEmpty() || v.length() > 15 || !v.chars().allMatch(c -> c >= '0' && c <= '9') ? -1 : Long.parseLong(v);
  }
}
