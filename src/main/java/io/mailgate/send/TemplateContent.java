package io.mailgate.send;

import io.mailgate.SesException;
import java.util.List;

/**
 * SES {@code Content.Template}: a stored template by name or ARN, or one given inline, with the data to render it
 * (a JSON object), extra headers and attachments. {@link SendService} renders it into {@link SimpleContent} once the
 * send is checked and counted against the account's sending limits ({@link SendService.Admitted}).
 */
public record TemplateContent(String name, String arn, EmailTemplate inline, String data, List<MessageHeader> headers,
    List<Attachment> attachments) implements Content {

  public TemplateContent {
    int given = (name != null ? 1 : 0) + (arn != null ? 1 : 0) + (inline != null ? 1 : 0);
    if (given == 0) {
      throw SesException.badRequest("Template content needs TemplateName, TemplateArn or TemplateContent.");
    }
    if (inline != null && given > 1) {
      throw SesException.badRequest("Template content takes TemplateContent or a stored template, not both.");
    }
    if (name != null) {
      EmailTemplate.checkName(name);
    }
    headers = headers == null ? List.of() : List.copyOf(headers);
    attachments = attachments == null ? List.of() : List.copyOf(attachments);
  }
}
