package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A throttled site's factor recovers with successes, but no faster than a step a second. */
class SiteStateTest {
  static final ThrottleRules.Throttle HALVE = new ThrottleRules.Throttle(Duration.ZERO, 0.5, "test", false);
  static final long T0 = 1_000_000;

  @Test
  void aBurstOfSuccessesDoesNotUndoAThrottle() {
    SiteState s = new SiteState("site", new Shaping.Limits(10, 100, 50, 0));
    s.throttle(HALVE, new SmtpResponse(421, "4.7.0", "slow down"), T0);
    for (int i = 0; i < 25; i++) {
      s.succeeded(T0);
    }
    assertTrue(s.factor() < 0.9, "25 successes at once brought the factor back to " + s.factor());
  }

  @Test
  void theFactorRecoversWithSecondsOfSuccesses() {
    SiteState s = new SiteState("site", new Shaping.Limits(10, 100, 50, 0));
    s.throttle(HALVE, new SmtpResponse(421, "4.7.0", "slow down"), T0);
    // 50 a second for ten seconds: a fifth of the way back, as one success a second would be
    for (int i = 1; i <= 500; i++) {
      s.succeeded(T0 + i * 20L);
    }
    assertEquals(0.7, s.factor(), 1e-9);
    // and slower successes each count a step, but no more than one
    s.succeeded(T0 + 60_000);
    assertEquals(0.72, s.factor(), 1e-9);
    for (int i = 1; i <= 20; i++) {
      s.succeeded(T0 + 60_000 + i * 1000L);
    }
    assertEquals(1.0, s.factor(), 1e-9);
  }

  @Test
  void theSharedStateIsTheSitesAndItsPausesAddUp() {
    SiteState s = new SiteState("site", new Shaping.Limits(10, 100, 50, 0));
    s.throttle(new ThrottleRules.Throttle(Duration.ofSeconds(60), 0.5, "test", false),
        new SmtpResponse(451, "4.7.28", "rate limited"), T0);
    // another node's successes recovered the shared factor: it is the site's
    s.shared(0.6, 0);
    assertEquals(0.6, s.factor(), 1e-9);
    assertEquals(T0 + 60_000, s.pausedUntil(), "the node's own pause holds");
    // another node's throttle: a lower factor and a longer pause
    s.shared(0.3, T0 + 120_000);
    assertEquals(0.3, s.factor(), 1e-9);
    assertEquals(T0 + 120_000, s.pausedUntil());
  }

  @Test
  void theSecondsOfSuccessesThatRecoveredTheFactorGoToTheSharedState() {
    SiteState s = new SiteState("site", new Shaping.Limits(10, 100, 50, 0));
    s.succeeded(T0);
    assertEquals(0, s.takeCredit(), "successes at the full rate recover nothing");
    s.throttle(HALVE, new SmtpResponse(421, "4.7.0", "slow down"), T0);
    s.succeeded(T0 + 5_000); // a second at most
    s.succeeded(T0 + 5_250);
    assertEquals(1250, s.takeCredit());
    assertEquals(0, s.takeCredit(), "taken once");
    s.returnCredit(1250); // not sent after all (Redis away): the next request takes it
    s.succeeded(T0 + 5_500);
    assertEquals(1500, s.takeCredit());
  }
}
