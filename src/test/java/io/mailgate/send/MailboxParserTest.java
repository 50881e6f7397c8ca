package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesError;
import io.mailgate.SesException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MailboxParserTest {

  @Test
  void plainAddress() {
    Mailbox m = MailboxParser.parse("  user.name+tag@Example.COM ");
    assertNull(m.displayName());
    assertEquals("user.name+tag", m.localPart());
    assertEquals("Example.COM", m.domain());
    assertEquals("user.name+tag@example.com", m.envelopeKey());
  }

  @Test
  void displayNames() {
    assertEquals("Jane Doe", MailboxParser.parse("Jane Doe <jane@example.com>").displayName());
    assertEquals("Doe, \"Jane\"", MailboxParser.parse("\"Doe, \\\"Jane\\\"\" <jane@example.com>").displayName());
    assertEquals("José", MailboxParser.parse("José <jose@example.com>").displayName());
    assertEquals("José", MailboxParser.parse("=?UTF-8?B?Sm9zw6k=?= <jose@example.com>").displayName());
    assertEquals("jane@example.com", MailboxParser.parse("<jane@example.com>").address());
  }

  @Test
  void unicodeDomainBecomesPunycode() {
    assertEquals("xn--bcher-kva.example", MailboxParser.parse("a@bücher.example").domain());
    assertEquals("xn--bcher-kva.example", MailboxParser.parse("a@Bücher.example").domain());
    assertEquals("xn--bcher-kva.de", MailboxParser.parse("a@Bücher.DE").domain().toLowerCase(java.util.Locale.ROOT));
    assertEquals("xn--mnchen-3ya.de", MailboxParser.parse("a@MÜNCHEN.DE").domain().toLowerCase(java.util.Locale.ROOT));
    assertEquals("xn--r8jz45g.jp", MailboxParser.parse("a@例え。jp").domain());
    // where IDNA2003 and IDNA2008 part ways (faß.de is xn--fa-hia.de, not fass.de), the caller gives Punycode
    for (String domain : new String[] {"faß.de", "βόλος.com", "a\u200db.example"}) {
      SesException e = assertThrows(SesException.class, () -> MailboxParser.parse("user@" + domain), domain);
      assertTrue(e.getMessage().contains("Punycode"), e.getMessage());
    }
    assertEquals("xn--fa-hia.de", MailboxParser.parse("user@xn--fa-hia.de").domain());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "no-at-sign", "@example.com", "user@", "user@localhost", "us er@example.com", "user@exa mple.com",
      "user..dots@example.com", ".user@example.com", "user.@example.com", "user@-bad.example.com",
      "user@example..com", "jösé@example.com", "Name <user@example.com", "Bad\"Name <a@example.com>",
      "user@example.com\r\nBcc: victim@example.org", "Name\n <user@example.com>", "user@exa\u0000mple.com"})
  void rejected(String input) {
    SesException e = assertThrows(SesException.class, () -> MailboxParser.parse(input));
    assertEquals(SesError.BAD_REQUEST, e.error());
  }

  /** The bare addr-spec of an identity name, an SMTP path or a suppression entry: no control character either. */
  @ParameterizedTest
  @ValueSource(strings = {"\"a\r\nb\"@example.com", "\"a\u0000b\"@example.com", "\"a\tb\"@example.com"})
  void addrSpecWithAControlCharacterIsRefused(String addrSpec) {
    SesException e = assertThrows(SesException.class, () -> MailboxParser.parseAddrSpec(addrSpec));
    assertTrue(e.getMessage().contains("control character"), e.getMessage());
  }

  @Test
  void lengthLimits() {
    String local = "a".repeat(65);
    assertThrows(SesException.class, () -> MailboxParser.parse(local + "@example.com"));
    String label = "a".repeat(64);
    assertThrows(SesException.class, () -> MailboxParser.parse("a@" + label + ".com"));
    assertThrows(SesException.class, () -> MailboxParser.parse("x".repeat(2000) + " <a@example.com>"));
    assertEquals(64, MailboxParser.parse("a".repeat(64) + "@example.com").localPart().length());
    // each part within its limit, the whole over RFC 5321's 254
    String domain = String.join(".", "b".repeat(62), "c".repeat(62), "d".repeat(62), "e".repeat(62));
    SesException e = assertThrows(SesException.class, () -> MailboxParser.parse("a".repeat(64) + "@" + domain));
    assertTrue(e.getMessage().contains("longer than 254"), e.getMessage());
    assertEquals(254, MailboxParser.parse("a".repeat(2) + "@" + domain).address().length());
  }

  @Test
  void injectionMessageNamesTheProblem() {
    SesException e = assertThrows(SesException.class, () -> MailboxParser.parse("a@example.com\r\nX: y"));
    assertTrue(e.getMessage().contains("control character"), e.getMessage());
    assertTrue(e.getMessage().contains("\\r\\n"), "the message shows the input safely: " + e.getMessage());
  }

  /** {@code "abc\"@example.com}: the backslash takes the closing quote, so the quoted string never ends. */
  @Test
  void anEscapedClosingQuoteIsRefused() {
    assertThrows(io.mailgate.SesException.class, () -> MailboxParser.parse("\"abc\\\"@example.com"));
    assertEquals("\"a\\\"b\"@example.com", MailboxParser.parse("\"a\\\"b\"@example.com").address());
  }
}
