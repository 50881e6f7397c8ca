package io.mailgate.api;

import io.mailgate.identity.IdentityService;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /_mailgate/verify-email?token=...}: the link of an address verification email. A
 * small HTML page answers, as the person following it uses a browser.
 */
public final class VerifyEmailHandler {
  private final IdentityService identities;

  public VerifyEmailHandler(IdentityService identities) {
    this.identities = identities;
  }

  public void handle(RoutingContext ctx) {
    identities.verifyLink(ctx.request().getParam("token")).onComplete(ar -> {
      boolean ok = ar.succeeded() && ar.result().isPresent();
      String text = ok
          ? "Congratulations! You have successfully verified " + escape(ar.result().get())
              + ". You can now start sending email from this address."
          : "This verification link is not valid: it may have expired or been changed. Ask for a new one.";
      ctx.response().setStatusCode(ok ? 200 : 400).putHeader("content-type", "text/html; charset=utf-8")
          .end("<!doctype html><html><head><meta charset=\"utf-8\"><title>Email address verification</title></head>"
              + "<body><h1>Email address verification</h1><p>" + text + "</p></body></html>");
    });
  }

  static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
