package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.string;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.JsonFields;
import io.mailgate.api.V2Route;
import io.mailgate.send.Caller;
import io.mailgate.store.ResourceTags;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Set;

/**
 * SES v2 resource tagging: TagResource ({@code POST /v2/email/tags}), UntagResource ({@code DELETE /v2/email/tags})
 * and ListTagsForResource ({@code GET /v2/email/tags}), for identities, configuration sets and contact lists named by
 * ARN ({@code arn:aws:ses:<region>:<account>:identity/<name>}, {@code ...:configuration-set/<name>},
 * {@code ...:contact-list/<name>} or {@code ...:tenant/<name>/<id>}). Terraform reads a resource's tags this way after every create. Another account's
 * ARN names nothing here (NotFoundException), once the request is otherwise valid: AWS checks input before it looks
 * anything up. UntagResource's keys are checked as TagResource's are (AWS's own {@code aws:} tags cannot be removed),
 * before anything is removed.
 */
public final class TagsHandler {
  private final ResourceTags tags;

  public TagsHandler(ResourceTags tags) {
    this.tags = tags;
  }

  /** A resource an ARN names; {@code ours}: in the caller's account (another's names nothing here). */
  record Resource(ResourceTags.Kind kind, String name, String arn, boolean ours) {
    /** This resource, once the rest of the request was found valid: NotFound when it is another account's. */
    Resource owned() {
      if (!ours) {
        throw notFound(this);
      }
      return this;
    }
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    Resource r = resource(caller, ctx.queryParams().get("ResourceArn")).owned();
    return tags.list(r.kind(), caller.account().id(), r.name())
        .compose(found -> found.isPresent() ? Future.succeededFuture(new JsonObject().put("Tags", found.get()))
            : Future.failedFuture(notFound(r)));
  }

  public Future<JsonObject> tag(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    Resource r = resource(caller, string(body, "ResourceArn", ""));
    JsonArray given = JsonFields.tags(body, "Tags");
    if (given.isEmpty()) {
      throw SesException.badRequest("Missing required field Tags.");
    }
    r.owned();
    return changed(tags.tag(r.kind(), caller.account().id(), r.name(), given), r);
  }

  public Future<JsonObject> untag(Caller caller, RoutingContext ctx) {
    Resource r = resource(caller, ctx.queryParams().get("ResourceArn"));
    List<String> keys = ctx.queryParams().getAll("TagKeys");
    if (keys.isEmpty()) {
      throw SesException.badRequest("Missing required parameter TagKeys.");
    }
    keys.forEach(JsonFields::tagKey);
    r.owned();
    return changed(tags.untag(r.kind(), caller.account().id(), r.name(), keys), r);
  }

  private static Future<JsonObject> changed(Future<Boolean> change, Resource r) {
    return change.transform(ar -> {
      if (ar.failed()) {
        return Future.failedFuture(ar.cause() instanceof ResourceTags.TooManyTags t
            ? SesException.badRequest(t.getMessage()) : ar.cause());
      }
      return ar.result() ? Future.succeededFuture(new JsonObject()) : Future.failedFuture(notFound(r));
    });
  }

  private static SesException notFound(Resource r) {
    return new SesException(SesError.NOT_FOUND, "Resource " + r.arn() + " does not exist.");
  }

  private static final Set<String> KINDS = Set.of("identity", "configuration-set", "contact-list", "tenant");

  /** The resource an ARN names; bad request when it is not an SES identity, configuration set, contact list or tenant ARN. */
  static Resource resource(Caller caller, String arn) {
    if (arn == null || arn.isBlank()) {
      throw SesException.badRequest("Missing required parameter ResourceArn.");
    }
    ResourceArn r = ResourceArn.parse(caller, arn, KINDS,
        "only identities, configuration sets, contact lists and tenants have tags here.");
    String name = r.name();
    ResourceTags.Kind kind = switch (r.kind()) {
      case "identity" -> ResourceTags.Kind.IDENTITY;
      case "configuration-set" -> ResourceTags.Kind.CONFIGURATION_SET;
      case "contact-list" -> ResourceTags.Kind.CONTACT_LIST;
      default -> {
        // tenant/<name>/<id>: the name names it within the account
        name = name.indexOf('/') < 0 ? name : name.substring(0, name.indexOf('/'));
        if (name.isEmpty()) {
          throw ResourceArn.invalid(r.shown());
        }
        yield ResourceTags.Kind.TENANT;
      }
    };
    return new Resource(kind, name, r.shown(), r.ours());
  }
}
