package io.mailgate.api.sesv2;

import static io.mailgate.api.JsonFields.object;
import static io.mailgate.api.JsonFields.objects;
import static io.mailgate.api.JsonFields.string;
import static io.mailgate.api.JsonFields.strings;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.V2Route;
import io.mailgate.send.Caller;
import io.mailgate.send.MessageHeader;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SendService;
import io.mailgate.send.SimpleContent;
import io.mailgate.send.TemplateContent;
import io.mailgate.send.TemplateRenderer;
import io.mailgate.send.Templates;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * SES v2 {@code POST /v2/email/outbound-bulk-emails} (SendBulkEmail): one template, up to 50 destinations, each sent
 * as its own message with its own data, tags and headers. Each entry goes through the whole send path (identities,
 * sandbox, limits, suppression, DKIM) and gets its own status, as in SES: one entry's failure does not fail the
 * others. A request that is malformed as a whole fails as a whole; a template that does not exist fails every entry
 * (TEMPLATE_NOT_FOUND).
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

  public Future<JsonObject> sendBulk(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx);
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
    return send(caller, string(body, "FromEmailAddress", ""), strings(body, "ReplyToAddresses", ""),
        string(body, "ConfigurationSetName", ""), string(body, "FeedbackForwardingEmailAddress", ""), content,
        entries, SendRequest.IdentityArns.of("ses:SendBulkEmail",
            string(body, "FromEmailAddressIdentityArn", ""), null,
            string(body, "FeedbackForwardingEmailAddressIdentityArn", "")))
        .recover(e -> {
          if (e instanceof SesException s && s.error() == SesError.TEMPLATE_NOT_FOUND) {
            // SES v2 answers each entry TEMPLATE_NOT_FOUND rather than failing the call
            List<JsonObject> out = new ArrayList<>();
            for (int i = 0; i < entries.size(); i++) {
              out.add(new JsonObject().put("Status", "TEMPLATE_NOT_FOUND").put("Error", s.getMessage()));
            }
            return Future.succeededFuture(out);
          }
          return Future.failedFuture(e);
        })
        .map(results -> new JsonObject().put("BulkEmailEntryResults", new JsonArray(new ArrayList<>(results))));
  }

  /** SES's limit on the entries of one bulk send. */
  public static void checkEntryCount(int n) {
    if (n < 1 || n > MAX_ENTRIES) {
      throw SesException.badRequest("A bulk send must have between 1 and " + MAX_ENTRIES + " destinations, not " + n
          + ".");
    }
  }

  /**
   * Renders the template once per entry and sends each entry as its own message: one result per entry, in order,
   * with SES v2's status names ({@code Status}, and {@code MessageId} or {@code Error}). Fails as a whole only when
   * the template does not exist (TEMPLATE_NOT_FOUND) or cannot be read.
   *
   * @param returnPath every entry's Return-Path ({@link SendRequest#envelopeSender()}), or null
   */
  public Future<List<JsonObject>> send(Caller caller, String from, List<String> replyTo, String configurationSet,
      String returnPath, TemplateContent content, List<Entry> entries, SendRequest.IdentityArns identityArns) {
    Templates templates = sends.templates();
    List<String> data = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      data.add(e.data() == null ? "" : e.data());
    }
    return templates.resolve(caller.account().id(), content)
        .compose(template -> templates.render(template, data)
            .compose(outcomes -> sendEach(caller, from, replyTo, configurationSet, returnPath, content,
                content.inline() == null ? template.name() : null, entries, outcomes, identityArns)));
  }

  private Future<List<JsonObject>> sendEach(Caller caller, String from, List<String> replyTo, String configurationSet,
      String returnPath, TemplateContent content, String templateName, List<Entry> entries,
      List<Templates.Outcome> outcomes, SendRequest.IdentityArns identityArns) {
    List<Future<JsonObject>> results = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      Entry entry = entries.get(i);
      Templates.Outcome outcome = outcomes.get(i);
      Future<String> sent;
      if (outcome.failure() != null) {
        // an attribute the entry's data lacks: accepted and published as a Rendering Failure (SES), or its 400
        sent = sends.publishesAsRenderingFailure(outcome.failure())
            ? sends.renderingFailure(caller, new SendRequest(from, entry.destination(), replyTo, configurationSet,
                entry.tags(), content, returnPath, null, identityArns), templateName, outcome.failure().getMessage())
            : Future.failedFuture(outcome.failure());
      } else {
        try {
          SimpleContent simple = TemplateRenderer.content(outcome.rendered(), entry.headers(), content.attachments());
          sent = sends.send(caller, new SendRequest(from, entry.destination(), replyTo, configurationSet, entry.tags(),
              simple, returnPath, null, identityArns));
        } catch (SesException e) {
          sent = Future.failedFuture(e);
        }
      }
      results.add(sent.map(id -> new JsonObject().put("Status", "SUCCESS").put("MessageId", id))
          .otherwise(BulkEmailHandler::failed));
    }
    return Future.all(results).map(all -> {
      List<JsonObject> out = new ArrayList<>(results.size());
      for (Future<JsonObject> r : results) {
        out.add(r.result());
      }
      return out;
    });
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
