package io.mailgate.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 8461's policy file and TXT record as {@link MtaStsPolicy} reads them, and which MX names a policy allows. */
class MtaStsPolicyTest {

  @Test
  void aPolicyIsReadWithEitherLineEndingAndUnknownFieldsIgnored() {
    MtaStsPolicy p = MtaStsPolicy.parse("version: STSv1\r\nmode: enforce\r\nmx: mx1.Example.com.\r\n"
        + "mx: *.backup.example.com\r\nmax_age: 604800\r\nfuture_field: anything\r\n");
    assertEquals(MtaStsPolicy.Mode.ENFORCE, p.mode());
    assertEquals(List.of("mx1.example.com", "*.backup.example.com"), p.mx());
    assertEquals(604800, p.maxAgeSeconds());
    assertEquals(MtaStsPolicy.Mode.TESTING,
        MtaStsPolicy.parse("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age:86400").mode());
    MtaStsPolicy none = MtaStsPolicy.parse("version: STSv1\nmode: none\nmax_age: 0\n");
    assertEquals(MtaStsPolicy.Mode.NONE, none.mode());
    assertEquals(List.of(), none.mx(), "mode none needs no mx");
  }

  @Test
  void whatIsNotAPolicyIsRefusedWithItsReason() {
    String mx = "mx: mx.example.com\n";
    for (String[] c : new String[][] {
        {"mode: enforce\n" + mx + "max_age: 60\n", "no version field"},
        {"version: STSv2\nmode: enforce\n" + mx + "max_age: 60\n", "version is not STSv1"},
        {"version: STSv1\n" + mx + "max_age: 60\n", "no mode field"},
        {"version: STSv1\nmode: strict\n" + mx + "max_age: 60\n", "mode is not enforce, testing or none"},
        {"version: STSv1\nmode: enforce\n" + mx, "max_age is not a number"},
        {"version: STSv1\nmode: enforce\n" + mx + "max_age: -1\n", "max_age is not a number"},
        {"version: STSv1\nmode: enforce\n" + mx + "max_age: 31557601\n", "max_age is not a number"},
        {"version: STSv1\nmode: enforce\nmax_age: 60\n", "no mx field"},
        {"version: STSv1\nmode: enforce\nmode: testing\n" + mx + "max_age: 60\n", "more than one mode field"},
        {"version: STSv1\nmode: enforce\nmx: mx.example.com/evil\nmax_age: 60\n", "mx is not a host name"},
        {"version: STSv1\nmode: enforce\nmx: a.*.example.com\nmax_age: 60\n", "mx is not a host name"},
        {"<html>version: STSv1</html>\n", "no version field"},
        {"version STSv1\n", "is not 'key: value'"}}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MtaStsPolicy.parse(c[0]), c[0]);
      assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
    }
  }

  @Test
  void anMxNameMatchesItselfOrOneLabelUnderAWildcard() {
    MtaStsPolicy p = MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmx: mail.example.com\n"
        + "mx: *.example.net\nmax_age: 60\n");
    assertTrue(p.matches("mail.example.com"));
    assertTrue(p.matches("MAIL.Example.COM."), "case and a final dot do not matter");
    assertTrue(p.matches("mx1.example.net"));
    assertFalse(p.matches("example.net"), "the wildcard is one label, not none");
    assertFalse(p.matches("a.b.example.net"), "nor two");
    assertFalse(p.matches("mx1.example.com"));
    assertFalse(p.matches("evilmail.example.com"));
    assertFalse(p.matches("mail.example.com.evil.test"));
  }

  @Test
  void theTxtRecordNamesThePolicyId() {
    assertEquals("20190429T010101", MtaStsPolicy.recordId("v=STSv1; id=20190429T010101;"));
    assertEquals("abc", MtaStsPolicy.recordId("v=STSv1;id=abc"));
    assertEquals("abc", MtaStsPolicy.recordId("v=STSv1; ext=1; id=abc; "));
    assertNull(MtaStsPolicy.recordId("v=STSv2; id=abc;"), "another version");
    assertNull(MtaStsPolicy.recordId("id=abc; v=STSv1;"), "v= must come first");
    assertNull(MtaStsPolicy.recordId("ext=1; v=STSv1; id=abc;"), "v= must come first");
    assertNull(MtaStsPolicy.recordId("v=STSv1;"), "no id");
    assertNull(MtaStsPolicy.recordId("v=STSv1; id=not-alphanumeric;"));
    assertNull(MtaStsPolicy.recordId("v=STSv1; id=" + "a".repeat(33) + ";"), "at most 32 characters");
    assertNull(MtaStsPolicy.recordId("v=STSv1; id=a; id=b;"), "two ids");
    assertTrue(MtaStsPolicy.isStsRecord("v=STSv1; id=abc;"));
    assertTrue(MtaStsPolicy.isStsRecord("v=STSv1 ;id=abc"));
    assertFalse(MtaStsPolicy.isStsRecord("v=STSv10; id=abc;"), "not this version: another record, left alone");
    assertFalse(MtaStsPolicy.isStsRecord("v=spf1 -all"));
  }
}
