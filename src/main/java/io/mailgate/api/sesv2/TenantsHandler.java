package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.requiredString;

import io.mailgate.EventBusAddresses;
import io.mailgate.SesArn;
import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.JsonFields;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.send.Caller;
import io.mailgate.send.MailboxParser;
import io.mailgate.store.TenantStore;
import io.mailgate.store.TenantStore.ResourceType;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * SES v2 tenants: CreateTenant, GetTenant, ListTenants, DeleteTenant, CreateTenantResourceAssociation,
 * DeleteTenantResourceAssociation, ListTenantResources and ListResourceTenants; and tenants as reputation entities:
 * GetReputationEntity, ListReputationEntities, UpdateReputationEntityCustomerManagedStatus and
 * UpdateReputationEntityPolicy. A tenant's ARN is {@code arn:aws:ses:<region>:<account>:tenant/<name>/<id>}; the
 * resources it is associated with are named by their ARNs ({@code identity/}, {@code configuration-set/},
 * {@code template/}). Tenants are the only reputation entities here (SES also lists the resources associated with
 * them). Tenant-level suppression lists (SuppressionAttributes, PutTenantSuppressionAttributes) are not supported: the
 * account's list applies to every tenant, and a request that sets one is refused rather than ignored.
 */
public final class TenantsHandler {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final Pattern POLICY = Pattern.compile("arn:[a-z0-9-]+:ses:[a-z0-9-]+:aws:reputation-policy/(none|standard|strict)");
  private static final List<String> CUSTOMER_STATUSES = List.of("ENABLED", "DISABLED", "REINSTATED");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final TenantStore store;
  private final String region;
  private final Vertx vertx;

  public TenantsHandler(Vertx vertx, TenantStore store, String region) {
    this.vertx = vertx;
    this.store = store;
    this.region = region;
  }

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String name = name(requiredString(body, "TenantName", ""));
    refuseSuppression(body);
    JsonArray tags = distinctKeys(JsonFields.tags(body, "Tags"));
    String id = "tn-" + HexFormat.of().formatHex(randomBytes());
    return store.create(caller.account().id(), name, id, tags).map(t -> {
      JsonObject out = tenant(caller, t);
      out.put("Tags", t.tags());
      return out;
    });
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    String name = name(requiredString(V2Route.requiredBody(ctx), "TenantName", ""));
    return found(caller, name).map(t -> new JsonObject().put("Tenant", tenant(caller, t).put("Tags", t.tags())));
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    Paging paging = Paging.of(ctx, body, 100);
    Map<String, String> filter = ListFilter.of(body, List.of("SENDING_STATUS", "TENANT_NAME_CONTAINS"));
    String status = sendingStatus(filter);
    return store.page(caller.account().id(), paging.after(), paging.pageSize() + 1, status,
        filter.get("TENANT_NAME_CONTAINS"))
        .map(rows -> page("Tenants", rows, paging, t -> tenant(caller, t), TenantStore.Tenant::name));
  }

  public Future<JsonObject> delete(Caller caller, RoutingContext ctx) {
    String name = name(requiredString(V2Route.requiredBody(ctx), "TenantName", ""));
    return store.delete(caller.account().id(), name).compose(deleted -> {
      changed(caller, name);
      return deleted ? Future.succeededFuture(new JsonObject()) : Future.failedFuture(noTenant(name));
    });
  }

  public Future<JsonObject> associate(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String name = name(requiredString(body, "TenantName", ""));
    Resource r = resource(caller, requiredString(body, "ResourceArn", ""));
    return store.associate(caller.account().id(), name, r.type(), r.name()).compose(result -> {
      changed(caller, name);
      return switch (result) {
        case DONE -> Future.succeededFuture(new JsonObject());
        case ALREADY -> Future.failedFuture(new SesException(SesError.ALREADY_EXISTS,
            "Resource " + r.arn() + " is already associated with tenant " + name + "."));
        case NO_TENANT -> Future.failedFuture(noTenant(name));
        case NO_RESOURCE -> Future.failedFuture(new SesException(SesError.NOT_FOUND,
            "Resource " + r.arn() + " does not exist."));
      };
    });
  }

  public Future<JsonObject> dissociate(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String name = name(requiredString(body, "TenantName", ""));
    Resource r = resource(caller, requiredString(body, "ResourceArn", ""));
    return store.dissociate(caller.account().id(), name, r.type(), r.name()).compose(removed -> {
      changed(caller, name);
      return removed ? Future.succeededFuture(new JsonObject()) : Future.failedFuture(new SesException(
          SesError.NOT_FOUND, "Resource " + r.arn() + " is not associated with tenant " + name + "."));
    });
  }

  public Future<JsonObject> listResources(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String name = name(requiredString(body, "TenantName", ""));
    Paging paging = Paging.of(ctx, body, 100, name);
    String type = ListFilter.of(body, List.of("RESOURCE_TYPE")).get("RESOURCE_TYPE");
    ResourceType only = type == null ? null : resourceType(type);
    return found(caller, name).compose(t -> store.resources(caller.account().id(), name, only, paging.after(),
        paging.pageSize() + 1)).map(rows -> page("TenantResources", rows, paging, a -> new JsonObject()
            .put("ResourceType", a.type().name()).put("ResourceArn", arn(caller, a.type(), a.name())),
            TenantStore::position));
  }

  public Future<JsonObject> listResourceTenants(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String arn = requiredString(body, "ResourceArn", "");
    Paging paging = Paging.of(ctx, body, 100, arn);
    Resource r = resource(caller, arn);
    return store.tenantsOf(caller.account().id(), r.type(), r.name(), paging.after(), paging.pageSize() + 1)
        .compose(rows -> !rows.isEmpty() ? Future.succeededFuture(rows)
            : store.exists(caller.account().id(), r.type(), r.name()).compose(exists -> exists
                ? Future.succeededFuture(rows)
                : Future.failedFuture(new SesException(SesError.NOT_FOUND, "Resource " + r.arn() + " does not exist."))))
        .map(rows -> page("ResourceTenants", rows, paging, a -> new JsonObject()
            .put("TenantName", a.tenantName()).put("TenantId", a.tenantId())
            .put("ResourceArn", arn(caller, a.type(), a.name())).put("AssociatedTimestamp", seconds(a.at())),
            TenantStore.Association::tenantName));
  }

  public Future<JsonObject> getReputationEntity(Caller caller, RoutingContext ctx) {
    return found(caller, entity(caller, ctx)).map(t -> new JsonObject().put("ReputationEntity", entity(caller, t)));
  }

  public Future<JsonObject> listReputationEntities(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    Paging paging = Paging.of(ctx, body, 100);
    Map<String, String> filter = ListFilter.of(body,
        List.of("ENTITY_TYPE", "REPUTATION_IMPACT", "SENDING_STATUS", "ENTITY_REFERENCE_PREFIX"));
    String type = filter.get("ENTITY_TYPE");
    if (type != null && !type.equals("RESOURCE")) {
      throw SesException.badRequest("Filter ENTITY_TYPE must be RESOURCE.");
    }
    String impact = filter.get("REPUTATION_IMPACT");
    if (impact != null && !impact.equals("LOW") && !impact.equals("HIGH")) {
      throw SesException.badRequest("Filter REPUTATION_IMPACT must be LOW or HIGH.");
    }
    String status = sendingStatus(filter);
    String prefix = filter.get("ENTITY_REFERENCE_PREFIX");
    return entities(caller, paging.pageSize(), t -> (impact == null || impact.equals(t.impact()))
        && (prefix == null || tenantArn(caller, t).startsWith(prefix)), status, paging.after(), new ArrayList<>())
        .map(matched -> page("ReputationEntities", matched, paging, t -> entity(caller, t),
            TenantStore.Tenant::name));
  }

  /**
   * Up to {@code size} + 1 tenants after {@code after} that {@code keep} takes (impact and reference prefix are not
   * columns the store filters on), read from the store a chunk at a time.
   */
  private Future<List<TenantStore.Tenant>> entities(Caller caller, int size,
      java.util.function.Predicate<TenantStore.Tenant> keep, String status, String after,
      List<TenantStore.Tenant> matched) {
    int chunk = 500;
    return store.page(caller.account().id(), after, chunk, status, null).compose(rows -> {
      for (TenantStore.Tenant t : rows) {
        if (keep.test(t)) {
          matched.add(t);
          if (matched.size() > size) {
            return Future.succeededFuture(matched);
          }
        }
      }
      return rows.size() < chunk ? Future.succeededFuture(matched)
          : entities(caller, size, keep, status, rows.get(rows.size() - 1).name(), matched);
    });
  }

  public Future<JsonObject> updateCustomerManagedStatus(Caller caller, RoutingContext ctx) {
    Ref ref = entity(caller, ctx);
    String status = requiredString(V2Route.requiredBody(ctx), "SendingStatus", "");
    if (!CUSTOMER_STATUSES.contains(status)) {
      throw SesException.badRequest("SendingStatus must be ENABLED, DISABLED or REINSTATED.");
    }
    return found(caller, ref).compose(t -> store.setCustomerStatus(caller.account().id(), t.name(), t.id(), status))
        .compose(updated -> {
          changed(caller, ref.name());
          return updated ? Future.succeededFuture(new JsonObject()) : Future.failedFuture(noTenant(ref.name()));
        });
  }

  public Future<JsonObject> updatePolicy(Caller caller, RoutingContext ctx) {
    Ref ref = entity(caller, ctx);
    String policy = requiredString(V2Route.requiredBody(ctx), "ReputationEntityPolicy", "");
    java.util.regex.Matcher m = POLICY.matcher(policy);
    if (!m.matches()) {
      throw SesException.badRequest("ReputationEntityPolicy must be the ARN of a managed policy: "
          + "arn:aws:ses:<region>:aws:reputation-policy/none, standard or strict.");
    }
    return found(caller, ref).compose(t -> store.setPolicy(caller.account().id(), t.name(), t.id(), m.group(1)))
        .compose(updated -> updated ? Future.succeededFuture(new JsonObject())
            : Future.failedFuture(noTenant(ref.name())));
  }

  /** A tenant's name as SES allows it: 1 to 64 letters, digits, hyphens and underscores. */
  public static String name(String name) {
    if (!NAME.matcher(name).matches()) {
      throw SesException.badRequest("Invalid TenantName " + MailboxParser.abbreviate(name)
          + ": 1 to 64 letters, digits, hyphens (-) and underscores (_).");
    }
    return name;
  }

  /** Tell this node's send paths that a tenant changed: its cached view is read again at its next send. */
  private void changed(Caller caller, String name) {
    vertx.eventBus().publish(EventBusAddresses.TENANT_CHANGED, caller.account().id() + "\n" + name);
  }

  /** The tenant a reputation entity names, when its id (if given) is this tenant's: another id is a deleted tenant. */
  private Future<TenantStore.Tenant> found(Caller caller, Ref ref) {
    return found(caller, ref.name()).compose(t -> ref.id() == null || ref.id().equals(t.id())
        ? Future.succeededFuture(t) : Future.failedFuture(noTenant(ref.name())));
  }

  private Future<TenantStore.Tenant> found(Caller caller, String name) {
    return store.find(caller.account().id(), name)
        .compose(t -> t.isPresent() ? Future.succeededFuture(t.get()) : Future.failedFuture(noTenant(name)));
  }

  private static SesException noTenant(String name) {
    return new SesException(SesError.NOT_FOUND, "Tenant " + name + " does not exist.");
  }

  private static void refuseSuppression(JsonObject body) {
    if (body.getValue("SuppressionAttributes") != null) {
      throw SesException.badRequest("Tenant-level suppression lists (SuppressionAttributes) are not supported here: "
          + "the account's suppression list applies to every tenant.");
    }
  }

  private static byte[] randomBytes() {
    byte[] b = new byte[12];
    RANDOM.nextBytes(b);
    return b;
  }

  /** Keys given twice keep their last value, as TagResource keeps them. */
  private static JsonArray distinctKeys(JsonArray tags) {
    Map<String, String> kept = new LinkedHashMap<>();
    for (Object o : tags) {
      JsonObject t = (JsonObject) o;
      kept.put(t.getString("Key"), t.getString("Value", ""));
    }
    JsonArray out = new JsonArray();
    kept.forEach((k, v) -> out.add(new JsonObject().put("Key", k).put("Value", v)));
    return out;
  }

  /** The Filter's SENDING_STATUS, or null. */
  private static String sendingStatus(Map<String, String> filter) {
    String status = filter.get("SENDING_STATUS");
    if (status != null && !CUSTOMER_STATUSES.contains(status)) {
      throw SesException.badRequest("Filter SENDING_STATUS must be ENABLED, DISABLED or REINSTATED.");
    }
    return status;
  }

  /**
   * A list operation's page: the first {@code paging.pageSize()} of {@code rows} (which hold one more when there are
   * more) under {@code field}, and then the NextToken of the position after the last of them.
   */
  private static <T> JsonObject page(String field, List<T> rows, Paging paging,
      java.util.function.Function<T, JsonObject> item, java.util.function.Function<T, String> position) {
    JsonArray out = new JsonArray();
    rows.stream().limit(paging.pageSize()).forEach(r -> out.add(item.apply(r)));
    JsonObject page = new JsonObject().put(field, out);
    if (rows.size() > paging.pageSize()) {
      page.put("NextToken", paging.next(position.apply(rows.get(paging.pageSize() - 1))));
    }
    return page;
  }

  private JsonObject tenant(Caller caller, TenantStore.Tenant t) {
    return new JsonObject().put("TenantName", t.name()).put("TenantId", t.id()).put("TenantArn", tenantArn(caller, t))
        .put("CreatedTimestamp", seconds(t.createdAt())).put("SendingStatus", t.sendingStatus());
  }

  private JsonObject entity(Caller caller, TenantStore.Tenant t) {
    JsonObject customer = new JsonObject().put("Status", t.customerStatus())
        .put("LastUpdatedTimestamp", seconds(t.customerStatusAt()));
    JsonObject managed = new JsonObject().put("Status", t.managedStatus())
        .put("LastUpdatedTimestamp", seconds(t.managedStatusAt()));
    if (t.managedCause() != null) {
      managed.put("Cause", t.managedCause());
    }
    JsonObject out = new JsonObject().put("ReputationEntityReference", tenantArn(caller, t))
        .put("ReputationEntityType", "RESOURCE")
        .put("ReputationManagementPolicy", "arn:aws:ses:" + region + ":aws:reputation-policy/" + t.policy())
        .put("CustomerManagedStatus", customer).put("AwsSesManagedStatus", managed)
        .put("SendingStatusAggregate", t.sendingStatus());
    if (t.impact() != null) {
      out.put("ReputationImpact", t.impact());
    }
    return out;
  }

  private String tenantArn(Caller caller, TenantStore.Tenant t) {
    return arn(caller, t.name() + "/" + t.id());
  }

  /** {@code arn:aws:ses:<region>:<account>:tenant/<rest>}. */
  private String arn(Caller caller, String rest) {
    return "arn:aws:ses:" + region + ":" + caller.account().id() + ":tenant/" + rest;
  }

  private String arn(Caller caller, ResourceType type, String name) {
    String kind = switch (type) {
      case EMAIL_IDENTITY -> "identity/";
      case CONFIGURATION_SET -> "configuration-set/";
      case EMAIL_TEMPLATE -> "template/";
    };
    return "arn:aws:ses:" + region + ":" + caller.account().id() + ":" + kind + name;
  }

  private static double seconds(Instant t) {
    return t.toEpochMilli() / 1000.0;
  }

  private static ResourceType resourceType(String type) {
    try {
      return ResourceType.valueOf(type);
    } catch (IllegalArgumentException e) {
      throw SesException.badRequest("Filter RESOURCE_TYPE must be EMAIL_IDENTITY, CONFIGURATION_SET or EMAIL_TEMPLATE.");
    }
  }

  /** A tenant as a reputation entity's reference names it: its name, and its id when given. */
  private record Ref(String name, String id) {}

  /** The tenant a reputation entity's path names: type RESOURCE and the tenant's ARN, its id optional. */
  private Ref entity(Caller caller, RoutingContext ctx) {
    if (!"RESOURCE".equals(ctx.pathParam("type"))) {
      throw SesException.badRequest("ReputationEntityType must be RESOURCE.");
    }
    String reference = ctx.pathParam("reference");
    String shown = MailboxParser.abbreviate(reference == null ? "" : reference);
    SesArn arn = reference == null ? null : SesArn.parse(reference);
    if (arn == null || !arn.resource().startsWith("tenant/")) {
      throw SesException.badRequest("Invalid ReputationEntityReference " + shown + ": a tenant's ARN is expected.");
    }
    String[] parts = arn.resource().substring("tenant/".length()).split("/", -1);
    if (parts.length > 2) {
      throw SesException.badRequest("Invalid ReputationEntityReference " + shown + ".");
    }
    String name = name(parts[0]);
    if (!arn.account().equals(caller.account().id())) {
      throw noTenant(name);
    }
    return new Ref(name, parts.length == 2 ? parts[1] : null);
  }

  /** A resource a tenant can be associated with, named by its ARN. */
  record Resource(ResourceType type, String name, String arn) {}

  private static final java.util.Set<String> KINDS = java.util.Set.of("identity", "configuration-set", "template");

  static Resource resource(Caller caller, String arn) {
    ResourceArn r = ResourceArn.parse(caller, arn, KINDS,
        "a tenant is associated with identities, configuration sets and templates.");
    if (!r.ours()) {
      throw new SesException(SesError.NOT_FOUND, "Resource " + r.shown() + " does not exist.");
    }
    ResourceType type = switch (r.kind()) {
      case "identity" -> ResourceType.EMAIL_IDENTITY;
      case "configuration-set" -> ResourceType.CONFIGURATION_SET;
      default -> ResourceType.EMAIL_TEMPLATE;
    };
    return new Resource(type, r.name(), r.shown());
  }
}
