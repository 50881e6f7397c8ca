package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.delivery.dns.TlsaRecord;
import io.mailgate.store.TlsReportStore;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** RFC 8460's pieces: the TLSRPT record, the JSON report, a handshake's result type, the node's counts. */
class TlsReportTest {

  @Test
  void theOneTlsrptRecordNamesWhereReportsGo() {
    TlsReport.Destinations d = TlsReport.destinations(List.of("v=spf1 -all",
        "v=TLSRPTv1; rua=mailto:tls%2Breports@example.net,https://reports.example.net/v1/tlsrpt , ftp://x.example/"));
    assertEquals(List.of("tls+reports@example.net"), d.mailto());
    assertEquals(List.of("tls+rpt@example.net"), TlsReport.destinations(List.of(
        "v=TLSRPTv1; rua=mailto:tls+rpt@example.net,mailto:bad%zz@example.net,mailto:caf\u00e9@example.net")).mailto());
    assertEquals(List.of(URI.create("https://reports.example.net/v1/tlsrpt")), d.https());
    // two records: as if none (RFC 8460 3); none; no rua; nothing usable in it; another version
    assertNull(TlsReport.destinations(List.of("v=TLSRPTv1; rua=mailto:a@example.net",
        "v=TLSRPTv1; rua=mailto:b@example.net")));
    assertNull(TlsReport.destinations(List.of()));
    assertNull(TlsReport.destinations(List.of("v=TLSRPTv1;")));
    assertNull(TlsReport.destinations(List.of("v=TLSRPTv1; rua=http://plain.example.net/,mailto:no-domain")));
    assertNull(TlsReport.destinations(List.of("v=TLSRPTv10; rua=mailto:a@example.net")));
    assertEquals(List.of("a@example.net"), TlsReport.destinations(List.of("v=TLSRPTv1 ;\trua=mailto:a@example.net;"))
        .mailto());
    // an address that would put a second line into the report mail's To: not an address
    assertNull(TlsReport.destinations(List.of("v=TLSRPTv1; rua=mailto:a@example.net%0D%0ABcc:x@evil.example")));
    // without a key to sign with, nothing is mailed
    assertEquals(d, d.sendable(true));
    assertEquals(new TlsReport.Destinations(List.of(), d.https()), d.sendable(false));
    assertNull(new TlsReport.Destinations(List.of("a@example.net"), List.of()).sendable(false));
    // at most five destinations
    String many = "v=TLSRPTv1; rua=" + String.join(",", java.util.Collections.nCopies(8, "mailto:a@example.net"));
    assertEquals(TlsReport.MAX_DESTINATIONS, TlsReport.destinations(List.of(many)).mailto().size());
  }

  @Test
  void aDaysCountsMakeOnePolicyEntryPerPolicy() {
    LocalDate day = LocalDate.of(2026, 12, 3);
    String sts = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400";
    List<TlsReportStore.Count> counts = List.of(
        new TlsReportStore.Count(day, "example.com", "sts", sts, "mx.example.com", "", "", "", "", "", 40),
        new TlsReportStore.Count(day, "example.com", "sts", sts, "mx.example.com", "", "", "", "", "", 2),
        new TlsReportStore.Count(day, "example.com", "sts", sts, "mx.example.com", "certificate-expired",
            "192.0.2.1", "mx.example.com", "198.51.100.7", "TLS with mx.example.com failed", 3),
        new TlsReportStore.Count(day, "example.com", "no-policy-found", "", "", "", "", "", "", "", 5));
    JsonObject report = TlsReport.json("Sender", "", "id-1", day, "example.com", counts);
    assertEquals(new JsonObject()
        .put("organization-name", "Sender")
        .put("date-range", new JsonObject().put("start-datetime", "2026-12-03T00:00:00Z")
            .put("end-datetime", "2026-12-03T23:59:59Z"))
        .put("report-id", "id-1")
        .put("policies", new JsonArray()
            .add(new JsonObject()
                .put("policy", new JsonObject().put("policy-type", "sts")
                    .put("policy-string", new JsonArray(List.of(sts.split("\n"))))
                    .put("policy-domain", "example.com").put("mx-host", new JsonArray().add("mx.example.com")))
                .put("summary", new JsonObject().put("total-successful-session-count", 42L)
                    .put("total-failure-session-count", 3L))
                .put("failure-details", new JsonArray().add(new JsonObject()
                    .put("result-type", "certificate-expired").put("sending-mta-ip", "192.0.2.1")
                    .put("receiving-mx-hostname", "mx.example.com").put("receiving-ip", "198.51.100.7")
                    .put("failed-session-count", 3L)
                    .put("failure-reason-code", "TLS with mx.example.com failed"))))
            .add(new JsonObject()
                .put("policy", new JsonObject().put("policy-type", "no-policy-found")
                    .put("policy-domain", "example.com"))
                .put("summary", new JsonObject().put("total-successful-session-count", 5L)
                    .put("total-failure-session-count", 0L)))), report);
    assertEquals(report, gunzip(TlsReport.gzip(report)));
  }

  @Test
  void anMtaStsPolicyAndTlsaRecordsAreWrittenAsTheirPolicyStrings() {
    TlsReportCounts.Policy sts = TlsReportCounts.Policy.sts("Example.COM",
        new MtaStsPolicy(MtaStsPolicy.Mode.TESTING, List.of("mx1.example.com", "*.example.net"), 604800));
    assertEquals("example.com", sts.domain());
    assertEquals(List.of("version: STSv1", "mode: testing", "mx: mx1.example.com", "mx: *.example.net",
        "max_age: 604800"), sts.strings());
    assertEquals(List.of("mx1.example.com", "*.example.net"), sts.mxHosts());
    TlsReportCounts.Policy tlsa = TlsReportCounts.Policy.tlsa("example.com", "mx.example.com",
        List.of(new TlsaRecord(3, 1, 1, "ab".repeat(32))));
    assertEquals(List.of("3 1 1 " + "ab".repeat(32)), tlsa.strings());
    assertEquals(List.of("mx.example.com"), tlsa.mxHosts());
  }

  private static SSLHandshakeException handshake(Throwable cause) {
    SSLHandshakeException e = new SSLHandshakeException("handshake failed");
    e.initCause(cause);
    return e;
  }

  @Test
  void aReportsMailIsTheSystemAccountsWithTheNullSenderAndTheField() {
    byte[] mail = TlsReport.mail("tls-reports@sender.example", "tlsrpt@reports.example", "sender.example",
        "reports.example", "id", LocalDate.of(2026, 12, 1), new byte[] {1, 2, 3},
        Instant.parse("2026-12-02T00:20:00Z").atZone(ZoneOffset.UTC), "m@sender.example");
    byte[] signed = ("DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc\r\n" + new String(mail, StandardCharsets.US_ASCII))
        .getBytes(StandardCharsets.US_ASCII);
    assertTrue(TlsReport.isReportMail(job(io.mailgate.send.Caller.SYSTEM_ACCOUNT, "", signed)));
    assertTrue(TlsReport.isReportMail(job(io.mailgate.send.Caller.SYSTEM_ACCOUNT, "", mail)));
    assertFalse(TlsReport.isReportMail(job("acct-1", "", mail)), "an account's message is never one");
    assertFalse(TlsReport.isReportMail(job(io.mailgate.send.Caller.SYSTEM_ACCOUNT, "mailer@sender.example", mail)));
    byte[] inBody = "Subject: x\r\n\r\nTLS-Report-Domain: reports.example\r\n".getBytes(StandardCharsets.US_ASCII);
    assertFalse(TlsReport.isReportMail(job(io.mailgate.send.Caller.SYSTEM_ACCOUNT, "", inBody)), "a body's line");
    byte[] folded = "Subject: x\r\n TLS-Report-Domain: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    assertFalse(TlsReport.isReportMail(job(io.mailgate.send.Caller.SYSTEM_ACCOUNT, "", folded)), "a folded line");
    byte[] bare = "tls-report-DOMAIN: a".getBytes(StandardCharsets.US_ASCII);
    assertTrue(TlsReport.isReportMail(job(io.mailgate.send.Caller.SYSTEM_ACCOUNT, "", bare)), "any case, no body");
    assertFalse(TlsReport.isReportMail(job(io.mailgate.send.Caller.SYSTEM_ACCOUNT, "", "TLS-Report".getBytes(
        StandardCharsets.US_ASCII))));
  }

  private static DeliveryJob job(String account, String envelopeFrom, byte[] content) {
    return new DeliveryJob("m", account, envelopeFrom, null, null, List.of(), content, Instant.EPOCH);
  }

  @Test
  void aFailedHandshakeIsNamedByItsCause() {
    assertEquals("certificate-expired", SmtpConnection.handshakeResult(handshake(
        new CertPathValidatorException("validity check failed", new CertificateExpiredException("NotAfter")))));
    assertEquals("certificate-not-trusted", SmtpConnection.handshakeResult(handshake(
        new CertPathValidatorException("PKIX path building failed"))));
    assertEquals("certificate-host-mismatch", SmtpConnection.handshakeResult(handshake(
        new CertificateException("No subject alternative DNS name matching mx.example.com found."))));
    assertEquals("validation-failure", SmtpConnection.handshakeResult(new SSLHandshakeException("no cipher")));
  }

  @Test
  void countsAreTakenOnceAndGivenBackWhenTheyCannotBeWritten() {
    Clock clock = Clock.fixed(Instant.parse("2026-12-03T10:00:00Z"), ZoneOffset.UTC);
    TlsReportCounts counts = new TlsReportCounts(clock);
    TlsReportCounts.Policy none = TlsReportCounts.Policy.none("example.com");
    counts.success(none);
    counts.success(none);
    counts.failure(none, "starttls-not-supported", "192.0.2.1", "mx.example.com", "198.51.100.7", "no STARTTLS");
    Map<TlsReportCounts.Session, Long> taken = counts.drain();
    assertEquals(2, taken.size());
    assertEquals(2L, taken.get(new TlsReportCounts.Session(LocalDate.of(2026, 12, 3), none, null, "", "", "", "")));
    assertEquals(Map.of(), counts.drain());
    counts.success(none);
    counts.restore(taken);
    assertEquals(3L, counts.drain().get(new TlsReportCounts.Session(LocalDate.of(2026, 12, 3), none, null, "", "", "",
        "")));
  }

  @Test
  void aFromAddressOrSigningKeyThatCannotBeUsedFailsTheStart() throws Exception {
    io.mailgate.config.MailgateConfig on = io.mailgate.config.MailgateConfig.defaults()
        .with(io.mailgate.config.MailgateConfig.TLS_RPT_ENABLED, true)
        .with(io.mailgate.config.MailgateConfig.DELIVERY_HELO_NAME, "mta.example.com");
    TlsReportVerticle.check(on); // tls-reports@mta.example.com, unsigned
    String injected = org.junit.jupiter.api.Assertions.assertThrows(io.mailgate.config.ConfigException.class,
        () -> TlsReportVerticle.check(on.with(io.mailgate.config.MailgateConfig.TLS_RPT_FROM,
            "reports@example.com\r\nBcc: x@example.net"))).getMessage();
    assertEquals(true, injected.contains("tlsRpt.from must be a plain address"), injected);
    java.nio.file.Path notAKey = java.nio.file.Files.createTempFile("tlsrpt", ".pem");
    java.nio.file.Files.writeString(notAKey, "not a key");
    String key = org.junit.jupiter.api.Assertions.assertThrows(io.mailgate.config.ConfigException.class,
        () -> TlsReportVerticle.check(on.with(io.mailgate.config.MailgateConfig.TLS_RPT_DKIM_KEY_FILE,
            notAKey.toString()))).getMessage();
    assertEquals(true, key.startsWith("tlsRpt.dkimKeyFile " + notAKey + " cannot be used"), key);
    // off: nothing checked
    TlsReportVerticle.check(on.with(io.mailgate.config.MailgateConfig.TLS_RPT_ENABLED, false)
        .with(io.mailgate.config.MailgateConfig.TLS_RPT_FROM, "not an address"));
  }

  private static JsonObject gunzip(byte[] gz) {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
      return new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
