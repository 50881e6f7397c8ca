package io.mailgate.smtp;

import java.nio.charset.StandardCharsets;

/**
 * The replies the protocol gives on its own, as opposed to the ones handlers decide.
 *
 * <p>It exists to keep the wording of every protocol-level answer in one place, where reply
 * codes and enhanced status codes (RFC 5321 section 4.2, RFC 3463) can be checked side by side.
 */
final class Replies {

  private Replies() {}

  static final SmtpReply BYE = new SmtpReply(221, "2.0.0", "Bye");
  static final SmtpReply START_DATA =
      new SmtpReply(354, null, "End data with <CR><LF>.<CR><LF>");
  static final byte[] READY_FOR_TLS_WIRE = new SmtpReply(220, "2.0.0", "Ready to start TLS")
      .toWire().getBytes(StandardCharsets.US_ASCII);
  static final SmtpReply CANNOT_VRFY = new SmtpReply(
      252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
  static final SmtpReply HELP = SmtpReply.of(214, "2.0.0",
      "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
      "See RFC 5321");
  static final SmtpReply AUTH_SUCCEEDED =
      new SmtpReply(235, "2.7.0", "Authentication successful");
  static final SmtpReply AUTH_FAILED =
      new SmtpReply(535, "5.7.8", "Authentication credentials invalid");
  static final SmtpReply AUTH_TEMPORARY_FAILURE =
      new SmtpReply(454, "4.7.0", "Temporary authentication failure");
  static final SmtpReply AUTH_CANCELLED =
      new SmtpReply(501, "5.0.0", "Authentication cancelled");
  static final SmtpReply AUTH_BAD_RESPONSE =
      new SmtpReply(501, "5.5.2", "Invalid authentication response");
  static final SmtpReply AUTH_CHALLENGE_EMPTY = new SmtpReply(334, null, "");
  static final SmtpReply AUTH_CHALLENGE_USERNAME = new SmtpReply(334, null, "VXNlcm5hbWU6");
  static final SmtpReply AUTH_CHALLENGE_PASSWORD = new SmtpReply(334, null, "UGFzc3dvcmQ6");
  static final SmtpReply AUTH_UNKNOWN_MECHANISM =
      new SmtpReply(504, "5.5.4", "Unrecognized authentication type");
  static final SmtpReply AUTH_NEEDS_TLS = new SmtpReply(
      538, "5.7.11", "Encryption required for requested authentication mechanism");
  static final SmtpReply AUTH_REQUIRED = new SmtpReply(530, "5.7.0", "Authentication required");
  static final SmtpReply TLS_REQUIRED =
      new SmtpReply(530, "5.7.0", "Must issue a STARTTLS command first");
  static final SmtpReply UNKNOWN_COMMAND =
      new SmtpReply(500, "5.5.2", "Error: command not recognized");
  static final SmtpReply LINE_TOO_LONG = new SmtpReply(500, "5.5.2", "Error: line too long");
  /** RFC 4954 4: an authentication exchange's line over the limit. */
  static final SmtpReply AUTH_LINE_TOO_LONG =
      new SmtpReply(500, "5.5.6", "Authentication Exchange line is too long");
  static final SmtpReply TOO_MANY_JUNK_COMMANDS =
      new SmtpReply(421, "4.7.0", "Error: too many commands without mail, closing connection");
  static final SmtpReply INVALID_UTF8 =
      new SmtpReply(501, "5.5.4", "Error: invalid UTF-8 in command");
  static final SmtpReply NOT_IMPLEMENTED =
      new SmtpReply(502, "5.5.1", "Error: command not implemented");
  static final SmtpReply NEED_HELO = new SmtpReply(503, "5.5.1", "Error: send HELO/EHLO first");
  static final SmtpReply NEED_MAIL = new SmtpReply(503, "5.5.1", "Error: need MAIL command");
  static final SmtpReply NESTED_MAIL = new SmtpReply(503, "5.5.1", "Error: nested MAIL command");
  static final SmtpReply ALREADY_AUTHENTICATED =
      new SmtpReply(503, "5.5.1", "Error: already authenticated");
  static final SmtpReply AUTH_IN_TRANSACTION =
      new SmtpReply(503, "5.5.1", "Error: AUTH not permitted during a mail transaction");
  static final SmtpReply TLS_ALREADY_ACTIVE =
      new SmtpReply(503, "5.5.1", "Error: TLS already active");
  static final SmtpReply REFUSED_SEND_QUIT =
      new SmtpReply(503, "5.5.1", "Error: service refused, send QUIT");
  static final SmtpReply NO_VALID_RECIPIENTS =
      new SmtpReply(554, "5.5.1", "Error: no valid recipients");
  static final SmtpReply PIPELINED_AFTER_STARTTLS =
      new SmtpReply(554, "5.5.1", "Error: command pipelined after STARTTLS");
  static final SmtpReply INSUFFICIENT_STORAGE =
      new SmtpReply(452, "4.3.1", "Insufficient system storage, try again later");
  static final SmtpReply MESSAGE_TOO_BIG =
      new SmtpReply(552, "5.3.4", "Message size exceeds fixed maximum message size");
  static final SmtpReply TOO_MANY_RECIPIENTS =
      new SmtpReply(452, "4.5.3", "Error: too many recipients");
  static final SmtpReply TOO_MANY_ERRORS =
      new SmtpReply(421, "4.7.0", "Error: too many errors, closing connection");
  static final SmtpReply TOO_MUCH_INPUT =
      new SmtpReply(421, "4.7.0", "Error: too much pipelined input, closing connection");
  static final SmtpReply SHUTTING_DOWN =
      new SmtpReply(421, "4.3.2", "Server shutting down, closing connection");
  static final SmtpReply INTERNAL_ERROR =
      new SmtpReply(421, "4.3.0", "Internal error, closing connection");
}
