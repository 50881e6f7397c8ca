package io.mailgate.api.sesv2;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.identity.IdentityArn;
import io.mailgate.send.Caller;
import io.mailgate.store.RecommendationStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * SES v2 ListRecommendations ({@code POST /v2/email/vdm/recommendations}): the Virtual Deliverability Manager's
 * recommendations for the account's identities ({@link io.mailgate.feedback.VdmAdvisor}, written by the VDM pass),
 * a page at a time (PageSize 1 to 100), filtered by one of TYPE, IMPACT, STATUS and RESOURCE_ARN or by STATUS with
 * IMPACT or TYPE, as SES's model allows. An account without VDM on is refused as BatchGetMetricData refuses it; one
 * call a second per account, across the nodes ({@code allowed}).
 */
public final class RecommendationsHandler {
  static final int MAX_PAGE = 100;
  static final int MAX_FILTER_VALUE = 512;
  static final List<String> TYPES = List.of("DKIM", "DMARC", "SPF", "BIMI", "COMPLAINT", "BOUNCE", "FEEDBACK_3P",
      "IP_LISTING");
  static final List<String> IMPACTS = List.of("LOW", "HIGH");
  static final List<String> STATUSES = List.of("OPEN", "FIXED");

  private final RecommendationStore store;
  private final AccountDirectory accounts;
  private final String region;
  private final Function<String, Future<Void>> allowed;

  /** @param allowed whether the account may make a call now (a 429 when not) */
  public RecommendationsHandler(RecommendationStore store, AccountDirectory accounts, String region,
      Function<String, Future<Void>> allowed) {
    this.store = store;
    this.accounts = accounts;
    this.region = region;
    this.allowed = allowed;
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    Map<String, String> given = filter(body);
    RecommendationStore.Filter filter = filter(given, caller.account().id());
    // a token is of one filter: another's would start the page at a position of another list
    Paging paging = Paging.of(ctx, body, MAX_PAGE, given.toString());
    if (paging.pageSize() > MAX_PAGE) {
      throw SesException.badRequest("PageSize must be between 1 and " + MAX_PAGE + ".");
    }
    RecommendationStore.Position after = paging.after() == null ? null
        : RecommendationStore.Position.of(paging.after());
    if (paging.after() != null && after == null) {
      throw Paging.invalidToken(SesError.BAD_REQUEST); // tagged as ours, but no position of this list
    }
    String account = caller.account().id();
    return allowed.apply(account)
        .compose(v -> MetricDataHandler.vdmOn(accounts, account, "its identities are checked from then on"))
        .compose(v -> filter == null ? Future.succeededFuture(List.<RecommendationStore.Recommendation>of())
            : store.page(account, filter, after, paging.pageSize() + 1))
        .map(rows -> {
          JsonArray out = new JsonArray();
          for (RecommendationStore.Recommendation r : rows.subList(0, Math.min(rows.size(), paging.pageSize()))) {
            out.add(new JsonObject()
                .put("ResourceArn", new IdentityArn(account, r.identity()).format(region))
                .put("Type", r.type()).put("Description", r.description()).put("Status", r.status())
                .put("CreatedTimestamp", epoch(r.createdAt())).put("LastUpdatedTimestamp", epoch(r.updatedAt()))
                .put("Impact", r.impact()));
          }
          JsonObject page = new JsonObject().put("Recommendations", out);
          if (rows.size() > paging.pageSize()) {
            RecommendationStore.Recommendation last = rows.get(paging.pageSize() - 1);
            page.put("NextToken", paging.next(new RecommendationStore.Position(last.identity(), last.type())
                .toString()));
          }
          return page;
        });
  }

  /** The request's Filter, checked as SES's model says: keys and values, and which keys go together. */
  static Map<String, String> filter(JsonObject body) {
    Object value = body.getValue("Filter");
    Map<String, String> out = new TreeMap<>();
    if (value == null) {
      return out;
    }
    if (!(value instanceof JsonObject f)) {
      throw SesException.badRequest("Filter must be an object of filter keys (TYPE, IMPACT, STATUS, RESOURCE_ARN).");
    }
    if (f.isEmpty() || f.size() > 2) {
      throw SesException.badRequest("Filter must have 1 or 2 entries, not " + f.size() + ".");
    }
    for (String key : f.fieldNames()) {
      List<String> allowed = switch (key) {
        case "TYPE" -> TYPES;
        case "IMPACT" -> IMPACTS;
        case "STATUS" -> STATUSES;
        case "RESOURCE_ARN" -> null;
        default -> throw SesException.badRequest("Filter key '" + key
            + "' is not one of TYPE, IMPACT, STATUS, RESOURCE_ARN.");
      };
      if (!(f.getValue(key) instanceof String v) || v.isEmpty() || v.length() > MAX_FILTER_VALUE) {
        throw SesException.badRequest("Filter." + key + " must be a string of 1 to " + MAX_FILTER_VALUE
            + " characters.");
      }
      if (allowed != null && !allowed.contains(v)) {
        throw SesException.badRequest("Filter." + key + " must be one of " + String.join(", ", allowed) + ", not '"
            + v + "'.");
      }
      out.put(key, v);
    }
    if (out.size() == 2 && !(out.containsKey("STATUS") && (out.containsKey("IMPACT") || out.containsKey("TYPE")))) {
      throw SesException.badRequest("Filter combines " + String.join(" and ", out.keySet()) + ": two keys must be "
          + "STATUS with IMPACT, or STATUS with TYPE.");
    }
    return out;
  }

  /** The store's filter; null when it can match nothing of the account's (an identity ARN of another account). */
  private RecommendationStore.Filter filter(Map<String, String> given, String account) {
    String identity = null;
    if (given.containsKey("RESOURCE_ARN")) {
      IdentityArn arn = IdentityArn.parse(given.get("RESOURCE_ARN"), region, "Filter.RESOURCE_ARN");
      if (!arn.account().equals(account)) {
        return null;
      }
      identity = arn.identity();
    }
    return new RecommendationStore.Filter(given.get("TYPE"), given.get("IMPACT"), given.get("STATUS"), identity);
  }

  private static double epoch(Instant t) {
    return t.toEpochMilli() / 1000.0;
  }
}
