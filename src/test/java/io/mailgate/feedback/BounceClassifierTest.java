package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BounceClassifierTest {

  private final BounceClassifier classifier = BounceClassifier.defaults();

  private void assertClass(String expected, Classification c) {
    assertEquals(expected, c.type().sesName() + "/" + c.subType().sesName() + " " + c.reason(), c.rule());
  }

  @Test
  void permanentNoEmailForUnknownUserAtRcpt() {
    assertClass("Permanent/NoEmail userunknown", classifier.classify(550, "5.1.1",
        "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in virtual mailbox table"));
  }

  /** RFC 5321's generic 550 text with a policy status is not "no such mailbox"; with X.1.1 it still is. */
  @Test
  void theGenericMailboxUnavailableTextFollowsItsStatus() {
    assertClass("Transient/General policyviolation", classifier.classify(550, "5.7.1",
        "550 5.7.1 Requested action not taken: mailbox unavailable", "DATA"));
    assertClass("Transient/General policyviolation", classifier.classify(550, "5.7.1",
        "550 5.7.1 Requested action not taken: mailbox unavailable", "RCPT"));
    assertClass("Permanent/NoEmail userunknown", classifier.classify(550, "5.1.1",
        "550 5.1.1 Requested action not taken: mailbox unavailable", "RCPT"));
    // KDDI's filter refusal, as the delivery engine's reply and as a DSN's diagnostic both give it
    assertClass("Transient/ContentRejected filtered", classifier.classify(550, null, "550 : User unknown", "RCPT"));
  }

  @Test
  void permanentGeneralForMissingDomain() {
    assertClass("Permanent/General hostunknown", classifier.classify(null, null,
        "<a@nowhere.example>: Host or domain name not found. Name service error for name=nowhere.example type=A: "
            + "Host not found"));
  }

  @Test
  void permanentSuppressedAndOnAccountSuppressionList() {
    assertClass("Permanent/Suppressed suppressed", classifier.classify(550, "5.1.1",
        "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an "
            + "invalid address."));
    assertClass("Permanent/OnAccountSuppressionList onaccountsuppressionlist", classifier.classify(null, null,
        "Amazon SES did not send the message to this address because it is on the suppression list for your account."));
  }

  @Test
  void transientSubTypes() {
    assertClass("Transient/MailboxFull mailboxfull", classifier.classify(552, "5.2.2", "552 5.2.2 Mailbox full"));
    assertClass("Transient/MessageTooLarge mesgtoobig",
        classifier.classify(552, "5.3.4", "552 5.3.4 Message size exceeds fixed limit"));
    assertClass("Transient/ContentRejected spamdetected",
        classifier.classify(550, "5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering."));
    assertClass("Transient/AttachmentRejected attachmentrejected",
        classifier.classify(552, "5.7.0", "552 5.7.0 This message was blocked because its content presents a "
            + "potential security issue: attachment type not allowed"));
    assertClass("Transient/AttachmentRejected virusdetected",
        classifier.classify(554, "5.7.1", "554 5.7.1 Virus found in message"));
    assertClass("Transient/General blocked", classifier.classify(554, "5.7.1",
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"));
  }

  @Test
  void slowDownRepliesAreRateLimited() {
    assertClass("Transient/General ratelimited",
        classifier.classify(421, "4.7.0", "421 4.7.0 Try again later, closing connection."));
    assertClass("Transient/General ratelimited",
        classifier.classify(450, "4.7.28", "450 4.7.28 Our system has detected an unusual rate of unsolicited mail"
            + " originating from your IP address; rate limited"));
  }

  @Test
  void refusalOfMailFromIsAboutTheSenderUnlessTheTextSaysMore() {
    assertClass("Transient/General rejected", classifier.classify(553, "5.1.8", "553 5.1.8 Domain of sender address does not exist", "MAIL"));
    assertClass("Transient/General rejected", classifier.classify(550, null, "550 Not accepted", "MAIL"));
    assertClass("Transient/General ratelimited",
        classifier.classify(450, "4.7.1", "450 4.7.1 Too many messages from your IP, slow down", "MAIL"));
  }

  @Test
  void undeterminedWhenNothingIsKnown() {
    assertClass("Undetermined/Undetermined undetermined", classifier.classify(null, null, null));
    assertClass("Undetermined/Undetermined undetermined", classifier.classify(550, null, "550 Requested action aborted"));
  }

  @Test
  void worksFromARawReplyLineAlone() {
    assertClass("Permanent/NoEmail userunknown",
        classifier.classify(null, null, "550 5.1.1 <x@y.example>: Recipient address rejected: User unknown"));
    assertClass("Permanent/NoEmail userunknown", classifier.classify(null, "5.1.1", null));
    assertClass("Transient/MailboxFull mailboxfull", classifier.classify(452, "4.2.2", null));
  }

  @Test
  void transientAnswerIsNeverPermanent() {
    Classification c = classifier.classify(450, "4.1.1",
        "450 4.1.1 <a@b.example>: Recipient address rejected: User unknown in local recipient table");
    assertEquals(BounceType.TRANSIENT, c.type());
    assertEquals("userunknown", c.reason());
  }

  @Test
  void noFourHundredAnswerIsEverPermanent() {
    for (String text : new String[] {"User unknown", "no such user", "Host or domain name not found", "user has moved",
        "null MX: domain does not accept mail", "mailbox unavailable", "550 5.1.1 user unknown", "Unrouteable address"}) {
      for (String status : new String[] {"4.1.1", "4.0.0", null}) {
        Classification c = classifier.classify(450, status, text);
        assertTrue(c.type() != BounceType.PERMANENT, text + " / " + status + " -> " + c);
      }
    }
  }

  @Test
  void unknownUserAfterDataIsTheRecipientsFilter() {
    assertClass("Transient/ContentRejected filtered",
        classifier.classify(550, null, "550 Unknown user nobody@carrier.example", "DATA"));
    assertClass("Permanent/NoEmail userunknown",
        classifier.classify(550, null, "550 Unknown user nobody@carrier.example", "RCPT"));
    assertClass("Transient/ContentRejected filtered", classifier.classify(null, null,
        "host mx.carrier.example[198.51.100.1] said: 550 Unknown user (in reply to end of DATA command)"));
  }

  @Test
  void docomoUnknownUserIsOnlyTheAddressAtRcpt() {
    String reply = "550 Unknown user hanako@docomo.ne.jp";
    assertClass("Transient/ContentRejected filtered", classifier.classify(550, null, reply));
    assertClass("Transient/ContentRejected filtered", classifier.classify(550, null, reply, "DATA"));
    assertClass("Permanent/NoEmail userunknown", classifier.classify(550, null, reply, "RCPT"));
    assertClass("Permanent/NoEmail userunknown", classifier.classify(550, null, "550 Unknown user hanako@example.jp"));
  }

  @Test
  void localDeliveryProgramThatCannotWriteTheMailboxIsNotAnUnknownUser() {
    assertClass("Transient/General mailererror", classifier.classify(null, "5.1.1",
        "procmail: Couldn't create \"/var/spool/mail/ann\" id: ann: No such user"));
    assertClass("Permanent/NoEmail userunknown", classifier.classify(null, "5.1.1", "User unknown"));
  }

  @Test
  void successIsNotAFailure() {
    assertClass("Undetermined/Undetermined delivered", classifier.classify(250, "2.6.0", "250 2.6.0 Message received"));
    assertClass("Undetermined/Undetermined delivered", classifier.classify(null, null, "250 OK id=1sXyZ"));
  }

  @Test
  void rfc822AddressTypeIsNotAContentError() {
    assertClass("Transient/General expired", classifier.classify(null, "4.4.7",
        "Final-Recipient: RFC822; kim@example.org Action: failed Status: 4.4.7"));
    assertClass("Transient/ContentRejected contenterror",
        classifier.classify(554, null, "554 Message does not conform to RFC822"));
  }

  @Test
  void textBeatsAMisleadingCode() {
    assertClass("Transient/General blocked",
        classifier.classify(550, "5.1.1", "550 5.1.1 Mail from 192.0.2.1 refused, listed on bl.spamcop.net"));
    assertClass("Permanent/NoEmail userunknown",
        classifier.classify(554, "5.7.1", "554 5.7.1 <kim@example.ch>: No such user"));
  }

  @Test
  void operatorFileOverridesADefault(@TempDir Path dir) throws IOException {
    String reply = "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in virtual mailbox table";
    assertEquals(BounceType.PERMANENT, classifier.classify(550, "5.1.1", reply).type());

    Path file = dir.resolve("my-rules.txt");
    Files.writeString(file, """
        # our relay's virtual table lags behind the directory: never suppress on it
        stalevirtual Transient/General status=5.1.1
            /in virtual mailbox table/
        """, StandardCharsets.UTF_8);
    BounceClassifier layered = BounceClassifier.load(file);
    Classification c = layered.classify(550, "5.1.1", reply);
    assertClass("Transient/General stalevirtual", c);
    assertEquals(file + ":2", c.rule());
    // Everything else still falls through to the defaults.
    assertClass("Transient/MailboxFull mailboxfull", layered.classify(552, "5.2.2", "552 5.2.2 Mailbox full"));
    assertTrue(layered.ruleCount() == classifier.ruleCount() + 1);
  }

  @Test
  void badOperatorRuleNamesFileAndLine() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> BounceClassifier.withRules("ok Transient/General code=4xx\nbad Permanent/MailboxFull\n", "ops.txt"));
    assertTrue(e.getMessage().startsWith("ops.txt:2:"), e.getMessage());
    IllegalArgumentException pattern = assertThrows(IllegalArgumentException.class,
        () -> BounceClassifier.withRules("x Transient/General /unclosed(/\n", "ops.txt"));
    assertTrue(pattern.getMessage().startsWith("ops.txt:1: bad pattern"), pattern.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> BounceClassifier.withRules("x Transient/General colour=red\n", "ops.txt"));
  }

  @Test
  void conditionSyntax() {
    BounceClassifier c = BounceClassifier.withRules("""
        a Transient/General status=*.7.26,5.7.27 code=55x
        b Transient/General code=4xx !/greylist/
        c Transient/General command=HELO
        """, "t");
    assertEquals("a", c.classify(550, "5.7.26", "x").reason());
    assertEquals("a", c.classify(554, "5.7.27", "x").reason());
    assertEquals("b", c.classify(451, null, "try later").reason());
    assertEquals("ratelimited", c.classify(451, null, "greylisted, try later").reason(), "falls to defaults");
    assertEquals("c", c.classify(501, null, "bad name", "helo").reason());
  }

  @Test
  void reportingMtaCategoryDecidesOnlyForMissingMailboxOrDomain() {
    RecipientReport userUnknown = new RecipientReport("a@b.example", null, "failed", "5.2.1", 550,
        "550 5.2.1 <a@b.example>... User Unknown", null, null, null, "bad-mailbox");
    assertClass("Permanent/NoEmail userunknown", classifier.classify(userUnknown));
    // The same reply without the MTA's verdict: X.2.1 with no stage reads as the recipient's filter.
    assertClass("Transient/ContentRejected filtered", classifier.classify(new RecipientReport("a@b.example", null,
        "failed", "5.2.1", 550, "550 5.2.1 <a@b.example>... User Unknown", null, null, null, null)));
    assertClass("Permanent/General hostunknown", classifier.classify(new RecipientReport("a@nowhere.example", null,
        "failed", "5.1.2", null, null, null, null, null, "bad-domain")));
    assertClass("Transient/General userunknown", classifier.classify(new RecipientReport("a@b.example", null,
        "failed", "4.1.1", 450, "450 4.1.1 User unknown", null, null, null, "bad-mailbox"))); // a 4xx is never Permanent
    assertClass("Transient/MailboxFull mailboxfull", classifier.classify(new RecipientReport("a@b.example", null,
        "failed", "5.2.2", 552, "552 5.2.2 Mailbox full", null, null, null, "quota-issues")));
  }

  @Test
  void categoryConditionInAnOperatorFile() {
    BounceClassifier c = BounceClassifier.withRules("spamtrap Permanent/General category=spam-trap,honeypot\n", "ops.txt");
    RecipientReport r = new RecipientReport("a@b.example", null, "failed", "5.0.0", 550, "550 rejected",
        null, null, null, "honeypot");
    assertEquals("spamtrap", c.classify(r).reason());
    assertEquals("undetermined", c.classify(550, "5.0.0", "550 rejected").reason(), "no category on a plain reply");
    assertThrows(IllegalArgumentException.class,
        () -> BounceClassifier.withRules("x Permanent/General category=Bad!Mailbox\n", "ops.txt"));
  }

  @Test
  void vendorSentencesForUnroutableAndRefusedAddresses() {
    // cPanel's Exim: "may be blacklisted" in its fixed sentence is not a block-list refusal.
    assertClass("Permanent/General unroutable", classifier.classify(null, null,
        "The mail server could not deliver mail to a@b.example.  The account or domain may not exist, they may be "
            + "blacklisted, or missing the proper dns entries."));
    assertClass("Transient/General blocked", classifier.classify(550, null,
        "550 Your IP 192.0.2.1 is blacklisted, see the list at example.org"));
    assertClass("Permanent/NoEmail userunknown", classifier.classify(null, null,
        "Unable to deliver message to <a@b.example> (and other recipients in the same domain). Please check if "
            + "address is correct."));
    assertClass("Transient/General rejected", classifier.classify(null, null,
        "You are not a member of this mailing list <list@b.example>."));
    assertClass("Transient/ContentRejected contenterror", classifier.classify(null, null,
        "Duplicated Message-ID in <list@b.example>."));
  }
}
