package io.mailgate.delivery;

import io.mailgate.delivery.dns.TlsaRecord;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Shareable;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The node's count of TLS sessions with recipient domains' MX hosts for SMTP TLS Reporting (RFC 8460), by UTC day,
 * policy domain, policy and result, between two writes to PostgreSQL ({@link TlsReportVerticle}): a connection's
 * STARTTLS and the checks its route asks for are one session, successful or failed with an RFC 8460 result type; a
 * policy that could not be had (a TLSA lookup, an MTA-STS fetch) is a failed one too. Shared by the delivery instances
 * of a node; counting is a map merge, nothing waits on it.
 */
final class TlsReportCounts implements Shareable {
  /** The key of the node's counts in the delivery's local map; absent when {@code tlsRpt.enabled} is off. */
  static final String KEY = "tlsRpt";
  /** Distinct sessions kept between two writes; those beyond are dropped (and said so), not the node's memory. */
  static final int MAX_KEYS = 100_000;

  // RFC 8460 4.3: result types
  static final String STARTTLS_NOT_SUPPORTED = "starttls-not-supported";
  static final String CERTIFICATE_HOST_MISMATCH = "certificate-host-mismatch";
  static final String CERTIFICATE_EXPIRED = "certificate-expired";
  static final String CERTIFICATE_NOT_TRUSTED = "certificate-not-trusted";
  static final String VALIDATION_FAILURE = "validation-failure";
  static final String TLSA_INVALID = "tlsa-invalid";
  static final String DNSSEC_INVALID = "dnssec-invalid";
  static final String STS_POLICY_FETCH_ERROR = "sts-policy-fetch-error";
  static final String STS_POLICY_INVALID = "sts-policy-invalid";

  /**
   * The policy a session went by (RFC 8460 4.4): {@code type} sts, tlsa or no-policy-found; {@code strings} the
   * policy's text, a line each (an MTA-STS policy's fields, a host's TLSA records); {@code mxHosts} the MX hosts an
   * MTA-STS policy names, or the DANE host.
   */
  record Policy(String domain, String type, List<String> strings, List<String> mxHosts) {
    Policy {
      domain = domain.toLowerCase(Locale.ROOT);
      strings = List.copyOf(strings);
      mxHosts = List.copyOf(mxHosts);
    }

    /** The same policy for another domain (one whose mail goes over a connection this policy's domain opened). */
    Policy forDomain(String other) {
      return domain.equalsIgnoreCase(other) ? this : new Policy(other, type, strings, mxHosts);
    }

    static Policy none(String domain) {
      return new Policy(domain, "no-policy-found", List.of(), List.of());
    }

    /** An MTA-STS policy, null: one that could not be had. */
    static Policy sts(String domain, MtaStsPolicy p) {
      if (p == null) {
        return new Policy(domain, "sts", List.of(), List.of());
      }
      List<String> lines = new ArrayList<>();
      lines.add("version: STSv1");
      lines.add("mode: " + p.mode().name().toLowerCase(Locale.ROOT));
      p.mx().forEach(mx -> lines.add("mx: " + mx));
      lines.add("max_age: " + p.maxAgeSeconds());
      return new Policy(domain, "sts", lines, p.mx());
    }

    /** The TLSA records of a DANE host (none: records that could not be looked up). */
    static Policy tlsa(String domain, String host, List<TlsaRecord> records) {
      return new Policy(domain, "tlsa", records.stream().map(TlsaRecord::toString).toList(), List.of(host));
    }
  }

  /**
   * One kind of session on a day: {@code result} null for a successful one; a failed one with where it went (the
   * address it left from, the MX host and address) and what happened ({@code detail}, without anything that differs
   * from one session to the next).
   */
  record Session(LocalDate day, Policy policy, String result, String sendingIp, String receivingMx,
      String receivingIp, String detail) {}

  private final Map<Session, Long> counts = new ConcurrentHashMap<>();
  private final AtomicLong dropped = new AtomicLong();
  private final Clock clock;

  TlsReportCounts(Clock clock) {
    this.clock = clock;
  }

  /** The node's counts, or null when TLS reporting is off. */
  static TlsReportCounts of(Vertx vertx) {
    return (TlsReportCounts) vertx.sharedData().getLocalMap("mailgate.delivery").get(KEY);
  }

  /** The node's counts, made on the first call. */
  static TlsReportCounts create(Vertx vertx, Clock clock) {
    return (TlsReportCounts) vertx.sharedData().getLocalMap("mailgate.delivery")
        .computeIfAbsent(KEY, k -> new TlsReportCounts(clock));
  }

  void success(Policy policy) {
    add(new Session(today(), policy, null, "", "", "", ""));
  }

  void failure(Policy policy, String result, String sendingIp, String receivingMx, String receivingIp,
      String detail) {
    String d = detail == null ? "" : detail.length() > 300 ? detail.substring(0, 300) : detail;
    add(new Session(today(), policy, result, nz(sendingIp), nz(receivingMx), nz(receivingIp), d));
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }

  private LocalDate today() {
    return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
  }

  private void add(Session s) {
    if (counts.size() >= MAX_KEYS && !counts.containsKey(s)) {
      dropped.incrementAndGet();
      return;
    }
    counts.merge(s, 1L, Long::sum);
  }

  /** What was counted since the last call, taken out (a session counted meanwhile is in this answer or the next). */
  Map<Session, Long> drain() {
    Map<Session, Long> out = new java.util.HashMap<>();
    for (Session s : counts.keySet()) {
      Long n = counts.remove(s);
      if (n != null) {
        out.put(s, n);
      }
    }
    return out;
  }

  /** Counts {@link #drain} took that could not be written: counted again, for the next write. */
  void restore(Map<Session, Long> taken) {
    taken.forEach((s, n) -> counts.merge(s, n, Long::sum));
  }

  /** Sessions not counted since the last call because {@link #MAX_KEYS} were. */
  long takeDropped() {
    return dropped.getAndSet(0);
  }
}
