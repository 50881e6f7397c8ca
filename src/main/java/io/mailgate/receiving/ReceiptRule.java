package io.mailgate.receiving;

import io.vertx.core.json.JsonArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A receipt rule (SES v1 {@code ReceiptRule}): the recipients it applies to and the actions it runs for them, in
 * order. {@code recipients} holds lower-cased conditions: an address matches itself, a domain every address in that
 * domain (not its subdomains), {@code .domain} every address in its subdomains; none at all matches every recipient
 * the account receives for. {@code tlsPolicy} {@code Require} refuses the recipients of a session without TLS.
 */
public record ReceiptRule(String name, boolean enabled, String tlsPolicy, List<String> recipients,
    List<ReceiptAction> actions, boolean scanEnabled) {
  public static final String TLS_OPTIONAL = "Optional";
  public static final String TLS_REQUIRE = "Require";

  public ReceiptRule {
    recipients = List.copyOf(recipients);
    actions = List.copyOf(actions);
  }

  /** Whether the rule applies to this recipient (an address with a lower-cased domain). */
  public boolean matches(String recipient) {
    if (recipients.isEmpty()) {
      return true;
    }
    String address = recipient.toLowerCase(Locale.ROOT);
    int at = address.lastIndexOf('@');
    String domain = at < 0 ? "" : address.substring(at + 1);
    for (String condition : recipients) {
      if (condition.indexOf('@') >= 0 ? condition.equals(address)
          : condition.startsWith(".") ? domain.endsWith(condition) && domain.length() > condition.length()
          : condition.equals(domain)) {
        return true;
      }
    }
    return false;
  }

  public boolean requiresTls() {
    return TLS_REQUIRE.equals(tlsPolicy);
  }

  /** The actions as stored: a JSON array of SES action structures. */
  public JsonArray actionsJson() {
    JsonArray out = new JsonArray();
    actions.forEach(a -> out.add(a.toJson()));
    return out;
  }

  /** The actions of their stored JSON ({@link #actionsJson}). */
  public static List<ReceiptAction> actions(JsonArray stored) {
    List<ReceiptAction> out = new ArrayList<>(stored.size());
    for (int i = 0; i < stored.size(); i++) {
      out.add(ReceiptAction.fromJson(stored.getJsonObject(i)));
    }
    return out;
  }
}
