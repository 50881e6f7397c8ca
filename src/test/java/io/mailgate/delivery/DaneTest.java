package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.smtp.Envelope;
import io.mailgate.testing.Await;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.NamedCertificate;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * DANE for SMTP (RFC 7672) in direct delivery, against a DNS server that validates its signed zones as a validating
 * resolver does (the AD bit to queries with DO) and MX hosts run by the test with certificates no CA vouches for: a
 * host whose MX records, addresses and TLSA records are authentic gets its mail only over TLS with a certificate its
 * records stand for (DANE-EE: the certificate's key, whatever it names; DANE-TA: a CA the server sends, and the MX's
 * name), or nothing, and the recipient waits; TLSA records in an unsigned zone change nothing; a signed host whose
 * TLSA records cannot be had is not delivered to.
 */
class DaneTest {
  static Vertx vertx;
  static int port;
  static FakeDnsServer dns;
  /** Its certificate names nothing the test's domains use: DANE-EE needs no name. */
  static TlsMx eeMx;
  /** Another certificate: its key is not eeMx's. */
  static TlsMx otherMx;
  /** Issued by {@link #ca} for mx.ta.example, the CA certificate sent with it. */
  static TlsMx taMx;
  static NamedCertificate ca;
  static RecordingSmtpServer plainMx;
  static TestNode node;
  static SesV2Client ses;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    port = EmbeddedServices.freePort();
    dns = FakeDnsServer.start().defaultTtl(1).soa(1, 1);
    eeMx = new TlsMx(vertx, "127.0.0.2", port, "self-signed.invalid", "dns:self-signed.invalid");
    otherMx = new TlsMx(vertx, "127.0.0.3", port, "other.invalid", "dns:other.invalid");
    ca = NamedCertificate.authority("Test DANE CA");
    taMx = new TlsMx(vertx, "127.0.0.5", port, "mx.ta.example",
        ca.issue("mx.ta.example", "dns:mx.ta.example", "dns:mx.wrongname.example.invalid"));
    plainMx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.4"), port);
    node = TestNode.start("", c -> TlsMx.deliveringTo(c, dns, port).with(MailgateConfig.DELIVERY_MTA_STS, false));
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws Exception {
    ses.close();
    node.close();
    eeMx.close();
    otherMx.close();
    taMx.close();
    plainMx.close();
    dns.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** {@code domain}'s MX host {@code mx} at {@code address}, its zone signed or not. */
  static void mx(String domain, String mx, String address, boolean signed) {
    if (signed) {
      dns.signed(domain);
    }
    dns.mx(domain, 10, mx).a(mx, address);
  }

  /** The record data of {@code selector} (0: the certificate, 1: its key) of {@code cert}, hashed as {@code type}. */
  static String association(X509Certificate cert, int selector, int type) throws Exception {
    byte[] selected = selector == 0 ? cert.getEncoded() : cert.getPublicKey().getEncoded();
    byte[] data = type == 0 ? selected : MessageDigest.getInstance(type == 1 ? "SHA-256" : "SHA-512").digest(selected);
    return HexFormat.of().formatHex(data);
  }

  static String send(String to) {
    return ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("dane")).body(b -> b.text(t -> t.data("body"))))))
        .messageId();
  }

  /** The message's first attempt, once decided: Delivery, or DeliveryDelay and its diagnostic. */
  static String firstAttempt(String to) {
    String id = send(to);
    JsonObject status = Await.until(() -> node.message(id), m -> m.getJsonArray("Events").size() >= 2,
        Duration.ofSeconds(30));
    JsonObject event = status.getJsonArray("Events").getJsonObject(1);
    return event.getString("eventType").equals("DeliveryDelay")
        ? "DeliveryDelay: " + event.getJsonObject("deliveryDelay").getJsonArray("delayedRecipients").getJsonObject(0)
            .getString("diagnosticCode")
        : event.getString("eventType");
  }

  @Test
  void aDaneHostGetsItsMailOverTlsWithACertificateItsRecordsStandFor() throws Exception {
    // DANE-EE: the key of a self-signed certificate that names another host; and the whole certificate, by SHA-512
    mx("ee.example", "mx.ee.example", "127.0.0.2", true);
    dns.tlsa("_" + port + "._tcp.mx.ee.example", "3 1 1 " + association(eeMx.cert.x509(), 1, 1));
    mx("full.example", "mx.full.example", "127.0.0.2", true);
    dns.tlsa("_" + port + "._tcp.mx.full.example", "3 0 2 " + association(eeMx.cert.x509(), 0, 2))
        .tlsa("_" + port + "._tcp.mx.full.example", "1 1 1 " + association(eeMx.cert.x509(), 1, 1));
    int before = eeMx.received.size();
    assertEquals("Delivery", firstAttempt("a@ee.example"));
    assertEquals("Delivery", firstAttempt("a@full.example"));
    assertEquals(before + 2, eeMx.received.size());
    assertTrue(eeMx.received.stream().allMatch(Envelope::tls), "every message went over TLS");
    // DANE-TA: the CA the server sends, and its certificate valid for the MX's name
    mx("ta.example", "mx.ta.example", "127.0.0.5", true);
    dns.tlsa("_" + port + "._tcp.mx.ta.example", "2 0 1 " + association(ca.x509(), 0, 1));
    assertEquals("Delivery", firstAttempt("a@ta.example"));
    assertEquals(1, taMx.received.size());
    assertTrue(node.metric("mailgate_dane_connections_total{result=\"authenticated\"}") >= 3);
  }

  @Test
  void aDaneHostWhoseCertificateTheRecordsDoNotStandForGetsNothing() throws Exception {
    int otherBefore = otherMx.received.size();
    // eeMx's key, published for a host that presents another
    mx("mismatch.example", "mx.mismatch.example", "127.0.0.3", true);
    dns.tlsa("_" + port + "._tcp.mx.mismatch.example", "3 1 1 " + association(eeMx.cert.x509(), 1, 1));
    String mismatch = firstAttempt("a@mismatch.example");
    assertTrue(mismatch.startsWith("DeliveryDelay: ") && mismatch.contains("its certificate matches none of the TLSA "
        + "records of mx.mismatch.example") && mismatch.contains("DANE"), mismatch);
    // DANE-TA under the right CA, for a name its certificate does not have
    mx("wrongname.example", "mx.wrongname.example", "127.0.0.5", true);
    dns.tlsa("_" + port + "._tcp.mx.wrongname.example", "2 1 1 " + association(ca.x509(), 1, 1));
    String wrongName = firstAttempt("a@wrongname.example");
    assertTrue(wrongName.contains("not valid for mx.wrongname.example"), wrongName);
    // a DANE host without STARTTLS: nothing in plain text
    mx("notls.example", "mx.notls.example", "127.0.0.4", true);
    dns.tlsa("_" + port + "._tcp.mx.notls.example", "3 1 1 " + association(eeMx.cert.x509(), 1, 1));
    int plainBefore = plainMx.received().size();
    String noTls = firstAttempt("a@notls.example");
    assertTrue(noTls.contains("does not offer STARTTLS (it has DANE TLSA records)"), noTls);
    assertEquals(plainBefore, plainMx.received().size());
    assertEquals(otherBefore, otherMx.received.size());
    assertTrue(node.metric("mailgate_dane_connections_total{result=\"failed\"}") >= 3);
  }

  @Test
  void tlsaRecordsOutsideSignedDnsChangeNothing() throws Exception {
    // the zone is not signed: records anyone on the path could have forged or stripped are no DANE
    mx("unsigned.example", "mx.unsigned.example", "127.0.0.3", false);
    dns.tlsa("_" + port + "._tcp.mx.unsigned.example", "3 1 1 " + association(eeMx.cert.x509(), 1, 1));
    // signed, without TLSA records: plain text as before
    mx("nodane.example", "mx.nodane.example", "127.0.0.4", true);
    int before = otherMx.received.size();
    int plainBefore = plainMx.received().size();
    assertEquals("Delivery", firstAttempt("a@unsigned.example"));
    assertEquals(before + 1, otherMx.received.size());
    assertEquals("Delivery", firstAttempt("a@nodane.example"));
    assertEquals(plainBefore + 1, plainMx.received().size());
  }

  /**
   * Authentic TLSA records none of which SMTP can use (the PKIX usages, RFC 7672 3.1.3) authenticate nothing, but still
   * promise TLS (2.2): any certificate will do, plain text will not.
   */
  @Test
  void authenticRecordsNoneOfWhichIsUsableStillAskForTls() throws Exception {
    mx("pkix.example", "mx.pkix.example", "127.0.0.3", true);
    dns.tlsa("_" + port + "._tcp.mx.pkix.example", "1 1 1 " + association(eeMx.cert.x509(), 1, 1));
    mx("pkixplain.example", "mx.pkixplain.example", "127.0.0.4", true);
    dns.tlsa("_" + port + "._tcp.mx.pkixplain.example", "0 0 1 " + association(eeMx.cert.x509(), 0, 1));
    int before = otherMx.received.size();
    int plainBefore = plainMx.received().size();
    assertEquals("Delivery", firstAttempt("a@pkix.example"));
    assertEquals(before + 1, otherMx.received.size());
    assertTrue(otherMx.received.get(before).tls(), "over TLS, its certificate not checked");
    assertTrue(node.metric("mailgate_dane_connections_total{result=\"encrypted\"}") >= 1);
    String noTls = firstAttempt("a@pkixplain.example");
    assertTrue(noTls.contains("does not offer STARTTLS (it has DANE TLSA records)"), noTls);
    assertEquals(plainBefore, plainMx.received().size());
  }

  /**
   * The same MX host, signed with its TLSA records, is a DANE host for a domain whose MX records are signed and not for
   * one whose MX records are not (RFC 7672 2.2.1: its name could be anyone's choice): the second's mail goes as
   * without DANE, and its connection, left open, is not one the first's mail may take.
   */
  @Test
  void aHostIsADaneHostOnlyBehindSignedMxRecordsAndItsConnectionsAreKeptApart() throws Exception {
    dns.signed("hosts.example").a("mx.hosts.example", "127.0.0.3")
        .tlsa("_" + port + "._tcp.mx.hosts.example", "3 1 1 " + association(eeMx.cert.x509(), 1, 1));
    dns.mx("plainside.example", 10, "mx.hosts.example");
    dns.signed("signedside.example").mx("signedside.example", 10, "mx.hosts.example");
    int before = otherMx.received.size();
    assertEquals("Delivery", firstAttempt("a@plainside.example"));
    assertEquals(before + 1, otherMx.received.size());
    String dane = firstAttempt("a@signedside.example");
    assertTrue(dane.contains("its certificate matches none of the TLSA records of mx.hosts.example"), dane);
    assertEquals(before + 1, otherMx.received.size());
  }

  @Test
  void aSignedHostWhoseTlsaRecordsCannotBeHadIsNotDeliveredTo() throws Exception {
    mx("servfail.example", "mx.servfail.example", "127.0.0.2", true);
    dns.fail("_" + port + "._tcp.mx.servfail.example", FakeDnsServer.Failure.SERVFAIL);
    int before = eeMx.received.size();
    String waiting = firstAttempt("a@servfail.example");
    assertTrue(waiting.contains("the TLSA records of servfail.example's MX hosts could not be looked up: "
        + "mx.servfail.example (server failure (SERVFAIL))"), waiting);
    assertEquals(before, eeMx.received.size());
  }

  /**
   * A signed domain's mail goes to its other MX host when its preferred one's TLSA records cannot be had, even when a
   * domain whose MX records are not signed, with the same MX hosts, has just delivered to the preferred one and left
   * its connection open: the two do not share a pool.
   */
  @Test
  void aHostLeftOutForItsTlsaLookupIsNotReachedThroughAnotherDomainsPool() throws Exception {
    dns.signed("pool.example").a("mx1.pool.example", "127.0.0.3").a("mx2.pool.example", "127.0.0.4")
        .fail("_" + port + "._tcp.mx1.pool.example", FakeDnsServer.Failure.SERVFAIL);
    for (String domain : new String[] {"unsignedpool.example", "signedpool.example"}) {
      dns.mx(domain, 10, "mx1.pool.example").mx(domain, 20, "mx2.pool.example");
    }
    dns.signed("signedpool.example");
    int first = otherMx.received.size();
    int second = plainMx.received().size();
    assertEquals("Delivery", firstAttempt("a@unsignedpool.example"));
    assertEquals(first + 1, otherMx.received.size(), "its MX records unsigned: no TLSA looked up for mx1");
    assertEquals("Delivery", firstAttempt("a@signedpool.example"));
    assertEquals(first + 1, otherMx.received.size(), "mx1 is not to be connected to for the signed domain");
    assertEquals(second + 1, plainMx.received().size());
  }
}
