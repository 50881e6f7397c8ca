package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.blob;
import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.objects;
import static io.mailgate.api.JsonFields.requiredString;
import static io.mailgate.api.JsonFields.string;
import static io.mailgate.api.JsonFields.strings;

import io.mailgate.SesException;
import io.mailgate.api.SesRawHeaders;
import io.mailgate.send.Attachment;
import io.mailgate.send.Content;
import io.mailgate.send.EmailTemplate;
import io.mailgate.send.MessageHeader;
import io.mailgate.send.RawContent;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SimpleContent;
import io.mailgate.send.TemplateContent;
import io.mailgate.send.TextBody;
import io.mailgate.send.TransferEncoding;
import io.vertx.core.json.JsonObject;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;

/** Reads an SES v2 SendEmail request body into a {@link SendRequest}. */
final class SendEmailRequests {
  private SendEmailRequests() {}

  static SendRequest parse(JsonObject body) {
    JsonObject dest = object(body, "Destination", "");
    SendRequest.Destination destination = dest == null ? null : new SendRequest.Destination(
        strings(dest, "ToAddresses", "Destination"), strings(dest, "CcAddresses", "Destination"),
        strings(dest, "BccAddresses", "Destination"));
    List<SendRequest.EmailTag> tags = tags(body, "EmailTags");
    JsonObject content = object(body, "Content", "");
    if (content == null) {
      throw SesException.badRequest("Missing required field Content.");
    }
    Content c = content(content);
    // sending authorization is checked as the action the content makes the send (SES: SendEmail with Raw content is
    // checked as ses:SendRawEmail)
    String action = c instanceof RawContent ? "ses:SendRawEmail"
        : c instanceof TemplateContent ? "ses:SendTemplatedEmail" : "ses:SendEmail";
    // Raw content is SendRawEmail: SES's X-SES-* headers apply where the parameters say nothing; for Raw content
    // FromEmailAddressIdentityArn takes the place of both X-SES-SOURCE-ARN and X-SES-FROM-ARN (SES's API reference)
    String fromArn = string(body, "FromEmailAddressIdentityArn", "");
    return SesRawHeaders.applyTo(new SendRequest(string(body, "FromEmailAddress", ""), destination,
        strings(body, "ReplyToAddresses", ""), string(body, "ConfigurationSetName", ""), tags, c,
        blankToNull(string(body, "FeedbackForwardingEmailAddress", "")), listManagement(body),
        SendRequest.IdentityArns.of(action, fromArn, c instanceof RawContent ? fromArn : null,
            string(body, "FeedbackForwardingEmailAddressIdentityArn", "")), blankToNull(string(body, "TenantName", ""))));
  }

  /**
   * An address field left blank (as some SDKs send an unset one) is none: for a Raw message without a
   * FromEmailAddress, the Return-Path header then names where its feedback goes.
   */
  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }

  /** {@code ListManagementOptions}: the contact list (required) and topic (optional) a message is sent for. */
  static SendRequest.ListManagement listManagement(JsonObject o) {
    JsonObject options = object(o, "ListManagementOptions", "");
    return options == null ? null : new SendRequest.ListManagement(
        requiredString(options, "ContactListName", "ListManagementOptions"),
        string(options, "TopicName", "ListManagementOptions"));
  }

  private static Content content(JsonObject content) {
    JsonObject simple = object(content, "Simple", "Content");
    JsonObject raw = object(content, "Raw", "Content");
    JsonObject template = object(content, "Template", "Content");
    int kinds = (simple != null ? 1 : 0) + (raw != null ? 1 : 0) + (template != null ? 1 : 0);
    if (kinds != 1) {
      throw SesException.badRequest("Content must contain exactly one of Simple, Raw or Template.");
    }
    if (raw != null) {
      byte[] data = blob(raw, "Data", "Content.Raw");
      if (data == null) {
        throw SesException.badRequest("Missing required field Content.Raw.Data.");
      }
      return new RawContent(data);
    }
    if (template != null) {
      return template(template);
    }
    return simple(simple);
  }

  static List<SendRequest.EmailTag> tags(JsonObject o, String field) {
    List<SendRequest.EmailTag> tags = new ArrayList<>();
    for (JsonObject t : objects(o, field, "")) {
      tags.add(new SendRequest.EmailTag(requiredString(t, "Name", field), requiredString(t, "Value", field)));
    }
    return tags;
  }

  /** {@code Content.Template}, as SendEmail gives it. */
  static TemplateContent template(JsonObject t) {
    JsonObject inline = object(t, "TemplateContent", "Content.Template");
    return new TemplateContent(string(t, "TemplateName", "Content.Template"), string(t, "TemplateArn", "Content.Template"),
        inline == null ? null : new EmailTemplate("inline", string(inline, "Subject", "Content.Template.TemplateContent"),
            string(inline, "Text", "Content.Template.TemplateContent"),
            string(inline, "Html", "Content.Template.TemplateContent")),
        string(t, "TemplateData", "Content.Template"), headers(t, "Headers", "Content.Template"), attachments(t, "Content.Template"));
  }

  /** SES's limit on a message's Headers (and a bulk entry's ReplacementHeaders). */
  static final int MAX_HEADERS = 15;

  static List<MessageHeader> headers(JsonObject o, String field, String path) {
    List<JsonObject> given = objects(o, field, path);
    if (given.size() > MAX_HEADERS) {
      throw SesException.badRequest("Too many headers in " + (path.isEmpty() ? "" : path + ".") + field + ": "
          + given.size() + " given, at most " + MAX_HEADERS + " allowed.");
    }
    List<MessageHeader> headers = new ArrayList<>();
    for (JsonObject h : given) {
      headers.add(new MessageHeader(requiredString(h, "Name", path + "." + field),
          requiredString(h, "Value", path + "." + field)));
    }
    return headers;
  }

  private static List<Attachment> attachments(JsonObject o, String path) {
    List<Attachment> attachments = new ArrayList<>();
    for (JsonObject a : objects(o, "Attachments", path)) {
      attachments.add(attachment(a, path + ".Attachments"));
    }
    return attachments;
  }

  private static SimpleContent simple(JsonObject simple) {
    JsonObject subject = object(simple, "Subject", "Content.Simple");
    if (subject == null) {
      throw SesException.badRequest("Missing required field Content.Simple.Subject.");
    }
    String subjectData = requiredString(subject, "Data", "Content.Simple.Subject");
    Charset subjectCharset = TextBody.charset(string(subject, "Charset", "Content.Simple.Subject"),
        "Content.Simple.Subject.Charset");
    JsonObject body = object(simple, "Body", "Content.Simple");
    if (body == null) {
      throw SesException.badRequest("Missing required field Content.Simple.Body.");
    }
    TextBody text = textBody(object(body, "Text", "Content.Simple.Body"), "Content.Simple.Body.Text");
    TextBody html = textBody(object(body, "Html", "Content.Simple.Body"), "Content.Simple.Body.Html");
    return new SimpleContent(subjectData, subjectCharset, text, html, headers(simple, "Headers", "Content.Simple"),
        attachments(simple, "Content.Simple"));
  }

  private static TextBody textBody(JsonObject o, String path) {
    if (o == null) {
      return null;
    }
    return new TextBody(requiredString(o, "Data", path), TextBody.charset(string(o, "Charset", path), path + ".Charset"));
  }

  private static Attachment attachment(JsonObject a, String path) {
    byte[] raw = blob(a, "RawContent", path);
    String disposition = string(a, "ContentDisposition", path);
    boolean inline;
    if (disposition == null || disposition.equals("ATTACHMENT")) {
      inline = false;
    } else if (disposition.equals("INLINE")) {
      inline = true;
    } else {
      throw SesException.badRequest("Invalid ContentDisposition '" + disposition + "': use ATTACHMENT or INLINE.");
    }
    String cte = string(a, "ContentTransferEncoding", path);
    TransferEncoding encoding;
    if (cte == null || cte.equals("BASE64")) {
      encoding = TransferEncoding.BASE64;
    } else if (cte.equals("QUOTED_PRINTABLE")) {
      encoding = TransferEncoding.QUOTED_PRINTABLE;
    } else if (cte.equals("SEVEN_BIT")) {
      encoding = TransferEncoding.SEVEN_BIT;
    } else {
      throw SesException.badRequest("Invalid ContentTransferEncoding '" + cte
          + "': use BASE64, QUOTED_PRINTABLE or SEVEN_BIT.");
    }
    return new Attachment(raw, string(a, "FileName", path), string(a, "ContentType", path), inline,
        string(a, "ContentId", path), string(a, "ContentDescription", path), encoding);
  }
}
