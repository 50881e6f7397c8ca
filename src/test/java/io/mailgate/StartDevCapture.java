package io.mailgate;

import io.mailgate.config.MailgateConfig;

/** Test access to how start-dev points a node at its capture sink ({@link Main#capturing}, package-private). */
public final class StartDevCapture {
  private StartDevCapture() {}

  public static MailgateConfig capturing(MailgateConfig c, int sinkPort) {
    return Main.capturing(c, sinkPort);
  }
}
