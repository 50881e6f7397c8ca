package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MailboxProvidersTest {
  @Test
  void theBigProvidersConsumerDomains() {
    assertEquals("Gmail", MailboxProviders.of("a@gmail.com"));
    assertEquals("Gmail", MailboxProviders.of("a@GoogleMail.com"));
    assertEquals("Yahoo", MailboxProviders.of("a@yahoo.com"));
    assertEquals("Yahoo", MailboxProviders.of("a@yahoo.co.uk"));
    assertEquals("Yahoo", MailboxProviders.of("a@ymail.com"));
    assertEquals("Outlook", MailboxProviders.of("a@hotmail.fr"));
    assertEquals("Outlook", MailboxProviders.of("a@live.com.au"));
    assertEquals("Outlook", MailboxProviders.of("a@outlook.com"));
    assertEquals("Outlook", MailboxProviders.of("a@msn.com"));
    assertEquals("iCloud", MailboxProviders.of("a@me.com"));
  }

  @Test
  void otherDomainsAreUnknown() {
    assertNull(MailboxProviders.of("a@yahoo.co.jp"), "Yahoo Japan is another company");
    assertNull(MailboxProviders.of("a@live.example.com"));
    assertNull(MailboxProviders.of("a@mail.gmail.com"));
    assertNull(MailboxProviders.of("a@example.org"));
  }

  @Test
  void domainsAndFeedbackLoops() {
    assertEquals("Outlook", MailboxProviders.ofDomain("HOTMAIL.co.uk"));
    assertNull(MailboxProviders.ofDomain("example.org"));
    // VDM's DELIVERY_COMPLAINT: the providers that send senders their readers' complaints
    assertTrue(MailboxProviders.hasFeedbackLoop("Yahoo"));
    assertTrue(MailboxProviders.hasFeedbackLoop("Outlook"));
    assertFalse(MailboxProviders.hasFeedbackLoop("Gmail"));
    assertFalse(MailboxProviders.hasFeedbackLoop(null));
  }
}
