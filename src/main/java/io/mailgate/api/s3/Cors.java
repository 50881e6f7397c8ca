package io.mailgate.api.s3;

import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * A bucket's CORS configuration as S3 keeps and applies it: up to {@link #MAX_RULES} rules, each allowing origins
 * (one {@code *} each at most: {@code https://*.example.com}, or {@code *} for any), methods (GET, PUT, HEAD, POST,
 * DELETE), request headers (case-insensitive, one {@code *} each at most: {@code x-amz-*}), with the response headers
 * a page's script may read and how long a browser keeps a preflight's answer. The first rule that allows a request's
 * origin, method and headers is the one applied; none, and the response has no CORS headers (a preflight is
 * refused). Read from PutBucketCors' {@code <CORSConfiguration>} (MalformedXML, or InvalidRequest naming what S3
 * names), kept as JSON, written back as GetBucketCors' document.
 */
final class Cors {
  static final int MAX_RULES = 100;
  /** PutBucketCors' document: S3 takes 64 KB. */
  static final long MAX_DOCUMENT_BYTES = 64 * 1024;
  /** The methods a rule may allow, as S3 takes them. */
  static final Set<String> METHODS = Set.of("GET", "PUT", "HEAD", "POST", "DELETE");
  /** A rule's id: S3 takes 255 characters. */
  static final int MAX_ID = 255;
  /** The response headers of every answer to a request with an Origin in a bucket with a configuration. */
  static final String VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

  /** One rule; {@code id} and {@code maxAgeSeconds} null when not given. */
  record Rule(String id, List<String> origins, List<String> methods, List<String> headers, List<String> expose,
      Integer maxAgeSeconds) {

    /**
     * The origin as the answer names it when this rule allows {@code origin} for {@code method} with every one of
     * {@code headers} (a preflight's Access-Control-Request-Headers; none for an actual request): {@code *} when the
     * rule allows any origin by {@code *} alone, else the origin itself; null when it does not allow them.
     */
    String allows(String origin, String method, List<String> requested) {
      if (!methods.contains(method)) {
        return null;
      }
      for (String h : requested) {
        if (headers.stream().noneMatch(allowed -> matches(allowed.toLowerCase(Locale.ROOT), h))) {
          return null;
        }
      }
      String named = null;
      for (String allowed : origins) {
        if (matches(allowed, origin)) {
          if (!allowed.equals("*")) {
            return origin;
          }
          named = "*";
        }
      }
      return named;
    }

    JsonObject json() {
      return new JsonObject().put("id", id).put("origins", new JsonArray(origins))
          .put("methods", new JsonArray(methods)).put("headers", new JsonArray(headers))
          .put("expose", new JsonArray(expose)).put("maxAge", maxAgeSeconds);
    }

    static Rule of(JsonObject o) {
      return new Rule(o.getString("id"), strings(o.getJsonArray("origins")), strings(o.getJsonArray("methods")),
          strings(o.getJsonArray("headers")), strings(o.getJsonArray("expose")), o.getInteger("maxAge"));
    }

    private static List<String> strings(JsonArray a) {
      List<String> out = new ArrayList<>(a.size());
      a.forEach(v -> out.add((String) v));
      return out;
    }
  }

  /** What a request with an Origin was allowed by: the rule, and the origin as the answer names it. */
  record Allowed(Rule rule, String origin) {}

  private Cors() {}

  /** Whether {@code pattern} (with one {@code *} at most, matching any characters) matches {@code value}. */
  static boolean matches(String pattern, String value) {
    int star = pattern.indexOf('*');
    if (star < 0) {
      return pattern.equals(value);
    }
    String head = pattern.substring(0, star);
    String tail = pattern.substring(star + 1);
    return value.length() >= head.length() + tail.length() && value.startsWith(head) && value.endsWith(tail);
  }

  /**
   * The first rule of the first configuration in {@code configurations} that allows the request (see
   * {@link Rule#allows}); null when none does.
   */
  static Allowed allowed(List<JsonArray> configurations, String origin, String method, List<String> requested) {
    for (JsonArray rules : configurations) {
      for (Object o : rules) {
        Rule rule = Rule.of((JsonObject) o);
        String named = rule.allows(origin, method, requested);
        if (named != null) {
          return new Allowed(rule, named);
        }
      }
    }
    return null;
  }

  /**
   * The response headers that let the page read an answer its rule allowed, as S3 writes them: the origin (with
   * credentials when it is named), the rule's methods, the headers it exposes, how long a preflight's answer is kept;
   * for a preflight ({@code requested} not null), the request headers it may send.
   */
  static void allow(MultiMap headers, Allowed allowed, List<String> requested) {
    Rule rule = allowed.rule();
    headers.set("Access-Control-Allow-Origin", allowed.origin());
    if (!allowed.origin().equals("*")) {
      headers.set("Access-Control-Allow-Credentials", "true");
    }
    headers.set("Access-Control-Allow-Methods", String.join(", ", rule.methods()));
    if (requested != null && !requested.isEmpty()) {
      headers.set("Access-Control-Allow-Headers", String.join(", ", requested));
    }
    if (!rule.expose().isEmpty()) {
      headers.set("Access-Control-Expose-Headers", String.join(", ", rule.expose()));
    }
    if (rule.maxAgeSeconds() != null) {
      headers.set("Access-Control-Max-Age", Integer.toString(rule.maxAgeSeconds()));
    }
  }

  /** A preflight's Access-Control-Request-Headers, each trimmed and in lower case (none: empty). */
  static List<String> requestedHeaders(String header) {
    List<String> out = new ArrayList<>();
    if (header != null) {
      for (String h : header.split(",")) {
        String name = h.strip().toLowerCase(Locale.ROOT);
        if (!name.isEmpty()) {
          out.add(name);
        }
      }
    }
    return out;
  }

  /** The rules of PutBucketCors' document, checked, as kept: MalformedXML or InvalidRequest, as S3 answers them. */
  static JsonArray ofDocument(byte[] document) {
    List<Rule> rules = S3Xml.read(document, "CORSConfiguration", r -> {
      List<Rule> read = new ArrayList<>();
      while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
        if (!r.getLocalName().equals("CORSRule") || read.size() == MAX_RULES) {
          throw new S3Exception(S3Error.MALFORMED_XML);
        }
        read.add(rule(r));
      }
      return read;
    });
    if (rules.isEmpty()) {
      throw new S3Exception(S3Error.MALFORMED_XML);
    }
    JsonArray out = new JsonArray();
    rules.forEach(rule -> out.add(rule.json()));
    return out;
  }

  private static Rule rule(XMLStreamReader r) throws XMLStreamException {
    String id = null;
    Integer maxAge = null;
    List<String> origins = new ArrayList<>();
    List<String> methods = new ArrayList<>();
    List<String> headers = new ArrayList<>();
    List<String> expose = new ArrayList<>();
    while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
      String name = r.getLocalName();
      String text = r.getElementText().strip();
      switch (name) {
        case "ID" -> {
          if (id != null || text.length() > MAX_ID) {
            throw new S3Exception(S3Error.MALFORMED_XML);
          }
          id = text;
        }
        case "AllowedOrigin" -> origins.add(oneWildcard("AllowedOrigin", printable(text)));
        case "AllowedMethod" -> {
          if (!METHODS.contains(text)) {
            throw new S3Exception(S3Error.INVALID_REQUEST, "Found unsupported HTTP method in CORS config. "
                + "Unsupported method is " + text);
          }
          methods.add(text);
        }
        case "AllowedHeader" -> headers.add(oneWildcard("AllowedHeader", printable(text)));
        case "ExposeHeader" -> {
          // written into the answers' headers as it is: a header's name, nothing that could end the header
          if (!text.chars().allMatch(c -> c < 128 && (Character.isLetterOrDigit(c) || TOKEN.indexOf(c) >= 0))) {
            throw new S3Exception(S3Error.INVALID_REQUEST, "ExposeHeader \"" + text + "\" is not a header name.");
          }
          expose.add(text);
        }
        case "MaxAgeSeconds" -> {
          if (maxAge != null) {
            throw new S3Exception(S3Error.MALFORMED_XML);
          }
          try {
            maxAge = Integer.parseInt(text);
          } catch (NumberFormatException notANumber) {
            throw new S3Exception(S3Error.MALFORMED_XML);
          }
          if (maxAge < 0) {
            throw new S3Exception(S3Error.MALFORMED_XML);
          }
        }
        default -> throw new S3Exception(S3Error.MALFORMED_XML);
      }
    }
    if (origins.isEmpty() || methods.isEmpty() || origins.contains("") || expose.contains("")) {
      throw new S3Exception(S3Error.MALFORMED_XML);
    }
    return new Rule(id, origins, methods, headers, expose, maxAge);
  }

  /** The characters of a header's name besides ASCII letters and digits (RFC 9110's tchar). */
  private static final String TOKEN = "!#$%&'*+-.^_`|~";

  /** The value, when it is printable ASCII (an origin, a header's name pattern); else MalformedXML. */
  private static String printable(String value) {
    if (!value.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new S3Exception(S3Error.MALFORMED_XML);
    }
    return value;
  }

  private static String oneWildcard(String element, String value) {
    if (value.indexOf('*') != value.lastIndexOf('*')) {
      throw new S3Exception(S3Error.INVALID_REQUEST, element + " \"" + value + "\" can not have more than one "
          + "wildcard.");
    }
    return value;
  }

  /** GetBucketCors' document of the rules kept. */
  static String document(JsonArray rules) {
    StringBuilder b = S3Xml.open("CORSConfiguration");
    for (Object o : rules) {
      Rule rule = Rule.of((JsonObject) o);
      b.append("<CORSRule>");
      if (rule.id() != null) {
        S3Xml.text(b, "ID", rule.id());
      }
      rule.origins().forEach(v -> S3Xml.text(b, "AllowedOrigin", v));
      rule.methods().forEach(v -> S3Xml.text(b, "AllowedMethod", v));
      rule.headers().forEach(v -> S3Xml.text(b, "AllowedHeader", v));
      rule.expose().forEach(v -> S3Xml.text(b, "ExposeHeader", v));
      if (rule.maxAgeSeconds() != null) {
        S3Xml.text(b, "MaxAgeSeconds", Integer.toString(rule.maxAgeSeconds()));
      }
      b.append("</CORSRule>");
    }
    return b.append("</CORSConfiguration>").toString();
  }
}
