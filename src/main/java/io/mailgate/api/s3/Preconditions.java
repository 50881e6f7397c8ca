package io.mailgate.api.s3;

import io.mailgate.store.ReceivedObjectStore.StoredObject;
import io.vertx.core.Future;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.function.Function;

/**
 * A request's conditions on the object it reads (RFC 9110 section 13, as S3 evaluates them): {@code If-Match} and
 * {@code If-None-Match} on its ETag, {@code If-Unmodified-Since} and {@code If-Modified-Since} on its time, to the
 * second (the precision of Last-Modified); or CopyObject's {@code x-amz-copy-source-if-*} on the source object. An
 * {@code If-Match} that holds makes {@code If-Unmodified-Since} moot, an {@code If-None-Match}
 * {@code If-Modified-Since}. A date that is not an HTTP date is left out, as RFC 9110 says. And a write's conditions
 * on the object it would replace ({@link #ofWrite}).
 */
final class Preconditions {
  /** What the conditions say of the object. */
  enum Outcome {
    /** They hold, or there are none. */
    PROCEED,
    /** A GET's or HEAD's If-None-Match or If-Modified-Since does not hold: 304, no body. */
    NOT_MODIFIED,
    /** An If-Match or If-Unmodified-Since does not hold (a copy's conditions, any): 412 PreconditionFailed. */
    FAILED
  }

  /** The outcome, and for a refusal the header that did not hold (S3's {@code Condition}). */
  record Verdict(Outcome outcome, String condition) {
    static final Verdict PROCEED = new Verdict(Outcome.PROCEED, null);

    /** A FAILED verdict's answer: 412 PreconditionFailed naming the condition. */
    S3Exception refusal() {
      return refused(condition);
    }
  }

  /** S3's 412 for a condition that did not hold. */
  static S3Exception refused(String condition) {
    return new S3Exception(S3Error.PRECONDITION_FAILED).with("Condition", condition);
  }

  private final String prefix;
  private final String ifMatch;
  private final String ifNoneMatch;
  private final Instant ifModifiedSince;
  private final Instant ifUnmodifiedSince;
  /** A copy's conditions: every one that does not hold is a 412 (there is no 304 for a write). */
  private final boolean copy;

  private Preconditions(String prefix, Function<String, String> header, boolean copy) {
    this.prefix = prefix;
    this.copy = copy;
    this.ifMatch = header.apply(prefix + "If-Match");
    this.ifNoneMatch = header.apply(prefix + "If-None-Match");
    this.ifModifiedSince = date(header.apply(prefix + "If-Modified-Since"));
    this.ifUnmodifiedSince = date(header.apply(prefix + "If-Unmodified-Since"));
  }

  /** A GET's or HEAD's conditions. */
  static Preconditions ofRead(Function<String, String> header) {
    return new Preconditions("", header, false);
  }

  /** CopyObject's conditions on its source. */
  static Preconditions ofCopySource(Function<String, String> header) {
    return new Preconditions("x-amz-copy-source-", header, true);
  }

  /** What the conditions say of an object that has this ETag (unquoted) and time. */
  Verdict evaluate(String etag, Instant lastModified) {
    Instant modified = lastModified.truncatedTo(ChronoUnit.SECONDS);
    if (ifMatch != null) {
      if (!matches(ifMatch, etag)) {
        return failed("If-Match");
      }
    } else if (ifUnmodifiedSince != null && modified.isAfter(ifUnmodifiedSince)) {
      return failed("If-Unmodified-Since");
    }
    if (ifNoneMatch != null) {
      if (matches(ifNoneMatch, etag)) {
        return notModified("If-None-Match");
      }
    } else if (ifModifiedSince != null && !modified.isAfter(ifModifiedSince)) {
      return notModified("If-Modified-Since");
    }
    return Verdict.PROCEED;
  }

  private Verdict failed(String condition) {
    return new Verdict(Outcome.FAILED, prefix + condition);
  }

  private Verdict notModified(String condition) {
    return new Verdict(copy ? Outcome.FAILED : Outcome.NOT_MODIFIED, prefix + condition);
  }

  /**
   * Whether a list of entity tags ({@code "a", "b"}, or {@code *}) names this one: compared without their quotes, a
   * weak tag's {@code W/} left out (an S3 ETag is the content's digest: strong).
   */
  static boolean matches(String list, String etag) {
    for (String tag : list.split(",")) {
      String t = tag.strip();
      if (t.equals("*")) {
        return true;
      }
      if (t.startsWith("W/")) {
        t = t.substring(2);
      }
      if (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
        t = t.substring(1, t.length() - 1);
      }
      if (t.equalsIgnoreCase(etag)) {
        return true;
      }
    }
    return false;
  }

  /**
   * A write's conditions on the object at its key (S3's conditional writes, PutObject's): {@code If-None-Match: *},
   * written only where there is none; {@code If-Match}, written only over the object with one of those ETags. Null when
   * the request has neither. {@code If-None-Match} takes only {@code *}, as in S3 (NotImplemented otherwise).
   */
  static Write ofWrite(Function<String, String> header) {
    String ifMatch = header.apply("If-Match");
    String ifNoneMatch = header.apply("If-None-Match");
    if (ifNoneMatch != null && !ifNoneMatch.strip().equals("*")) {
      throw new S3Exception(S3Error.NOT_IMPLEMENTED).with("Header", "If-None-Match")
          .with("additionalMessage", "We don't accept the provided value of If-None-Match header for this API");
    }
    return ifMatch == null && ifNoneMatch == null ? null : new Write(ifMatch, ifNoneMatch != null);
  }

  /** See {@link #ofWrite}. */
  record Write(String ifMatch, boolean absent) {
    /**
     * The write's check of the object it would replace (empty: none), run where the write is, as the stores take it:
     * null for no conditions, else a failed future with the {@link #refusal} when one does not hold.
     */
    static Function<Optional<StoredObject>, Future<Void>> check(Write conditions, String key) {
      return conditions == null ? null : found -> {
        S3Exception refusal = conditions.refusal(found.map(StoredObject::etag).orElse(null), key);
        return refusal == null ? Future.succeededFuture() : Future.failedFuture(refusal);
      };
    }

    /**
     * Null when the write may go on over the object that has this ETag (null: there is none), else its refusal: 412
     * PreconditionFailed naming the condition, or NoSuchKey for an If-Match where there is no object (S3's answers).
     */
    S3Exception refusal(String etag, String key) {
      if (absent && etag != null) {
        return refused("If-None-Match");
      }
      if (ifMatch != null) {
        if (etag == null) {
          return new S3Exception(S3Error.NO_SUCH_KEY).with("Key", key);
        }
        if (!matches(ifMatch, etag)) {
          return refused("If-Match");
        }
      }
      return null;
    }
  }

  private static Instant date(String value) {
    if (value == null) {
      return null;
    }
    try {
      return Instant.from(DateTimeFormatter.RFC_1123_DATE_TIME.parse(value.strip()));
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
