package io.mailgate.api;

import io.mailgate.lists.ContactListStore;
import io.mailgate.lists.UnsubscribeTokens;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The unsubscribe link of messages sent with ListManagementOptions ({@code /t/u/{token}}). No authentication: the
 * token is its own proof (an HMAC under the cluster's master key), naming account, list, address and topic.
 *
 * <ul>
 *   <li>{@code POST} with the body {@code List-Unsubscribe=One-Click} (RFC 8058, what mail providers send for their
 *       unsubscribe button, and what this endpoint's own page posts) unsubscribes: from the topic when the token names
 *       one, else from the whole list (UnsubscribeAll). The contact is created when the list does not have it.
 *       Idempotent: a second POST changes nothing and answers the same.
 *   <li>{@code GET} only shows a page with a button that makes that POST. It changes nothing: mail scanners and link
 *       previews fetch every link in a message, and must not unsubscribe anyone (RFC 8058 section 3).
 * </ul>
 *
 * A token that is not ours, or altered, is a 400 page; a list deleted since is a 404 page; never a stack trace.
 */
final class UnsubscribeHandler {
  private static final Logger LOG = Logger.getLogger(UnsubscribeHandler.class.getName());
  /** What a one-click POST's body is at most (RFC 8058's is 26 bytes; a form may add little to it). */
  static final int MAX_BODY = 4096;

  private final UnsubscribeTokens tokens;
  private final ContactListStore store;

  UnsubscribeHandler(UnsubscribeTokens tokens, ContactListStore store) {
    this.tokens = tokens;
    this.store = store;
  }

  void page(RoutingContext ctx) {
    Optional<UnsubscribeTokens.Token> token = tokens.read(ctx.pathParam("token"));
    if (token.isEmpty()) {
      answer(ctx, 400, "This unsubscribe link is not valid. It may have been changed or cut short.");
      return;
    }
    UnsubscribeTokens.Token t = token.get();
    // a list deleted since has nothing to unsubscribe from: said now, not after the button
    store.find(t.accountId(), t.list()).onComplete(ar -> {
      if (ar.failed()) {
        LOG.warning("unsubscribe page of " + t.list() + " (account " + t.accountId() + ") not shown: "
            + ar.cause().getMessage());
        answer(ctx, 503, "This page cannot be shown right now. Please try again in a few minutes.");
      } else if (ar.result().isEmpty()) {
        answer(ctx, 404, NO_LIST);
      } else {
        answer(ctx, 200, "Unsubscribe " + VerifyEmailHandler.escape(t.address()) + " from " + what(t) + "?</p>"
            + "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
            + "<input type=\"hidden\" name=\"via\" value=\"page\">"
            + "<button type=\"submit\">Unsubscribe</button></form><p>");
      }
    });
  }

  private static final String NO_LIST =
      "This mailing list no longer exists here, so there is nothing to unsubscribe from.";

  void unsubscribe(RoutingContext ctx) {
    Optional<UnsubscribeTokens.Token> token = tokens.read(ctx.pathParam("token"));
    if (token.isEmpty()) {
      answer(ctx, 400, "This unsubscribe link is not valid. It may have been changed or cut short.");
      return;
    }
    // RFC 8058 3.2: the POST SHOULD be multipart/form-data and MAY be urlencoded; both arrive as form attributes
    // (BodyHandler keeps no body of a multipart one). A body of any other type is read as it came.
    String field = ctx.request().getFormAttribute("List-Unsubscribe");
    String body = ctx.body() == null ? null : ctx.body().asString();
    if (!"One-Click".equals(field == null ? null : field.strip())
        && (body == null || !body.strip().equals("List-Unsubscribe=One-Click"))) {
      answer(ctx, 400, "An unsubscribe request is a POST of List-Unsubscribe=One-Click (RFC 8058).");
      return;
    }
    UnsubscribeTokens.Token t = token.get();
    // the page's button, or a mailbox provider's one (RFC 8058, from the List-Unsubscribe header): the Subscription
    // event's source, as SES names them
    String source = "page".equals(ctx.request().getFormAttribute("via")) ? "UnsubscribeLink" : "UnsubscribeHeader";
    store.unsubscribe(t.accountId(), t.list(), t.address(), t.topic(), t.messageId(), source).onComplete(ar -> {
      if (ar.failed()) {
        LOG.warning("unsubscription from " + t.list() + " (account " + t.accountId() + ") not recorded: "
            + ar.cause().getMessage());
        answer(ctx, 503, "Your request could not be recorded right now. Please try again in a few minutes.");
      } else if (!ar.result()) {
        answer(ctx, 404, NO_LIST);
      } else {
        answer(ctx, 200, VerifyEmailHandler.escape(t.address()) + " is unsubscribed from " + what(t) + ".");
      }
    });
  }

  /** A request the route could not take (a body over {@link #MAX_BODY}): a page as well, not an SES error. */
  void failed(RoutingContext ctx) {
    int status = ctx.statusCode();
    if (status >= 400 && status < 500) {
      answer(ctx, status, "This is not an unsubscribe request.");
      return;
    }
    LOG.warning("unsubscribe request failed: " + ctx.failure());
    answer(ctx, 503, "Your request could not be recorded right now. Please try again in a few minutes.");
  }

  private static String what(UnsubscribeTokens.Token t) {
    return t.topic() == null ? "the mailing list " + VerifyEmailHandler.escape(t.list())
        : "the topic " + VerifyEmailHandler.escape(t.topic()) + " of the mailing list " + VerifyEmailHandler.escape(t.list());
  }

  private static void answer(RoutingContext ctx, int status, String paragraph) {
    HttpServerResponse r = ctx.response();
    if (r.ended()) {
      return;
    }
    r.setStatusCode(status).putHeader("Content-Type", "text/html; charset=utf-8")
        .putHeader("Cache-Control", "no-store")
        .end("<!doctype html><html><head><meta charset=\"utf-8\"><title>Unsubscribe</title></head>"
            + "<body><h1>Unsubscribe</h1><p>" + paragraph + "</p></body></html>");
  }
}
