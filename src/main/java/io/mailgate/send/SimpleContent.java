package io.mailgate.send;

import io.mailgate.SesException;
import java.nio.charset.Charset;
import java.util.List;

/** SES {@code Content.Simple}: subject, text and/or HTML body, custom headers, attachments. */
public record SimpleContent(String subject, Charset subjectCharset, TextBody text, TextBody html,
    List<MessageHeader> headers, List<Attachment> attachments) implements Content {

  public SimpleContent {
    if (subject == null) {
      throw SesException.badRequest("Subject is required.");
    }
    MessageHeader.requireNoControl(subject, "Subject");
    if (text == null && html == null) {
      throw SesException.badRequest("Message body must contain Text or Html.");
    }
    headers = headers == null ? List.of() : List.copyOf(headers);
    attachments = attachments == null ? List.of() : List.copyOf(attachments);
  }
}
