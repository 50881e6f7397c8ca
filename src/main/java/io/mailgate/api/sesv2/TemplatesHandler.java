package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.string;

import io.mailgate.OffLoop;
import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.send.Caller;
import io.mailgate.send.EmailTemplate;
import io.mailgate.send.MimeBuilder;
import io.mailgate.send.TemplateRenderer;
import io.mailgate.send.Templates;
import io.mailgate.store.TemplateStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;

/**
 * SES v2 email template operations: CreateEmailTemplate, GetEmailTemplate, UpdateEmailTemplate, DeleteEmailTemplate,
 * ListEmailTemplates and TestRenderEmailTemplate. A template that does not compile is refused when it is stored.
 */
public final class TemplatesHandler {
  private final TemplateStore store;
  private final Templates templates;
  private final Clock clock;

  public TemplatesHandler(TemplateStore store, Templates templates, Clock clock) {
    this.store = store;
    this.templates = templates;
    this.clock = clock;
  }

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    io.mailgate.api.JsonFields.tags(body, "Tags"); // checked as SES checks them; not kept (see the README)
    return create(caller.account().id(), template(string(body, "TemplateName", ""), body)).map(v -> new JsonObject());
  }

  /** Stores a new template once it compiles (CreateEmailTemplate, v1 CreateTemplate). */
  public Future<Void> create(String accountId, EmailTemplate t) {
    return checked(accountId, t).compose(v -> store.create(accountId, t))
        .andThen(ar -> templates.changed(accountId, t.name())); // a miss cached before it existed
  }

  /** Replaces a template once the new one compiles; TEMPLATE_NOT_FOUND when there is none. */
  public Future<Void> update(String accountId, EmailTemplate t) {
    return checked(accountId, t).compose(v -> store.update(accountId, t))
        .andThen(ar -> templates.changed(accountId, t.name()))
        .compose(updated -> updated ? Future.<Void>succeededFuture() : Future.failedFuture(notFound(t.name())));
  }

  /** The stored template; TEMPLATE_NOT_FOUND when there is none. */
  public Future<EmailTemplate> find(String accountId, String name) {
    EmailTemplate.checkName(name);
    return store.find(accountId, name)
        .compose(found -> found.isPresent() ? Future.succeededFuture(found.get()) : Future.failedFuture(notFound(name)));
  }

  /** Deletes a template; whether there was one. */
  public Future<Boolean> delete(String accountId, String name) {
    EmailTemplate.checkName(name);
    return store.delete(accountId, name).andThen(ar -> templates.changed(accountId, name));
  }

  /** Up to {@code size} templates after {@code after} (by name), and one more when there are more. */
  public Future<List<TemplateStore.Listed>> page(String accountId, String after, int size) {
    return store.page(accountId, after, size + 1);
  }

  /**
   * The whole message the template and the data make, without sender or recipients (TestRenderEmailTemplate, v1
   * TestRenderTemplate). Read fresh: a template just changed renders as it is now.
   */
  public Future<String> render(String accountId, String name, String data) {
    ZonedDateTime now = ZonedDateTime.ofInstant(clock.instant(), ZoneOffset.UTC);
    return find(accountId, name).compose(t -> templates.renderOne(accountId, t, data, true)).compose(rendered -> OffLoop.when(
        length(rendered.text()) + length(rendered.html()), () -> {
          byte[] message = MimeBuilder.build(new MimeBuilder.Headers(null, List.of(), List.of(), List.of(), null, now),
              TemplateRenderer.content(rendered, List.of(), List.of()));
          return new String(message, StandardCharsets.UTF_8);
        }));
  }

  private static long length(String s) {
    return s == null ? 0 : s.length();
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    return find(caller.account().id(), ctx.pathParam("name")).map(t -> {
      JsonObject content = new JsonObject().put("Subject", t.subject());
      if (t.text() != null) {
        content.put("Text", t.text());
      }
      if (t.html() != null) {
        content.put("Html", t.html());
      }
      return new JsonObject().put("TemplateName", t.name()).put("TemplateContent", content);
    });
  }

  public Future<JsonObject> update(Caller caller, RoutingContext ctx) {
    return update(caller.account().id(), template(ctx.pathParam("name"), V2Route.requiredBody(ctx)))
        .map(v -> new JsonObject());
  }

  public Future<JsonObject> delete(Caller caller, RoutingContext ctx) {
    return delete(caller, ctx.pathParam("name")).map(v -> new JsonObject());
  }

  /** DeleteEmailTemplate (the API, the console's form); TEMPLATE_NOT_FOUND when there is none. */
  public Future<Void> delete(Caller caller, String name) {
    return delete(caller.account().id(), name)
        .compose(deleted -> deleted ? Future.<Void>succeededFuture() : Future.failedFuture(notFound(name)));
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    Paging paging = Paging.of(ctx, V2Route.body(ctx), 10);
    if (paging.pageSize() > 100) { // SES's most for ListEmailTemplates
      throw SesException.badRequest("PageSize must be between 1 and 100.");
    }
    return page(caller.account().id(), paging.after(), paging.pageSize()).map(rows -> {
      JsonArray out = new JsonArray();
      for (TemplateStore.Listed t : rows.subList(0, Math.min(rows.size(), paging.pageSize()))) {
        out.add(new JsonObject().put("TemplateName", t.name()).put("CreatedTimestamp", t.createdAt().toEpochMilli() / 1000.0));
      }
      JsonObject page = new JsonObject().put("TemplatesMetadata", out);
      if (rows.size() > paging.pageSize()) {
        page.put("NextToken", paging.next(rows.get(paging.pageSize() - 1).name()));
      }
      return page;
    });
  }

  /** The whole message SES would build from the template and the data, without sender or recipients. */
  public Future<JsonObject> render(Caller caller, RoutingContext ctx) {
    String name = EmailTemplate.checkName(ctx.pathParam("name"));
    JsonObject body = V2Route.requiredBody(ctx);
    String data = string(body, "TemplateData", "");
    if (data == null) {
      throw SesException.badRequest("Missing required field TemplateData.");
    }
    return render(caller.account().id(), name, data).map(m -> new JsonObject().put("RenderedTemplate", m));
  }

  /** Compiled on a worker before it is stored: a syntax error is the caller's 400, not every later send's. */
  private Future<Void> checked(String accountId, EmailTemplate t) {
    return templates.render(accountId, t, List.of(), true).<Void>mapEmpty();
  }

  /** A TemplateContent object (SES's EmailTemplateContent), read into a template named {@code name}. */
  static EmailTemplate template(String name, JsonObject body) {
    EmailTemplate.checkName(name);
    JsonObject content = object(body, "TemplateContent", "");
    if (content == null) {
      throw SesException.badRequest("Missing required field TemplateContent.");
    }
    return new EmailTemplate(name, string(content, "Subject", "TemplateContent"), string(content, "Text", "TemplateContent"),
        string(content, "Html", "TemplateContent"));
  }

  private static SesException notFound(String name) {
    return new SesException(SesError.TEMPLATE_NOT_FOUND, "Template " + name + " does not exist.");
  }
}
