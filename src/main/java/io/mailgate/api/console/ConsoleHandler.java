package io.mailgate.api.console;

import io.mailgate.api.MessageStatusHandler;
import io.mailgate.api.sesv1.QueryParams;
import io.mailgate.api.sesv2.AccountHandler;
import io.mailgate.configset.ConfigurationSet;
import io.mailgate.configset.ConfigurationSetStore;
import io.mailgate.events.EventDestination;
import io.mailgate.events.EventDestinationStore;
import io.mailgate.identity.AccessKey;
import io.mailgate.identity.Account;
import io.mailgate.identity.AccountDirectory;
import io.mailgate.identity.Identity;
import io.mailgate.identity.IdentityNotifications;
import io.mailgate.identity.IdentityStore;
import io.mailgate.lists.ContactList;
import io.mailgate.receiving.ReceiptAction;
import io.mailgate.receiving.ReceiptRule;
import io.mailgate.receiving.ReceiptRuleStore;
import io.mailgate.send.Caller;
import io.mailgate.store.ReceivedObjectStore;
import io.mailgate.store.SuppressionStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code /_mailgate/console}: one page of what an account has and how it stands, for a person with a browser rather
 * than an SDK: sending quota and status, reputation, identities, configuration sets with their event destinations and
 * tracking domain, the suppression list's latest entries, the active receipt rules and the newest mail their S3
 * actions stored (each message's source one link away: {@link #object}), the contact lists with their topics and
 * counts of contacts, the tenants with their sending status, a message looked up by its id.
 * Signed in with the account's access key (HTTP Basic: the key id as user, the secret as password, as the SDKs hold
 * them), so it needs HTTPS in front outside a developer's machine. Its forms pause and resume sending, enable and
 * disable event destinations, edit the suppression list and send a test email ({@link ConsoleActions}), each carrying
 * a token only the page has ({@link ConsoleForms}). Every value is HTML-escaped; the page has no script.
 */
public final class ConsoleHandler {
  private static final Logger LOG = Logger.getLogger(ConsoleHandler.class.getName());
  /** The page shows this many of each list; the API pages through the rest. */
  static final int SHOWN = 100;
  private static final int SETS_WITH_DESTINATIONS = 20;
  /**
   * A form's body: a template of SES's 500 KB ({@link io.mailgate.send.EmailTemplate#MAX_BYTES}) with room for its
   * escapes (a non-ASCII character is up to 12 bytes in a form, most markup 3).
   */
  public static final int MAX_FORM = 2 * 1024 * 1024;
  /** A form read for anyone before its credentials are checked: every form but a large template's. */
  public static final int SMALL_FORM = 64 * 1024;

  private final AccountDirectory accounts;
  private final AccountHandler account;
  private final IdentityStore identities;
  private final ConfigurationSetStore sets;
  private final EventDestinationStore destinations;
  private final SuppressionStore suppression;
  private final MessageStatusHandler messages;
  private final ReceiptRuleStore receiptRules;
  private final io.mailgate.api.LoginFailures logins;
  private final io.mailgate.api.ClientAddress clients;
  private final ConsoleActions actions;
  private final java.time.Clock clock;
  private final io.mailgate.api.sesv2.TemplatesHandler templates;
  private final io.mailgate.events.DestinationSecrets secrets;
  private final ReceivedObjectStore objects;
  private final Audience audience;

  /** Whom an account sends to: its contact lists, and its tenants (the customers it sends for). */
  public record Audience(io.mailgate.lists.ContactListStore contactLists, io.mailgate.store.TenantStore tenants) {}

  /** Contacts counted per list shown, at most: a list of more says so. */
  static final int CONTACTS_COUNTED = 10_000;

  public ConsoleHandler(io.mailgate.api.LoginFailures logins, io.mailgate.api.ClientAddress clients,
      AccountDirectory accounts, AccountHandler account, IdentityStore identities,
      ConfigurationSetStore sets, EventDestinationStore destinations, SuppressionStore suppression,
      ReceiptRuleStore receiptRules, ReceivedObjectStore objects, Audience audience, MessageStatusHandler messages,
      Changes changes, io.mailgate.events.DestinationSecrets secrets, java.time.Clock clock) {
    this.objects = objects;
    this.audience = audience;
    this.secrets = secrets;
    this.actions = new ConsoleActions(account, changes);
    this.templates = changes.templates();
    this.clock = clock;
    this.messages = messages;
    this.logins = logins;
    this.clients = clients;
    this.receiptRules = receiptRules;
    this.accounts = accounts;
    this.account = account;
    this.identities = identities;
    this.sets = sets;
    this.destinations = destinations;
    this.suppression = suppression;
  }

  /** {@code GET /_mailgate/console}: the page, with what the last form did if it redirected here. */
  public void handle(RoutingContext ctx) {
    secure(ctx);
    String asked;
    String done;
    String template;
    try {
      asked = ctx.request().getParam("message");
      done = ctx.request().getParam("done");
      template = ctx.request().getParam("template");
    } catch (IllegalArgumentException e) { // a malformed escape: before anything asynchronous, where it would be lost
      plain(ctx, 400, "The query string is not valid percent-encoding.");
      return;
    }
    String notice = done == null || !ConsoleActions.DONE.containsKey(done) ? null
        : "<p class=\"done\">" + esc(ConsoleActions.DONE.get(done)) + "</p>";
    signIn(ctx, signedIn -> show(ctx, signedIn, new Asked(asked, template), notice, 200));
  }

  /**
   * {@code POST /_mailgate/console}: a form of the page (its body read already, at most {@link #MAX_FORM} bytes). Done,
   * it redirects to the page (303, so a reload does not send it again); refused, the page is shown with the SES error
   * and the status the API would answer, nothing changed. A request another site's page made is refused before
   * anything is looked at: the browser says so ({@code Sec-Fetch-Site}) or it cannot carry the page's token.
   */
  public void act(RoutingContext ctx, io.vertx.core.buffer.Buffer body) {
    secure(ctx);
    String site = ctx.request().getHeader("Sec-Fetch-Site");
    if (site != null && !site.equals("same-origin") && !site.equals("none")) {
      forbidden(ctx, "This form was sent from another site's page (Sec-Fetch-Site: " + site + ").");
      return;
    }
    String type = ctx.request().getHeader("Content-Type");
    if (type == null || !type.toLowerCase(java.util.Locale.ROOT).strip()
        .startsWith("application/x-www-form-urlencoded")) {
      plain(ctx, 415, "This is not a form of the console (application/x-www-form-urlencoded).");
      return;
    }
    QueryParams form;
    try {
      form = QueryParams.parse(body.toString(StandardCharsets.UTF_8));
    } catch (io.mailgate.SesException e) {
      plain(ctx, 400, e.getMessage());
      return;
    }
    signIn(ctx, signedIn -> {
      if (!ConsoleForms.valid(form.string("csrf"), signedIn.secret(), signedIn.caller().accessKeyId(),
          signedIn.caller().account().id(), clock.instant().getEpochSecond())) {
        forbidden(ctx, "This form does not carry a token of this console for this access key, or it is older than "
            + ConsoleForms.LIFETIME_SECONDS / 3600 + " hours. Reload the console and send it again.");
        return;
      }
      actions.run(signedIn.caller(), form).onComplete(ar -> {
        if (ar.succeeded() && ar.result().redirect() != null) {
          ctx.response().setStatusCode(303).putHeader("Location", "console?" + ar.result().redirect()).end();
          return;
        }
        if (ar.succeeded()) {
          show(ctx, signedIn, Asked.NOTHING, ar.result().shown(), 200);
          return;
        }
        io.mailgate.SesException e = io.mailgate.api.SesErrors.toSes(ctx, ar.cause(),
            io.mailgate.api.SesErrors.newRequestId());
        show(ctx, signedIn, Asked.NOTHING, "<p class=\"refused\">Not done: " + esc(e.error().v2Type) + ": "
            + esc(e.getMessage()) + "</p>" + ConsoleActions.refill(token(signedIn), form), e.error().status);
      });
    });
  }

  /** The form's body could not be read: too large (413), or the client went away. */
  public void failed(RoutingContext ctx) {
    if (!ctx.response().ended() && !ctx.response().headWritten()) {
      secure(ctx);
      int status = ctx.statusCode();
      if (status == 503) {
        plain(ctx, 503, "Too many large requests in progress on this node; retry later.");
        return;
      }
      int limit = ctx.request().getHeader("Authorization") == null ? SMALL_FORM : MAX_FORM;
      plain(ctx, status == 413 ? 413 : 400, status == 413 ? "The form is larger than " + limit / 1024 + " KiB."
          : "The form could not be read.");
    }
  }

  /**
   * Goes on once the request's credentials name an enabled access key and match its secret (before a large form's body
   * is read); answers 401, 429 or 503 itself otherwise, as the page does.
   */
  public void signedIn(RoutingContext ctx, Runnable then) {
    secure(ctx);
    signIn(ctx, signedIn -> then.run());
  }

  /** The access key a request signed in with, its secret (which the forms' tokens are made with) and the caller. */
  private record SignedIn(Caller caller, String secret) {}

  /**
   * Checks the request's HTTP Basic credentials against the access keys, as the API checks a signature (counting an
   * address's unknown keys), and goes on with the signed-in key or answers 401, 429 or 503 itself.
   */
  private void signIn(RoutingContext ctx, java.util.function.Consumer<SignedIn> then) {
    Optional<String[]> credentials = basic(ctx.request().getHeader("Authorization"));
    if (credentials.isEmpty()) {
      unauthorized(ctx);
      return;
    }
    String keyId = credentials.get()[0];
    // an address that named too many keys that do not exist is not given another lookup for a while, as over the API
    String client = clients.of(ctx.request());
    io.mailgate.api.LoginFailures.Attempt attempt = logins.begin(client, keyId);
    if (attempt == null) {
      ctx.response().putHeader("Retry-After", "600");
      plain(ctx, 429, "Too many sign-ins with unknown access keys from this address. Retry later.");
      return;
    }
    accounts.byAccessKey(keyId).onComplete(ar -> {
      Optional<AccessKey> key = ar.succeeded() ? ar.result().filter(AccessKey::enabled) : Optional.empty();
      attempt.end(ar.succeeded() && ar.result().isPresent(), ar.succeeded() && key.isEmpty());
      if (ar.failed()) {
        unavailable(ctx, "cannot read access key " + keyId + ": " + ar.cause().getMessage());
        return;
      }
      if (key.isEmpty() || !MessageDigest.isEqual(key.get().secret().getBytes(StandardCharsets.UTF_8),
          credentials.get()[1].getBytes(StandardCharsets.UTF_8))) {
        unauthorized(ctx);
        return;
      }
      then.accept(new SignedIn(new Caller(key.get().account(), keyId, client), key.get().secret()));
    });
  }

  /** What the page's query asks to see: a message by its id, a template in the editor (either may be null). */
  private record Asked(String message, String template) {
    static final Asked NOTHING = new Asked(null, null);
  }

  /** The forms' token of a page shown now to the signed-in key. */
  private String token(SignedIn signedIn) {
    Caller caller = signedIn.caller();
    return ConsoleForms.token(signedIn.secret(), caller.accessKeyId(), caller.account().id(),
        clock.instant().getEpochSecond() + ConsoleForms.LIFETIME_SECONDS);
  }

  private void show(RoutingContext ctx, SignedIn signedIn, Asked asked, String notice, int status) {
    Caller caller = signedIn.caller();
    String token = token(signedIn);
    page(caller, asked, token, notice, ctx).onComplete(page -> {
      if (page.succeeded()) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "text/html; charset=utf-8").end(page.result());
      } else {
        unavailable(ctx, page.cause().getMessage());
      }
    });
  }

  /** A message lookup that failed for another reason than there being no such message. */
  private static final JsonObject UNAVAILABLE = new JsonObject();

  private Future<String> page(Caller caller, Asked asked, String token, String notice, RoutingContext ctx) {
    String id = caller.account().id();
    // a section that cannot be read says so; the rest of the page is still shown (Redis down is when it is needed)
    Future<JsonObject> quota = account.getAccount(caller, ctx).recover(e -> Future.succeededFuture());
    Future<Optional<AccountDirectory.Details>> details = accounts.byId(id);
    Future<List<IdentityStore.Stored>> ids = identities.page(id, null, SHOWN, null);
    Future<java.util.Map<String, IdentityNotifications>> notifications = ids.compose(list -> identities
        .notifications(id, list.stream().map(s -> s.identity().name()).toList())
        .map(all -> {
          java.util.Map<String, IdentityNotifications> byName = new java.util.HashMap<>();
          for (IdentityNotifications n : all) {
            byName.put(n.identity(), n);
          }
          return byName;
        }));
    Future<List<ConfigurationSet>> configSets = sets.page(id, null, SHOWN, null);
    Future<List<SuppressionStore.Entry>> suppressed = suppression.recent(id, SHOWN);
    String messageId = asked.message() == null || asked.message().isBlank() ? null : asked.message().strip();
    // the template asked for, in the editor: one the account does not have (deleted since) is said so on the page
    Future<Optional<io.mailgate.send.EmailTemplate>> editing = asked.template() == null ? Future.succeededFuture()
        : Future.succeededFuture().compose(v -> templates.find(id, asked.template())).map(Optional::of)
            .recover(e -> e instanceof io.mailgate.SesException ? Future.succeededFuture(Optional.empty())
                : Future.failedFuture(e));
    Future<Optional<ReceiptRuleStore.RuleSetRules>> receiving = receiptRules.describeActive(id);
    // not shown when it cannot be read (null): the rest of the page still is
    Future<List<StoredMail>> stored = receiving.compose(active -> storedMail(id, active.orElse(null)))
        .recover(e -> Future.succeededFuture());
    Future<List<ReceiptRuleStore.Filter>> filters = receiptRules.filters(id);
    // not shown when they cannot be read (null): the rest of the page still is
    Future<ContactLists> lists = audience.contactLists().page(id, null, SHOWN)
        .compose(page -> audience.contactLists().counts(id, page.stream().map(ContactList::name).toList(),
            CONTACTS_COUNTED).map(counts -> new ContactLists(page, counts)))
        .recover(e -> Future.succeededFuture());
    Future<List<io.mailgate.store.TenantStore.Tenant>> tenantList = audience.tenants().page(id, null, SHOWN, null,
        null).recover(e -> Future.succeededFuture());
    Future<List<io.mailgate.store.TemplateStore.Listed>> templateList = templates.page(id, null, SHOWN);
    // not shown when it cannot be read: the rest of the page still is
    Future<UnaryOperator<String>> secretOf = secrets.of(id).recover(e -> Future.succeededFuture(url -> null));
    Future<JsonObject> message = messageId == null || messageId.length() > 200 ? Future.succeededFuture()
        : messages.status(caller, messageId).recover(e -> Future.succeededFuture(
            e instanceof io.mailgate.SesException x && x.error() == io.mailgate.SesError.NOT_FOUND ? null
                : UNAVAILABLE));
    Future<List<List<EventDestination>>> hooks = configSets.compose(list -> {
      List<Future<List<EventDestination>>> each = new ArrayList<>();
      for (ConfigurationSet s : list.subList(0, Math.min(list.size(), SETS_WITH_DESTINATIONS))) {
        // a set deleted since the list was read has none
        each.add(destinations.list(id, s.name()).recover(e -> e instanceof io.mailgate.SesException x
            && x.error() == io.mailgate.SesError.CONFIGURATION_SET_NOT_FOUND ? Future.succeededFuture(List.of())
            : Future.failedFuture(e)));
      }
      return Future.all(each).map(all -> {
        List<List<EventDestination>> out = new ArrayList<>();
        for (int i = 0; i < each.size(); i++) {
          out.add(all.resultAt(i));
        }
        return out;
      });
    });
    return Future.all(List.of(quota, details, ids, notifications, configSets, suppressed, message, receiving, filters,
            templateList, secretOf, editing, stored, lists, tenantList))
        .compose(v -> hooks).map(h -> {
      String html = render(caller, token, quota.result(), details.result().orElse(null), ids.result(),
          notifications.result(), configSets.result(), h, suppressed.result(), secretOf.result());
      int end = html.lastIndexOf("</body>");
      int top = html.indexOf("</h1>") + "</h1>".length();
      return html.substring(0, top) + (notice == null ? "" : notice) + html.substring(top, end)
          + receiving(receiving.result().orElse(null), filters.result(), secretOf.result())
          + storedMail(stored.result())
          + testEmail(token, ids.result(), configSets.result())
          + templates(token, templateList.result(), asked.template(), editing.result())
          + contactLists(lists.result())
          + tenants(tenantList.result())
          + message(messageId, message.result())
          + html.substring(end);
    });
  }

  /** The active receipt rule set's rules, in order, and the account's receipt filters. */
  static String receiving(ReceiptRuleStore.RuleSetRules active, List<ReceiptRuleStore.Filter> filters,
      UnaryOperator<String> secretOf) {
    StringBuilder b = new StringBuilder("<h2>Receiving</h2>");
    if (active == null) {
      b.append("<p class=\"muted\">No active receipt rule set: no mail is received for this account.</p>");
    } else {
      b.append("<p>Active receipt rule set <b>").append(esc(active.metadata().name())).append("</b>.</p>");
      b.append("<table><tr><th>Rule</th><th>Recipients</th><th>TLS</th><th>Actions</th></tr>");
      for (ReceiptRule r : active.rules()) {
        b.append("<tr><td>").append(esc(r.name())).append(r.enabled() ? "" : " (disabled)").append("</td><td>")
            .append(r.recipients().isEmpty() ? "every recipient" : esc(String.join(", ", r.recipients())))
            .append("</td><td>").append(esc(r.tlsPolicy())).append("</td><td>");
        for (ReceiptAction a : r.actions()) {
          b.append("<code>").append(esc(a.toJson().encode())).append("</code>");
          secret(b, secretOf, a.topicArn());
          b.append("<br>");
        }
        b.append("</td></tr>");
      }
      b.append("</table>");
    }
    if (!filters.isEmpty()) {
      b.append("<table><tr><th>Receipt filter</th><th>Policy</th><th>Addresses</th></tr>");
      for (ReceiptRuleStore.Filter f : filters) {
        b.append("<tr><td>").append(esc(f.name())).append("</td><td>").append(esc(f.policy())).append("</td><td>")
            .append(esc(f.cidr())).append("</td></tr>");
      }
      b.append("</table>");
    }
    return b.toString();
  }

  /**
   * The start of a section of things that may not be readable: null when there are none (no section), the heading
   * and a note saying they cannot be read when they could not ({@code shown} null), else the heading, to which their
   * table is added.
   */
  private static StringBuilder section(String heading, String what, List<?> shown) {
    if (shown != null && shown.isEmpty()) {
      return null;
    }
    StringBuilder b = new StringBuilder(heading);
    return shown != null ? b
        : b.append("<p class=\"muted\">The ").append(what).append(" cannot be read right now.</p>");
  }

  /** The contact lists shown, and how many contacts each has (up to {@link #CONTACTS_COUNTED}). */
  record ContactLists(List<ContactList> lists, java.util.Map<String, Long> counts) {}

  /**
   * The account's contact lists (the first {@link #SHOWN}): each with its description, its topics (their default
   * subscription status) and its count of contacts; null: unreadable.
   */
  static String contactLists(ContactLists shown) {
    StringBuilder b = section("<h2>Contact lists</h2>", "contact lists", shown == null ? null : shown.lists());
    if (b == null || shown == null) {
      return b == null ? "" : b.toString();
    }
    b.append("<table><tr><th>List</th><th>Contacts</th><th>Topics</th><th>Updated</th></tr>");
    for (ContactList l : shown.lists()) {
      long count = shown.counts().getOrDefault(l.name(), 0L);
      b.append("<tr><td>").append(esc(l.name()));
      if (l.description() != null && !l.description().isEmpty()) {
        b.append("<br><span class=\"muted\">").append(esc(l.description())).append("</span>");
      }
      b.append("</td><td>").append(count >= CONTACTS_COUNTED ? number(CONTACTS_COUNTED) + " or more" : number(count))
          .append("</td><td>");
      for (io.mailgate.lists.Topic t : l.topics()) {
        b.append("<code>").append(esc(t.name())).append("</code> (").append(esc(t.defaultStatus().name()
            .toLowerCase(java.util.Locale.ROOT))).append(" by default)<br>");
      }
      b.append("</td><td>").append(esc(l.updatedAt().toString())).append("</td></tr>");
    }
    return b.append("</table>").toString();
  }

  /**
   * The account's tenants (the first {@link #SHOWN}): each with its id, whether it may send (SES's aggregate status:
   * disabled by its owner or by the service, with the service's cause) and its reputation's impact; null: unreadable.
   */
  static String tenants(List<io.mailgate.store.TenantStore.Tenant> tenants) {
    StringBuilder b = section("<h2>Tenants</h2>", "tenants", tenants);
    if (b == null || tenants == null) {
      return b == null ? "" : b.toString();
    }
    b.append("<table><tr><th>Tenant</th><th>Sending</th><th>Reputation impact</th><th>Created</th></tr>");
    for (io.mailgate.store.TenantStore.Tenant t : tenants) {
      b.append("<tr><td>").append(esc(t.name())).append("<br><span class=\"muted\">").append(esc(t.id()))
          .append("</span></td><td>").append(esc(t.sendingStatus()));
      if (t.managedStatus().equals("DISABLED")) {
        b.append(" by the service").append(t.managedCause() == null ? "" : ": " + esc(t.managedCause()));
      } else if (t.customerStatus().equals("DISABLED")) {
        b.append(" by its owner");
      }
      b.append("</td><td>").append(esc(t.impact() == null ? "none" : t.impact())).append("</td><td>")
          .append(esc(t.createdAt().toString())).append("</td></tr>");
    }
    return b.append("</table>").toString();
  }

  /** Where a receipt rule's S3 action stores mail (its bucket and key prefix), and the newest keys there. */
  record StoredMail(String bucket, String prefix, List<ReceivedObjectStore.ListedKey> latest) {}

  /** The places the page shows at most, and the keys of each. */
  static final int STORED_PLACES = 5;
  static final int STORED_SHOWN = 10;
  /** What the object view shows of one: a message's first mebibyte; the S3 API reads the rest. */
  static final int VIEWED = 1024 * 1024;

  /** The newest mail stored by the active rule set's S3 actions, each bucket and prefix once, in the rules' order. */
  private Future<List<StoredMail>> storedMail(String account, ReceiptRuleStore.RuleSetRules active) {
    if (active == null) {
      return Future.succeededFuture(List.of());
    }
    java.util.Set<java.util.Map.Entry<String, String>> places = new java.util.LinkedHashSet<>();
    for (ReceiptRule r : active.rules()) {
      for (ReceiptAction a : r.actions()) {
        if (a instanceof ReceiptAction.S3 s3 && places.size() < STORED_PLACES) {
          places.add(java.util.Map.entry(s3.bucketName(), s3.objectKeyPrefix() == null ? "" : s3.objectKeyPrefix()));
        }
      }
    }
    List<Future<StoredMail>> each = new ArrayList<>();
    for (java.util.Map.Entry<String, String> p : places) {
      each.add(objects.latest(account, p.getKey(), p.getValue(), STORED_SHOWN)
          .map(keys -> new StoredMail(p.getKey(), p.getValue(), keys)));
    }
    return Future.all(each).map(all -> each.stream().map(Future::result).toList());
  }

  /** The newest mail each place holds, each key a link to its content ({@link #object}); null: unreadable. */
  static String storedMail(List<StoredMail> stored) {
    StringBuilder b = section("<h3>Stored mail</h3>", "stored mail", stored);
    if (b == null || stored == null) {
      return b == null ? "" : b.toString();
    }
    b.append("<table><tr><th>Bucket</th><th>Key</th><th>Size</th><th>Stored</th></tr>");
    for (StoredMail place : stored) {
      if (place.latest().isEmpty()) {
        b.append("<tr><td>").append(esc(place.bucket())).append("</td><td class=\"muted\" colspan=\"3\">nothing under ")
            .append(place.prefix().isEmpty() ? "its root" : "<code>" + esc(place.prefix()) + "</code>")
            .append(" yet</td></tr>");
      }
      for (ReceivedObjectStore.ListedKey k : place.latest()) {
        b.append("<tr><td>").append(esc(place.bucket())).append("</td><td><a href=\"/_mailgate/console/object?bucket=")
            .append(esc(query(place.bucket()))).append("&amp;key=").append(esc(query(k.key()))).append("\">")
            .append(esc(k.key())).append("</a></td><td>").append(number(k.size())).append("</td><td>")
            .append(esc(k.lastModified().toString())).append("</td></tr>");
      }
    }
    return b.append("</table>").toString();
  }

  private static String query(String value) {
    return java.net.URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /**
   * {@code GET /_mailgate/console/object?bucket=&key=}: an object of the signed-in account's, as text (a stored
   * message's source), its first {@link #VIEWED} bytes; the page's headers, so that nothing in it runs or is sniffed.
   * Another account's object is not found, as over the S3 API.
   */
  public void object(RoutingContext ctx) {
    secure(ctx);
    String bucket;
    String key;
    try {
      bucket = ctx.request().getParam("bucket");
      key = ctx.request().getParam("key");
    } catch (IllegalArgumentException e) {
      plain(ctx, 400, "The query string is not valid percent-encoding.");
      return;
    }
    if (bucket == null || key == null || bucket.isEmpty() || key.isEmpty() || bucket.indexOf('\u0000') >= 0
        || key.indexOf('\u0000') >= 0 || key.getBytes(StandardCharsets.UTF_8).length > 1024) {
      plain(ctx, 400, "Name an object: ?bucket=<bucket>&key=<key> (a key of at most 1,024 bytes).");
      return;
    }
    signIn(ctx, signedIn -> objects.get(signedIn.caller().account().id(), bucket, key, 0, VIEWED - 1)
        .onComplete(read -> {
          if (read.failed()) {
            unavailable(ctx, read.cause().getMessage());
          } else if (read.result().isEmpty()) {
            plain(ctx, 404, "The account has no object " + key + " in bucket " + bucket + ".");
          } else {
            ReceivedObjectStore.StoredObject o = read.result().get();
            io.vertx.core.buffer.Buffer shown = o.content() == null ? io.vertx.core.buffer.Buffer.buffer()
                : o.content();
            if (o.size() > shown.length()) {
              shown.appendString("\n\n[The first " + shown.length() + " of " + o.size() + " bytes; the S3 API reads "
                  + "all of them.]\n");
            }
            ctx.response().putHeader("Content-Type", "text/plain; charset=utf-8").end(shown);
          }
        }));
  }

  /**
   * The SES console's "Send test email": from one of the account's addresses (or any at its domains), to the mailbox
   * simulator's scenarios or any address the account may send to, with a configuration set or none.
   */
  static String testEmail(String token, List<IdentityStore.Stored> ids, List<ConfigurationSet> configSets) {
    StringBuilder b = new StringBuilder("<h2>Send a test email</h2>");
    ConsoleForms.open(b, token, "send-test", "block");
    b.append("<label>From <input name=\"from\" size=\"40\" list=\"console-from\" required></label>"
        + "<datalist id=\"console-from\">");
    for (IdentityStore.Stored s : ids) {
      Identity i = s.identity();
      b.append("<option value=\"").append(esc(i.isDomain() ? "test@" + i.name() : i.name())).append("\">");
    }
    b.append("</datalist><label>To <input name=\"to\" size=\"40\" list=\"console-to\" required></label>"
        + "<datalist id=\"console-to\">");
    for (String scenario : List.of("success", "bounce", "complaint", "ooto", "suppressionlist")) {
      b.append("<option value=\"").append(scenario).append('@').append(io.mailgate.delivery.Simulator.DOMAIN)
          .append("\">");
    }
    b.append("</datalist><label>Subject <input name=\"subject\" size=\"60\" required></label>"
        + "<label>Text <textarea name=\"text\" rows=\"4\" cols=\"60\" required></textarea></label>"
        + "<label>Configuration set <select name=\"set\"><option value=\"\">none</option>");
    for (ConfigurationSet s : configSets) {
      b.append("<option value=\"").append(esc(s.name())).append("\">").append(esc(s.name())).append("</option>");
    }
    return b.append("</select></label><button>Send</button></form>").toString();
  }

  /**
   * The account's templates (the first {@link #SHOWN}), each with its editor's link and a delete form, a form that
   * renders one with data, a new template's editor, and the editor of the one asked for ({@code asked}: found, or
   * empty when the account has no such template).
   */
  static String templates(String token, List<io.mailgate.store.TemplateStore.Listed> list, String askedName,
      Optional<io.mailgate.send.EmailTemplate> asked) {
    StringBuilder b = new StringBuilder("<h2>Templates</h2>");
    if (askedName != null) {
      b.append(asked == null || asked.isEmpty()
          ? "<p class=\"refused\">No template " + esc(askedName) + " in this account.</p>"
          : templateEditor(token, asked.get().name(), asked.get().subject(), asked.get().text(), asked.get().html(),
              false));
    }
    b.append("<details><summary>New template</summary>").append(templateEditor(token, "", "", "", "", true))
        .append("</details>");
    if (list.isEmpty()) {
      return b.append("<p class=\"muted\">None.</p>").toString();
    }
    List<io.mailgate.store.TemplateStore.Listed> shown = list.subList(0, Math.min(list.size(), SHOWN));
    b.append("<table><tr><th>Template</th><th>Created</th><th></th></tr>");
    for (io.mailgate.store.TemplateStore.Listed t : shown) {
      b.append("<tr><td><a href=\"console?template=").append(esc(java.net.URLEncoder.encode(t.name(),
          StandardCharsets.UTF_8))).append("\">").append(esc(t.name())).append("</a></td><td>")
          .append(esc(String.valueOf(t.createdAt()))).append("</td><td>");
      ConsoleForms.open(b, token, "template-delete", "inline");
      b.append("<input type=\"hidden\" name=\"template\" value=\"").append(esc(t.name())).append("\">"
          + "<label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> sure</label> "
          + "<button>Delete</button></form></td></tr>");
    }
    b.append("</table>");
    ConsoleForms.open(b, token, "render-template", "block");
    b.append("<label>Template <select name=\"template\">");
    for (io.mailgate.store.TemplateStore.Listed t : shown) {
      b.append("<option value=\"").append(esc(t.name())).append("\">").append(esc(t.name())).append("</option>");
    }
    return b.append("</select></label><label>Data (JSON) <textarea name=\"data\" rows=\"3\" cols=\"60\">{}"
        + "</textarea></label><button>Render</button></form>").toString();
  }

  /**
   * A template's editor: its name (fixed once it exists), subject, text and HTML parts (Handlebars), as they are or
   * as a refused form gave them; saved through CreateEmailTemplate ({@code created}) or UpdateEmailTemplate.
   */
  static String templateEditor(String token, String name, String subject, String text, String html,
      boolean created) {
    StringBuilder b = new StringBuilder();
    ConsoleForms.open(b, token, "template-save", "block");
    b.append("<input type=\"hidden\" name=\"new\" value=\"").append(created).append("\">");
    if (created) {
      b.append("<label>Name <input name=\"template\" size=\"40\" maxlength=\"64\" required value=\"")
          .append(esc(name == null ? "" : name)).append("\"></label>");
    } else {
      b.append("<p>Template <b>").append(esc(name)).append("</b></p><input type=\"hidden\" name=\"template\" "
          + "value=\"").append(esc(name)).append("\">");
    }
    // a textarea's first line break is dropped by the browser: one is written before the content, which keeps its own
    b.append("<label>Subject <input name=\"subject\" size=\"80\" value=\"").append(esc(subject == null ? ""
        : subject)).append("\"></label><label>Text part <textarea name=\"text\" rows=\"8\" cols=\"80\">\n")
        .append(esc(text == null ? "" : text)).append("</textarea></label><label>HTML part <textarea name=\"html\" "
        + "rows=\"12\" cols=\"80\">\n").append(esc(html == null ? "" : html)).append("</textarea></label><button>")
        .append(created ? "Create template" : "Save template").append("</button></form>");
    return b.toString();
  }

  /** The API's handlers whose operations the console's forms make. */
  public record Changes(io.mailgate.api.sesv2.IdentitiesHandler identities,
      io.mailgate.api.sesv2.ConfigurationSetsHandler sets, io.mailgate.api.sesv2.EventDestinationsHandler destinations,
      io.mailgate.api.sesv2.SuppressionHandler suppression, io.mailgate.api.sesv2.SendEmailHandler sends,
      io.mailgate.api.sesv2.TemplatesHandler templates) {}

  /** A form to look a message up by its id, and what was found: its recipients and events. */
  static String message(String id, JsonObject m) {
    StringBuilder b = new StringBuilder("<h2>Message</h2><form method=\"get\"><input name=\"message\" size=\"60\" "
        + "placeholder=\"MessageId\" value=\"").append(esc(id)).append("\"> <button>Show</button></form>");
    if (id == null) {
      return b.toString();
    }
    if (m == null) {
      return b.append("<p>No message ").append(esc(id)).append(" in this account (or retention has deleted it).</p>")
          .toString();
    }
    if (m == UNAVAILABLE) {
      return b.append("<p>Message ").append(esc(id)).append(" cannot be looked up right now (the database did not "
          + "answer); try again.</p>").toString();
    }
    b.append("<table>");
    row(b, "MessageId", m.getString("MessageId"));
    row(b, "From", m.getString("Source"));
    row(b, "Sent", m.getString("Timestamp"));
    row(b, "Configuration set", m.getString("ConfigurationSetName") == null ? "" : m.getString("ConfigurationSetName"));
    row(b, "Size", m.getValue("Size") + " bytes");
    b.append("</table><table><tr><th>Recipient</th><th>Status</th><th>Attempts</th><th>Last reply</th></tr>");
    for (Object o : m.getJsonArray("Recipients")) {
      JsonObject r = (JsonObject) o;
      b.append("<tr><td>").append(esc(r.getString("Address"))).append("</td><td>").append(esc(r.getString("Status")))
          .append("</td><td>").append(r.getValue("Attempts")).append("</td><td>")
          .append(esc(r.getString("SmtpResponse") == null ? "" : r.getString("SmtpResponse"))).append("</td></tr>");
    }
    b.append("</table><table><tr><th>Event</th><th>Detail</th></tr>");
    for (Object o : m.getJsonArray("Events")) {
      JsonObject e = (JsonObject) o;
      String type = e.getString("eventType");
      JsonObject detail = null;
      for (String f : e.fieldNames()) {
        if (!f.equals("eventType") && !f.equals("mail")) {
          detail = e.getJsonObject(f);
        }
      }
      b.append("<tr><td>").append(esc(type)).append("</td><td><code>")
          .append(esc(detail == null ? "" : detail.encode())).append("</code></td></tr>");
    }
    return b.append("</table>").toString();
  }

  static String render(Caller caller, String token, JsonObject quota, AccountDirectory.Details details,
      List<IdentityStore.Stored> ids, java.util.Map<String, IdentityNotifications> notifications,
      List<ConfigurationSet> configSets, List<List<EventDestination>> hooks, List<SuppressionStore.Entry> suppressed,
      UnaryOperator<String> secretOf) {
    // the account as just read, not as the key cache holds it: a pause made a moment ago shows
    Account a = details == null ? caller.account() : details.account();
    StringBuilder b = new StringBuilder(8192);
    b.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mailgate: account ")
        .append(esc(a.id())).append("</title><style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
            + "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;"
            + "text-align:left;vertical-align:top}th{background:#f4f4f4}h1{font-size:1.4em}h2{font-size:1.1em;"
            + "margin-top:1.5em}.muted{color:#777}form.inline{display:inline;margin-left:.5em}"
            + "form.block{margin:.5em 0 1.5em}"
            + "form.block label{display:block;margin:.3em 0}.done{background:#e8f5e9;padding:.5em}"
            + ".refused{background:#fdecea;padding:.5em}"
            + "code.record{word-break:break-all}pre.rendered{background:#f8f8f8;padding:.5em;white-space:pre-wrap}"
            + "</style></head><body>");
    b.append("<h1>Mailgate: account ").append(esc(a.id())).append("</h1>");
    b.append("<p class=\"muted\">Signed in with access key ").append(esc(caller.accessKeyId()))
        .append(". What the buttons change goes through the same checks as the SES operation that changes it; the "
            + "rest is changed through the SES API, the SDKs or <code>mailgate admin</code>.</p>");

    JsonObject q = quota == null ? null : quota.getJsonObject("SendQuota", new JsonObject());
    b.append("<h2>Sending</h2><table>");
    row(b, "Sending", a.sendingEnabled() ? "enabled" : "paused");
    row(b, "Access", a.productionAccess() ? "production" : "sandbox (verified recipients only)");
    row(b, "Enforcement status", details == null ? "" : details.enforcementStatus());
    row(b, "Maximum send rate", number(q == null ? a.maxSendRate() : q.getValue("MaxSendRate")) + " per second");
    // GetAccount leaves the count out while Redis cannot be read
    row(b, "Sent in the last 24 hours", (q == null || q.getValue("SentLast24Hours") == null
        ? "unavailable now (the sending counters could not be read)"
        : number(q.getValue("SentLast24Hours"))) + " of " + number(q == null ? a.max24HourSend()
        : q.getValue("Max24HourSend")));
    row(b, "Suppressed reasons (account)", details == null ? "" : String.join(", ", details.suppressedReasons()));
    b.append("</table>");
    ConsoleForms.button(b, token, "account-sending", a.sendingEnabled() ? "Pause sending" : "Resume sending",
        "enabled", String.valueOf(!a.sendingEnabled()));

    b.append("<h2>Reputation</h2>");
    if (details == null || details.reputation() == null || details.reputation().isEmpty()) {
      b.append("<p class=\"muted\">No delivery counted yet.</p>");
    } else {
      b.append("<table>");
      for (String field : details.reputation().fieldNames()) {
        row(b, field, String.valueOf(details.reputation().getValue(field)));
      }
      b.append("</table>");
    }

    b.append("<h2>Identities</h2>");
    ConsoleForms.open(b, token, "identity-create", "block");
    b.append("<input name=\"identity\" size=\"40\" placeholder=\"sender@example.com or example.com\" required> "
        + "<button>Add identity</button></form>");
    if (ids.isEmpty()) {
      b.append("<p class=\"muted\">None.</p>");
    } else {
      b.append("<table><tr><th>Identity</th><th>Type</th><th>Verification</th><th>DKIM</th>"
          + "<th>Default configuration set</th><th>Notifications</th><th>DNS records to publish</th><th></th></tr>");
      for (IdentityStore.Stored s : ids) {
        Identity i = s.identity();
        b.append("<tr><td>").append(esc(i.name())).append("</td><td>")
            .append(i.isDomain() ? "domain" : "email address").append("</td><td>")
            .append(esc(String.valueOf(i.verificationStatus())));
        if (i.isDomain() ? i.awaitsDns() : i.verificationStatus() != Identity.Status.SUCCESS) {
          ConsoleForms.button(b, token, "identity-verify", i.isDomain() ? "Check DNS now" : "Send the email again",
              "identity", i.name());
        }
        b.append("</td><td>")
            .append(esc(String.valueOf(i.dkimStatus()))).append(i.dkimSigningEnabled() ? ", signing" : "")
            .append("</td><td>").append(esc(i.configurationSet() == null ? "" : i.configurationSet()))
            .append("</td><td>");
        IdentityNotifications n = notifications.get(i.name());
        if (n != null) {
          n.topics().forEach((type, url) -> {
            b.append(esc(type.sesName)).append(" to ").append(esc(url))
                .append(n.withHeaders().contains(type) ? " (with headers)" : "");
            secret(b, secretOf, url);
            b.append("<br>");
          });
          b.append(n.forwarding() ? "" : "feedback forwarding off");
        }
        b.append("</td><td>");
        if (i.isDomain()) {
          for (Object o : io.mailgate.api.sesv2.IdentitiesHandler.dnsRecords(i)) {
            JsonObject r = (JsonObject) o;
            b.append("<code class=\"record\">").append(esc(r.getString("Name"))).append(' ')
                .append(esc(r.getString("Type"))).append(" \"").append(esc(r.getString("Value")))
                .append("\"</code><br>");
          }
        }
        b.append("</td><td>");
        ConsoleForms.open(b, token, "identity-delete", "inline");
        b.append("<input type=\"hidden\" name=\"identity\" value=\"").append(esc(i.name())).append("\">"
            + "<label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> sure</label> "
            + "<button>Delete</button></form></td></tr>");
      }
      b.append("</table>");
    }

    b.append("<h2>Configuration sets</h2>");
    if (configSets.isEmpty()) {
      b.append("<p class=\"muted\">None.</p>");
    } else {
      b.append("<table><tr><th>Name</th><th>Sending</th><th>Tracking</th><th>Event destinations</th></tr>");
      for (int i = 0; i < configSets.size(); i++) {
        ConfigurationSet s = configSets.get(i);
        b.append("<tr><td>").append(esc(s.name())).append("</td><td>")
            .append(s.sendingEnabled() ? "enabled" : "paused");
        ConsoleForms.button(b, token, "set-sending", s.sendingEnabled() ? "Pause" : "Resume", "set", s.name(),
            "enabled", String.valueOf(!s.sendingEnabled()));
        b.append("</td><td>")
            .append(s.tracksOpens() ? "opens " : "").append(s.tracksClicks() ? "clicks " : "")
            .append(s.redirectDomain() == null ? "" : "via " + esc(s.redirectDomain())).append("</td><td>");
        if (i < hooks.size()) {
          for (EventDestination d : hooks.get(i)) {
            b.append(esc(d.name())).append(d.enabled() ? "" : " (disabled)").append(": ")
                .append(esc(d.types().stream().map(t -> t.name()).toList().toString())).append(" to ")
                .append(esc(d.url()));
            secret(b, secretOf, d.url());
            ConsoleForms.button(b, token, "destination", d.enabled() ? "Disable" : "Enable", "set", s.name(),
                "destination", d.name(), "enabled", String.valueOf(!d.enabled()));
            b.append("<br>");
          }
        } else {
          b.append("<span class=\"muted\">not shown</span>");
        }
        b.append("</td></tr>");
      }
      b.append("</table>");
    }

    b.append("<h2>Suppression list</h2>");
    ConsoleForms.open(b, token, "suppress", "block");
    b.append("<input name=\"address\" size=\"40\" placeholder=\"address@example.com\" required> "
        + "<select name=\"reason\"><option>BOUNCE</option><option>COMPLAINT</option></select> "
        + "<button>Suppress</button></form>");
    if (suppressed.isEmpty()) {
      b.append("<p class=\"muted\">Empty.</p>");
    } else {
      b.append("<p class=\"muted\">The latest ").append(suppressed.size()).append(".</p>");
      b.append("<table><tr><th>Address</th><th>Reason</th><th>Since</th><th>Message</th><th></th></tr>");
      for (SuppressionStore.Entry e : suppressed) {
        b.append("<tr><td>").append(esc(e.email())).append("</td><td>").append(esc(e.reason())).append("</td><td>")
            .append(esc(String.valueOf(e.lastUpdate()))).append("</td><td>")
            .append(esc(e.messageId() == null ? "" : e.messageId())).append("</td><td>");
        ConsoleForms.button(b, token, "unsuppress", "Remove", "address", e.email());
        b.append("</td></tr>");
      }
      b.append("</table>");
    }
    b.append("<p class=\"muted\">A message's status and events as JSON: <code>GET /_mailgate/messages/{MessageId}</code> "
        + "(signed like the SES API).</p></body></html>");
    return b.toString();
  }

  /**
   * The signing secret of the destination {@code url} (none for an action that posts nothing), which its receiver is
   * given: it verifies that destination's posts and no other's.
   */
  private static void secret(StringBuilder b, UnaryOperator<String> secretOf, String url) {
    String secret = url == null ? null : secretOf.apply(url);
    if (secret != null) {
      b.append(" <span class=\"muted\">signed with</span> <code class=\"secret\">").append(esc(secret))
          .append("</code>");
    }
  }

  private static void row(StringBuilder b, String name, String value) {
    b.append("<tr><th>").append(esc(name)).append("</th><td>").append(esc(value)).append("</td></tr>");
  }

  private static String number(Object n) {
    if (n instanceof Number x) {
      double d = x.doubleValue();
      return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.format(java.util.Locale.ROOT, "%,d", (long) d) : String.valueOf(d);
    }
    return String.valueOf(n);
  }

  /** Text as HTML: the five characters that could start markup or end an attribute. */
  static String esc(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  /** {key id, secret} from an HTTP Basic header. */
  static Optional<String[]> basic(String header) {
    if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
      return Optional.empty();
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(header.substring(6).strip()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    int colon = decoded.indexOf(':');
    return colon <= 0 ? Optional.empty()
        : Optional.of(new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)});
  }

  private static void unavailable(RoutingContext ctx, String why) {
    LOG.log(Level.WARNING, "console: " + why);
    plain(ctx, 503, "The console cannot be shown right now. Retry later.");
  }

  private static void forbidden(RoutingContext ctx, String why) {
    plain(ctx, 403, why);
  }

  private static void plain(RoutingContext ctx, int status, String text) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8").end(text + "\n");
  }

  private static void unauthorized(RoutingContext ctx) {
    ctx.response().setStatusCode(401)
        .putHeader("WWW-Authenticate", "Basic realm=\"Mailgate console\", charset=\"UTF-8\"")
        .putHeader("Content-Type", "text/plain; charset=utf-8")
        .end("Sign in with an access key id (user) and its secret access key (password).\n");
  }

  /** Nothing of the page is cached, framed, sniffed or scripted. */
  private static void secure(RoutingContext ctx) {
    ctx.response()
        .putHeader("Cache-Control", "no-store")
        .putHeader("Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "no-referrer");
  }
}
