package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.string;
import static io.mailgate.api.JsonFields.strings;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.Paging;
import io.mailgate.api.V2Route;
import io.mailgate.send.Caller;
import io.mailgate.send.MailboxParser;
import io.mailgate.store.SuppressionStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * SES v2 suppression list operations (PutSuppressedDestination, GetSuppressedDestination,
 * DeleteSuppressedDestination, ListSuppressedDestinations, PutAccountSuppressionAttributes), and
 * Mailgate's global suppression list lookup ({@code /_mailgate/global-suppression}; removal is the
 * operator's, with {@code mailgate admin suppression remove}).
 */
public final class SuppressionHandler {
  private static final List<String> REASONS = List.of("BOUNCE", "COMPLAINT");

  private final SuppressionStore store;

  public SuppressionHandler(SuppressionStore store) {
    this.store = store;
  }

  public Future<JsonObject> put(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    refuseTenant(body.getValue("TenantName"));
    return suppress(caller, string(body, "EmailAddress", ""), string(body, "Reason", "")).map(v -> new JsonObject());
  }

  /** Puts an address on the account's list, or renews it there (PutSuppressedDestination, the console). */
  public Future<Void> suppress(Caller caller, String address, String reason) {
    return store.put(caller.account().id(), email(address), reason(reason));
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    refuseTenant(ctx.request().getParam("TenantName"));
    String email = email(ctx.pathParam("email"));
    return store.get(caller.account().id(), email).compose(found -> found.isEmpty()
        ? Future.failedFuture(new SesException(SesError.NOT_FOUND, "Email address " + email + " does not exist on your suppression list."))
        : Future.succeededFuture(new JsonObject().put("SuppressedDestination", new JsonObject()
            .put("EmailAddress", found.get().email())
            .put("Reason", found.get().reason())
            .put("LastUpdateTime", epoch(found.get().lastUpdate()))
            .put("Attributes", attributes(found.get())))));
  }

  public Future<JsonObject> delete(Caller caller, RoutingContext ctx) {
    refuseTenant(ctx.request().getParam("TenantName"));
    return unsuppress(caller, ctx.pathParam("email")).map(v -> new JsonObject());
  }

  /** Takes an address off the account's list (DeleteSuppressedDestination, the console); NotFound if not on it. */
  public Future<Void> unsuppress(Caller caller, String address) {
    String email = email(address);
    return store.delete(caller.account().id(), email).compose(deleted -> deleted ? Future.<Void>succeededFuture()
        : Future.failedFuture(new SesException(SesError.NOT_FOUND, "Email address " + email
            + " does not exist on your suppression list.")));
  }

  public Future<JsonObject> list(Caller caller, RoutingContext ctx) {
    refuseTenant(ctx.request().getParam("TenantName"));
    List<String> reasons = new ArrayList<>();
    for (String r : ctx.queryParam("Reason")) {
      reasons.add(reason(r));
    }
    Instant start = time(ctx.request().getParam("StartDate"), "StartDate");
    Instant end = time(ctx.request().getParam("EndDate"), "EndDate");
    // SES documents InvalidNextTokenException for this operation (only)
    Paging paging = Paging.of(ctx, null, 100, SesError.INVALID_NEXT_TOKEN);
    String afterEmail = paging.after(); // the last address of the page before
    if (afterEmail != null && afterEmail.indexOf('\n') >= 0) {
      // an earlier version's token (a time, then an address): read as an address, it would start the list over
      throw Paging.invalidToken(SesError.INVALID_NEXT_TOKEN);
    }
    int limit = paging.pageSize();
    return store.list(caller.account().id(), reasons, start, end, afterEmail, limit + 1).map(rows -> {
      JsonArray summaries = new JsonArray();
      for (int i = 0; i < Math.min(limit, rows.size()); i++) {
        SuppressionStore.Entry e = rows.get(i);
        summaries.add(new JsonObject().put("EmailAddress", e.email()).put("Reason", e.reason())
            .put("LastUpdateTime", epoch(e.lastUpdate())));
      }
      JsonObject out = new JsonObject().put("SuppressedDestinationSummaries", summaries);
      if (rows.size() > limit) {
        SuppressionStore.Entry last = rows.get(limit - 1);
        out.put("NextToken", paging.next(last.email()));
      }
      return out;
    });
  }

  /**
   * A tenant's own suppression list is not kept (README, Tenants): TenantName is refused, where ignoring it would put,
   * show or remove the account's entry, for every tenant.
   */
  private static void refuseTenant(Object tenantName) {
    if (tenantName != null) {
      throw SesException.badRequest("Tenant-level suppression lists (TenantName) are not supported here: the "
          + "account's suppression list applies to every tenant.");
    }
  }

  public Future<JsonObject> putAccountAttributes(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.body(ctx);
    List<String> given = strings(body, "SuppressedReasons", "");
    List<String> reasons = new ArrayList<>();
    if (given != null) {
      for (String r : given) {
        String reason = reason(r);
        if (!reasons.contains(reason)) {
          reasons.add(reason);
        }
      }
    }
    JsonObject validation = object(body, "ValidationAttributes", "");
    // ValidationAttributes alone leave the reasons as they are (without it, an absent list is none, as before: the
    // AWS SDK for Go and Terraform leave an empty list out)
    return store.setAttributes(caller.account().id(), given == null && validation != null ? null : reasons,
        validation == null ? null : ValidationSettings.parse(validation, "ValidationAttributes"))
        .map(v -> new JsonObject());
  }

  /** Mailgate: is an address on the global list (any caller may ask about any address). */
  public Future<JsonObject> getGlobal(Caller caller, RoutingContext ctx) {
    String email = email(ctx.pathParam("email"));
    return store.globalSince(email).compose(since -> since.isEmpty()
        ? Future.failedFuture(new SesException(SesError.NOT_FOUND, email + " is not on the global suppression list."))
        : Future.succeededFuture(new JsonObject().put("EmailAddress", email).put("LastBounce", since.get().toString())));
  }

  private static JsonObject attributes(SuppressionStore.Entry e) {
    JsonObject a = new JsonObject();
    if (e.messageId() != null) {
      a.put("MessageId", e.messageId());
    }
    if (e.feedbackId() != null) {
      a.put("FeedbackId", e.feedbackId());
    }
    return a;
  }

  /** An address as the lists hold it: a valid addr-spec, lower case. */
  public static String email(String raw) {
    if (raw == null) {
      throw SesException.badRequest("Missing required field EmailAddress.");
    }
    return MailboxParser.parseAddrSpec(raw).address().toLowerCase(Locale.ROOT);
  }

  private static String reason(String raw) {
    if (raw == null || !REASONS.contains(raw)) {
      throw SesException.badRequest("Reason must be BOUNCE or COMPLAINT, not '" + raw + "'.");
    }
    return raw;
  }

  /** A timestamp query parameter: ISO 8601 (what the SDK sends) or epoch seconds. */
  private static Instant time(String value, String name) {
    if (value == null || value.isBlank()) {
      return null;
    }
    Instant t;
    try {
      t = value.matches("\\d+(\\.\\d+)?") ? Instant.ofEpochMilli((long) (Double.parseDouble(value) * 1000))
          : Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw SesException.badRequest("Invalid " + name + " '" + value + "'.");
    }
    if (!storable(t)) { // PostgreSQL refuses a timestamp millions of years away: a 400, not a failure of ours
      throw SesException.badRequest("Invalid " + name + " '" + value
          + "': not between 1970 and 9999.");
    }
    return t;
  }

  private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  private static boolean storable(Instant t) {
    return !t.isBefore(Instant.EPOCH) && !t.isAfter(LATEST);
  }

  private static double epoch(Instant t) {
    return t.toEpochMilli() / 1000.0;
  }
}
