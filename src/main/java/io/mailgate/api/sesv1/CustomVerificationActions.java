package io.mailgate.api.sesv1;

import io.mailgate.SesException;
import io.mailgate.identity.CustomVerificationEmails;
import io.mailgate.identity.CustomVerificationTemplate;
import io.mailgate.identity.CustomVerificationTemplateStore;
import io.mailgate.send.Caller;
import io.vertx.core.Future;

/**
 * SES v1's custom verification email actions: CreateCustomVerificationEmailTemplate, UpdateCustomVerificationEmailTemplate
 * (the parameters given replace the template's, the others are kept), GetCustomVerificationEmailTemplate,
 * DeleteCustomVerificationEmailTemplate (a template that is not there is not an error, as in SES v1),
 * ListCustomVerificationEmailTemplates and SendCustomVerificationEmail, on the v2 API's {@link CustomVerificationEmails}.
 * Creation, update and deletion answer no result element: SES v1 has none for them.
 */
final class CustomVerificationActions {
  /** SES: MaxResults is 1 to 50; left out or outside that, up to 50 are answered. */
  static final int MAX_RESULTS = 50;

  private final CustomVerificationEmails emails;

  CustomVerificationActions(CustomVerificationEmails emails) {
    this.emails = emails;
  }

  Future<QueryXml> create(Caller caller, QueryParams p) {
    return emails.create(caller.account().id(), CustomVerificationTemplate.checked(p.required("TemplateName"),
        p.string("FromEmailAddress"), p.string("TemplateSubject"), p.string("TemplateContent"),
        p.string("SuccessRedirectionURL"), p.string("FailureRedirectionURL"))).map(v -> null);
  }

  Future<QueryXml> update(Caller caller, QueryParams p) {
    return emails.update(caller.account().id(), p.required("TemplateName"), p.string("FromEmailAddress"),
        p.string("TemplateSubject"), p.string("TemplateContent"), p.string("SuccessRedirectionURL"),
        p.string("FailureRedirectionURL")).map(v -> null);
  }

  Future<QueryXml> get(Caller caller, QueryParams p) {
    return emails.find(caller.account().id(), p.required("TemplateName")).map(t -> new QueryXml()
        .text("TemplateName", t.name()).text("FromEmailAddress", t.fromAddress()).text("TemplateSubject", t.subject())
        .text("TemplateContent", t.content()).text("SuccessRedirectionURL", t.successUrl())
        .text("FailureRedirectionURL", t.failureUrl()));
  }

  Future<QueryXml> delete(Caller caller, QueryParams p) {
    return emails.delete(caller.account().id(), p.required("TemplateName")).map(deleted -> null);
  }

  Future<QueryXml> list(Caller caller, QueryParams p) {
    int max = maxResults(p.string("MaxResults"));
    String token = p.string("NextToken");
    return emails.page(caller.account().id(), token == null || token.isEmpty() ? null : QueryApi.fromToken(token), max)
        .map(rows -> {
          QueryXml xml = new QueryXml().start("CustomVerificationEmailTemplates");
          for (CustomVerificationTemplateStore.Listed t : rows.subList(0, Math.min(rows.size(), max))) {
            xml.start("member").text("TemplateName", t.name()).text("FromEmailAddress", t.fromAddress())
                .text("TemplateSubject", t.subject()).text("SuccessRedirectionURL", t.successUrl())
                .text("FailureRedirectionURL", t.failureUrl()).end("member");
          }
          xml.end("CustomVerificationEmailTemplates");
          return rows.size() > max ? xml.text("NextToken", QueryApi.toToken(rows.get(max - 1).name())) : xml;
        });
  }

  Future<QueryXml> send(Caller caller, QueryParams p) {
    return emails.send(caller, p.required("EmailAddress"), p.required("TemplateName"), p.string("ConfigurationSetName"))
        .map(id -> new QueryXml().text("MessageId", id));
  }

  static int maxResults(String s) {
    if (s == null || s.isEmpty()) {
      return MAX_RESULTS;
    }
    int n;
    try {
      n = Integer.parseInt(s.strip());
    } catch (NumberFormatException e) {
      throw SesException.badRequest("MaxResults must be a number.");
    }
    return n < 1 || n > MAX_RESULTS ? MAX_RESULTS : n;
  }
}
