package io.mailgate.send;

import io.mailgate.SesException;
import java.nio.charset.Charset;
import java.util.List;

/** SES {@code Content.Simple}: subject, text and/or HTML body, custom headers, attachments. */
public record SimpleContent(String subject, Charset subjectCharset, TextBody text, TextBody html,
    List<MessageHeader> headers, List<Attachment> attachments) implements Content {
  /** Far beyond any mail client's display, and small enough that encoding and folding it costs nothing much. */
  public static final int MAX_SUBJECT_CHARS = 10_000;

  public SimpleContent {
    if (subject == null) {
      throw SesException.badRequest("Subject is required.");
    }
    if (subject.length() > MAX_SUBJECT_CHARS) {
      throw SesException.badRequest("Subject is longer than " + MAX_SUBJECT_CHARS + " characters.");
    }
    MessageHeader.requireNoControl(subject, "Subject");
    if (text == null && html == null) {
      throw SesException.badRequest("Message body must contain Text or Html.");
    }
    headers = headers == null ? List.of() : List.copyOf(headers);
    MessageHeader.requireSingles(headers);
    attachments = attachments == null ? List.of() : List.copyOf(attachments);
  }
}
