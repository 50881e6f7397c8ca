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
}
