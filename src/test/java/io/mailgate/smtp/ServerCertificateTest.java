package io.mailgate.smtp;

import static io.mailgate.testing.CertificateFiles.install;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mailgate.metrics.Metrics;
import io.mailgate.testing.CertificateFiles;
import io.mailgate.testing.OnLoop;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.core.net.ServerSSLOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Reads of a listener's certificate files at moments the test chooses: a renewal caught between writing its key and
 * its certificate is not reported, files that stay wrong are refused at their second read, and said once.
 */
class ServerCertificateTest {
  private static final Function<ServerSSLOptions, Future<?>> TAKE = options -> Future.succeededFuture();

  @Test
  void aRenewalCaughtHalfWrittenIsReadAgainAndOnlyFilesThatStayWrongAreRefused() throws Exception {
    Vertx vertx = Vertx.vertx();
    SelfSignedCertificate a = SelfSignedCertificate.create("smtp-a.mailgate.test");
    SelfSignedCertificate b = SelfSignedCertificate.create("smtp-b.mailgate.test");
    CertificateFiles files = new CertificateFiles();
    Path cert = files.cert();
    Path key = files.key();
    try {
      install(a.certificatePath(), cert);
      install(a.privateKeyPath(), key);
      Context loop = vertx.getOrCreateContext();
      ServerCertificate certificate = OnLoop.start(loop, () -> ServerCertificate.load(vertx,
              new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()))
          .map(loaded -> loaded.share("127.0.0.1:25", Duration.ZERO, TAKE))).get(30, TimeUnit.SECONDS);

      // half a renewal: the new key beside the old certificate, then the certificate
      install(b.privateKeyPath(), key);
      read(loop, certificate);
      assertEquals(0, count(vertx, "refused"), "caught between its two files: read again first");
      assertEquals(certificateOf(a), presented(certificate));
      install(b.certificatePath(), cert);
      read(loop, certificate);
      assertEquals(certificateOf(b), presented(certificate));
      assertEquals(1, count(vertx, "loaded"));
      assertEquals(0, count(vertx, "refused"));

      // a certificate that is not the key's, and stays: refused at the second read, said once
      install(a.certificatePath(), cert);
      read(loop, certificate);
      assertEquals(0, count(vertx, "refused"));
      read(loop, certificate);
      assertEquals(1, count(vertx, "refused"));
      read(loop, certificate);
      read(loop, certificate);
      assertEquals(1, count(vertx, "refused"));
      assertEquals(certificateOf(b), presented(certificate));
    } finally {
      a.delete();
      b.delete();
      files.close();
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static void read(Context loop, ServerCertificate certificate) throws Exception {
    OnLoop.start(loop, () -> certificate.reload(TAKE)).get(30, TimeUnit.SECONDS);
  }

  private static Buffer presented(ServerCertificate certificate) {
    return ((PemKeyCertOptions) certificate.options().getKeyCertOptions()).getCertValue();
  }

  private static Buffer certificateOf(SelfSignedCertificate c) throws Exception {
    return Buffer.buffer(Files.readAllBytes(Path.of(c.certificatePath())));
  }

  /** mailgate_tls_certificate_reloads_total{result} as the node's metrics endpoint would show it. */
  private static long count(Vertx vertx, String result) {
    String prefix = "mailgate_tls_certificate_reloads_total{result=\"" + result + "\"} ";
    return Metrics.of(vertx).render(new Metrics.Gauges(0, 0, 0, 0, 0)).lines().filter(l -> l.startsWith(prefix))
        .mapToLong(l -> Long.parseLong(l.substring(prefix.length()))).findFirst().orElse(-1);
  }

}
