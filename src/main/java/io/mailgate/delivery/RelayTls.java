package io.mailgate.delivery;

import io.mailgate.config.ConfigException;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Whose TLS certificates delivery verifies. A relay's (smarthost's), as {@code relay.tlsVerify} says: its chain
 * against {@code relay.tlsCaFile} or the JVM's trust store, and its name against the relay's host name (RFC 6125). A
 * relay is a host the operator named, often with a password, so a certificate that does not prove its name is a
 * misconfiguration or someone in the middle. An MX host's only when its domain's MTA-STS policy is enforced
 * ({@link MtaSts}): against {@code delivery.mtaStsCaFile} or the JVM's trust store (the web PKI), and its MX name.
 * Otherwise TLS to an MX is opportunistic and unverified, as Postfix's "may" level: it protects against passive
 * reading, and a domain that wants more says so with MTA-STS (or DANE: TLSA records, {@link Dane}).
 *
 * <p>A verified connection must be TLS (STARTTLS or smtps) and never falls back to plain text.
 */
final class RelayTls {
  /** When a relay's certificate is verified. */
  enum Mode {
    /** Never (TLS is opportunistic, as to an MX); credentials still go only over TLS or to this machine. */
    NEVER,
    /** When the relay gets a password and is not on this machine by its name (default). */
    CREDENTIALS,
    /** Always: a relay gets nothing without TLS and a certificate valid for its name. */
    ALWAYS
  }

  /** TLS without verification: for MX hosts, and relays that are not verified. */
  static final ClientSSLOptions TRUST_ALL = new ClientSSLOptions().setTrustAll(true)
      .setHostnameVerificationAlgorithm("");

  private final Mode mode;
  private final ClientSSLOptions verifying;
  private final ClientSSLOptions mtaStsVerifying;
  /** The checks of a testing MTA-STS policy's MX certificates, for TLS reporting; null when not made. */
  private final javax.net.ssl.X509TrustManager mtaStsTrust;

  private RelayTls(Mode mode, ClientSSLOptions verifying, ClientSSLOptions mtaStsVerifying,
      javax.net.ssl.X509TrustManager mtaStsTrust) {
    this.mode = mode;
    this.verifying = verifying;
    this.mtaStsVerifying = mtaStsVerifying;
    this.mtaStsTrust = mtaStsTrust;
  }

  /**
   * These options, and a trust manager of {@code mtaStsCaFile}'s certificates (the JVM's trust store when it is
   * empty) for the checks of MX hosts' certificates under a testing MTA-STS policy, whose results are only reported
   * (RFC 8460): the connection is opportunistic TLS, unverified. Reads the trust store: called when a node starts.
   */
  RelayTls withMtaStsTrust(String mtaStsCaFile) {
    try {
      java.security.KeyStore store = null;
      if (!mtaStsCaFile.isBlank()) {
        store = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
        store.load(null, null);
        try (java.io.InputStream in = Files.newInputStream(Path.of(mtaStsCaFile))) {
          int i = 0;
          for (java.security.cert.Certificate c
              : java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in)) {
            store.setCertificateEntry("ca" + i++, c);
          }
        }
      }
      javax.net.ssl.TrustManagerFactory factory = javax.net.ssl.TrustManagerFactory.getInstance(
          javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      for (javax.net.ssl.TrustManager tm : factory.getTrustManagers()) {
        if (tm instanceof javax.net.ssl.X509TrustManager x509) {
          return new RelayTls(mode, verifying, mtaStsVerifying, x509);
        }
      }
      throw new ConfigException("no X.509 trust manager in this JVM");
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      throw new ConfigException("delivery.mtaStsCaFile " + mtaStsCaFile + " cannot be read: " + e.getMessage());
    }
  }

  /** The trust manager {@link #withMtaStsTrust} made, or null. */
  javax.net.ssl.X509TrustManager mtaStsTrust() {
    return mtaStsTrust;
  }

  /** From {@code relay.tlsVerify} and {@code relay.tlsCaFile}, MX hosts under MTA-STS checked as relays are. */
  static RelayTls of(String mode, String caFile) {
    return of(mode, caFile, "");
  }

  /**
   * From {@code relay.tlsVerify}, {@code relay.tlsCaFile} and {@code delivery.mtaStsCaFile}; a bad value or an
   * unreadable file fails the start.
   */
  static RelayTls of(String mode, String caFile, String mtaStsCaFile) {
    Mode m;
    try {
      m = Mode.valueOf(mode.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("relay.tlsVerify must be never, credentials or always, not '" + mode + "'");
    }
    return new RelayTls(m, verifying("relay.tlsCaFile", caFile), verifying("delivery.mtaStsCaFile", mtaStsCaFile),
        null);
  }

  /**
   * TLS options that check the chain against the certificates of {@code caFile} (the JVM's trust store when it is
   * empty) and the host name; read now, so that a file that is not PEM certificates fails the start rather than
   * every delivery.
   */
  static ClientSSLOptions verifying(String key, String caFile) {
    ClientSSLOptions verifying = new ClientSSLOptions().setHostnameVerificationAlgorithm("HTTPS");
    if (!caFile.isBlank()) {
      try (java.io.InputStream in = Files.newInputStream(Path.of(caFile))) {
        if (java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
          throw new ConfigException(key + " " + caFile + " holds no certificate");
        }
      } catch (java.io.IOException | java.security.cert.CertificateException e) {
        throw new ConfigException(key + " " + caFile + " cannot be read as PEM certificates: " + e.getMessage());
      }
      verifying.setTrustOptions(new PemTrustOptions().addCertPath(caFile));
    }
    return verifying;
  }

  /** Whether connections to this endpoint must be TLS with a certificate valid for its host name. */
  boolean verifies(SmtpConnection.Endpoint e) {
    return e.mtaSts() || e.relay() && switch (mode) {
      case NEVER -> false;
      // a relay named localhost or given as a loopback address (127.0.0.1, [::1]): the password stays on the machine
      case CREDENTIALS -> e.username() != null && !io.mailgate.NetAddresses.isLoopbackName(e.host());
      case ALWAYS -> true;
    };
  }

  /** The TLS options for an MTA-STS policy host and, under an enforced policy, an MX host. */
  ClientSSLOptions mtaStsOptions() {
    return mtaStsVerifying;
  }

  /**
   * The TLS options for a connection to this endpoint. A DANE host's chain is checked against its TLSA records once the
   * handshake is done ({@link Dane}), not against a CA: a DANE-EE certificate needs none.
   */
  ClientSSLOptions options(SmtpConnection.Endpoint e) {
    return e.dane() ? TRUST_ALL : e.mtaSts() ? mtaStsVerifying : verifies(e) ? verifying : TRUST_ALL;
  }
}
