package io.mailgate.delivery;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Shaping limits per destination site, from data: {@code delivery/shaping.json} shipped, an
 * operator file merged over it. See the shipped file for the format.
 */
public final class Shaping {

  /** The limits of one site, per node. 0 means no limit for the two rates. */
  public record Limits(int maxConnections, int maxMessagesPerConnection, double maxMessagesPerSecond,
      int maxConnectionsPerMinute) {
    public Limits {
      if (maxConnections < 1 || maxMessagesPerConnection < 1 || maxMessagesPerSecond < 0 || maxConnectionsPerMinute < 0) {
        throw new IllegalArgumentException("invalid shaping limits: " + maxConnections + "/" + maxMessagesPerConnection
            + "/" + maxMessagesPerSecond + "/" + maxConnectionsPerMinute);
      }
    }
  }

  private record Entry(String mxSuffix, Limits limits) {}

  private final Limits defaults;
  private final List<Entry> sites;

  private Shaping(Limits defaults, List<Entry> sites) {
    this.defaults = defaults;
    this.sites = sites;
  }

  public static Shaping load(String operatorFile) {
    JsonObject shipped;
    try (InputStream in = Shaping.class.getClassLoader().getResourceAsStream("delivery/shaping.json")) {
      shipped = new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Limits defaults = limits(shipped.getJsonObject("default"), null);
    List<Entry> sites = new ArrayList<>();
    if (operatorFile != null && !operatorFile.isBlank()) {
      JsonObject operator;
      try {
        operator = new JsonObject(Files.readString(Path.of(operatorFile)));
      } catch (IOException | DecodeException e) {
        throw new IllegalArgumentException("cannot read shaping file " + operatorFile + ": " + e.getMessage(), e);
      }
      if (operator.getJsonObject("default") != null) {
        defaults = limits(operator.getJsonObject("default"), defaults);
      }
      entries(operator.getJsonArray("sites"), defaults, sites);
    }
    entries(shipped.getJsonArray("sites"), defaults, sites);
    return new Shaping(defaults, sites);
  }

  private static void entries(JsonArray array, Limits defaults, List<Entry> out) {
    if (array == null) {
      return;
    }
    for (int i = 0; i < array.size(); i++) {
      JsonObject o = array.getJsonObject(i);
      out.add(new Entry(o.getString("mx").toLowerCase(Locale.ROOT), limits(o, defaults)));
    }
  }

  private static Limits limits(JsonObject o, Limits base) {
    return new Limits(
        o.getInteger("maxConnections", base == null ? 10 : base.maxConnections()),
        o.getInteger("maxMessagesPerConnection", base == null ? 100 : base.maxMessagesPerConnection()),
        o.getDouble("maxMessagesPerSecond", base == null ? 0 : base.maxMessagesPerSecond()),
        o.getInteger("maxConnectionsPerMinute", base == null ? 0 : base.maxConnectionsPerMinute()));
  }

  /** The limits of the site whose MX hosts are {@code mxHosts}. */
  public Limits forSite(List<String> mxHosts) {
    for (Entry e : sites) {
      for (String host : mxHosts) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.equals(e.mxSuffix()) || h.endsWith("." + e.mxSuffix())) {
          return e.limits();
        }
      }
    }
    return defaults;
  }
}
