package io.mailgate.delivery;

import java.util.ArrayList;
import java.util.List;

/**
 * A recipient domain's MTA-STS policy (RFC 8461 3.2), as served at {@code https://mta-sts.<domain>/.well-known/
 * mta-sts.txt}: its mode, the MX host patterns mail may go to, and how long it may be cached. Plain Java, no Vert.x.
 *
 * @param mode enforce (deliver only to a matching MX, over TLS with a certificate valid for its name), testing
 *     (deliver as without a policy; failures would only be reported) or none
 * @param mx the {@code mx} patterns: a host name, or {@code *.} and a domain for exactly one label more
 * @param maxAgeSeconds how long the policy may be used after it was fetched
 */
public record MtaStsPolicy(Mode mode, List<String> mx, long maxAgeSeconds) {
  /** The policy's mode. */
  public enum Mode { ENFORCE, TESTING, NONE }

  /** RFC 8461 3.2: max_age is at most 31557600 seconds (a year). */
  static final long MAX_AGE_LIMIT = 31_557_600L;

  public MtaStsPolicy {
    mx = List.copyOf(mx);
  }

  /**
   * The policy in {@code body}; an IllegalArgumentException that says what is wrong when it is not one (a version
   * other than STSv1, a mode or max_age missing or not one of the RFC's values, no mx in enforce or testing mode).
   * Fields this version does not know are ignored, as the RFC asks; lines end with CRLF or LF.
   */
  public static MtaStsPolicy parse(String body) {
    String version = null;
    String mode = null;
    String maxAge = null;
    List<String> mx = new ArrayList<>();
    for (String line : body.split("\r?\n", -1)) {
      if (line.isEmpty()) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("a line is not 'key: value': '" + abbreviate(line) + "'");
      }
      String key = line.substring(0, colon);
      String value = line.substring(colon + 1).strip();
      switch (key) {
        case "version" -> version = first(version, value, key);
        case "mode" -> mode = first(mode, value, key);
        case "max_age" -> maxAge = first(maxAge, value, key);
        case "mx" -> mx.add(pattern(value));
        default -> { } // an extension field: ignored (RFC 8461 3.2)
      }
    }
    if (!"STSv1".equals(version)) {
      throw new IllegalArgumentException(version == null ? "no version field" : "version is not STSv1");
    }
    Mode m;
    if (mode == null) {
      throw new IllegalArgumentException("no mode field");
    }
    switch (mode) {
      case "enforce" -> m = Mode.ENFORCE;
      case "testing" -> m = Mode.TESTING;
      case "none" -> m = Mode.NONE;
      default -> throw new IllegalArgumentException("mode is not enforce, testing or none: '" + abbreviate(mode) + "'");
    }
    if (maxAge == null || !maxAge.matches("[0-9]{1,10}") || Long.parseLong(maxAge) > MAX_AGE_LIMIT) {
      throw new IllegalArgumentException("max_age is not a number of seconds up to " + MAX_AGE_LIMIT);
    }
    if (mx.isEmpty() && m != Mode.NONE) {
      throw new IllegalArgumentException("no mx field");
    }
    return new MtaStsPolicy(m, mx, Long.parseLong(maxAge));
  }

  private static String first(String earlier, String value, String key) {
    if (earlier != null) {
      throw new IllegalArgumentException("more than one " + key + " field");
    }
    return value;
  }

  private static String pattern(String value) {
    String p = CertificateNames.canonical(value);
    String host = p.startsWith("*.") ? p.substring(2) : p;
    if (host.isEmpty() || !host.matches("[a-z0-9-]+(\\.[a-z0-9-]+)*")) {
      throw new IllegalArgumentException("mx is not a host name or *. and a domain: '" + abbreviate(value) + "'");
    }
    return p;
  }

  /**
   * Whether an MX host of this name may receive the domain's mail (RFC 8461 4.1): the name itself, or one label more
   * than a {@code *.} pattern's domain ({@code *.example.com} takes {@code mx1.example.com}, neither {@code
   * example.com} nor {@code a.b.example.com}). Case and a final dot do not matter.
   */
  public boolean matches(String host) {
    String h = CertificateNames.canonical(host);
    return mx.stream().anyMatch(p -> CertificateNames.matches(p, h));
  }

  /**
   * Whether a TXT record at {@code _mta-sts.<domain>} is an MTA-STS record: its first field is {@code v=STSv1} (RFC
   * 8461 3.1; other records there are not about MTA-STS and are left alone, {@code v=STSv10} among them).
   */
  static boolean isStsRecord(String txt) {
    return txt.split(";", 2)[0].strip().equals("v=STSv1");
  }

  /**
   * The policy's id in a {@code _mta-sts} TXT record (RFC 8461 3.1: {@code v=STSv1; id=...;}), or null when the
   * record is not an STSv1 record or its id is missing or malformed.
   */
  static String recordId(String txt) {
    String[] fields = txt.split(";");
    if (fields.length == 0 || !fields[0].strip().equals("v=STSv1")) {
      return null;
    }
    String id = null;
    for (int i = 1; i < fields.length; i++) {
      String f = fields[i].strip();
      if (f.startsWith("id=")) {
        if (id != null) {
          return null;
        }
        id = f.substring(3);
      }
    }
    return id != null && id.matches("[A-Za-z0-9]{1,32}") ? id : null;
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }
}
