package io.mailgate.api.sigv4;

/** The two SES wire protocols; they spell authentication errors differently. */
public enum SesApi {
  /** SES v2: REST with JSON bodies; errors as {@code x-amzn-ErrorType} plus {@code {"message": ...}}. */
  V2_REST_JSON,
  /** SES v1 (2010-12-01): AWS Query protocol; errors as {@code <ErrorResponse>} XML. */
  V1_QUERY
}
