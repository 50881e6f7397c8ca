package io.mailgate.delivery;

import io.mailgate.store.TlsReportStore;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * An SMTP TLS report (RFC 8460): where a policy domain wants its reports ({@link #destinations}, its
 * {@code _smtp._tls} TXT record), the report of a day's counts as JSON (4.4), gzipped, and the mail that carries it
 * (5.3). Plain Java: no Vert.x but its JSON types.
 */
final class TlsReport {
  private TlsReport() {}

  /** A TLSRPT record's first field (RFC 8460 3: {@code field-delim = *WSP ";" *WSP}). */
  private static final java.util.regex.Pattern VERSION = java.util.regex.Pattern.compile("v=TLSRPTv1[ \t]*(;|$)");

  /** A plain address a report can be mailed to: printable ASCII, no specials, a domain of letters, digits, dots. */
  private static final java.util.regex.Pattern MAILBOX = java.util.regex.Pattern.compile(
      "[\\x21-\\x7e&&[^@<>\"(),;:\\\\\\[\\]]]+@[A-Za-z0-9.-]+");

  /** The most rua destinations of a record honoured; a record with more is cut to these. */
  static final int MAX_DESTINATIONS = 5;

  /** Where a domain's reports go: mail addresses ({@code mailto:}) and HTTPS URLs, the record's order. */
  record Destinations(List<String> mailto, List<URI> https) {
    /**
     * Those a report can go to: all, or without a key to sign mail with the https ones only (RFC 8460 3: a report by
     * mail without a DKIM signature is to be ignored, so none is sent unsigned); null when that leaves none.
     */
    Destinations sendable(boolean canSign) {
      return canSign ? this : https.isEmpty() ? null : new Destinations(List.of(), https);
    }
  }

  /**
   * The destinations of the one TLSRPT record among a {@code _smtp._tls} name's TXT records (RFC 8460 3: records not
   * beginning {@code v=TLSRPTv1;} are not TLSRPT records; none or several is none), or null: none, or no destination
   * this can use in its rua (mailto and https URIs; others are left out).
   */
  static Destinations destinations(List<String> txtRecords) {
    String record = null;
    for (String txt : txtRecords) {
      String t = txt.strip();
      if (VERSION.matcher(t).lookingAt()) {
        if (record != null) {
          return null;
        }
        record = t;
      }
    }
    if (record == null) {
      return null;
    }
    String rua = null;
    for (String field : record.split(";")) {
      int eq = field.indexOf('=');
      if (eq > 0 && field.substring(0, eq).strip().equals("rua")) {
        rua = field.substring(eq + 1).strip();
      }
    }
    if (rua == null) {
      return null;
    }
    List<String> mailto = new ArrayList<>();
    List<URI> https = new ArrayList<>();
    for (String u : rua.split(",")) {
      String uri = u.strip();
      if (mailto.size() + https.size() == MAX_DESTINATIONS) {
        break;
      }
      if (uri.regionMatches(true, 0, "mailto:", 0, 7)) {
        String address = uri.substring(7);
        int query = address.indexOf('?');
        // percent-decoded (RFC 6068), a '+' kept as it is: it is not a space in a mailto URI
        try {
          address = URLDecoder.decode((query < 0 ? address : address.substring(0, query)).replace("+", "%2B"),
              StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          continue; // a malformed escape: not a destination
        }
        if (MAILBOX.matcher(address).matches()) {
          mailto.add(address);
        }
      } else if (uri.regionMatches(true, 0, "https://", 0, 8)) {
        try {
          URI parsed = new URI(uri);
          if (parsed.getHost() != null) {
            https.add(parsed);
          }
        } catch (URISyntaxException e) {
          // not a destination
        }
      }
    }
    return mailto.isEmpty() && https.isEmpty() ? null : new Destinations(List.copyOf(mailto), List.copyOf(https));
  }

  /** The report's id: unique per day, domain and submitter, the same on every attempt (a receiver's way to dedupe). */
  static String reportId(LocalDate day, String domain, String submitter) {
    return day.format(DateTimeFormatter.BASIC_ISO_DATE) + "." + domain + "@" + submitter;
  }

  /** The report (RFC 8460 4.4) of a day's counts for a policy domain, a policy entry per policy sessions went by. */
  static JsonObject json(String organization, String contact, String reportId, LocalDate day, String domain,
      List<TlsReportStore.Count> counts) {
    Map<List<String>, JsonObject> policies = new LinkedHashMap<>();
    for (TlsReportStore.Count c : counts) {
      JsonObject p = policies.computeIfAbsent(List.of(c.policyType(), c.policyStrings(), c.mxHosts()), k -> {
        JsonObject policy = new JsonObject().put("policy-type", c.policyType());
        if (!c.policyStrings().isEmpty()) {
          policy.put("policy-string", new JsonArray(List.of((Object[]) c.policyStrings().split("\n"))));
        }
        policy.put("policy-domain", domain);
        if (!c.mxHosts().isEmpty()) {
          policy.put("mx-host", new JsonArray(List.of((Object[]) c.mxHosts().split("\n"))));
        }
        return new JsonObject().put("policy", policy)
            .put("summary", new JsonObject().put("total-successful-session-count", 0L)
                .put("total-failure-session-count", 0L));
      });
      JsonObject summary = p.getJsonObject("summary");
      if (c.result().isEmpty()) {
        summary.put("total-successful-session-count", summary.getLong("total-successful-session-count")
            + c.sessions());
        continue;
      }
      summary.put("total-failure-session-count", summary.getLong("total-failure-session-count") + c.sessions());
      JsonObject detail = new JsonObject().put("result-type", c.result());
      putIfAny(detail, "sending-mta-ip", c.sendingIp());
      putIfAny(detail, "receiving-mx-hostname", c.receivingMx());
      putIfAny(detail, "receiving-ip", c.receivingIp());
      detail.put("failed-session-count", c.sessions());
      putIfAny(detail, "failure-reason-code", c.detail()); // free text (additional-information is a URI)
      JsonArray details = p.getJsonArray("failure-details");
      if (details == null) {
        details = new JsonArray();
        p.put("failure-details", details);
      }
      details.add(detail);
    }
    JsonObject report = new JsonObject().put("organization-name", organization)
        .put("date-range", new JsonObject()
            .put("start-datetime", day + "T00:00:00Z")
            .put("end-datetime", day + "T23:59:59Z"));
    putIfAny(report, "contact-info", contact);
    return report.put("report-id", reportId).put("policies", new JsonArray(new ArrayList<>(policies.values())));
  }

  private static void putIfAny(JsonObject o, String key, String value) {
    if (value != null && !value.isEmpty()) {
      o.put(key, value);
    }
  }

  /** The report gzipped: what is posted, and attached to the mail (application/tlsrpt+gzip). */
  static byte[] gzip(JsonObject report) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(report.encode().getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException(e); // in memory: cannot happen
    }
    return out.toByteArray();
  }

  /**
   * The mail that carries a report (RFC 8460 5.3): multipart/report of report-type tlsrpt, a line of text and the
   * gzipped report named {@code submitter!domain!begin!end.json.gz}, with the TLS-Report-Domain and
   * TLS-Report-Submitter fields and the subject the RFC gives. Unsigned: the caller signs it.
   */
  static byte[] mail(String from, String to, String submitter, String domain, String reportId, LocalDate day,
      byte[] gzipped, ZonedDateTime now, String messageId) {
    long begin = day.atStartOfDay(ZoneOffset.UTC).toEpochSecond();
    long end = begin + 86_399;
    String boundary = "tlsrpt-" + Long.toHexString(now.toInstant().toEpochMilli()) + "-" + Integer.toHexString(
        reportId.hashCode());
    StringBuilder m = new StringBuilder(gzipped.length * 4 / 3 + 1024);
    m.append("From: ").append(from).append("\r\n")
        .append("To: ").append(to).append("\r\n")
        .append("Date: ").append(DateTimeFormatter.RFC_1123_DATE_TIME.format(now)).append("\r\n")
        .append("Subject: Report Domain: ").append(domain).append(" Submitter: ").append(submitter)
        .append(" Report-ID: <").append(reportId).append(">\r\n")
        .append("Message-ID: <").append(messageId).append(">\r\n")
        .append("TLS-Report-Domain: ").append(domain).append("\r\n")
        .append("TLS-Report-Submitter: ").append(submitter).append("\r\n")
        .append("MIME-Version: 1.0\r\n")
        .append("Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"").append(boundary)
        .append("\"\r\n\r\n")
        .append("This is a multi-part message in MIME format.\r\n\r\n")
        .append("--").append(boundary).append("\r\n")
        .append("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
        .append("This is an aggregate TLS report from ").append(submitter).append(" for ").append(domain)
        .append(", ").append(day).append(" (UTC).\r\n\r\n")
        .append("--").append(boundary).append("\r\n")
        .append("Content-Type: application/tlsrpt+gzip\r\n")
        .append("Content-Transfer-Encoding: base64\r\n")
        .append("Content-Disposition: attachment;\r\n\tfilename=\"").append(submitter).append('!').append(domain)
        .append('!').append(begin).append('!').append(end).append(".json.gz\"\r\n\r\n");
    String b64 = Base64.getEncoder().encodeToString(gzipped);
    for (int i = 0; i < b64.length(); i += 76) {
      m.append(b64, i, Math.min(b64.length(), i + 76)).append("\r\n");
    }
    m.append("\r\n--").append(boundary).append("--\r\n");
    return m.toString().getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Whether the job carries a TLS report (RFC 8460 3: delivered despite any TLS failure, and its sessions not counted
   * in the next report): a message of the system account with the null sender and a TLS-Report-Domain field in its
   * header, as {@link #mail} writes them. No account's message can be one: the system account sends no one's mail.
   */
  static boolean isReportMail(DeliveryJob job) {
    return io.mailgate.send.Caller.SYSTEM_ACCOUNT.equals(job.accountId()) && job.envelopeFrom().isEmpty()
        && hasField(job.content(), REPORT_DOMAIN_FIELD);
  }

  private static final byte[] REPORT_DOMAIN_FIELD = "tls-report-domain:".getBytes(StandardCharsets.US_ASCII);

  /** Whether a line of the message's header (up to its first empty line) starts with {@code name} (lower case). */
  static boolean hasField(byte[] content, byte[] name) {
    int line = 0;
    while (line < content.length && content[line] != '\r' && content[line] != '\n') {
      if (line + name.length <= content.length) {
        int k = 0;
        while (k < name.length && Character.toLowerCase((char) (content[line + k] & 0xff)) == name[k]) {
          k++;
        }
        if (k == name.length) {
          return true;
        }
      }
      while (line < content.length && content[line] != '\n') {
        line++;
      }
      line++;
    }
    return false;
  }
}
