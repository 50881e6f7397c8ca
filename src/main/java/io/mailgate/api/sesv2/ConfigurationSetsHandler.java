package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.bool;
import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.string;
import static io.mailgate.api.JsonFields.strings;
import static io.mailgate.api.JsonFields.tags;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.configset.ConfigurationSet;
import io.mailgate.configset.ConfigurationSetStore;
import io.mailgate.configset.TrackingOptions;
import io.mailgate.feedback.ValidationThreshold;
import io.mailgate.send.Caller;
import io.mailgate.send.SendRequest;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * SES v2 configuration set operations: create, get, delete, list, and their delivery
 * (SendingPoolName, TlsPolicy, MaxDeliverySeconds), sending and suppression options. A sending
 * pool must be one of the node's {@code delivery.sendingPools}. Tracking options: see {@link TrackingOptions}. What a set
 * asks for that Mailgate does not do (reputation metrics per set, VDM, archiving) is refused rather than accepted and
 * ignored; the same options turned off are accepted, and kept nowhere: off is what every set has.
 */
public final class ConfigurationSetsHandler {
  private final ConfigurationSetStore store;
  private final Set<String> sendingPools;
  private final TrackingOptions tracking;

  public ConfigurationSetsHandler(ConfigurationSetStore store, Set<String> sendingPools, TrackingOptions tracking) {
    this.store = store;
    this.sendingPools = sendingPools;
    this.tracking = tracking;
  }

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String name = name(string(body, "ConfigurationSetName", ""));
    JsonObject delivery = object(body, "DeliveryOptions", "");
    JsonObject sending = object(body, "SendingOptions", "");
    JsonObject suppression = object(body, "SuppressionOptions", "");
    if (suppression != null) {
      accountScope(suppression, "SuppressionOptions.");
    }
    JsonObject trackingOptions = object(body, "TrackingOptions", "");
    JsonObject reputation = object(body, "ReputationOptions", "");
    if (reputation != null) {
      reputationMetrics(reputation, "ReputationOptions");
    }
    String engagement = vdmOptions(object(body, "VdmOptions", ""), "VdmOptions");
    archiveArn(object(body, "ArchivingOptions", ""), "ArchivingOptions");
    String signing = smimeSigning(object(body, "MessageSecurityOptions", ""), "MessageSecurityOptions");
    ConfigurationSet set = ConfigurationSet.of(caller.account().id(), name,
        delivery == null ? null : tlsPolicy(string(delivery, "TlsPolicy", "DeliveryOptions")),
        delivery == null ? null : maxDeliverySeconds(delivery.getValue("MaxDeliverySeconds")),
        delivery == null ? null : sendingPool(string(delivery, "SendingPoolName", "DeliveryOptions")),
        sending == null || bool(sending, "SendingEnabled", "SendingOptions", false),
        suppression == null || onlyValidation(suppression) ? null : suppressedReasons(suppression, "SuppressionOptions"),
        tags(body, "Tags")).withValidation(suppression == null ? null
            : validationOptions(suppression, "SuppressionOptions")).withEngagementMetrics(engagement)
        .withSigningScheme(signing);
    return trackingOptions(caller, trackingOptions)
        .compose(t -> store.create(t == null ? set : set.withTracking(t.domain(), t.policy())))
        .map(v -> new JsonObject());
  }

  /**
   * PutConfigurationSetTrackingOptions: the custom redirect domain and HTTPS policy, replaced (no domain: the node's
   * own URL again).
   */
  public Future<JsonObject> putTrackingOptions(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    String name = ctx.pathParam("name");
    return find(caller, name)
        .compose(set -> trackingOptions(caller, body))
        .compose(t -> store.setTrackingOptions(caller.account().id(), name, t.domain(), t.policy()))
        .compose(this::updated).map(v -> new JsonObject())
        .recover(e -> e == MISSING ? Future.failedFuture(notFound(name)) : Future.failedFuture(e));
  }

  /** A TrackingOptions object, its domain checked (null for an absent object). */
  private Future<TrackingOptions.Options> trackingOptions(Caller caller, JsonObject options) {
    if (options == null) {
      return Future.succeededFuture();
    }
    String domain;
    String policy;
    try {
      domain = string(options, "CustomRedirectDomain", "TrackingOptions");
      policy = TrackingOptions.policy(string(options, "HttpsPolicy", "TrackingOptions"));
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    if (domain == null || domain.isEmpty()) {
      return Future.succeededFuture(new TrackingOptions.Options(null, policy));
    }
    return tracking.checkDomain(caller.account().id(), domain).map(d -> new TrackingOptions.Options(d, policy));
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    String name = ctx.pathParam("name");
    return find(caller, name).map(c -> {
      JsonObject delivery = new JsonObject().put("TlsPolicy", c.tlsPolicy() == null ? "OPTIONAL" : c.tlsPolicy());
      if (c.maxDeliverySeconds() != null) {
        delivery.put("MaxDeliverySeconds", c.maxDeliverySeconds());
      }
      if (c.sendingPoolName() != null) {
        delivery.put("SendingPoolName", c.sendingPoolName());
      }
      JsonObject out = new JsonObject()
          .put("ConfigurationSetName", c.name())
          .put("DeliveryOptions", delivery)
          .put("SendingOptions", new JsonObject().put("SendingEnabled", c.sendingEnabled()))
          .put("ReputationOptions", new JsonObject().put("ReputationMetricsEnabled", false))
          .put("Tags", c.tags());
      if (c.redirectDomain() != null || c.httpsPolicy() != null) {
        JsonObject tracking = new JsonObject();
        if (c.redirectDomain() != null) {
          tracking.put("CustomRedirectDomain", c.redirectDomain());
        }
        out.put("TrackingOptions", tracking.put("HttpsPolicy", TrackingOptions.policy(c.httpsPolicy())));
      }
      if (c.engagementMetrics() != null) {
        out.put("VdmOptions", new JsonObject().put("DashboardOptions",
            new JsonObject().put("EngagementMetrics", c.engagementMetrics())));
      }
      if (ConfigurationSet.SMIME.equals(c.signingScheme())) {
        out.put("MessageSecurityOptions", new JsonObject().put("SigningScheme", new JsonObject()
            .put("SmimeScheme", new JsonObject().put("SignatureFormat", "DETACHED"))));
      }
      if (c.suppressedReasons() != null || c.validation() != null) {
        JsonObject suppression = new JsonObject();
        if (c.suppressedReasons() != null) {
          suppression.put("SuppressedReasons", new JsonArray(new ArrayList<>(c.suppressedReasons())));
        }
        if (c.validation() != null) {
          suppression.put("ValidationOptions", ValidationSettings.render(c.validation()));
        }
        out.put("SuppressionOptions", suppression);
      }
      return out;
    });
  }

  public Future<JsonObject> delete(Caller caller, RoutingContext ctx) {
    String name = ctx.pathParam("name");
    return store.delete(caller.account().id(), name).compose(d -> d ? Future.succeededFuture(new JsonObject())
        : Future.failedFuture(notFound(name)));
  }

  /** GET /v2/email/configuration-sets (query) and POST /v2/email/list-configuration-sets (body, with its Filter). */
  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    Paging paging = Paging.of(ctx, body, 100);
    int limit = paging.pageSize();
    String contains = ListFilter.of(body, List.of("CONFIGURATION_SET_NAME_CONTAINS"))
        .get("CONFIGURATION_SET_NAME_CONTAINS");
    return store.page(caller.account().id(), paging.after(), limit + 1, contains).map(rows -> {
      JsonArray names = new JsonArray();
      rows.stream().limit(limit).forEach(c -> names.add(c.name()));
      JsonObject out = new JsonObject().put("ConfigurationSets", names);
      if (rows.size() > limit) {
        out.put("NextToken", paging.next(rows.get(limit - 1).name()));
      }
      return out;
    });
  }

  public Future<JsonObject> putDeliveryOptions(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    String name = ctx.pathParam("name");
    String tls = tlsPolicy(string(body, "TlsPolicy", ""));
    Integer max = maxDeliverySeconds(body.getValue("MaxDeliverySeconds"));
    String pool = sendingPool(string(body, "SendingPoolName", ""));
    return store.setDeliveryOptions(caller.account().id(), name, tls, max, pool).compose(this::updated).map(v -> new JsonObject())
        .recover(e -> e == MISSING ? Future.failedFuture(notFound(name)) : Future.failedFuture(e));
  }

  public Future<JsonObject> putSendingOptions(Caller caller, RoutingContext ctx) {
    boolean enabled = bool(V2Route.body(ctx), "SendingEnabled", "", false);
    return setSending(caller, ctx.pathParam("name"), enabled).map(v -> new JsonObject());
  }

  /** Pauses or resumes a set's sending (PutConfigurationSetSendingOptions, the console). */
  public Future<Void> setSending(Caller caller, String name, boolean enabled) {
    return store.setSendingEnabled(caller.account().id(), name, enabled).compose(this::updated)
        .recover(e -> e == MISSING ? Future.failedFuture(notFound(name)) : Future.failedFuture(e));
  }

  /**
   * PutConfigurationSetReputationOptions: off only. Mailgate keeps the account's bounce and complaint rates, not a
   * set's; turning them on is refused rather than accepted and ignored.
   */
  public Future<JsonObject> putReputationOptions(Caller caller, RoutingContext ctx) {
    reputationMetrics(V2Route.body(ctx), "");
    return find(caller, ctx.pathParam("name")).map(c -> new JsonObject());
  }

  private static void reputationMetrics(JsonObject options, String path) {
    if (bool(options, "ReputationMetricsEnabled", path, false)) {
      throw SesException.badRequest("Mailgate keeps no reputation metrics per configuration set; the account's "
          + "bounce and complaint rates are kept (GET /_mailgate/reputation).");
    }
  }

  /**
   * PutConfigurationSetVdmOptions: the set's engagement metrics, replaced (left out: the account's decide again);
   * Guardian off only.
   */
  public Future<JsonObject> putVdmOptions(Caller caller, RoutingContext ctx) {
    String engagement = vdmOptions(object(V2Route.body(ctx), "VdmOptions", ""), "VdmOptions");
    String name = ctx.pathParam("name");
    return store.setEngagementMetrics(caller.account().id(), name, engagement)
        .compose(this::updated).map(v -> new JsonObject())
        .recover(e -> e == MISSING ? Future.failedFuture(notFound(name)) : Future.failedFuture(e));
  }

  /** PutConfigurationSetArchivingOptions: none only (Mailgate does not archive mail). */
  public Future<JsonObject> putArchivingOptions(Caller caller, RoutingContext ctx) {
    archiveArn(V2Route.body(ctx), "");
    return find(caller, ctx.pathParam("name")).map(c -> new JsonObject());
  }

  /**
   * VdmOptions: its dashboard's engagement metrics, returned (ENABLED, DISABLED, or null when not given), and its
   * Guardian's optimized delivery DISABLED, or absent.
   */
  private static String vdmOptions(JsonObject options, String path) {
    if (options == null) {
      return null;
    }
    disabled(object(options, "GuardianOptions", path), "OptimizedSharedDelivery", path + ".GuardianOptions");
    return status(object(options, "DashboardOptions", path), "EngagementMetrics", path + ".DashboardOptions");
  }

  /** A VDM option of {@code options} (absent: none) at {@code path}: ENABLED, DISABLED or null, else a BadRequest. */
  static String status(JsonObject options, String field, String path) {
    String value = options == null ? null : string(options, field, path);
    if (value != null && !value.equals("ENABLED") && !value.equals("DISABLED")) {
      throw SesException.badRequest(path + "." + field + " must be ENABLED or DISABLED, not '" + value + "'.");
    }
    return value;
  }

  /**
   * A VDM option Mailgate does not have (Guardian's optimized shared delivery) at {@code path} of {@code options}
   * (absent: none): DISABLED or absent, else a BadRequest naming it (configuration sets' VdmOptions, the account's
   * VdmAttributes).
   */
  static void disabled(JsonObject options, String field, String path) {
    if ("ENABLED".equals(status(options, field, path))) {
      throw SesException.badRequest(path + "." + field + " can only be DISABLED: Mailgate has no VDM Guardian (mail "
          + "goes through Mailgate's own pools).");
    }
  }

  /** ArchivingOptions: no ArchiveArn (or an empty one, which SES takes as none). */
  private static void archiveArn(JsonObject options, String path) {
    String arn = options == null ? null : string(options, "ArchiveArn", path);
    if (arn != null && !arn.isEmpty()) {
      throw SesException.badRequest("Mailgate does not archive mail: " + (path.isEmpty() ? "" : path + ".") + "ArchiveArn"
          + " is refused (leave it out).");
    }
  }

  /** S/MIME signing (a SigningScheme's SmimeScheme) is refused: Mailgate signs with DKIM only; DefaultScheme is that. */
  /**
   * MessageSecurityOptions: its SigningScheme, a union of DefaultScheme (null: no S/MIME signature) and SmimeScheme
   * ({@link ConfigurationSet#SMIME}, SignatureFormat DETACHED, the only one there is); absent options are the default.
   */
  static String smimeSigning(JsonObject options, String path) {
    JsonObject scheme = options == null ? null : object(options, "SigningScheme", path);
    if (scheme == null) {
      return null;
    }
    JsonObject smime = object(scheme, "SmimeScheme", path + ".SigningScheme");
    boolean byDefault = object(scheme, "DefaultScheme", path + ".SigningScheme") != null;
    if (smime != null && byDefault) {
      throw SesException.badRequest(path + ".SigningScheme is a union: give DefaultScheme or SmimeScheme, not both.");
    }
    if (smime == null) {
      return null;
    }
    String format = string(smime, "SignatureFormat", path + ".SigningScheme.SmimeScheme");
    if (format != null && !format.equals("DETACHED")) {
      throw SesException.badRequest("Invalid " + path + ".SigningScheme.SmimeScheme.SignatureFormat " + format
          + ": DETACHED is the only format.");
    }
    return ConfigurationSet.SMIME;
  }

  /** UpdateConfigurationSet: its MessageSecurityOptions, replaced when given. */
  public Future<JsonObject> update(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String name = string(body, "ConfigurationSetName", "");
    if (name == null) {
      throw SesException.badRequest("Missing required field ConfigurationSetName.");
    }
    JsonObject options = object(body, "MessageSecurityOptions", "");
    String scheme = smimeSigning(options, "MessageSecurityOptions");
    Future<Boolean> changed = options == null ? find(caller, name).map(true)
        : store.setSigningScheme(caller.account().id(), name, scheme).compose(this::updated).map(true);
    return changed.map(v -> new JsonObject())
        .recover(e -> e == MISSING ? Future.failedFuture(notFound(name)) : Future.failedFuture(e));
  }

  public Future<JsonObject> putSuppressionOptions(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    String name = ctx.pathParam("name");
    accountScope(body, "");
    ValidationThreshold validation = validationOptions(body, "");
    return store.setSuppressionOptions(caller.account().id(), name,
            onlyValidation(body) ? null : suppressedReasons(body, ""), validation)
        .compose(this::updated).map(v -> new JsonObject())
        .recover(e -> e == MISSING ? Future.failedFuture(notFound(name)) : Future.failedFuture(e));
  }

  /**
   * A set's SuppressionOptions: the reasons it suppresses for, instead of the account's; none when the list is absent
   * (the AWS SDK for Go, and Terraform, leave an empty list out), in CreateConfigurationSet as in the Put call.
   */
  private static List<String> suppressedReasons(JsonObject options, String path) {
    List<String> reasons = reasons(strings(options, "SuppressedReasons", path));
    return reasons == null ? List.of() : reasons;
  }

  /**
   * SuppressionOptions that give ValidationOptions and no SuppressedReasons: turning Auto Validation on does not also
   * turn off suppression for bounces and complaints (the reasons stay as they were: the account's, in a new set).
   */
  static boolean onlyValidation(JsonObject options) {
    return options.getValue("SuppressedReasons") == null
        && (options.getValue("ValidationOptions") != null || options.getValue("SuppressionScope") != null);
  }

  /**
   * SuppressionScope: the account's list (ACCOUNT, what a set without it uses) is the only one kept; TENANT, a
   * tenant's own list, is refused rather than ignored (README, Tenants), as TenantName is on the list's own calls.
   * Given alone, it changes nothing else ({@link #onlyValidation}).
   */
  private static void accountScope(JsonObject options, String path) {
    Object scope = options.getValue("SuppressionScope");
    if (scope != null && !"ACCOUNT".equals(scope)) {
      throw SesException.badRequest("Mailgate keeps the account's suppression list only: " + path
          + "SuppressionScope must be ACCOUNT, not " + (scope instanceof String s
              ? "'" + io.mailgate.send.MailboxParser.abbreviate(s) + "'" : "a "
          + scope.getClass().getSimpleName()) + ".");
    }
  }

  /** A set's ValidationOptions (Auto Validation), instead of the account's; null when absent: the account's. */
  private static ValidationThreshold validationOptions(JsonObject options, String path) {
    JsonObject v = object(options, "ValidationOptions", path);
    return v == null ? null : ValidationSettings.parse(v, path.isEmpty() ? "ValidationOptions"
        : path + ".ValidationOptions");
  }

  private static final SesException MISSING = new SesException(SesError.NOT_FOUND, "missing");

  private Future<Void> updated(boolean found) {
    return found ? Future.succeededFuture() : Future.failedFuture(MISSING);
  }

  private Future<ConfigurationSet> find(Caller caller, String name) {
    return store.find(caller.account().id(), name).compose(o -> o.isPresent() ? Future.succeededFuture(o.get())
        : Future.failedFuture(notFound(name)));
  }

  static SesException notFound(String name) {
    return new SesException(SesError.CONFIGURATION_SET_NOT_FOUND, "Configuration set <" + name + "> does not exist.");
  }

  private static String name(String name) {
    if (name == null) {
      throw SesException.badRequest("Missing required field ConfigurationSetName.");
    }
    SendRequest.EmailTag.checkName(name, "ConfigurationSetName", 64);
    return name;
  }

  private static String tlsPolicy(String value) {
    if (value == null) {
      return null;
    }
    if (!value.equals("REQUIRE") && !value.equals("OPTIONAL")) {
      throw SesException.badRequest("TlsPolicy must be REQUIRE or OPTIONAL, not '" + value + "'.");
    }
    return value;
  }

  private String sendingPool(String value) {
    if (value == null) {
      return null;
    }
    if (!sendingPools.contains(value)) {
      throw new SesException(SesError.NOT_FOUND, "Sending pool <" + value + "> does not exist."
          + (sendingPools.isEmpty() ? " This node has none (delivery.sendingPools)." : " This node has: "
          + String.join(", ", sendingPools) + "."));
    }
    return value;
  }

  private static Integer maxDeliverySeconds(Object value) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof Number n) || n.longValue() < 300 || n.longValue() > 50400) {
      throw SesException.badRequest("MaxDeliverySeconds must be a number from 300 to 50400.");
    }
    return n.intValue();
  }

  private static List<String> reasons(List<String> given) {
    if (given == null) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (String r : given) {
      if (!r.equals("BOUNCE") && !r.equals("COMPLAINT")) {
        throw SesException.badRequest("SuppressedReasons may contain BOUNCE and COMPLAINT, not '" + r + "'.");
      }
      if (!out.contains(r)) {
        out.add(r);
      }
    }
    return out;
  }
}
