package io.mailgate.lists;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class UnsubscribeTokensTest {
  static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  final UnsubscribeTokens tokens = new UnsubscribeTokens(KEY);

  @Test
  void aTokenReadsBackAsWritten() {
    UnsubscribeTokens.Token t = new UnsubscribeTokens.Token("123456789012", "news", "Ann.Lee@example.org", "weekly",
        "m-1");
    assertEquals(Optional.of(t), tokens.read(tokens.token(t)));
    UnsubscribeTokens.Token whole = new UnsubscribeTokens.Token("123456789012", "news", "a@example.org", null, "m-2");
    assertEquals(Optional.of(whole), tokens.read(tokens.token(whole)), "no topic: the whole list");
    assertTrue(tokens.token(t).matches("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+"), "safe in a URL path as it is");
  }

  @Test
  void anythingAlteredOrForeignIsRefused() {
    String good = tokens.token(new UnsubscribeTokens.Token("123456789012", "news", "a@example.org", "weekly", "m-3"));
    int dot = good.indexOf('.');
    String otherAddress = Base64.getUrlEncoder().withoutPadding().encodeToString(
        String.join("\0", "1", "123456789012", "news", "b@example.org", "weekly").getBytes(StandardCharsets.UTF_8))
        + good.substring(dot);
    String otherKey = new UnsubscribeTokens("fedcba9876543210fedcba9876543210".getBytes(StandardCharsets.US_ASCII))
        .token(new UnsubscribeTokens.Token("123456789012", "news", "a@example.org", "weekly", "m-3"));
    for (String bad : new String[] {otherAddress, otherKey, good + "A", good.substring(1), good.replace(".", ""),
        good + "=", "", ".", "x".repeat(5000), null}) {
      assertEquals(Optional.empty(), tokens.read(bad), String.valueOf(bad));
    }
  }
}
