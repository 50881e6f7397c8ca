package io.mailgate.feedback;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.objects;
import static io.mailgate.api.JsonFields.requiredString;

import io.mailgate.SesException;
import io.mailgate.api.sesv2.MetricDataHandler;
import io.mailgate.store.VdmStore;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An export job's MetricsDataSource (SES v2 CreateExportJob, METRICS_DATA): the Virtual Deliverability Manager's
 * metrics of the account ({@link VdmStore#table}) by UTC day from StartDate's day to EndDate's, both included, and by
 * the dimensions named in {@code Dimensions} (each narrowed to its 1 to 10 values, or {@code *} for any), one record
 * per day and combination of those dimensions' values that had messages. Each metric asked is a column: its VOLUME (the
 * day's count) or its RATE, the count over what it is a share of: OPEN, CLICK and COMPLAINT over the deliveries that
 * could show them (DELIVERY_OPEN, DELIVERY_CLICK, DELIVERY_COMPLAINT), the others over SEND; a rate with nothing to
 * divide by is empty (CSV) or left out (JSON).
 *
 * @param groupBy the dimensions named, in the order of {@link #DIMENSIONS}
 */
public record MetricsExport(VdmStore.Filter filter, List<String> groupBy, List<Column> metrics, LocalDate from,
    LocalDate to) {
  /** The dimensions, in the order records name them. */
  public static final List<String> DIMENSIONS = List.of("EMAIL_IDENTITY", "CONFIGURATION_SET", "ISP");
  static final int MAX_METRICS = 10;

  /** A metric asked for, and how: as its VOLUME or its RATE. */
  public record Column(VdmStore.Metric metric, boolean rate) {
    /** Its name in a record: {@code DELIVERY_RATE}, {@code SEND_VOLUME}. */
    public String name() {
      return metric.name() + (rate ? "_RATE" : "_VOLUME");
    }

    /** Its value in {@code row}: null for a rate with nothing to divide by. */
    public Number value(VdmStore.Sums row) {
      long count = row.get(metric);
      if (!rate) {
        return count;
      }
      long of = row.get(denominator(metric));
      return of == 0 ? null : (double) count / of;
    }
  }

  /** What {@code metric}'s rate is a share of. */
  static VdmStore.Metric denominator(VdmStore.Metric metric) {
    return switch (metric) {
      case OPEN -> VdmStore.Metric.DELIVERY_OPEN;
      case CLICK -> VdmStore.Metric.DELIVERY_CLICK;
      case COMPLAINT -> VdmStore.Metric.DELIVERY_COMPLAINT;
      default -> VdmStore.Metric.SEND;
    };
  }

  /**
   * The data source as given ({@code path} naming it in errors), checked against SES's model: a 400 for the first
   * problem. The same text read back from a stored job gives the same export.
   */
  public static MetricsExport parse(JsonObject source, String path) {
    String namespace = requiredString(source, "Namespace", path);
    if (!namespace.equals("VDM")) {
      throw SesException.badRequest(path + ".Namespace must be VDM, not '" + namespace + "'.");
    }
    JsonObject dimensions = object(source, "Dimensions", path);
    if (dimensions == null) {
      throw SesException.badRequest("Missing required field " + path + ".Dimensions.");
    }
    if (dimensions.isEmpty() || dimensions.size() > DIMENSIONS.size()) {
      throw SesException.badRequest(path + ".Dimensions must have 1 to " + DIMENSIONS.size() + " entries.");
    }
    List<String> groupBy = new ArrayList<>();
    List<List<String>> values = new ArrayList<>();
    for (String d : DIMENSIONS) {
      if (dimensions.containsKey(d)) {
        groupBy.add(d);
        values.add(values(dimensions.getValue(d), path + ".Dimensions." + d));
      } else {
        values.add(null);
      }
    }
    for (String key : dimensions.fieldNames()) {
      if (!DIMENSIONS.contains(key)) {
        throw SesException.badRequest(path + ".Dimensions has '" + key + "', not one of " + String.join(", ",
            DIMENSIONS) + ".");
      }
    }
    List<JsonObject> given = objects(source, "Metrics", path);
    if (given.isEmpty() || given.size() > MAX_METRICS) {
      throw SesException.badRequest(path + ".Metrics must have 1 to " + MAX_METRICS + " members, not " + given.size()
          + ".");
    }
    List<Column> columns = new ArrayList<>(given.size());
    Set<String> names = new HashSet<>();
    for (int i = 0; i < given.size(); i++) {
      Column c = column(given.get(i), path + ".Metrics[" + i + "]");
      if (!names.add(c.name())) {
        throw SesException.badRequest(path + ".Metrics[" + i + "] asks for " + c.name() + " a second time.");
      }
      columns.add(c);
    }
    Instant start = MetricDataHandler.time(source, "StartDate", path);
    Instant end = MetricDataHandler.time(source, "EndDate", path);
    if (start.isAfter(end)) {
      throw SesException.badRequest(path + ".StartDate is after its EndDate.");
    }
    return new MetricsExport(new VdmStore.Filter(values.get(0), values.get(1), values.get(2)), List.copyOf(groupBy),
        List.copyOf(columns), start.atZone(ZoneOffset.UTC).toLocalDate(), end.atZone(ZoneOffset.UTC).toLocalDate());
  }

  private static Column column(JsonObject m, String path) {
    String name = requiredString(m, "Name", path);
    VdmStore.Metric metric;
    try {
      metric = VdmStore.Metric.valueOf(name);
    } catch (IllegalArgumentException e) {
      throw SesException.badRequest(path + ".Name must be one of " + java.util.Arrays.toString(VdmStore.Metric.values())
          + ", not '" + name + "'.");
    }
    Object aggregation = m.getValue("Aggregation");
    if (aggregation != null && !"RATE".equals(aggregation) && !"VOLUME".equals(aggregation)) {
      throw SesException.badRequest(path + ".Aggregation must be RATE or VOLUME, not '" + aggregation + "'.");
    }
    return new Column(metric, "RATE".equals(aggregation));
  }

  /** A dimension's values: null for {@code ["*"]} (any), else 1 to 10 names without control characters. */
  private static List<String> values(Object given, String path) {
    if (!(given instanceof JsonArray a) || a.isEmpty() || a.size() > MetricDataHandler.MAX_VALUES) {
      throw SesException.badRequest(path + " must be a list of 1 to " + MetricDataHandler.MAX_VALUES + " values.");
    }
    List<String> out = new ArrayList<>(a.size());
    for (int i = 0; i < a.size(); i++) {
      if (!(a.getValue(i) instanceof String s) || s.isBlank() || s.length() > 320) {
        throw SesException.badRequest(path + "[" + i + "] must be a name of 1 to 320 characters.");
      }
      if (s.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) { // no name has them (and PostgreSQL refuses a NUL)
        throw SesException.badRequest(path + "[" + i + "] has a control character.");
      }
      out.add(s.strip());
    }
    if (out.contains("*")) {
      if (out.size() > 1) {
        throw SesException.badRequest(path + ": * (any value) stands alone.");
      }
      return null;
    }
    return List.copyOf(out);
  }

  /** The data source as kept and shown: what was given, checked, with dates as epoch seconds. */
  public static JsonObject normalized(JsonObject source, String path) {
    Instant start = MetricDataHandler.time(source, "StartDate", path);
    Instant end = MetricDataHandler.time(source, "EndDate", path);
    JsonArray metrics = new JsonArray();
    for (JsonObject m : objects(source, "Metrics", path)) {
      metrics.add(new JsonObject().put("Name", m.getString("Name"))
          .put("Aggregation", m.getString("Aggregation", "VOLUME")));
    }
    return new JsonObject().put("Dimensions", source.getJsonObject("Dimensions").copy()).put("Namespace", "VDM")
        .put("Metrics", metrics).put("StartDate", start.toEpochMilli() / 1000.0)
        .put("EndDate", end.toEpochMilli() / 1000.0);
  }

  /** The records' header: the day, the dimensions grouped by, the metrics' columns. */
  public List<String> header() {
    List<String> out = new ArrayList<>();
    out.add("Date");
    out.addAll(groupBy);
    metrics.forEach(c -> out.add(c.name()));
    return out;
  }
}
