package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.smtp.Envelope;
import io.mailgate.smtp.SmtpReply;
import io.mailgate.smtp.SmtpServer;
import io.mailgate.smtp.SmtpServerOptions;
import io.mailgate.testing.Await;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/** TlsPolicy REQUIRE: no delivery in plain text; with STARTTLS offered, delivery over TLS. */
class TlsPolicyTest {

  static String send(SesV2Client ses, String subject) {
    return ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses("x@example.org"))
        .content(c -> c.simple(m -> m.subject(s -> s.data(subject)).body(b -> b.text(t -> t.data("body")))))).messageId();
  }

  @Test
  void requiredTlsIsNeverSkipped() throws Exception {
    try (RecordingSmtpServer plain = new RecordingSmtpServer();
         TestNode node = TestNode.start(plain.url(), c -> c.with(MailgateConfig.DELIVERY_TLS_POLICY, "REQUIRE")
             .with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 60));
         SesV2Client ses = node.sesV2()) {
      String id = send(ses, "needs tls");
      JsonObject status = Await.until(() -> node.message(id), m -> m.getJsonArray("Events").size() >= 2,
          Duration.ofSeconds(15));
      JsonObject delay = status.getJsonArray("Events").getJsonObject(1);
      assertEquals("DeliveryDelay", delay.getString("eventType"));
      String diagnostic = delay.getJsonObject("deliveryDelay").getJsonArray("delayedRecipients").getJsonObject(0)
          .getString("diagnosticCode");
      assertTrue(diagnostic.contains("TLS is required"), diagnostic);
      assertEquals("QUEUED", status.getJsonArray("Recipients").getJsonObject(0).getString("Status"));
      assertTrue(plain.received().isEmpty());
      assertTrue(plain.commands().stream().noneMatch(c -> c.startsWith("MAIL")), plain.commands().toString());
    }
  }

  /**
   * A set's TlsPolicy REQUIRE holds for its queued messages after the set is deleted (Terraform deletes and creates a
   * set again for some changes): they are not retried in plain text under the node's OPTIONAL.
   */
  @Test
  void aDeletedSetsRequiredTlsStillHoldsForItsQueuedMessages() throws Exception {
    try (RecordingSmtpServer plain = new RecordingSmtpServer();
         TestNode node = TestNode.start(plain.url(), c -> c.with(MailgateConfig.DELIVERY_RETRY_BASE_SECONDS, 1)
             .with(MailgateConfig.DELIVERY_RETRY_MAX_SECONDS, 2));
         SesV2Client ses = node.sesV2()) {
      ses.createConfigurationSet(r -> r.configurationSetName("strict")
          .deliveryOptions(d -> d.tlsPolicy(software.amazon.awssdk.services.sesv2.model.TlsPolicy.REQUIRE)));
      String id = ses.sendEmail(r -> r.fromEmailAddress("a@example.com").configurationSetName("strict")
          .destination(d -> d.toAddresses("b@example.org"))
          .content(c -> c.simple(m -> m.subject(s -> s.data("strict")).body(b -> b.text(t -> t.data("body"))))))
          .messageId();
      String pg = node.config().get(MailgateConfig.PG_URL);
      String attempts = "SELECT attempts FROM recipients WHERE message_id = '" + id + "'";
      Await.until(() -> io.mailgate.testing.Db.count(pg, attempts) >= 1, Duration.ofSeconds(15));
      ses.deleteConfigurationSet(r -> r.configurationSetName("strict"));
      long before = io.mailgate.testing.Db.count(pg, attempts);
      Await.until(() -> io.mailgate.testing.Db.count(pg, attempts) >= before + 2, Duration.ofSeconds(30));
      assertTrue(plain.commands().stream().noneMatch(c -> c.startsWith("MAIL")), plain.commands().toString());
      assertEquals("QUEUED", node.message(id).getJsonArray("Recipients").getJsonObject(0).getString("Status"));
      assertTrue(node.message(id).getJsonArray("Recipients").getJsonObject(0).encode().contains("TLS is required"),
          node.message(id).encode());
    }
  }

  @Test
  void startTlsIsUsedWhenRequiredAndOffered() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<Envelope> received = new CopyOnWriteArrayList<>();
    SmtpServer server = tlsServer(vertx, received);
    try {
      deliveredOverRequiredTls(server.actualPort(), "over tls", received);
      assertEquals(1, received.size());
    } finally {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close();
    }
  }

  /**
   * A Delivery over STARTTLS tags its TLS protocol as SES's do ({@code ses:outgoing-tls-version}), in the event posted
   * to a webhook and in the message's status; its loopback source address is no {@code ses:outgoing-ip}, and the Send
   * tags no connection.
   */
  @Test
  void aDeliveryTagsTheTlsItWentOver() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<Envelope> received = new CopyOnWriteArrayList<>();
    SmtpServer server = tlsServer(vertx, received);
    try (io.mailgate.testing.WebhookReceiver webhook = new io.mailgate.testing.WebhookReceiver();
         TestNode node = TestNode.start("smtp://127.0.0.1:" + server.actualPort(),
             c -> c.with(MailgateConfig.DELIVERY_TLS_POLICY, "REQUIRE"));
         SesV2Client ses = node.sesV2()) {
      ses.createConfigurationSet(r -> r.configurationSetName("tls"));
      ses.createConfigurationSetEventDestination(r -> r.configurationSetName("tls").eventDestinationName("hook")
          .eventDestination(d -> d.enabled(true).matchingEventTypesWithStrings("SEND", "DELIVERY")
              .snsDestination(sns -> sns.topicArn(webhook.url("/tls")))));
      String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").configurationSetName("tls")
          .destination(d -> d.toAddresses("x@example.org"))
          .content(c -> c.simple(m -> m.subject(t -> t.data("over tls")).body(b -> b.text(t -> t.data("body"))))))
          .messageId();
      List<io.mailgate.testing.WebhookReceiver.Post> posts = Await.until(() -> webhook.posts("/tls", id),
          p -> p.size() >= 2, Duration.ofSeconds(20));
      assertTrue(received.get(0).tls());
      JsonObject status = node.awaitOutcomes(id, 1);
      List<JsonObject> deliveries = new java.util.ArrayList<>();
      for (Object e : status.getJsonArray("Events")) {
        deliveries.add((JsonObject) e);
      }
      posts.forEach(p -> deliveries.add(p.json()));
      int tagged = 0;
      for (JsonObject event : deliveries) {
        JsonObject tags = event.getJsonObject("mail").getJsonObject("tags");
        assertFalse(tags.containsKey("ses:outgoing-ip"), "a loopback source: " + tags.encode());
        if (event.getString("eventType").equals("Delivery")) {
          assertTrue(tags.getJsonArray("ses:outgoing-tls-version").getString(0).matches("TLSv1\\.[23]"),
              event.encode());
          assertFalse(event.getJsonObject("delivery").containsKey("mailTags"), event.encode());
          tagged++;
        } else {
          assertFalse(tags.containsKey("ses:outgoing-tls-version"), event.encode());
        }
      }
      assertEquals(2, tagged, "the status's Delivery and the webhook's: " + deliveries);
    } finally {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close();
    }
  }

  /**
   * RFC 3207 section 5: bytes that come in plain text after STARTTLS's 220, in the same read (put there by someone on
   * the path, here a proxy that adds a "5"), are not read with the first reply over TLS, where "5" + "250-..." would
   * have made the EHLO answer a 525 and failed every delivery.
   */
  @Test
  void plaintextAfterTheStartTls220IsNotRead() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<Envelope> received = new CopyOnWriteArrayList<>();
    SmtpServer server = tlsServer(vertx, received);
    byte[] ready = "220 2.0.0 Ready to start TLS\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    java.util.concurrent.atomic.AtomicBoolean injected = new java.util.concurrent.atomic.AtomicBoolean();
    try (java.net.ServerSocket proxy = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread accept = new Thread(() -> {
        try {
          while (true) {
            java.net.Socket client = proxy.accept();
            java.net.Socket upstream = new java.net.Socket("127.0.0.1", server.actualPort());
            pump(client, upstream, null, null);
            pump(upstream, client, ready, injected);
          }
        } catch (java.io.IOException e) {
          // the proxy closed
        }
      });
      accept.setDaemon(true);
      accept.start();
      deliveredOverRequiredTls(proxy.getLocalPort(), "past an injected byte", received);
      // the proxy injects only when one read is exactly the 220 line: without it, this test would prove nothing
      assertTrue(injected.get(), "the proxy never saw the STARTTLS 220 alone in one read, so injected nothing");
    } finally {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close();
    }
  }

  /**
   * A node relaying to {@code port} with TLS required delivers a message with {@code subject}, and the server got it
   * over TLS.
   */
  private static void deliveredOverRequiredTls(int port, String subject, List<Envelope> received) {
    try (TestNode node = TestNode.start("smtp://127.0.0.1:" + port,
            c -> c.with(MailgateConfig.DELIVERY_TLS_POLICY, "REQUIRE"));
         SesV2Client ses = node.sesV2()) {
      String id = send(ses, subject);
      JsonObject status = node.awaitOutcomes(id, 1);
      assertEquals("DELIVERED", status.getJsonArray("Recipients").getJsonObject(0).getString("Status"),
          status.encodePrettily());
      assertTrue(received.get(received.size() - 1).tls(), "the message travelled over TLS");
    }
  }

  /** An SMTP server on this machine that offers STARTTLS (a self-signed certificate) and keeps what it receives. */
  private static SmtpServer tlsServer(Vertx vertx, List<Envelope> received) throws Exception {
    SelfSignedCertificate cert = SelfSignedCertificate.create("mx.tls.example");
    return SmtpServer.start(vertx, new SmtpServerOptions().setHost("127.0.0.1").setPort(0)
            .setServerName("mx.tls.example").setKeyCertOptions(cert.keyCertOptions()),
        (session, envelope, message) -> {
          received.add(envelope);
          return CompletableFuture.completedFuture(SmtpReply.queued("tls-" + received.size()));
        }).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * Copies one direction of a proxied connection; after {@code marker} (once), a "5" goes out in the same write, and
   * {@code injected} is set.
   */
  private static void pump(java.net.Socket from, java.net.Socket to, byte[] marker,
      java.util.concurrent.atomic.AtomicBoolean injected) {
    Thread t = new Thread(() -> {
      try {
        java.io.InputStream in = from.getInputStream();
        java.io.OutputStream out = to.getOutputStream();
        byte[] buf = new byte[16384];
        boolean done = marker == null;
        int n;
        while ((n = in.read(buf)) > 0) {
          if (!done && java.util.Arrays.equals(buf, 0, n, marker, 0, marker.length)) {
            done = true;
            byte[] more = java.util.Arrays.copyOf(buf, n + 1);
            more[n] = '5';
            injected.set(true);
            out.write(more);
          } else {
            out.write(buf, 0, n);
          }
          out.flush();
        }
      } catch (java.io.IOException e) {
        // one side closed
      } finally {
        try {
          from.close();
          to.close();
        } catch (java.io.IOException ignored) {
          // closed already
        }
      }
    });
    t.setDaemon(true);
    t.start();
  }
}
