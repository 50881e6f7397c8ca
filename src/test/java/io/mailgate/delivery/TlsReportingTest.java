package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.dev.EmbeddedServices;
import io.mailgate.send.dkim.DkimKeyType;
import io.mailgate.send.dkim.DkimKeys;
import io.mailgate.testing.Await;
import io.mailgate.testing.Db;
import io.mailgate.testing.FakeDnsServer;
import io.mailgate.testing.Jdkim;
import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.TestClock;
import io.mailgate.testing.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SelfSignedCertificate;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.SingleBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sesv2.SesV2Client;

/**
 * SMTP TLS Reporting (RFC 8460) end to end: a node delivering straight to MX hosts run by the test counts its TLS
 * sessions (one over TLS without a policy, one to a host without STARTTLS, one to a DANE host whose certificate its
 * TLSA records do not stand for), and once its day is over sends each domain that publishes a TLSRPT record its report:
 * posted gzipped to an HTTPS destination (retried when it fails), mailed DKIM-signed as multipart/report to a mailto
 * one (delivered despite its domain's failing DANE, and not counted); a domain without a record gets none.
 */
class TlsReportingTest {
  static Vertx vertx;
  static int port;
  static FakeDnsServer dns;
  static TlsMx tlsMx;
  static TlsMx otherMx;
  static RecordingSmtpServer plainMx;
  static HttpServer reports;
  /** What the report server was posted, by path: each body gunzipped, with its content type. */
  static final Map<String, List<String>> posted = new ConcurrentHashMap<>();
  /** The MTA-STS policies served, by policy host. */
  static final Map<String, String> policies = new ConcurrentHashMap<>();
  /** How many posts to /flaky are answered 503 before one is taken. */
  static final AtomicInteger flaky = new AtomicInteger(1);
  static TestClock clock;
  static TestNode node;
  static SesV2Client ses;
  static String dkimRecord;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    port = EmbeddedServices.freePort();
    dns = FakeDnsServer.start().defaultTtl(1).soa(1, 1);
    tlsMx = new TlsMx(vertx, "127.0.0.2", port, "mx.tls.example", "dns:mx.tls.example");
    otherMx = new TlsMx(vertx, "127.0.0.3", port, "other.invalid", "dns:other.invalid");
    plainMx = new RecordingSmtpServer(InetAddress.getByName("127.0.0.4"), port);
    // the report destination's certificate, and the MTA-STS policy hosts' (SNI picks one)
    PemKeyCertOptions certs = new PemKeyCertOptions();
    StringBuilder trusted = new StringBuilder();
    for (String name : List.of("reports.example", "mta-sts.testing.example", "mta-sts.testbad.example",
        "mta-sts.broken.example")) {
      SelfSignedCertificate c = SelfSignedCertificate.create(name);
      certs.addCertPath(c.certificatePath()).addKeyPath(c.privateKeyPath());
      trusted.append(Files.readString(Path.of(c.certificatePath())));
    }
    reports = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setSni(true).setHost("127.0.0.1")
            .setPort(0).setKeyCertOptions(certs))
        .requestHandler(req -> req.body().onSuccess(body -> {
          if (req.method() == HttpMethod.GET) { // an MTA-STS policy
            String policy = policies.get(req.authority().host());
            req.response().setStatusCode(policy == null ? 404 : 200).putHeader("Content-Type", "text/plain")
                .end(policy == null ? "" : policy);
            return;
          }
          if (req.path().equals("/flaky") && flaky.getAndDecrement() > 0) {
            req.response().setStatusCode(503).end();
            return;
          }
          try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body.getBytes()))) {
            posted.computeIfAbsent(req.path(), k -> new CopyOnWriteArrayList<>())
                .add(req.getHeader("Content-Type") + " " + new String(in.readAllBytes(), StandardCharsets.UTF_8));
            req.response().setStatusCode(201).end();
          } catch (Exception e) {
            req.response().setStatusCode(400).end(e.toString());
          }
        }))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    // the test's web PKI: those, and two MX hosts' (otherMx's names neither of the MX names it is given)
    Path trust = Files.createTempFile("tlsrpt-ca", ".pem");
    Files.writeString(trust, trusted + tlsMx.cert.pem() + otherMx.cert.pem());
    KeyPair key = DkimKeys.generate(DkimKeyType.RSA_2048);
    Path keyFile = Files.createTempFile("tlsrpt-dkim", ".pem");
    Files.writeString(keyFile, DkimKeys.toPem(key.getPrivate()));
    dkimRecord = DkimKeys.dnsTxtRecord(key.getPublic());
    clock = new TestClock(Instant.now());
    node = TestNode.start("", c -> TlsMx.deliveringTo(c, dns, port)
        .with(MailgateConfig.DELIVERY_MTA_STS_PORT, reports.actualPort())
        .with(MailgateConfig.DELIVERY_HELO_NAME, "mta.sender.example")
        .with(MailgateConfig.DELIVERY_MTA_STS_CA_FILE, trust.toString())
        .with(MailgateConfig.TLS_RPT_ENABLED, true)
        .with(MailgateConfig.TLS_RPT_INTERVAL_SECONDS, 1)
        .with(MailgateConfig.TLS_RPT_ORGANIZATION, "Sender Example")
        .with(MailgateConfig.TLS_RPT_CONTACT, "postmaster@sender.example")
        .with(MailgateConfig.TLS_RPT_FROM, "tls-reports@sender.example")
        .with(MailgateConfig.TLS_RPT_DKIM_KEY_FILE, keyFile.toString()), clock);
    ses = node.sesV2();
  }

  @AfterAll
  static void stop() throws Exception {
    ses.close();
    node.close();
    tlsMx.close();
    otherMx.close();
    plainMx.close();
    dns.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static String firstAttempt(String to) {
    String id = ses.sendEmail(r -> r.fromEmailAddress("sender@example.com").destination(d -> d.toAddresses(to))
        .content(c -> c.simple(m -> m.subject(s -> s.data("tls")).body(b -> b.text(t -> t.data("body"))))))
        .messageId();
    JsonObject status = Await.until(() -> node.message(id), m -> m.getJsonArray("Events").size() >= 2,
        Duration.ofSeconds(30));
    return status.getJsonArray("Events").getJsonObject(1).getString("eventType");
  }

  /** The one report posted to {@code path}, its content type checked. */
  static JsonObject postedReport(String path) {
    List<String> bodies = Await.until(() -> posted.get(path), b -> b != null && !b.isEmpty(), Duration.ofSeconds(30));
    assertEquals(1, bodies.size(), "one report: " + bodies);
    assertTrue(bodies.get(0).startsWith("application/tlsrpt+gzip {"), bodies.get(0));
    return new JsonObject(bodies.get(0).substring(bodies.get(0).indexOf(' ') + 1));
  }

  static JsonObject onlyPolicy(JsonObject report, String domain, LocalDate day) {
    assertEquals("Sender Example", report.getString("organization-name"));
    assertEquals("postmaster@sender.example", report.getString("contact-info"));
    assertEquals(day + "T00:00:00Z", report.getJsonObject("date-range").getString("start-datetime"));
    assertEquals(day + "T23:59:59Z", report.getJsonObject("date-range").getString("end-datetime"));
    assertEquals(TlsReport.reportId(day, domain, "sender.example"), report.getString("report-id"));
    JsonArray policies = report.getJsonArray("policies");
    assertEquals(1, policies.size(), policies.encodePrettily());
    assertEquals(domain, policies.getJsonObject(0).getJsonObject("policy").getString("policy-domain"));
    return policies.getJsonObject(0);
  }

  /** {@code domain}'s MX host {@code mx}, a testing MTA-STS policy naming {@code allowed}, reports to {@code rua}. */
  static void policy(String domain, String mx, String allowed, String rua) {
    dns.mx(domain, 10, mx).txt("_mta-sts." + domain, "v=STSv1; id=1").a("mta-sts." + domain, "127.0.0.1")
        .txt("_smtp._tls." + domain, "v=TLSRPTv1; rua=https://" + rua);
    policies.put("mta-sts." + domain, "version: STSv1\nmode: testing\nmx: " + allowed + "\nmax_age: 86400\n");
  }

  @Test
  void eachDomainThatAsksGetsItsDaysReport() throws Exception {
    String hostPort = "reports.example:" + reports.actualPort();
    // the reports' own domain is under DANE, its TLSA records another certificate's (ordinary mail would wait, as
    // dane.example's does): reports go to its MX all the same (RFC 8460 3), their sessions not counted
    dns.signed("reports.example").a("reports.example", "127.0.0.1")
        .mx("reports.example", 10, "mx.reports.example").a("mx.reports.example", "127.0.0.2")
        .tlsa("_" + port + "._tcp.mx.reports.example", "3 1 1 " + DaneTest.association(otherMx.cert.x509(), 1, 1));
    dns.a("mx.tls.example", "127.0.0.2");
    // over TLS, no policy: a successful session, posted
    dns.mx("good.example", 10, "mx.tls.example")
        .txt("_smtp._tls.good.example", "v=TLSRPTv1; rua=https://" + hostPort + "/good");
    // no STARTTLS: a failed session, mailed
    dns.mx("plain.example", 10, "mx.plain.example").a("mx.plain.example", "127.0.0.4")
        .txt("_smtp._tls.plain.example", "v=TLSRPTv1;rua=mailto:tlsrpt@reports.example");
    // DANE: records another certificate's key, signed; posted (the first post failing) and mailed
    String tlsa = "3 1 1 " + DaneTest.association(tlsMx.cert.x509(), 1, 1);
    dns.signed("dane.example").mx("dane.example", 10, "mx.dane.example").a("mx.dane.example", "127.0.0.3")
        .tlsa("_" + port + "._tcp.mx.dane.example", tlsa)
        .txt("_smtp._tls.dane.example", "v=TLSRPTv1; rua=https://" + hostPort + "/flaky,mailto:tlsrpt@reports.example")
        .txt("_smtp._tls.dane.example", "some other record");
    // no record: no report
    dns.mx("quiet.example", 10, "mx.tls.example");
    dns.txt("tlsrpt._domainkey.sender.example", dkimRecord);
    // MTA-STS testing: the MX the policy names, its certificate good; and one whose certificate names another host
    // (both delivered: testing only reports); a policy that cannot be fetched
    policy("testing.example", "mx.tls.example", "mx.tls.example", hostPort + "/testing");
    policy("testbad.example", "mx.testbad.example", "mx.testbad.example", hostPort + "/testbad");
    dns.a("mx.testbad.example", "127.0.0.3");
    dns.mx("broken.example", 10, "mx.tls.example").txt("_mta-sts.broken.example", "v=STSv1; id=1")
        .a("mta-sts.broken.example", "127.0.0.1")
        .txt("_smtp._tls.broken.example", "v=TLSRPTv1; rua=https://" + hostPort + "/broken");
    LocalDate day = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);

    assertEquals("Delivery", firstAttempt("a@good.example"));
    assertEquals("Delivery", firstAttempt("a@plain.example"));
    assertEquals("DeliveryDelay", firstAttempt("a@dane.example"));
    assertEquals("Delivery", firstAttempt("a@quiet.example"));
    assertEquals("Delivery", firstAttempt("a@testing.example"));
    assertEquals("Delivery", firstAttempt("a@testbad.example"));
    assertEquals("Delivery", firstAttempt("a@broken.example"));
    int mailed = tlsMx.received.size();
    // nothing goes out before the day is over, and 15 minutes more
    Instant midnight = day.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    clock.advance(Duration.between(clock.instant(), midnight).plusMinutes(10));
    Thread.sleep(2500);
    assertTrue(posted.isEmpty(), "nothing before the day is over and settled: " + posted);
    clock.advance(Duration.ofMinutes(10));

    JsonObject good = onlyPolicy(postedReport("/good"), "good.example", day);
    assertEquals("no-policy-found", good.getJsonObject("policy").getString("policy-type"));
    assertTrue(good.getJsonObject("summary").getLong("total-successful-session-count") >= 1, good.encode());
    assertEquals(0L, good.getJsonObject("summary").getLong("total-failure-session-count"), good.encode());
    assertNull(good.getJsonArray("failure-details"));

    JsonObject testing = onlyPolicy(postedReport("/testing"), "testing.example", day);
    assertEquals(new JsonObject().put("policy-type", "sts")
        .put("policy-string", new JsonArray().add("version: STSv1").add("mode: testing").add("mx: mx.tls.example")
            .add("max_age: 86400"))
        .put("policy-domain", "testing.example").put("mx-host", new JsonArray().add("mx.tls.example")),
        testing.getJsonObject("policy"));
    assertEquals(new JsonObject().put("total-successful-session-count", 1L).put("total-failure-session-count", 0L),
        testing.getJsonObject("summary"));
    JsonObject testbad = onlyPolicy(postedReport("/testbad"), "testbad.example", day);
    assertEquals(new JsonObject().put("total-successful-session-count", 0L).put("total-failure-session-count", 1L),
        testbad.getJsonObject("summary"));
    JsonObject mismatch = testbad.getJsonArray("failure-details").getJsonObject(0);
    assertEquals("certificate-host-mismatch", mismatch.getString("result-type"), mismatch.encode());
    assertTrue(mismatch.getString("failure-reason-code").contains("does not name mx.testbad.example"));
    JsonObject broken = postedReport("/broken");
    JsonArray brokenPolicies = broken.getJsonArray("policies");
    assertEquals(2, brokenPolicies.size(), brokenPolicies.encode());
    for (Object o : brokenPolicies) {
      JsonObject p = (JsonObject) o;
      if (p.getJsonObject("policy").getString("policy-type").equals("sts")) {
        assertEquals("sts-policy-fetch-error", p.getJsonArray("failure-details").getJsonObject(0)
            .getString("result-type"));
        assertEquals("mta-sts.broken.example", p.getJsonArray("failure-details").getJsonObject(0)
            .getString("receiving-mx-hostname"));
      } else {
        assertEquals("no-policy-found", p.getJsonObject("policy").getString("policy-type"));
        assertEquals(1L, p.getJsonObject("summary").getLong("total-successful-session-count"));
      }
    }

    // the post that failed is tried again a backoff later
    Await.until(() -> Db.string(node.config().get(MailgateConfig.PG_URL),
        "SELECT last_error FROM tls_reports WHERE policy_domain = 'dane.example'"), e -> e != null,
        Duration.ofSeconds(30));
    assertTrue(posted.get("/flaky") == null, "not yet");
    clock.advance(Duration.ofMinutes(6));
    JsonObject dane = onlyPolicy(postedReport("/flaky"), "dane.example", day);
    assertEquals(new JsonObject().put("policy-type", "tlsa").put("policy-string", new JsonArray().add(tlsa))
        .put("policy-domain", "dane.example").put("mx-host", new JsonArray().add("mx.dane.example")),
        dane.getJsonObject("policy"));
    assertEquals(0L, dane.getJsonObject("summary").getLong("total-successful-session-count"));
    JsonObject failure = dane.getJsonArray("failure-details").getJsonObject(0);
    assertEquals("tlsa-invalid", failure.getString("result-type"));
    assertEquals("mx.dane.example", failure.getString("receiving-mx-hostname"));
    assertEquals("127.0.0.3", failure.getString("receiving-ip"));
    assertEquals("127.0.0.1", failure.getString("sending-mta-ip"));
    assertTrue(failure.getLong("failed-session-count") >= 1);
    assertTrue(failure.getString("failure-reason-code").contains("matches none of the TLSA records"),
        failure.encode());

    // mailed: plain.example's and dane.example's, to reports.example's MX
    Await.until(() -> tlsMx.received.size(), n -> n >= mailed + 2, Duration.ofSeconds(30));
    Thread.sleep(500);
    assertEquals(mailed + 2, tlsMx.received.size(), "one mail per report");
    Map<String, Message> mails = new java.util.HashMap<>();
    for (int i = mailed; i < mailed + 2; i++) {
      assertEquals("", tlsMx.received.get(i).reversePath(), "the null sender");
      assertEquals("tlsrpt@reports.example", tlsMx.received.get(i).recipients().get(0).address());
      byte[] content = tlsMx.messages.get(i);
      assertNull(Jdkim.verify(content, Map.of("tlsrpt._domainkey.sender.example", dkimRecord), true));
      assertTrue(new String(content, StandardCharsets.US_ASCII).startsWith("DKIM-Signature:"));
      Message m = new DefaultMessageBuilder().parseMessage(new ByteArrayInputStream(content));
      mails.put(m.getHeader().getField("TLS-Report-Domain").getBody(), m);
    }
    Message plain = mails.get("plain.example");
    assertEquals("Report Domain: plain.example Submitter: sender.example Report-ID: <"
        + TlsReport.reportId(day, "plain.example", "sender.example") + ">", plain.getSubject());
    assertEquals("sender.example", plain.getHeader().getField("TLS-Report-Submitter").getBody());
    assertEquals("multipart/report", plain.getMimeType());
    assertTrue(plain.getHeader().getField("Content-Type").getBody().contains("report-type=\"tlsrpt\""));
    Multipart parts = (Multipart) plain.getBody();
    assertEquals(2, parts.getCount());
    org.apache.james.mime4j.dom.Entity attachment = parts.getBodyParts().get(1);
    assertEquals("application/tlsrpt+gzip", attachment.getMimeType());
    long begin = day.atStartOfDay(ZoneOffset.UTC).toEpochSecond();
    assertEquals("sender.example!plain.example!" + begin + "!" + (begin + 86399) + ".json.gz",
        attachment.getFilename());
    JsonObject mailedReport;
    try (GZIPInputStream in = new GZIPInputStream(((SingleBody) attachment.getBody()).getInputStream())) {
      mailedReport = new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    JsonObject p = onlyPolicy(mailedReport, "plain.example", day);
    assertEquals("no-policy-found", p.getJsonObject("policy").getString("policy-type"));
    assertEquals(1L, p.getJsonObject("summary").getLong("total-failure-session-count"));
    assertEquals("starttls-not-supported", p.getJsonArray("failure-details").getJsonObject(0).getString("result-type"));
    assertTrue(mails.containsKey("dane.example"));
    String pg = node.config().get(MailgateConfig.PG_URL);
    Thread.sleep(1500); // a flush of the node's counts
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM tls_report_counts WHERE policy_domain = 'reports.example'"),
        "the reports' sessions are not counted");

    // quiet.example publishes no record: its report is done, not sent, and its counts gone with it
    Await.until(() -> Db.string(pg, "SELECT last_error FROM tls_reports WHERE policy_domain = 'quiet.example' "
        + "AND done_at IS NOT NULL"), e -> e != null && e.startsWith("no TLSRPT record"), Duration.ofSeconds(30));
    assertEquals(0, Db.count(pg, "SELECT count(*) FROM tls_report_counts WHERE policy_domain = 'quiet.example' "
        + "AND day = '" + day + "'"));
    assertEquals(1, posted.get("/good").size(), "sent once");
    assertEquals(6, node.metric("mailgate_tls_reports_total{result=\"sent\"}"));
    assertEquals(1, node.metric("mailgate_tls_reports_total{result=\"retried\"}"));
    assertEquals(1, node.metric("mailgate_tls_reports_total{result=\"unrequested\"}"));
  }
}
