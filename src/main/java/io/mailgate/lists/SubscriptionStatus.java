package io.mailgate.lists;

import io.mailgate.SesException;

/** A contact's choice for a topic, and a topic's default for contacts who made none (SES SubscriptionStatus). */
public enum SubscriptionStatus {
  OPT_IN, OPT_OUT;

  /** The status a request names; anything else is a BadRequest naming the field. */
  public static SubscriptionStatus parse(String s, String field) {
    if (s == null) {
      throw SesException.badRequest("Missing required field " + field + ".");
    }
    return switch (s) {
      case "OPT_IN" -> OPT_IN;
      case "OPT_OUT" -> OPT_OUT;
      default -> throw SesException.badRequest("Invalid value for " + field + ": use OPT_IN or OPT_OUT.");
    };
  }
}
