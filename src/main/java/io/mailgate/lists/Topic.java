package io.mailgate.lists;

import io.mailgate.SesException;
import io.mailgate.send.SendRequest;
import io.vertx.core.json.JsonObject;

/**
 * A topic of a contact list (SES Topic): what a contact can subscribe to or unsubscribe from on its own, with the
 * status a contact has until they choose. Its name is what ListManagementOptions and preferences name it by.
 */
public record Topic(String name, String displayName, String description, SubscriptionStatus defaultStatus) {
  /** Longest display name and description kept (returned by the API; neither is mailed nor shown on a page). */
  static final int MAX_TEXT = 1000;

  public Topic {
    checkName(name, "TopicName");
    ContactList.checkText(displayName, "DisplayName", MAX_TEXT);
    if (displayName == null || displayName.isEmpty()) {
      throw SesException.badRequest("Topic " + name + " needs a DisplayName.");
    }
    ContactList.checkText(description, "Description", MAX_TEXT);
    if (defaultStatus == null) {
      throw SesException.badRequest("Topic " + name + " needs a DefaultSubscriptionStatus.");
    }
  }

  /** A topic's name: as SES names resources, ASCII letters, digits, underscores and dashes, at most 64. */
  public static String checkName(String name, String field) {
    SendRequest.EmailTag.checkName(name, field, 64);
    return name;
  }

  /** SES's Topic object, as requests give it and GetContactList answers it. */
  public JsonObject toJson() {
    JsonObject o = new JsonObject().put("TopicName", name).put("DisplayName", displayName);
    if (description != null) {
      o.put("Description", description);
    }
    return o.put("DefaultSubscriptionStatus", defaultStatus.name());
  }

  /** A Topic object of a request (or of the stored list: the same shape). */
  public static Topic fromJson(JsonObject o, String path) {
    String name = io.mailgate.api.JsonFields.requiredString(o, "TopicName", path);
    return new Topic(name, io.mailgate.api.JsonFields.string(o, "DisplayName", path),
        io.mailgate.api.JsonFields.string(o, "Description", path),
        SubscriptionStatus.parse(io.mailgate.api.JsonFields.string(o, "DefaultSubscriptionStatus", path),
            path + ".DefaultSubscriptionStatus"));
  }
}
