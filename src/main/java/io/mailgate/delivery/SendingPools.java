package io.mailgate.delivery;

import io.mailgate.config.ConfigException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The node's named delivery routes, which a configuration set chooses with SES's
 * {@code DeliveryOptions.SendingPoolName}: in SES a sending pool is a set of dedicated IP
 * addresses; in Mailgate it is a way out, straight to the MX hosts or through a given relay.
 * Configured as {@code delivery.sendingPools}: {@code name=direct} or {@code name=smtp://...}
 * entries separated by commas (a comma inside a relay password is written {@code %2C}).
 */
public final class SendingPools {
  /** SES's pool names: letters, digits, underscores and hyphens, at most 64. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /** A pool's route: {@code relay} is null for direct delivery. */
  public record Pool(String name, DeliverySettings.Mode mode, SmtpRoute relay) {}

  private final Map<String, Pool> pools;

  private SendingPools(Map<String, Pool> pools) {
    this.pools = Collections.unmodifiableMap(pools);
  }

  public static SendingPools parse(String spec) {
    Map<String, Pool> pools = new LinkedHashMap<>();
    for (String entry : spec.split(",")) {
      if (entry.isBlank()) {
        continue;
      }
      int eq = entry.indexOf('=');
      String name = eq < 0 ? entry.strip() : entry.substring(0, eq).strip();
      String route = eq < 0 ? "" : entry.substring(eq + 1).strip();
      if (!NAME.matcher(name).matches()) {
        throw new ConfigException("delivery.sendingPools: pool name '" + name
            + "' must be 1 to 64 letters, digits, '_' or '-'");
      }
      if (route.isEmpty()) {
        throw new ConfigException("delivery.sendingPools: pool " + name + " needs a route: direct or smtp://host:port");
      }
      Pool pool = route.toLowerCase(Locale.ROOT).equals("direct")
          ? new Pool(name, DeliverySettings.Mode.DIRECT, null)
          : new Pool(name, DeliverySettings.Mode.RELAY, SmtpRoute.parse(route));
      if (pools.put(name, pool) != null) {
        throw new ConfigException("delivery.sendingPools: pool " + name + " is named twice");
      }
    }
    return new SendingPools(pools);
  }

  public Optional<Pool> get(String name) {
    return Optional.ofNullable(pools.get(name));
  }

  public Set<String> names() {
    return pools.keySet();
  }
}
