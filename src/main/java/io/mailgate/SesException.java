package io.mailgate;

/**
 * A request refused with an SES error. Thrown (or failed into a Future) anywhere on the request
 * path; the API layer maps it to the wire in one place. No stack trace: it is an answer, not a bug.
 */
public final class SesException extends RuntimeException {
  private final SesError error;

  public SesException(SesError error, String message) {
    this(error, message, null);
  }

  /** With what went wrong underneath, where the request path must tell one such cause from another. */
  public SesException(SesError error, String message, Throwable cause) {
    super(message, cause, false, false);
    this.error = error;
  }

  public SesError error() {
    return error;
  }

  public static SesException badRequest(String message) {
    return new SesException(SesError.BAD_REQUEST, message);
  }
}
