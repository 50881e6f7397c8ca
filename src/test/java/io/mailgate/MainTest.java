package io.mailgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import org.junit.jupiter.api.Test;

/** start-dev's own configuration: where it listens, where its mail goes, and its warning. */
class MainTest {
  @Test
  void thePublishedSecretOnANetworkInterfaceIsAnOpenRelay() {
    MailgateConfig defaults = MailgateConfig.defaults();
    assertTrue(Main.exposed(defaults), "0.0.0.0 and the published secret");
    assertFalse(Main.exposed(defaults.with(MailgateConfig.DEV_SECRET_ACCESS_KEY, "a secret of my own")));
    assertFalse(Main.exposed(defaults.with(MailgateConfig.HTTP_HOST, "127.0.0.1")
        .with(MailgateConfig.SMTP_SUBMISSION_HOST, "127.0.0.1")));
    assertTrue(Main.exposed(defaults.with(MailgateConfig.HTTP_HOST, "127.0.0.1")),
        "the submission port still listens everywhere");
    assertFalse(Main.exposed(defaults.with(MailgateConfig.HTTP_HOST, "localhost")
        .with(MailgateConfig.SMTP_SUBMISSION_PORT, 0)));
  }

  @Test
  void startDevListensOnThisMachineUnlessAnAddressIsNamed() {
    MailgateConfig dev = Main.devListeners(MailgateConfig.defaults());
    assertEquals("127.0.0.1", dev.get(MailgateConfig.HTTP_HOST));
    assertEquals("127.0.0.1", dev.get(MailgateConfig.SMTP_SUBMISSION_HOST));
    assertEquals("127.0.0.1", dev.get(MailgateConfig.SMTP_INBOUND_HOST));
    assertFalse(Main.exposed(dev), "no warning on loopback");
    MailgateConfig named = Main.devListeners(MailgateConfig.load(java.nio.file.Path.of("no-such-file.json"),
        java.util.Map.of("MAILGATE_HTTP_HOST", "0.0.0.0")));
    assertEquals("0.0.0.0", named.get(MailgateConfig.HTTP_HOST), "the container's choice is kept");
    assertEquals("127.0.0.1", named.get(MailgateConfig.SMTP_SUBMISSION_HOST));
    assertTrue(Main.exposed(named));
  }

  @Test
  void capturingSendsEveryMessageToTheSinkWhateverTheConfigurationSays() {
    MailgateConfig c = MailgateConfig.defaults().with(MailgateConfig.DELIVERY_MODE, "direct")
        .with(MailgateConfig.DELIVERY_SENDING_POOLS, "outside=smtp://relay.example:25 source=192.0.2.7")
        .with(MailgateConfig.DELIVERY_SOURCE_ADDRESSES, "2001:db8::7");
    MailgateConfig captured = Main.capturing(c, 40025);
    assertEquals("smtp://127.0.0.1:40025", captured.get(MailgateConfig.RELAY_URL));
    assertEquals("relay", captured.get(MailgateConfig.DELIVERY_MODE));
    assertEquals("outside=smtp://127.0.0.1:40025", captured.get(MailgateConfig.DELIVERY_SENDING_POOLS),
        "the pool keeps its name (configuration sets name it) and leads to the sink, from where the system chooses");
    assertEquals("", captured.get(MailgateConfig.DELIVERY_SOURCE_ADDRESSES), "an IPv6 source could not reach the sink");
  }
}
