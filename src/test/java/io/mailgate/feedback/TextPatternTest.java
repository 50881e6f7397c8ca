package io.mailgate.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class TextPatternTest {

  @Test
  void mandatoryLiteralSkipsOptionalParts() {
    assertEquals("unknown", TextPattern.mandatoryLiteral("user(?:name)? (?:is )?unknown"));
    assertEquals("mail", TextPattern.mandatoryLiteral("e-?mail"));
    assertEquals("quota", TextPattern.mandatoryLiteral("over ?quota"));
    assertEquals("his/her storage", TextPattern.mandatoryLiteral("his\\/her storage"));
    assertEquals("x", TextPattern.mandatoryLiteral("[abc]+x\\d"));
    assertEquals(" does not exist", TextPattern.mandatoryLiteral("(?<![@\\w.-])(?:[a-z0-9-]+\\.)+[a-z]{2,} does not exist"));
  }

  @Test
  void gateFallsBackToAMandatoryGroup() {
    assertEquals(List.of("full"), TextPattern.gate("(?:mailbox|user) (?:is )?full"));
    assertEquals(List.of("mailbox", "user"), TextPattern.gate("(?:mailbox|user) (?:is )?ok"));
    assertEquals(List.of("found", "detected", "contain"), TextPattern.gate("(?:found|detected|contains?) \\d"));
    assertNull(TextPattern.gate("(?:a|b)\\s+\\d"));
  }

  /** Gating must never change the result: compare with the plain pattern on many texts. */
  @Test
  void shippedRulesMatchExactlyLikePlainRegex() throws IOException {
    String rules;
    try (InputStream in = getClass().getClassLoader().getResourceAsStream(BounceClassifier.DEFAULT_RULES)) {
      rules = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    List<String> texts = new ArrayList<>(List.of(
        "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in local recipient table",
        "552 5.2.2 Mailbox full", "MAILBOX IS FULL", "Over quota", "overquota for user",
        "550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
        "421 4.7.0 Try again later", "554 5.7.1 Virus found in message", "contains a virus",
        "Host or domain name not found. Name service error for name=x.example type=A: Host not found",
        "DNS lookup failed: timed out", "Sender address rejected: Domain not found", "550 no such user here",
        "The recipient name is not recognized", "ディレクトリのリストにありません", "550 : User unknown",
        "mailbox disabled, not accepting messages", "account has been suspended", "exceeded the rate limit",
        "retry timeout exceeded", "message size exceeds fixed maximum message size", "e-mail address unknown",
        "his/her storage exceeded", "neko.example.com does not exist", "IP 192.0.2.9 is blacklisted"));
    for (String name : List.of("dsn-postfix.eml", "qmail.eml", "exim.eml", "office365.eml", "dsn-multi-recipient.eml")) {
      try (InputStream in = getClass().getResourceAsStream("/feedback/" + name)) {
        texts.addAll(List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")));
      }
    }
    int checked = 0;
    for (BounceRule rule : BounceRules.parse(rules, "defaults")) {
      for (BounceRule.Condition c : rule.conditions()) {
        BounceRule.Condition inner = c instanceof BounceRule.Not not ? not.inner() : c;
        if (inner instanceof BounceRule.TextMatches t) {
          Pattern plain = Pattern.compile(t.pattern().source(), Pattern.CASE_INSENSITIVE);
          for (String text : texts) {
            assertEquals(plain.matcher(text).find(), t.pattern().find(text, text.toLowerCase(Locale.ROOT)),
                rule.source() + " on: " + text);
            checked++;
          }
        }
      }
    }
    assertEquals(true, checked > 1000, "checked " + checked);
  }
}
