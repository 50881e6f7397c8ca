package io.mailgate.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.tracking.HtmlTracking.Result;
import io.mailgate.tracking.TrackingTokens.Kind;
import io.mailgate.tracking.TrackingTokens.Token;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HtmlTrackingTest {

  private static final String CLICK = "https://t.example.com";
  private static final String OPEN = "https://o.example.com";
  private static final String MESSAGE_ID = "0100018f3a7c2b1e-msg-000000";
  private static final Pattern CLICK_URL = Pattern.compile(Pattern.quote(CLICK) + "/t/c/([A-Za-z0-9_-]+)");
  private static final Pattern OPEN_URL = Pattern.compile(Pattern.quote(OPEN) + "/t/o/([A-Za-z0-9_-]+)");

  private final TrackingTokens tokens = new TrackingTokens(new byte[] {
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
      31, 32});

  private Result clicks(String html) {
    return HtmlTracking.rewrite(html, MESSAGE_ID, tokens, CLICK, null);
  }

  /** The output with each click URL replaced by CLICK, to compare everything around them exactly. */
  private static String masked(Result result) {
    return CLICK_URL.matcher(result.html()).replaceAll("CLICK");
  }

  /** What each click URL in the output points to, in order. */
  private List<Token> clickTokens(Result result) {
    List<Token> found = new ArrayList<>();
    Matcher m = CLICK_URL.matcher(result.html());
    while (m.find()) {
      Token token = tokens.read("t.example.com", m.group(1)).orElseThrow();
      assertEquals(Kind.CLICK, token.kind());
      assertEquals(MESSAGE_ID, token.messageId());
      found.add(token);
    }
    return found;
  }

  private List<String> links(Result result) {
    return clickTokens(result).stream().map(Token::link).toList();
  }

  private void assertUntouched(String html) {
    Result result = clicks(html);
    assertEquals(html, result.html());
    assertEquals(0, result.linksTracked());
  }

  @Test
  void doubleQuotedHrefIsRewritten() {
    Result result = clicks("<p>Hi <a href=\"https://example.com/x\">x</a>.</p>");
    assertEquals("<p>Hi <a href=\"CLICK\">x</a>.</p>", masked(result));
    assertEquals(1, result.linksTracked());
    assertFalse(result.pixelAdded());
    assertEquals(List.of("https://example.com/x"), links(result));
  }

  @Test
  void singleQuotedAndUnquotedHrefsBecomeDoubleQuotedOthersKeptAsWritten() {
    Result result = clicks("<a class='c' href='https://example.com/s' id=z>s</a>"
        + "<a href=https://example.com/u?x=1 target=_blank data-x=\"q\">u</a>");
    assertEquals("<a class='c' href=\"CLICK\" id=z>s</a><a href=\"CLICK\" target=_blank data-x=\"q\">u</a>",
        masked(result));
    assertEquals(List.of("https://example.com/s", "https://example.com/u?x=1"), links(result));
  }

  /**
   * A tag of millions of attributes (a 38 MB body of one is under the send limit) is scanned, not collected: a record
   * per attribute would take gigabytes of a node's heap. What the pass allocates stays a few times the input (its
   * output and copies), however many attributes.
   */
  @Test
  void aTagOfMillionsOfAttributesIsRewrittenWithoutARecordForEach() {
    String attributes = " a".repeat(2_000_000);
    String paragraph = "<body><p" + attributes + ">x</p></body>";
    String link = "<a" + attributes + " href=\"https://example.com/far\" ses:tags=\"k:v\">y</a>";
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    Result opened = HtmlTracking.rewrite(paragraph, MESSAGE_ID, tokens, CLICK, OPEN);
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(allocated < 10L * paragraph.length(), allocated + " bytes allocated for " + paragraph.length());
    assertEquals("<body><p" + attributes + ">x</p>" + pixel(opened) + "</body>", opened.html());

    before = threads.getCurrentThreadAllocatedBytes();
    Result clicked = clicks(link);
    allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(allocated < 10L * link.length(), allocated + " bytes allocated for " + link.length());
    assertEquals("<a" + attributes + " href=\"CLICK\">y</a>", masked(clicked));
    assertEquals(List.of("https://example.com/far"), links(clicked));
    assertEquals(Map.of("k", List.of("v")), clickTokens(clicked).get(0).linkTags());
  }

  @Test
  void aLinkCrowdedWithTrackingAttributesIsLeftAsWritten() {
    String tags = " ses:tags=\"a:b\"";
    assertUntouched("<a href=\"https://example.com/c\"" + tags.repeat(HtmlTracking.MAX_LINK_ATTRIBUTES) + ">x</a>");
    String full = "<a href=\"https://example.com/c\"" + tags.repeat(HtmlTracking.MAX_LINK_ATTRIBUTES - 1) + ">x</a>";
    assertEquals("<a href=\"CLICK\">x</a>", masked(clicks(full)));
  }

  @Test
  void whitespaceAndNewlinesBetweenAttributesAreKept() {
    Result result = clicks("<a\n  class=\"x\"\n\thref = \"https://example.com/n\"\r\n  title=t\n>n</a>");
    assertEquals("<a\n  class=\"x\"\n\thref = \"CLICK\"\r\n  title=t\n>n</a>", masked(result));
    assertEquals(List.of("https://example.com/n"), links(result));
  }

  @Test
  void characterReferencesAreDecodedIntoTheToken() {
    Result result = clicks("<a href=\"https://example.com/?a=1&amp;b=2\">x</a>");
    assertEquals(List.of("https://example.com/?a=1&b=2"), links(result));

    result = clicks("<a href=\"https://example.com/?a=1&#38;b=2&#x26;c=3&#X26;d=&quot;&lt;&gt;&apos;&#9731;&#x1F600;"
        + "&#;&\">x</a>");
    assertEquals(List.of("https://example.com/?a=1&b=2&c=3&d=\"<>'\u2603\uD83D\uDE00&#;&"), links(result));

    // any other named reference is the browser's to decode (caf&eacute; is /caf%C3%A9): such a link stays as written
    String named = "<a href=\"https://example.com/caf&eacute;\">x</a><a href=\"https://example.com/?a&copy;\">y</a>";
    result = clicks(named);
    assertEquals(List.of(), links(result));
    assertEquals(named, masked(result));
    // escaped, it is a literal &eacute; to the browser as well
    assertEquals(List.of("https://example.com/caf&eacute;"),
        links(clicks("<a href=\"https://example.com/caf&amp;eacute;\">x</a>")));
  }

  @Test
  void encodedSchemeAndSurroundingWhitespaceCount() {
    assertEquals(List.of("https://example.com/t"), links(clicks("<a href=\"  https://example.com/t \n\">x</a>")));
    assertEquals(List.of("https://example.com/e"), links(clicks("<a href=\"&#104;ttps://example.com/e\">x</a>")));
  }

  @Test
  void uppercaseTagsAndSchemeAreTracked() {
    Result result = clicks("<A HREF=\"HTTPS://EXAMPLE.COM/UP\">x</A><a Href='Http://example.com/mixed'>y</a>");
    assertEquals("<A HREF=\"CLICK\">x</A><a Href=\"CLICK\">y</a>", masked(result));
    assertEquals(List.of("HTTPS://EXAMPLE.COM/UP", "Http://example.com/mixed"), links(result));
  }

  @Test
  void nonWebLinksAreUntouched() {
    assertUntouched("<a href=\"mailto:a@example.com\">m</a>");
    assertUntouched("<a href=\"tel:+15555550100\">t</a>");
    assertUntouched("<a href=\"#top\">a</a>");
    assertUntouched("<a href=\"/relative/path\">r</a>");
    assertUntouched("<a href=\"example.com/no-scheme\">r</a>");
    assertUntouched("<a href=\"//example.com/protocol-relative\">r</a>");
    assertUntouched("<a href=\"javascript:alert(1)\">j</a>");
    assertUntouched("<a href=\"ftp://example.com/\">f</a>");
    assertUntouched("<a href=\"http:/example.com\">f</a>");
    assertUntouched("<a href=\"\">e</a>");
    assertUntouched("<a href>e</a>");
    assertUntouched("<a href=>e</a>");
    assertUntouched("<a name=\"anchor\">n</a>");
  }

  @Test
  void onlyAnchorElementsAreRewritten() {
    assertUntouched("<link href=\"https://example.com/style.css\">");
    assertUntouched("<area href=\"https://example.com/area\">");
    assertUntouched("<abbr href=\"https://example.com/abbr\">x</abbr>");
    assertUntouched("<img src=\"https://example.com/img.png\">");
    assertUntouched("<a:b href=\"https://example.com/ns\">x</a:b>");
    assertUntouched("<p data-href=\"https://example.com/\">text with https://example.com/ in it</p>");
  }

  @Test
  void noTrackIsHonouredAndRemoved() {
    Result result = clicks("<a ses:no-track href=\"https://example.com/a\">a</a>"
        + "<a href=\"https://example.com/b\" SES:NO-TRACK=\"true\" class=c>b</a>"
        + "<a href=\"https://example.com/c\" ses:no-track>c</a>"
        + "<a href=\"https://example.com/d\">d</a>");
    assertEquals("<a href=\"https://example.com/a\">a</a><a href=\"https://example.com/b\" class=c>b</a>"
        + "<a href=\"https://example.com/c\">c</a><a href=\"CLICK\">d</a>", masked(result));
    assertEquals(1, result.linksTracked());
    assertEquals(List.of("https://example.com/d"), links(result));
  }

  @Test
  void removalDoesNotJoinNeighbours() {
    Result result = clicks("<a href=mailto:x@example.com ses:no-track/>x</a><a ses:no-track=\"\"href=\"#x\">y</a>");
    assertEquals("<a href=mailto:x@example.com />x</a><a href=\"#x\">y</a>", result.html());
  }

  @Test
  void tagsGoIntoTheTokenAndAreRemoved() {
    Result result = clicks(
        "<a href=\"https://example.com/book\" ses:tags=\"product:book;genre:fiction;\" class=\"btn\">Buy</a>");
    assertEquals("<a href=\"CLICK\" class=\"btn\">Buy</a>", masked(result));
    Token token = clickTokens(result).get(0);
    assertEquals(Map.of("product", List.of("book"), "genre", List.of("fiction")), token.linkTags());
    assertEquals(List.of("product", "genre"), new ArrayList<>(token.linkTags().keySet()));
  }

  @Test
  void tagsOnAnUntrackedLinkAreStillRemoved() {
    Result result = clicks("<a href=\"mailto:a@example.com\" ses:tags=\"a:b\">m</a>");
    assertEquals("<a href=\"mailto:a@example.com\">m</a>", result.html());
    assertEquals(0, result.linksTracked());
  }

  @Test
  void invalidTagEntriesAreIgnored() {
    String ok256 = "n".repeat(256);
    String tags = "ok:1;bad name:x;a:b:c;:v;n:;noval;emoji:\u2713;long:" + "v".repeat(257) + ";dot.ted:x;"
        + ok256 + ":" + ok256 + ";fine-ok_2:V-a_1;;ok:second; spaced:yes ;";
    Result result = clicks("<a href=\"https://example.com/\" ses:tags=\"" + tags + "\">x</a>");
    Map<String, List<String>> expected = new LinkedHashMap<>();
    expected.put("ok", List.of("1"));
    expected.put(ok256, List.of(ok256));
    expected.put("fine-ok_2", List.of("V-a_1"));
    expected.put("spaced", List.of("yes"));
    Token token = clickTokens(result).get(0);
    assertEquals(expected, token.linkTags());
    assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(token.linkTags().keySet()));
  }

  @Test
  void atMostFiftyTags() {
    StringBuilder tags = new StringBuilder();
    for (int i = 0; i < 60; i++) {
      tags.append("t").append(i).append(":v").append(i).append(';');
    }
    Token token = clickTokens(clicks("<a href=\"https://example.com/\" ses:tags=\"" + tags + "\">x</a>")).get(0);
    assertEquals(50, token.linkTags().size());
    assertEquals(List.of("v49"), token.linkTags().get("t49"));
    assertNull(token.linkTags().get("t50"));
  }

  @Test
  void linkWhoseTokenWouldBeTooLongIsLeftAlone() {
    StringBuilder tags = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      tags.append("t").append(i).append("_").append("n".repeat(200)).append(":").append("v".repeat(256)).append(';');
    }
    String link = "https://example.com/" + "p".repeat(1900);
    Result result = clicks("<a href=\"" + link + "\" ses:tags=\"" + tags + "\">x</a>");
    assertEquals("<a href=\"" + link + "\">x</a>", result.html());
    assertEquals(0, result.linksTracked());
  }

  @Test
  void commentScriptStyleTextareaAndTitleAreNotTouched() {
    String skipped = "<title><a href=\"https://title.example/\"></title>"
        + "<!-- <a href=\"https://comment.example/\"> -->"
        + "<!--[if mso]><a href=\"https://mso.example/\">x</a><![endif]-->"
        + "<script>var s = '<a href=\"https://script.example/\">';</script>"
        + "<SCRIPT type=\"text/javascript\">document.write('<a href=\"https://upper.example/\">')</SCRIPT >"
        + "<style>/* <a href=\"https://style.example/\"> */</style>"
        + "<textarea><a href=\"https://textarea.example/\"></textarea>"
        + "<img alt=\"<a href='https://attribute.example/'>\">";
    Result result = clicks(skipped + "<a href=\"https://real.example/\">real</a>");
    assertEquals(skipped + "<a href=\"CLICK\">real</a>", masked(result));
    assertEquals(List.of("https://real.example/"), links(result));
  }

  /**
   * The other elements a browser reads as text to their end tag (xmp, iframe, noembed, noframes), and plaintext, which
   * runs to the end: a link written in them is shown as written (it was rewritten into the node's URL and its
   * ses:tags taken out), and a {@code </body>} in them is not where the pixel goes (it showed as an img tag's text).
   */
  @Test
  void xmpIframeNoembedNoframesAndPlaintextAreText() {
    String skipped = "<xmp><a href=\"https://xmp.example/\" ses:tags=\"a:b\">x</a></body></xmp>"
        + "<iframe srcdoc=\"\"><a href=\"https://iframe.example/\"></iframe>"
        + "<noembed><a href=\"https://noembed.example/\"></noembed>"
        + "<NOFRAMES><a href=\"https://noframes.example/\"></noframes>";
    Result result = clicks(skipped + "<a href=\"https://real.example/\">real</a>");
    assertEquals(skipped + "<a href=\"CLICK\">real</a>", masked(result));
    String plain = "<plaintext><a href=\"https://plain.example/\">x</a></body></html>";
    Result text = HtmlTracking.rewrite("<body><a href=\"https://real.example/\">real</a>" + plain, MESSAGE_ID, tokens,
        CLICK, OPEN);
    assertEquals(List.of("https://real.example/"), links(text));
    assertEquals("<body><a href=\"CLICK\">real</a>" + pixel(text) + plain, masked(text));
  }

  @Test
  void revealedDownlevelConditionalContentIsTracked() {
    Result result = clicks("<!--[if !mso]><!--><a href=\"https://not-mso.example/\">x</a><!--<![endif]-->");
    assertEquals("<!--[if !mso]><!--><a href=\"CLICK\">x</a><!--<![endif]-->", masked(result));
  }

  @Test
  void abruptlyClosedCommentsEndWhereBrowsersEndThem() {
    Result result = clicks("<!--><a href=\"https://a.example/\">a</a><!---><a href=\"https://b.example/\">b</a>"
        + "<!-- x --!><a href=\"https://c.example/\">c</a><!-- <a href=\"https://no.example/\"> --->");
    assertEquals(List.of("https://a.example/", "https://b.example/", "https://c.example/"), links(result));
  }

  @Test
  void greaterThanInsideQuotedValues() {
    Result result = clicks("<a title=\"a > b\" data-x='<c>' href=\"https://example.com/gt\">x</a>");
    assertEquals("<a title=\"a > b\" data-x='<c>' href=\"CLICK\">x</a>", masked(result));
    assertEquals(List.of("https://example.com/gt"), links(result));
  }

  @Test
  void selfClosingAndValuelessAttributesAreKept() {
    Result result = clicks("<a download href=\"https://example.com/f\" hidden/><a href=https://example.com/g/>g</a>");
    assertEquals("<a download href=\"CLICK\" hidden/><a href=\"CLICK\">g</a>", masked(result));
    // unquoted, the slash belongs to the value, as in browsers
    assertEquals(List.of("https://example.com/f", "https://example.com/g/"), links(result));
  }

  @Test
  void firstHrefWins() {
    Result result = clicks("<a href=\"https://first.example/\" href=\"https://second.example/\">x</a>");
    assertEquals("<a href=\"CLICK\" href=\"https://second.example/\">x</a>", masked(result));
    assertEquals(List.of("https://first.example/"), links(result));
  }

  @Test
  void textAndOtherMarkupAreCopiedUnchanged() {
    String html = "<!DOCTYPE html><?xml version=\"1.0\"?><html><body>a < b, c<d, </ x> </>"
        + "<p class=x>&amp; &copy;</p><br/></body></html>";
    assertUntouched(html);
  }

  @Test
  void linkOfMaxLengthTrackedOneMoreNot() {
    String prefix = "https://example.com/";
    String max = prefix + "a".repeat(HtmlTracking.MAX_LINK_LENGTH - prefix.length());
    String over = max + "b";
    assertEquals(2048, max.length());
    assertEquals(List.of(max), links(clicks("<a href=\"" + max + "\">x</a>")));
    assertUntouched("<a href=\"" + over + "\">x</a>");
    // the limit is on the decoded link: 2052 characters as written, 2048 decoded
    String encoded = max.substring(0, 2044) + "&amp;b=c";
    assertEquals(List.of(max.substring(0, 2044) + "&b=c"), links(clicks("<a href=\"" + encoded + "\">x</a>")));
  }

  @Test
  void onlyFiveHundredLinksAreTracked() {
    StringBuilder html = new StringBuilder();
    for (int i = 1; i <= 501; i++) {
      html.append("<a href=\"https://example.com/").append(i).append("\">").append(i).append("</a>\n");
    }
    Result result = clicks(html.toString());
    assertEquals(500, result.linksTracked());
    List<String> links = links(result);
    assertEquals(500, links.size());
    assertEquals("https://example.com/500", links.get(499));
    assertTrue(result.html().endsWith("<a href=\"https://example.com/501\">501</a>\n"));
  }

  @Test
  void unterminatedMarkupAtTheEndIsCopied() {
    String tracked = "<a href=\"https://example.com/\">x</a>";
    for (String tail : List.of("<a href=\"https://example.com/open", "<a href='https://example.com/", "<a href=",
        "<a href", "<a", "<", "<!-- <a href=\"https://example.com/\">", "<!", "</", "</a",
        "<script><a href=\"https://example.com/\">", "<title>x", "<a title=\"></a><a href='https://example.com/'>")) {
      Result result = clicks(tracked + tail);
      assertEquals("<a href=\"CLICK\">x</a>" + tail, masked(result), tail);
      assertEquals(1, result.linksTracked(), tail);
    }
  }

  @Test
  void pathologicalInputIsCopiedUnchanged() {
    for (String unit : List.of("<a ", "<a href='", "<!--", "<script>", "</", "<!", "<a href=\"https://e.example/\" ",
        "<textarea></text", "&#", "<a b=& ")) {
      String html = unit.repeat(200_000);
      Result result = clicks(html);
      assertEquals(html, result.html(), unit);
      assertEquals(0, result.linksTracked(), unit);
    }
  }

  @Test
  void manyLinksIsLinear() {
    String html = "<a href=\"#x\" class=y>z</a><!-- c --><b>t</b>".repeat(100_000);
    assertEquals(html, clicks(html).html());
  }

  @Test
  void pixelGoesBeforeTheLastBodyEndTag() {
    String html = "<html><body>one</body>two</BODY ><!-- </body> --><script>'</body>'</script></html>";
    Result result = HtmlTracking.rewrite(html, MESSAGE_ID, tokens, null, OPEN);
    assertTrue(result.pixelAdded());
    String pixel = pixel(result);
    assertEquals("<html><body>one</body>two" + pixel + "</BODY ><!-- </body> --><script>'</body>'</script></html>",
        result.html());
    Matcher m = OPEN_URL.matcher(pixel);
    assertTrue(m.find());
    Token token = tokens.read("o.example.com", m.group(1)).orElseThrow();
    assertEquals(Kind.OPEN, token.kind());
    assertTrue(tokens.read("t.example.com", m.group(1)).isEmpty(), "valid under its own host only");
    assertEquals(MESSAGE_ID, token.messageId());
  }

  @Test
  void pixelIsAppendedWithoutBody() {
    Result result = HtmlTracking.rewrite("<p>hi</p><!-- </body> -->", MESSAGE_ID, tokens, null, OPEN);
    assertEquals("<p>hi</p><!-- </body> -->" + pixel(result), result.html());
  }

  @Test
  void pixelIsExactlyAsSesWritesIt() {
    Result result = HtmlTracking.rewrite("<body></body>", MESSAGE_ID, tokens, null, OPEN + "/");
    String token = tokens.open("o.example.com", MESSAGE_ID);
    assertEquals("<body><img src=\"https://o.example.com/t/o/" + token + "\" alt=\"\" width=\"1\" height=\"1\" "
        + "border=\"0\" style=\"height:1px !important;width:1px !important;border-width:0 !important;"
        + "margin-top:0 !important;margin-bottom:0 !important;margin-right:0 !important;margin-left:0 !important;"
        + "padding-top:0 !important;padding-bottom:0 !important;padding-right:0 !important;"
        + "padding-left:0 !important;\"/></body>", result.html());
  }

  /** The single open pixel in the output. */
  private static String pixel(Result result) {
    Matcher m = Pattern.compile("<img src=\"" + Pattern.quote(OPEN) + "/t/o/[^>]*/>").matcher(result.html());
    assertTrue(m.find(), result.html());
    String pixel = m.group();
    assertFalse(m.find(), "one pixel");
    return pixel;
  }

  @Test
  void bothTrackingKinds() {
    Result result = HtmlTracking.rewrite("<body><a href=\"https://example.com/\">x</a></body>", MESSAGE_ID, tokens,
        CLICK, OPEN);
    assertEquals(1, result.linksTracked());
    assertTrue(result.pixelAdded());
    assertEquals("<body><a href=\"CLICK\">x</a>" + pixel(result) + "</body>", masked(result));
  }

  @Test
  void noLinksOnlyThePixel() {
    Result result = HtmlTracking.rewrite("<body><p>plain</p></body>", MESSAGE_ID, tokens, CLICK, OPEN);
    assertEquals(0, result.linksTracked());
    assertEquals("<body><p>plain</p>" + pixel(result) + "</body>", result.html());
  }

  @Test
  void withoutClickBaseLinksStay() {
    Result result = HtmlTracking.rewrite("<a href=\"https://example.com/\">x</a>", MESSAGE_ID, tokens, null, OPEN);
    assertEquals(0, result.linksTracked());
    assertTrue(result.html().startsWith("<a href=\"https://example.com/\">x</a><img "));
  }

  @Test
  void withoutOpenBaseNoPixel() {
    Result result = clicks("<body><a href=\"https://example.com/\">x</a></body>");
    assertFalse(result.pixelAdded());
    assertFalse(result.html().contains("<img"));
    assertFalse(result.html().contains("/t/o/"));
  }

  @Test
  void bothBasesNullLeavesInputUnchanged() {
    String html = "<body><a ses:no-track href=\"https://example.com/\" ses:tags=\"a:b\">x</a></body>";
    Result result = HtmlTracking.rewrite(html, MESSAGE_ID, tokens, null, null);
    assertSame(html, result.html());
    assertEquals(0, result.linksTracked());
    assertFalse(result.pixelAdded());
  }

  @Test
  void clickBaseTrailingSlashIsNotDoubled() {
    Result result = HtmlTracking.rewrite("<a href=\"https://example.com/\">x</a>", MESSAGE_ID, tokens, CLICK + "/",
        null);
    assertEquals(List.of("https://example.com/"), links(result));
    assertFalse(result.html().contains("//t/c/"));
  }

  @Test
  void linksWithControlCharactersOrBrokenSurrogatesAreNotTracked() {
    for (String href : new String[] {"https://example.com/\u0000x", "https://example.com/&#1;x", "https://example.com/\u0085",
        "https://example.com/\ud800x"}) {
      String html = "<a href=\"" + href + "\">x</a>";
      Result result = HtmlTracking.rewrite(html, MESSAGE_ID, tokens, CLICK, null);
      assertEquals(0, result.linksTracked(), href);
    }
    // a proper pair is a character like another
    assertEquals(1, HtmlTracking.rewrite("<a href=\"https://example.com/\ud83d\ude00\">x</a>", MESSAGE_ID, tokens,
        CLICK, null).linksTracked());
  }
}
