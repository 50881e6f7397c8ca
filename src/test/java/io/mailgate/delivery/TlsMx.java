package io.mailgate.delivery;

import io.mailgate.config.MailgateConfig;
import io.mailgate.smtp.Envelope;
import io.mailgate.smtp.SessionInfo;
import io.mailgate.smtp.SmtpReply;
import io.mailgate.smtp.SmtpServer;
import io.mailgate.smtp.SmtpServerOptions;
import io.mailgate.smtp.SmtpSessionHandler;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.NamedCertificate;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * An MX host with STARTTLS and a self-signed certificate with the names a test gives (keytool's SAN entries), on a
 * loopback address and a port, that takes every message and keeps its envelope.
 */
final class TlsMx implements SmtpSessionHandler, AutoCloseable {
  final NamedCertificate cert;
  final List<Envelope> received = new CopyOnWriteArrayList<>();
  /** The messages, in the order of {@link #received}. */
  final List<byte[]> messages = new CopyOnWriteArrayList<>();
  final SmtpServer server;

  TlsMx(Vertx vertx, String ip, int port, String name, String... subjectAltNames) throws Exception {
    this(vertx, ip, port, name, NamedCertificate.create(name, subjectAltNames));
  }

  /** With a certificate made beforehand (one issued by a test's CA, say). */
  TlsMx(Vertx vertx, String ip, int port, String name, NamedCertificate cert) throws Exception {
    this.cert = cert;
    server = SmtpServer.start(vertx, new SmtpServerOptions().setHost(ip).setPort(port).setServerName(name)
        .setKeyCertOptions(cert.keyCertOptions()), this).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  /**
   * {@code config} delivering straight to MX hosts such as this one, on {@code port}, found through {@code dns}: its
   * answers taken for their TTL however short, private addresses allowed, short timeouts, a first retry a minute
   * later, and one delivery instance (one pool per key, so that a connection could be reused across domains).
   */
  static MailgateConfig deliveringTo(MailgateConfig config, FakeDnsServer dns, int port) {
    return config.with(MailgateConfig.DELIVERY_MODE, "direct")
        .with(MailgateConfig.DNS_SERVERS, dns.hostPort())
        .with(MailgateConfig.DNS_MIN_TTL_SECONDS, 0)
        .with(MailgateConfig.DELIVERY_COMMAND_TIMEOUT_SECONDS, 2)
        .with(MailgateConfig.DELIVERY_CONNECT_TIMEOUT_SECONDS, 2)
        .with(MailgateConfig.DELIVERY_DIRECT_PORT, port)
        .with(MailgateConfig.DELIVERY_ALLOW_PRIVATE_ADDRESSES, true)
        .with(MailgateConfig.DELIVERY_MAX_DELIVERY_SECONDS, 60)
        .with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 60)
        .with(MailgateConfig.DELIVERY_INSTANCES, 1);
  }

  @Override
  public CompletionStage<SmtpReply> onMessage(SessionInfo session, Envelope envelope, byte[] message) {
    synchronized (this) { // the two lists in step, whichever session comes first
      messages.add(message);
      received.add(envelope);
    }
    return CompletableFuture.completedFuture(SmtpReply.queued("mx-" + received.size()));
  }

  @Override
  public void close() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
