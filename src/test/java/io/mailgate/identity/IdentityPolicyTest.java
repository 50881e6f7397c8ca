package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.SesError;
import io.mailgate.SesException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Sending authorization policies on their own: what is refused when stored, and how a send is judged. */
class IdentityPolicyTest {
  static final String ARN = "arn:aws:ses:us-east-1:111111111111:identity/example.com";
  static final String DELEGATE = "222222222222";
  static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

  static String statement(String effect, String principal, String action, String condition) {
    return "{\"Effect\":\"" + effect + "\",\"Principal\":" + principal + ",\"Action\":" + action
        + ",\"Resource\":\"" + ARN + "\"" + (condition == null ? "" : ",\"Condition\":" + condition) + "}";
  }

  static String policy(String... statements) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[" + String.join(",", statements) + "]}";
  }

  static String allow(String condition) {
    return statement("Allow", "{\"AWS\":\"" + DELEGATE + "\"}", "[\"ses:SendEmail\",\"ses:SendRawEmail\"]", condition);
  }

  static IdentityPolicy.Request send(String from, String name, List<String> to) {
    return new IdentityPolicy.Request(DELEGATE, "ses:SendEmail", from, name, from, to, NOW);
  }

  static boolean allows(String policy, IdentityPolicy.Request r) {
    return IdentityPolicy.allows(List.of(IdentityPolicy.parse(policy, ARN)), r);
  }

  static final IdentityPolicy.Request PLAIN = send("news@example.com", "News", List.of("a@x.test", "b@x.test"));

  @Test
  void principalsActionsAndExplicitDeny() {
    assertTrue(allows(policy(allow(null)), PLAIN));
    assertTrue(allows(policy(statement("Allow", "{\"AWS\":[\"arn:aws:iam::" + DELEGATE + ":root\"]}", "\"ses:*\"",
        null)), PLAIN));
    assertTrue(allows(policy(statement("Allow", "\"*\"", "\"SES:Send*\"", null)), PLAIN));
    // another account, an IAM user of the delegate's (Mailgate has none), an action not granted: no
    assertFalse(allows(policy(statement("Allow", "{\"AWS\":\"333333333333\"}", "\"ses:*\"", null)), PLAIN));
    assertFalse(allows(policy(statement("Allow", "{\"AWS\":\"arn:aws:iam::" + DELEGATE + ":user/jo\"}", "\"ses:*\"",
        null)), PLAIN));
    assertFalse(allows(policy(statement("Allow", "\"*\"", "\"ses:SendRawEmail\"", null)), PLAIN));
    // a Deny wins, in the same policy or another
    String deny = statement("Deny", "\"*\"", "\"ses:SendEmail\"", null);
    assertFalse(allows(policy(allow(null), deny), PLAIN));
    assertFalse(IdentityPolicy.allows(List.of(IdentityPolicy.parse(policy(allow(null)), ARN),
        IdentityPolicy.parse(policy(deny), ARN)), PLAIN));
    assertFalse(IdentityPolicy.allows(List.of(), PLAIN));
  }

  @Test
  void stringConditionsOnAddressesAndDisplayName() {
    assertTrue(allows(policy(allow("{\"StringEquals\":{\"ses:FromAddress\":\"NEWS@example.com\"}}")), PLAIN));
    assertFalse(allows(policy(allow("{\"StringEquals\":{\"ses:FromAddress\":\"billing@example.com\"}}")), PLAIN));
    assertTrue(allows(policy(allow("{\"StringNotEquals\":{\"ses:FromAddress\":\"billing@example.com\"}}")), PLAIN));
    // every recipient must match (ForAllValues), unless ForAnyValue asks for one
    assertTrue(allows(policy(allow("{\"StringLike\":{\"ses:Recipients\":\"*@x.test\"}}")), PLAIN));
    IdentityPolicy.Request mixed = send("news@example.com", null, List.of("a@x.test", "c@y.test"));
    assertFalse(allows(policy(allow("{\"StringLike\":{\"ses:Recipients\":\"*@x.test\"}}")), mixed));
    assertFalse(allows(policy(allow("{\"ForAllValues:StringLike\":{\"ses:Recipients\":[\"*@x.test\"]}}")), mixed));
    assertTrue(allows(policy(allow("{\"ForAnyValue:StringLike\":{\"ses:Recipients\":\"*@y.test\"}}")), mixed));
    assertFalse(allows(policy(allow("{\"StringNotLike\":{\"ses:Recipients\":\"*@y.test\"}}")), mixed));
    // the display name is case-sensitive and absent when the From has none
    assertTrue(allows(policy(allow("{\"StringEquals\":{\"ses:FromDisplayName\":\"News\"}}")), PLAIN));
    assertFalse(allows(policy(allow("{\"StringEquals\":{\"ses:FromDisplayName\":\"news\"}}")), PLAIN));
    assertFalse(allows(policy(allow("{\"StringEquals\":{\"ses:FromDisplayName\":\"News\"}}")), mixed));
    // operators and keys together: all must hold
    assertFalse(allows(policy(allow("{\"StringLike\":{\"ses:FromAddress\":\"*@example.com\","
        + "\"ses:FeedbackAddress\":\"bounces@*\"}}")), PLAIN));
  }

  @Test
  void currentTimeBoundsTheGrant() {
    assertTrue(allows(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-12-31T00:00:00Z\"}}")), PLAIN));
    assertFalse(allows(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}}")), PLAIN));
    assertTrue(allows(policy(allow("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}}")), PLAIN));
    assertFalse(allows(policy(allow("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"" + (NOW.getEpochSecond() + 60)
        + "\"}}")), PLAIN));
  }

  /** IAM's date forms: a day alone (its start, UTC), a time with or without seconds, epoch seconds. */
  @Test
  void datesInTheFormsIamTakes() {
    assertTrue(allows(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":\"2027-01-01\"}}")), PLAIN));
    assertFalse(allows(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-06-01\"}}")), PLAIN),
        "2026-06-01 is that day's start, before noon");
    assertTrue(allows(policy(allow("{\"DateGreaterThanEquals\":{\"aws:CurrentTime\":\"2026-06-01\"}}")), PLAIN));
    assertTrue(allows(policy(allow("{\"DateLessThanEquals\":{\"aws:CurrentTime\":\"2026-06-01T12:00Z\"}}")), PLAIN));
    assertFalse(allows(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-06-01T13:59:59.5+02:00\"}}")),
        PLAIN));
    assertTrue(allows(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":" + (NOW.getEpochSecond() + 1) + "}}")),
        PLAIN));
  }

  /** ...IfExists holds when the request has no such key; Null asks whether it has. */
  @Test
  void ifExistsAndNull() {
    IdentityPolicy.Request nameless = send("news@example.com", null, List.of("a@x.test"));
    String ifExists = policy(allow("{\"StringEqualsIfExists\":{\"ses:FromDisplayName\":\"News\"}}"));
    assertTrue(allows(ifExists, PLAIN));
    assertTrue(allows(ifExists, nameless), "no display name: the condition holds");
    assertFalse(allows(ifExists, send("news@example.com", "Billing", List.of("a@x.test"))));
    assertFalse(allows(policy(allow("{\"StringEquals\":{\"ses:FromDisplayName\":\"News\"}}")), nameless),
        "without IfExists, an absent key matches no value");
    assertTrue(allows(policy(allow("{\"ForAllValues:StringLikeIfExists\":{\"ses:Recipients\":\"*@x.test\"}}")),
        PLAIN));
    assertTrue(allows(policy(allow("{\"DateLessThanIfExists\":{\"aws:CurrentTime\":\"2027-01-01\"}}")), PLAIN));
    // a Deny with IfExists applies when the key is absent
    String denyNamed = policy(allow(null), statement("Deny", "\"*\"", "\"ses:*\"",
        "{\"StringNotEqualsIfExists\":{\"ses:FromDisplayName\":\"News\"}}"));
    assertTrue(allows(denyNamed, PLAIN));
    assertFalse(allows(denyNamed, nameless));

    String noName = policy(allow("{\"Null\":{\"ses:FromDisplayName\":\"true\"}}"));
    assertTrue(allows(noName, nameless));
    assertFalse(allows(noName, PLAIN));
    assertTrue(allows(policy(allow("{\"Null\":{\"ses:FromDisplayName\":false}}")), PLAIN));
    assertFalse(allows(policy(allow(null), statement("Deny", "\"*\"", "\"ses:*\"",
        "{\"Null\":{\"ses:FromDisplayName\":\"true\"}}")), nameless), "a Deny of sends without a display name");
  }

  /**
   * A condition Mailgate cannot evaluate is refused when the policy is stored, naming what (it would only ever fail
   * closed, unseen by the owner); one stored before that still fails closed: an Allow with it grants nothing, a Deny
   * with it denies.
   */
  @Test
  void whatCannotBeEvaluatedIsRefusedAndFailsClosedWhenStored() {
    String sourceIp = "{\"StringEquals\":{\"aws:SourceIp\":\"10.0.0.1\"}}";
    assertInvalid(policy(allow(sourceIp)), "Condition key aws:SourceIp is not supported");
    assertInvalid(policy(allow("{\"IpAddress\":{\"ses:FromAddress\":\"10.0.0.0/8\"}}")),
        "Condition operator IpAddress is not supported");
    assertInvalid(policy(allow("{\"NumericLessThan\":{\"ses:Recipients\":\"3\"}}")), "operator NumericLessThan");
    assertInvalid(policy(allow("{\"ForAllValues:DateLessThan\":{\"aws:CurrentTime\":\"2027-01-01\"}}")),
        "operator ForAllValues:DateLessThan");
    assertInvalid(policy(allow("{\"NullIfExists\":{\"ses:FromDisplayName\":\"true\"}}")), "operator NullIfExists");
    assertInvalid(policy(allow("{\"Null\":{\"ses:FromDisplayName\":\"maybe\"}}")), "true or false");
    assertInvalid(policy(allow("{\"StringEquals\":{\"aws:CurrentTime\":\"2027-01-01\"}}")),
        "does not apply to aws:CurrentTime");
    assertInvalid(policy(allow("{\"DateLessThan\":{\"ses:FromAddress\":\"2027-01-01\"}}")),
        "does not apply to ses:FromAddress");
    assertInvalid(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":\"next week\"}}")), "next week");
    assertInvalid(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":\"2027-01-01T00:00:00\"}}")),
        "2027-01-01T00:00:00"); // a time without its offset

    assertFalse(allowsStored(policy(allow(sourceIp)), PLAIN));
    assertFalse(allowsStored(policy(allow("{\"DateLessThan\":{\"aws:CurrentTime\":\"next week\"}}")), PLAIN));
    assertFalse(allowsStored(policy(allow(null), statement("Deny", "\"*\"", "\"ses:*\"", sourceIp)), PLAIN));
    // other statements of a stored policy still count; so does a supported condition beside the unknown one
    assertTrue(allowsStored(policy(allow(sourceIp), allow(null)), PLAIN));
    assertTrue(allowsStored(policy(allow(null), statement("Deny", "\"*\"", "\"ses:*\"",
        "{\"StringEquals\":{\"ses:FromAddress\":\"other@example.com\",\"aws:SourceIp\":\"10.0.0.1\"}}")), PLAIN));
    // a Deny whose supported condition does not hold does not
    assertTrue(allows(policy(allow(null), statement("Deny", "\"*\"", "\"ses:*\"",
        "{\"StringEquals\":{\"ses:FromAddress\":\"other@example.com\"}}")), PLAIN));
  }

  static boolean allowsStored(String policy, IdentityPolicy.Request r) {
    return IdentityPolicy.allows(List.of(IdentityPolicy.parseStored(policy, ARN)), r);
  }

  /**
   * Mailgate's callers are accounts: a Deny naming one of an account's IAM users or roles stands for the account (fails
   * closed), while an Allow naming one grants nothing.
   */
  @Test
  void aDenyOfAnAccountsUserDeniesTheAccount() {
    String intern = "{\"AWS\":\"arn:aws:iam::" + DELEGATE + ":user/intern\"}";
    assertFalse(allows(policy(allow(null), statement("Deny", intern, "\"ses:*\"", null)), PLAIN));
    assertFalse(allows(policy(allow(null), statement("Deny", "{\"AWS\":[\"arn:aws:iam::" + DELEGATE
        + ":role/sender\"]}", "\"ses:SendEmail\"", null)), PLAIN));
    // another account's user, or a Deny of the user for another action, leaves the grant
    assertTrue(allows(policy(allow(null), statement("Deny", "{\"AWS\":\"arn:aws:iam::333333333333:user/intern\"}",
        "\"ses:*\"", null)), PLAIN));
    assertTrue(allows(policy(allow(null), statement("Deny", intern, "\"ses:SendBulkEmail\"", null)), PLAIN));
    // an Allow of the user grants the account nothing
    assertFalse(allows(policy(statement("Allow", intern, "\"ses:*\"", null)), PLAIN));
  }

  /** Without a prefix, a Deny on the recipients applies when any one of them matches: a mixed list is refused. */
  @Test
  void aDenyOnRecipientsAppliesToAnyOfThem() {
    String p = policy(allow(null), statement("Deny", "\"*\"", "\"ses:*\"",
        "{\"StringLike\":{\"ses:Recipients\":\"*@competitor.test\"}}"));
    assertFalse(allows(p, send("news@example.com", null, List.of("a@competitor.test"))));
    assertFalse(allows(p, send("news@example.com", null, List.of("a@competitor.test", "b@ok.test"))));
    assertTrue(allows(p, send("news@example.com", null, List.of("b@ok.test", "c@ok.test"))));
    // ForAllValues: says so
    assertTrue(allows(p.replace("StringLike", "ForAllValues:StringLike"),
        send("news@example.com", null, List.of("a@competitor.test", "b@ok.test"))));
    // an Allow still needs every recipient
    assertFalse(allows(policy(allow("{\"StringLike\":{\"ses:Recipients\":\"*@ok.test\"}}")),
        send("news@example.com", null, List.of("a@competitor.test", "b@ok.test"))));
  }

  /** A Deny is tested against every sender address of the message, not only the one asked for. */
  @Test
  void aDenyMatchesAnySenderAddress() {
    String p = policy(allow(null), statement("Deny", "\"*\"", "\"ses:*\"",
        "{\"StringEquals\":{\"ses:FromAddress\":\"ceo@example.com\"}}"));
    IdentityPolicy.Request withCeo = new IdentityPolicy.Request(DELEGATE, "ses:SendRawEmail", "news@example.com", null,
        "news@example.com", List.of("a@x.test"), NOW, List.of(new IdentityPolicy.FromMailbox("news@example.com", null),
        new IdentityPolicy.FromMailbox("CEO@example.com", "The CEO")));
    assertFalse(allows(p, withCeo));
    assertTrue(allows(p, PLAIN));
  }

  /**
   * A date past what an Instant holds cannot be evaluated: refused when stored, and, in a policy stored before, it fails
   * closed rather than failing the send.
   */
  @Test
  void anOutOfRangeDateFailsClosed() {
    String far = "{\"DateGreaterThan\":{\"aws:CurrentTime\":\"99999999999999999\"}}";
    assertInvalid(policy(allow(far)), "99999999999999999");
    assertFalse(allowsStored(policy(allow(far)), PLAIN));
    assertFalse(allowsStored(policy(allow(null), statement("Deny", "\"*\"", "\"ses:*\"", far)), PLAIN));
  }

  @Test
  void malformedPoliciesAreRefusedWithWhatIsWrong() {
    assertInvalid("not json", "not a JSON object");
    assertInvalid("[]", "not a JSON object");
    assertInvalid("null", "not a JSON object");
    assertInvalid("\"text\"", "not a JSON object");
    assertInvalid("{\"Statement\":null}", "no Statement");
    assertInvalid("{\"Statement\":[1]}", "must be a JSON object");
    assertInvalid("{\"Statement\":[]}", "no Statement");
    assertInvalid("{\"Statment\":[]}", "Unknown field Statment");
    assertInvalid("{\"Version\":\"2012-10-17\"}", "no Statement");
    assertInvalid(policy("{\"Effect\":\"Maybe\",\"Principal\":\"*\",\"Action\":\"ses:SendEmail\",\"Resource\":\""
        + ARN + "\"}"), "Effect must be Allow or Deny");
    assertInvalid(policy("{\"Effect\":\"Allow\",\"Action\":\"ses:SendEmail\",\"Resource\":\"" + ARN + "\"}"),
        "Principal");
    assertInvalid(policy(statement("Allow", "\"*\"", "\"ses:DeleteIdentity\"", null)), "not a sending action");
    assertInvalid(policy(statement("Allow", "\"*\"", "\"s3:*\"", null)), "not a sending action");
    assertInvalid(policy(statement("Allow", "{\"AWS\":\"12\"}", "\"ses:*\"", null)), "Principal AWS 12");
    assertInvalid(policy(statement("Allow", "\"*\"", "\"ses:*\"", null)).replace(ARN,
        "arn:aws:ses:us-east-1:111111111111:identity/other.com"), "is not this identity");
    assertInvalid(policy(statement("Allow", "\"*\"", "\"ses:*\"", null)).replace("\"Resource\":\"" + ARN + "\"",
        "\"Resource\":[]"), "Resource is missing");
    assertInvalid(policy(statement("Allow", "\"*\"", "\"ses:*\"", "{\"StringEquals\":\"x\"}")),
        "must map condition keys");
    assertInvalid(policy(statement("Allow", "\"*\"", "\"ses:*\"", null).replace("{\"Effect\"",
        "{\"NotPrincipal\":\"*\",\"Effect\"")), "Unsupported field NotPrincipal");
    assertInvalid(policy(allow(null)) + " ".repeat(IdentityPolicy.MAX_BYTES), "larger than 4096 bytes");
  }

  static void assertInvalid(String policy, String fragment) {
    SesException e = assertThrows(SesException.class, () -> IdentityPolicy.parse(policy, ARN));
    assertEquals(SesError.INVALID_POLICY, e.error());
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
  }

  @Test
  void likeIsIamsWildcardMatch() {
    assertTrue(IdentityPolicy.like("news@example.com", "*@example.com"));
    assertTrue(IdentityPolicy.like("a", "?"));
    assertTrue(IdentityPolicy.like("abc", "a*c*"));
    assertFalse(IdentityPolicy.like("news@example.com.evil", "*@example.com"));
    assertFalse(IdentityPolicy.like("ab", "a?c"));
  }
}
