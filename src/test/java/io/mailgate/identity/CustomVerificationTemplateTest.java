package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mailgate.SesException;
import org.junit.jupiter.api.Test;

class CustomVerificationTemplateTest {

  private static CustomVerificationTemplate withUrls(String success, String failure) {
    return CustomVerificationTemplate.checked("t", "owner@example.com", "Confirm", "<p>Hi</p>", success, failure);
  }

  @Test
  void redirectionUrlsAreKeptInTheAsciiFormALocationHeaderCanCarry() {
    CustomVerificationTemplate t = withUrls("https://shop.example/bestätigt?n=ü", "https://shop.example/fehler");
    assertEquals("https://shop.example/best%C3%A4tigt?n=%C3%BC", t.successUrl());
    assertEquals("https://shop.example/fehler", t.failureUrl());
  }

  @Test
  void onlyAbsoluteHttpUrlsWithoutControlCharacters() {
    assertThrows(SesException.class, () -> withUrls("/relative", "https://shop.example/x"));
    assertThrows(SesException.class, () -> withUrls("javascript:alert(1)", "https://shop.example/x"));
    assertThrows(SesException.class, () -> withUrls("https://shop.example/a\r\nSet-Cookie: x=1", "https://a.example"));
  }
}
