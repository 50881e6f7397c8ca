package io.mailgate.delivery;

import java.time.Duration;

/**
 * How a message is delivered: through the relay or straight to the recipient's MX, whether TLS is
 * required, and how long soft failures are retried. From node config today; a configuration set
 * will override them per message (its routing, TlsPolicy and MaxDeliverySeconds).
 */
public record DeliverySettings(Mode mode, TlsPolicy tlsPolicy, Duration maxDeliveryTime) {

  public enum Mode { RELAY, DIRECT }

  /** SES's TlsPolicy: REQUIRE fails delivery rather than fall back to plain text. */
  public enum TlsPolicy { OPTIONAL, REQUIRE }

  /** Where per-configuration-set settings will plug in. */
  @FunctionalInterface
  public interface Resolver {
    DeliverySettings forConfigurationSet(String configurationSetName);
  }
}
