package io.mailgate.api.sesv1;

import io.mailgate.SesError;
import java.util.Collection;

/**
 * Writes SES v1 (AWS Query protocol) XML: an action's {@code <XResponse>} with its {@code <XResult>} and
 * {@code <ResponseMetadata>}, or an {@code <ErrorResponse>}, as SES's endpoint answers them.
 */
public final class QueryXml {
  static final String NAMESPACE = "http://ses.amazonaws.com/doc/2010-12-01/";

  private final StringBuilder b = new StringBuilder(256);

  /** {@code <name>value</name>}; nothing when the value is null. */
  public QueryXml text(String name, String value) {
    if (value != null) {
      b.append('<').append(name).append('>');
      escape(b, value);
      b.append("</").append(name).append('>');
    }
    return this;
  }

  public QueryXml start(String name) {
    b.append('<').append(name).append('>');
    return this;
  }

  public QueryXml end(String name) {
    b.append("</").append(name).append('>');
    return this;
  }

  /** A list of strings: {@code <name><member>a</member>...</name>}. */
  public QueryXml list(String name, Collection<String> values) {
    start(name);
    for (String v : values) {
      text("member", v);
    }
    return end(name);
  }

  /** The characters written so far. */
  int length() {
    return b.length();
  }

  /** The whole response of {@code action}; {@code result} null for the few actions that have no result element. */
  static String response(String action, QueryXml result, String requestId) {
    StringBuilder out = new StringBuilder(160 + (result == null ? 0 : result.b.length()));
    out.append("<").append(action).append("Response xmlns=\"").append(NAMESPACE).append("\">");
    if (result != null) {
      out.append('<').append(action).append("Result>").append(result.b).append("</").append(action).append("Result>");
    }
    out.append("<ResponseMetadata><RequestId>").append(requestId).append("</RequestId></ResponseMetadata></")
        .append(action).append("Response>");
    return out.toString();
  }

  /** SES's error document: {@code Sender} for the caller's errors, {@code Receiver} for ours. */
  static String error(SesError error, String message, String requestId) {
    StringBuilder out = new StringBuilder(256);
    out.append("<ErrorResponse xmlns=\"").append(NAMESPACE).append("\"><Error><Type>")
        .append(error.status >= 500 ? "Receiver" : "Sender").append("</Type><Code>").append(error.v1Code)
        .append("</Code><Message>");
    escape(out, message == null ? "" : message);
    out.append("</Message></Error><RequestId>").append(requestId).append("</RequestId></ErrorResponse>");
    return out.toString();
  }

  /**
   * Escapes text content. A CR is written as a reference (a parser would otherwise turn CRLF into LF); characters XML
   * 1.0 cannot carry at all (other C0 controls, lone surrogates, U+FFFE/U+FFFF) become U+FFFD. The S3 API's XML is
   * escaped the same way.
   */
  public static void escape(StringBuilder out, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '\r' -> out.append("&#13;");
        case '\t', '\n' -> out.append(c);
        default -> {
          if (c < 0x20 || c == 0xFFFE || c == 0xFFFF) {
            out.append('\uFFFD');
          } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
            out.append(c).append(s.charAt(++i));
          } else if (Character.isSurrogate(c)) {
            out.append('\uFFFD');
          } else {
            out.append(c);
          }
        }
      }
    }
  }
}
