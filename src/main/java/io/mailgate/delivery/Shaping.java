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
    JsonObject operator = null;
    if (operatorFile != null && !operatorFile.isBlank()) {
      try {
        operator = new JsonObject(Files.readString(Path.of(operatorFile)));
      } catch (IOException | DecodeException e) {
        throw new IllegalArgumentException("cannot read shaping file " + operatorFile + ": " + e.getMessage(), e);
      }
      if (operator.getJsonObject("default") != null) {
        defaults = limits(operator.getJsonObject("default"), defaults);
      }
    }
    List<Entry> shippedSites = entries(shipped.getJsonArray("sites"), defaults, List.of());
    // the operator's entries come first (the first match wins), each merged over the shipped one of its mx, if any
    List<Entry> sites = operator == null ? new ArrayList<>()
        : entries(operator.getJsonArray("sites"), defaults, shippedSites);
    sites.addAll(shippedSites);
    return new Shaping(defaults, sites);
  }

  /** The entries of {@code array}, each over the entry of {@code under} with the same mx, else over the defaults. */
  private static List<Entry> entries(JsonArray array, Limits defaults, List<Entry> under) {
    List<Entry> out = new ArrayList<>();
    if (array == null) {
      return out;
    }
    for (int i = 0; i < array.size(); i++) {
      JsonObject o = array.getJsonObject(i);
      String mx = o.getString("mx").toLowerCase(Locale.ROOT);
      Limits base = under.stream().filter(e -> e.mxSuffix().equals(mx)).map(Entry::limits).findFirst()
          .orElse(defaults);
      out.add(new Entry(mx, limits(o, base)));
    }
    return out;
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
