package io.mailgate.smtp;

/**
 * A command that cannot be accepted as written, carrying the reply that says why.
 *
 * <p>It exists so the parsers can stop at the first problem and hand the exact reply back; it
 * has no stack trace because hostile clients can trigger it at will and it is never a bug.
 */
final class SmtpSyntaxException extends Exception {
  private static final long serialVersionUID = 1L;

  private final transient SmtpReply reply;

  SmtpSyntaxException(SmtpReply reply) {
    super(reply.text(), null, false, false);
    this.reply = reply;
  }

  SmtpReply reply() {
    return reply;
  }
}
