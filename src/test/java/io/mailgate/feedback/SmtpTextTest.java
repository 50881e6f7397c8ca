package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Reply codes in a diagnostic's text. */
class SmtpTextTest {
  @Test
  void aSuccessCodeCountsOnlyWhereTheTextStarts() {
    assertEquals(250, SmtpText.replyCode("250 2.6.0 OK"));
    assertEquals(250, SmtpText.replyCode(" \t250 2.6.0 OK"));
    assertNull(SmtpText.replyCode("queued as 250 of 250"));
    assertEquals(550, SmtpText.replyCode("x 250 550 5.1.1 unknown"));
    assertEquals(450, SmtpText.replyCode("250 ok, then 450 try later"));
  }

  /**
   * A Diagnostic-Code of megabytes of 2xx-looking numbers not at its start: each was checked by copying the text before
   * it (quadratic: minutes for a few megabytes, on the feedback event loop when classified there).
   */
  @Test
  void manyTwoHundredsAreReadInLinearTime() {
    String text = "x" + " 250".repeat(500_000);
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertNull(SmtpText.replyCode(text)));
  }
}
