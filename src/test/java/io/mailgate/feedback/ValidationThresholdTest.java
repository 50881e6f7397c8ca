package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.feedback.AddressValidation.Verdict;
import org.junit.jupiter.api.Test;

class ValidationThresholdTest {
  @Test
  void whatEachThresholdLetsThrough() {
    for (String t : new String[] {"MEDIUM", "MANAGED", null}) {
      ValidationThreshold v = new ValidationThreshold(true, t);
      assertTrue(v.suppresses(Verdict.LOW), String.valueOf(t));
      assertFalse(v.suppresses(Verdict.MEDIUM), String.valueOf(t));
      assertFalse(v.suppresses(Verdict.HIGH), String.valueOf(t));
    }
    ValidationThreshold high = new ValidationThreshold(true, "HIGH");
    assertTrue(high.suppresses(Verdict.LOW));
    assertTrue(high.suppresses(Verdict.MEDIUM));
    assertFalse(high.suppresses(Verdict.HIGH));
    // disabled holds nothing back, whatever its threshold
    assertFalse(new ValidationThreshold(false, "HIGH").suppresses(Verdict.LOW));
  }

  @Test
  void theSetsOverTheAccountsAndStoredValues() {
    ValidationThreshold set = new ValidationThreshold(false, null);
    ValidationThreshold account = new ValidationThreshold(true, "HIGH");
    assertEquals(set, ValidationThreshold.effective(set, account));
    assertEquals(account, ValidationThreshold.effective(null, account));
    assertNull(ValidationThreshold.effective(null, null));
    assertNull(ValidationThreshold.of(null, "HIGH"), "never set");
    assertEquals(new ValidationThreshold(true, null), ValidationThreshold.of(true, "STRICTEST"),
        "a threshold this version does not know reads as none given");
    assertThrows(IllegalArgumentException.class, () -> new ValidationThreshold(true, "LOW"));
  }
}
