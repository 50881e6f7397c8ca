package io.mailgate.api.sesv1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Query API's parameter reading and XML writing, on their own. */
class QueryUnitsTest {

  @Test
  void listsStructuresAndTheirMistakes() {
    QueryParams p = QueryParams.parse("Action=SendEmail&Destination.ToAddresses.member.1=a%40x.example"
        + "&Destination.ToAddresses.member.2=b%40x.example&Tags.member.1.Name=n&Tags.member.1.Value=v%3Bw"
        + "&TagsX.member.1=no&ReplyToAddresses=");
    assertEquals(List.of("a@x.example", "b@x.example"), p.struct("Destination").strings("ToAddresses"));
    assertEquals("v;w", p.structs("Tags").get(0).string("Value"), "';' is data");
    assertEquals(1, p.structs("Tags").size(), "TagsX is another list");
    assertEquals(List.of(), p.strings("ReplyToAddresses"), "given empty, as boto3 writes it");
    assertNull(p.strings("CcAddresses"));
    assertThrows(SesException.class, () -> QueryParams.parse("L.member.1=a&L.member.3=c").strings("L"));
    assertThrows(SesException.class, () -> QueryParams.parse("L.member.1=a&L.member.01=c").strings("L"));
    assertThrows(SesException.class, () -> QueryParams.parse("L.member.0=a").strings("L"));
    assertThrows(SesException.class, () -> QueryParams.parse("L.member.x=a").strings("L"));
    assertThrows(SesException.class, () -> QueryParams.parse("A=1&A=2"));
    SesException bad = assertThrows(SesException.class, () -> QueryParams.parse("A=%zz" + "x".repeat(10_000)));
    assertTrue(bad.getMessage().length() < 200, "the input is not echoed back: " + bad.getMessage().length());
  }

  /** application/x-www-form-urlencoded: '&' alone separates; '#' and '?' are data; bytes must be UTF-8. */
  @Test
  void formDecodingIsTheUrlStandardsNotAUrlsQueryString() {
    QueryParams p = QueryParams.parse("Body=Ticket #42 closed&B=z&%3FQ=%C3%A9+%E2%82%AC&Empty&&Eq=a=b");
    assertEquals("Ticket #42 closed", p.string("Body"), "a '#' in a form body is not a fragment");
    assertEquals("z", p.string("B"));
    assertEquals("\u00e9 \u20ac", p.string("?Q"));
    assertEquals("", p.string("Empty"));
    assertEquals("a=b", p.string("Eq"), "the first '=' ends the name");
    assertEquals("1", QueryParams.parse("?x=1").string("?x"), "a leading '?' is data too");
    for (String malformed : List.of("A=%FF", "A=%C3", "A=%ED%A0%80", "A=%2", "A=%G1", "%zz=1")) {
      SesException e = assertThrows(SesException.class, () -> QueryParams.parse(malformed), malformed);
      assertTrue(e.getMessage().contains("not valid"), e.getMessage());
    }
  }

  /** Raw characters past ASCII are taken as their UTF-8, beside escapes; a raw byte that is not UTF-8 is refused. */
  @Test
  void rawUtf8IsReadAndRawBytesThatAreNotAreRefused() {
    QueryParams p = QueryParams.parse("S=caf\u00e9+%C3%A9+\ud83d\ude00+%F0%9F%98%80&T=\u20ac%2B");
    assertEquals("caf\u00e9 \u00e9 \ud83d\ude00 \ud83d\ude00", p.string("S"));
    assertEquals("\u20ac+", p.string("T"));
    io.vertx.core.buffer.Buffer good = io.vertx.core.buffer.Buffer.buffer("Subject=caf\u00e9");
    assertEquals("Subject=caf\u00e9", QueryApi.formText(good));
    io.vertx.core.buffer.Buffer bad = io.vertx.core.buffer.Buffer.buffer("Subject=caf").appendByte((byte) 0xE9);
    SesException e = assertThrows(SesException.class, () -> QueryApi.formText(bad));
    assertTrue(e.getMessage().contains("not valid"), e.getMessage());
  }

  /**
   * A large escaped value (a raw message's base64, with its '+' and '/' escaped) is decoded into about its own size:
   * a 40 MB message's 57 MB value used to take a three-times byte buffer and a decoder's char buffer besides.
   */
  @Test
  void aLargeEscapedValueTakesAboutItsOwnSize() {
    StringBuilder b = new StringBuilder("Data=");
    while (b.length() < 4_000_000) {
      b.append("QUJDRA%2B%2FZm9v");
    }
    String form = b.toString();
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    QueryParams.parse("A=%2B1"); // classes loaded and the path warmed, outside the count
    long before = threads.getCurrentThreadAllocatedBytes();
    String data = QueryParams.parse(form).string("Data");
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(data.startsWith("QUJDRA+/Zm9v") && data.length() < form.length(), data.substring(0, 20));
    // the decoded bytes and the string made of them (one byte a character): about twice the value
    assertTrue(allocated < 3L * form.length(), allocated + " bytes allocated for a " + form.length() + " character value");
  }

  /**
   * A pair without '=' is a name with an empty value, whatever pairs with '=' follow it: the '=' of a later pair is
   * not this pair's (its search stops at its '&').
   */
  @Test
  void aPairWithoutEqualsEndsAtItsAmpersand() {
    QueryParams p = QueryParams.parse("A&B&C=1&D&E=x=y&F%3D&G=");
    assertEquals("", p.string("A"));
    assertEquals("", p.string("B"));
    assertEquals("1", p.string("C"));
    assertEquals("", p.string("D"), "not 'D&E' named up to the next '='");
    assertNull(p.string("D&E"));
    assertEquals("x=y", p.string("E"));
    assertEquals("", p.string("F="), "an escaped '=' is part of the name");
    assertEquals("", p.string("G"));
    assertEquals("", QueryParams.parse("Last").string("Last"), "the last pair, without '&' after it");
    assertEquals("v", QueryParams.parse("=v").string(""), "an empty name");
    StringBuilder many = new StringBuilder();
    for (int i = 0; i < 1000; i++) {
      many.append('N').append(i).append('&');
    }
    many.append("Tail=").append("t".repeat(10_000));
    QueryParams tail = QueryParams.parse(many.toString());
    assertEquals("", tail.string("N0"));
    assertEquals("", tail.string("N999"));
    assertEquals(10_000, tail.string("Tail").length());
  }

  @Test
  void xmlTextAndNumbers() {
    StringBuilder b = new StringBuilder();
    QueryXml.escape(b, "a<b>&c\r\nd\u0001e\uD800");
    assertEquals("a&lt;b&gt;&amp;c&#13;\nd\uFFFDe\uFFFD", b.toString());
    assertEquals("10000000", QueryApi.decimal(1.0E7), "no exponent");
    assertEquals("200.0", QueryApi.decimal(200.0));
    assertEquals("0.5", QueryApi.decimal(0.5));
  }
}
