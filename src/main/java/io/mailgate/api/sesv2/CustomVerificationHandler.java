package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.requiredString;
import static io.mailgate.api.JsonFields.string;

import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.identity.CustomVerificationEmails;
import io.mailgate.identity.CustomVerificationTemplate;
import io.mailgate.identity.CustomVerificationTemplateStore;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * SES v2 custom verification email operations: CreateCustomVerificationEmailTemplate, GetCustomVerificationEmailTemplate,
 * UpdateCustomVerificationEmailTemplate, DeleteCustomVerificationEmailTemplate, ListCustomVerificationEmailTemplates and
 * SendCustomVerificationEmail ({@link CustomVerificationEmails} does the work).
 */
public final class CustomVerificationHandler {
  /** SES: PageSize is at most 50. */
  static final int MAX_PAGE_SIZE = 50;

  private final CustomVerificationEmails emails;

  public CustomVerificationHandler(CustomVerificationEmails emails) {
    this.emails = emails;
  }

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    io.mailgate.api.JsonFields.tags(body, "Tags"); // checked as SES checks them; not kept (see the README)
    return emails.create(caller.account().id(), template(string(body, "TemplateName", ""), body))
        .map(v -> new JsonObject());
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    return emails.find(caller.account().id(), ctx.pathParam("name")).map(t -> new JsonObject()
        .put("TemplateName", t.name()).put("FromEmailAddress", t.fromAddress()).put("TemplateSubject", t.subject())
        .put("TemplateContent", t.content()).put("SuccessRedirectionURL", t.successUrl())
        .put("FailureRedirectionURL", t.failureUrl()).put("Tags", new JsonArray()));
  }

  /** SES v2's update names every field, as its creation does. */
  public Future<JsonObject> update(Caller caller, RoutingContext ctx) {
    CustomVerificationTemplate t = template(ctx.pathParam("name"), V2Route.requiredBody(ctx));
    return emails.update(caller.account().id(), t.name(), t.fromAddress(), t.subject(), t.content(), t.successUrl(),
        t.failureUrl()).map(v -> new JsonObject());
  }

  public Future<JsonObject> delete(Caller caller, RoutingContext ctx) {
    String name = ctx.pathParam("name");
    return emails.delete(caller.account().id(), name).compose(deleted -> deleted
        ? Future.succeededFuture(new JsonObject()) : Future.failedFuture(CustomVerificationEmails.notFound(name)));
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    Paging paging = Paging.of(ctx, V2Route.body(ctx), MAX_PAGE_SIZE);
    if (paging.pageSize() > MAX_PAGE_SIZE) {
      throw SesException.badRequest("PageSize must be between 1 and " + MAX_PAGE_SIZE + ".");
    }
    return emails.page(caller.account().id(), paging.after(), paging.pageSize()).map(rows -> {
      JsonArray out = new JsonArray();
      for (CustomVerificationTemplateStore.Listed t : rows.subList(0, Math.min(rows.size(), paging.pageSize()))) {
        out.add(new JsonObject().put("TemplateName", t.name()).put("FromEmailAddress", t.fromAddress())
            .put("TemplateSubject", t.subject()).put("SuccessRedirectionURL", t.successUrl())
            .put("FailureRedirectionURL", t.failureUrl()));
      }
      JsonObject page = new JsonObject().put("CustomVerificationEmailTemplates", out);
      if (rows.size() > paging.pageSize()) {
        page.put("NextToken", paging.next(rows.get(paging.pageSize() - 1).name()));
      }
      return page;
    });
  }

  public Future<JsonObject> send(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    return emails.send(caller, requiredString(body, "EmailAddress", ""), requiredString(body, "TemplateName", ""),
        string(body, "ConfigurationSetName", "")).map(id -> new JsonObject().put("MessageId", id));
  }

  private static CustomVerificationTemplate template(String name, JsonObject body) {
    return CustomVerificationTemplate.checked(name, string(body, "FromEmailAddress", ""),
        string(body, "TemplateSubject", ""), string(body, "TemplateContent", ""),
        string(body, "SuccessRedirectionURL", ""), string(body, "FailureRedirectionURL", ""));
  }
}
