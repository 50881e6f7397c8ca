package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.requiredString;
import static io.mailgate.api.JsonFields.strings;

import io.mailgate.NetAddresses;
import io.mailgate.SesException;
import io.mailgate.api.V2Route;
import io.mailgate.events.EventDestination;
import io.mailgate.events.EventDestinationStore;
import io.mailgate.events.EventType;
import io.mailgate.send.Caller;
import io.mailgate.send.SendRequest;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * SES v2 event destinations of a configuration set: create, get (all of the set's), update, delete. A destination is
 * a webhook, given as {@code SnsDestination.TopicArn} (the SDKs and the CLI pass any string there): Mailgate
 * posts each event to it, signed. Firehose, CloudWatch, Pinpoint and EventBridge destinations, and real SNS topic
 * ARNs, are AWS services a self-hosted node cannot reach: refused with a message that says what to give instead.
 */
public final class EventDestinationsHandler {
  /** Longest webhook URL taken. */
  static final int MAX_URL_LENGTH = 2048;
  private static final String[] OTHER_DESTINATIONS = {"KinesisFirehoseDestination", "CloudWatchDestination",
      "PinpointDestination", "EventBridgeDestination"};

  private final EventDestinationStore store;
  private final boolean allowPrivateAddresses;

  public EventDestinationsHandler(EventDestinationStore store, boolean allowPrivateAddresses) {
    this.store = store;
    this.allowPrivateAddresses = allowPrivateAddresses;
  }

  /** A definition as given: null fields were not given. */
  private record Definition(Boolean enabled, List<EventType> types, String url) {}

  public Future<JsonObject> create(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    String name = requiredString(body, "EventDestinationName", "");
    SendRequest.EmailTag.checkName(name, "EventDestinationName", 64);
    JsonObject given = object(body, "EventDestination", "");
    if (given == null) {
      throw SesException.badRequest("Missing required field EventDestination.");
    }
    Definition d = definition(given);
    if (d.types() == null) {
      throw SesException.badRequest("Missing required field EventDestination.MatchingEventTypes.");
    }
    if (d.url() == null) {
      throw SesException.badRequest("EventDestination needs a destination: give the webhook's URL as "
          + "SnsDestination.TopicArn.");
    }
    // as in SES, a destination is disabled unless Enabled says otherwise
    return store.create(new EventDestination(caller.account().id(), ctx.pathParam("name"), name,
        d.enabled() != null && d.enabled(), d.types(), d.url())).map(v -> new JsonObject());
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    return store.list(caller.account().id(), ctx.pathParam("name")).map(all -> {
      JsonArray out = new JsonArray();
      for (EventDestination d : all) {
        JsonArray types = new JsonArray();
        d.types().forEach(t -> types.add(t.name()));
        out.add(new JsonObject()
            .put("Name", d.name())
            .put("Enabled", d.enabled())
            .put("MatchingEventTypes", types)
            .put("SnsDestination", new JsonObject().put("TopicArn", d.url())));
      }
      return new JsonObject().put("EventDestinations", out);
    });
  }

  /**
   * Replaces the definition, as SES does: {@code Enabled} left out is false (SDKs that send a boolean only when it is
   * true, Go's, disable a destination that way). Left out, the types and the destination stay as they were.
   */
  public Future<JsonObject> update(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    JsonObject given = object(body, "EventDestination", "");
    if (given == null) {
      throw SesException.badRequest("Missing required field EventDestination.");
    }
    Definition d = definition(given);
    return store.update(caller.account().id(), ctx.pathParam("name"), ctx.pathParam("destination"),
        Boolean.TRUE.equals(d.enabled()), d.types(), d.url()).map(v -> new JsonObject());
  }

  /** Enables or disables a destination, its types and address as they are (the console). */
  public Future<Void> setEnabled(Caller caller, String configurationSet, String name, boolean enabled) {
    return store.update(caller.account().id(), configurationSet, name, enabled, null, null);
  }

  public Future<JsonObject> delete(Caller caller, RoutingContext ctx) {
    return store.delete(caller.account().id(), ctx.pathParam("name"), ctx.pathParam("destination"))
        .map(v -> new JsonObject());
  }

  private Definition definition(JsonObject given) {
    Object enabled = given.getValue("Enabled");
    if (enabled != null && !(enabled instanceof Boolean)) {
      throw SesException.badRequest("Invalid type for field EventDestination.Enabled: expected a boolean.");
    }
    for (String other : OTHER_DESTINATIONS) {
      if (given.getValue(other) != null) {
        throw SesException.badRequest(other + " is an AWS service Mailgate cannot publish to. Mailgate posts "
            + "events to webhooks: give the webhook's URL as SnsDestination.TopicArn.");
      }
    }
    JsonObject sns = object(given, "SnsDestination", "EventDestination");
    String url = sns == null ? null : webhookUrl(requiredString(sns, "TopicArn", "EventDestination.SnsDestination"),
        "SnsDestination.TopicArn");
    return new Definition((Boolean) enabled, types(strings(given, "MatchingEventTypes", "EventDestination")), url);
  }

  private static List<EventType> types(List<String> given) {
    if (given == null) {
      return null;
    }
    if (given.isEmpty()) {
      throw SesException.badRequest("EventDestination.MatchingEventTypes must name at least one event type.");
    }
    List<EventType> out = new ArrayList<>();
    for (String s : given) {
      EventType t = EventType.fromApiName(s);
      if (t == null) {
        throw SesException.badRequest("EventDestination.MatchingEventTypes: '" + abbreviate(s) + "' is not an "
            + "event type (SEND, REJECT, BOUNCE, COMPLAINT, DELIVERY, OPEN, CLICK, RENDERING_FAILURE, DELIVERY_DELAY, "
            + "SUBSCRIPTION).");
      }
      if (!out.contains(t)) {
        out.add(t);
      }
    }
    return out;
  }

  /**
   * An absolute http or https URL with a host, no user information (it would be logged and shown) and no fragment;
   * {@code sns+https} or {@code sns+http} for an endpoint that takes what SNS posts (the event in an SNS notification's
   * {@code Message}). A host given as an address must be public unless {@code events.allowPrivateAddresses}; a name is
   * checked each time it is resolved, when events are posted.
   */
  public String webhookUrl(String given, String field) {
    if (given.regionMatches(true, 0, "arn:", 0, 4)) {
      throw SesException.badRequest(field + " '" + abbreviate(given) + "' is an ARN: Mailgate posts "
          + "events to webhooks, not to SNS topics. Give the webhook's URL (https://...) as the topic.");
    }
    if (given.length() > MAX_URL_LENGTH) {
      throw SesException.badRequest(field + " is longer than " + MAX_URL_LENGTH + " characters.");
    }
    for (int i = 0; i < given.length(); i++) {
      char c = given.charAt(i);
      if (c <= ' ' || c >= 0x7f) {
        throw SesException.badRequest(field + " may not contain spaces, control or non-ASCII "
            + "characters (percent-encode them).");
      }
    }
    URI uri;
    try {
      uri = new URI(given);
    } catch (URISyntaxException e) {
      throw SesException.badRequest(field + " '" + abbreviate(given) + "' is not a URL: " + e.getReason() + ".");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http") && !scheme.equals("sns+https") && !scheme.equals("sns+http")) {
      throw SesException.badRequest(field + " '" + abbreviate(given) + "' must be an http or https URL (sns+https or "
          + "sns+http for an endpoint that takes SNS notifications).");
    }
    if (uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
      throw SesException.badRequest(field + " '" + abbreviate(given) + "' must have a host, and no "
          + "user name, password or fragment.");
    }
    if (uri.getPort() == 0 || uri.getPort() > 65535) {
      throw SesException.badRequest(field + " '" + abbreviate(given) + "' has an invalid port.");
    }
    InetAddress literal = NetAddresses.literal(uri.getHost());
    if (literal != null && !allowPrivateAddresses && !NetAddresses.isPublic(literal)) {
      throw SesException.badRequest(field + " '" + abbreviate(given) + "' is at a private "
          + "address, which this node does not post to.");
    }
    return given;
  }

  private static String abbreviate(String s) {
    return io.mailgate.send.MailboxParser.abbreviate(s);
  }
}
