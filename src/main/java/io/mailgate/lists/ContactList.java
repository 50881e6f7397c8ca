package io.mailgate.lists;

import io.mailgate.SesException;
import io.mailgate.send.MessageHeader;
import io.vertx.core.json.JsonArray;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * An SES contact list: its topics, in the order given, and its tags ({@code {Key, Value}} objects, as checked by
 * {@code JsonFields.tags}). Timestamps are null until it is stored.
 */
public record ContactList(String name, String description, List<Topic> topics, JsonArray tags, Instant createdAt,
    Instant updatedAt) {
  /** SES's quota of topics per list. */
  public static final int MAX_TOPICS = 20;

  public ContactList {
    checkName(name);
    checkText(description, "Description", Topic.MAX_TEXT);
    topics = topics == null ? List.of() : List.copyOf(topics);
    tags = tags == null ? new JsonArray() : tags;
    if (topics.size() > MAX_TOPICS) {
      throw SesException.badRequest("A contact list has at most " + MAX_TOPICS + " topics, not " + topics.size() + ".");
    }
    Set<String> names = new HashSet<>();
    for (Topic t : topics) {
      if (!names.add(t.name())) {
        throw SesException.badRequest("Duplicate topic " + t.name() + ".");
      }
    }
  }

  /** A contact list's name, as SES names resources: ASCII letters, digits, underscores and dashes, at most 64. */
  public static String checkName(String name) {
    return Topic.checkName(name, "ContactListName");
  }

  public Optional<Topic> topic(String name) {
    return topics.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  public JsonArray topicsJson() {
    JsonArray out = new JsonArray();
    topics.forEach(t -> out.add(t.toJson()));
    return out;
  }

  /** Free text of a list or topic: at most {@code max} characters, no CR, LF or other control character. */
  static void checkText(String s, String field, int max) {
    if (s == null) {
      return;
    }
    if (s.length() > max) {
      throw SesException.badRequest(field + " is longer than " + max + " characters.");
    }
    MessageHeader.requireNoControl(s, field);
  }
}
