package io.mailgate.delivery;

import java.time.Duration;

/**
 * How a message is delivered: through a relay ({@code relay}, null in direct mode) or straight to
 * the recipient's MX, whether TLS is required, and how long soft failures are retried. The node's
 * config gives them; the message's configuration set overrides them with its DeliveryOptions
 * (SendingPoolName, TlsPolicy, MaxDeliverySeconds).
 */
public record DeliverySettings(Mode mode, SmtpRoute relay, TlsPolicy tlsPolicy, Duration maxDeliveryTime) {

  public enum Mode { RELAY, DIRECT }

  /** SES's TlsPolicy: REQUIRE fails delivery rather than fall back to plain text. */
  public enum TlsPolicy { OPTIONAL, REQUIRE }
}
