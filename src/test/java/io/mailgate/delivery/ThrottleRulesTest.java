package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ThrottleRulesTest {
  private final ThrottleRules shipped = ThrottleRules.load(null);

  @Test
  void providersAskingToSlowDownPauseTheSite() {
    ThrottleRules.Throttle gmail = shipped.match(new SmtpResponse(421, "4.7.28",
        "Our system has detected an unusual rate of unsolicited mail originating from your IP address."));
    assertNotNull(gmail);
    assertEquals(Duration.ofSeconds(300), gmail.pause());
    assertEquals(0.5, gmail.rateFactor());
    assertNotNull(shipped.match(new SmtpResponse(451, "4.7.500", "Server busy. Please try again later")));
    assertEquals(Duration.ofSeconds(120), shipped.match(new SmtpResponse(450, "4.7.1", "Client host blocked")).pause());
    assertEquals(Duration.ofSeconds(60), shipped.match(new SmtpResponse(421, null, "closing")).pause());
    // a bare 421 is its host's (busy): a session it ends goes on to the next MX; one that asks us to slow down is
    // the site's
    assertTrue(shipped.match(new SmtpResponse(421, "4.3.2", "Service shutting down")).hostOnly());
    assertFalse(gmail.hostOnly());
    assertFalse(shipped.match(new SmtpResponse(421, "4.7.0", "Try again later, closing connection")).hostOnly());
  }

  @Test
  void aRuleMayNameItsScope() {
    List<ThrottleRules.Rule> rules = ThrottleRules.parse("60 0.5 code=421 scope=host /busy/\n30 1 code=451 scope=site\n",
        "ops.txt");
    assertTrue(rules.get(0).hostOnly());
    assertFalse(rules.get(1).hostOnly());
    // unsaid: a bare 421 is a host's (an operator's copy of the earlier shipped rules), anything else the site's
    List<ThrottleRules.Rule> unsaid = ThrottleRules.parse("60 0.7 code=421\n60 0.7 code=421 status=4.7.*\n", "old.txt");
    assertTrue(unsaid.get(0).hostOnly());
    assertFalse(unsaid.get(1).hostOnly());
    assertThrows(IllegalArgumentException.class, () -> ThrottleRules.parse("60 0.5 code=421 scope=mx\n", "ops.txt"));
  }

  /**
   * "Too many recipients" is a limit of a transaction or session (RFC 5321 4.5.3.1.10), which a new transaction
   * answers, not a rate; and a permanent refusal is no request to come back slower, whatever its text says.
   */
  @Test
  void tooManyRecipientsAndPermanentRefusalsAreNoThrottle() {
    assertNull(shipped.match(new SmtpResponse(452, "4.5.3", "Too many recipients")));
    assertNull(shipped.match(new SmtpResponse(452, null, "Error: too many recipients")));
    assertNull(shipped.match(new SmtpResponse(550, "5.1.1", "No such user, try later")));
    assertNull(shipped.match(new SmtpResponse(554, "5.0.0", "Service unavailable; rate limit policy")));
    assertNotNull(shipped.match(new SmtpResponse(450, "4.2.0", "Too many messages, slow down")));
  }

  @Test
  void greylistingDefersTheRecipientWithoutPausingTheSite() {
    // Postgrey, milter-greylist, sqlgrey and Exim: all would match "try again later" or status 4.7.* otherwise
    assertNull(shipped.match(new SmtpResponse(450, "4.2.0",
        "<bob@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html")));
    assertNull(shipped.match(new SmtpResponse(451, "4.7.1", "Greylisting in action, please come back in 00:05:00")));
    assertNull(shipped.match(new SmtpResponse(450, "4.7.1", "Greylisted for 5 minutes (2)")));
    assertNull(shipped.match(new SmtpResponse(451, "4.7.1", "Graylisted, please try again later")));
    assertNull(shipped.match(new SmtpResponse(451, "4.7.1", "Grey-listed: try again later")));
    // rspamd's greylisting module says only "Try again later"; a provider saying more (or another status) slows down
    assertNull(shipped.match(new SmtpResponse(451, "4.7.1", "Try again later")));
    assertNotNull(shipped.match(new SmtpResponse(451, "4.7.1", "Server busy, try again later")));
    assertNotNull(shipped.match(new SmtpResponse(421, "4.7.1", "Try again later")));
  }

  @Test
  void operatorRulesComeFirstAndMayExemptOrThrottle(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("rules.txt");
    Files.writeString(file, """
        # ours
        0 1 code=421 /maintenance/
        30 0.9 /greylisted by our upstream/
        """);
    ThrottleRules rules = ThrottleRules.load(file.toString());
    assertNull(rules.match(new SmtpResponse(421, "4.3.2", "maintenance window, back soon")));
    ThrottleRules.Throttle own = rules.match(new SmtpResponse(451, "4.7.1", "Greylisted by our upstream"));
    assertNotNull(own);
    assertEquals(Duration.ofSeconds(30), own.pause());
    assertEquals(file + ":3", own.rule());
    assertNotNull(rules.match(new SmtpResponse(421, "4.3.2", "too busy")), "the shipped 421 rule still holds");
  }

  @Test
  void malformedRulesAreRefusedWithTheirLine() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ThrottleRules.parse("60 0.5 code=421\n10 2 code=421\n", "ops.txt"));
    assertEquals("ops.txt:2: pause must be >= 0 and factor in (0, 1]", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ThrottleRules.parse("60 0.5 /unterminated\n", "x"));
    assertThrows(IllegalArgumentException.class, () -> ThrottleRules.parse("60 0.5 host=example\n", "x"));
    assertThrows(IllegalArgumentException.class, () -> ThrottleRules.parse("60 0.5\n", "x"));
  }
}
