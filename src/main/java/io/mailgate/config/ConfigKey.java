package io.mailgate.config;

import java.util.Locale;

/**
 * One documented configuration setting: its dotted path in {@code conf/mailgate.json}, its type,
 * default and description. The environment variable that overrides it is derived from the path
 * ({@code delivery.maxConnections} -> {@code MAILGATE_DELIVERY_MAX_CONNECTIONS},
 * {@code dev.max24HourSend} -> {@code MAILGATE_DEV_MAX_24_HOUR_SEND}).
 */
public record ConfigKey<T>(String path, Class<T> type, T defaultValue, String description) {

  public String envName() {
    StringBuilder sb = new StringBuilder("MAILGATE_");
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '.') {
        sb.append('_');
      } else if (Character.isUpperCase(c)
          || (Character.isDigit(c) && i > 0 && Character.isLetter(path.charAt(i - 1)))) {
        sb.append('_').append(c);
      } else {
        sb.append(Character.toUpperCase(c));
      }
    }
    return sb.toString().toUpperCase(Locale.ROOT);
  }

  /** Converts a raw value (from JSON or an environment variable) to this key's type. */
  T convert(Object raw) {
    if (raw == null) {
      return null;
    }
    if (type == String.class && (raw instanceof Iterable || raw instanceof java.util.Map
        || raw instanceof io.vertx.core.json.JsonObject)) {
      // a JSON list's text would be read as values ('["a.example"' and '"b.example"]'), without a word
      throw new ConfigException("invalid value for " + path + " (" + envName() + "): " + raw + " is not a string; "
          + "a list is one string, its items separated by commas");
    }
    try {
      if (type == String.class) {
        return type.cast(raw.toString());
      }
      // numbers: whole where whole, in range (3000000000 is no int, 1.5 no count), finite, never negative
      if (type == Integer.class) {
        return type.cast(atLeastZero(raw instanceof Integer i ? i
            : new java.math.BigDecimal(raw.toString().trim()).intValueExact()));
      }
      if (type == Long.class) {
        return type.cast(atLeastZero(raw instanceof Long l ? l : raw instanceof Integer i ? (long) i
            : new java.math.BigDecimal(raw.toString().trim()).longValueExact()));
      }
      if (type == Double.class) {
        double d = raw instanceof Number n ? n.doubleValue() : Double.parseDouble(raw.toString().trim());
        if (!Double.isFinite(d)) {
          throw new IllegalArgumentException("not a finite number");
        }
        return type.cast(atLeastZero(d));
      }
      if (type == Boolean.class) {
        if (raw instanceof Boolean b) {
          return type.cast(b);
        }
        String s = raw.toString().trim().toLowerCase(Locale.ROOT);
        if (s.equals("true") || s.equals("1") || s.equals("yes")) {
          return type.cast(Boolean.TRUE);
        }
        if (s.equals("false") || s.equals("0") || s.equals("no")) {
          return type.cast(Boolean.FALSE);
        }
        throw new IllegalArgumentException("not a boolean");
      }
    } catch (RuntimeException e) {
      throw new ConfigException(
          "invalid value for " + path + " (" + envName() + "): '" + raw + "' is not "
              + (type == Integer.class ? "an " : "a ") + type.getSimpleName()
              + (type == String.class || type == Boolean.class ? "" : " of 0 or more"), e);
    }
    throw new IllegalStateException("unsupported config type " + type);
  }

  private static <N extends Number> N atLeastZero(N n) {
    if (n.doubleValue() < 0) {
      throw new IllegalArgumentException("negative");
    }
    return n;
  }
}
