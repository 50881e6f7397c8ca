package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.dom.address.Mailbox;
import org.apache.james.mime4j.field.address.LenientAddressParser;
import org.junit.jupiter.api.Test;

/** Encoded words decoded as mime4j decodes them, in time linear in the value whatever it holds. */
class EncodedWordDecoderTest {
  @Test
  void decodesAsMime4jDoes() {
    for (String v : List.of(
        "plain text, no words",
        "=?utf-8?q?caf=C3=A9?=",
        "=?UTF-8?B?w6nDqQ==?=",
        "=?utf-8?q?a?= =?utf-8?q?b?=",           // white space between two words is dropped
        "=?utf-8?q?a?=\t \t=?utf-8?q?b?= c",
        "x =?utf-8?q?a?= y =?utf-8?q?b?=z",
        "=?iso-8859-1?q?Andr=E9?= Pirard <a@b.example>",
        "=?utf-8?q?with spaces inside?=",         // seen from careless senders: taken as mime4j takes it
        "=?no-such-charset?q?x?= and =?utf-8?q?y?=",
        "=?utf-8?x?unknown encoding?=",
        "=?utf-8?q?never closed",
        "=?=?=?",
        "a=?b",
        "=?utf-8*en?q?with_language?=",
        "=?utf-8?Q?Are_you_coming??=",           // a ? its sender did not encode
        "=?utf-8?q??= and =?utf-8?q?x?=",
        "=?utf-8?q?ab?= =?utf-8?q?d?=")) {
      assertEquals(DecoderUtil.decodeEncodedWords(v, DecodeMonitor.SILENT), EncodedWordDecoder.decode(v), v);
    }
    String plain = "nothing to decode";
    assertSame(plain, EncodedWordDecoder.decode(plain));
  }

  /**
   * Values of a few hundred kilobytes of {@code =?} that never close took mime4j seconds (quadratic: 4.4 s for 512 KB,
   * about 17 s for a megabyte); a Subject or From may be that long within a header section's limit.
   */
  @Test
  void aLongValueOfOpenWordsIsReadInLinearTime() {
    // open words, and words of charsets Java does not have (mime4j looked each up by an exception)
    String[] units = {"x=?ab?c?d ", "=?", "=?x?q?", "=?a?q?b?q?c?q?=?", "=?utf-8?q?", "=?x?q?a?= ", "=?x!?q?a?= "};
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      for (String unit : units) {
        // 600 KB each: about half a second here, against over 6 s each read the quadratic way
        String v = unit.repeat(600_000 / unit.length()) + "=?utf-8?q?end?=";
        assertEquals(true, EncodedWordDecoder.decode(v).endsWith("end"), unit);
        String parsed = EncodedWordDecoder.forAddressParsing("\"x\" " + v + " <a@example.org>");
        AddressList list = LenientAddressParser.DEFAULT.parseAddressList(parsed);
        assertEquals("example.org", ((Mailbox) list.get(list.size() - 1)).getDomain(), unit);
      }
    });
  }

  @Test
  void addressParsingKeepsWordsAndSpacesOutTheRest() {
    assertEquals("=?utf-8?q?J=C3=B6rg?= <j@example.org>",
        EncodedWordDecoder.forAddressParsing("=?utf-8?q?J=C3=B6rg?= <j@example.org>"));
    // an address's own few are left: a=?b@example.com is an address
    assertEquals("a=?b@example.org", EncodedWordDecoder.forAddressParsing("a=?b@example.org"));
    String many = "x=?y ".repeat(EncodedWordDecoder.MAX_OPEN + 1) + "<a@example.org>";
    assertEquals("x= ?y ".repeat(EncodedWordDecoder.MAX_OPEN + 1) + "<a@example.org>",
        EncodedWordDecoder.forAddressParsing(many));
    String name = ((Mailbox) LenientAddressParser.DEFAULT.parseAddressList(
        EncodedWordDecoder.forAddressParsing("=?utf-8?q?J=C3=B6rg?= <j@example.org>")).get(0)).getName();
    assertEquals("Jörg", name);
  }
}
