package io.mailgate.api.sesv1;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.sesv2.EventDestinationsHandler;
import io.mailgate.identity.IdentityNotifications;
import io.mailgate.identity.IdentityService;
import io.mailgate.identity.NotificationType;
import io.mailgate.send.Caller;
import io.vertx.core.Future;

/**
 * SES v1's identity notifications, the classic way of getting bounces, complaints and deliveries:
 * SetIdentityNotificationTopic (the topic is the webhook's URL, checked as event destinations' are; left out, it is
 * cleared), GetIdentityNotificationAttributes, SetIdentityFeedbackForwardingEnabled (whether bounces and complaints
 * are mailed to the Return-Path: see {@link io.mailgate.feedback.FeedbackForwarder}) and
 * SetIdentityHeadersInNotificationsEnabled. An identity the account does not
 * have is refused as SES refuses it, InvalidParameterValue "Identity ... is invalid".
 */
final class IdentityNotificationActions {
  private final IdentityService identities;
  private final EventDestinationsHandler webhooks;

  IdentityNotificationActions(IdentityService identities, EventDestinationsHandler webhooks) {
    this.identities = identities;
    this.webhooks = webhooks;
  }

  Future<QueryXml> setTopic(Caller caller, QueryParams p) {
    String identity = p.required("Identity");
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
        names -> identities.notifications(caller.account().id(), names), (xml, n) -> {
          xml.text("BounceTopic", n.topics().get(NotificationType.BOUNCE))
              .text("ComplaintTopic", n.topics().get(NotificationType.COMPLAINT))
              .text("DeliveryTopic", n.topics().get(NotificationType.DELIVERY))
              .text("ForwardingEnabled", Boolean.toString(n.forwarding()));
          for (NotificationType t : NotificationType.values()) {
            xml.text("HeadersIn" + t.sesName + "NotificationsEnabled", Boolean.toString(n.withHeaders().contains(t)));
          }
        });
  }

  Future<QueryXml> setFeedbackForwarding(Caller caller, QueryParams p) {
    String identity = p.required("Identity");
    boolean enabled = QueryApi.bool(p, "ForwardingEnabled");
    return QueryApi.identityChanged(identity,
        identities.setFeedbackForwarding(caller.account().id(), identity, enabled, true));
  }

  Future<QueryXml> setHeadersInNotifications(Caller caller, QueryParams p) {
    String identity = p.required("Identity");
    NotificationType type = NotificationType.parse(p.required("NotificationType"));
    boolean enabled = QueryApi.bool(p, "Enabled");
    return QueryApi.identityChanged(identity,
        identities.setHeadersInNotifications(caller.account().id(), identity, type, enabled));
  }
}
