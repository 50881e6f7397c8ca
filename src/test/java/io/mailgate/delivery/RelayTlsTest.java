package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.smtp.Envelope;
import io.mailgate.smtp.SessionInfo;
import io.mailgate.smtp.SmtpReply;
import io.mailgate.smtp.SmtpServer;
import io.mailgate.smtp.SmtpServerOptions;
import io.mailgate.smtp.SmtpSessionHandler;
import io.mailgate.testing.Await;
import io.mailgate.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * relay.tlsVerify: a relay that gets a password must prove its name with its certificate before it gets it, and a
 * verified relay never gets plain text; MX hosts and relays on this machine are not verified.
 */
class RelayTlsTest {
  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A relay on localhost with STARTTLS and AUTH (after TLS only), recording logins and messages. */
  private static final class Relay implements SmtpSessionHandler, AutoCloseable {
    final SelfSignedCertificate cert;
    final List<String> logins = new CopyOnWriteArrayList<>();
    final List<Envelope> received = new CopyOnWriteArrayList<>();
    final SmtpServer server;

    final boolean implicitTls;

    Relay(String certificateName) throws Exception {
      this(certificateName, false);
    }

    /** @param certificateName null: a relay that offers no TLS, and takes AUTH in clear */
    Relay(String certificateName, boolean implicitTls) throws Exception {
      this.implicitTls = implicitTls;
      cert = certificateName == null ? null : SelfSignedCertificate.create(certificateName);
      SmtpServerOptions options = new SmtpServerOptions().setHost("localhost").setPort(0).setServerName("relay.test")
          .setImplicitTls(implicitTls).setAuthEnabled(true);
      server = SmtpServer.start(vertx, cert == null ? options.setPlainTextAuthAllowed(true)
              : options.setKeyCertOptions(cert.keyCertOptions()), this)
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    String url(String credentials) {
      return (implicitTls ? "smtps://" : "smtp://") + credentials + "localhost:" + server.actualPort();
    }

    @Override
    public CompletionStage<Boolean> onAuth(SessionInfo session, String mechanism, String authzid, String username,
        String password) {
      logins.add(username + (session.tls() ? " over TLS" : " in clear"));
      return CompletableFuture.completedFuture(username.equals("relayuser") && password.equals("s3cret"));
    }

    @Override
    public CompletionStage<SmtpReply> onMessage(SessionInfo session, Envelope envelope, byte[] message) {
      received.add(envelope);
      return CompletableFuture.completedFuture(SmtpReply.queued("relay-" + received.size()));
    }

    @Override
    public void close() throws Exception {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static UnaryOperator<MailgateConfig> relayTls(String verify, String caFile) {
    return c -> c.with(MailgateConfig.RELAY_TLS_VERIFY, verify).with(MailgateConfig.RELAY_TLS_CA_FILE, caFile)
        .with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 60);
  }

  /** Sends one message through the relay; the message's status once its first attempt is decided. */
  private static JsonObject sendOne(Relay relay, String credentials, UnaryOperator<MailgateConfig> config) {
    try (TestNode node = TestNode.start(relay.url(credentials), config);
         SesV2Client ses = node.sesV2()) {
      String id = TlsPolicyTest.send(ses, "through the relay");
      return Await.until(() -> node.message(id), m -> m.getJsonArray("Events").size() >= 2, Duration.ofSeconds(20));
    }
  }

  /** The message is delivered over TLS, the password (when there is one) sent over it. */
  private static void assertDeliveredOverTls(Relay relay, String credentials, UnaryOperator<MailgateConfig> config) {
    JsonObject status = sendOne(relay, credentials, config);
    assertEquals("Delivery", status.getJsonArray("Events").getJsonObject(1).getString("eventType"),
        status.encodePrettily());
    assertEquals(1, relay.received.size());
    assertTrue(relay.received.get(0).tls());
    assertEquals(credentials.isEmpty() ? List.of() : List.of("relayuser over TLS"), relay.logins);
  }

  /** The relay gets nothing, no password either; the recipient's delay says why, with each of {@code why}. */
  private static void assertRefused(Relay relay, String credentials, UnaryOperator<MailgateConfig> config,
      String... why) {
    JsonObject status = sendOne(relay, credentials, config);
    JsonObject delay = status.getJsonArray("Events").getJsonObject(1);
    assertEquals("DeliveryDelay", delay.getString("eventType"), status.encodePrettily());
    String diagnostic = delay.getJsonObject("deliveryDelay").getJsonArray("delayedRecipients").getJsonObject(0)
        .getString("diagnosticCode");
    for (String w : why) {
      assertTrue(diagnostic.contains(w), diagnostic);
    }
    assertEquals(List.of(), relay.logins, "no AUTH was tried");
    assertEquals(List.of(), relay.received);
  }

  @Test
  void aRelayWithCredentialsGetsThePasswordOnceItsCertificateIsTrusted() throws Exception {
    try (Relay relay = new Relay("localhost")) {
      assertDeliveredOverTls(relay, "relayuser:s3cret@", relayTls("always", relay.cert.certificatePath()));
      assertEquals("relayuser", relay.received.get(0).authenticatedUser());
    }
  }

  @Test
  void anUntrustedCertificateGetsNoPasswordAndNoPlainTextFallback() throws Exception {
    // the JVM's trust store does not know the relay's self-signed certificate
    try (Relay relay = new Relay("localhost")) {
      assertRefused(relay, "relayuser:s3cret@", relayTls("always", ""), "TLS with relay localhost",
          "relay.tlsCaFile");
    }
  }

  /** The default mode: a relay on this machine gets its password over unverified TLS, as it did before. */
  @Test
  void aLocalRelayIsNotCheckedByDefault() throws Exception {
    try (Relay relay = new Relay("some.other.name")) {
      assertDeliveredOverTls(relay, "relayuser:s3cret@", relayTls("credentials", ""));
    }
  }

  @Test
  void aVerifiedRelayThatOffersNoTlsGetsNothing() throws Exception {
    try (Relay plain = new Relay(null, false)) {
      assertRefused(plain, "relayuser:s3cret@", relayTls("always", ""), "TLS is required", "does not offer STARTTLS");
    }
  }

  @Test
  void withVerificationOffTheOldOpportunisticTlsStillDelivers() throws Exception {
    try (Relay relay = new Relay("localhost")) {
      assertDeliveredOverTls(relay, "relayuser:s3cret@", relayTls("never", ""));
    }
  }

  @Test
  void alwaysChecksTheNameEvenWithoutCredentials() throws Exception {
    try (Relay wrongName = new Relay("mx.elsewhere.example")) {
      // trusted chain, wrong name
      assertRefused(wrongName, "", relayTls("always", wrongName.cert.certificatePath()), "TLS with relay localhost");
    }
    try (Relay relay = new Relay("localhost")) {
      assertDeliveredOverTls(relay, "", relayTls("always", relay.cert.certificatePath()));
    }
  }

  @Test
  void implicitTlsRelaysAreVerifiedToo() throws Exception {
    try (Relay relay = new Relay("localhost", true)) {
      assertRefused(relay, "relayuser:s3cret@", relayTls("always", ""), "cannot connect to localhost",
          "relay.tlsCaFile");
    }
    try (Relay relay = new Relay("localhost", true)) {
      assertDeliveredOverTls(relay, "relayuser:s3cret@", relayTls("always", relay.cert.certificatePath()));
    }
  }

  @Test
  void whichEndpointsAreVerified() {
    RelayTls credentials = RelayTls.of("credentials", "");
    assertTrue(credentials.verifies(SmtpConnection.Endpoint.of(SmtpRoute.parse("smtp://u:p@smtp.example.com:587"))));
    assertFalse(credentials.verifies(SmtpConnection.Endpoint.of(SmtpRoute.parse("smtp://smtp.example.com:587"))));
    assertFalse(credentials.verifies(SmtpConnection.Endpoint.of(SmtpRoute.parse("smtp://u:p@127.0.0.1:25"))),
        "a relay on this machine is not verified");
    assertFalse(credentials.verifies(SmtpConnection.Endpoint.of(SmtpRoute.parse("smtp://u:p@[::1]:25"))));
    assertFalse(credentials.verifies(SmtpConnection.Endpoint.of(SmtpRoute.parse("smtp://u:p@LocalHost:25"))));
    assertTrue(credentials.verifies(SmtpConnection.Endpoint.of(SmtpRoute.parse("smtp://u:p@127.example.com:25"))));
    RelayTls always = RelayTls.of(" ALWAYS ", "");
    assertTrue(always.verifies(SmtpConnection.Endpoint.of(SmtpRoute.parse("smtp://127.0.0.1:25"))));
    assertFalse(always.verifies(SmtpConnection.Endpoint.mx("mx.example.org", "192.0.2.1", 25)),
        "an MX is never verified");
    assertFalse(RelayTls.of("never", "").verifies(SmtpConnection.Endpoint.of(SmtpRoute.parse("smtps://u:p@x:465"))));
    ConfigException bad = assertThrows(ConfigException.class, () -> RelayTls.of("sometimes", ""));
    assertTrue(bad.getMessage().contains("never, credentials or always"), bad.getMessage());
    assertThrows(ConfigException.class, () -> RelayTls.of("always", "/nonexistent/ca.pem"));
  }

  @Test
  void aCaFileThatIsNotPemCertificatesFailsTheStart(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path notPem = dir.resolve("ca.pem");
    java.nio.file.Files.writeString(notPem, "not a certificate\n");
    ConfigException e = assertThrows(ConfigException.class, () -> RelayTls.of("credentials", notPem.toString()));
    assertTrue(e.getMessage().contains("relay.tlsCaFile"), e.getMessage());
    java.nio.file.Path empty = dir.resolve("empty.pem");
    java.nio.file.Files.writeString(empty, "");
    assertThrows(ConfigException.class, () -> RelayTls.of("credentials", empty.toString()));
    SelfSignedCertificate cert = SelfSignedCertificate.create("relay.example");
    RelayTls.of("credentials", cert.certificatePath()); // a real one is fine
  }
}
