package io.mailgate.configset;

import io.vertx.core.json.JsonArray;
import java.util.List;

/**
 * An SES configuration set: options that apply to every message sent with it. Null options mean
 * "the node's (delivery) or the account's (suppression) setting".
 */
public record ConfigurationSet(String accountId, String name, String tlsPolicy, Integer maxDeliverySeconds,
    String sendingPoolName, boolean sendingEnabled, List<String> suppressedReasons, JsonArray tags) {}
