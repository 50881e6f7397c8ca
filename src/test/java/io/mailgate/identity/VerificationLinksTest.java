package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.TestNode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Verification link tokens: plain ones as before, custom ones naming their template, expiry and tampering. */
class VerificationLinksTest {
  static final SecretBox SECRETS = SecretBox.fromBase64(TestNode.MASTER_KEY);
  static final Instant NOW = Instant.parse("2026-11-29T12:00:00Z");

  static VerificationLinks at(Instant now) {
    return new VerificationLinks(SECRETS, Clock.fixed(now, ZoneOffset.UTC), Duration.ofHours(24));
  }

  @Test
  void plainTokensNameNoTemplate() {
    String token = at(NOW).token("acct", "a@example.org");
    assertEquals(Optional.of(new VerificationLinks.Claim("acct", "a@example.org", null)), at(NOW).check(token));
    assertTrue(at(NOW.plus(Duration.ofHours(25))).expired(token).isEmpty(), "a plain token is no custom one");
  }

  @Test
  void customTokensNameTheirTemplateAndExpire() {
    String token = at(NOW).token("acct", "a@example.org", "welcome");
    VerificationLinks.Claim claim = new VerificationLinks.Claim("acct", "a@example.org", "welcome");
    assertEquals(Optional.of(claim), at(NOW.plus(Duration.ofHours(23))).check(token));
    assertTrue(at(NOW.plus(Duration.ofHours(25))).check(token).isEmpty());
    // expired: still tied to its template, for its failure page, never as proof
    assertEquals(Optional.of(claim), at(NOW.plus(Duration.ofHours(25))).expired(token));
    assertTrue(at(NOW).expired(token).isEmpty(), "not expired yet");
    // changed or made up: nothing, not even a failure page (anyone could reach any account's)
    String tampered = token.substring(0, token.length() - 2) + (token.endsWith("AA") ? "BB" : "AA");
    assertTrue(at(NOW).check(tampered).isEmpty());
    assertTrue(at(NOW.plus(Duration.ofHours(25))).expired(tampered).isEmpty());
    String unsigned = java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString("acct\na@example.org\n0\nwelcome".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertTrue(at(NOW).expired(unsigned).isEmpty());
    assertTrue(at(NOW).expired(unsigned + ".x").isEmpty());
    assertTrue(at(NOW).expired("nonsense").isEmpty());
    assertTrue(at(NOW).expired("%%%.x").isEmpty());
  }
}
