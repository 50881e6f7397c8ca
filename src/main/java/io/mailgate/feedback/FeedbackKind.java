package io.mailgate.feedback;

/** What an inbound message turned out to be. */
public enum FeedbackKind {
  /** A standard delivery status notification (RFC 3464 / RFC 6533). */
  DSN,
  /** A feedback-loop complaint in Abuse Reporting Format (RFC 5965). */
  ARF,
  /** A bounce whose status and recipients are only in the human-readable text. */
  NON_STANDARD_BOUNCE,
  /** An out-of-office or other automatic reply: not a delivery failure. */
  AUTO_REPLY,
  /** Nothing recognisable; the report carries whatever was found. */
  UNKNOWN
}
