package io.mailgate.api.sigv4;

import java.util.Objects;

/**
 * The parts of an HTTP request that SigV4 covers, exactly as received.
 *
 * @param method HTTP method, upper case
 * @param rawPath the path as received, still percent-encoded (Vert.x {@code request.path()}); may be empty
 * @param rawQuery the query string as received without the {@code ?}, still encoded; null or empty when absent
 * @param headers the request headers
 * @param body the request body; an empty array when there is none. Null means "not available": the verifier then
 *     trusts the {@code x-amz-content-sha256} header (or assumes an empty body without it), which proves nothing
 *     about the bytes the caller will read, so pass the body whenever you have it.
 * @param bodySha256 the SHA-256 of the body received, in lower-case hex, when the caller hashed it already (a large
 *     body, off the event loop); it stands for {@code body}, which is then null. Null: the verifier hashes {@code body}
 */
public record SigV4Request(String method, String rawPath, String rawQuery, RequestHeaders headers, byte[] body,
    String bodySha256) {

  public SigV4Request {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(rawPath, "rawPath");
    Objects.requireNonNull(headers, "headers");
  }

  public SigV4Request(String method, String rawPath, String rawQuery, RequestHeaders headers, byte[] body) {
    this(method, rawPath, rawQuery, headers, body, null);
  }
}
