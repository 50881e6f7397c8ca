package io.mailgate.identity;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.send.EmailTemplate;
import io.mailgate.send.Mailbox;
import io.mailgate.send.MailboxParser;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * An SES custom verification email template: the email an application sends its own users to verify their addresses
 * (SendCustomVerificationEmail), and where following its link leads. The content is HTML, kept as given; the link is
 * added when it is sent ({@link CustomVerificationEmails#withLink}).
 */
public record CustomVerificationTemplate(String name, String fromAddress, String subject, String content,
    String successUrl, String failureUrl) {
  /** SES: the template's content may be up to 10 MB. */
  public static final int MAX_CONTENT_BYTES = 10 * 1024 * 1024;
  /** A subject line is held to this (SES gives no number; a header line is 998 characters at most). */
  static final int MAX_SUBJECT_CHARS = 998;
  static final int MAX_URL_CHARS = 2048;

  /**
   * A template from a caller's fields, each checked as SES would: a BadRequest (InvalidContent for the content) names
   * the first that is wrong.
   */
  public static CustomVerificationTemplate checked(String name, String fromAddress, String subject, String content,
      String successUrl, String failureUrl) {
    EmailTemplate.checkName(name);
    fromAddress = from(fromAddress);
    required(subject, "TemplateSubject");
    if (subject.length() > MAX_SUBJECT_CHARS) {
      throw SesException.badRequest("TemplateSubject is longer than " + MAX_SUBJECT_CHARS + " characters.");
    }
    noControl(subject, "TemplateSubject");
    if (content == null || content.isBlank()) {
      throw new SesException(SesError.CUSTOM_VERIFICATION_INVALID_CONTENT, "Missing required field TemplateContent.");
    }
    long bytes = utf8Length(content);
    if (bytes > MAX_CONTENT_BYTES) {
      throw new SesException(SesError.CUSTOM_VERIFICATION_INVALID_CONTENT,
          "TemplateContent is " + bytes + " bytes; the limit is " + MAX_CONTENT_BYTES + ".");
    }
    return new CustomVerificationTemplate(name, fromAddress, subject, content, url(successUrl, "SuccessRedirectionURL"),
        url(failureUrl, "FailureRedirectionURL"));
  }

  /** The same template with the fields a partial update gives (null: kept), checked again. */
  public CustomVerificationTemplate with(String newFrom, String newSubject, String newContent, String newSuccessUrl,
      String newFailureUrl) {
    return checked(name, newFrom == null ? fromAddress : newFrom, newSubject == null ? subject : newSubject,
        newContent == null ? content : newContent, newSuccessUrl == null ? successUrl : newSuccessUrl,
        newFailureUrl == null ? failureUrl : newFailureUrl);
  }

  /** The address alone, lower-cased domain, as the identity that must be verified is named. */
  public String fromIdentity() {
    Mailbox m = MailboxParser.parse(fromAddress);
    return m.localPart() + "@" + m.domain().toLowerCase(Locale.ROOT);
  }

  private static String from(String from) {
    required(from, "FromEmailAddress");
    noControl(from, "FromEmailAddress");
    MailboxParser.parse(from); // a BadRequest when it is not one address
    return from.strip();
  }

  private static void required(String value, String field) {
    if (value == null || value.isBlank()) {
      throw SesException.badRequest("Missing required field " + field + ".");
    }
  }

  /** A header's value may not carry CR, LF or another control character (a header of the caller's own making). */
  private static void noControl(String value, String field) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        throw SesException.badRequest(field + " must not contain control characters (CR, LF or others).");
      }
    }
  }

  /**
   * An absolute http or https URL with a host: where a browser is redirected. Kept in its ASCII form (non-ASCII
   * characters percent-encoded), as a Location header can carry no other.
   */
  static String url(String value, String field) {
    required(value, field);
    if (value.length() > MAX_URL_CHARS) {
      throw SesException.badRequest(field + " is longer than " + MAX_URL_CHARS + " characters.");
    }
    noControl(value, field);
    try {
      URI u = new URI(value);
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null || u.getHost().isEmpty()) {
        throw SesException.badRequest(field + " must be an absolute http or https URL.");
      }
      return u.toASCIIString();
    } catch (URISyntaxException e) {
      throw SesException.badRequest(field + " is not a valid URL.");
    }
  }

  private static long utf8Length(String s) {
    return s.length() > MAX_CONTENT_BYTES ? (long) s.length() : s.getBytes(StandardCharsets.UTF_8).length;
  }
}
