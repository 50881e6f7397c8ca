package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What a Delivery's event tags of the connection it went over (SES's ses:outgoing-ip, ses:outgoing-tls-version). */
class OutgoingTagsTest {

  @Test
  void aPublicSourceAddressIsTaggedWithTheNegotiatedProtocol() {
    assertEquals(new AttemptResult.Outgoing("54.240.8.86", "TLSv1.3"), SmtpConnection.outgoing("54.240.8.86",
        "TLSv1.3"));
    assertEquals(new AttemptResult.Outgoing("2a05:d018:8000::25", null), SmtpConnection.outgoing("2a05:d018:8000::25",
        null));
  }

  /**
   * A private or loopback source (behind NAT, or to a relay on the machine) is not the address the recipient's server
   * saw, and is not shown to a tenant's webhook; a protocol the JDK names before a handshake is none.
   */
  @Test
  void privateAddressesAndUnnegotiatedProtocolsAreLeftOut() {
    for (String local : new String[] {"127.0.0.1", "10.0.3.7", "172.17.0.2", "192.168.1.20", "100.64.0.9", "::1",
        "fd00::25", "fe80::1", "mx.example.com", null}) {
      assertEquals(new AttemptResult.Outgoing(null, "TLSv1.2"), SmtpConnection.outgoing(local, "TLSv1.2"), local);
    }
    assertEquals(new AttemptResult.Outgoing("54.240.8.86", null), SmtpConnection.outgoing("54.240.8.86", "NONE"));
  }
}
