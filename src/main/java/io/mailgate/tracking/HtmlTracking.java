package io.mailgate.tracking;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Rewrites an HTML body for open and click tracking as Amazon SES does: each {@code http(s)} link of an {@code <a>}
 * element points at the click endpoint with a token holding the original URL, and a 1x1 pixel before the last
 * {@code </body>} points at the open endpoint. {@code ses:no-track} and {@code ses:tags} on a link are honoured and
 * removed, since they are instructions to us and not for the recipient.
 *
 * <p>This follows the HTML tokenizer only as far as it must to find where tags, comments and raw text elements
 * ({@code script}, {@code style}, {@code textarea}, {@code title}) begin and end, so a {@code >} in a quoted value or
 * a link in a comment or script is not mistaken for markup. Everything it does not rewrite is copied unchanged,
 * byte for byte. One pass without backtracking: an unterminated comment, tag or element ends the scan and the rest is
 * copied as it is, which keeps hostile input linear.
 */
public final class HtmlTracking {

  /** Longer links (after decoding) are left alone, as SES does. */
  static final int MAX_LINK_LENGTH = 2048;
  /** Links beyond this many in one message (all its HTML parts together) are left alone. */
  public static final int MAX_LINKS = 500;
  static final int MAX_TAGS = 50;
  static final int MAX_TAG_PART = 256;
  /**
   * The {@code href}, {@code ses:no-track} and {@code ses:tags} attributes one {@code <a>} may have; a link with more
   * is left as written. A link needs one of each: the bound keeps a hostile tag of millions of them from holding a
   * record for each.
   */
  static final int MAX_LINK_ATTRIBUTES = 16;

  private static final String PIXEL_STYLE = "height:1px !important;width:1px !important;border-width:0 !important;"
      + "margin-top:0 !important;margin-bottom:0 !important;margin-right:0 !important;margin-left:0 !important;"
      + "padding-top:0 !important;padding-bottom:0 !important;padding-right:0 !important;padding-left:0 !important;";

  /**
   * Elements whose content HTML's parser reads as text up to their end tag (HTML's raw text and escapable raw text
   * elements, and those it parses as raw text in a browser: xmp, iframe, noembed, noframes): a link written in them
   * is shown as written, not followed, and a {@code </body>} in them is text.
   */
  private static final String[] RAW_TEXT = {"script", "style", "textarea", "title", "xmp", "iframe", "noembed",
      "noframes"};

  private HtmlTracking() {}

  /** The rewritten HTML and how many links were rewritten (for tests/metrics). */
  public record Result(String html, int linksTracked, boolean pixelAdded) {}

  /**
   * @param clickBase where the click endpoint lives, e.g. {@code https://t.example.com}; null: do not track clicks
   * @param openBase where the open endpoint lives; null: no open pixel
   */
  public static Result rewrite(String html, String messageId, TrackingTokens tokens, String clickBase,
      String openBase) {
    return rewriteByLink(html, messageId, tokens, clickBase == null ? null : link -> clickBase, openBase);
  }

  /**
   * As {@link #rewrite(String, String, TrackingTokens, String, String)}, the click endpoint chosen per link (a custom
   * redirect domain's HTTPS policy keeps an http link http).
   *
   * @param clickBase from a link's target URL to where its click endpoint lives (null for a link left as it is); null:
   *     do not track clicks
   */
  public static Result rewriteByLink(String html, String messageId, TrackingTokens tokens,
      UnaryOperator<String> clickBase, String openBase) {
    return rewriteByLink(html, messageId, tokens, clickBase, openBase, MAX_LINKS);
  }

  /**
   * As {@link #rewriteByLink(String, String, TrackingTokens, UnaryOperator, String)}, with at most {@code maxLinks}
   * links rewritten: what is left of the message's {@link #MAX_LINKS} after its earlier HTML parts.
   */
  public static Result rewriteByLink(String html, String messageId, TrackingTokens tokens,
      UnaryOperator<String> clickBase, String openBase, int maxLinks) {
    if (maxLinks <= 0) {
      clickBase = null;
    }
    if (clickBase == null && openBase == null) {
      return new Result(html, 0, false);
    }
    Rewriter rewriter = new Rewriter(html, messageId, tokens, clickBase, maxLinks);
    rewriter.run();
    StringBuilder out = rewriter.out;
    if (openBase != null) {
      String pixel = "<img src=\"" + prefix(openBase, "/t/o/") + tokens.open(host(openBase), messageId)
          + "\" alt=\"\" width=\"1\" height=\"1\" border=\"0\" style=\"" + PIXEL_STYLE + "\"/>";
      if (rewriter.lastBodyClose >= 0) {
        out.insert(rewriter.lastBodyClose, pixel);
      } else {
        out.append(pixel);
      }
    }
    return new Result(out.toString(), rewriter.linksTracked, openBase != null);
  }

  /** The host of a base URL, which its tokens are valid under; empty if it has none. */
  static String host(String base) {
    try {
      String host = java.net.URI.create(base).getHost();
      return host == null ? "" : host;
    } catch (IllegalArgumentException e) {
      return "";
    }
  }

  /** The base without trailing slashes, then the path, ready to sit in a double-quoted attribute. */
  private static String prefix(String base, String path) {
    int end = base.length();
    while (end > 0 && base.charAt(end - 1) == '/') {
      end--;
    }
    return base.substring(0, end).replace("&", "&amp;").replace("\"", "&quot;") + path;
  }

  /** One pass over one body. */
  private static final class Rewriter {
    private final String html;
    private final int n;
    private final String messageId;
    private final TrackingTokens tokens;
    private final UnaryOperator<String> clickBase;
    private final int maxLinks;
    /** The last click base seen, its prefix and host: a message's links share one or two bases. */
    private String lastBase;
    private String lastPrefix;
    private String lastHost;
    final StringBuilder out;
    int linksTracked;
    /** Where in {@link #out} the last {@code </body>} starts; -1 while none was seen. */
    int lastBodyClose = -1;

    Rewriter(String html, String messageId, TrackingTokens tokens, UnaryOperator<String> clickBase, int maxLinks) {
      this.maxLinks = maxLinks;
      this.html = html;
      this.n = html.length();
      this.messageId = messageId;
      this.tokens = tokens;
      this.clickBase = clickBase;
      this.out = new StringBuilder(n + n / 8 + 512);
    }

    void run() {
      int pos = 0;
      while (pos < n) {
        int lt = html.indexOf('<', pos);
        if (lt < 0) {
          out.append(html, pos, n);
          return;
        }
        out.append(html, pos, lt);
        pos = markup(lt);
      }
    }

    /** Copies (or rewrites) the markup starting with the {@code <} at lt; returns where the scan goes on. */
    private int markup(int lt) {
      int next = lt + 1;
      char c = next < n ? html.charAt(next) : 0;
      if (c == '!') {
        return copyTo(lt, html.startsWith("--", next + 1) ? commentEnd(lt + 4) : gtEnd(next));
      }
      if (c == '?') {
        return copyTo(lt, gtEnd(next));
      }
      if (c == '/') {
        if (next + 1 < n && isAsciiLetter(html.charAt(next + 1))) {
          Tag tag = Tag.parse(html, next + 1, false);
          if (tag != null && tag.is("body")) {
            lastBodyClose = out.length();
          }
          return copyTo(lt, tag == null ? -1 : tag.end);
        }
        return copyTo(lt, gtEnd(next)); // "</>" or a bogus comment
      }
      if (isAsciiLetter(c)) {
        Tag tag = Tag.parse(html, next, true);
        if (tag == null) {
          return copyTo(lt, -1);
        }
        if (tag.is("plaintext")) {
          // everything after it is text, to the end (HTML's parser never leaves it): nothing in it is rewritten, and
          // the pixel goes before it, not into what it shows
          if (lastBodyClose < 0) {
            lastBodyClose = out.length();
          }
          return copyTo(lt, -1);
        }
        if (tag.is("a")) {
          anchor(lt, tag);
        } else {
          out.append(html, lt, tag.end);
        }
        for (String raw : RAW_TEXT) {
          if (tag.is(raw)) {
            int close = closeTag(raw, tag.end);
            out.append(html, tag.end, close < 0 ? n : close);
            return close < 0 ? n : close;
          }
        }
        return tag.end;
      }
      out.append('<'); // text, as in "a < b"
      return next;
    }

    /** Copies from..end, or to the end of the input when end is -1 (unterminated). */
    private int copyTo(int from, int end) {
      int to = end < 0 ? n : end;
      out.append(html, from, to);
      return to;
    }

    private int gtEnd(int from) {
      int gt = html.indexOf('>', from);
      return gt < 0 ? -1 : gt + 1;
    }

    /** After the comment whose text starts at from (just past {@code <!--}), or -1. */
    private int commentEnd(int from) {
      if (from < n && html.charAt(from) == '>') {
        return from + 1; // "<!-->"
      }
      if (from + 1 < n && html.charAt(from) == '-' && html.charAt(from + 1) == '>') {
        return from + 2; // "<!--->"
      }
      int i = from;
      while (true) {
        int dashes = html.indexOf("--", i);
        if (dashes < 0) {
          return -1;
        }
        int j = dashes + 2;
        while (j < n && html.charAt(j) == '-') {
          j++;
        }
        if (j < n && html.charAt(j) == '>') {
          return j + 1;
        }
        if (j + 1 < n && html.charAt(j) == '!' && html.charAt(j + 1) == '>') {
          return j + 2;
        }
        i = j;
      }
    }

    /** Where the raw text element's end tag starts, or -1. */
    private int closeTag(String name, int from) {
      int i = from;
      while (true) {
        int lt = html.indexOf("</", i);
        if (lt < 0) {
          return -1;
        }
        int after = lt + 2 + name.length();
        if (html.regionMatches(true, lt + 2, name, 0, name.length()) && (after >= n || endsName(html.charAt(after)))) {
          return lt;
        }
        i = lt + 2;
      }
    }

    private void anchor(int lt, Tag tag) {
      if (tag.crowded) {
        out.append(html, lt, tag.end);
        return;
      }
      Attribute href = null;
      Attribute tags = null;
      boolean noTrack = false;
      boolean strip = false;
      for (Attribute a : tag.attributes) {
        if (a.is("href")) {
          href = href == null ? a : href; // the first one counts, as in browsers
        } else if (a.is("ses:no-track")) {
          noTrack = true;
          strip = true;
        } else if (a.is("ses:tags")) {
          tags = tags == null ? a : tags;
          strip = true;
        }
      }
      String tracked = noTrack ? null : trackedUrl(href, tags);
      if (tracked == null && !strip) {
        out.append(html, lt, tag.end);
        return;
      }
      int p = lt;
      for (Attribute a : tag.attributes) {
        if (a == href && tracked != null) {
          out.append(html, p, a.valueOuterStart).append('"').append(tracked).append('"');
          p = a.end;
        } else if (a.is("ses:no-track") || a.is("ses:tags")) {
          out.append(html, p, removalStart(a));
          p = a.end;
        }
      }
      out.append(html, p, tag.end);
    }

    /**
     * Drops the whitespace before a removed attribute too, unless what follows would then run into what precedes
     * (an unquoted value before a {@code /}, or an attribute right after a closing quote).
     */
    private int removalStart(Attribute a) {
      char following = html.charAt(a.end); // the tag is terminated, so there is a next char
      int start = a.nameStart;
      if (isSpace(following) || following == '>') {
        while (start > a.previousEnd && isSpace(html.charAt(start - 1))) {
          start--;
        }
      }
      return start;
    }

    /** The click URL for this link, or null to leave it as it is. */
    private String trackedUrl(Attribute href, Attribute tagsAttribute) {
      if (clickBase == null || href == null || href.valueStart < 0 || linksTracked >= maxLinks) {
        return null;
      }
      String url = linkTarget(html.substring(href.valueStart, href.valueEnd));
      if (url == null) {
        return null;
      }
      Map<String, String> tags = tagsAttribute == null || tagsAttribute.valueStart < 0
          ? Map.of()
          : linkTags(CharacterReferences.decode(html.substring(tagsAttribute.valueStart, tagsAttribute.valueEnd)));
      String base = clickBase.apply(url);
      if (base == null) {
        return null; // a link not to be tracked
      }
      if (!base.equals(lastBase)) {
        lastBase = base;
        lastPrefix = prefix(base, "/t/c/");
        lastHost = host(base);
      }
      String token = tokens.clickOrNull(lastHost, messageId, url, tags);
      if (token == null) {
        return null;
      }
      linksTracked++;
      return lastPrefix + token;
    }
  }

  /**
   * The URL a browser would follow, when it is one we track: references decoded, surrounding whitespace and control
   * characters trimmed and tabs and line breaks inside removed (as the URL parser does), {@code http} or
   * {@code https}, at most {@link #MAX_LINK_LENGTH} characters. Otherwise null.
   */
  static String linkTarget(String rawValue) {
    if (UNDECODED_REFERENCE.matcher(rawValue).find()) {
      return null;
    }
    String url = CharacterReferences.decode(rawValue).trim();
    if (url.indexOf('\t') >= 0 || url.indexOf('\n') >= 0 || url.indexOf('\r') >= 0) {
      url = url.replace("\t", "").replace("\n", "").replace("\r", "");
    }
    boolean web = url.regionMatches(true, 0, "http://", 0, 7) || url.regionMatches(true, 0, "https://", 0, 8);
    return web && url.length() <= MAX_LINK_LENGTH && clean(url) ? url : null;
  }

  /**
   * A named character reference {@link CharacterReferences} does not decode ({@code &eacute;}, {@code &sol;}...), as
   * written in the attribute: HTML has two thousand, and the browser decodes the one written here into the URL it
   * follows; rather than redirect to the reference's letters, such a link is left as written, untracked. (An escaped
   * {@code &amp;eacute;} is a literal {@code &eacute;} to the browser too, and is tracked as that.)
   */
  private static final java.util.regex.Pattern UNDECODED_REFERENCE = java.util.regex.Pattern.compile(
      "&(?!(?:amp|lt|gt|quot|apos|AMP|LT|GT|QUOT);)[A-Za-z][A-Za-z0-9]{1,31};");

  /**
   * No control characters and no unpaired surrogates: no browser follows such a link as written, and its Click event
   * could not be stored (PostgreSQL's jsonb refuses {@code \u0000} and lone surrogates).
   */
  private static boolean clean(String url) {
    for (int i = 0; i < url.length(); i++) {
      char c = url.charAt(i);
      if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
        return false;
      }
      if (Character.isHighSurrogate(c) && i + 1 < url.length() && Character.isLowSurrogate(url.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code name1:value1;name2:value2;}: names and values of 1 to 256 of {@code A-Za-z0-9_-}, surrounding whitespace
   * of an entry ignored. Entries that do not fit are skipped, not an error; a repeated name keeps its first value;
   * at most {@link #MAX_TAGS}.
   */
  static Map<String, String> linkTags(String value) {
    Map<String, String> tags = new LinkedHashMap<>();
    for (String entry : value.split(";")) {
      if (tags.size() == MAX_TAGS) {
        break;
      }
      String trimmed = entry.strip();
      int colon = trimmed.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = trimmed.substring(0, colon);
      String tagValue = trimmed.substring(colon + 1);
      if (validTagPart(name) && validTagPart(tagValue)) {
        tags.putIfAbsent(name, tagValue);
      }
    }
    return tags;
  }

  private static boolean validTagPart(String s) {
    if (s.isEmpty() || s.length() > MAX_TAG_PART) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(isAsciiLetter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  static boolean isAsciiLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  /** HTML's ASCII whitespace, which separates tag names and attributes. */
  static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
  }

  private static boolean endsName(char c) {
    return isSpace(c) || c == '/' || c == '>';
  }

  /**
   * A start or end tag: where its name is, the attributes a link is rewritten by, and the index just past its
   * {@code >}. Only an {@code <a>} start tag keeps attributes, and only its first {@code href} and its
   * {@code ses:no-track} and {@code ses:tags}: the others are scanned past without a trace, so a tag of millions of
   * attributes costs no more memory than one of none.
   */
  private static final class Tag {
    final String html;
    final int nameStart;
    final int nameEnd;
    final List<Attribute> attributes;
    /** An {@code <a>} with more than {@link HtmlTracking#MAX_LINK_ATTRIBUTES} of those it keeps: left as written. */
    final boolean crowded;
    final int end;

    private Tag(String html, int nameStart, int nameEnd, List<Attribute> attributes, boolean crowded, int end) {
      this.html = html;
      this.nameStart = nameStart;
      this.nameEnd = nameEnd;
      this.attributes = attributes;
      this.crowded = crowded;
      this.end = end;
    }

    boolean is(String name) {
      return named(html, nameStart, nameEnd, name);
    }

    /**
     * The tag whose name starts at nameStart, following the tokenizer's attribute states; null when the input ends
     * before its {@code >}.
     *
     * @param startTag false for an end tag, whose attributes mean nothing
     */
    static Tag parse(String html, int nameStart, boolean startTag) {
      int n = html.length();
      int i = nameStart;
      while (i < n && !endsName(html.charAt(i))) {
        i++;
      }
      int nameEnd = i;
      boolean anchor = startTag && named(html, nameStart, nameEnd, "a");
      List<Attribute> kept = anchor ? new ArrayList<>(4) : List.of();
      boolean hrefKept = false;
      boolean crowded = false;
      int previousEnd = nameEnd;
      while (true) {
        while (i < n && (isSpace(html.charAt(i)) || html.charAt(i) == '/')) {
          i++; // a '/' not before '>' is ignored like whitespace
        }
        if (i >= n) {
          return null;
        }
        if (html.charAt(i) == '>') {
          return new Tag(html, nameStart, nameEnd, crowded ? List.of() : kept, crowded, i + 1);
        }
        int attributeStart = i;
        i++; // the first character belongs to the name even when it is '='
        while (i < n && !endsName(html.charAt(i)) && html.charAt(i) != '=') {
          i++;
        }
        int attributeNameEnd = i;
        while (i < n && isSpace(html.charAt(i))) {
          i++;
        }
        int valueOuterStart = -1;
        int valueStart = -1;
        int valueEnd = -1;
        int end = attributeNameEnd;
        if (i < n && html.charAt(i) == '=') {
          i++;
          while (i < n && isSpace(html.charAt(i))) {
            i++;
          }
          if (i >= n) {
            return null;
          }
          char c = html.charAt(i);
          if (c == '"' || c == '\'') {
            int close = html.indexOf(c, i + 1);
            if (close < 0) {
              return null;
            }
            valueOuterStart = i;
            valueStart = i + 1;
            valueEnd = close;
            end = close + 1;
          } else {
            valueOuterStart = valueStart = i;
            while (i < n && !isSpace(html.charAt(i)) && html.charAt(i) != '>') {
              i++;
            }
            valueEnd = end = i;
          }
          i = end;
        }
        if (anchor && !crowded) {
          boolean href = !hrefKept && named(html, attributeStart, attributeNameEnd, "href");
          if (href || named(html, attributeStart, attributeNameEnd, "ses:no-track")
              || named(html, attributeStart, attributeNameEnd, "ses:tags")) {
            if (kept.size() == MAX_LINK_ATTRIBUTES) {
              crowded = true;
            } else {
              kept.add(new Attribute(html, previousEnd, attributeStart, attributeNameEnd, valueOuterStart, valueStart,
                  valueEnd, end));
              hrefKept |= href;
            }
          }
        }
        previousEnd = end;
      }
    }
  }

  /**
   * One attribute by offsets into the input. The value runs valueStart..valueEnd (both -1 when there is none);
   * valueOuterStart includes an opening quote and end is past a closing one.
   */
  private record Attribute(String html, int previousEnd, int nameStart, int nameEnd, int valueOuterStart,
      int valueStart, int valueEnd, int end) {

    boolean is(String name) {
      return named(html, nameStart, nameEnd, name);
    }
  }

  /** Whether html's start..end is {@code name}, ASCII case ignored. */
  private static boolean named(String html, int start, int end, String name) {
    return end - start == name.length() && html.regionMatches(true, start, name, 0, name.length());
  }

  /** Decodes HTML character references in attribute values, as far as links and tags need. */
  static final class CharacterReferences {
    private static final String[][] NAMED = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"},
        {"&AMP;", "&"}, {"&LT;", "<"}, {"&GT;", ">"}, {"&QUOT;", "\""},
    };

    private CharacterReferences() {}

    /**
     * Named references among {@code amp lt gt quot apos} (with their semicolon) and numeric ones (decimal or hex,
     * semicolon optional as HTML allows); others are left as they are. A numeric reference to nothing valid (0, a
     * surrogate, beyond U+10FFFF) becomes U+FFFD, as in browsers.
     */
    static String decode(String s) {
      int amp = s.indexOf('&');
      if (amp < 0) {
        return s;
      }
      StringBuilder out = new StringBuilder(s.length());
      int i = 0;
      while (amp >= 0) {
        out.append(s, i, amp);
        i = reference(s, amp, out);
        amp = s.indexOf('&', i);
      }
      return out.append(s, i, s.length()).toString();
    }

    /** Appends the reference at amp (or the '&' alone) and returns where the text goes on. */
    private static int reference(String s, int amp, StringBuilder out) {
      int n = s.length();
      if (amp + 1 < n && s.charAt(amp + 1) == '#') {
        boolean hex = amp + 2 < n && (s.charAt(amp + 2) == 'x' || s.charAt(amp + 2) == 'X');
        int i = amp + (hex ? 3 : 2);
        int digitsStart = i;
        long value = 0;
        while (i < n && isAsciiDigit(s.charAt(i), hex)) {
          value = Math.min(value * (hex ? 16 : 10) + Character.digit(s.charAt(i), hex ? 16 : 10), 0x110000);
          i++;
        }
        if (i == digitsStart) {
          out.append('&');
          return amp + 1;
        }
        if (i < n && s.charAt(i) == ';') {
          i++;
        }
        boolean valid = value > 0 && value <= 0x10FFFF && (value < 0xD800 || value > 0xDFFF);
        out.appendCodePoint(valid ? (int) value : 0xFFFD);
        return i;
      }
      for (String[] named : NAMED) {
        if (s.startsWith(named[0], amp)) {
          out.append(named[1]);
          return amp + named[0].length();
        }
      }
      out.append('&');
      return amp + 1;
    }

    private static boolean isAsciiDigit(char c, boolean hex) {
      return (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    }
  }
}
