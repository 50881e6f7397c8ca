package io.mailgate.lists;

import static io.mailgate.api.JsonFields.bool;
import static io.mailgate.api.JsonFields.objects;
import static io.mailgate.api.JsonFields.requiredString;
import static io.mailgate.api.JsonFields.string;

import io.mailgate.SesException;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import io.mailgate.send.MailboxParser;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * A contact of a list: its explicit topic preferences (a topic it has none for has the topic's default), whether it
 * unsubscribed from everything the list sends, and the caller's own AttributesData. Timestamps are null until stored.
 */
public record Contact(String address, Map<String, SubscriptionStatus> preferences, boolean unsubscribeAll,
    String attributesData, Instant createdAt, Instant updatedAt) {
  /** An address is at most 254 characters (RFC 5321's path limit less its brackets). */
  public static final int MAX_ADDRESS = 254;
  /** AttributesData is the caller's own (JSON, usually); kept as given up to this. */
  public static final int MAX_ATTRIBUTES = 64 * 1024;

  public Contact {
    preferences = preferences == null ? Map.of() : java.util.Collections.unmodifiableMap(
        new java.util.LinkedHashMap<>(preferences));
    if (attributesData != null) {
      if (attributesData.length() > MAX_ATTRIBUTES) {
        throw SesException.badRequest("AttributesData is longer than " + MAX_ATTRIBUTES + " characters.");
      }
      // it never reaches a header: line breaks and tabs are fine (pretty-printed JSON), other control characters not
      for (int i = 0; i < attributesData.length(); i++) {
        char c = attributesData.charAt(i);
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) {
          throw SesException.badRequest("Illegal control character in AttributesData.");
        }
      }
    }
  }

  /** The contact's status for {@code topic}: UnsubscribeAll, else its own choice, else the topic's default. */
  public SubscriptionStatus status(Topic topic) {
    if (unsubscribeAll) {
      return SubscriptionStatus.OPT_OUT;
    }
    return preferences.getOrDefault(topic.name(), topic.defaultStatus());
  }

  /**
   * A contact's address as a request gives it: one bare addr-spec (no display name, no surrounding space, no control
   * character), at most {@link #MAX_ADDRESS} characters. The key contacts are compared by is {@link #key}.
   */
  public static String checkAddress(String address) {
    if (address == null || address.isEmpty()) {
      throw SesException.badRequest("Missing required field EmailAddress.");
    }
    if (address.length() > MAX_ADDRESS) {
      throw SesException.badRequest("EmailAddress is longer than " + MAX_ADDRESS + " characters.");
    }
    if (!address.equals(address.strip()) || address.indexOf('<') >= 0) {
      throw SesException.badRequest("Invalid EmailAddress: give the address alone: " + MailboxParser.abbreviate(address));
    }
    MailboxParser.parseAddrSpec(address);
    return address;
  }

  /**
   * A contact as CreateContact, UpdateContact or an import job's record gives it: its preferences may name only the
   * list's topics, each once.
   */
  public static Contact fromRequest(String address, JsonObject body, ContactList list) {
    Map<String, SubscriptionStatus> preferences = new LinkedHashMap<>();
    for (JsonObject p : objects(body, "TopicPreferences", "")) {
      String topic = requiredString(p, "TopicName", "TopicPreferences");
      if (list.topic(topic).isEmpty()) {
        throw unknownTopic(topic, list.name());
      }
      SubscriptionStatus status = SubscriptionStatus.parse(string(p, "SubscriptionStatus", "TopicPreferences"),
          "TopicPreferences.SubscriptionStatus");
      if (preferences.put(topic, status) != null) {
        throw SesException.badRequest("TopicPreferences names topic " + topic + " more than once.");
      }
    }
    return new Contact(address, preferences, bool(body, "UnsubscribeAll", "", false),
        string(body, "AttributesData", ""), null, null);
  }

  public static SesException unknownTopic(String topic, String list) {
    return SesException.badRequest("Topic " + topic + " does not exist in contact list " + list + ".");
  }

  /** What two spellings of one contact's address share (SES compares contacts' addresses without regard to case). */
  public static String key(String address) {
    return address.toLowerCase(Locale.ROOT);
  }
}
