package io.mailgate.api.sigv4;

import java.time.Instant;

/** Outcome of verifying one request: {@link Verified} or {@link Rejected}. */
public sealed interface SigV4Result {

  /**
   * The signature is valid; the caller maps {@code accessKeyId} to its account.
   *
   * @param chunks the signatures a streaming upload's chunks must have ({@code STREAMING-AWS4-HMAC-SHA256-PAYLOAD},
   *     with or without a trailer), chained from this request's; null for any other request
   */
  record Verified(String accessKeyId, String region, String service, Instant signedAt, ChunkSignatures chunks)
      implements SigV4Result {
    public Verified(String accessKeyId, String region, String service, Instant signedAt) {
      this(accessKeyId, region, service, signedAt, null);
    }
  }

  /**
   * The request is not authenticated. Answer with {@link #code(SesApi)}, {@link #httpStatus(SesApi)} and
   * {@link #message(SesApi)} for the API the request came in on.
   *
   * @param canonicalRequest on a signature mismatch, the canonical request we computed, for a debug log (never send
   *     it to the client: AWS once did, it helps an attacker more than a user); null otherwise
   */
  record Rejected(SigV4Error error, String message, String canonicalRequest) implements SigV4Result {

    public Rejected(SigV4Error error, String message) {
      this(error, message, null);
    }

    static final String MISSING_TOKEN_V2 = "Missing Authentication Token";
    static final String MISSING_TOKEN_V1 = "Request is missing Authentication Token";

    public String code(SesApi api) {
      return error.code(api);
    }

    public int httpStatus(SesApi api) {
      return error.httpStatus(api);
    }

    /** The message text; only the missing-token message differs between the two APIs. */
    public String message(SesApi api) {
      return error == SigV4Error.MISSING_AUTHENTICATION_TOKEN ? missingTokenMessage(api) : message;
    }

    /** What each API says to a request without any authentication. */
    public static String missingTokenMessage(SesApi api) {
      return api == SesApi.V2_REST_JSON ? MISSING_TOKEN_V2 : MISSING_TOKEN_V1;
    }
  }

  default boolean verified() {
    return this instanceof Verified;
  }
}
