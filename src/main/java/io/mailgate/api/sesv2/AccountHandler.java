package io.mailgate.api.sesv2;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.identity.Account;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.ratelimit.RateCheck;
import io.mailgate.ratelimit.SendLimiter;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** SES v2 {@code GET /v2/email/account} (GetAccount): quotas, sandbox and sending status. */
public final class AccountHandler {
  private final AccountDirectory accounts;
  private final SendLimiter limiter;

  public AccountHandler(AccountDirectory accounts, SendLimiter limiter) {
    this.accounts = accounts;
    this.limiter = limiter;
  }

  /** Read fresh from the database: an admin's change shows at once, not when the key cache expires. */
  public Future<JsonObject> getAccount(Caller caller, RoutingContext ctx) {
    return accounts.byId(caller.account().id()).compose(found -> describe(found.orElse(
        new AccountDirectory.Details(caller.account(), "HEALTHY", java.util.List.of(), null))));
  }

  /** PutAccountSendingAttributes ({@code PUT /v2/email/account/sending}): the owner pauses or resumes sending. */
  public Future<JsonObject> putSending(Caller caller, RoutingContext ctx) {
    boolean enabled = io.mailgate.api.JsonFields.bool(io.mailgate.api.V2Route.body(ctx), "SendingEnabled", "", false);
    return setSending(caller, enabled).map(v -> new JsonObject());
  }

  /**
   * The owner pauses or resumes the account's sending (v2 PutAccountSendingAttributes, v1 UpdateAccountSendingEnabled).
   * An account that reputation enforcement shut down cannot resume itself (SES: "If AWS paused your account's ability
   * to send email, you can't use this operation to resume"): a BadRequest, as SES documents only that and
   * TooManyRequests for the operation, saying who can.
   */
  public Future<Void> setSending(Caller caller, boolean enabled) {
    String id = caller.account().id();
    return accounts.setSendingEnabled(id, enabled).compose(done -> done
        ? Future.<Void>succeededFuture()
        : Future.failedFuture(SesException.badRequest("Sending for this account was shut down by Mailgate's "
            + "reputation enforcement, because of its bounce or complaint rate (EnforcementStatus SHUTDOWN); the "
            + "account cannot resume it itself. Only an operator can: mailgate admin account set " + id
            + " --sending true.")));
  }

  private Future<JsonObject> describe(AccountDirectory.Details details) {
    Account a = details.account();
    // a check that costs nothing reads the rolling 24-hour count in the same script as sends
    RateCheck peek = new RateCheck(a.id(), a.maxSendRate(), 0, a.max24HourSend(), 0);
    return limiter.check(peek)
        .recover(e -> Future.failedFuture(new SesException(SesError.SERVICE_UNAVAILABLE,
            "The sending quota cannot be read right now. Retry later.")))
        .map(reply -> new JsonObject()
            .put("DedicatedIpAutoWarmupEnabled", false)
            .put("EnforcementStatus", details.enforcementStatus())
            .put("ProductionAccessEnabled", a.productionAccess())
            .put("SendingEnabled", a.sendingEnabled())
            .put("SendQuota", new JsonObject()
                .put("Max24HourSend", (double) a.max24HourSend())
                .put("MaxSendRate", a.maxSendRate())
                .put("SentLast24Hours", (double) reply.sentLast24Hours()))
            .put("SuppressionAttributes", new JsonObject()
                .put("SuppressedReasons", new JsonArray(new java.util.ArrayList<>(details.suppressedReasons())))));
  }
}
