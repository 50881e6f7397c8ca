package io.mailgate;

import java.util.logging.LogManager;

/**
 * The JDK resets logging in its own shutdown hook, racing ours: what Mailgate logs while stopping
 * (deliveries released, leases given back) would be lost. This manager ignores that reset; the
 * launcher resets it at the very end of shutdown.
 */
public final class ShutdownLogManager extends LogManager {
  private volatile boolean stopped;

  @Override
  public void reset() {
    if (stopped || !isShuttingDown()) {
      super.reset();
    }
  }

  void finish() {
    stopped = true;
    super.reset();
  }

  private static boolean isShuttingDown() {
    try {
      Thread probe = new Thread(() -> {});
      Runtime.getRuntime().addShutdownHook(probe);
      Runtime.getRuntime().removeShutdownHook(probe);
      return false;
    } catch (IllegalStateException e) {
      return true;
    }
  }
}
