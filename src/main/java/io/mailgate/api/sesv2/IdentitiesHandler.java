package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.string;

import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.identity.Identity;
import io.mailgate.identity.IdentityService;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Optional;

/**
 * SES v2 identity operations: CreateEmailIdentity, GetEmailIdentity, DeleteEmailIdentity,
 * ListEmailIdentities, PutEmailIdentityDkimAttributes, PutEmailIdentityDkimSigningAttributes,
 * PutEmailIdentityMailFromAttributes and PutEmailIdentityFeedbackAttributes. Responses also carry
 * {@code DnsRecords}, the records to publish (SES clients ignore the extra field).
 */
public final class IdentitiesHandler {
  private final IdentityService identities;

  private final io.mailgate.configset.ConfigurationSetStore configurationSets;

  private final io.mailgate.identity.IdentityPolicies policies;

  public IdentitiesHandler(IdentityService identities, io.mailgate.configset.ConfigurationSetStore configurationSets,
      io.mailgate.identity.IdentityPolicies policies) {
    this.identities = identities;
    this.policies = policies;
    this.configurationSets = configurationSets;
  }

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String name = string(body, "EmailIdentity", "");
    if (name == null) {
      throw SesException.badRequest("Missing required field EmailIdentity.");
    }
    IdentityService.DkimRequest dkim = dkimRequest(object(body, "DkimSigningAttributes", ""));
    JsonArray tags = io.mailgate.api.JsonFields.tags(body, "Tags");
    return create(caller, name, dkim, string(body, "ConfigurationSetName", ""), tags);
  }

  /** CreateEmailIdentity once its request is read (the API, the console's form): SES's answer. */
  public Future<JsonObject> create(Caller caller, String name, IdentityService.DkimRequest dkim, String set,
      JsonArray tags) {
    String account = caller.account().id();
    // an address at a verified domain (or a subdomain of one) can send at once, as GetEmailIdentity answers
    return setExists(caller, set).compose(v -> identities.create(caller.account(), name, dkim, set, tags))
        .compose(i -> identities.sendable(account, List.of(i)).map(s -> s.contains(i.name())).map(verified -> {
          JsonObject r = new JsonObject()
              .put("IdentityType", i.type().name())
              .put("VerifiedForSendingStatus", verified);
          if (i.isDomain()) {
            r.put("DkimAttributes", dkimAttributes(i));
            r.put("DnsRecords", dnsRecords(i));
          }
          return r;
        }));
  }

  private static IdentityService.DkimRequest dkimRequest(JsonObject attrs) {
    if (attrs == null) {
      return null;
    }
    return new IdentityService.DkimRequest(string(attrs, "DomainSigningSelector", "DkimSigningAttributes"),
        string(attrs, "DomainSigningPrivateKey", "DkimSigningAttributes"),
        string(attrs, "NextSigningKeyLength", "DkimSigningAttributes"));
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    String account = caller.account().id();
    return identities.get(account, ctx.pathParam("identity")).compose(i -> (i.isDomain()
            ? Future.succeededFuture(Optional.<Identity>empty()) : identities.parentDomain(account, i))
        .compose(parent -> identities.notifications(account, List.of(i.name()))
            .map(n -> n.isEmpty() || n.get(i.name()).forwarding())
            .compose(forwarding -> identities.sendable(account, List.of(i)).map(s -> s.contains(i.name()))
            .compose(verified -> policies.policies(account, i.name()).map(found -> {
          Identity dkimSource = parent.orElse(i);
          JsonObject r = new JsonObject()
              .put("IdentityType", i.type().name())
              .put("FeedbackForwardingStatus", forwarding)
              .put("VerifiedForSendingStatus", verified)
              .put("VerificationStatus", i.verificationStatus().name())
              // an address signs with its domain's key, unless its own signing is off (SetIdentityDkimEnabled)
              .put("DkimAttributes", dkimAttributes(dkimSource).put("SigningEnabled",
                  dkimSource.isDomain() && dkimSource.dkimSigningEnabled() && i.dkimSigningEnabled()))
              .put("MailFromAttributes", new JsonObject()
                  .put("MailFromDomain", i.mailFromDomain() == null ? "" : i.mailFromDomain())
                  .put("MailFromDomainStatus", i.mailFromStatus() == null ? "PENDING" : i.mailFromStatus().name())
                  .put("BehaviorOnMxFailure", i.mailFromBehavior()))
              .put("Policies", new JsonObject(new java.util.LinkedHashMap<>(found)))
              .put("Tags", i.tags() == null ? new JsonArray() : i.tags());
          if (i.configurationSet() != null) {
            r.put("ConfigurationSetName", i.configurationSet());
          }
          if (dkimSource.isDomain()) {
            r.put("DnsRecords", dnsRecords(dkimSource));
          }
          return r;
        })))));
  }

  public Future<JsonObject> delete(Caller caller, RoutingContext ctx) {
    return delete(caller, ctx.pathParam("identity")).map(v -> new JsonObject());
  }

  /** DeleteEmailIdentity (the API, the console's form); NotFound for an identity the account does not have. */
  public Future<Void> delete(Caller caller, String identity) {
    return identities.delete(caller.account().id(), identity);
  }

  /** The console's "verify again" ({@link IdentityService#verifyAgain}): no SES v2 operation does it. */
  public Future<IdentityService.Again> verifyAgain(Caller caller, String identity) {
    return identities.verifyAgain(caller.account(), identity);
  }

  /**
   * GET /v2/email/identities (query) and POST /v2/email/list-identities (body, with its Filter), as SDK versions
   * differ.
   */
  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    Paging paging = Paging.of(ctx, body, 100);
    String contains = ListFilter.of(body, List.of("IDENTITY_NAME_CONTAINS")).get("IDENTITY_NAME_CONTAINS");
    String account = caller.account().id();
    return identities.list(account, paging.after(), paging.pageSize(), contains).compose(page -> identities
        .sendable(account, page.identities()).map(sendable -> {
      JsonArray items = new JsonArray();
      for (Identity i : page.identities()) {
        items.add(new JsonObject()
            .put("IdentityType", i.type().name())
            .put("IdentityName", i.name())
            .put("SendingEnabled", sendable.contains(i.name()))
            .put("VerificationStatus", i.verificationStatus().name()));
      }
      JsonObject r = new JsonObject().put("EmailIdentities", items);
      if (page.nextAfter() != null) {
        r.put("NextToken", paging.next(page.nextAfter()));
      }
      return r;
    }));
  }

  public Future<JsonObject> putDkim(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    Object enabled = body.getValue("SigningEnabled");
    if (enabled != null && !(enabled instanceof Boolean)) {
      throw SesException.badRequest("Invalid type for field SigningEnabled: expected a boolean.");
    }
    // absent is false: the AWS SDK for Go (and Terraform) sends a false boolean by leaving it out
    return identities.setDkimSigningEnabled(caller.account().id(), ctx.pathParam("identity"),
        enabled != null && (Boolean) enabled).map(v -> new JsonObject());
  }

  public Future<JsonObject> putDkimSigning(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String origin = string(body, "SigningAttributesOrigin", "");
    if (origin == null) {
      throw SesException.badRequest("Missing required field SigningAttributesOrigin.");
    }
    IdentityService.DkimRequest dkim = dkimRequest(object(body, "SigningAttributes", ""));
    return identities.setDkimSigning(caller.account().id(), ctx.pathParam("identity"), origin, dkim)
        .map(i -> new JsonObject().put("DkimStatus", i.dkimStatus().name())
            .put("DkimTokens", dkimAttributes(i).getJsonArray("Tokens", new JsonArray())));
  }

  /**
   * The default configuration set must exist, as in SES: a name that names nothing would be a default that never
   * applies (read from the store, not a cache: a set created a moment ago counts).
   */
  private Future<Void> setExists(Caller caller, String set) {
    return set == null ? Future.succeededFuture() : configurationSets.find(caller.account().id(), set)
        .compose(found -> found.isPresent() ? Future.<Void>succeededFuture() : Future.failedFuture(new SesException(
            io.mailgate.SesError.CONFIGURATION_SET_NOT_FOUND, "Configuration set <" + set + "> does not exist.")));
  }

  /** PutEmailIdentityConfigurationSetAttributes: the identity's default set, or none when the body names none. */
  public Future<JsonObject> putConfigurationSet(Caller caller, RoutingContext ctx) {
    String set = string(V2Route.body(ctx), "ConfigurationSetName", "");
    String chosen = set == null || set.isEmpty() ? null : set;
    return setExists(caller, chosen)
        .compose(v -> identities.setConfigurationSet(caller.account().id(), ctx.pathParam("identity"), chosen))
        .map(v -> new JsonObject());
  }

  /**
   * PutEmailIdentityFeedbackAttributes: feedback forwarding on or off ({@code EmailForwardingEnabled} left out is
   * false, as SDKs that send a boolean only when it is true mean), without SES v1's rule that the identity have a
   * bounce and a complaint topic (SES v2 does not have it); stored and reported, Mailgate does not mail feedback to
   * the Return-Path.
   */
  public Future<JsonObject> putFeedback(Caller caller, RoutingContext ctx) {
    boolean enabled = io.mailgate.api.JsonFields.bool(V2Route.body(ctx), "EmailForwardingEnabled", "", false);
    return identities.setFeedbackForwarding(caller.account().id(), ctx.pathParam("identity"), enabled, false)
        .map(v -> new JsonObject());
  }

  public Future<JsonObject> putMailFrom(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    return identities.setMailFrom(caller.account().id(), ctx.pathParam("identity"),
        string(body, "MailFromDomain", ""), string(body, "BehaviorOnMxFailure", "")).map(v -> new JsonObject());
  }

  static JsonObject dkimAttributes(Identity i) {
    JsonObject d = new JsonObject()
        .put("SigningEnabled", i.isDomain() && i.dkimSigningEnabled())
        .put("Status", i.dkimStatus().name());
    if (i.dkimSelector() != null) {
      JsonArray tokens = new JsonArray().add(i.dkimSelector());
      if (i.nextDkimKey() != null) {
        tokens.add(i.nextDkimKey().selector());
      }
      d.put("Tokens", tokens)
          .put("SigningAttributesOrigin", i.dkimOrigin())
          .put("NextSigningKeyLength", i.nextDkimKey() == null ? i.dkimKeyLength() : i.nextDkimKey().keyLength())
          .put("CurrentSigningKeyLength", i.dkimKeyLength());
      if (i.dkimKeyCreatedAt() != null) {
        d.put("LastKeyGenerationTimestamp", i.dkimKeyCreatedAt().getEpochSecond());
      }
    }
    return d;
  }

  /** The records a domain identity's owner publishes: its DKIM key's, and the next key's while one is waiting. */
  public static JsonArray dnsRecords(Identity i) {
    JsonArray records = new JsonArray();
    if (i.dkimRecordName() != null) {
      records.add(new JsonObject().put("Name", i.dkimRecordName()).put("Type", "TXT").put("Value", i.dkimRecordValue()));
    }
    if (i.nextDkimKey() != null) { // to publish beside the current one: the next key signs once it is found
      records.add(new JsonObject().put("Name", i.nextDkimKey().recordName(i.name())).put("Type", "TXT")
          .put("Value", i.nextDkimKey().recordValue()));
    }
    return records;
  }
}
