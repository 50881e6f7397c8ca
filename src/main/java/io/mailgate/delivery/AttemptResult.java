package io.mailgate.delivery;

/** What one delivery attempt to one recipient came to. */
public sealed interface AttemptResult {

  /** The host that answered (or that we tried), for events' remoteMtaIp / reportingMTA. */
  String remoteMta();

  /** The server accepted the message (2xx after DATA). */
  record Delivered(SmtpResponse reply, String remoteMta) implements AttemptResult {}

  /** The server refused it with a 4xx or 5xx reply at some step of the transaction. */
  record Rejected(SmtpResponse reply, String remoteMta) implements AttemptResult {}

  /** No SMTP answer decided it: connection refused or lost, timeout, TLS failure, DNS trouble. */
  record Failed(String reason, String remoteMta) implements AttemptResult {}

  /**
   * Not sent: the address is on the account's suppression list or the global one, or (with {@code unsubscribedFrom},
   * the contact list and topic it names) the recipient unsubscribed from the list the message was sent for, or (with
   * {@code notValidated}, why) Auto Validation judged it below the threshold. Final, and it does not count against the
   * account's bounce rate.
   */
  record Suppressed(boolean global, String unsubscribedFrom, String notValidated) implements AttemptResult {
    public Suppressed(boolean global) {
      this(global, null, null);
    }

    public Suppressed(boolean global, String unsubscribedFrom) {
      this(global, unsubscribedFrom, null);
    }

    @Override
    public String remoteMta() {
      return null;
    }
  }

  /**
   * Not attempted, until then: the destination asked us to slow down, its hosts are set aside, no connection came in
   * time, or the node is stopping. {@code addressDown}: because the site cannot be reached from the address the
   * attempt was to leave from (it paused the site for that address, or its hosts are set aside for it), so that
   * another source address may take it now.
   */
  record Deferred(java.time.Instant until, String reason, String remoteMta, boolean addressDown)
      implements AttemptResult {
    public Deferred(java.time.Instant until, String reason, String remoteMta) {
      this(until, reason, remoteMta, false);
    }
  }
}
