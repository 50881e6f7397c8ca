package io.mailgate.delivery;

import java.time.Duration;
import java.util.List;

/**
 * How a message is delivered: through a relay ({@code relay}, null in direct mode) or straight to
 * the recipient's MX, whether TLS is required, and how long soft failures are retried. The node's
 * config gives them; the message's configuration set overrides them with its DeliveryOptions
 * (SendingPoolName, TlsPolicy, MaxDeliverySeconds). {@code sources} are the local addresses its connections leave
 * from, taken in turn (empty: the system chooses). {@code tlsReport}: the settings of a TLS report's mail
 * ({@link #forTlsReport}).
 */
public record DeliverySettings(Mode mode, SmtpRoute relay, TlsPolicy tlsPolicy, Duration maxDeliveryTime,
    List<SendingPools.Source> sources, boolean tlsReport) {

  public DeliverySettings {
    sources = List.copyOf(sources);
  }

  public DeliverySettings(Mode mode, SmtpRoute relay, TlsPolicy tlsPolicy, Duration maxDeliveryTime,
      List<SendingPools.Source> sources) {
    this(mode, relay, tlsPolicy, maxDeliveryTime, sources, false);
  }

  /**
   * These settings for the mail of a TLS report, which RFC 8460 (3) says is delivered despite any TLS failure and its
   * session left out of the next report: straight to the MX hosts, TLS when offered and plain text when it fails
   * (TlsPolicy OPTIONAL), no MTA-STS policy or TLSA records honoured, the sessions not counted. Through a relay,
   * unchanged: the node's TLS with its own relay is not the recipient domain's.
   */
  public DeliverySettings forTlsReport() {
    return mode == Mode.RELAY ? this : new DeliverySettings(mode, relay, TlsPolicy.OPTIONAL, maxDeliveryTime, sources,
        true);
  }

  public enum Mode { RELAY, DIRECT }

  /** SES's TlsPolicy: REQUIRE fails delivery rather than fall back to plain text. */
  public enum TlsPolicy { OPTIONAL, REQUIRE }
}
