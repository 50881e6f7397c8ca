package io.mailgate.delivery;

import io.mailgate.store.SuppressionStore;

/** What one delivery attempt to one recipient came to. */
public sealed interface AttemptResult {

  /** The host that answered (or that we tried), for events' remoteMtaIp / reportingMTA. */
  String remoteMta();

  /**
   * What SES's Delivery events tag as {@code ses:outgoing-ip} and {@code ses:outgoing-tls-version}: the public address
   * the connection left from (null: a private or loopback one), and its TLS protocol ({@code TLSv1.3}; null in plain
   * text).
   */
  record Outgoing(String ip, String tlsVersion) {}

  /**
   * The server accepted the message (2xx after DATA), over the connection {@code outgoing} (null: none, the mailbox
   * simulator's).
   */
  record Delivered(SmtpResponse reply, String remoteMta, Outgoing outgoing) implements AttemptResult {
    public Delivered(SmtpResponse reply, String remoteMta) {
      this(reply, remoteMta, null);
    }
  }

  /** The server refused it with a 4xx or 5xx reply at some step of the transaction. */
  record Rejected(SmtpResponse reply, String remoteMta) implements AttemptResult {}

  /** No SMTP answer decided it: connection refused or lost, timeout, TLS failure, DNS trouble. */
  record Failed(String reason, String remoteMta) implements AttemptResult {}

  /**
   * Not sent: the address is on the account's suppression list or the global one, or (with {@code unsubscribedFrom},
   * the contact list and topic it names) the recipient unsubscribed from the list the message was sent for, or (with
   * {@code notValidated}, why) Auto Validation judged it below the threshold. {@code complaint}: the account's list
   * holds it for a complaint. Final, and it does not count against the account's bounce or complaint rate.
   */
  record Suppressed(boolean global, String unsubscribedFrom, String notValidated, boolean complaint)
      implements AttemptResult {
    public Suppressed(boolean global) {
      this(global, null, null, false);
    }

    public Suppressed(boolean global, String unsubscribedFrom) {
      this(global, unsubscribedFrom, null, false);
    }

    public Suppressed(boolean global, String unsubscribedFrom, String notValidated) {
      this(global, unsubscribedFrom, notValidated, false);
    }

    /** On the suppression list {@code list} names. */
    static Suppressed on(SuppressionStore.Listed list) {
      return new Suppressed(list == SuppressionStore.Listed.GLOBAL, null, null,
          list == SuppressionStore.Listed.ACCOUNT_COMPLAINT);
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
