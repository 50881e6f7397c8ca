package io.mailgate.api.console;

import io.mailgate.identity.SecretBox;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * The token every console form carries, and the forms themselves. A browser sends the console's HTTP Basic
 * credentials with any request to the node, a forged one from another site's page too, so a change is made only for a
 * form that carries a token the page gave: an HMAC, keyed with the signed-in access key's secret, of the key id, its
 * account and when the token expires. Another site can neither read the page (the same-origin policy; the console is
 * not frameable) nor make the token without the secret. Nothing is kept on the node, so any node checks a token any
 * other node made, and a key's tokens end with the key (disabled, deleted, or its secret changed).
 */
final class ConsoleForms {
  /** How long a page's forms can be sent: a working day's tab left open. */
  static final long LIFETIME_SECONDS = 12 * 3600;

  private ConsoleForms() {}

  /** The token for forms of the page shown to {@code keyId} of {@code accountId}, good until {@code expires}. */
  static String token(String secret, String keyId, String accountId, long expires) {
    return expires + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(mac(secret, keyId, accountId,
        expires));
  }

  /**
   * Whether {@code token} was made by {@link #token} for this key and account and has not expired at {@code now}
   * (epoch seconds). One from further ahead than a lifetime was not made by a node with a right clock.
   */
  static boolean valid(String token, String secret, String keyId, String accountId, long now) {
    if (token == null) {
      return false;
    }
    int dot = token.indexOf('.');
    if (dot <= 0 || dot > 19) {
      return false;
    }
    long expires;
    byte[] given;
    try {
      expires = Long.parseLong(token.substring(0, dot));
      given = Base64.getUrlDecoder().decode(token.substring(dot + 1));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return expires > now && expires <= now + LIFETIME_SECONDS + 300
        && MessageDigest.isEqual(given, mac(secret, keyId, accountId, expires));
  }

  private static byte[] mac(String secret, String keyId, String accountId, long expires) {
    // a key of its own, so that no other HMAC made with the secret (SigV4's start from "AWS4" + secret) is this one
    return SecretBox.hmac(("mailgate-console-form\n" + secret).getBytes(StandardCharsets.UTF_8),
        keyId + "\n" + accountId + "\n" + expires);
  }

  /**
   * A one-button form posting {@code action} with hidden fields ({@code name, value} pairs), to the console's own
   * address (relative, so a proxy's path prefix is kept).
   */
  static void button(StringBuilder b, String token, String action, String label, String... fields) {
    open(b, token, action, "inline");
    for (int i = 0; i + 1 < fields.length; i += 2) {
      hidden(b, fields[i], fields[i + 1]);
    }
    b.append("<button>").append(ConsoleHandler.esc(label)).append("</button></form>");
  }

  /** The start of a form posting {@code action}, its token in it; the caller adds its fields and ends it. */
  static void open(StringBuilder b, String token, String action, String cssClass) {
    b.append("<form method=\"post\" action=\"console\" class=\"").append(cssClass).append("\">");
    hidden(b, "csrf", token);
    hidden(b, "action", action);
  }

  private static void hidden(StringBuilder b, String name, String value) {
    b.append("<input type=\"hidden\" name=\"").append(name).append("\" value=\"").append(ConsoleHandler.esc(value))
        .append("\">");
  }
}
