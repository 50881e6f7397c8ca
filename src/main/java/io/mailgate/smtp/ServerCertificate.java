package io.mailgate.smtp;

import io.mailgate.metrics.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ServerSSLOptions;
import io.vertx.core.net.impl.KeyStoreHelper;
import io.vertx.core.shareddata.Shareable;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateExpiredException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;

/**
 * The certificate an SMTP listener's TLS presents, from its PEM certificate and key files, read and checked at start and
 * read again every {@link SmtpServerOptions#getTlsReloadInterval interval}: a renewed pair (certbot's, every 60 days;
 * cert-manager's) is presented from the next connection on, without a restart, as Postfix's smtpd processes pick one
 * up. The server is handed the files' contents, not their paths, so what it presents is the pair checked here.
 *
 * <p>A listener (host and port) has one, shared by its instances (one per event loop, {@link #share}): the first reads
 * the files for all, on its event loop, and every instance presents the pair it last took, so the port never presents
 * two certificates at once and each change is said once.
 *
 * <p>A pair is taken when its key parses, matches its certificate (a probe signed with the key verifies with the
 * certificate's public key) and, on a reload, its certificate is valid now. Files that fail are read again at the
 * next interval (a renewal caught between its key and its certificate completes meanwhile), and refused if they fail
 * again as they are: the listener keeps the pair it has and says so once ({@link Metrics#tlsCertificate}). A
 * certificate not valid yet (a clock behind its CA's) is read again at every interval until it is.
 */
final class ServerCertificate implements Shareable {
  private static final System.Logger LOG = System.getLogger(ServerCertificate.class.getName());
  /** Each listener's certificate, by host:port. */
  private static final String LISTENERS = "mailgate.smtp.certificates";

  /** A pair as read and checked, and the options that present it. */
  private record Pair(Buffer cert, Buffer key, X509Certificate leaf, ServerSSLOptions options) {
    boolean sameFiles(Buffer c, Buffer k) {
      return cert.equals(c) && key.equals(k);
    }
  }

  private final Vertx vertx;
  private final String certPath;
  private final String keyPath;
  /** Read by every instance's event loop; everything below it only on the reading instance's. */
  private volatile Pair current;
  private volatile boolean stopped;
  private Buffer refusedCert;
  private Buffer refusedKey;
  /** Files that failed once, not yet refused: a renewal caught between its two files is read again first. */
  private String pending;
  /** What was last refused and said (a fingerprint, or "unreadable"); null once the files are good again. */
  private String refusal;
  private volatile String listener = "";
  /** Cancelled by whichever instance's event loop releases it last. */
  private volatile long timer = -1;
  private boolean checking;
  /** Instances presenting this certificate (guarded by this). */
  private int users;

  private ServerCertificate(Vertx vertx, String certPath, String keyPath, Pair first) {
    this.vertx = vertx;
    this.certPath = certPath;
    this.keyPath = keyPath;
    this.current = first;
  }

  /** Whether {@code options} name one certificate file and one key file, which this class can read again. */
  static boolean fromFiles(KeyCertOptions options) {
    return options instanceof PemKeyCertOptions pem && pem.getCertPaths().size() == 1
        && pem.getKeyPaths().size() == 1 && pem.getCertValues().isEmpty() && pem.getKeyValues().isEmpty();
  }

  /**
   * Reads and checks the files of {@code files} ({@link #fromFiles}): fails when they are no pair (the server does not
   * start). An expired certificate is presented, with a warning: refusing it would close the port to the senders that
   * do not check (most MTAs delivering to port 25).
   */
  static Future<ServerCertificate> load(Vertx vertx, PemKeyCertOptions files) {
    String certPath = files.getCertPaths().get(0);
    String keyPath = files.getKeyPaths().get(0);
    return read(vertx, certPath, keyPath)
        .compose(read -> vertx.executeBlocking(() -> check(vertx, read[0], read[1], false), false))
        .recover(e -> Future.failedFuture(new IllegalArgumentException("TLS certificate " + certPath + " and key "
            + keyPath + ": " + reason(e), e)))
        .map(pair -> {
          if (Instant.now().isAfter(pair.leaf().getNotAfter().toInstant())) {
            LOG.log(System.Logger.Level.WARNING, "the TLS certificate " + certPath + " expired on "
                + pair.leaf().getNotAfter().toInstant() + "; it is presented until it is renewed");
          }
          return new ServerCertificate(vertx, certPath, keyPath, pair);
        });
  }

  /** What a TLS upgrade presents now. */
  ServerSSLOptions options() {
    return current.options();
  }

  /**
   * The certificate of {@code listener} (host:port) for an instance that listens there, to {@link #release} when it
   * closes: this one for the listener's first instance, which then reads the files every {@code interval} (on its
   * context, so its verticle's undeploy ends that too) and hands a changed pair that checks out to {@code apply} (an
   * implicit TLS server gives it to Vert.x) before presenting it; the first's for the others.
   */
  ServerCertificate share(String listener, Duration interval, Function<ServerSSLOptions, Future<?>> apply) {
    this.listener = listener; // before another instance can find it
    ServerCertificate shared = vertx.sharedData().<String, ServerCertificate>getLocalMap(LISTENERS)
        .computeIfAbsent(listener, k -> this);
    synchronized (shared) {
      shared.users++;
    }
    if (shared == this) {
      Metrics.of(vertx).tlsCertificateExpiry(listener, current.leaf().getNotAfter().toInstant());
      if (!interval.isZero()) {
        timer = vertx.setPeriodic(interval.toMillis(), id -> reload(apply));
      }
    }
    return shared;
  }

  /** An instance stopped presenting it: with the last, the files are no longer read and the listener's expiry goes. */
  void release() {
    synchronized (this) {
      if (--users > 0) {
        return;
      }
    }
    stopped = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    vertx.sharedData().<String, ServerCertificate>getLocalMap(LISTENERS).removeIfPresent(listener, this);
    Metrics.of(vertx).tlsCertificateExpiry(listener, null);
  }

  /** Reads the files once (the timer's work; tests call it to read at a moment of their choosing). */
  Future<Void> reload(Function<ServerSSLOptions, Future<?>> apply) {
    if (checking || stopped) {
      return Future.succeededFuture();
    }
    checking = true;
    return read(vertx, certPath, keyPath).compose(read -> {
      Buffer cert = read[0];
      Buffer key = read[1];
      if (current.sameFiles(cert, key)) {
        // back to the pair presented (or never changed): a bad pair written again later is a new change, said again
        pending = null;
        refusal = null;
        refusedCert = null;
        refusedKey = null;
        return Future.succeededFuture();
      }
      if (cert.equals(refusedCert) && key.equals(refusedKey)) {
        pending = null;
        return Future.succeededFuture();
      }
      return vertx.executeBlocking(() -> check(vertx, cert, key, true), false)
          .compose(pair -> stopped ? Future.failedFuture(new IllegalStateException("stopped"))
              : apply.apply(pair.options()).map(pair))
          .onSuccess(pair -> {
            current = pair;
            pending = null;
            refusal = null;
            refusedCert = null;
            refusedKey = null;
            Instant notAfter = pair.leaf().getNotAfter().toInstant();
            Metrics.of(vertx).tlsCertificateExpiry(listener, notAfter);
            Metrics.of(vertx).tlsCertificate(true);
            LOG.log(System.Logger.Level.INFO, "TLS certificate of " + listener + " reloaded from " + certPath + ": "
                + pair.leaf().getSubjectX500Principal().getName() + ", expires " + notAfter);
          })
          .recover(e -> {
            // a certificate not valid yet is read again until it is, not refused for good
            if (!stopped && failedTwice(fingerprint(cert, key), reason(e))
                && !(e instanceof java.security.cert.CertificateNotYetValidException)) {
              refusedCert = cert;
              refusedKey = key;
            }
            return Future.succeededFuture(null);
          });
    }, unreadable -> {
      // a renewal that moves files in place can leave a moment without them; read again at the next interval
      if (!stopped && failedTwice("unreadable", "cannot read them: " + reason(unreadable))) {
        refusedCert = null;
        refusedKey = null;
      }
      return Future.succeededFuture();
    }).<Void>mapEmpty().onComplete(done -> checking = false);
  }

  /**
   * Files that failed: refused when they fail again as they are at the next read, so that a renewal caught with its
   * key written and not yet its certificate is not reported; said when refused, once; true when refused.
   */
  private boolean failedTwice(String fingerprint, String why) {
    if (!fingerprint.equals(pending)) {
      pending = fingerprint;
      return false;
    }
    pending = null;
    if (!fingerprint.equals(refusal)) {
      refusal = fingerprint;
      Metrics.of(vertx).tlsCertificate(false);
      LOG.log(System.Logger.Level.WARNING, "TLS certificate files of " + listener + " (" + certPath + ", " + keyPath
          + ") changed but were not taken, " + why + "; it keeps presenting "
          + current.leaf().getSubjectX500Principal().getName() + ", which expires "
          + current.leaf().getNotAfter().toInstant());
    }
    return true;
  }

  private static Future<Buffer[]> read(Vertx vertx, String certPath, String keyPath) {
    Future<Buffer> cert = vertx.fileSystem().readFile(certPath);
    Future<Buffer> key = vertx.fileSystem().readFile(keyPath);
    return Future.all(cert, key).map(both -> new Buffer[] {cert.result(), key.result()});
  }

  /** The pair, checked (on a worker thread: it parses keys and signs). */
  private static Pair check(Vertx vertx, Buffer cert, Buffer key, boolean refuseExpired) throws Exception {
    PemKeyCertOptions values = new PemKeyCertOptions().setCertValue(cert).setKeyValue(key);
    KeyStore store = values.loadKeyStore(vertx);
    String alias = store.aliases().nextElement();
    PrivateKey privateKey = (PrivateKey) store.getKey(alias, KeyStoreHelper.DUMMY_PASSWORD.toCharArray());
    X509Certificate leaf = (X509Certificate) store.getCertificateChain(alias)[0];
    if (!io.mailgate.KeyChecks.matches(privateKey, leaf.getPublicKey())) {
      throw new IllegalArgumentException("the key does not match the certificate");
    }
    if (refuseExpired) {
      leaf.checkValidity(); // a renewal is valid now; an expired one is a mistake not to present
    }
    return new Pair(cert, key, leaf, new ServerSSLOptions().setKeyCertOptions(values));
  }

  private static String reason(Throwable e) {
    if (e instanceof CertificateExpiredException) {
      return "the certificate has expired";
    }
    if (e instanceof java.security.cert.CertificateNotYetValidException) {
      return "the certificate is not valid yet";
    }
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return e instanceof java.util.NoSuchElementException ? "no certificate and key in them" : message;
  }

  private static String fingerprint(Buffer cert, Buffer key) {
    try {
      java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
      sha.update(cert.getBytes());
      sha.update(key.getBytes());
      return java.util.HexFormat.of().formatHex(sha.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
