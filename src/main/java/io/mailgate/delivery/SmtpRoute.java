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

  public static SmtpRoute parse(String url) {
    URI uri;
    try {
      uri = new URI(url.strip());
    } catch (URISyntaxException e) {
      throw new ConfigException("invalid relay URL '" + url + "': " + e.getMessage());
    }
    String scheme = uri.getScheme();
    if (scheme == null || !(scheme.equals("smtp") || scheme.equals("smtps"))) {
      throw new ConfigException("relay URL must start with smtp:// or smtps://: '" + url + "'");
    }
    if (uri.getHost() == null) {
      throw new ConfigException("relay URL has no host: '" + url + "'");
    }
    boolean tls = scheme.equals("smtps");
    int port = uri.getPort() > 0 ? uri.getPort() : (tls ? 465 : 25);
    String user = null;
    String pass = null;
    if (uri.getRawUserInfo() != null) {
      String[] parts = uri.getRawUserInfo().split(":", 2);
      user = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
      pass = parts.length > 1 ? URLDecoder.decode(parts[1], StandardCharsets.UTF_8) : "";
    }
    return new SmtpRoute(uri.getHost(), port, tls, user, pass);
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
