package io.mailgate.smtp;

/**
 * A handler's deliberate "not now" (a client throttled for failed logins, say): answered as any failed stage is
 * (454 for AUTH), but not logged as the handler failing.
 */
public final class TemporaryRefusal extends RuntimeException {
  public TemporaryRefusal(String message) {
    super(message, null, false, false);
  }
}
