package io.mailgate.api.sesv1;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.configset.ConfigurationSet;
import io.mailgate.configset.ConfigurationSetStore;
import io.mailgate.configset.TrackingOptions;
import io.mailgate.send.Caller;
import io.mailgate.send.SendRequest;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import java.util.List;
import java.util.Locale;

/**
 * SES v1's configuration set actions, on the same store as v2's: CreateConfigurationSet, DeleteConfigurationSet,
 * DescribeConfigurationSet, ListConfigurationSets, UpdateConfigurationSetSendingEnabled,
 * PutConfigurationSetDeliveryOptions, UpdateConfigurationSetReputationMetricsEnabled (off only) and the tracking
 * options (Create, Update, DeleteConfigurationSetTrackingOptions). Options v1 cannot express (a sending pool,
 * suppression reasons, the HTTPS policy of tracking links) are left as they are. Not here: v1's event destination
 * actions (v2's API has them).
 */
final class ConfigurationSetActions {
  private final ConfigurationSetStore store;
  private final TrackingOptions tracking;

  ConfigurationSetActions(ConfigurationSetStore store, TrackingOptions tracking) {
    this.store = store;
    this.tracking = tracking;
  }

  /** CreateConfigurationSetTrackingOptions: a set that has a tracking domain keeps it (TrackingOptionsAlreadyExists). */
  Future<QueryXml> createTrackingOptions(Caller caller, QueryParams p) {
    return setTrackingOptions(caller, p, true);
  }

  /** UpdateConfigurationSetTrackingOptions: only for a set that has a tracking domain. */
  Future<QueryXml> updateTrackingOptions(Caller caller, QueryParams p) {
    return setTrackingOptions(caller, p, false);
  }

  /**
   * A set has tracking options once it has a domain or a policy (either API); v1 names only the domain, and one
   * left out means the node's own URL. A policy set through v2 stays.
   */
  private Future<QueryXml> setTrackingOptions(Caller caller, QueryParams p, boolean create) {
    String name = name(p.required("ConfigurationSetName"));
    String given = p.has("TrackingOptions") ? p.struct("TrackingOptions").string("CustomRedirectDomain") : null;
    return find(caller, name).compose(c -> {
      boolean exists = c.redirectDomain() != null || c.httpsPolicy() != null;
      if (create && exists) {
        return Future.failedFuture(new SesException(SesError.TRACKING_OPTIONS_ALREADY_EXIST,
            "Tracking options already exist for configuration set <" + name + ">."));
      }
      if (!create && !exists) {
        return Future.failedFuture(trackingOptionsMissing(name));
      }
      String policy = TrackingOptions.policy(c.httpsPolicy());
      Future<String> domain = given == null || given.isEmpty() ? Future.succeededFuture()
          : tracking.checkDomain(caller.account().id(), given);
      return domain.compose(d -> store.setTrackingOptions(caller.account().id(), name, d, policy));
    }).compose(found -> found ? Future.succeededFuture(new QueryXml()) : Future.failedFuture(notFound(name)));
  }

  /** DeleteConfigurationSetTrackingOptions: tracking links go back to the node's own URL. */
  Future<QueryXml> deleteTrackingOptions(Caller caller, QueryParams p) {
    String name = name(p.required("ConfigurationSetName"));
    return find(caller, name).compose(c -> c.redirectDomain() == null && c.httpsPolicy() == null
            ? Future.failedFuture(trackingOptionsMissing(name))
            : store.setTrackingOptions(caller.account().id(), name, null, null))
        .compose(found -> found ? Future.succeededFuture(new QueryXml()) : Future.failedFuture(notFound(name)));
  }

  private static SesException trackingOptionsMissing(String name) {
    return new SesException(SesError.TRACKING_OPTIONS_NOT_FOUND,
        "Tracking options do not exist for configuration set <" + name + ">.");
  }

  Future<QueryXml> create(Caller caller, QueryParams p) {
    QueryParams set = p.struct("ConfigurationSet");
    String name = name(set.required("Name"));
    return store.create(ConfigurationSet.of(caller.account().id(), name, null, null, null, true, null, new JsonArray()))
        .map(v -> new QueryXml());
  }

  Future<QueryXml> delete(Caller caller, QueryParams p) {
    String name = name(p.required("ConfigurationSetName"));
    return store.delete(caller.account().id(), name)
        .compose(deleted -> deleted ? Future.succeededFuture(new QueryXml()) : Future.failedFuture(notFound(name)));
  }

  /** The set, and the attributes asked for by {@code ConfigurationSetAttributeNames} (as SES answers). */
  Future<QueryXml> describe(Caller caller, QueryParams p) {
    String name = name(p.required("ConfigurationSetName"));
    List<String> asked = p.strings("ConfigurationSetAttributeNames");
    List<String> attributes = asked == null ? List.of() : asked;
    for (String a : attributes) {
      if (!List.of("eventDestinations", "trackingOptions", "deliveryOptions", "reputationOptions").contains(a)) {
        throw SesException.badRequest("Invalid ConfigurationSetAttributeNames value '" + a + "'.");
      }
    }
    return find(caller, name).map(c -> {
      QueryXml xml = new QueryXml().start("ConfigurationSet").text("Name", c.name()).end("ConfigurationSet");
      if (attributes.contains("eventDestinations")) {
        xml.start("EventDestinations").end("EventDestinations"); // v1's event destination actions are not offered
      }
      if (attributes.contains("trackingOptions") && (c.redirectDomain() != null || c.httpsPolicy() != null)) {
        xml.start("TrackingOptions");
        if (c.redirectDomain() != null) {
          xml.text("CustomRedirectDomain", c.redirectDomain());
        }
        xml.end("TrackingOptions");
      }
      if (attributes.contains("deliveryOptions") && c.tlsPolicy() != null) {
        // none set: no element, as SES answers (Terraform reads an Optional here as a change to make)
        xml.start("DeliveryOptions").text("TlsPolicy", "REQUIRE".equals(c.tlsPolicy()) ? "Require" : "Optional")
            .end("DeliveryOptions");
      }
      if (attributes.contains("reputationOptions")) {
        xml.start("ReputationOptions").text("SendingEnabled", Boolean.toString(c.sendingEnabled()))
            .text("ReputationMetricsEnabled", "false").end("ReputationOptions");
      }
      return xml;
    });
  }

  Future<QueryXml> list(Caller caller, QueryParams p) {
    int max = QueryApi.integer(p, "MaxItems", 1000, 1, 1000);
    String token = p.string("NextToken");
    return store.page(caller.account().id(), token == null || token.isEmpty() ? null : QueryApi.fromToken(token), max + 1)
        .map(rows -> {
          QueryXml xml = new QueryXml().start("ConfigurationSets");
          for (ConfigurationSet c : rows.subList(0, Math.min(rows.size(), max))) {
            xml.start("member").text("Name", c.name()).end("member");
          }
          xml.end("ConfigurationSets");
          return rows.size() > max ? xml.text("NextToken", QueryApi.toToken(rows.get(max - 1).name())) : xml;
        });
  }

  Future<QueryXml> updateSendingEnabled(Caller caller, QueryParams p) {
    String name = name(p.required("ConfigurationSetName"));
    boolean enabled = QueryApi.bool(p, "Enabled");
    return store.setSendingEnabled(caller.account().id(), name, enabled)
        .compose(found -> found ? Future.succeededFuture(new QueryXml()) : Future.failedFuture(notFound(name)));
  }

  /** Only the TLS policy: v1 has no other delivery option; the set's own others stay. */
  Future<QueryXml> putDeliveryOptions(Caller caller, QueryParams p) {
    String name = name(p.required("ConfigurationSetName"));
    String given = p.string("DeliveryOptions.TlsPolicy");
    String tls;
    if (given == null || given.isEmpty()) {
      tls = null;
    } else {
      tls = given.toUpperCase(Locale.ROOT);
      if (!tls.equals("REQUIRE") && !tls.equals("OPTIONAL")) {
        throw SesException.badRequest("TlsPolicy must be Require or Optional, not '" + QueryParams.quote(given) + "'.");
      }
    }
    return store.setTlsPolicy(caller.account().id(), name, tls)
        .compose(found -> found ? Future.succeededFuture(new QueryXml()) : Future.failedFuture(notFound(name)));
  }

  /**
   * Mailgate keeps no reputation metrics per configuration set (the account's bounce and complaint rates are kept):
   * turning them off is what there is; turning them on is refused rather than pretended.
   */
  Future<QueryXml> updateReputationMetricsEnabled(Caller caller, QueryParams p) {
    String name = name(p.required("ConfigurationSetName"));
    if (QueryApi.bool(p, "Enabled")) {
      throw SesException.badRequest("Mailgate keeps no reputation metrics per configuration set; the account's "
          + "bounce and complaint rates are kept (GET /_mailgate/reputation).");
    }
    return find(caller, name).map(c -> new QueryXml());
  }

  private Future<ConfigurationSet> find(Caller caller, String name) {
    return store.find(caller.account().id(), name).compose(found -> found.isPresent()
        ? Future.succeededFuture(found.get()) : Future.failedFuture(notFound(name)));
  }

  private static String name(String name) {
    SendRequest.EmailTag.checkName(name, "ConfigurationSetName", 64);
    return name;
  }

  private static SesException notFound(String name) {
    return new SesException(SesError.CONFIGURATION_SET_NOT_FOUND, "Configuration set <" + name + "> does not exist.");
  }
}
