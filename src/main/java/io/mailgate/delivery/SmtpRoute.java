package io.mailgate.delivery;

import io.mailgate.config.ConfigException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Where to connect for a delivery and how: host, port, implicit TLS (smtps), optional AUTH
 * credentials. Parsed from {@code relay.url} ({@code smtp://[user:password@]host:port}).
 */
public record SmtpRoute(String host, int port, boolean implicitTls, String username, String password) {

  /** Parses a relay URL; a ConfigException for a bad one says what is wrong without its user name and password. */
  public static SmtpRoute parse(String url) {
    URI uri;
    try {
      uri = new URI(url.strip());
    } catch (URISyntaxException e) {
      throw new ConfigException("invalid relay URL '" + redacted(url) + "': " + e.getReason()
          + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""));
    }
    String scheme = uri.getScheme();
    if (scheme == null || !(scheme.equals("smtp") || scheme.equals("smtps"))) {
      throw new ConfigException("relay URL must start with smtp:// or smtps://: '" + redacted(url) + "'");
    }
    if (uri.getHost() == null) {
      throw new ConfigException("relay URL has no host: '" + redacted(url) + "' (a user name or password with @, "
          + "# or / in it must be percent-encoded)");
    }
    if (uri.getRawFragment() != null || uri.getRawQuery() != null
        || (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))) {
      // smtp://user:p@ss#1@relay would be the host "ss": a password with @, # or / must be percent-encoded
      throw new ConfigException("relay URL '" + redacted(url) + "' has a path, query or fragment: a user name or "
          + "password with @, #, ? or / in it must be percent-encoded");
    }
    boolean tls = scheme.equals("smtps");
    if (uri.getPort() == 0 || uri.getPort() > 65535) {
      // taken as written, it would fail each connection, after the node started, with the recipient left queued
      throw new ConfigException("relay URL '" + redacted(url) + "' has port " + uri.getPort() + ": a port is 1 to "
          + "65535");
    }
    int port = uri.getPort() > 0 ? uri.getPort() : (tls ? 465 : 25);
    String user = null;
    String pass = null;
    if (uri.getRawUserInfo() != null) {
      String[] parts = uri.getRawUserInfo().split(":", 2);
      try {
        user = percentDecoded(parts[0]);
        pass = parts.length > 1 ? percentDecoded(parts[1]) : "";
      } catch (IllegalArgumentException e) {
        throw new ConfigException("relay URL '" + redacted(url) + "': its user name or password has a % that is "
            + "not followed by two hexadecimal digits");
      }
    }
    return new SmtpRoute(uri.getHost(), port, tls, user, pass);
  }

  /**
   * A URL's user information decoded: only its {@code %XX} escapes, as RFC 3986 says. A {@code +} is itself (form
   * decoding would make it a space): SES SMTP passwords are base64, and often hold one.
   */
  private static String percentDecoded(String raw) {
    return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  /**
   * The URL with whatever may be its user name and password (everything before its last {@code @}) masked: what a
   * log line or an error may show of a URL that did not parse.
   */
  public static String redacted(String url) {
    int at = url.lastIndexOf('@');
    if (at < 0) {
      return url;
    }
    int scheme = url.indexOf("://");
    int from = scheme >= 0 && scheme < at ? scheme + 3 : 0;
    return url.substring(0, from) + "***" + url.substring(at);
  }

  /** The key a connection pool is kept under (credentials included: different logins, different pools). */
  public String poolKey() {
    return (implicitTls ? "smtps://" : "smtp://") + (username == null ? "" : username + "@") + host + ":" + port;
  }

  @Override
  public String toString() {
    return (implicitTls ? "smtps://" : "smtp://") + host + ":" + port; // never the password
  }
}
