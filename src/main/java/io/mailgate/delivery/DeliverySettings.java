package io.mailgate.delivery;

import java.time.Duration;
import java.util.List;

/**
 * How a message is delivered: through a relay ({@code relay}, null in direct mode) or straight to
 * the recipient's MX, whether TLS is required, and how long soft failures are retried. The node's
 * config gives them; the message's configuration set overrides them with its DeliveryOptions
 * (SendingPoolName, TlsPolicy, MaxDeliverySeconds). {@code sources} are the local addresses its connections leave
 * from, taken in turn (empty: the system chooses).
 */
public record DeliverySettings(Mode mode, SmtpRoute relay, TlsPolicy tlsPolicy, Duration maxDeliveryTime,
    List<SendingPools.Source> sources) {

  public DeliverySettings {
    sources = List.copyOf(sources);
  }

  public enum Mode { RELAY, DIRECT }

  /** SES's TlsPolicy: REQUIRE fails delivery rather than fall back to plain text. */
  public enum TlsPolicy { OPTIONAL, REQUIRE }
}
