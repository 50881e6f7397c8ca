package io.mailgate.api.sigv4;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Parameters read as SigV4 signs them, so a handler acts on the query the signature covers. */
class SignedQueryTest {
  @Test
  void aPlusIsAPlusAndEscapesAreDecoded() {
    Map<String, String> q = SignedQuery.parse("list-type=2&prefix=a+b%2Fc%20d&start-after&x=%E2%82%AC");
    assertEquals(List.of("list-type", "prefix", "start-after", "x"), List.copyOf(q.keySet()));
    assertEquals("a+b/c d", q.get("prefix"));
    assertEquals("", q.get("start-after"));
    assertEquals("\u20ac", q.get("x"));
    assertEquals(Map.of(), SignedQuery.parse(null));
  }

  /** Both values are signed, sorted: which one a handler would take is not something the client signed. */
  @Test
  void aNameGivenTwiceIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> SignedQuery.parse("prefix=x&prefix=y"));
    assertThrows(IllegalArgumentException.class, () -> SignedQuery.parse("prefix=x&pre%66ix=y"));
  }
}
