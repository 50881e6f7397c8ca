package io.mailgate.api.sigv4;

/**
 * Why a request failed authentication, with the code and HTTP status each SES API answers.
 *
 * <table>
 *   <caption>What SES answers</caption>
 *   <tr><th>kind</th><th>v2 REST-JSON ({@code x-amzn-ErrorType}, status)</th><th>v1 Query ({@code Code}, status)</th></tr>
 *   <tr><td>{@link #MISSING_AUTHENTICATION_TOKEN}</td><td>MissingAuthenticationTokenException, 403</td>
 *       <td>MissingAuthenticationToken, 403</td></tr>
 *   <tr><td>{@link #INCOMPLETE_SIGNATURE}</td><td>IncompleteSignatureException, 403</td><td>IncompleteSignature, 400</td></tr>
 *   <tr><td>{@link #UNRECOGNIZED_CLIENT}</td><td>UnrecognizedClientException, 403</td><td>InvalidClientTokenId, 403</td></tr>
 *   <tr><td>{@link #SIGNATURE_DOES_NOT_MATCH}</td><td>SignatureDoesNotMatch, 403</td><td>SignatureDoesNotMatch, 403</td></tr>
 *   <tr><td>{@link #SIGNATURE_EXPIRED}</td><td>SignatureDoesNotMatch, 403</td><td>SignatureDoesNotMatch, 403</td></tr>
 *   <tr><td>{@link #REQUEST_EXPIRED}</td><td>SignatureDoesNotMatch, 403</td><td>RequestExpired, 400</td></tr>
 *   <tr><td>{@link #TOO_MANY_FAILURES}</td><td>TooManyRequestsException, 429</td><td>Throttling, 400</td></tr>
 * </table>
 *
 * <p>Sources: AWS's common-errors tables (Query: IncompleteSignature and RequestExpired 400, the others 403;
 * REST-JSON services list IncompleteSignature as 403) and error bodies SES returned to SDK users (v1 answers
 * {@code SignatureDoesNotMatch} with "Signature expired: ..." for a skewed {@code X-Amz-Date}). For v2 the code
 * SES clients see for a bad signature is {@code SignatureDoesNotMatch} too (the project's issue names it; other
 * REST-JSON services use {@code InvalidSignatureException}). The AWS SDKs treat
 * {@code InvalidSignatureException}, {@code SignatureDoesNotMatch} and {@code RequestExpired} as possible clock
 * skew and retry with an adjusted clock when the response carries a {@code Date} header, so send one.
 */
public enum SigV4Error {
  /** No {@code Authorization} header and no {@code X-Amz-Algorithm} query parameter. */
  MISSING_AUTHENTICATION_TOKEN("MissingAuthenticationTokenException", 403, "MissingAuthenticationToken", 403),
  /** Authorization present but malformed: a missing part, a bad credential scope or date format. */
  INCOMPLETE_SIGNATURE("IncompleteSignatureException", 403, "IncompleteSignature", 400),
  /** The access key id is not known. */
  UNRECOGNIZED_CLIENT("UnrecognizedClientException", 403, "InvalidClientTokenId", 403),
  /** Well-formed, known key, but the signature (or its scope's date or service) is wrong. */
  SIGNATURE_DOES_NOT_MATCH("SignatureDoesNotMatch", 403, "SignatureDoesNotMatch", 403),
  /** The signing time is outside the allowed clock skew. */
  SIGNATURE_EXPIRED("SignatureDoesNotMatch", 403, "SignatureDoesNotMatch", 403),
  /** A presigned URL used after {@code X-Amz-Date + X-Amz-Expires}. */
  REQUEST_EXPIRED("SignatureDoesNotMatch", 403, "RequestExpired", 400),
  /**
   * Not checked: the client's address named too many access keys that do not exist, and this one would cost a lookup
   * ({@link io.mailgate.api.LoginFailures}). Mailgate's own: AWS never says so; the SDKs retry it after a while.
   */
  TOO_MANY_FAILURES("TooManyRequestsException", 429, "Throttling", 400);

  private final String v2Code;
  private final int v2Status;
  private final String v1Code;
  private final int v1Status;

  SigV4Error(String v2Code, int v2Status, String v1Code, int v1Status) {
    this.v2Code = v2Code;
    this.v2Status = v2Status;
    this.v1Code = v1Code;
    this.v1Status = v1Status;
  }

  /** The error code: the {@code x-amzn-ErrorType} value for v2, the {@code <Code>} for v1. */
  public String code(SesApi api) {
    return api == SesApi.V2_REST_JSON ? v2Code : v1Code;
  }

  public int httpStatus(SesApi api) {
    return api == SesApi.V2_REST_JSON ? v2Status : v1Status;
  }
}
