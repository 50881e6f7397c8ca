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
    return bases(set, false);
  }

  /**
   * The bases for messages of this set (null: none) sent by an account whose VDM engagement tracking is on or not
   * ({@code engagement}): opens and clicks are tracked for VDM's engagement metrics when the set's VdmOptions say
   * ENABLED, or say nothing and the account's are on; else as the set's event destinations want. Null when nothing
   * is to be tracked.
   */
  public Bases bases(ConfigurationSet set, boolean engagement) {
    boolean engaged = set != null && set.engagementMetrics() != null ? set.engagementMetrics().equals("ENABLED")
        : engagement;
    boolean opens = engaged || set != null && set.tracksOpens();
    boolean clicks = engaged || set != null && set.tracksClicks();
    if (!opens && !clicks) {
      return null;
    }
    String http;
    String https;
    String open;
    if (set == null || set.redirectDomain() == null) {
      http = https = open = nodeBase;
    } else {
      String policy = set.httpsPolicy() == null ? "OPTIONAL" : set.httpsPolicy().toUpperCase(Locale.ROOT);
      https = "https://" + set.redirectDomain();
      http = policy.equals("REQUIRE") ? https : "http://" + set.redirectDomain();
      open = policy.equals("OPTIONAL") ? http : https;
    }
    return new Bases(opens ? open : null, clicks ? http : null, clicks ? https : null);
  }

  /** HTML in {@code charset} with its links rewritten and pixel added as {@code b} says. */
  public String html(String html, java.nio.charset.Charset charset, String messageId, Bases b) {
    return htmlTracked(html, charset, messageId, b).html();
  }

  /** {@link #html}, with how many links it tracked and whether it added the pixel. */
  public HtmlTracking.Result htmlTracked(String html, java.nio.charset.Charset charset, String messageId, Bases b) {
    return HtmlTracking.rewriteByLink(html, messageId, tokens, inDocument(click(b), charset, false), b.open());
  }

  /** A raw message as {@link #raw} tracks it, with whether it got the pixel and how many links it tracked. */
  public record RawTracked(byte[] content, boolean pixelAdded, int linksTracked) {}

  /**
   * {@code click}, except for the links a redirect would change: in HTML that is not UTF-8, a link whose query has a
   * non-ASCII character (a browser sends the query in the document's charset, as the URL standard says: {@code
   * ?q=Größe} in ISO-8859-1 HTML is {@code ?q=Gr%F6%DFe}, where the redirect, from the link as text, sends UTF-8's
   * {@code Gr%C3%B6%C3%9Fe}); in HTML whose charset was guessed, any link with a non-ASCII character (the token would
   * carry the guess).
   */
  private static UnaryOperator<String> inDocument(UnaryOperator<String> click, java.nio.charset.Charset charset,
      boolean charsetGuessed) {
    if (click == null || charset.equals(java.nio.charset.StandardCharsets.UTF_8) && !charsetGuessed) {
      return click;
    }
    return link -> {
      int from = 0;
      int to = link.length();
      if (!charsetGuessed) { // the query only: the host and path are UTF-8 whatever the document's charset
        from = link.indexOf('?') + 1;
        if (from == 0) {
          return click.apply(link);
        }
        int fragment = link.indexOf('#', from);
        to = fragment < 0 ? to : fragment;
      }
      for (int i = from; i < to; i++) {
        if (link.charAt(i) >= 0x80) {
          return null;
        }
      }
      return click.apply(link);
    };
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
   * Open); the same array when it has no HTML part. The links a redirect would change are left as written ({@link
   * #inDocument}).
   */
  public byte[] raw(byte[] message, String messageId, Bases b) {
    return rawTracked(message, messageId, b).content();
  }

  /** {@link #raw}, with whether the message got the pixel and how many links were tracked. */
  public RawTracked rawTracked(byte[] message, String messageId, Bases b) {
    boolean[] pixelPlaced = {false};
    int[] linksLeft = {HtmlTracking.MAX_LINKS}; // for the whole message: thousands of HTML parts share them
    byte[] content = MimeHtmlParts.rewrite(message, (html, charset, charsetGuessed) -> {
      UnaryOperator<String> click = inDocument(click(b), charset, charsetGuessed);
      HtmlTracking.Result r = HtmlTracking.rewriteByLink(html, messageId, tokens, click,
          pixelPlaced[0] ? null : b.open(), linksLeft[0]);
      linksLeft[0] -= r.linksTracked();
      pixelPlaced[0] |= b.open() != null;
      return r.html().equals(html) ? html : r.html();
    });
    return new RawTracked(content, pixelPlaced[0], HtmlTracking.MAX_LINKS - linksLeft[0]);
  }
}
