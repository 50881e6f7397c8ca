package io.mailgate.smtp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ESMTP parameters a client gave with MAIL FROM, parsed and checked.
 *
 * <p>It exists so that delivery and DSN code read typed values (the declared size, the body
 * type, the DSN options) instead of re-parsing strings; {@link #all()} keeps every parameter as
 * sent, including ones with no typed accessor (for example {@code AUTH=}).
 *
 * @param declaredSize the SIZE the client announced, or -1 if it gave none
 * @param body BODY=7BIT or BODY=8BITMIME; {@link BodyType#UNSPECIFIED} if absent
 * @param smtpUtf8 whether SMTPUTF8 was given (internationalized addresses and headers)
 * @param ret the DSN RET value, or {@code null} if absent
 * @param envelopeId the DSN ENVID value as sent (xtext, not decoded), or {@code null}
 * @param all every parameter, keyword upper-cased, value as sent ({@code ""} for a keyword
 *     without value), in the order given
 */
public record MailParameters(
    long declaredSize,
    BodyType body,
    boolean smtpUtf8,
    DsnReturn ret,
    String envelopeId,
    Map<String, String> all) {

  /** No parameters at all. */
  public static final MailParameters NONE =
      new MailParameters(-1, BodyType.UNSPECIFIED, false, null, null, Map.of());

  public MailParameters {
    all = Collections.unmodifiableMap(new LinkedHashMap<>(all));
  }

  /** The BODY parameter (RFC 6152). */
  public enum BodyType {
    UNSPECIFIED,
    SEVEN_BIT,
    EIGHT_BIT_MIME
  }

  /** The DSN RET parameter (RFC 3461): what a bounce should return. */
  public enum DsnReturn {
    FULL,
    HDRS
  }
}
