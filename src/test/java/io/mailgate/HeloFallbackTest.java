package io.mailgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.mailgate.config.HeloName;
import org.junit.jupiter.api.Test;

/** The machine's name as EHLO's fallback when delivery.heloName is not set: an address goes as an address literal. */
class HeloFallbackTest {
  @Test
  void anAddressGoesAsAnAddressLiteralANameAsItIs() {
    assertEquals("[192.0.2.1]", MailgateNode.heloLiteral("192.0.2.1"));
    String v6 = MailgateNode.heloLiteral("2001:db8::1");
    assertEquals("[IPv6:2001:db8:0:0:0:0:0:1]", v6);
    for (String helo : new String[] {"[192.0.2.1]", v6, MailgateNode.heloLiteral("mx1.example.com")}) {
      assertNull(HeloName.problem(helo), helo);
    }
    assertEquals("mx1.example.com", MailgateNode.heloLiteral("mx1.example.com"));
    assertEquals("[192.0.2.1]", MailgateNode.heloLiteral("[192.0.2.1]"));
  }
}
