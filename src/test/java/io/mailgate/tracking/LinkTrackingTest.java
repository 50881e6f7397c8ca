package io.mailgate.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.configset.ConfigurationSet;
import io.vertx.core.json.JsonArray;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class LinkTrackingTest {
  private final TrackingTokens tokens = new TrackingTokens(new byte[32]);
  private final LinkTracking tracking = new LinkTracking(tokens, "http://node.example:8080");

  private static ConfigurationSet set(String domain, String policy, boolean opens, boolean clicks) {
    return new ConfigurationSet("111122223333", "s", null, null, null, true, null, new JsonArray(), domain, policy,
        opens, clicks, null, null, null);
  }

  @Test
  void basesFollowTheSetsDomainAndHttpsPolicy() {
    assertNull(tracking.bases(null));
    assertNull(tracking.bases(set(null, null, false, false)), "no destination wants opens or clicks");
    assertEquals(new LinkTracking.Bases("http://node.example:8080", "http://node.example:8080",
        "http://node.example:8080"), tracking.bases(set(null, null, true, true)));
    assertEquals(new LinkTracking.Bases(null, "https://t.b.example", "https://t.b.example"),
        tracking.bases(set("t.b.example", "REQUIRE", false, true)));
    assertEquals(new LinkTracking.Bases("https://t.b.example", "http://t.b.example", "https://t.b.example"),
        tracking.bases(set("t.b.example", "REQUIRE_OPEN_ONLY", true, true)));
    assertEquals(new LinkTracking.Bases("http://t.b.example", null, null),
        tracking.bases(set("t.b.example", "OPTIONAL", true, false)));
  }

  /** VDM's engagement tracking: the account's, unless the set's VdmOptions say otherwise; opens and clicks both. */
  @Test
  void engagementTrackingTracksBothUnlessTheSetSaysOtherwise() {
    LinkTracking.Bases node = new LinkTracking.Bases("http://node.example:8080", "http://node.example:8080",
        "http://node.example:8080");
    assertEquals(node, tracking.bases(null, true), "no set: the account's");
    assertNull(tracking.bases(null, false));
    assertEquals(node, tracking.bases(set(null, null, false, false), true));
    assertNull(tracking.bases(set(null, null, false, false).withEngagementMetrics("DISABLED"), true));
    assertEquals(node, tracking.bases(set(null, null, false, false).withEngagementMetrics("ENABLED"), false));
    assertEquals(new LinkTracking.Bases("http://node.example:8080", null, null),
        tracking.bases(set(null, null, true, false).withEngagementMetrics("DISABLED"), true),
        "the set's own tracking stays");
    assertEquals(new LinkTracking.Bases("https://t.b.example", "https://t.b.example", "https://t.b.example"),
        tracking.bases(set("t.b.example", "REQUIRE", false, false), true), "through the set's redirect domain");
  }

  @Test
  void aRawMessageGetsOnePixelWhateverItsHtmlPartsAndItsLinksInEach() {
    String raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
        + "<a href=\"http://x.example/1\">1</a></body>\r\n--b\r\nContent-Type: text/html\r\n\r\n"
        + "<a href=\"http://x.example/2\">2</a></body>\r\n--b--\r\n";
    byte[] in = raw.getBytes(StandardCharsets.US_ASCII);
    String out = new String(tracking.raw(in, "m1", tracking.bases(set(null, null, true, true))),
        StandardCharsets.US_ASCII);
    assertEquals(1, out.split("/t/o/", -1).length - 1, out);
    assertEquals(2, out.split("/t/c/", -1).length - 1, out);
    // a message of no HTML comes back as it was
    byte[] text = "Content-Type: text/plain\r\n\r\nhttp://x.example/\r\n".getBytes(StandardCharsets.US_ASCII);
    assertSame(text, tracking.raw(text, "m2", tracking.bases(set(null, null, true, true))));
  }

  /** What a message's trackers are (VDM's DELIVERY_OPEN and DELIVERY_CLICK): the pixel it got, the links it had. */
  @Test
  void theTrackersAMessageGotAreTold() {
    LinkTracking.Bases both = tracking.bases(set(null, null, true, true));
    String twoParts = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
        + "<a href=\"http://x.example/1\">1</a></body>\r\n--b\r\nContent-Type: text/html\r\n\r\n"
        + "<a href=\"http://x.example/2\">2</a></body>\r\n--b--\r\n";
    LinkTracking.RawTracked raw = tracking.rawTracked(twoParts.getBytes(StandardCharsets.US_ASCII), "m1", both);
    assertEquals(true, raw.pixelAdded());
    assertEquals(2, raw.linksTracked());
    LinkTracking.RawTracked noLink = tracking.rawTracked(
        "Content-Type: text/html\r\n\r\n<p>hi</p></body>\r\n".getBytes(StandardCharsets.US_ASCII), "m2", both);
    assertEquals(true, noLink.pixelAdded());
    assertEquals(0, noLink.linksTracked());
    LinkTracking.RawTracked clicksOnly = tracking.rawTracked(twoParts.getBytes(StandardCharsets.US_ASCII), "m3",
        tracking.bases(set(null, null, false, true)));
    assertEquals(false, clicksOnly.pixelAdded());
    assertEquals(2, clicksOnly.linksTracked());

    HtmlTracking.Result html = tracking.htmlTracked("<p><a href=\"https://x.example/\">x</a></p>",
        StandardCharsets.UTF_8, "m4", both);
    assertEquals(true, html.pixelAdded());
    assertEquals(1, html.linksTracked());
    assertEquals(0, tracking.htmlTracked("<p>no link</p>", StandardCharsets.UTF_8, "m5", both).linksTracked());
  }

  /**
   * In HTML that is not UTF-8, a link whose query has a non-ASCII character is left as written: a browser sends the
   * query in the document's charset ({@code Gr%F6%DFe} from ISO-8859-1), where the redirect sent UTF-8's, and a site
   * expecting Latin-1 searched for mojibake. Its path (UTF-8 in any document) and its links without such a query are
   * tracked; in UTF-8 HTML all of them are.
   */
  @Test
  void aQueryInTheDocumentsCharsetIsLeftAsWritten() {
    LinkTracking.Bases clicks = tracking.bases(set(null, null, false, true));
    String html = "<a href=\"https://shop.example/suche?q=Größe\">1</a><a href=\"https://shop.example/größe?q=x\">2</a>"
        + "<a href=\"https://shop.example/?q=x#Größe\">3</a>";
    String latin = tracking.html(html, StandardCharsets.ISO_8859_1, "m1", clicks);
    assertTrue(latin.contains("href=\"https://shop.example/suche?q=Größe\""), latin);
    assertEquals(2, latin.split("/t/c/", -1).length - 1, latin);
    String utf8 = tracking.html(html, StandardCharsets.UTF_8, "m1", clicks);
    assertEquals(3, utf8.split("/t/c/", -1).length - 1, utf8);
    // the same in a raw message's part that declares its charset
    String raw = "Content-Type: text/html; charset=iso-8859-1\r\n\r\n" + html + "\r\n";
    String out = quotedPrintable(new String(tracking.raw(raw.getBytes(StandardCharsets.ISO_8859_1), "m2", clicks),
        StandardCharsets.ISO_8859_1));
    assertTrue(out.contains("href=\"https://shop.example/suche?q=Größe\""), out);
    assertEquals(2, out.split("/t/c/", -1).length - 1, out);
  }

  /** The message with its quoted-printable soft line breaks and escapes undone (Latin-1 bytes as characters). */
  private static String quotedPrintable(String message) {
    Matcher m = Pattern.compile("=([0-9A-F]{2})").matcher(message.replace("=\r\n", ""));
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(sb, Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(1), 16))));
    }
    return m.appendTail(sb).toString();
  }

  /**
   * The limit on tracked links is the message's, not each HTML part's: a message of a thousand parts of 500 links
   * each made 500,000 tokens and grew ninefold before its size was checked.
   */
  @Test
  void aMessagesHtmlPartsShareItsLinkLimit() {
    StringBuilder raw = new StringBuilder("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
    for (int part = 0; part < 3; part++) {
      raw.append("--b\r\nContent-Type: text/html\r\n\r\n");
      for (int i = 0; i < 300; i++) {
        raw.append("<a href=\"http://x.example/").append(part).append('/').append(i).append("\">l</a>\r\n");
      }
    }
    raw.append("--b--\r\n");
    String out = new String(tracking.raw(raw.toString().getBytes(StandardCharsets.US_ASCII), "m1",
        tracking.bases(set(null, null, true, true))), StandardCharsets.US_ASCII);
    assertEquals(HtmlTracking.MAX_LINKS, out.split("/t/c/", -1).length - 1);
    assertEquals(900 - HtmlTracking.MAX_LINKS, out.split("href=\"http://x[.]example/", -1).length - 1);
    assertTrue(out.contains("href=\"http://x.example/2/299\""), "the last links are left as written");
  }

  /**
   * A part without a charset (or us-ascii) whose bytes are UTF-8: its link is the author's, and redirects there; when
   * they are not UTF-8 its characters are a guess, and a link holding one is left as written.
   */
  @Test
  void aLinkInAnUnlabelledUtf8PartIsTrackedAsWritten() {
    String raw = "Content-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "<a href=\"https://x.example/caf\u00e9\">1</a> <a href=\"https://x.example/plain\">2</a>\r\n";
    LinkTracking.Bases bases = tracking.bases(set(null, null, false, true));
    byte[] in = raw.getBytes(StandardCharsets.UTF_8);
    assertEquals(List.of("https://x.example/caf\u00e9", "https://x.example/plain"),
        links(new String(tracking.raw(in, "m1", bases), StandardCharsets.UTF_8)));

    byte[] latin1 = raw.getBytes(StandardCharsets.ISO_8859_1);
    String out = new String(tracking.raw(latin1, "m1", bases), StandardCharsets.ISO_8859_1);
    assertEquals(List.of("https://x.example/plain"), links(out));
    assertTrue(out.contains("<a href=\"https://x.example/caf\u00e9\">1</a>"), out);
  }

  /** The targets of the click links in {@code html}, in order. */
  private List<String> links(String html) {
    Matcher m = Pattern.compile("http://node\\.example:8080/t/c/([A-Za-z0-9_-]+)").matcher(html);
    List<String> found = new ArrayList<>();
    while (m.find()) {
      found.add(tokens.read("node.example", m.group(1)).orElseThrow().link());
    }
    return found;
  }
}
