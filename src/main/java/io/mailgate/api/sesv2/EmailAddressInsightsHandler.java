package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.requiredString;

import io.mailgate.SesException;
import io.mailgate.api.V2Route;
import io.mailgate.feedback.AddressInsights;
import io.mailgate.feedback.AddressValidation;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * SES v2 GetEmailAddressInsights ({@code POST /v2/email/email-address-insights/}): an address's validation verdicts
 * ({@link AddressInsights}). An address that is not one (no {@code @}, control characters, a display name, parts too
 * long) is an answer, HasValidSyntax LOW, not an error; a missing, empty or non-string EmailAddress, or one longer
 * than any address a send takes could be written in (1,024 characters), is a BadRequestException.
 */
public final class EmailAddressInsightsHandler {
  static final int MAX_INPUT = 1024;

  private final AddressInsights insights;
  private final java.util.function.Function<String, Future<Void>> allowed;

  /** @param allowed whether the account may make another call now (a 429 when not): each may cost DNS lookups */
  public EmailAddressInsightsHandler(AddressInsights insights,
      java.util.function.Function<String, Future<Void>> allowed) {
    this.insights = insights;
    this.allowed = allowed;
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    String address = requiredString(V2Route.requiredBody(ctx), "EmailAddress", "");
    if (address.isEmpty()) {
      throw SesException.badRequest("EmailAddress must not be empty.");
    }
    if (address.length() > MAX_INPUT) {
      throw SesException.badRequest("EmailAddress is longer than " + MAX_INPUT + " characters.");
    }
    return allowed.apply(caller.account().id())
        .compose(v -> insights.of(caller.account().id(), address)).map(EmailAddressInsightsHandler::render);
  }

  static JsonObject render(AddressValidation.Insights i) {
    JsonObject evaluations = new JsonObject();
    put(evaluations, "HasValidSyntax", i.validSyntax());
    put(evaluations, "HasValidDnsRecords", i.validDnsRecords());
    put(evaluations, "MailboxExists", i.mailboxExists());
    put(evaluations, "IsRoleAddress", i.roleAddress());
    put(evaluations, "IsDisposable", i.disposable());
    put(evaluations, "IsRandomInput", i.randomInput());
    return new JsonObject().put("MailboxValidation", new JsonObject()
        .put("IsValid", verdict(i.valid())).put("Evaluations", evaluations));
  }

  private static void put(JsonObject o, String name, AddressValidation.Verdict v) {
    if (v != null) {
      o.put(name, verdict(v));
    }
  }

  private static JsonObject verdict(AddressValidation.Verdict v) {
    return new JsonObject().put("ConfidenceVerdict", v.name());
  }
}
