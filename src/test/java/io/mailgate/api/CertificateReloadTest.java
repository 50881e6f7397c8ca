package io.mailgate.api;

import static io.mailgate.testing.CertificateFiles.install;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.api.SmtpSubmissionTest.Session;
import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.CertificateFiles;
import io.mailgate.testing.TestNode;
import io.vertx.core.net.SelfSignedCertificate;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A renewed certificate (certbot's, cert-manager's: new files at the same paths) is presented by every SMTP port from
 * the next connection on, without a restart; files that do not make a valid pair are not taken, and the ports keep
 * presenting the certificate they have.
 */
class CertificateReloadTest {
  private static final String A = "CN=smtp-a.mailgate.test";
  private static final String B = "CN=smtp-b.mailgate.test";

  @Test
  void aRenewedCertificateIsPresentedWithoutARestartAndABrokenOneIsNot() throws Exception {
    SelfSignedCertificate a = SelfSignedCertificate.create("smtp-a.mailgate.test");
    SelfSignedCertificate b = SelfSignedCertificate.create("smtp-b.mailgate.test");
    CertificateFiles files = new CertificateFiles();
    Path cert = files.cert();
    Path key = files.key();
    install(a.certificatePath(), cert);
    install(a.privateKeyPath(), key);
    try (TestNode node = TestNode.start(null, c -> c
        .with(MailgateConfig.SMTP_SUBMISSION_TLS_CERT, cert.toString())
        .with(MailgateConfig.SMTP_SUBMISSION_TLS_KEY, key.toString())
        .with(MailgateConfig.SMTP_SUBMISSION_PLAINTEXT_AUTH, false)
        .with(MailgateConfig.SMTP_TLS_RELOAD_SECONDS, 1))) {
      assertEquals(List.of(A), presented(node), "at start");
      long expiry = metrics(node).lines().filter(l -> l.startsWith("mailgate_tls_certificate_expiry_seconds{"))
          .count();
      assertEquals(3, expiry, "an expiry for each of the three listeners");

      // the renewal: key, then certificate, as a renewal writes them
      install(b.privateKeyPath(), key);
      install(b.certificatePath(), cert);
      Await.until(() -> presented(node), names -> names.equals(List.of(B)), Duration.ofSeconds(20));
      Await.until(() -> sample(node, "mailgate_tls_certificate_reloads_total{result=\"loaded\"}"), n -> n == 3.0,
          Duration.ofSeconds(20)); // once for each listener, however many event loops it has

      // a certificate that is not the key's: refused, B stays
      install(a.certificatePath(), cert);
      Await.until(() -> sample(node, "mailgate_tls_certificate_reloads_total{result=\"refused\"}"), n -> n == 3.0,
          Duration.ofSeconds(20));
      assertEquals(List.of(B), presented(node));
      Thread.sleep(3_500); // more reads of the same refused files: said once, not once a second
      assertEquals(3.0, sample(node, "mailgate_tls_certificate_reloads_total{result=\"refused\"}"));
      // the pair put back, then the same mistake made again: a new change, said again
      install(b.certificatePath(), cert);
      Thread.sleep(3_500); // read again (every second)
      install(a.certificatePath(), cert);
      Await.until(() -> sample(node, "mailgate_tls_certificate_reloads_total{result=\"refused\"}"), n -> n == 6.0,
          Duration.ofSeconds(20));
      // nor a file that is no certificate at all (a renewal caught half written)
      Files.writeString(cert, "-----BEGIN CERTIFICATE-----\nMIIB\n", StandardCharsets.US_ASCII);
      Await.until(() -> sample(node, "mailgate_tls_certificate_reloads_total{result=\"refused\"}"), n -> n == 9.0,
          Duration.ofSeconds(20));
      assertEquals(List.of(B), presented(node));
      assertEquals(3.0, sample(node, "mailgate_tls_certificate_reloads_total{result=\"loaded\"}"));

      // the pair made whole again is taken
      install(b.certificatePath(), cert);
      install(a.privateKeyPath(), key);
      install(a.certificatePath(), cert);
      Await.until(() -> presented(node), names -> names.equals(List.of(A)), Duration.ofSeconds(20));

      // the files gone (a volume unmounted): said once, however long it lasts; A still presented
      Files.delete(cert);
      Await.until(() -> sample(node, "mailgate_tls_certificate_reloads_total{result=\"refused\"}"), n -> n == 12.0,
          Duration.ofSeconds(20));
      Thread.sleep(3_500);
      assertEquals(12.0, sample(node, "mailgate_tls_certificate_reloads_total{result=\"refused\"}"));
      assertEquals(List.of(A), presented(node));
    } finally {
      a.delete();
      b.delete();
      files.close();
    }
  }

  /**
   * An expired certificate is presented at start (refusing it would close the inbound port to the senders that do not
   * check), with its expiry in the metrics; a renewal that brings an expired one is refused.
   */
  @Test
  void anExpiredCertificateStartsButIsNoRenewal() throws Exception {
    java.util.Date now = new java.util.Date();
    io.netty.handler.ssl.util.SelfSignedCertificate expired = new io.netty.handler.ssl.util.SelfSignedCertificate(
        "smtp-old.mailgate.test", new java.util.Date(now.getTime() - 2 * 365 * 86_400_000L),
        new java.util.Date(now.getTime() - 365 * 86_400_000L));
    SelfSignedCertificate b = SelfSignedCertificate.create("smtp-b.mailgate.test");
    CertificateFiles files = new CertificateFiles();
    Path cert = files.cert();
    Path key = files.key();
    install(expired.certificate().getPath(), cert);
    install(expired.privateKey().getPath(), key);
    try (TestNode node = TestNode.start(null, c -> c
        .with(MailgateConfig.SMTP_SUBMISSION_TLS_CERT, cert.toString())
        .with(MailgateConfig.SMTP_SUBMISSION_TLS_KEY, key.toString())
        .with(MailgateConfig.SMTP_TLS_RELOAD_SECONDS, 1))) {
      assertEquals(List.of("CN=smtp-old.mailgate.test"), presented(node));
      String port = ":" + node.config().get(MailgateConfig.SMTP_SUBMISSION_PORT);
      assertEquals((double) (expired.cert().getNotAfter().getTime() / 1000), metrics(node).lines()
          .filter(l -> l.startsWith("mailgate_tls_certificate_expiry_seconds{") && l.contains(port + "\"}"))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(-1));

      install(b.privateKeyPath(), key);
      install(b.certificatePath(), cert);
      Await.until(() -> presented(node), names -> names.equals(List.of(B)), Duration.ofSeconds(20));
      install(expired.privateKey().getPath(), key);
      install(expired.certificate().getPath(), cert);
      Await.until(() -> sample(node, "mailgate_tls_certificate_reloads_total{result=\"refused\"}"), n -> n == 3.0,
          Duration.ofSeconds(20));
      assertEquals(List.of(B), presented(node), "the expired one is not taken back");
    } finally {
      expired.delete();
      b.delete();
      files.close();
    }
  }

  /** A node that cannot present its certificate does not start: a key from another pair is found at once. */
  @Test
  void aKeyThatIsNotTheCertificatesStopsTheStart() throws Exception {
    SelfSignedCertificate a = SelfSignedCertificate.create("smtp-a.mailgate.test");
    SelfSignedCertificate b = SelfSignedCertificate.create("smtp-b.mailgate.test");
    try {
      IllegalStateException failed = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
          () -> TestNode.start(null, c -> c
              .with(MailgateConfig.SMTP_SUBMISSION_TLS_CERT, a.certificatePath())
              .with(MailgateConfig.SMTP_SUBMISSION_TLS_KEY, b.privateKeyPath())).close());
      assertTrue(failed.getMessage().contains("the key does not match the certificate"), failed.getMessage());
    } finally {
      a.delete();
      b.delete();
    }
  }


  /**
   * The distinct certificate subjects new connections see: over STARTTLS on the submission and inbound ports (twice
   * each as many connections as event loops: connections go round robin) and on the implicit TLS port.
   */
  private static List<String> presented(TestNode node) {
    List<String> seen = new ArrayList<>();
    try {
      int loops = 2 * node.config().get(MailgateConfig.HTTP_INSTANCES);
      for (int port : List.of(node.config().get(MailgateConfig.SMTP_SUBMISSION_PORT),
          node.config().get(MailgateConfig.SMTP_INBOUND_PORT))) {
        for (int i = 0; i < loops; i++) {
          try (Session plain = new Session(port)) {
            plain.command("EHLO client.test");
            add(seen, plain.startTls(SmtpSubmissionTest.trustAll()).peer());
          }
        }
      }
      for (int i = 0; i < loops; i++) {
        try (Session implicit = new Session(SmtpSubmissionTest.trustAll().getSocketFactory()
            .createSocket("127.0.0.1", node.config().get(MailgateConfig.SMTP_SUBMISSION_TLS_PORT)))) {
          add(seen, implicit.peer());
        }
      }
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return seen;
  }

  private static void add(List<String> seen, String name) {
    if (!seen.contains(name)) {
      seen.add(name);
    }
  }

  private static String metrics(TestNode node) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(node.endpoint().resolve("/_mailgate/metrics"))
          .build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  private static double sample(TestNode node, String name) {
    return metrics(node).lines().filter(l -> l.startsWith(name + " ")).mapToDouble(
        l -> Double.parseDouble(l.substring(name.length() + 1))).findFirst().orElse(-1);
  }
}
