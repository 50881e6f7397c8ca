package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.smtp.Envelope;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SelfSignedCertificate;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * MTA-STS (RFC 8461) in direct delivery, against a DNS server, an HTTPS policy server and MX hosts run by the test,
 * each domain with its own policy: an enforced policy sends mail only to the MX hosts it names, only over TLS with a
 * certificate valid for the MX's name, and otherwise the recipient waits (DeliveryDelay, nothing sent, no plain-text
 * fallback); a testing policy, a policy that cannot be fetched or is not one, and a domain without the TXT record
 * deliver as before. A policy is fetched once and then cached.
 */
class MtaStsTest {
  static Vertx vertx;
  static int port;
  static FakeDnsServer dns;
  static HttpServer policies;
  /** What the policy server answers, by Host: the status, content type and body. */
  static final Map<String, String[]> served = new ConcurrentHashMap<>();
  static final List<String> fetched = new CopyOnWriteArrayList<>();
  static TlsMx tlsMx;
  static TlsMx wrongNameMx;
  static TlsMx sharedA;
  static TlsMx sharedB;
  static RecordingSmtpServer plainMx;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    port = EmbeddedServices.freePort();
    dns = FakeDnsServer.start().defaultTtl(1).soa(1, 1);
    // the policy hosts' certificates, one per name (SNI picks it); wrongcert.example's host has none of its own
    PemKeyCertOptions policyCerts = new PemKeyCertOptions();
    StringBuilder trusted = new StringBuilder();
    for (String domain : List.of("enforce", "notls", "badcert", "outside", "testing", "missing", "html", "broken",
        "shared1", "shared2")) {
      SelfSignedCertificate c = SelfSignedCertificate.create("mta-sts." + domain + ".example");
      policyCerts.addCertPath(c.certificatePath()).addKeyPath(c.privateKeyPath());
      trusted.append(Files.readString(Path.of(c.certificatePath())));
    }
    policies = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setSni(true).setHost("127.0.0.1")
            .setPort(0).setKeyCertOptions(policyCerts))
        .requestHandler(req -> {
          fetched.add(req.authority().host() + req.path());
          String[] answer = served.getOrDefault(req.authority().host(), new String[] {"404", "text/plain", ""});
          req.response().setStatusCode(Integer.parseInt(answer[0])).putHeader("Content-Type", answer[1])
              .end(answer[2]);
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    tlsMx = new TlsMx(vertx, "127.0.0.2", port, "mx.enforce.example", "dns:mx.enforce.example");
    // named by its address, which is what is dialled, and by another name than the MX's
    wrongNameMx = new TlsMx(vertx, "127.0.0.3", port, "elsewhere.example", "dns:elsewhere.example",
        "ip:127.0.0.3");
    sharedA = new TlsMx(vertx, "127.0.0.5", port, "mxa.shared.example", "dns:mxa.shared.example");
    sharedB = new TlsMx(vertx, "127.0.0.6", port, "mxb.shared.example", "dns:*.shared.example");
    plainMx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.4"), port);
    // the test's certificates are its web PKI: the policy hosts', and the MX hosts'
    Path trust = Files.createTempFile("mta-sts-ca", ".pem");
    Files.writeString(trust, trusted + tlsMx.cert.pem() + wrongNameMx.cert.pem() + sharedA.cert.pem()
        + sharedB.cert.pem());
    node = TestNode.start("", c -> TlsMx.deliveringTo(c, dns, port)
        .with(MailgateConfig.DELIVERY_MTA_STS_PORT, policies.actualPort())
        .with(MailgateConfig.DELIVERY_MTA_STS_CA_FILE, trust.toString()));
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws Exception {
    ses.close();
    node.close();
    tlsMx.close();
    wrongNameMx.close();
    sharedA.close();
    sharedB.close();
    plainMx.close();
    dns.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** {@code domain} publishes a policy (id {@code id}) whose body is {@code policy}, and its MX host {@code mx}. */
  static void publish(String domain, String id, String policy, String mx, String mxAddress) {
    publish(domain, id, policy);
    dns.mx(domain, 10, mx).a(mx, mxAddress);
  }

  /** {@code domain} publishes a policy (id {@code id}) whose body is {@code policy}. */
  static void publish(String domain, String id, String policy) {
    dns.txt("_mta-sts." + domain, "v=STSv1; id=" + id + ";").a("mta-sts." + domain, "127.0.0.1");
    served.put("mta-sts." + domain, new String[] {"200", "text/plain; charset=utf-8", policy});
  }

  static String enforce(String... mx) {
    StringBuilder b = new StringBuilder("version: STSv1\r\nmode: enforce\r\n");
    for (String m : mx) {
      b.append("mx: ").append(m).append("\r\n");
    }
    return b.append("max_age: 86400\r\n").toString();
  }

  static String send(String to) {
    return ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("sts")).body(b -> b.text(t -> t.data("body")))))).messageId();
  }

  /** The message's status once its first attempt is decided. */
  static JsonObject firstAttempt(String id) {
    return Await.until(() -> node.message(id), m -> m.getJsonArray("Events").size() >= 2, Duration.ofSeconds(30));
  }

  static String delayDiagnostic(JsonObject status) {
    JsonObject delay = status.getJsonArray("Events").getJsonObject(1);
    assertEquals("DeliveryDelay", delay.getString("eventType"), status.encodePrettily());
    return delay.getJsonObject("deliveryDelay").getJsonArray("delayedRecipients").getJsonObject(0)
        .getString("diagnosticCode");
  }

  static String eventType(JsonObject status) {
    return status.getJsonArray("Events").getJsonObject(1).getString("eventType");
  }

  @Test
  void anEnforcedPolicyDeliversOverVerifiedTlsAndIsFetchedOnce() {
    publish("enforce.example", "20261130", enforce("mx.enforce.example"), "mx.enforce.example", "127.0.0.2");
    int before = tlsMx.received.size();
    assertEquals("Delivery", eventType(firstAttempt(send("a@enforce.example"))));
    assertEquals("Delivery", eventType(firstAttempt(send("b@enforce.example"))));
    assertEquals(before + 2, tlsMx.received.size());
    assertTrue(tlsMx.received.stream().allMatch(Envelope::tls), "every message went over TLS");
    assertEquals(1, fetched.stream().filter(f -> f.equals("mta-sts.enforce.example/.well-known/mta-sts.txt")).count(),
        "the policy is fetched once, then cached: " + fetched);
    assertTrue(node.metric("mailgate_mta_sts_fetches_total{result=\"fetched\"}") >= 1);
  }

  @Test
  void anEnforcedPolicyWaitsRatherThanSendInPlainTextOrToAnUnverifiedHost() {
    // the MX offers no STARTTLS: nothing is sent, not even in plain text
    publish("notls.example", "1", enforce("mx.notls.example"), "mx.notls.example", "127.0.0.4");
    int plainBefore = plainMx.received().size();
    String noTls = delayDiagnostic(firstAttempt(send("a@notls.example")));
    assertTrue(noTls.contains("does not offer STARTTLS") && noTls.contains("MTA-STS"), noTls);
    assertEquals(plainBefore, plainMx.received().size());

    // the MX's certificate is trusted, and names the address dialled, but not the MX's name
    publish("badcert.example", "1", enforce("mx.badcert.example"), "mx.badcert.example", "127.0.0.3");
    String badCert = delayDiagnostic(firstAttempt(send("a@badcert.example")));
    assertTrue(badCert.contains("its certificate names elsewhere.example, not mx.badcert.example")
        && badCert.contains("MTA-STS policy requires a certificate valid for mx.badcert.example"), badCert);
    assertEquals(0, wrongNameMx.received.size());

    // the MX record names a host the policy does not: it is not connected to
    publish("outside.example", "1", enforce("*.allowed.example", "mx.allowed.example"), "mx.outside.example",
        "127.0.0.2");
    int tlsBefore = tlsMx.received.size();
    String outside = delayDiagnostic(firstAttempt(send("a@outside.example")));
    assertTrue(outside.contains("no MX host of outside.example (mx.outside.example) is one its MTA-STS policy "
        + "allows (mx: *.allowed.example, mx.allowed.example)"), outside);
    assertEquals(tlsBefore, tlsMx.received.size());
  }

  @Test
  void domainsWithTheSameMxHostsButDifferentPoliciesKeepTheirConnectionsApart() {
    for (String d : List.of("shared1.example", "shared2.example")) {
      dns.mx(d, 10, "mxa.shared.example").mx(d, 20, "mxb.shared.example");
    }
    dns.a("mxa.shared.example", "127.0.0.5").a("mxb.shared.example", "127.0.0.6");
    // shared2 allows both (its mail goes to the preferred mxa); shared1 only mxb (matched by its wildcard name)
    publish("shared2.example", "1", enforce("mxa.shared.example", "mxb.shared.example"));
    publish("shared1.example", "1", enforce("mxb.shared.example"));
    assertEquals("Delivery", eventType(firstAttempt(send("a@shared2.example"))));
    assertEquals(1, sharedA.received.size());
    // the connection to mxa is idle in shared2's pool: shared1's mail must not take it
    assertEquals("Delivery", eventType(firstAttempt(send("a@shared1.example"))));
    assertEquals(1, sharedA.received.size());
    assertEquals(1, sharedB.received.size());
    assertEquals("a@shared1.example", sharedB.received.get(0).recipients().get(0).address());
    // one site still, shaped as all of its MX hosts, whatever each policy allows of them
    List<JsonObject> sites = new JsonObject(node.signed("GET", "/_mailgate/delivery/sites", null, Map.of()).body())
        .getJsonArray("Sites").stream().map(o -> (JsonObject) o)
        .filter(site -> site.getString("Site").contains("shared.example")).toList();
    assertEquals(1, sites.size(), sites.toString());
    assertEquals(List.of("mxa.shared.example", "mxb.shared.example"), sites.get(0).getJsonArray("MxHosts").getList());
  }

  @Test
  void withoutAnEnforcedPolicyMailGoesAsBefore() {
    int before = plainMx.received().size();
    // testing mode: delivered, in plain text to an MX without STARTTLS
    publish("testing.example", "1", "version: STSv1\nmode: testing\nmx: mx.testing.example\nmax_age: 600\n",
        "mx.testing.example", "127.0.0.4");
    assertEquals("Delivery", eventType(firstAttempt(send("a@testing.example"))));
    // a TXT record whose policy is not found (404, whatever its body says), one served as HTML, one that is not a
    // policy
    publish("missing.example", "1", "", "mx.missing.example", "127.0.0.4");
    served.put("mta-sts.missing.example", new String[] {"404", "text/plain", enforce("mx.other.example")});
    publish("html.example", "1", enforce("mx.other.example"), "mx.html.example", "127.0.0.4");
    served.put("mta-sts.html.example", new String[] {"200", "text/html", enforce("mx.other.example")});
    publish("broken.example", "1", "version: STSv2\nmode: enforce\nmx: mx.other.example\nmax_age: 600\n",
        "mx.broken.example", "127.0.0.4");
    // an enforce policy whose host's certificate is not valid for its name is no policy
    publish("wrongcert.example", "1", enforce("mx.other.example"), "mx.wrongcert.example", "127.0.0.4");
    // and a domain without the TXT record
    dns.mx("plain.example", 10, "mx.plain.example").a("mx.plain.example", "127.0.0.4");
    for (String domain : List.of("missing", "html", "broken", "wrongcert", "plain")) {
      assertEquals("Delivery", eventType(firstAttempt(send("a@" + domain + ".example"))), domain);
    }
    assertEquals(before + 6, plainMx.received().size());
    // the four fetches that brought no policy are counted for the operator (missing, html, broken, wrongcert)
    assertEquals(4, node.metric("mailgate_mta_sts_fetches_total{result=\"failed\"}"));
    assertTrue(fetched.contains("mta-sts.html.example/.well-known/mta-sts.txt"), "html's policy was asked for");
    assertFalse(fetched.contains("mta-sts.plain.example/.well-known/mta-sts.txt"));
  }
}
