package io.mailgate.send;

import io.mailgate.SesException;

/**
 * An SES email template: a name and Handlebars sources for the subject, the text part and the HTML part. The subject
 * and at least one part are required, as for a Simple message; together they stay under SES's 500 KB.
 */
public record EmailTemplate(String name, String subject, String text, String html) {
  /** SES's limit on a template's size, all parts together. */
  public static final int MAX_BYTES = 500 * 1024;

  public EmailTemplate {
    checkName(name);
    if (subject == null) {
      throw SesException.badRequest("Template content must have a Subject.");
    }
    if (text == null && html == null) {
      throw SesException.badRequest("Template content must have a Text or an Html part.");
    }
    long bytes = utf8Length(subject) + utf8Length(text) + utf8Length(html);
    if (bytes > MAX_BYTES) {
      throw SesException.badRequest("Template content is " + bytes + " bytes; the limit is " + MAX_BYTES + ".");
    }
  }

  /** SES: letters, digits, underscores and dashes, at most 64 characters. */
  public static String checkName(String name) {
    if (name == null || name.isEmpty()) {
      throw SesException.badRequest("Missing required field TemplateName.");
    }
    if (name.length() > 64) {
      throw SesException.badRequest("TemplateName is longer than 64 characters.");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
        throw SesException.badRequest("TemplateName '" + MailboxParser.abbreviate(name)
            + "' may contain only ASCII letters, numbers, underscores and dashes.");
      }
    }
    return name;
  }

  private static long utf8Length(String s) {
    if (s == null) {
      return 0;
    }
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3; // a pair is 4 bytes, 2 per half
    }
    return n;
  }
}
