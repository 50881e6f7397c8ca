package io.mailgate.api.sesv1;

import io.mailgate.OffLoop;
import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.api.RequestAuthenticator;
import io.mailgate.api.SesErrors;
import io.mailgate.api.SesRawHeaders;
import io.mailgate.api.sesv2.AccountHandler;
import io.mailgate.api.sesv2.BulkEmailHandler;
import io.mailgate.api.sesv2.EventDestinationsHandler;
import io.mailgate.events.EventDestinationStore;
import io.mailgate.api.sesv2.TemplatesHandler;
import io.mailgate.api.sigv4.SesApi;
import io.mailgate.configset.ConfigurationSetStore;
import io.mailgate.configset.TrackingOptions;
import io.mailgate.identity.Identity;
import io.mailgate.identity.IdentityService;
import io.mailgate.receiving.ReceiptRuleStore;
import io.mailgate.send.Caller;
import io.mailgate.send.EmailTemplate;
import io.mailgate.send.RawContent;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SendService;
import io.mailgate.send.SimpleContent;
import io.mailgate.send.TemplateContent;
import io.mailgate.send.TextBody;
import io.mailgate.store.SendStatisticsQuery;
import io.mailgate.store.TemplateStore;
import io.vertx.core.Future;
import io.netty.buffer.ByteBufUtil;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * SES v1, the AWS Query API ({@code POST /} with {@code Action=...&Version=2010-12-01}, form-encoded, or the same
 * parameters in a GET's query string), as boto3's {@code ses} client, django-ses, aws-sdk-rails and older nodemailer
 * transports call it: the sends (SendEmail, SendRawEmail, SendTemplatedEmail, SendBulkTemplatedEmail; SendBounce for
 * received mail, {@link SendBounceAction}), the quota and
 * the sending statistics, identities, their notification topics ({@link IdentityNotificationActions}), custom MAIL FROM
 * domains ({@link MailFromActions}) and sending
 * authorization policies ({@link IdentityPolicyActions}), templates,
 * custom verification emails ({@link CustomVerificationActions}), configuration sets, and email receiving's rule sets, rules and IP address filters ({@link ReceiptRuleActions}).
 * Each action that has a v2 counterpart maps onto the same services, so a message sent either way goes through the
 * same checks, limits and commit. Answers are SES's XML; errors its {@code <ErrorResponse>}.
 */
public final class QueryApi {
  /** SES's limit on the identities of one GetIdentityVerificationAttributes call. */
  static final int MAX_IDENTITIES_PER_LOOKUP = 100;
  /** ListVerifiedEmailAddresses has no paging: it answers at most this many (SES's identity quota per region). */
  static final int MAX_VERIFIED_ADDRESSES = 10_000;

  private final RequestAuthenticator auth;
  private final SendService sends;
  private final BulkEmailHandler bulk;
  private final IdentityService identities;
  private final TemplatesHandler templates;
  private final AccountHandler account;
  private final SendStatisticsQuery statistics;
  private final Clock clock;
  private final Map<String, BiFunction<Caller, QueryParams, Future<QueryXml>>> actions;

  public QueryApi(RequestAuthenticator auth, SendService sends, BulkEmailHandler bulk, IdentityService identities,
      TemplatesHandler templates, AccountHandler account, SendStatisticsQuery statistics,
      ConfigurationSetStore configurationSets, TrackingOptions tracking, EventDestinationStore destinations,
      EventDestinationsHandler destinationChecks, ReceiptRuleStore receiptRules,
      io.mailgate.identity.CustomVerificationEmails customVerification,
      io.mailgate.identity.IdentityPolicies identityPolicies, SendBounceAction bounces, Clock clock) {
    CustomVerificationActions custom = new CustomVerificationActions(customVerification);
    IdentityParameter identityParameter = new IdentityParameter(identityPolicies.region());
    IdentityPolicyActions policies = new IdentityPolicyActions(identityPolicies, identityParameter);
    ConfigurationSetActions sets = new ConfigurationSetActions(configurationSets, tracking, destinations,
        destinationChecks);
    ReceiptRuleActions receiving = new ReceiptRuleActions(receiptRules, identities, destinationChecks);
    IdentityNotificationActions notifications = new IdentityNotificationActions(identities, identityParameter,
        destinationChecks);
    MailFromActions mailFrom = new MailFromActions(identities);
    this.auth = auth;
    this.sends = sends;
    this.bulk = bulk;
    this.identities = identities;
    this.templates = templates;
    this.account = account;
    this.statistics = statistics;
    this.clock = clock;
    this.actions = Map.ofEntries(
        Map.entry("SendEmail", this::sendEmail),
        Map.entry("SendRawEmail", this::sendRawEmail),
        Map.entry("SendTemplatedEmail", this::sendTemplatedEmail),
        Map.entry("SendBulkTemplatedEmail", this::sendBulkTemplatedEmail),
        Map.entry("SendBounce", bounces::send),
        Map.entry("GetSendQuota", this::getSendQuota),
        Map.entry("UpdateAccountSendingEnabled", (c, p) -> account.setSending(c,
            p.string("Enabled") != null && bool(p, "Enabled"))
            .map(v -> new QueryXml())),
        Map.entry("GetAccountSendingEnabled", (c, p) -> account.getAccount(c, null)
            .map(a -> new QueryXml().text("Enabled", Boolean.toString(a.getBoolean("SendingEnabled"))))),
        Map.entry("GetSendStatistics", this::getSendStatistics),
        Map.entry("VerifyEmailIdentity", (c, p) -> verify(c, address(p, "EmailAddress")).map(i -> new QueryXml())),
        Map.entry("VerifyEmailAddress", (c, p) -> verify(c, address(p, "EmailAddress")).map(i -> null)),
        Map.entry("VerifyDomainIdentity", this::verifyDomainIdentity),
        Map.entry("VerifyDomainDkim", this::verifyDomainDkim),
        Map.entry("ListIdentities", this::listIdentities),
        Map.entry("ListVerifiedEmailAddresses", this::listVerifiedEmailAddresses),
        Map.entry("GetIdentityVerificationAttributes", this::getIdentityVerificationAttributes),
        Map.entry("DeleteIdentity", (c, p) -> deleteIdentity(c, p.required("Identity")).map(v -> new QueryXml())),
        Map.entry("DeleteVerifiedEmailAddress", (c, p) -> deleteIdentity(c, address(p, "EmailAddress"))
            .map(v -> null)),
        Map.entry("CreateTemplate", (c, p) -> templates.create(c.account().id(), template(p)).map(v -> new QueryXml())),
        Map.entry("UpdateTemplate", (c, p) -> templates.update(c.account().id(), template(p)).map(v -> new QueryXml())),
        Map.entry("GetTemplate", this::getTemplate),
        Map.entry("DeleteTemplate", (c, p) -> templates.delete(c.account().id(), p.required("TemplateName"))
            .map(deleted -> new QueryXml())), // SES v1 answers a missing template's deletion without an error
        Map.entry("ListTemplates", this::listTemplates),
        Map.entry("CreateCustomVerificationEmailTemplate", custom::create),
        Map.entry("UpdateCustomVerificationEmailTemplate", custom::update),
        Map.entry("GetCustomVerificationEmailTemplate", custom::get),
        Map.entry("DeleteCustomVerificationEmailTemplate", custom::delete),
        Map.entry("ListCustomVerificationEmailTemplates", custom::list),
        Map.entry("SendCustomVerificationEmail", custom::send),
        Map.entry("CreateConfigurationSet", sets::create),
        Map.entry("DeleteConfigurationSet", sets::delete),
        Map.entry("DescribeConfigurationSet", sets::describe),
        Map.entry("ListConfigurationSets", sets::list),
        Map.entry("UpdateConfigurationSetSendingEnabled", sets::updateSendingEnabled),
        Map.entry("PutConfigurationSetDeliveryOptions", sets::putDeliveryOptions),
        Map.entry("UpdateConfigurationSetReputationMetricsEnabled", sets::updateReputationMetricsEnabled),
        Map.entry("CreateConfigurationSetTrackingOptions", sets::createTrackingOptions),
        Map.entry("UpdateConfigurationSetTrackingOptions", sets::updateTrackingOptions),
        Map.entry("DeleteConfigurationSetTrackingOptions", sets::deleteTrackingOptions),
        Map.entry("CreateConfigurationSetEventDestination", sets::createEventDestination),
        Map.entry("UpdateConfigurationSetEventDestination", sets::updateEventDestination),
        Map.entry("DeleteConfigurationSetEventDestination", sets::deleteEventDestination),
        Map.entry("CreateReceiptRuleSet", receiving::createRuleSet),
        Map.entry("DeleteReceiptRuleSet", receiving::deleteRuleSet),
        Map.entry("ListReceiptRuleSets", receiving::listRuleSets),
        Map.entry("DescribeReceiptRuleSet", receiving::describeRuleSet),
        Map.entry("CloneReceiptRuleSet", receiving::cloneRuleSet),
        Map.entry("SetActiveReceiptRuleSet", receiving::setActiveRuleSet),
        Map.entry("DescribeActiveReceiptRuleSet", receiving::describeActiveRuleSet),
        Map.entry("ReorderReceiptRuleSet", receiving::reorderRuleSet),
        Map.entry("CreateReceiptRule", receiving::createRule),
        Map.entry("UpdateReceiptRule", receiving::updateRule),
        Map.entry("DeleteReceiptRule", receiving::deleteRule),
        Map.entry("DescribeReceiptRule", receiving::describeRule),
        Map.entry("SetReceiptRulePosition", receiving::setRulePosition),
        Map.entry("CreateReceiptFilter", receiving::createFilter),
        Map.entry("DeleteReceiptFilter", receiving::deleteFilter),
        Map.entry("ListReceiptFilters", receiving::listFilters),
        Map.entry("GetIdentityDkimAttributes", this::getIdentityDkimAttributes),
        Map.entry("SetIdentityNotificationTopic", notifications::setTopic),
        Map.entry("GetIdentityNotificationAttributes", notifications::getAttributes),
        Map.entry("SetIdentityFeedbackForwardingEnabled", notifications::setFeedbackForwarding),
        Map.entry("SetIdentityHeadersInNotificationsEnabled", notifications::setHeadersInNotifications),
        Map.entry("SetIdentityMailFromDomain", mailFrom::set),
        Map.entry("GetIdentityMailFromDomainAttributes", mailFrom::get),
        Map.entry("PutIdentityPolicy", policies::put),
        Map.entry("GetIdentityPolicies", policies::get),
        Map.entry("ListIdentityPolicies", policies::list),
        Map.entry("DeleteIdentityPolicy", policies::delete),
        Map.entry("SetIdentityDkimEnabled", (c, p) -> identityKnown(p.required("Identity"), () -> identities
            .setDkimSigningEnabled(c.account().id(), p.required("Identity"), bool(p, "DkimEnabled"))
            .map(v -> new QueryXml()))),
        Map.entry("TestRenderTemplate", (c, p) -> templates.render(c.account().id(), p.required("TemplateName"),
            p.required("TemplateData")).compose(m -> OffLoop.when(m.length(),
                () -> new QueryXml().text("RenderedTemplate", m)))));
  }

  /**
   * Runs the request's action. The parameters are the body of a form POST, or a GET's query string: the signature
   * covers whichever carries them.
   */
  public void handle(RoutingContext ctx, Buffer body) {
    String requestId = SesErrors.newRequestId();
    String query = ctx.request().query();
    String contentSha256 = ctx.request().getHeader("x-amz-content-sha256");
    auth.authenticate(ctx.request(), body, SesApi.V1_QUERY)
        .compose(caller -> OffLoop.when(body == null ? 0 : body.length(),
            () -> QueryParams.parse(signedParameters(query, contentSha256, body)))
            .compose(params -> run(caller, params, requestId)))
        .onSuccess(xml -> ctx.response().putHeader("content-type", "text/xml").putHeader("x-amzn-RequestId", requestId)
            .end(xml))
        .onFailure(e -> fail(ctx, e, requestId));
  }

  private Future<String> run(Caller caller, QueryParams params, String requestId) {
    String action;
    BiFunction<Caller, QueryParams, Future<QueryXml>> operation;
    try {
      action = params.string("Action");
      if (action == null || action.isEmpty()) {
        throw new SesException(SesError.MISSING_ACTION, "Missing required parameter Action.");
      }
      operation = actions.get(action);
      if (operation == null) {
        throw new SesException(SesError.UNKNOWN_OPERATION, "Action " + QueryParams.quote(action)
            + " is not valid for this web service, or Mailgate does not implement it.");
      }
      return operation.apply(caller, params).compose(result -> OffLoop.when(result == null ? 0 : result.length(),
          () -> QueryXml.response(action, result, requestId)));
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * Where the action and its parameters are, as long as the signature covers them: a presigned request's query string
   * (its body is not signed); a POST's form body when its hash was signed (UNSIGNED-PAYLOAD would let anyone who
   * holds the request run any action with it), or its query string when the body is empty; a GET's query string.
   */
  private static String signedParameters(String rawQuery, String contentSha256, Buffer body) {
    String query = rawQuery == null ? "" : rawQuery;
    boolean hasBody = body != null && body.length() > 0;
    if (query.contains("X-Amz-Credential=")) {
      if (hasBody) {
        throw SesException.badRequest("A presigned request carries its parameters in the query string, not the body.");
      }
      return query;
    }
    if (!hasBody) {
      return query;
    }
    if ("UNSIGNED-PAYLOAD".equals(contentSha256)) {
      throw SesException.badRequest("The request's parameters must be signed: UNSIGNED-PAYLOAD is not accepted here.");
    }
    if (!query.isEmpty()) {
      throw SesException.badRequest("Parameters go in the form body or in the query string, not both.");
    }
    return formText(body);
  }

  /**
   * A form body as text. Its bytes must be UTF-8 (a form writes ASCII; raw UTF-8 is read as what it says): a byte
   * that is not is refused as its %-escape would be, not read as U+FFFD.
   */
  static String formText(Buffer body) {
    if (!ByteBufUtil.isText(((BufferInternal) body).getByteBuf(), StandardCharsets.UTF_8)) {
      throw QueryParams.MALFORMED;
    }
    return body.toString(StandardCharsets.UTF_8);
  }

  /** An error in SES v1's shape; the mapping of failures to errors is the v2 API's, so both say the same. */
  public static void fail(RoutingContext ctx, Throwable failure) {
    fail(ctx, failure, SesErrors.newRequestId());
  }

  private static void fail(RoutingContext ctx, Throwable failure, String requestId) {
    SesException e = SesErrors.toSes(ctx, failure, requestId);
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    io.mailgate.metrics.Metrics.of(ctx.vertx()).refused("v1", e.error().v1Code);
    ctx.response().setStatusCode(e.error().v1Status())
        .putHeader("content-type", "text/xml")
        .putHeader("x-amzn-RequestId", requestId)
        .end(QueryXml.error(e.error(), e.getMessage(), requestId));
  }

  // ---- sends

  private Future<QueryXml> sendEmail(Caller caller, QueryParams p) {
    QueryParams message = p.struct("Message");
    QueryParams subject = message.struct("Subject");
    QueryParams body = message.struct("Body");
    if (!body.has("Text") && !body.has("Html")) {
      throw SesException.badRequest("Missing required parameter Message.Body (Text or Html).");
    }
    SimpleContent content = new SimpleContent(subject.requiredPresent("Data"), // SES sends an empty subject
        TextBody.charset(subject.string("Charset"), subject.path("Charset")), textBody(body, "Text"),
        textBody(body, "Html"), List.of(), List.of());
    return send(caller, new SendRequest(p.required("Source"), destination(p.struct("Destination")),
        p.strings("ReplyToAddresses"), p.string("ConfigurationSetName"), tags(p, "Tags"), content,
        p.string("ReturnPath"), null, identityArns(p, "ses:SendEmail")));
  }

  /** SourceArn, FromArn and ReturnPathArn (sending authorization), or null when the send names none. */
  private static SendRequest.IdentityArns identityArns(QueryParams p, String action) {
    return SendRequest.IdentityArns.of(action, p.string("SourceArn"), p.string("FromArn"), p.string("ReturnPathArn"));
  }

  /**
   * SES v1's limit on a message (v2 and SMTP take 40 MB): every v1 send's, as it is given (SendRawEmail), built, rendered
   * and with its links tracked ({@link SendRequest#maxMessageBytes}).
   */
  static final int V1_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

  private Future<QueryXml> sendRawEmail(Caller caller, QueryParams p) {
    String encoded = p.required("RawMessage.Data");
    return OffLoop.when(encoded.length(), () -> {
      RawContent content = new RawContent(base64(encoded)); // its error before the other parameters', as before
      SendService.checkSize(content.data().length, Math.min(sends.maxMessageBytes(), V1_MAX_MESSAGE_BYTES));
      List<String> envelope = p.strings("Destinations");
      // as in SES: Source and Destinations are the envelope when given, the message's own headers otherwise
      return SesRawHeaders.applyTo(new SendRequest(p.string("Source"),
          envelope == null ? null : new SendRequest.Destination(envelope, null, null), null,
          p.string("ConfigurationSetName"), tags(p, "Tags"), content, null, null,
          identityArns(p, "ses:SendRawEmail")));
    }).compose(request -> send(caller, request));
  }

  private static byte[] base64(String encoded) {
    try {
      // strict: the MIME decoder skips any character that is not base64, so that nothing would ever be refused
      return Base64.getDecoder().decode(io.mailgate.api.JsonFields.withoutWhitespace(encoded));
    } catch (IllegalArgumentException e) {
      throw SesException.badRequest("Invalid base64 in parameter RawMessage.Data.");
    }
  }


  private Future<QueryXml> sendTemplatedEmail(Caller caller, QueryParams p) {
    TemplateContent content = new TemplateContent(p.string("Template"), p.string("TemplateArn"), null,
        p.required("TemplateData"), List.of(), List.of());
    return send(caller, new SendRequest(p.required("Source"), destination(p.struct("Destination")),
        p.strings("ReplyToAddresses"), p.string("ConfigurationSetName"), tags(p, "Tags"), content,
        p.string("ReturnPath"), null, identityArns(p, "ses:SendTemplatedEmail")));
  }

  private Future<QueryXml> send(Caller caller, SendRequest request) {
    return sends.send(caller, request.withMaxMessageBytes(V1_MAX_MESSAGE_BYTES))
        .map(id -> new QueryXml().text("MessageId", id));
  }

  private Future<QueryXml> sendBulkTemplatedEmail(Caller caller, QueryParams p) {
    TemplateContent content = new TemplateContent(p.string("Template"), p.string("TemplateArn"), null,
        p.string("DefaultTemplateData"), List.of(), List.of());
    List<QueryParams> given = p.structs("Destinations");
    BulkEmailHandler.checkEntryCount(given.size());
    List<SendRequest.EmailTag> defaultTags = tags(p, "DefaultTags");
    List<BulkEmailHandler.Entry> entries = new ArrayList<>(given.size());
    for (QueryParams d : given) {
      if (!d.has("Destination")) {
        throw SesException.badRequest("Missing required parameter " + d.path("Destination") + ".");
      }
      String data = d.string("ReplacementTemplateData");
      entries.add(new BulkEmailHandler.Entry(destination(d.struct("Destination")),
          BulkEmailHandler.mergeTags(defaultTags, tags(d, "ReplacementTags")), List.of(),
          data != null ? data : content.data()));
    }
    return bulk.send(caller, p.required("Source"), p.strings("ReplyToAddresses"), p.string("ConfigurationSetName"),
        p.string("ReturnPath"), content, entries, identityArns(p, "ses:SendBulkTemplatedEmail"), null,
        V1_MAX_MESSAGE_BYTES).map(results -> {
          QueryXml xml = new QueryXml().start("Status");
          for (JsonObject r : results) {
            xml.start("member").text("Status", v1Status(r.getString("Status"))).text("Error", r.getString("Error"))
                .text("MessageId", r.getString("MessageId")).end("member");
          }
          return xml.end("Status");
        });
  }

  /** v2's BulkEmailStatus as v1's BulkEmailStatus names it. */
  static String v1Status(String v2) {
    return switch (v2) {
      case "SUCCESS" -> "Success";
      case "MESSAGE_REJECTED" -> "MessageRejected";
      case "MAIL_FROM_DOMAIN_NOT_VERIFIED" -> "MailFromDomainNotVerified";
      case "CONFIGURATION_SET_NOT_FOUND" -> "ConfigurationSetDoesNotExist";
      case "TEMPLATE_NOT_FOUND" -> "TemplateDoesNotExist";
      case "ACCOUNT_SUSPENDED" -> "AccountSuspended";
      case "ACCOUNT_THROTTLED" -> "AccountThrottled";
      case "ACCOUNT_DAILY_QUOTA_EXCEEDED" -> "AccountDailyQuotaExceeded";
      case "INVALID_SENDING_POOL_NAME" -> "InvalidSendingPoolName";
      case "ACCOUNT_SENDING_PAUSED" -> "AccountSendingPaused";
      case "CONFIGURATION_SET_SENDING_PAUSED" -> "ConfigurationSetSendingPaused";
      case "INVALID_PARAMETER" -> "InvalidParameterValue";
      case "TRANSIENT_FAILURE" -> "TransientFailure";
      default -> "Failed";
    };
  }

  private static SendRequest.Destination destination(QueryParams d) {
    List<String> to = d.strings("ToAddresses");
    List<String> cc = d.strings("CcAddresses");
    List<String> bcc = d.strings("BccAddresses");
    return to == null && cc == null && bcc == null ? null : new SendRequest.Destination(to, cc, bcc);
  }

  private static TextBody textBody(QueryParams body, String part) {
    if (!body.has(part)) {
      return null;
    }
    QueryParams p = body.struct(part);
    String data = p.string("Data");
    if (data == null) {
      throw SesException.badRequest("Missing required parameter " + p.path("Data") + ".");
    }
    return new TextBody(data, TextBody.charset(p.string("Charset"), p.path("Charset")));
  }

  private static List<SendRequest.EmailTag> tags(QueryParams p, String name) {
    List<SendRequest.EmailTag> tags = new ArrayList<>();
    for (QueryParams t : p.structs(name)) {
      tags.add(new SendRequest.EmailTag(t.required("Name"), t.required("Value")));
    }
    return tags;
  }

  // ---- account and identities

  private Future<QueryXml> getSendQuota(Caller caller, QueryParams p) {
    return account.getAccount(caller, null).map(a -> {
      JsonObject q = a.getJsonObject("SendQuota");
      if (!q.containsKey("SentLast24Hours")) { // the count is Redis's, out of reach now
        throw new SesException(SesError.SERVICE_UNAVAILABLE, "The sending quota cannot be read right now. Retry later.");
      }
      return new QueryXml().text("Max24HourSend", decimal(q.getValue("Max24HourSend")))
          .text("MaxSendRate", decimal(q.getValue("MaxSendRate")))
          .text("SentLast24Hours", decimal(q.getValue("SentLast24Hours")));
    });
  }

  private Future<QueryXml> getSendStatistics(Caller caller, QueryParams p) {
    return statistics.lastTwoWeeks(caller.account().id(), clock.instant()).map(points -> {
      QueryXml xml = new QueryXml().start("SendDataPoints");
      for (SendStatisticsQuery.Point d : points) {
        xml.start("member").text("Timestamp", d.timestamp().toString())
            .text("DeliveryAttempts", Long.toString(d.deliveryAttempts())).text("Bounces", Long.toString(d.bounces()))
            .text("Complaints", Long.toString(d.complaints())).text("Rejects", Long.toString(d.rejects()))
            .end("member");
      }
      return xml.end("SendDataPoints");
    });
  }

  /** A Double as SES writes it: plain digits (200.0, 10000000), never an exponent. */
  static String decimal(Object n) {
    return java.math.BigDecimal.valueOf(((Number) n).doubleValue()).toPlainString();
  }

  /** A parameter that must name an email address, not a domain (the email-only actions). */
  private static String address(QueryParams p, String name) {
    String v = p.required(name);
    if (v.indexOf('@') < 0) {
      throw SesException.badRequest(name + " must be an email address, not a domain: " + QueryParams.quote(v) + ".");
    }
    return v;
  }

  private Future<Identity> verify(Caller caller, String name) {
    return identities.verify(caller.account(), name);
  }

  /**
   * Creates the domain identity (or finds it), as VerifyDomainIdentity does in SES: the token it answers, published as
   * a TXT record at {@code _amazonses.<domain>}, verifies the domain; so does its DKIM record (SES v2's way).
   */
  private Future<QueryXml> verifyDomainIdentity(Caller caller, QueryParams p) {
    return verifyDomain(caller, p.required("Domain"))
        .map(i -> new QueryXml().text("VerificationToken", identities.domainVerificationToken(i)));
  }

  /**
   * DkimTokens: the identity's selector. Mailgate's key is published as a TXT record at {@code
   * <selector>._domainkey.<domain>} (GetEmailIdentity's DnsRecords give it), not as CNAMEs to amazonses.com.
   */
  private Future<QueryXml> verifyDomainDkim(Caller caller, QueryParams p) {
    return verifyDomain(caller, p.required("Domain")).map(i -> new QueryXml()
        .list("DkimTokens", i.dkimSelector() == null ? List.of() : List.of(i.dkimSelector())));
  }

  private Future<Identity> verifyDomain(Caller caller, String domain) {
    if (domain.indexOf('@') >= 0) {
      throw SesException.badRequest("Invalid domain name " + QueryParams.quote(domain) + ".");
    }
    return verify(caller, domain);
  }

  private Future<QueryXml> listIdentities(Caller caller, QueryParams p) {
    String type = p.string("IdentityType");
    Identity.Type only;
    if (type == null || type.isEmpty()) {
      only = null;
    } else if (type.equals("EmailAddress")) {
      only = Identity.Type.EMAIL_ADDRESS;
    } else if (type.equals("Domain")) {
      only = Identity.Type.DOMAIN;
    } else {
      throw SesException.badRequest("Invalid IdentityType " + QueryParams.quote(type) + ": use EmailAddress or Domain.");
    }
    int max = integer(p, "MaxItems", 1000, 1, 1000);
    String token = p.string("NextToken");
    String after = token == null || token.isEmpty() ? null : fromToken(token);
    return identities.names(caller.account().id(), after, only, false, max + 1).map(names -> {
      QueryXml xml = new QueryXml().list("Identities", names.subList(0, Math.min(max, names.size())));
      return names.size() > max ? xml.text("NextToken", toToken(names.get(max - 1))) : xml;
    });
  }

  private Future<QueryXml> listVerifiedEmailAddresses(Caller caller, QueryParams p) {
    return identities.names(caller.account().id(), null, Identity.Type.EMAIL_ADDRESS, true, MAX_VERIFIED_ADDRESSES)
        .map(names -> new QueryXml().list("VerifiedEmailAddresses", names));
  }

  private Future<QueryXml> getIdentityVerificationAttributes(Caller caller, QueryParams p) {
    return identityAttributes(p, "VerificationAttributes",
        eachOf(name -> identities.get(caller.account().id(), name)), (xml, identity) -> {
          xml.text("VerificationStatus", v1Status(identity.verificationStatus()));
          if (identity.isDomain()) {
            xml.text("VerificationToken", identities.domainVerificationToken(identity));
          }
        });
  }

  /**
   * DKIM of each identity asked for; an address answers with its domain's DKIM when the account has that domain (the
   * key that signs its mail), as SES does.
   */
  private Future<QueryXml> getIdentityDkimAttributes(Caller caller, QueryParams p) {
    String account = caller.account().id();
    return identityAttributes(p, "DkimAttributes", eachOf(name -> identities.get(account, name)
        .compose(i -> i.isDomain() ? Future.succeededFuture(i)
            : identities.parentDomain(account, i).map(parent -> parent.orElse(i)))), (xml, source) -> {
          boolean hasKey = source.isDomain() && source.dkimSelector() != null;
          xml.text("DkimEnabled", Boolean.toString(hasKey && source.dkimSigningEnabled()))
              .text("DkimVerificationStatus", hasKey ? v1Status(source.dkimStatus()) : "NotStarted")
              .list("DkimTokens", hasKey ? List.of(source.dkimSelector()) : List.of());
        });
  }

  /**
   * A map of the {@code Identities} asked for (at most 100) to what {@code value} writes of each, as {@code <entry>}s
   * of {@code element}; an identity the account does not have ({@code lookup} answers nothing for it) is left out of
   * the answer, as SES leaves it out.
   */
  static <T> Future<QueryXml> identityAttributes(QueryParams p, String element,
      java.util.function.Function<List<String>, Future<Map<String, T>>> lookup,
      java.util.function.BiConsumer<QueryXml, T> value) {
    List<String> names = p.strings("Identities");
    if (names == null) {
      throw SesException.badRequest("Missing required parameter Identities.");
    }
    if (names.size() > MAX_IDENTITIES_PER_LOOKUP) {
      throw SesException.badRequest("At most " + MAX_IDENTITIES_PER_LOOKUP + " identities per call.");
    }
    return lookup.apply(names).map(found -> {
      QueryXml xml = new QueryXml().start(element);
      for (String name : names) {
        T attributes = found.get(name);
        if (attributes != null) {
          xml.start("entry").text("key", name).start("value");
          value.accept(xml, attributes);
          xml.end("value").end("entry");
        }
      }
      return xml.end(element);
    });
  }

  /** The empty answer, or SES's error for an identity the account does not have. */
  static Future<QueryXml> identityChanged(String identity, Future<Void> change) {
    return identityKnown(identity, () -> change.map(v -> new QueryXml()));
  }

  /**
   * What an action on {@code identity} answered, with SES v1's error for an identity the account does not have (v1
   * has no NotFound: that is v2's name for it), whether the action says so at once (a name that is no identity's) or
   * once it has looked.
   */
  static <T> Future<T> identityKnown(String identity, java.util.function.Supplier<Future<T>> action) {
    Future<T> answer;
    try {
      answer = action.get();
    } catch (SesException e) {
      answer = Future.failedFuture(e);
    }
    return answer.recover(e -> Future.failedFuture(
        e instanceof SesException s && s.error() == SesError.NOT_FOUND ? invalidIdentity(identity) : e));
  }

  static SesException invalidIdentity(String identity) {
    return SesException.badRequest("Identity " + QueryParams.quote(identity)
        + " is invalid. Must be a verified email address or domain.");
  }

  /** A lookup of the identities one by one: only "not found" leaves one out, another failure fails the call. */
  static java.util.function.Function<List<String>, Future<Map<String, Identity>>> eachOf(
      java.util.function.Function<String, Future<Identity>> lookup) {
    return names -> {
      List<Future<Identity>> found = new ArrayList<>(names.size());
      for (String n : names) {
        found.add(lookup.apply(n).recover(e -> e instanceof SesException s && s.error() == SesError.NOT_FOUND
            ? Future.succeededFuture(null) : Future.failedFuture(e)));
      }
      return Future.all(found).map(all -> {
        Map<String, Identity> out = new java.util.HashMap<>();
        for (int i = 0; i < names.size(); i++) {
          if (found.get(i).result() != null) {
            out.put(names.get(i), found.get(i).result());
          }
        }
        return out;
      });
    };
  }

  /** SES v1's VerificationStatus names. */
  static String v1Status(Identity.Status s) {
    return switch (s) {
      case PENDING -> "Pending";
      case SUCCESS -> "Success";
      case FAILED -> "Failed";
      case TEMPORARY_FAILURE -> "TemporaryFailure";
      case NOT_STARTED -> "NotStarted";
    };
  }

  /** SES v1 deletes an identity the account does not have without an error. */
  private Future<Void> deleteIdentity(Caller caller, String name) {
    return identities.delete(caller.account().id(), name)
        .recover(e -> e instanceof SesException s && s.error() == SesError.NOT_FOUND
            ? Future.succeededFuture() : Future.failedFuture(e));
  }

  // ---- templates

  private static EmailTemplate template(QueryParams p) {
    QueryParams t = p.struct("Template");
    return new EmailTemplate(EmailTemplate.checkName(t.required("TemplateName")), t.string("SubjectPart"),
        t.string("TextPart"), t.string("HtmlPart"));
  }

  private Future<QueryXml> getTemplate(Caller caller, QueryParams p) {
    return templates.find(caller.account().id(), p.required("TemplateName")).map(t -> new QueryXml()
        .start("Template").text("TemplateName", t.name()).text("SubjectPart", t.subject()).text("TextPart", t.text())
        .text("HtmlPart", t.html()).end("Template"));
  }

  private Future<QueryXml> listTemplates(Caller caller, QueryParams p) {
    int max = Math.min(100, integer(p, "MaxItems", 10, 1, Integer.MAX_VALUE)); // SES lowers a larger one to 100
    String token = p.string("NextToken");
    return templates.page(caller.account().id(), token == null || token.isEmpty() ? null : fromToken(token), max)
        .map(rows -> {
          QueryXml xml = new QueryXml().start("TemplatesMetadata");
          for (TemplateStore.Listed t : rows.subList(0, Math.min(rows.size(), max))) {
            xml.start("member").text("Name", t.name()).text("CreatedTimestamp", t.createdAt().toString()).end("member");
          }
          xml.end("TemplatesMetadata");
          return rows.size() > max ? xml.text("NextToken", toToken(rows.get(max - 1).name())) : xml;
        });
  }

  // ---- parameters

  /** A boolean parameter, {@code true} or {@code false}; required. */
  static boolean bool(QueryParams p, String name) {
    String v = p.required(name);
    if (v.equals("true")) {
      return true;
    }
    if (v.equals("false")) {
      return false;
    }
    throw SesException.badRequest(name + " must be true or false, not '" + QueryParams.quote(v) + "'.");
  }

  static int integer(QueryParams p, String name, int dflt, int min, int max) {
    String s = p.string(name);
    if (s == null || s.isEmpty()) {
      return dflt;
    }
    int n;
    try {
      n = Integer.parseInt(s.strip());
    } catch (NumberFormatException e) {
      throw SesException.badRequest(name + " must be a number.");
    }
    if (n < min || n > max) {
      throw SesException.badRequest(name + " must be between " + min + " and " + max + ".");
    }
    return n;
  }

  static String toToken(String position) {
    return io.mailgate.api.Paging.token(position);
  }

  static String fromToken(String token) {
    return io.mailgate.api.Paging.position(token);
  }
}
