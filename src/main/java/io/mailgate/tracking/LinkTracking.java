package io.mailgate.tracking;

import io.mailgate.configset.ConfigurationSet;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * Open and click tracking on the send path, as SES does it: a message sent with a configuration set that has an
 * enabled event destination taking Open events gets a pixel at the end of its HTML, one taking Click events gets
 * its HTML links rewritten to pass through Mailgate. Text parts are left alone; so are messages of sets that want
 * neither. Links and pixel point at the set's custom redirect domain (its scheme per the HTTPS policy) or at the
 * node's {@code http.publicUrl}. A message is rewritten once, before it is signed, whatever its recipient count (as
 * in SES, an open or click says which message, not which recipient).
 */
public final class LinkTracking {
  /**
   * Where a message's tracking links point.
   *
   * @param open the pixel's base URL, or null for no pixel
   * @param httpClick for links to http URLs, null for no click tracking
   * @param httpsClick for links to https URLs
   */
  public record Bases(String open, String httpClick, String httpsClick) {
    UnaryOperator<String> click() {
      return httpClick == null ? null
          : link -> link.regionMatches(true, 0, "https:", 0, 6) ? httpsClick : httpClick;
    }
  }

  private final TrackingTokens tokens;
  private final String nodeBase;

  /** @param nodeBase the node's public URL, without a trailing slash */
  public LinkTracking(TrackingTokens tokens, String nodeBase) {
    this.tokens = tokens;
    this.nodeBase = nodeBase;
  }

  /** The bases for messages of this set, or null when it wants neither opens nor clicks (or there is no set). */
  public Bases bases(ConfigurationSet set) {
    if (set == null || !(set.tracksOpens() || set.tracksClicks())) {
      return null;
    }
    String http;
    String https;
    String open;
    if (set.redirectDomain() == null) {
      http = https = open = nodeBase;
    } else {
      String policy = set.httpsPolicy() == null ? "OPTIONAL" : set.httpsPolicy().toUpperCase(Locale.ROOT);
      https = "https://" + set.redirectDomain();
      http = policy.equals("REQUIRE") ? https : "http://" + set.redirectDomain();
      open = policy.equals("OPTIONAL") ? http : https;
    }
    return new Bases(set.tracksOpens() ? open : null, set.tracksClicks() ? http : null, set.tracksClicks() ? https : null);
  }

  /** HTML with its links rewritten and pixel added as {@code b} says. */
  public String html(String html, String messageId, Bases b) {
    return HtmlTracking.rewriteByLink(html, messageId, tokens, click(b), b.open()).html();
  }

  /**
   * Where {@code b} sends a link's clicks, except the message's own unsubscribe link (list management), left as it is:
   * a mail scanner that fetches every link would otherwise record a Click for it, and the recipient's unsubscribing
   * should not go through a redirect.
   */
  private UnaryOperator<String> click(Bases b) {
    UnaryOperator<String> click = b.click();
    String unsubscribe = nodeBase + "/t/u/";
    return click == null ? null : link -> link.startsWith(unsubscribe) ? null : click.apply(link);
  }

  /**
   * A raw message with each of its HTML body parts' links tracked and the pixel in the first one only (one view, one
   * Open); the same array when it has no HTML part. In a part whose charset had to be guessed, a link with a non-ASCII
   * character is left as written: the token would carry the guess, and the redirect lead where the author did not
   * point.
   */
  public byte[] raw(byte[] message, String messageId, Bases b) {
    boolean[] pixelPlaced = {false};
    int[] linksLeft = {HtmlTracking.MAX_LINKS}; // for the whole message: thousands of HTML parts share them
    return MimeHtmlParts.rewrite(message, (html, charsetGuessed) -> {
      UnaryOperator<String> click = click(b);
      if (charsetGuessed && click != null) {
        UnaryOperator<String> any = click;
        click = link -> link.chars().allMatch(c -> c < 0x80) ? any.apply(link) : null;
      }
      HtmlTracking.Result r = HtmlTracking.rewriteByLink(html, messageId, tokens, click,
          pixelPlaced[0] ? null : b.open(), linksLeft[0]);
      linksLeft[0] -= r.linksTracked();
      pixelPlaced[0] |= b.open() != null;
      return r.html().equals(html) ? html : r.html();
    });
  }
}
