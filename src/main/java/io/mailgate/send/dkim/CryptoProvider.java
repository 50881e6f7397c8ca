package io.mailgate.send.dkim;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import java.security.Provider;
import java.security.Security;

/**
 * Chooses the JCA provider for the process: the Amazon Corretto Crypto Provider (ACCP, native AWS-LC) when it loads
 * on this platform, else the JDK's own. ACCP makes RSA signing several times faster and is what lets one node DKIM-sign
 * thousands of messages per second; it also speeds up TLS and HMAC. Call {@link #install()} once at startup, before
 * any {@code Signature}, {@code Mac} or {@code KeyFactory} is created: JCA objects keep the provider they were
 * created with.
 */
public final class CryptoProvider {

  /** Which provider signs. */
  public enum Kind { ACCP, JDK }

  private static Kind active;
  private static String description;

  private CryptoProvider() {}

  /**
   * Installs ACCP at the highest priority if its native library loads and passes its self-tests; otherwise leaves
   * the JDK providers in place, silently (the reason is in {@link #description()}). Idempotent.
   */
  public static synchronized Kind install() {
    if (active != null) return active;
    try {
      AmazonCorrettoCryptoProvider accp = AmazonCorrettoCryptoProvider.INSTANCE;
      Throwable loadingError = accp.getLoadingError();
      if (loadingError != null) {
        return keep(Kind.JDK, "JDK (ACCP did not load: " + loadingError + ")");
      }
      AmazonCorrettoCryptoProvider.install();
      accp.assertHealthy();
      Provider first = Security.getProviders()[0];
      if (!first.getName().equals(accp.getName())) {
        return keep(Kind.JDK, "JDK (ACCP not first after install: " + first.getName() + ")");
      }
      return keep(Kind.ACCP, accp.getName() + " " + accp.getVersionStr() + " (" + accp.getAwsLcVersionStr() + ")");
    } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError, RuntimeCryptoException: all mean "no"
      Security.removeProvider("AmazonCorrettoCryptoProvider");
      return keep(Kind.JDK, "JDK (ACCP unavailable: " + t + ")");
    }
  }

  /** Decides for the JDK providers (configuration said so, or to compare); later {@link #install()} does nothing. */
  public static synchronized Kind keepJdk() {
    if (active == null) keep(Kind.JDK, "JDK (ACCP not requested)");
    return active;
  }

  /** The active provider; {@link #install()} decides it on first use. */
  public static synchronized Kind active() {
    return active != null ? active : install();
  }

  /** A line for logs and metrics, e.g. "AmazonCorrettoCryptoProvider 2.5.0 (AWS-LC 1.x)". */
  public static synchronized String description() {
    active();
    return description;
  }

  private static Kind keep(Kind kind, String text) {
    active = kind;
    description = text;
    return kind;
  }
}
