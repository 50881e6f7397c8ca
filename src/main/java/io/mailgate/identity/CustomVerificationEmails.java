package io.mailgate.identity;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.send.Caller;
import io.mailgate.send.EmailTemplate;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SendService;
import io.mailgate.send.SimpleContent;
import io.mailgate.send.TextBody;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * SES custom verification email templates and SendCustomVerificationEmail: an application verifies its users' sender
 * addresses with an email of its own design. The email is sent from the template's From (a verified identity of the
 * account) through the account's normal send path, with the verification link added to its HTML; the address becomes a
 * pending identity of the account; following the link verifies it and redirects to the template's success page (an
 * invalid or expired link that still names its template: to its failure page).
 */
public final class CustomVerificationEmails {
  /** What following a custom verification link did: {@code redirect} is null when its template is gone. */
  public record Followed(boolean verified, String identity, String redirect) {}

  private final CustomVerificationTemplateStore store;
  private final IdentityService identities;
  private final VerificationLinks links;
  private final SendService sends;
  private final String publicUrl;

  public CustomVerificationEmails(CustomVerificationTemplateStore store, IdentityService identities,
      VerificationLinks links, SendService sends, String publicUrl) {
    this.store = store;
    this.identities = identities;
    this.links = links;
    this.sends = sends;
    this.publicUrl = publicUrl;
  }

  /** CreateCustomVerificationEmailTemplate: its From must be a verified identity of the account. */
  public Future<Void> create(String accountId, CustomVerificationTemplate t) {
    return verifiedFrom(accountId, t).compose(v -> store.create(accountId, t));
  }

  /**
   * UpdateCustomVerificationEmailTemplate: the fields given (null: kept as they are) replace the template's, checked
   * as at creation.
   */
  public Future<Void> update(String accountId, String name, String from, String subject, String content,
      String successUrl, String failureUrl) {
    return find(accountId, name).compose(old -> {
      CustomVerificationTemplate t;
      try {
        t = old.with(from, subject, content, successUrl, failureUrl);
      } catch (SesException e) {
        return Future.failedFuture(e);
      }
      return verifiedFrom(accountId, t).compose(v -> store.update(accountId, t))
          .compose(updated -> updated ? Future.<Void>succeededFuture() : Future.failedFuture(notFound(name)));
    });
  }

  public Future<CustomVerificationTemplate> find(String accountId, String name) {
    try {
      EmailTemplate.checkName(name);
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    return store.find(accountId, name)
        .compose(t -> t.isPresent() ? Future.succeededFuture(t.get()) : Future.failedFuture(notFound(name)));
  }

  /** Deletes the template; whether there was one. */
  public Future<Boolean> delete(String accountId, String name) {
    try {
      EmailTemplate.checkName(name);
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    return store.delete(accountId, name);
  }

  /** Up to {@code size} templates after {@code after} (by name), and one more when there are more. */
  public Future<List<CustomVerificationTemplateStore.Listed>> page(String accountId, String after, int size) {
    return store.page(accountId, after, size + 1);
  }

  /**
   * SendCustomVerificationEmail: the template's email to {@code rawAddress}, with its link, sent as {@code caller} (it
   * counts against the account's sending rate and quota, goes through its configuration set, and a paused account does
   * not send it); an account in the sandbox may not send it at all (ProductionAccessNotGranted, as in SES: it would
   * send the account's own HTML to an address nobody verified). Then the address is a pending identity of the account. The message's id.
   */
  public Future<String> send(Caller caller, String rawAddress, String templateName, String configurationSet) {
    String accountId = caller.account().id();
    if (!caller.account().productionAccess()) {
      // it sends the account's own HTML to an address nobody verified: the sandbox would mean nothing (SES's error)
      return Future.failedFuture(new SesException(SesError.PRODUCTION_ACCESS_NOT_GRANTED,
          "Custom verification emails can only be sent by an account with production access; this one is in the "
              + "sandbox."));
    }
    String address;
    try {
      if (rawAddress == null || rawAddress.isBlank()) {
        throw SesException.badRequest("Missing required field EmailAddress.");
      }
      address = IdentityNames.normalize(rawAddress);
      if (!IdentityNames.isAddress(address)) {
        throw SesException.badRequest("EmailAddress must be an email address, not a domain.");
      }
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    return find(accountId, templateName).compose(t -> verifiedFrom(accountId, t).compose(v -> {
      String link = publicUrl + "/_mailgate/verify-email?token=" + links.token(accountId, address, t.name());
      SendRequest request;
      try {
        SimpleContent content = new SimpleContent(t.subject(), StandardCharsets.UTF_8, null,
            new TextBody(withLink(t.content(), link), StandardCharsets.UTF_8), List.of(), List.of());
        request = new SendRequest(t.fromAddress(), new SendRequest.Destination(List.of(address), null, null), null,
            configurationSet == null || configurationSet.isEmpty() ? null : configurationSet, null, content);
      } catch (SesException e) {
        return Future.failedFuture(e);
      }
      return sends.send(caller, request);
    })).compose(messageId -> identities.registerAddress(accountId, address)
        .compose(name -> identities.linkSent(accountId, name, true)).map(messageId));
  }

  /**
   * Follows a link: empty when the token is not a custom verification one (Mailgate's own verification link, or
   * nothing that names a template), for the plain verification page to answer.
   */
  public Future<Optional<Followed>> follow(String token) {
    Optional<VerificationLinks.Claim> genuine = links.check(token);
    if (genuine.isPresent()) {
      VerificationLinks.Claim claim = genuine.get();
      if (claim.template() == null) {
        return Future.succeededFuture(Optional.empty());
      }
      return identities.setVerified(claim).compose(verified -> store.redirections(claim.accountId(), claim.template())
          .map(r -> Optional.of(new Followed(verified, claim.identity(),
              r.map(x -> verified ? x.successUrl() : x.failureUrl()).orElse(null)))));
    }
    Optional<VerificationLinks.Claim> named = links.expired(token); // genuine but too late: the failure page
    if (named.isEmpty() || !validName(named.get().template())) {
      return Future.succeededFuture(Optional.empty());
    }
    VerificationLinks.Claim claim = named.get();
    return store.redirections(claim.accountId(), claim.template())
        .map(r -> r.map(x -> new Followed(false, claim.identity(), x.failureUrl())));
  }

  private static boolean validName(String name) {
    try {
      EmailTemplate.checkName(name);
      return true;
    } catch (SesException e) {
      return false;
    }
  }

  /**
   * The template's HTML with the verification link: a paragraph before its closing {@code </body>}, or at its end when
   * it has none. SES adds the link itself too: a template needs no placeholder, and none is replaced.
   */
  static String withLink(String html, String link) {
    String escaped = link.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    String paragraph = "<p><a href=\"" + escaped + "\">" + escaped + "</a></p>";
    int body = -1;
    for (int i = html.lastIndexOf('<'); i >= 0; i = i == 0 ? -1 : html.lastIndexOf('<', i - 1)) {
      if (html.regionMatches(true, i, "</body", 0, 6)) {
        body = i;
        break;
      }
    }
    return body < 0 ? html + "\r\n" + paragraph + "\r\n" : html.substring(0, body) + paragraph + "\r\n"
        + html.substring(body);
  }

  private Future<Void> verifiedFrom(String accountId, CustomVerificationTemplate t) {
    return identities.isVerifiedSender(accountId, t.fromIdentity()).compose(ok -> ok ? Future.<Void>succeededFuture()
        : Future.failedFuture(new SesException(SesError.FROM_EMAIL_ADDRESS_NOT_VERIFIED,
            "Email address " + t.fromIdentity() + " is not verified: the From of a custom verification email must be "
                + "a verified identity of the account.")));
  }

  /** The template does not exist: SES's NotFound (v2) or CustomVerificationEmailTemplateDoesNotExist (v1). */
  public static SesException notFound(String name) {
    return new SesException(SesError.CUSTOM_VERIFICATION_TEMPLATE_NOT_FOUND,
        "Custom verification email template " + name + " does not exist.");
  }
}
