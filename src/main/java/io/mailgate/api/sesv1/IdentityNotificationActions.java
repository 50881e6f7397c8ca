package io.mailgate.api.sesv1;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.sesv2.EventDestinationsHandler;
import io.mailgate.identity.IdentityNotifications;
import io.mailgate.identity.IdentityService;
import io.mailgate.identity.NotificationType;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SES v1's identity notifications, the classic way of getting bounces, complaints and deliveries:
 * SetIdentityNotificationTopic (the topic is the webhook's URL, checked as event destinations' are; left out, it is
 * cleared), GetIdentityNotificationAttributes, SetIdentityFeedbackForwardingEnabled (whether bounces and complaints
 * are mailed to the Return-Path: see {@link io.mailgate.feedback.FeedbackForwarder}) and
 * SetIdentityHeadersInNotificationsEnabled. An identity is given by its name or its ARN ({@link IdentityParameter}).
 * An identity the account does not have is refused as SES refuses it, InvalidParameterValue "Identity ... is invalid".
 */
final class IdentityNotificationActions {
  private final IdentityService identities;
  private final IdentityParameter identityParameter;
  private final EventDestinationsHandler webhooks;

  IdentityNotificationActions(IdentityService identities, IdentityParameter identityParameter,
      EventDestinationsHandler webhooks) {
    this.identities = identities;
    this.identityParameter = identityParameter;
    this.webhooks = webhooks;
  }

  Future<QueryXml> setTopic(Caller caller, QueryParams p) {
    String identity = identityParameter.name(caller, p.required("Identity"));
    NotificationType type = NotificationType.parse(p.required("NotificationType"));
    String topic = p.string("SnsTopic");
    if (topic != null && topic.isEmpty()) {
      throw SesException.badRequest("SNS topic is empty: leave SnsTopic out to clear the " + type.sesName
          + " topic.");
    }
    String url = topic == null ? null : webhooks.webhookUrl(topic, "SnsTopic");
    return QueryApi.identityChanged(identity,
        identities.setNotificationTopic(caller.account().id(), identity, type, url));
  }

  Future<QueryXml> getAttributes(Caller caller, QueryParams p) {
    return QueryApi.<IdentityNotifications>identityAttributes(p, "NotificationAttributes",
        given -> notifications(caller, given), (xml, n) -> {
          xml.text("BounceTopic", n.topics().get(NotificationType.BOUNCE))
              .text("ComplaintTopic", n.topics().get(NotificationType.COMPLAINT))
              .text("DeliveryTopic", n.topics().get(NotificationType.DELIVERY))
              .text("ForwardingEnabled", Boolean.toString(n.forwarding()));
          for (NotificationType t : NotificationType.values()) {
            xml.text("HeadersIn" + t.sesName + "NotificationsEnabled", Boolean.toString(n.withHeaders().contains(t)));
          }
        });
  }

  /**
   * The settings of those of the identities asked for that the caller has, by the string the client sent, name or
   * ARN: the SDKs look each answer up by what they asked for, so an ARN's entry must be keyed by the ARN.
   */
  private Future<Map<String, IdentityNotifications>> notifications(Caller caller, List<String> given) {
    Map<String, String> names = new LinkedHashMap<>();
    for (String g : given) {
      String name = identityParameter.nameOrNull(caller, g);
      if (name != null) {
        names.put(g, name);
      }
    }
    return identities.notifications(caller.account().id(), List.copyOf(names.values())).map(byName -> {
      Map<String, IdentityNotifications> out = new LinkedHashMap<>(); // in the order asked
      names.forEach((g, name) -> {
        IdentityNotifications n = byName.get(name);
        if (n != null) {
          out.put(g, n);
        }
      });
      return out;
    });
  }

  Future<QueryXml> setFeedbackForwarding(Caller caller, QueryParams p) {
    String identity = identityParameter.name(caller, p.required("Identity"));
    boolean enabled = QueryApi.bool(p, "ForwardingEnabled");
    return QueryApi.identityChanged(identity,
        identities.setFeedbackForwarding(caller.account().id(), identity, enabled, true));
  }

  Future<QueryXml> setHeadersInNotifications(Caller caller, QueryParams p) {
    String identity = identityParameter.name(caller, p.required("Identity"));
    NotificationType type = NotificationType.parse(p.required("NotificationType"));
    boolean enabled = QueryApi.bool(p, "Enabled");
    return QueryApi.identityChanged(identity,
        identities.setHeadersInNotifications(caller.account().id(), identity, type, enabled));
  }
}
