package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.objects;
import static io.mailgate.api.JsonFields.string;
import static io.mailgate.api.JsonFields.strings;

import io.mailgate.OffLoop;
import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.V2Route;
import io.mailgate.send.Attachment;
import io.mailgate.send.Caller;
import io.mailgate.send.MessageHeader;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SendService;
import io.mailgate.send.TemplateContent;
import io.mailgate.send.TemplateRenderer;
import io.mailgate.send.Templates;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * SES v2 {@code POST /v2/email/outbound-bulk-emails} (SendBulkEmail): one template, up to 50 destinations, each sent
 * as its own message with its own data, tags and headers. Each entry goes through the whole send path (identities,
 * sandbox, limits, suppression, DKIM) and gets its own status, as in SES: one entry's failure does not fail the
 * others. A request that is malformed as a whole fails as a whole; a template that does not exist fails every entry
 * (TEMPLATE_NOT_FOUND). Large entries (an attachment, which every entry's message copies) are sent a few at a time,
 * small ones all at once ({@link #window}).
 */
public final class BulkEmailHandler {
  /** SES's limit on BulkEmailEntries. */
  static final int MAX_ENTRIES = 50;

  private final SendService sends;

  public BulkEmailHandler(SendService sends) {
    this.sends = sends;
  }

  /**
   * One entry, read and checked before anything is sent.
   *
   * @param data the entry's template data: its replacement data, or the default data (replaced, not merged: SES)
   */
  public record Entry(SendRequest.Destination destination, List<SendRequest.EmailTag> tags,
      List<MessageHeader> headers, String data) {}

  /** What a SendBulkEmail request asks, read before anything is sent. */
  private record BulkRequest(String from, List<String> replyTo, String configurationSet, String returnPath,
      TemplateContent content, List<Entry> entries, SendRequest.IdentityArns identityArns, String tenant) {}

  /**
   * The request read (its attachments' base64 decoded) on a worker thread when it is large ({@link OffLoop}), as
   * SendEmail's is: a 40 MB attachment is 54 MB of base64, tens of milliseconds of an event loop otherwise.
   */
  public Future<JsonObject> sendBulk(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx); // a large one was parsed on a worker already
    return OffLoop.when(ctx.body().length(), () -> read(body)).compose(r -> send(caller, r.from(), r.replyTo(),
            r.configurationSet(), r.returnPath(), r.content(), r.entries(), r.identityArns(), r.tenant(), 0)
        .recover(e -> {
          if (e instanceof SesException s && s.error() == SesError.TEMPLATE_NOT_FOUND) {
            // SES v2 answers each entry TEMPLATE_NOT_FOUND rather than failing the call
            List<JsonObject> out = new ArrayList<>();
            for (int i = 0; i < r.entries().size(); i++) {
              out.add(new JsonObject().put("Status", "TEMPLATE_NOT_FOUND").put("Error", s.getMessage()));
            }
            return Future.succeededFuture(out);
          }
          return Future.failedFuture(e);
        }))
        .map(results -> new JsonObject().put("BulkEmailEntryResults", new JsonArray(new ArrayList<>(results))));
  }

  private static BulkRequest read(JsonObject body) {
    JsonObject defaults = object(body, "DefaultContent", "");
    JsonObject template = defaults == null ? null : object(defaults, "Template", "DefaultContent");
    if (template == null) {
      throw SesException.badRequest("Missing required field DefaultContent.Template.");
    }
    TemplateContent content = SendEmailRequests.template(template);
    List<JsonObject> given = objects(body, "BulkEmailEntries", "");
    checkEntryCount(given.size());
    List<SendRequest.EmailTag> defaultTags = SendEmailRequests.tags(body, "DefaultEmailTags");
    List<Entry> entries = new ArrayList<>(given.size());
    for (int i = 0; i < given.size(); i++) {
      String path = "BulkEmailEntries[" + i + "]";
      JsonObject e = given.get(i);
      JsonObject dest = object(e, "Destination", path);
      if (dest == null) {
        throw SesException.badRequest("Missing required field " + path + ".Destination.");
      }
      JsonObject replacement = object(e, "ReplacementEmailContent", path);
      JsonObject replacementTemplate = replacement == null ? null
          : object(replacement, "ReplacementTemplate", path + ".ReplacementEmailContent");
      String replacementData = replacementTemplate == null ? null : string(replacementTemplate,
          "ReplacementTemplateData", path + ".ReplacementEmailContent.ReplacementTemplate");
      entries.add(new Entry(new SendRequest.Destination(strings(dest, "ToAddresses", path + ".Destination"),
          strings(dest, "CcAddresses", path + ".Destination"), strings(dest, "BccAddresses", path + ".Destination")),
          mergeTags(defaultTags, SendEmailRequests.tags(e, "ReplacementTags")),
          mergeHeaders(content.headers(), SendEmailRequests.headers(e, "ReplacementHeaders", path)),
          replacementData != null ? replacementData : content.data()));
    }
    return new BulkRequest(string(body, "FromEmailAddress", ""), strings(body, "ReplyToAddresses", ""),
        string(body, "ConfigurationSetName", ""), string(body, "FeedbackForwardingEmailAddress", ""), content,
        entries, SendRequest.IdentityArns.of("ses:SendBulkEmail",
            string(body, "FromEmailAddressIdentityArn", ""), null,
            string(body, "FeedbackForwardingEmailAddressIdentityArn", "")), tenant(string(body, "TenantName", "")));
  }

  /** TenantName, blank as none (SDKs send "" for unset); checked as SendEmail's is. */
  private static String tenant(String name) {
    if (name == null || name.isBlank()) {
      return null;
    }
    SendRequest.EmailTag.checkName(name, "TenantName", 64);
    return name;
  }

  /** SES's limit on the entries of one bulk send. */
  public static void checkEntryCount(int n) {
    if (n < 1 || n > MAX_ENTRIES) {
      throw SesException.badRequest("A bulk send must have between 1 and " + MAX_ENTRIES + " destinations, not " + n
          + ".");
    }
  }

  /**
   * Checks every entry as its own send and counts it against the account's sending limits, then renders the template
   * once per entry that may go (one rendering for them all, sharing its budget) and sends each as its own message: one
   * result per entry, in order, with SES v2's status names ({@code Status}, and {@code MessageId} or {@code Error}).
   * An entry refused (an account over its rate or quota, a bad address) is not rendered: an account over its limits
   * sending bulk requests as fast as it can takes nothing of the node's rendering threads. Fails as a whole only when
   * the template does not exist (TEMPLATE_NOT_FOUND), cannot be read, or cannot be rendered at all (every entry's count
   * given back then).
   *
   * @param returnPath every entry's Return-Path ({@link SendRequest#envelopeSender()}), or null
   * @param tenant the tenant every entry is sent for ({@link SendRequest#tenant()}), or null
   * @param maxMessageBytes every entry's message limit ({@link SendRequest#maxMessageBytes()}: SES v1's), or 0
   */
  public Future<List<JsonObject>> send(Caller caller, String from, List<String> replyTo, String configurationSet,
      String returnPath, TemplateContent content, List<Entry> entries, SendRequest.IdentityArns identityArns,
      String tenant, int maxMessageBytes) {
    Templates templates = sends.templates();
    return templates.resolve(caller.account().id(), content)
        .compose(template -> sends.checkTenantTemplate(caller, tenant, content.inline() == null ? template.name() : null)
            .map(template))
        .compose(template -> admitEach(caller, from, replyTo, configurationSet, returnPath, content, entries,
                identityArns, tenant, maxMessageBytes)
            .compose(admissions -> render(caller, template, content.inline() == null, entries, admissions)
                .compose(outcomes -> sendEach(content, content.inline() == null ? template.name() : null, admissions,
                    outcomes))
                // failed as a whole (not rendered at all, or something unforeseen: entries' own failures are their
                // results): the entries not completed give their counts back (release passes over those settled)
                .onFailure(e -> admissions.forEach(a -> {
                  if (a.admitted() != null) {
                    sends.release(a.admitted());
                  }
                }))));
  }

  /** An entry checked and counted before it is rendered ({@link SendService#admit}), or its result, refused. */
  private record Admission(SendService.Admitted admitted, JsonObject refused) {}

  /** Every entry checked and counted as its own send (the account's checks go to Redis together), in order. */
  private Future<List<Admission>> admitEach(Caller caller, String from, List<String> replyTo, String configurationSet,
      String returnPath, TemplateContent content, List<Entry> entries, SendRequest.IdentityArns identityArns,
      String tenant, int maxMessageBytes) {
    List<Future<Admission>> admissions = new ArrayList<>(entries.size());
    for (Entry entry : entries) {
      Future<SendService.Admitted> admitted;
      try {
        TemplateContent own = new TemplateContent(content.name(), content.arn(), content.inline(), entry.data(),
            entry.headers(), content.attachments());
        admitted = sends.admit(caller, new SendRequest(from, entry.destination(), replyTo, configurationSet,
            entry.tags(), own, returnPath, null, identityArns, tenant, false, maxMessageBytes,
            "SendBulkTemplatedEmail")); // SES's events name both APIs' bulk sends so
      } catch (SesException e) { // this entry's failure, never the others'
        admitted = Future.failedFuture(e);
      }
      admissions.add(admitted.map(a -> new Admission(a, null)).otherwise(e -> new Admission(null, failed(e))));
    }
    return Future.all(admissions).map(all -> all.<Admission>list());
  }

  /**
   * The template rendered once for each admitted entry, with its data (one rendering: its budget shared), as outcomes
   * in the entries' order (null for a refused entry's). When the rendering fails as a whole, {@link #send} gives every
   * admitted entry's count back.
   */
  private Future<List<Templates.Outcome>> render(Caller caller, io.mailgate.send.EmailTemplate template, boolean stored,
      List<Entry> entries, List<Admission> admissions) {
    List<String> data = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      if (admissions.get(i).admitted() != null) {
        data.add(entries.get(i).data() == null ? "" : entries.get(i).data());
      }
    }
    if (data.isEmpty()) {
      return Future.succeededFuture(java.util.Collections.nCopies(entries.size(), null));
    }
    return sends.templates().render(caller.account().id(), template, data, stored)
        .map(rendered -> {
          List<Templates.Outcome> outcomes = new ArrayList<>(entries.size());
          int next = 0;
          for (Admission a : admissions) {
            outcomes.add(a.admitted() == null ? null : rendered.get(next++));
          }
          return outcomes;
        });
  }

  /**
   * Each admitted entry sent as its own message with its rendering, a few at a time when they are large ({@link
   * #window}): every entry's message is built whole (its attachments copied into it, base64-encoded), and held until
   * it is committed, so fifty entries of a 29 MB attachment sent at once would hold fifty 40 MB messages. Small
   * entries, the common case, all go at once. The results are in the entries' order, whatever order they complete in.
   */
  private Future<List<JsonObject>> sendEach(TemplateContent content, String templateName, List<Admission> admissions,
      List<Templates.Outcome> outcomes) {
    long attachments = 0;
    for (Attachment a : content.attachments()) {
      attachments += a.content().length;
    }
    long[] sizes = new long[admissions.size()];
    for (int i = 0; i < sizes.length; i++) {
      TemplateRenderer.Rendered r = outcomes.get(i) == null ? null : outcomes.get(i).rendered();
      // a Rendering Failure or a refused entry builds no message
      sizes[i] = r == null ? 0 : attachments + length(r.subject()) + length(r.text()) + length(r.html());
    }
    return inOrder(admissions.size(), window(sizes), i -> {
      Admission admission = admissions.get(i);
      if (admission.refused() != null) {
        return Future.succeededFuture(admission.refused());
      }
      Templates.Outcome outcome = outcomes.get(i);
      // an attribute the entry's data lacks: accepted and published as a Rendering Failure (SES), or its 400
      return sends.complete(admission.admitted(), templateName, outcome.failure() == null
              ? Future.succeededFuture(outcome.rendered()) : Future.failedFuture(outcome.failure()))
          .map(id -> new JsonObject().put("Status", "SUCCESS").put("MessageId", id))
          .otherwise(BulkEmailHandler::failed);
    });
  }

  private static long length(String s) {
    return s == null ? 0 : s.length();
  }

  /**
   * The entries a bulk send builds and stores at once (the first of them, then one more as each is committed), of
   * the sizes of what each builds its message from (its attachments and rendered parts; 0 for one that builds none):
   * all of them when they come to at most {@link #ENTRIES_IN_FLIGHT_BYTES}, else as many of the largest as fit in that
   * (at least one), so that what the entries under way hold is about that, or one entry's message.
   */
  static int window(long[] sizes) {
    long total = 0;
    long largest = 0;
    for (long s : sizes) {
      total += s;
      largest = Math.max(largest, s);
    }
    if (total <= ENTRIES_IN_FLIGHT_BYTES) {
      return Math.max(1, sizes.length);
    }
    return (int) Math.max(1, Math.min(sizes.length, ENTRIES_IN_FLIGHT_BYTES / largest));
  }

  /** What the entries of one bulk send under way at once may be built from, unless one alone is larger. */
  static final long ENTRIES_IN_FLIGHT_BYTES = 1024 * 1024;

  /**
   * Tasks {@code 0} to {@code n - 1} started in order, at most {@code window} unfinished at any moment (the next one
   * started as one finishes); their results in task order. Fails with the first task that fails (and starts no
   * more); a bulk send's tasks never fail, each answering its entry's error as its result.
   */
  static <T> Future<List<T>> inOrder(int n, int window, IntFunction<Future<T>> task) {
    return new Window<>(n, window, task).start();
  }

  /** {@link #inOrder}'s state; used on one thread (a verticle's event loop). */
  private static final class Window<T> {
    private final int n;
    private final int window;
    private final IntFunction<Future<T>> task;
    private final List<T> results;
    private final Promise<List<T>> done = Promise.promise();
    private int started;
    private int finished;
    private int running;
    private boolean starting;

    Window(int n, int window, IntFunction<Future<T>> task) {
      this.n = n;
      this.window = Math.max(1, window);
      this.task = task;
      this.results = new ArrayList<>(java.util.Collections.nCopies(n, null));
    }

    Future<List<T>> start() {
      if (n == 0) {
        done.complete(List.of());
      }
      startMore();
      return done.future();
    }

    /** Starts tasks while the window has room; not again from a task that completes while it does (no recursion). */
    private void startMore() {
      if (starting) {
        return;
      }
      starting = true;
      try {
        while (running < window && started < n && !done.future().isComplete()) {
          int i = started++;
          running++;
          Future<T> f;
          try {
            f = task.apply(i);
          } catch (Throwable e) { // an Error too: thrown in a completion callback it would be lost, the request hung
            f = Future.failedFuture(e);
          }
          f.onComplete(ar -> finished(i, ar));
        }
      } finally {
        starting = false;
      }
    }

    private void finished(int i, io.vertx.core.AsyncResult<T> ar) {
      running--;
      finished++;
      if (ar.failed()) {
        done.tryFail(ar.cause());
        return;
      }
      results.set(i, ar.result());
      if (finished == n) {
        done.tryComplete(results);
      } else {
        startMore();
      }
    }
  }

  /** SES's BulkEmailStatus for an entry that was not sent, with its error message. */
  static JsonObject failed(Throwable e) {
    String status = "FAILED";
    String message = e.getMessage();
    if (e instanceof SesException s) {
      status = switch (s.error()) {
        case BAD_REQUEST, INVALID_TEMPLATE, MISSING_RENDERING_ATTRIBUTE, INVALID_RENDERING_PARAMETER ->
            "INVALID_PARAMETER";
        case MESSAGE_REJECTED, ACCESS_DENIED -> "MESSAGE_REJECTED";
        case MAIL_FROM_DOMAIN_NOT_VERIFIED -> "MAIL_FROM_DOMAIN_NOT_VERIFIED";
        case CONFIGURATION_SET_NOT_FOUND -> "CONFIGURATION_SET_NOT_FOUND";
        case TEMPLATE_NOT_FOUND -> "TEMPLATE_NOT_FOUND";
        case SENDING_PAUSED -> "ACCOUNT_SENDING_PAUSED";
        case CONFIGURATION_SET_SENDING_PAUSED -> "CONFIGURATION_SET_SENDING_PAUSED";
        case TOO_MANY_REQUESTS -> message != null && message.startsWith("Daily") ? "ACCOUNT_DAILY_QUOTA_EXCEEDED"
            : "ACCOUNT_THROTTLED";
        case SERVICE_UNAVAILABLE, INTERNAL_FAILURE -> "TRANSIENT_FAILURE";
        default -> "FAILED";
      };
    } else {
      status = "TRANSIENT_FAILURE";
      message = "Internal failure; the entry was not sent.";
    }
    return new JsonObject().put("Status", status).put("Error", message);
  }

  /** Default tags with an entry's own: a name given by both takes the entry's value. */
  public static List<SendRequest.EmailTag> mergeTags(List<SendRequest.EmailTag> defaults, List<SendRequest.EmailTag> own) {
    Map<String, SendRequest.EmailTag> byName = new LinkedHashMap<>();
    for (SendRequest.EmailTag t : defaults) {
      byName.put(t.name(), t);
    }
    for (SendRequest.EmailTag t : own) {
      byName.put(t.name(), t);
    }
    if (byName.size() > SendRequest.MAX_TAGS) { // refused as the request is read, before any entry is sent
      throw SesException.badRequest("An entry carries at most " + SendRequest.MAX_TAGS + " EmailTags, its "
          + "ReplacementTags over the DefaultEmailTags (" + byName.size() + " here).");
    }
    return new ArrayList<>(byName.values());
  }

  /**
   * The template's headers with the entry's over them: a name the entry gives replaces every default of that name; the
   * others are kept as given, repeated ones included (as SendEmail keeps them).
   */
  private static List<MessageHeader> mergeHeaders(List<MessageHeader> defaults, List<MessageHeader> own) {
    java.util.Set<String> replaced = new java.util.HashSet<>();
    for (MessageHeader h : own) {
      replaced.add(h.name().toLowerCase(Locale.ROOT));
    }
    List<MessageHeader> merged = new ArrayList<>(defaults.size() + own.size());
    for (MessageHeader h : defaults) {
      if (!replaced.contains(h.name().toLowerCase(Locale.ROOT))) {
        merged.add(h);
      }
    }
    merged.addAll(own);
    return merged;
  }
}
