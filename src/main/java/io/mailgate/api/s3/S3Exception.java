package io.mailgate.api.s3;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A request refused with an S3 error: its code, message and the elements S3 adds to its error document about the
 * resource ({@code Key}, {@code BucketName}, {@code Method}...). No stack trace: it is an answer, not a bug.
 */
final class S3Exception extends RuntimeException {
  private final S3Error error;
  private final List<Map.Entry<String, String>> details = new ArrayList<>(2);

  S3Exception(S3Error error) {
    this(error, error.message);
  }

  S3Exception(S3Error error, String message) {
    super(message, null, false, false);
    this.error = error;
  }

  S3Error error() {
    return error;
  }

  /** Adds an element to the error document, after {@code Message}. */
  S3Exception with(String element, String value) {
    details.add(Map.entry(element, value));
    return this;
  }

  List<Map.Entry<String, String>> details() {
    return details;
  }
}
