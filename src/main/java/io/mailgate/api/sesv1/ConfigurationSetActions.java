package io.mailgate.api.sesv1;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.configset.ConfigurationSet;
import io.mailgate.configset.ConfigurationSetStore;
import io.mailgate.configset.TrackingOptions;
import io.mailgate.api.sesv2.EventDestinationsHandler;
import io.mailgate.events.EventDestination;
import io.mailgate.events.EventDestinationStore;
import io.mailgate.events.EventType;
import java.util.ArrayList;
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
 * options (Create, Update, DeleteConfigurationSetTrackingOptions) and event destinations (Create, Update,
 * DeleteConfigurationSetEventDestination, on v2's store and checks: the webhook's URL is
 * {@code SNSDestination.TopicARN}). Options v1 cannot express (a sending pool, suppression reasons, the HTTPS policy
 * of tracking links) are left as they are.
 */
final class ConfigurationSetActions {
  private final ConfigurationSetStore store;
  private final TrackingOptions tracking;
  private final EventDestinationStore destinations;
  private final EventDestinationsHandler destinationChecks;

  ConfigurationSetActions(ConfigurationSetStore store, TrackingOptions tracking, EventDestinationStore destinations,
      EventDestinationsHandler destinationChecks) {
    this.store = store;
    this.tracking = tracking;
    this.destinations = destinations;
    this.destinationChecks = destinationChecks;
  }

  /** CreateConfigurationSetEventDestination: disabled unless {@code Enabled} is true, as in SES. */
  Future<QueryXml> createEventDestination(Caller caller, QueryParams p) {
    String set = name(p.required("ConfigurationSetName"));
    QueryParams d = p.struct("EventDestination");
    String name = d.required("Name");
    SendRequest.EmailTag.checkName(name, "EventDestination.Name", 64);
    List<EventType> types = eventTypes(d);
    String url = webhook(d);
    return destinations.create(new EventDestination(caller.account().id(), set, name, enabled(d), types, url))
        .map(v -> new QueryXml());
  }

  /** UpdateConfigurationSetEventDestination: the definition replaced, as in SES. */
  Future<QueryXml> updateEventDestination(Caller caller, QueryParams p) {
    String set = name(p.required("ConfigurationSetName"));
    QueryParams d = p.struct("EventDestination");
    String name = d.required("Name");
    List<EventType> types = eventTypes(d);
    String url = webhook(d);
    return destinations.update(caller.account().id(), set, name, enabled(d), types, url).map(v -> new QueryXml());
  }

  Future<QueryXml> deleteEventDestination(Caller caller, QueryParams p) {
    return destinations.delete(caller.account().id(), name(p.required("ConfigurationSetName")),
        p.required("EventDestinationName")).map(v -> new QueryXml());
  }

  private static boolean enabled(QueryParams d) {
    return d.string("Enabled") != null && QueryApi.bool(d, "Enabled");
  }

  /**
   * v1 spells the types in camel case ({@code renderingFailure}); v2 in capitals ({@code RENDERING_FAILURE}). v1 has
   * no DeliveryDelay or Subscription events (a destination given them through v2 lists them all the same).
   */
  private static List<EventType> eventTypes(QueryParams d) {
    List<String> given = d.strings("MatchingEventTypes");
    if (given == null || given.isEmpty()) {
      throw SesException.badRequest("EventDestination.MatchingEventTypes must name at least one event type.");
    }
    List<EventType> out = new ArrayList<>();
    for (String s : given) {
      EventType t = EventType.fromApiName(s.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT));
      if (t == null || !v1Name(t).equals(s) || t == EventType.DELIVERY_DELAY || t == EventType.SUBSCRIPTION) {
        throw SesException.badRequest("EventDestination.MatchingEventTypes: '" + QueryParams.quote(s) + "' is not an "
            + "event type (send, reject, bounce, complaint, delivery, open, click, renderingFailure).");
      }
      if (!out.contains(t)) {
        out.add(t);
      }
    }
    return out;
  }

  static String v1Name(EventType t) {
    String[] words = t.name().toLowerCase(Locale.ROOT).split("_");
    StringBuilder b = new StringBuilder(words[0]);
    for (int i = 1; i < words.length; i++) {
      b.append(Character.toUpperCase(words[i].charAt(0))).append(words[i], 1, words[i].length());
    }
    return b.toString();
  }

  /**
   * The webhook, as SNSDestination.TopicARN; other destinations are AWS services a node cannot reach. Each is refused
   * with v1's code for its kind of destination (InvalidFirehoseDestination, InvalidCloudWatchDestination,
   * InvalidSNSDestination), which the SDKs throw as exceptions of their own; none given at all is a parameter missing.
   */
  private String webhook(QueryParams d) {
    if (d.has("KinesisFirehoseDestination")) {
      throw unreachable(SesError.INVALID_FIREHOSE_DESTINATION, "KinesisFirehoseDestination");
    }
    if (d.has("CloudWatchDestination")) {
      throw unreachable(SesError.INVALID_CLOUDWATCH_DESTINATION, "CloudWatchDestination");
    }
    if (!d.has("SNSDestination")) {
      throw SesException.badRequest("EventDestination needs a destination: give the webhook's URL as "
          + "SNSDestination.TopicARN.");
    }
    String url = d.struct("SNSDestination").string("TopicARN");
    if (url == null || url.isEmpty()) {
      throw new SesException(SesError.INVALID_SNS_DESTINATION, "SNSDestination.TopicARN is empty: give the "
          + "webhook's URL.");
    }
    try {
      return destinationChecks.webhookUrl(url, "SNSDestination.TopicARN");
    } catch (SesException e) {
      throw new SesException(SesError.INVALID_SNS_DESTINATION, e.getMessage());
    }
  }

  private static SesException unreachable(SesError error, String destination) {
    return new SesException(error, destination + " is an AWS service Mailgate cannot publish to. Mailgate posts "
        + "events to webhooks: give the webhook's URL as SNSDestination.TopicARN.");
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

  /** A name CreateConfigurationSet cannot take is v1's InvalidConfigurationSet, the SDKs' exception for it. */
  Future<QueryXml> create(Caller caller, QueryParams p) {
    QueryParams set = p.struct("ConfigurationSet");
    String given = set.required("Name");
    String name;
    try {
      name = name(given);
    } catch (SesException e) {
      throw new SesException(SesError.INVALID_CONFIGURATION_SET, e.getMessage());
    }
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
    return find(caller, name).compose(c -> (attributes.contains("eventDestinations")
        ? destinations.list(caller.account().id(), name) : Future.succeededFuture(List.<EventDestination>of()))
        .map(list -> describe(c, attributes, list)));
  }

  private static QueryXml describe(ConfigurationSet c, List<String> attributes, List<EventDestination> list) {
    QueryXml xml = new QueryXml().start("ConfigurationSet").text("Name", c.name()).end("ConfigurationSet");
    if (attributes.contains("eventDestinations")) {
      xml.start("EventDestinations");
      for (EventDestination d : list) {
        xml.start("member").text("Name", d.name()).text("Enabled", Boolean.toString(d.enabled()))
            .start("MatchingEventTypes");
        d.types().forEach(t -> xml.text("member", v1Name(t)));
        xml.end("MatchingEventTypes").start("SNSDestination").text("TopicARN", d.url()).end("SNSDestination")
            .end("member");
      }
      xml.end("EventDestinations");
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
  }

  Future<QueryXml> list(Caller caller, QueryParams p) {
    int max = QueryApi.integer(p, "MaxItems", 1000, 1, 1000);
    String token = p.string("NextToken");
    return store.page(caller.account().id(), token == null || token.isEmpty() ? null : QueryApi.fromToken(token), max + 1, null)
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

  /**
   * Only the TLS policy: v1 has no other delivery option; the set's own others stay. A policy that is neither Require
   * nor Optional is v1's InvalidDeliveryOptions.
   */
  Future<QueryXml> putDeliveryOptions(Caller caller, QueryParams p) {
    String name = name(p.required("ConfigurationSetName"));
    String given = p.string("DeliveryOptions.TlsPolicy");
    String tls;
    if (given == null || given.isEmpty()) {
      tls = null;
    } else {
      tls = given.toUpperCase(Locale.ROOT);
      if (!tls.equals("REQUIRE") && !tls.equals("OPTIONAL")) {
        throw new SesException(SesError.INVALID_DELIVERY_OPTIONS, "TlsPolicy must be Require or Optional, not '"
            + QueryParams.quote(given) + "'.");
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
