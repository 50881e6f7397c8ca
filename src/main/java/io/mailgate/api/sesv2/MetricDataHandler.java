package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.objects;
import static io.mailgate.api.JsonFields.requiredString;

import io.mailgate.SesException;
import io.mailgate.api.V2Route;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.send.Caller;
import io.mailgate.store.VdmStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * SES v2 BatchGetMetricData ({@code POST /v2/email/metrics/batch}): up to ten queries of the Virtual Deliverability
 * Manager's metrics, each a metric of namespace VDM over a span of days, narrowed by dimensions (EMAIL_IDENTITY,
 * CONFIGURATION_SET, ISP: each {@code *} for any value or a comma-separated list of at most ten; with a {@code *},
 * the other dimensions have one value each), answered with one value per UTC day, from StartDate's day to EndDate's,
 * both included, that has metrics: the days {@link VdmStore} computed for the account (none before VDM was turned on,
 * none with no message). The queries of a call are read from one snapshot (a day computed again meanwhile is before
 * or after for all of them); when that read fails, each query is an entry of {@code Errors} (INTERNAL_FAILURE). An
 * account without VDM on is refused (a 400 saying how to turn it on). SES's limits hold: 16 calls and 160 queries a
 * second per account, across the nodes ({@code allowed}).
 */
public final class MetricDataHandler {
  static final int MAX_QUERIES = 10;
  static final int MAX_ID = 255;
  public static final int MAX_VALUES = 10;
  static final Set<String> DIMENSIONS = Set.of("EMAIL_IDENTITY", "CONFIGURATION_SET", "ISP");

  /** One query as asked: its id, and the series it asks for (its filter null where a dimension is not narrowed). */
  record Query(String id, VdmStore.Series series) {}

  private final VdmStore store;
  private final AccountDirectory accounts;
  private final BiFunction<String, Integer, Future<Void>> allowed;

  /** @param allowed whether the account may make a call of this many queries now (a 429 when not) */
  public MetricDataHandler(VdmStore store, AccountDirectory accounts,
      BiFunction<String, Integer, Future<Void>> allowed) {
    this.store = store;
    this.accounts = accounts;
    this.allowed = allowed;
  }

  public Future<JsonObject> batch(Caller caller, RoutingContext ctx) {
    List<Query> queries = queries(V2Route.requiredBody(ctx));
    String account = caller.account().id();
    return allowed.apply(account, queries.size())
        .compose(v -> vdmOn(accounts, account, "its metrics are computed from then on, for the messages of the last "
            + "vdm.recomputeDays days too"))
        // one snapshot for the batch: a day computed again meanwhile gives no query its new rows and another its old
        .compose(v -> store.series(account, queries.stream().map(Query::series).toList())
            .map(all -> {
              JsonArray results = new JsonArray();
              for (int i = 0; i < queries.size(); i++) {
                JsonArray timestamps = new JsonArray();
                JsonArray values = new JsonArray();
                for (VdmStore.Point p : all.get(i)) {
                  timestamps.add(p.day().atStartOfDay(ZoneOffset.UTC).toEpochSecond());
                  values.add(p.value());
                }
                results.add(new JsonObject().put("Id", queries.get(i).id()).put("Timestamps", timestamps)
                    .put("Values", values));
              }
              return new JsonObject().put("Results", results).put("Errors", new JsonArray());
            })
            .recover(e -> {
              JsonArray errors = new JsonArray();
              queries.forEach(q -> errors.add(new JsonObject().put("Id", q.id()).put("Code", "INTERNAL_FAILURE")
                  .put("Message", "The query could not be answered; try again.")));
              return Future.succeededFuture(new JsonObject().put("Results", new JsonArray()).put("Errors", errors));
            }));
  }

  /** Succeeds when the account has VDM on; else a 400 saying how to turn it on, and what follows ({@code then}). */
  static Future<Void> vdmOn(AccountDirectory accounts, String account, String then) {
    return accounts.byId(account).compose(details -> {
      JsonObject vdm = details.map(AccountDirectory.Details::vdmAttributes).orElse(null);
      return vdm != null && "ENABLED".equals(vdm.getString("VdmEnabled")) ? Future.succeededFuture()
          : Future.failedFuture(SesException.badRequest("The Virtual Deliverability Manager is not enabled for this "
              + "account: turn it on with PutAccountVdmAttributes (VdmEnabled ENABLED); " + then + "."));
    });
  }

  /** The request's queries, each checked: a 400 for the first problem, naming it. */
  static List<Query> queries(JsonObject body) {
    if (body.getValue("Queries") == null) {
      throw SesException.badRequest("Missing required field Queries.");
    }
    List<JsonObject> given = objects(body, "Queries", "");
    if (given.isEmpty() || given.size() > MAX_QUERIES) {
      throw SesException.badRequest("Queries must have 1 to " + MAX_QUERIES + " members, not " + given.size() + ".");
    }
    List<Query> out = new ArrayList<>(given.size());
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < given.size(); i++) {
      Query q = query(given.get(i), "Queries[" + i + "]");
      if (!ids.add(q.id())) {
        throw SesException.badRequest("Queries[" + i + "].Id '" + q.id() + "' is given to another query too.");
      }
      out.add(q);
    }
    return out;
  }

  private static Query query(JsonObject q, String path) {
    String id = requiredString(q, "Id", path);
    if (id.isEmpty() || id.codePointCount(0, id.length()) > MAX_ID) {
      throw SesException.badRequest(path + ".Id must have 1 to " + MAX_ID + " characters.");
    }
    String namespace = requiredString(q, "Namespace", path);
    if (!namespace.equals("VDM")) {
      throw SesException.badRequest(path + ".Namespace must be VDM, not '" + namespace + "'.");
    }
    String metricName = requiredString(q, "Metric", path);
    VdmStore.Metric metric;
    try {
      metric = VdmStore.Metric.valueOf(metricName);
    } catch (IllegalArgumentException e) {
      throw SesException.badRequest(path + ".Metric must be one of " + java.util.Arrays.toString(
          VdmStore.Metric.values()) + ", not '" + metricName + "'.");
    }
    Instant start = time(q, "StartDate", path);
    Instant end = time(q, "EndDate", path);
    if (start.isAfter(end)) {
      throw SesException.badRequest(path + ".StartDate is after its EndDate.");
    }
    return new Query(id, new VdmStore.Series(metric, start.atZone(ZoneOffset.UTC).toLocalDate(),
        end.atZone(ZoneOffset.UTC).toLocalDate(), filter(object(q, "Dimensions", path), path + ".Dimensions")));
  }

  private static VdmStore.Filter filter(JsonObject dimensions, String path) {
    if (dimensions == null) {
      return VdmStore.Filter.NONE;
    }
    if (dimensions.isEmpty() || dimensions.size() > DIMENSIONS.size()) {
      throw SesException.badRequest(path + " must have 1 to " + DIMENSIONS.size() + " entries.");
    }
    List<String> identities = null;
    List<String> sets = null;
    List<String> isps = null;
    boolean wildcard = false;
    boolean several = false;
    for (Map.Entry<String, Object> e : dimensions) {
      if (!DIMENSIONS.contains(e.getKey())) {
        throw SesException.badRequest(path + " has '" + e.getKey() + "', not one of EMAIL_IDENTITY, "
            + "CONFIGURATION_SET, ISP.");
      }
      if (!(e.getValue() instanceof String value)) {
        throw SesException.badRequest("Invalid type for field " + path + "." + e.getKey() + ": expected a string.");
      }
      List<String> values = values(value.strip(), path + "." + e.getKey());
      wildcard |= values == null;
      several |= values != null && values.size() > 1;
      switch (e.getKey()) {
        case "EMAIL_IDENTITY" -> identities = values;
        case "CONFIGURATION_SET" -> sets = values;
        default -> isps = values;
      }
    }
    if (wildcard && several) {
      throw SesException.badRequest(path + ": with a dimension of any value (*), each other dimension has one value.");
    }
    return new VdmStore.Filter(identities, sets, isps);
  }

  /** A dimension's values: null for {@code *} (any), else its comma-separated values, each one given. */
  private static List<String> values(String value, String path) {
    if (value.equals("*")) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (String v : value.split(",", -1)) {
      String s = v.strip();
      if (s.isEmpty() || s.equals("*")) {
        throw SesException.badRequest(path + " must be * or a comma-separated list of values, not '" + value + "'.");
      }
      if (s.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) { // no name has them (and PostgreSQL refuses a NUL)
        throw SesException.badRequest(path + " has a control character.");
      }
      out.add(s);
    }
    if (out.size() > MAX_VALUES) {
      throw SesException.badRequest(path + " has " + out.size() + " values; at most " + MAX_VALUES + ".");
    }
    return out;
  }

  /** A timestamp field: epoch seconds (as the SDKs send it), or an ISO-8601 instant. */
  public static Instant time(JsonObject q, String field, String path) {
    Object v = q.getValue(field);
    if (v == null) {
      throw SesException.badRequest("Missing required field " + path + "." + field + ".");
    }
    try {
      BigDecimal seconds = v instanceof Number n ? new BigDecimal(n.toString())
          : v instanceof String s && s.matches("\\d{1,12}(\\.\\d{1,9})?") ? new BigDecimal(s) : null;
      Instant t = seconds != null ? Instant.ofEpochMilli(
          seconds.movePointRight(3).setScale(0, java.math.RoundingMode.FLOOR).longValueExact())
          : v instanceof String s ? Instant.parse(s) : null;
      if (t == null || t.isBefore(Instant.EPOCH) || t.isAfter(LATEST)) {
        throw new DateTimeParseException("", "", 0);
      }
      return t;
    } catch (DateTimeParseException | NumberFormatException | ArithmeticException e) {
      throw SesException.badRequest("Invalid " + path + "." + field + " '" + v + "': epoch seconds or an ISO-8601 "
          + "time between 1970 and 9999.");
    }
  }

  private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");
}
