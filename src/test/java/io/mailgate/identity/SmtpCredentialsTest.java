package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SmtpCredentialsTest {

  /** Expected values computed with an independent implementation (Python hmac) of SES's version 4 derivation. */
  @Test
  void derivesTheSesSmtpPassword() {
    assertEquals("BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9",
        SmtpCredentials.password("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"));
    assertEquals("BCftdp9MOO3m+sPebggZAm8GSl5P1OHJTAG4vMw321zO",
        SmtpCredentials.password("test/secret/key/000000000000000000000000", "eu-west-1"));
  }

  @Test
  void matchesOnlyThePasswordOfThatSecretAndRegion() {
    String secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    assertTrue(SmtpCredentials.matches("BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9", secret, "us-east-1"));
    assertFalse(SmtpCredentials.matches("BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9", secret, "eu-west-1"));
    assertFalse(SmtpCredentials.matches(secret, secret, "us-east-1"), "the secret itself is not the password");
    assertFalse(SmtpCredentials.matches(null, secret, "us-east-1"));
    assertFalse(SmtpCredentials.matches("", secret, "us-east-1"));
  }
}
