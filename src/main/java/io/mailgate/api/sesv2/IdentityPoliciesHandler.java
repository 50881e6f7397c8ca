package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.string;

import io.mailgate.SesException;
import io.mailgate.api.V2Route;
import io.mailgate.identity.IdentityPolicies;
import io.mailgate.identity.IdentityPolicyStore;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * SES v2 sending authorization policies ({@code /v2/email/identities/{EmailIdentity}/policies}):
 * CreateEmailIdentityPolicy (POST), UpdateEmailIdentityPolicy (PUT), DeleteEmailIdentityPolicy (DELETE) and
 * GetEmailIdentityPolicies (GET). Only the identity's owner reaches them: another account's identity does not exist
 * here (NotFound).
 */
public final class IdentityPoliciesHandler {
  private final IdentityPolicies policies;

  public IdentityPoliciesHandler(IdentityPolicies policies) {
    this.policies = policies;
  }

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    return write(caller, ctx, IdentityPolicyStore.Write.CREATE);
  }

  public Future<JsonObject> update(Caller caller, RoutingContext ctx) {
    return write(caller, ctx, IdentityPolicyStore.Write.UPDATE);
  }

  private Future<JsonObject> write(Caller caller, RoutingContext ctx, IdentityPolicyStore.Write how) {
    String policy = string(V2Route.requiredBody(ctx), "Policy", "");
    if (policy == null) {
      throw SesException.badRequest("Missing required field Policy.");
    }
    return policies.write(caller.account().id(), ctx.pathParam("identity"), ctx.pathParam("policy"), policy, how)
        .map(v -> new JsonObject());
  }

  public Future<JsonObject> delete(Caller caller, RoutingContext ctx) {
    return policies.delete(caller.account().id(), ctx.pathParam("identity"), ctx.pathParam("policy"))
        .map(v -> new JsonObject());
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    return policies.policies(caller.account().id(), ctx.pathParam("identity"))
        .map(found -> new JsonObject().put("Policies", new JsonObject(new java.util.LinkedHashMap<>(found))));
  }
}
