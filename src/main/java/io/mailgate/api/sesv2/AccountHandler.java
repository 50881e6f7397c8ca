package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.bool;
import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.requiredString;
import static io.mailgate.api.JsonFields.string;
import static io.mailgate.api.JsonFields.strings;

import io.mailgate.SesException;
import io.mailgate.api.V2Route;
import io.mailgate.identity.Account;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.ratelimit.RateCheck;
import io.mailgate.ratelimit.RateDecision;
import io.mailgate.ratelimit.SendLimiter;
import io.mailgate.send.Caller;
import io.mailgate.send.MailboxParser;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * SES v2 account operations: GetAccount ({@code GET /v2/email/account}: quotas, sandbox and sending status, and what
 * the owner set below), PutAccountSendingAttributes, PutAccountDetails, PutAccountVdmAttributes and
 * PutAccountDedicatedIpWarmupAttributes. What SES does there that Mailgate does not (VDM's Guardian, warming up
 * dedicated IPs) is refused when turned on and accepted off, as configuration sets' options are.
 */
public final class AccountHandler {
  /** PutAccountDetails' limits, as SES's API reference gives them. */
  static final int MAX_WEBSITE_URL = 1000;
  static final int MAX_USE_CASE_DESCRIPTION = 5000;
  static final int MAX_CONTACT_ADDRESSES = 4;
  static final int MIN_CONTACT_ADDRESS = 6;
  static final int MAX_CONTACT_ADDRESS = 254;
  /** SES's {@code ^https?://.*$}, without the whitespace and control characters no URL has. */
  private static final Pattern WEBSITE_URL = Pattern.compile("https?://[^\\s\\p{Cntrl}]+");

  private final AccountDirectory accounts;
  private final SendLimiter limiter;

  public AccountHandler(AccountDirectory accounts, SendLimiter limiter) {
    this.accounts = accounts;
    this.limiter = limiter;
  }

  /** Read fresh from the database: an admin's change shows at once, not when the key cache expires. */
  public Future<JsonObject> getAccount(Caller caller, RoutingContext ctx) {
    return accounts.byId(caller.account().id()).compose(found -> describe(found.orElse(
        new AccountDirectory.Details(caller.account(), "HEALTHY", List.of()))));
  }

  /** PutAccountSendingAttributes ({@code PUT /v2/email/account/sending}): the owner pauses or resumes sending. */
  public Future<JsonObject> putSending(Caller caller, RoutingContext ctx) {
    boolean enabled = bool(V2Route.body(ctx), "SendingEnabled", "", false);
    return setSending(caller, enabled).map(v -> new JsonObject());
  }

  /**
   * The owner pauses or resumes the account's sending (v2 PutAccountSendingAttributes, v1 UpdateAccountSendingEnabled).
   * An account that an operator paused or reputation enforcement shut down cannot resume itself (SES: "If AWS paused
   * your account's ability to send email, you can't use this operation to resume"): a BadRequest, as SES documents only
   * that and TooManyRequests for the operation, saying who paused it and who can resume it.
   */
  public Future<Void> setSending(Caller caller, boolean enabled) {
    String id = caller.account().id();
    return accounts.setSendingEnabled(id, enabled).compose(change -> switch (change) {
      case DONE -> Future.<Void>succeededFuture();
      case PAUSED_BY_OPERATOR -> notByTheOwner(id, "paused by an operator of this Mailgate installation");
      case SHUT_DOWN -> notByTheOwner(id, "shut down by Mailgate's reputation enforcement, because of its bounce "
          + "or complaint rate");
    });
  }

  private static Future<Void> notByTheOwner(String accountId, String why) {
    return Future.failedFuture(SesException.badRequest("Sending for this account was " + why + " (EnforcementStatus "
        + "SHUTDOWN); the account cannot resume it itself. Only an operator can: mailgate admin account set "
        + accountId + " --sending true."));
  }

  /**
   * PutAccountDetails ({@code POST /v2/email/account/details}): what the account sends, validated as SES does, kept
   * and shown in GetAccount's {@code Details}. {@code ProductionAccessEnabled} true is kept as a request: Mailgate has
   * no review, so it does not lift the sandbox; an operator does ({@code mailgate admin account set <id> --production
   * true}, and {@code account list} shows the request). {@code Details.ReviewDetails.Status} says PENDING until then,
   * GRANTED after.
   */
  public Future<JsonObject> putDetails(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
    JsonObject details = new JsonObject()
        .put("MailType", oneOf(requiredString(body, "MailType", ""), "MailType", Set.of("MARKETING", "TRANSACTIONAL")))
        .put("WebsiteURL", websiteUrl(requiredString(body, "WebsiteURL", "")));
    String language = string(body, "ContactLanguage", "");
    if (language != null) {
      details.put("ContactLanguage", oneOf(language, "ContactLanguage", Set.of("EN", "JA")));
    }
    String useCase = string(body, "UseCaseDescription", "");
    if (useCase != null && !useCase.isEmpty()) { // optional and deprecated in SES's model, empty as good as absent
      if (useCase.length() > MAX_USE_CASE_DESCRIPTION) {
        throw SesException.badRequest("UseCaseDescription is longer than " + MAX_USE_CASE_DESCRIPTION
            + " characters.");
      }
      details.put("UseCaseDescription", useCase);
    }
    List<String> contacts = contactAddresses(strings(body, "AdditionalContactEmailAddresses", ""));
    if (!contacts.isEmpty()) {
      details.put("AdditionalContactEmailAddresses", new JsonArray(contacts));
    }
    boolean productionRequested = bool(body, "ProductionAccessEnabled", "", false);
    return accounts.setDetails(caller.account().id(), details, productionRequested).map(v -> new JsonObject());
  }

  /**
   * PutAccountVdmAttributes ({@code PUT /v2/email/account/vdm}): kept and shown in GetAccount's {@code VdmAttributes}.
   * VdmEnabled ENABLED turns on the account's Virtual Deliverability Manager metrics (BatchGetMetricData, computed by
   * {@link io.mailgate.feedback.VdmVerticle}); DISABLED stops their computation (what was computed stays readable).
   * With VDM on, the dashboard's engagement metrics ENABLED give the account's messages open and click trackers
   * (unless their configuration set's VdmOptions say DISABLED), as SES's engagement tracking does; they apply to the
   * sends of the account's keys once the nodes read the account again (their key cache). Guardian's optimized delivery
   * is refused when ENABLED, naming the option, as in a configuration set's VdmOptions: Mailgate delivers through its
   * own pools.
   */
  public Future<JsonObject> putVdm(Caller caller, RoutingContext ctx) {
    JsonObject vdm = object(V2Route.requiredBody(ctx), "VdmAttributes", "");
    if (vdm == null) {
      throw SesException.badRequest("Missing required field VdmAttributes.");
    }
    String enabled = requiredString(vdm, "VdmEnabled", "VdmAttributes");
    if (!enabled.equals("ENABLED") && !enabled.equals("DISABLED")) {
      throw SesException.badRequest("VdmAttributes.VdmEnabled must be ENABLED or DISABLED, not '" + enabled + "'.");
    }
    JsonObject stored = new JsonObject().put("VdmEnabled", enabled);
    JsonObject dashboard = object(vdm, "DashboardAttributes", "VdmAttributes");
    String engagement = ConfigurationSetsHandler.status(dashboard, "EngagementMetrics",
        "VdmAttributes.DashboardAttributes");
    if (engagement != null) {
      stored.put("DashboardAttributes", new JsonObject().put("EngagementMetrics", engagement));
    }
    keepDisabled(vdm, "GuardianAttributes", "OptimizedSharedDelivery", stored);
    return accounts.setVdmAttributes(caller.account().id(), stored).map(v -> new JsonObject());
  }

  /**
   * One VDM option, {@code field} of VdmAttributes' {@code part}: refused unless DISABLED, and kept in {@code stored},
   * under its part, when given.
   */
  private static void keepDisabled(JsonObject vdm, String part, String field, JsonObject stored) {
    JsonObject options = object(vdm, part, "VdmAttributes");
    ConfigurationSetsHandler.disabled(options, field, "VdmAttributes." + part);
    if (options != null && options.getValue(field) != null) {
      stored.put(part, new JsonObject().put(field, "DISABLED"));
    }
  }

  /**
   * PutAccountDedicatedIpWarmupAttributes ({@code PUT /v2/email/account/dedicated-ips/warmup}): false only. Mailgate's
   * dedicated IPs are the operator's source addresses ({@code delivery.sourceAddresses}, the sending pools'), which
   * carry their full share from the start: nothing warms them up, so GetAccount's {@code DedicatedIpAutoWarmupEnabled}
   * is always false, and true is refused rather than accepted and ignored. An absent value is false, as the AWS SDK
   * for Go leaves a false boolean out.
   */
  public Future<JsonObject> putDedicatedIpWarmup(Caller caller, RoutingContext ctx) {
    if (bool(V2Route.body(ctx), "AutoWarmupEnabled", "", false)) {
      throw SesException.badRequest("Mailgate does not warm up dedicated IPs (they are the operator's source "
          + "addresses, delivery.sourceAddresses and delivery.sendingPools): AutoWarmupEnabled can only be false.");
    }
    return Future.succeededFuture(new JsonObject());
  }

  private static String oneOf(String value, String field, Set<String> allowed) {
    if (!allowed.contains(value)) {
      throw SesException.badRequest(field + " must be " + String.join(" or ", allowed.stream().sorted().toList())
          + ", not '" + MailboxParser.abbreviate(value) + "'.");
    }
    return value;
  }

  private static String websiteUrl(String url) {
    if (url.isEmpty() || url.length() > MAX_WEBSITE_URL) {
      throw SesException.badRequest("WebsiteURL must have 1 to " + MAX_WEBSITE_URL + " characters.");
    }
    if (!WEBSITE_URL.matcher(url).matches()) {
      throw SesException.badRequest("WebsiteURL must be an http:// or https:// URL, not '"
          + MailboxParser.abbreviate(url) + "'.");
    }
    return url;
  }

  /** AdditionalContactEmailAddresses: at most 4, each one bare address of 6 to 254 characters. */
  private static List<String> contactAddresses(List<String> given) {
    if (given == null) {
      return List.of();
    }
    if (given.isEmpty()) { // SES's model: one at least when given
      throw SesException.badRequest("AdditionalContactEmailAddresses must name at least one address when given.");
    }
    if (given.size() > MAX_CONTACT_ADDRESSES) {
      throw SesException.badRequest("AdditionalContactEmailAddresses has at most " + MAX_CONTACT_ADDRESSES
          + " addresses, not " + given.size() + ".");
    }
    for (int i = 0; i < given.size(); i++) {
      String address = given.get(i);
      String field = "AdditionalContactEmailAddresses[" + i + "]";
      if (address.length() < MIN_CONTACT_ADDRESS || address.length() > MAX_CONTACT_ADDRESS) {
        throw SesException.badRequest(field + " must have " + MIN_CONTACT_ADDRESS + " to " + MAX_CONTACT_ADDRESS
            + " characters.");
      }
      boolean valid = address.equals(address.strip()) && address.indexOf('<') < 0;
      try {
        MailboxParser.parseAddrSpec(address);
      } catch (SesException e) {
        valid = false;
      }
      if (!valid) {
        throw SesException.badRequest(field + " is not a valid email address: " + MailboxParser.abbreviate(address));
      }
    }
    return given;
  }

  private Future<JsonObject> describe(AccountDirectory.Details details) {
    Account a = details.account();
    // a check that costs nothing reads the rolling 24-hour count in the same script as sends
    RateCheck peek = new RateCheck(a.id(), a.maxSendRate(), 0, a.max24HourSend(), 0);
    // without Redis (or while it is counted again) the count is left out, not the account: whether it may send, and
    // why not, is PostgreSQL's, and is what an operator needs to read during that outage
    return limiter.check(peek)
        .<Long>map(RateDecision::sentLast24Hours)
        .otherwiseEmpty()
        .map(sent -> withStored(details, new JsonObject()
            .put("DedicatedIpAutoWarmupEnabled", false)
            .put("EnforcementStatus", details.enforcementStatus())
            .put("ProductionAccessEnabled", a.productionAccess())
            .put("SendingEnabled", a.sendingEnabled())
            .put("SendQuota", sendQuota(a, sent))
            .put("SuppressionAttributes", suppressionAttributes(details))));
  }

  private static JsonObject sendQuota(Account a, Long sentLast24Hours) {
    JsonObject quota = new JsonObject()
        .put("Max24HourSend", (double) a.max24HourSend())
        .put("MaxSendRate", a.maxSendRate());
    return sentLast24Hours == null ? quota : quota.put("SentLast24Hours", (double) sentLast24Hours);
  }

  private static JsonObject suppressionAttributes(AccountDirectory.Details details) {
    JsonObject out = new JsonObject()
        .put("SuppressedReasons", new JsonArray(new java.util.ArrayList<>(details.suppressedReasons())));
    if (details.validation() != null) {
      out.put("ValidationAttributes", ValidationSettings.render(details.validation()));
    }
    return out;
  }

  /**
   * GetAccount's {@code Details} (with {@code ReviewDetails} when production access was asked for: PENDING while the
   * account is in the sandbox, GRANTED once an operator let it out; no CaseId, as there is no support case) and
   * {@code VdmAttributes}, each once its Put call stored it.
   */
  private static JsonObject withStored(AccountDirectory.Details details, JsonObject account) {
    if (details.accountDetails() != null) {
      JsonObject shown = details.accountDetails().copy();
      if (details.productionAccessRequested()) {
        shown.put("ReviewDetails", new JsonObject()
            .put("Status", details.account().productionAccess() ? "GRANTED" : "PENDING"));
      }
      account.put("Details", shown);
    }
    if (details.vdmAttributes() != null) {
      account.put("VdmAttributes", details.vdmAttributes().copy());
    }
    return account;
  }
}
