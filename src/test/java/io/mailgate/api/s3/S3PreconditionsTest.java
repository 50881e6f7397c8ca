package io.mailgate.api.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The conditions of a GET, HEAD or CopyObject as RFC 9110 and S3 evaluate them: which one decides, to the second, and
 * which header S3's {@code Condition} element names.
 */
class S3PreconditionsTest {
  static final String ETAG = "0cc175b9c0f1b6a831c399e269772661";
  static final Instant MODIFIED = Instant.parse("2026-03-04T05:06:07.890Z");

  static Preconditions.Verdict read(Map<String, String> headers) {
    return Preconditions.ofRead(headers::get).evaluate(ETAG, MODIFIED);
  }

  static Preconditions.Verdict copy(Map<String, String> headers) {
    return Preconditions.ofCopySource(headers::get).evaluate(ETAG, MODIFIED);
  }

  static void is(Preconditions.Outcome outcome, String condition, Preconditions.Verdict v) {
    assertEquals(outcome, v.outcome(), v.toString());
    assertEquals(condition, v.condition(), v.toString());
  }

  @Test
  void readConditions() {
    is(Preconditions.Outcome.PROCEED, null, read(Map.of()));
    is(Preconditions.Outcome.PROCEED, null, read(Map.of("If-Match", "\"" + ETAG + "\"")));
    is(Preconditions.Outcome.PROCEED, null, read(Map.of("If-Match", "\"x\", \"" + ETAG + "\"")));
    is(Preconditions.Outcome.PROCEED, null, read(Map.of("If-Match", "*")));
    is(Preconditions.Outcome.FAILED, "If-Match", read(Map.of("If-Match", "\"x\"")));
    is(Preconditions.Outcome.NOT_MODIFIED, "If-None-Match", read(Map.of("If-None-Match", "W/\"" + ETAG + "\"")));
    is(Preconditions.Outcome.NOT_MODIFIED, "If-None-Match", read(Map.of("If-None-Match", "*")));
    // to the second: Last-Modified says 05:06:07, so "since 05:06:07" is not modified, "since 05:06:06" is
    is(Preconditions.Outcome.NOT_MODIFIED, "If-Modified-Since",
        read(Map.of("If-Modified-Since", "Wed, 04 Mar 2026 05:06:07 GMT")));
    is(Preconditions.Outcome.PROCEED, null, read(Map.of("If-Modified-Since", "Wed, 04 Mar 2026 05:06:06 GMT")));
    is(Preconditions.Outcome.PROCEED, null, read(Map.of("If-Unmodified-Since", "Wed, 04 Mar 2026 05:06:07 GMT")));
    is(Preconditions.Outcome.FAILED, "If-Unmodified-Since",
        read(Map.of("If-Unmodified-Since", "Wed, 04 Mar 2026 05:06:06 GMT")));
    // If-Match decides over If-Unmodified-Since, If-None-Match over If-Modified-Since
    is(Preconditions.Outcome.PROCEED, null, read(Map.of("If-Match", ETAG,
        "If-Unmodified-Since", "Wed, 04 Mar 2026 05:06:06 GMT")));
    is(Preconditions.Outcome.PROCEED, null, read(Map.of("If-None-Match", "\"x\"",
        "If-Modified-Since", "Wed, 04 Mar 2026 05:06:07 GMT")));
    // a failed If-Match is a 412 even where If-None-Match would say 304
    is(Preconditions.Outcome.FAILED, "If-Match", read(Map.of("If-Match", "\"x\"", "If-None-Match", ETAG)));
    // a date that is not an HTTP date is left out
    is(Preconditions.Outcome.PROCEED, null, read(Map.of("If-Unmodified-Since", "yesterday")));
  }

  @Test
  void aCopysConditionsFailWithA412AndNameTheirHeader() {
    is(Preconditions.Outcome.FAILED, "x-amz-copy-source-If-None-Match",
        copy(Map.of("x-amz-copy-source-If-None-Match", ETAG)));
    is(Preconditions.Outcome.FAILED, "x-amz-copy-source-If-Modified-Since",
        copy(Map.of("x-amz-copy-source-If-Modified-Since", "Wed, 04 Mar 2026 05:06:07 GMT")));
    is(Preconditions.Outcome.FAILED, "x-amz-copy-source-If-Match", copy(Map.of("x-amz-copy-source-If-Match", "x")));
    is(Preconditions.Outcome.PROCEED, null, copy(Map.of("If-None-Match", ETAG))); // a GET's header: not the copy's
    String xml = S3Xml.error(new S3Exception(S3Error.PRECONDITION_FAILED).with("Condition",
        "x-amz-copy-source-If-Match"), "REQ");
    assertTrue(xml.contains("<Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified "
        + "did not hold</Message><Condition>x-amz-copy-source-If-Match</Condition>"), xml);
  }

  @Test
  void aWritesConditionsOnTheObjectItReplaces() {
    assertEquals(null, Preconditions.ofWrite(Map.<String, String>of()::get));
    Preconditions.Write create = Preconditions.ofWrite(Map.of("If-None-Match", "*")::get);
    assertEquals(null, create.refusal(null, "k"));
    assertEquals(List.of(Map.entry("Condition", "If-None-Match")), create.refusal(ETAG, "k").details());
    Preconditions.Write replace = Preconditions.ofWrite(Map.of("If-Match", "\"" + ETAG + "\"")::get);
    assertEquals(null, replace.refusal(ETAG, "k"));
    assertEquals(S3Error.PRECONDITION_FAILED, replace.refusal("00", "k").error());
    assertEquals(S3Error.NO_SUCH_KEY, replace.refusal(null, "k").error());
    S3Exception other = org.junit.jupiter.api.Assertions.assertThrows(S3Exception.class,
        () -> Preconditions.ofWrite(Map.of("If-None-Match", "\"" + ETAG + "\"")::get));
    assertEquals(S3Error.NOT_IMPLEMENTED, other.error());
  }

  @Test
  void entityTagsAreComparedWithoutQuotesOrWeakness() {
    assertTrue(Preconditions.matches("\"" + ETAG + "\"", ETAG));
    assertTrue(Preconditions.matches(ETAG, ETAG));
    assertTrue(Preconditions.matches(" \"a\" , W/\"" + ETAG + "\"", ETAG));
    assertFalse(Preconditions.matches("\"" + ETAG + "x\"", ETAG));
    assertFalse(Preconditions.matches("", ETAG));
  }
}
