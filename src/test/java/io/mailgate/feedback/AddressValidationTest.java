package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.feedback.AddressValidation.DnsVerdict;
import io.mailgate.feedback.AddressValidation.Insights;
import io.mailgate.feedback.AddressValidation.MailboxVerdict;
import io.mailgate.feedback.AddressValidation.Verdict;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AddressValidationTest {
  static final AddressValidation V = AddressValidation.load("");

  @Test
  void namesAndWordsAreNotRandom() {
    for (String local : new String[] {"john.smith", "jsmith84", "maria_garcia", "schwarzkopf", "schmidt",
        "przybylski", "nguyen.van.an", "tariq", "qiang.li", "alice+newsletter", "j.doe-1990", "strzelczyk",
        "o.connor", "billing2024", "abc123", "angstrom", "lengths", "kurtschmidt", "markschneider", "jkschmidt", "qianqian", "qiqi",
        "qi.qian", "iqbal.qasim", "qamar.iqbal", "zhang.xq", "cwmtwrch", "llwchwr", "ctvrthrst", "vrchlicky",
        "grzegorz.brzeczyszczykiewicz", "nguyenthanhnghia", "oshaughnessy", "mhicdhonnchadha", "pizzajazz4u2",
        "xxx_sn1p3r_xxx", "dj_khaled99", "tech4u"}) {
      assertEquals(Verdict.LOW, AddressValidation.randomness(local), local);
    }
    // handles of letters and digits are people's too: never HIGH on that sign alone
    for (String local : new String[] {"r2d2c3po", "l33th4x0r", "j3nn1f3r", "4l3x4nd3r", "n1nj4w4rr10r",
        "a8f3k2j9x1"}) {
      assertEquals(Verdict.MEDIUM, AddressValidation.randomness(local), local);
    }
  }

  @Test
  void generatedLocalPartsAreRandom() {
    for (String local : new String[] {"kxqzvbnm", "asdkjhqwe", "3f2a9c1e4b7d8f6a", "zxjqvkwp", "bcdfghjk",
        "zqxj7v8k9w0"}) {
      assertEquals(Verdict.HIGH, AddressValidation.randomness(local), local);
    }
    // one strong sign alone is not enough for HIGH
    assertEquals(Verdict.MEDIUM, AddressValidation.randomness("deadbeefcafe0123"));
  }

  @Test
  void rolesDisposablesAndSyntax() {
    AddressValidation.Candidate c = V.candidate("Support+EU@Example.COM");
    assertNotNull(c);
    assertEquals("support+eu@example.com", c.address());
    assertTrue(c.role(), "the +tag is not part of the role");
    assertFalse(c.disposable());
    assertTrue(V.candidate("someone@mailinator.com").disposable());
    assertTrue(V.candidate("someone@eu.mailinator.com").disposable(), "a subdomain of a disposable domain");
    assertFalse(V.candidate("someone@notmailinator.com").disposable(), "a suffix is not a parent domain");
    assertFalse(V.candidate("someone@mailinator.com.example").disposable());
    for (String bad : new String[] {"", "no-at-sign", "@example.com", "user@", "a b@example.com",
        "user@example.com\r\nBcc: x@evil.test", "Name <user@example.com>", "x".repeat(65) + "@example.com",
        "user@" + "a".repeat(64) + ".com", "user@exa_mple.com", "user@@example.com"}) {
      assertNull(V.candidate(bad), bad);
    }
    assertNotNull(V.candidate("\"quoted local\"@example.com"), "a quoted local part is an address");
    // what the API's parser does not take: not a candidate (delivery then sends it unjudged)
    assertNull(V.candidate("\u7528\u6237@example.com"));
  }

  @Test
  void overallVerdict() {
    AddressValidation.Candidate plain = V.candidate("jane.doe@example.com");
    Insights high = AddressValidation.evaluate(plain, DnsVerdict.MX, MailboxVerdict.UNKNOWN);
    assertEquals(new Insights(Verdict.HIGH, Verdict.HIGH, Verdict.HIGH, Verdict.MEDIUM, Verdict.LOW, Verdict.LOW,
        Verdict.LOW), high);
    assertEquals(Verdict.HIGH, AddressValidation.evaluate(plain, DnsVerdict.MX, MailboxVerdict.EXISTS).valid());
    assertEquals(Verdict.MEDIUM, AddressValidation.evaluate(plain, DnsVerdict.IMPLICIT_MX, MailboxVerdict.UNKNOWN).valid());
    assertEquals(Verdict.MEDIUM, AddressValidation.evaluate(plain, DnsVerdict.UNAVAILABLE, MailboxVerdict.UNKNOWN).valid());
    assertEquals(Verdict.LOW, AddressValidation.evaluate(plain, DnsVerdict.MX, MailboxVerdict.GONE).valid());
    Insights noMail = AddressValidation.evaluate(plain, DnsVerdict.NO_MAIL, MailboxVerdict.EXISTS);
    assertEquals(Verdict.LOW, noMail.valid());
    assertEquals(Verdict.LOW, noMail.mailboxExists(), "a domain that takes no mail has no mailbox that does");
    assertEquals(Verdict.MEDIUM, AddressValidation.evaluate(V.candidate("info@example.com"), DnsVerdict.MX,
        MailboxVerdict.UNKNOWN).valid());
    assertEquals(Verdict.MEDIUM, AddressValidation.evaluate(V.candidate("kxqzvbnm@example.com"), DnsVerdict.MX,
        MailboxVerdict.UNKNOWN).valid());
    // a random-looking MEDIUM, which names joined up can reach, lowers nothing
    AddressValidation.Candidate joined = V.candidate("ernstschmidt@example.com");
    assertEquals(Verdict.MEDIUM, joined.random());
    assertEquals(Verdict.HIGH, AddressValidation.evaluate(joined, DnsVerdict.MX, MailboxVerdict.UNKNOWN).valid());
    Insights disposable = AddressValidation.evaluate(V.candidate("jane@yopmail.com"), DnsVerdict.MX,
        MailboxVerdict.UNKNOWN);
    assertEquals(Verdict.LOW, disposable.valid());
    assertEquals(Verdict.HIGH, disposable.disposable());
    Insights invalid = AddressValidation.invalidSyntax();
    assertEquals(Verdict.LOW, invalid.valid());
    assertEquals(Verdict.LOW, invalid.validSyntax());
    assertNull(invalid.validDnsRecords());
  }

  @Test
  void deliveryHasNoVerdictForWhatTheApiParserDoesNotTake() {
    // an internationalized local part, which the API's parser does not take: were one sent, unjudged, no DNS asked
    AddressInsights insights = new AddressInsights(V, null, null);
    assertNull(insights.beforeDelivery("\u7528\u6237@example.com").result());
  }

  @Test
  void anOperatorsFileAddsDomains(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("more.txt");
    Files.writeString(file, "# ours\nThrowaway.Example  # a comment after it\n\nrooted.example.\n"
        + "m\u00fcll.example\n");
    AddressValidation more = AddressValidation.load(file.toString());
    assertEquals(V.disposableDomains() + 3, more.disposableDomains());
    assertTrue(more.candidate("a@throwaway.example").disposable());
    assertTrue(more.candidate("a@rooted.example").disposable(), "a trailing dot is the same name");
    assertTrue(more.candidate("a@m\u00fcll.example").disposable(), "a Unicode name, as addresses' A-labels");
    assertTrue(more.candidate("a@mailinator.com").disposable(), "the bundled list stays");
    assertThrows(UncheckedIOException.class, () -> AddressValidation.load(dir.resolve("missing.txt").toString()));
  }
}
