package io.mailgate.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The sender addresses a send verifies besides its From address ({@link SendService.OtherSenders}): kept by address,
 * not by scanning those before, with the semantics of the scan it replaced.
 */
class OtherSendersTest {

  @Test
  void eachAddressOnceWhateverItsCaseInTheOrderGivenWithoutTheFromAddress() {
    SendService.OtherSenders senders = new SendService.OtherSenders(MailboxParser.parse("Shop <Orders@Shop.example>"));
    senders.add(MailboxParser.parse("orders@shop.EXAMPLE")); // the From address in another case
    senders.add(MailboxParser.parse("First <b@x.example>"));
    senders.add(MailboxParser.parse("a@x.example"));
    senders.add(MailboxParser.parse("Again <B@X.example>")); // b@x.example again: the first mailbox is kept
    senders.add(MailboxParser.parse("a@x.example"));
    senders.add(MailboxParser.parse("c@x.example"));
    List<Mailbox> list = senders.list();
    assertEquals(List.of("b@x.example", "a@x.example", "c@x.example"), list.stream().map(Mailbox::address).toList());
    assertEquals("First", list.get(0).displayName());
    assertTrue(new SendService.OtherSenders(MailboxParser.parse("a@x.example")).list().isEmpty());
  }

  @Test
  void manyAddressesAreEachKeptOnce() {
    SendService.OtherSenders senders = new SendService.OtherSenders(MailboxParser.parse("from@x.example"));
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < 20_000; i++) {
        senders.add(new Mailbox(null, (round == 0 ? "s" : "S") + i, "x.example"));
      }
    }
    List<Mailbox> list = senders.list();
    assertEquals(20_000, list.size());
    assertEquals("s0@x.example", list.get(0).address());
    assertEquals("s19999@x.example", list.get(19_999).address());
  }
}
