package io.mailgate.api.sesv1;

import io.mailgate.SesException;
import io.mailgate.identity.IdentityPolicies;
import io.mailgate.identity.IdentityPolicy;
import io.mailgate.identity.IdentityPolicyStore;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import java.util.List;
import java.util.Map;

/**
 * SES v1's sending authorization policies: PutIdentityPolicy (creates or replaces), GetIdentityPolicies (the named
 * ones; names the identity does not have are left out), ListIdentityPolicies and DeleteIdentityPolicy. The
 * {@code Identity} is a name or the identity's ARN, as SES takes either ({@link IdentityParameter}); only the owner's
 * own identities are found.
 */
final class IdentityPolicyActions {
  private final IdentityPolicies policies;
  private final IdentityParameter identities;

  IdentityPolicyActions(IdentityPolicies policies, IdentityParameter identities) {
    this.policies = policies;
    this.identities = identities;
  }

  Future<QueryXml> put(Caller caller, QueryParams p) {
    String identity = identity(caller, p);
    return QueryApi.identityKnown(identity, () -> policies.write(caller.account().id(), identity,
        p.required("PolicyName"), p.required("Policy"), IdentityPolicyStore.Write.PUT).map(v -> new QueryXml()));
  }

  Future<QueryXml> get(Caller caller, QueryParams p) {
    List<String> names = p.strings("PolicyNames");
    if (names == null) {
      throw SesException.badRequest("Missing required parameter PolicyNames.");
    }
    if (names.size() > IdentityPolicy.MAX_PER_IDENTITY) {
      throw SesException.badRequest("At most " + IdentityPolicy.MAX_PER_IDENTITY + " policy names per call.");
    }
    String identity = identity(caller, p);
    return QueryApi.identityKnown(identity, () -> policies.policies(caller.account().id(), identity).map(found -> {
      QueryXml xml = new QueryXml().start("Policies");
      for (String name : names) {
        String policy = found.get(name);
        if (policy != null) {
          xml.start("entry").text("key", name).text("value", policy).end("entry");
        }
      }
      return xml.end("Policies");
    }));
  }

  Future<QueryXml> list(Caller caller, QueryParams p) {
    String identity = identity(caller, p);
    return QueryApi.identityKnown(identity, () -> policies.policies(caller.account().id(), identity)
        .map((Map<String, String> found) -> new QueryXml().list("PolicyNames", found.keySet())));
  }

  Future<QueryXml> delete(Caller caller, QueryParams p) {
    String identity = identity(caller, p);
    return QueryApi.identityKnown(identity, () -> policies.delete(caller.account().id(), identity,
        p.required("PolicyName")).map(v -> new QueryXml()));
  }

  private String identity(Caller caller, QueryParams p) {
    return identities.name(caller, p.required("Identity"));
  }
}
