package io.mailgate.api.console;

import io.mailgate.SesException;
import io.mailgate.api.sesv1.QueryParams;
import io.mailgate.api.sesv2.AccountHandler;
import io.mailgate.api.sesv2.ConfigurationSetsHandler;
import io.mailgate.api.sesv2.EventDestinationsHandler;
import io.mailgate.api.sesv2.IdentitiesHandler;
import io.mailgate.api.sesv2.SendEmailHandler;
import io.mailgate.api.sesv2.SuppressionHandler;
import io.mailgate.api.sesv2.TemplatesHandler;
import io.mailgate.send.Caller;
import io.mailgate.send.EmailTemplate;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What the console's forms change, each through the same code as the SES operation that does it over the API, with
 * its checks and its errors: the account's sending (PutAccountSendingAttributes), a configuration set's
 * (PutConfigurationSetSendingOptions), an event destination enabled or not (UpdateConfigurationSetEventDestination,
 * its types and address kept), an address put on or taken off the suppression list (PutSuppressedDestination,
 * DeleteSuppressedDestination), and a test email (SendEmail, Simple content: the SES console's "Send test email",
 * to the mailbox simulator or anyone the account may send to), an identity added (CreateEmailIdentity) or deleted
 * (DeleteEmailIdentity, its box ticked), or verified again (v1's VerifyEmailIdentity for an address; for a domain,
 * its DNS records looked up at the next round), a template created, edited or deleted (CreateEmailTemplate,
 * UpdateEmailTemplate, DeleteEmailTemplate, its box ticked). One form changes nothing: a template rendered with the
 * data given (TestRenderEmailTemplate), shown at once.
 */
final class ConsoleActions {
  /** What a done action says on the page it redirects to, by the code in its query string. */
  static final Map<String, String> DONE = Map.ofEntries(
      Map.entry("account-paused", "Sending is paused for this account: sends are refused until it is resumed."),
      Map.entry("account-resumed", "Sending is resumed for this account."),
      Map.entry("set-paused", "The configuration set's sending is paused: sends that name it are refused until it is "
          + "resumed."),
      Map.entry("set-resumed", "The configuration set's sending is resumed."),
      Map.entry("destination-enabled", "The event destination is enabled."),
      Map.entry("destination-disabled", "The event destination is disabled: its events are no longer posted."),
      Map.entry("suppressed", "The address is on the suppression list."),
      Map.entry("unsuppressed", "The address is off the suppression list."),
      Map.entry("sent", "The test email was accepted; its progress is below."),
      Map.entry("identity-created", "The identity is added. An address is sent a verification email (start-dev "
          + "verifies it at once); a domain is verified once the DNS records shown are published."),
      Map.entry("identity-deleted", "The identity is deleted."),
      Map.entry("template-created", "The template is created: sends that name it use it now."),
      Map.entry("template-saved", "The template is saved: sends that name it use it now."),
      Map.entry("template-deleted", "The template is deleted: sends that name it are refused now."),
      Map.entry("verification-sent", "A new verification email is on its way to the address: the identity is "
          + "verified when its link is followed."),
      Map.entry("verification-not-sent", "No new verification email went: one went to the address less than "
          + "five minutes ago (its link still works), the account's sending is paused, or it could not be sent (the "
          + "node's log says which)."),
      Map.entry("dns-check", "The domain's DNS records are looked up again at the node's next round (a minute "
          + "away with the default identity.dnsCheckIntervalSeconds); reload the page to see what was found."));

  /** A test email's subject and text, in characters: a test, not a newsletter. */
  static final int MAX_TEST_TEXT = 10_000;

  private final AccountHandler account;
  private final ConfigurationSetsHandler sets;
  private final EventDestinationsHandler destinations;
  private final SuppressionHandler suppression;
  private final SendEmailHandler sends;
  private final IdentitiesHandler identities;
  private final TemplatesHandler templates;

  ConsoleActions(AccountHandler account, ConsoleHandler.Changes changes) {
    this.identities = changes.identities();
    this.templates = changes.templates();
    this.account = account;
    this.sets = changes.sets();
    this.destinations = changes.destinations();
    this.suppression = changes.suppression();
    this.sends = changes.sends();
  }

  /**
   * What a form did: the query string of the page to redirect to (what was done, and for a test email the message to
   * look up), or, for a form that changes nothing (a template rendered), what to show on the page at once.
   */
  record Outcome(String redirect, String shown) {
    static Outcome redirect(String query) {
      return new Outcome(query, null);
    }
  }

  /** Does what the form asks; the SES error that refused it, nothing changed, when it cannot. */
  Future<Outcome> run(Caller caller, QueryParams form) {
    try {
      if ("render-template".equals(form.string("action"))) {
        String name = required(form, "template");
        return templates.render(caller.account().id(), name, required(form, "data")).map(m -> new Outcome(null,
            rendered(name, m)));
      }
      return change(caller, form).map(Outcome::redirect);
    } catch (RuntimeException e) { // a refusal (SesException) or a failure: answered, not thrown into the event loop
      return Future.failedFuture(e);
    }
  }

  /** Shows this much of a rendered message: enough for any test, not a page of megabytes. */
  static final int MAX_SHOWN = 100_000;

  /** A rendered template as the page shows it: its MIME text, escaped, cut at {@link #MAX_SHOWN} characters. */
  static String rendered(String name, String message) {
    boolean cut = message.length() > MAX_SHOWN;
    return "<h2>Template " + ConsoleHandler.esc(name) + " rendered</h2>" + (cut ? "<p class=\"muted\">The first "
        + MAX_SHOWN + " of its " + message.length() + " characters.</p>" : "") + "<pre class=\"rendered\">"
        + ConsoleHandler.esc(cut ? message.substring(0, MAX_SHOWN) : message) + "</pre>";
  }

  /** A form that changes something; throws the refusal of what it cannot read (run turns it into a failure). */
  private Future<String> change(Caller caller, QueryParams form) {
    String action = form.string("action");
    return switch (action == null ? "" : action) {
      case "account-sending" -> {
        boolean on = flag(form);
        yield account.setSending(caller, on).map(v -> done(on ? "account-resumed" : "account-paused"));
      }
      case "set-sending" -> {
        boolean on = flag(form);
        yield sets.setSending(caller, required(form, "set"), on).map(v -> done(on ? "set-resumed" : "set-paused"));
      }
      case "destination" -> {
        boolean on = flag(form);
        yield destinations.setEnabled(caller, required(form, "set"), required(form, "destination"), on)
            .map(v -> done(on ? "destination-enabled" : "destination-disabled"));
      }
      case "suppress" -> suppression.suppress(caller, required(form, "address"), required(form, "reason"))
          .map(v -> done("suppressed"));
      case "unsuppress" -> suppression.unsuppress(caller, required(form, "address")).map(v -> done("unsuppressed"));
      case "identity-create" -> identities.create(caller, required(form, "identity"), null, null, new JsonArray())
          .map(v -> done("identity-created"));
      case "identity-delete" -> {
        confirmed(form, "Deleting an identity needs its box ticked (confirm=yes): its DKIM key and settings go "
            + "with it.");
        yield identities.delete(caller, required(form, "identity")).map(v -> done("identity-deleted"));
      }
      case "identity-verify" -> identities.verifyAgain(caller, required(form, "identity")).map(again -> done(
          switch (again) {
            case EMAIL_SENT -> "verification-sent";
            case EMAIL_NOT_SENT -> "verification-not-sent";
            case DNS_CHECK_SOON -> "dns-check";
          }));
      case "template-save" -> {
        EmailTemplate t = template(form);
        boolean created = "true".equals(form.string("new"));
        String account = caller.account().id();
        yield (created ? templates.create(account, t) : templates.update(account, t)).map(v -> done(
            created ? "template-created" : "template-saved") + "&template=" + URLEncoder.encode(t.name(),
            StandardCharsets.UTF_8));
      }
      case "template-delete" -> {
        confirmed(form, "Deleting a template needs its box ticked (confirm=yes): sends that name it are refused once "
            + "it is gone.");
        yield templates.delete(caller, required(form, "template")).map(v -> done("template-deleted"));
      }
      case "send-test" -> sends.send(caller, testEmail(form)).map(id -> "message="
          + URLEncoder.encode(id, StandardCharsets.UTF_8) + "&" + done("sent"));
      default -> throw SesException.badRequest("Unknown console action '" + shorten(action) + "'.");
    };
  }

  /**
   * The template the editor's form gives (CreateEmailTemplate's or UpdateEmailTemplate's content): a part left empty
   * is none, as the API's absent field. Its checks are the API's ({@link EmailTemplate}), and the compile check after.
   */
  static EmailTemplate template(QueryParams form) {
    return new EmailTemplate(required(form, "template"), form.string("subject"), orNone(form.string("text")),
        orNone(form.string("html")));
  }

  private static String orNone(String part) {
    return part == null || part.isEmpty() ? null : part;
  }

  /**
   * What a refused form shows again, so that what was typed is not lost: the template editor with the content the form
   * gave; nothing for the other forms (a field or two, typed again).
   */
  static String refill(String token, QueryParams form) {
    if (!"template-save".equals(form.string("action"))) {
      return "";
    }
    return ConsoleHandler.templateEditor(token, form.string("template"), form.string("subject"),
        form.string("text"), form.string("html"), "true".equals(form.string("new")));
  }

  /** The SendEmail request of the test email form: one recipient, a subject, a text, a configuration set or none. */
  static JsonObject testEmail(QueryParams form) {
    String subject = required(form, "subject");
    String text = required(form, "text");
    if (subject.length() > MAX_TEST_TEXT || text.length() > MAX_TEST_TEXT) {
      throw SesException.badRequest("A test email's subject and text are at most " + MAX_TEST_TEXT
          + " characters each.");
    }
    JsonObject request = new JsonObject()
        .put("FromEmailAddress", required(form, "from"))
        .put("Destination", new JsonObject().put("ToAddresses", new JsonArray().add(required(form, "to"))))
        .put("Content", new JsonObject().put("Simple", new JsonObject()
            .put("Subject", new JsonObject().put("Data", subject))
            .put("Body", new JsonObject().put("Text", new JsonObject().put("Data", text)))));
    String set = form.string("set");
    if (set != null && !set.isEmpty()) {
      request.put("ConfigurationSetName", set);
    }
    return request;
  }

  private static String done(String code) {
    return "done=" + code;
  }

  /** A field the action needs, present and not blank (kept as given otherwise: the operation checks it). */
  private static String required(QueryParams form, String name) {
    String value = form.string(name);
    if (value == null || value.isBlank()) {
      throw SesException.badRequest("Missing required field " + name + ".");
    }
    return value;
  }

  /** A deletion's box ticked ({@code confirm=yes}), else the refusal {@code why}. */
  private static void confirmed(QueryParams form, String why) {
    if (!"yes".equals(form.string("confirm"))) {
      throw SesException.badRequest(why);
    }
  }

  private static boolean flag(QueryParams form) {
    String value = form.string("enabled");
    if ("true".equals(value) || "false".equals(value)) {
      return Boolean.parseBoolean(value);
    }
    throw SesException.badRequest("Field enabled must be true or false, not '" + shorten(value) + "'.");
  }

  private static String shorten(String s) {
    return s == null ? "" : s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }
}
