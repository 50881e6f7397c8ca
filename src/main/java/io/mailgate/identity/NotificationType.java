package io.mailgate.identity;

import io.mailgate.SesException;

/**
 * What an identity's notification topic is for (SES v1's NotificationType). {@link #sesName} is also the SES event
 * type of what the topic receives, and the name of its row among the identity's event destinations.
 */
public enum NotificationType {
  BOUNCE("Bounce"),
  COMPLAINT("Complaint"),
  DELIVERY("Delivery");

  public final String sesName;

  NotificationType(String sesName) {
    this.sesName = sesName;
  }

  /** Bounce, Complaint or Delivery, spelled as SES spells them; anything else is a 400. */
  public static NotificationType parse(String given) {
    for (NotificationType t : values()) {
      if (t.sesName.equals(given)) {
        return t;
      }
    }
    throw SesException.badRequest("NotificationType must be Bounce, Complaint or Delivery, not '"
        + io.mailgate.send.MailboxParser.abbreviate(given) + "'.");
  }

  static NotificationType fromSesName(String name) {
    for (NotificationType t : values()) {
      if (t.sesName.equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown notification type " + name);
  }
}
