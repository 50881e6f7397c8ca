package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.ConfigException;
import org.junit.jupiter.api.Test;

/** Relay URLs: what they give, and what an error about a bad one shows of it (never its password). */
class SmtpRouteTest {
  @Test
  void aRelayUrlGivesHostPortTlsAndCredentials() {
    SmtpRoute r = SmtpRoute.parse("smtps://user%40corp:p%40ss%231@relay.example.com");
    assertEquals("relay.example.com", r.host());
    assertEquals(465, r.port());
    assertTrue(r.implicitTls());
    assertEquals("user@corp", r.username());
    assertEquals("p@ss#1", r.password());
    assertEquals("smtps://relay.example.com:465", r.toString());
    // a + is itself in a URL's user information (SES SMTP passwords are base64): only %XX is decoded
    SmtpRoute ses = SmtpRoute.parse("smtp://AKIA+1:BA+b%2FcD+@email-smtp.us-east-1.amazonaws.com:587");
    assertEquals("AKIA+1", ses.username());
    assertEquals("BA+b/cD+", ses.password());
  }

  @Test
  void anErrorAboutABadUrlNeverShowsItsPassword() {
    for (String bad : new String[] {"smtp://user:p@ss#1@relay.example.com:587", "smtp://user:s3cr%t@relay:587",
        "smtp://user:s3cret word@relay:587", "http://user:s3cret@relay:587", "smtp://user:s3cret@:587",
        "smtp://user:s3cret@relay:70000", "smtp://user:s3cret@relay:0"}) {
      ConfigException e = assertThrows(ConfigException.class, () -> SmtpRoute.parse(bad), bad);
      assertFalse(e.getMessage().contains("ss#1") || e.getMessage().contains("s3cr"), e.getMessage());
      assertTrue(e.getMessage().contains("***@"), e.getMessage());
    }
  }
}
