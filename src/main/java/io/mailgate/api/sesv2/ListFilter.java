package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.string;

import io.mailgate.SesException;
import io.mailgate.send.MailboxParser;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code Filter} map of a List operation's body (ListTenants, ListEmailIdentities, ListConfigurationSets...): its
 * keys must be the operation's, so that a filter Mailgate does not apply is refused (400) rather than answered with
 * every item, which a script that deletes what it lists would take for the matching ones.
 */
final class ListFilter {

  private ListFilter() {}

  /** The filter's entries with a value, by key; empty without a Filter. */
  static Map<String, String> of(JsonObject body, List<String> keys) {
    JsonObject f = body == null ? null : object(body, "Filter", "");
    Map<String, String> out = new LinkedHashMap<>();
    if (f == null) {
      return out;
    }
    for (String key : f.fieldNames()) {
      if (!keys.contains(key)) {
        throw SesException.badRequest("Unknown Filter key " + MailboxParser.abbreviate(key) + "; expected one of "
            + String.join(", ", keys) + ".");
      }
      String v = string(f, key, "Filter");
      if (v != null) {
        out.put(key, v);
      }
    }
    return out;
  }
}
