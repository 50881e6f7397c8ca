package io.mailgate.api;

import io.mailgate.identity.CustomVerificationEmails;
import io.mailgate.identity.IdentityService;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /_mailgate/verify-email?token=...}: the link of an address verification email. A
 * small HTML page answers, as the person following it uses a browser. The link of a custom verification email
 * (SendCustomVerificationEmail) redirects to its template's success page, or, genuine but expired, to its failure
 * page; a changed or made-up link, or one whose template is gone, gets the page.
 */
public final class VerifyEmailHandler {
  private final IdentityService identities;
  private final CustomVerificationEmails custom;

  public VerifyEmailHandler(IdentityService identities, CustomVerificationEmails custom) {
    this.identities = identities;
    this.custom = custom;
  }

  public void handle(RoutingContext ctx) {
    String token;
    try {
      token = ctx.request().getParam("token");
    } catch (IllegalArgumentException e) { // a malformed escape is no link of ours
      page(ctx, false, null);
      return;
    }
    custom.follow(token).onComplete(followed -> {
      if (followed.succeeded() && followed.result().isPresent()) {
        CustomVerificationEmails.Followed f = followed.result().get();
        if (f.redirect() != null) {
          ctx.response().setStatusCode(302).putHeader("Location", f.redirect()).putHeader("Cache-Control", "no-store")
              .end();
        } else {
          page(ctx, f.verified(), f.identity());
        }
        return;
      }
      if (followed.failed()) {
        page(ctx, false, null);
        return;
      }
      identities.verifyLink(token).onComplete(ar -> {
        boolean ok = ar.succeeded() && ar.result().isPresent();
        page(ctx, ok, ok ? ar.result().get() : null);
      });
    });
  }

  private static void page(RoutingContext ctx, boolean ok, String identity) {
    String text = ok
        ? "Congratulations! You have successfully verified " + escape(identity)
            + ". You can now start sending email from this address."
        : "This verification link is not valid: it may have expired or been changed. Ask for a new one.";
    ctx.response().setStatusCode(ok ? 200 : 400).putHeader("content-type", "text/html; charset=utf-8")
        .end("<!doctype html><html><head><meta charset=\"utf-8\"><title>Email address verification</title></head>"
            + "<body><h1>Email address verification</h1><p>" + text + "</p></body></html>");
  }

  static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
