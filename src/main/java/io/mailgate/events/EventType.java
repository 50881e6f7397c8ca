package io.mailgate.events;

/**
 * SES event types, with the name of the field that carries each type's details. The constant's name is the type as
 * SES v2's MatchingEventTypes spells it.
 */
public enum EventType {
  SEND("Send", "send"),
  DELIVERY("Delivery", "delivery"),
  BOUNCE("Bounce", "bounce"),
  COMPLAINT("Complaint", "complaint"),
  REJECT("Reject", "reject"),
  DELIVERY_DELAY("DeliveryDelay", "deliveryDelay"),
  OPEN("Open", "open"),
  CLICK("Click", "click"),
  RENDERING_FAILURE("Rendering Failure", "failure"),
  SUBSCRIPTION("Subscription", "subscription");

  public final String sesName;
  public final String detailField;

  EventType(String sesName, String detailField) {
    this.sesName = sesName;
    this.detailField = detailField;
  }

  public static EventType fromSesName(String name) {
    for (EventType t : values()) {
      if (t.sesName.equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown event type " + name);
  }

  /** The type as SES v2 names it in MatchingEventTypes ({@code DELIVERY_DELAY}), or null. */
  public static EventType fromApiName(String name) {
    for (EventType t : values()) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    return null;
  }
}
