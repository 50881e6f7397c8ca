package io.mailgate;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import org.junit.jupiter.api.Test;

/** start-dev's warning: relaying with the README's secret while reachable from other machines. */
class MainTest {
  @Test
  void thePublishedSecretOnANetworkInterfaceIsAnOpenRelay() {
    MailgateConfig defaults = MailgateConfig.defaults();
    assertTrue(Main.openRelay(defaults), "0.0.0.0 and the published secret");
    assertFalse(Main.openRelay(defaults.with(MailgateConfig.DEV_SECRET_ACCESS_KEY, "a secret of my own")));
    assertFalse(Main.openRelay(defaults.with(MailgateConfig.HTTP_HOST, "127.0.0.1")
        .with(MailgateConfig.SMTP_SUBMISSION_HOST, "127.0.0.1")));
    assertTrue(Main.openRelay(defaults.with(MailgateConfig.HTTP_HOST, "127.0.0.1")),
        "the submission port still listens everywhere");
    assertFalse(Main.openRelay(defaults.with(MailgateConfig.HTTP_HOST, "localhost")
        .with(MailgateConfig.SMTP_SUBMISSION_PORT, 0)));
  }
}
