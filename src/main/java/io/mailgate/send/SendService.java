package io.mailgate.send;

import io.mailgate.EventBusAddresses;
import io.mailgate.OffLoop;
import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.configset.ConfigurationSet;
import io.mailgate.delivery.DeliveryJob;
import io.mailgate.identity.IdentityArn;
import io.mailgate.identity.IdentityNames;
import io.mailgate.lists.UnsubscribeLinks;
import io.mailgate.ratelimit.RateCheck;
import io.mailgate.ratelimit.SendLimiter;
import io.mailgate.send.dkim.DkimSigner;
import io.mailgate.store.MessageStore;
import io.mailgate.store.NewMessage;
import io.mailgate.store.ReadThroughCache;
import io.mailgate.store.TenantStore;
import io.mailgate.tracking.LinkTracking;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The send path shared by every API: validate and build the message, check the account's limits
 * (one Redis round trip), commit message and recipients (the Send event), then hand the message to
 * delivery. A templated message is checked and counted before its template is rendered ({@link Admitted}). The
 * returned future succeeds with the MessageId only after the commit; when it fails nothing was stored and nothing
 * will be sent.
 */
public final class SendService {
  private static final Logger LOG = Logger.getLogger(SendService.class.getName());
  private static final io.mailgate.store.OutageLog OUTAGES = new io.mailgate.store.OutageLog(LOG);

  private final Vertx vertx;
  private final MessageStore store;
  private final SendLimiter limiter;
  private final SendAuthorization authorization;
  private final io.mailgate.configset.ConfigurationSets configurationSets;
  private final DkimSigner signer;
  private final io.mailgate.metrics.Metrics metrics;
  private final Templates templates;
  private final LinkTracking tracking;
  private final UnsubscribeLinks unsubscribeLinks;
  private final Clock clock;
  private final int maxRecipients;
  private final int maxMessageBytes;
  private final String messageIdDomain;
  private final String region;
  private final boolean renderingFailureEvents;
  private final ReadThroughCache<TenantStore.SendingView> tenants;
  private final io.mailgate.send.smime.SmimeKeys smimeKeys;

  public SendService(Vertx vertx, MailgateConfig config, MessageStore store, SendLimiter limiter,
      SendAuthorization authorization,
      io.mailgate.configset.ConfigurationSets configurationSets, DkimSigner signer, Templates templates,
      LinkTracking tracking, UnsubscribeLinks unsubscribeLinks, TenantStore tenantStore,
      io.mailgate.send.smime.SmimeKeys smimeKeys, Clock clock) {
    this.smimeKeys = smimeKeys;
    this.tenants = new ReadThroughCache<>(clock, config.get(MailgateConfig.CACHE_TTL_MILLIS),
        tenantStore::sendingView);
    this.unsubscribeLinks = unsubscribeLinks;
    this.templates = templates;
    this.tracking = tracking;
    this.configurationSets = configurationSets;
    this.vertx = vertx;
    this.store = store;
    this.limiter = limiter;
    this.authorization = authorization;
    this.signer = signer;
    this.metrics = io.mailgate.metrics.Metrics.of(vertx);
    this.clock = clock;
    this.maxRecipients = config.get(MailgateConfig.SEND_MAX_RECIPIENTS);
    this.maxMessageBytes = config.get(MailgateConfig.SEND_MAX_MESSAGE_BYTES);
    this.messageIdDomain = config.get(MailgateConfig.SEND_MESSAGE_ID_DOMAIN);
    this.region = config.get(MailgateConfig.REGION);
    this.renderingFailureEvents = config.get(MailgateConfig.SEND_RENDERING_FAILURE_EVENTS);
  }

  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  /** The most bytes {@code request}'s message may have: its own limit (SES v1's 10 MB) within the node's. */
  private int maxMessageBytes(SendRequest request) {
    return request.maxMessageBytes() == 0 ? maxMessageBytes : Math.min(request.maxMessageBytes(), maxMessageBytes);
  }

  /** A tenant changed on this node ({@code EventBusAddresses.TENANT_CHANGED}): read it again at its next send. */
  public void tenantChanged(String accountId, String name) {
    tenants.invalidate(accountId, name);
  }

  /** The tenant a send names, as cached: NotFound when the account has none of that name. */
  private Future<TenantStore.SendingView> tenant(Caller caller, String name) {
    return tenants.get(caller.account().id(), name).compose(view -> view.isPresent()
        ? Future.succeededFuture(view.get())
        : Future.failedFuture(new SesException(SesError.NOT_FOUND, "Tenant " + name + " does not exist.")));
  }

  /**
   * A stored template a tenant's send uses ({@code templateName}, null for an inline one, which is no resource) must
   * be associated with the tenant; checked once the template is found, before it is rendered. Nothing to check
   * without a tenant.
   */
  public Future<Void> checkTenantTemplate(Caller caller, String tenant, String templateName) {
    if (tenant == null || templateName == null) {
      return Future.succeededFuture();
    }
    return tenant(caller, tenant).compose(view -> view.templates().contains(templateName)
        ? Future.<Void>succeededFuture()
        : Future.failedFuture(SesException.badRequest("Template " + templateName + " is not associated with tenant "
            + tenant + ".")));
  }

  /**
   * A tenant's send: the tenant exists and may send, and the identity that lets its From address send (the address's
   * own when it is verified, else the most specific verified domain covering it) and its configuration set (named, or
   * its identity's default) are associated with it; the tenant's id.
   */
  private Future<String> checkTenant(Caller caller, String tenant, SendAuthorization.SenderProfile profile,
      ConfigurationSet set) {
    return tenant(caller, tenant).compose(view -> {
      if (view.sendingStatus().equals("DISABLED")) {
        return Future.failedFuture(new SesException(SesError.SENDING_PAUSED,
            "Sending is paused for tenant " + view.name() + "."));
      }
      if (profile.identity() != null) {
        return Future.failedFuture(SesException.badRequest("The From identity is another account's (sending "
            + "authorization): it cannot be associated with tenant " + view.name() + "."));
      }
      String identity = profile.sendingIdentity();
      if (identity == null) {
        return Future.failedFuture(SesException.badRequest("No verified identity lets "
            + MailboxParser.abbreviate(profile.envelopeFrom()) + " send, so none is associated with tenant "
            + view.name() + "."));
      }
      if (!view.identities().contains(identity)) {
        return Future.failedFuture(SesException.badRequest("Identity " + MailboxParser.abbreviate(identity)
            + " is not associated with tenant " + view.name() + "."));
      }
      if (set != null && !view.configurationSets().contains(set.name())) {
        return Future.failedFuture(SesException.badRequest("Configuration set " + set.name()
            + " is not associated with tenant " + view.name() + "."));
      }
      return Future.succeededFuture(view.id());
    });
  }

  /**
   * A message ready to commit. {@code headers} and {@code simple}: what a Simple message was built from (null for a
   * raw one), to build it again with tracked links. {@code delegation}: the identity ARNs it names, or null.
   * {@code returnPath}: where its feedback is forwarded, as given ({@link SendRequest#envelopeSender}, or a raw
   * message's Return-Path header), null or empty when none is (the From identity's then). {@code replacedFields}: a raw
   * message's own Date and Message-ID ({@link RawMessage.Prepared#replacedFields}).
   */
  /**
   * @param headerFrom a raw message's From header's first mailbox when its domain is not the Source's (whose DKIM key
   *     then signs, as DMARC aligns d= with the From header's domain); null otherwise
   */
  private record Prepared(String id, Mailbox from, List<Mailbox> otherSenders, List<Mailbox> recipients, byte[] content,
      Instant at, MimeBuilder.Headers headers, SimpleContent simple, SendAuthorization.Delegation delegation,
      String returnPath, Mailbox headerFrom, byte[] replacedFields, Integer trackers) {
    /** A message with no tracker yet. */
    Prepared(String id, Mailbox from, List<Mailbox> otherSenders, List<Mailbox> recipients, byte[] content,
        Instant at, MimeBuilder.Headers headers, SimpleContent simple, SendAuthorization.Delegation delegation,
        String returnPath, Mailbox headerFrom, byte[] replacedFields) {
      this(id, from, otherSenders, recipients, content, at, headers, simple, delegation, returnPath, headerFrom,
          replacedFields, null);
    }

    Prepared withContent(byte[] newContent) {
      return new Prepared(id, from, otherSenders, recipients, newContent, at, headers, simple, delegation, returnPath,
          headerFrom, replacedFields, trackers);
    }

    /** This message with its HTML tracked: {@code newContent}, with {@code trackers} ({@link NewMessage#trackers}). */
    Prepared tracked(byte[] newContent, Integer trackers) {
      return new Prepared(id, from, otherSenders, recipients, newContent, at, headers, simple, delegation, returnPath,
          headerFrom, replacedFields, trackers);
    }
  }

  public Templates templates() {
    return templates;
  }

  /** Sends one message: completes with its message id once it is committed, or fails with an SES-shaped error. */
  public Future<String> send(Caller caller, SendRequest request) {
    long start = System.nanoTime();
    return sendContent(caller, request).onSuccess(id -> metrics.sendTime().since(start));
  }

  private Future<String> sendContent(Caller caller, SendRequest request) {
    if (!caller.account().sendingEnabled()) {
      return Future.failedFuture(new SesException(SesError.SENDING_PAUSED, "Sending is paused for this account."));
    }
    if (request.content() instanceof TemplateContent t) {
      String account = caller.account().id();
      return templates.resolve(account, t)
          .compose(template -> checkTenantTemplate(caller, request.tenant(), t.inline() == null ? template.name() : null)
              .map(template))
          // checked and counted first: a send the limits refuse costs no rendering
          .compose(template -> admit(caller, request).compose(admitted ->
              templates.renderOne(account, template, t.data(), t.inline() == null).transform(rendering ->
                  completed(admitted, t.inline() == null ? template.name() : null, rendering))));
    }
    return OffLoop.when(contentBytes(request.content()), () -> prepare(request))
        .compose(p -> counted(caller, request, p))
        .compose(c -> accept(c, Future.succeededFuture(c.p())));
  }

  /**
   * Whether a rendering that failed this way is accepted and published as a Rendering Failure event, as SES does with
   * template data that lacks an attribute the template prints ({@code send.renderingFailureEvents}); otherwise it is
   * the caller's 400.
   */
  public boolean publishesAsRenderingFailure(Throwable renderingFailure) {
    return renderingFailureEvents && renderingFailure instanceof SesException e
        && e.error() == SesError.MISSING_RENDERING_ATTRIBUTE;
  }

  /** Why a templated message was not built: the {@code failure} object of its Rendering Failure event. */
  private record RenderingFailure(String templateName, String errorMessage) {
    String detailJson() {
      JsonObject failure = new JsonObject().put("errorMessage", errorMessage);
      if (templateName != null) {
        failure.put("templateName", templateName);
      }
      return failure.encode();
    }
  }

  /**
   * A send checked as any (its configuration set, its sender addresses, the sandbox, its tenant, its
   * ListManagementOptions' list) and counted against the account's sending limits ({@code check}), for {@code request}
   * as it goes on (its From identity's default set filled in); its count is given back unless it is accepted.
   */
  private record Counted(Caller caller, SendRequest request, Prepared p, SendAuthorization.SenderProfile profile,
      ConfigurationSet set, String tenantId, RateCheck check) {}

  /**
   * A templated send checked and counted before its template is rendered ({@link #admit}): rendering costs the node's
   * shared rendering threads what the template makes it cost, so a send that would be refused (an account over its
   * sending rate or quota, paused, sending from an unverified address) is refused before it takes any. {@link
   * #complete} then builds and commits it with what its rendering came to; {@link #release} gives its count back when
   * it is not rendered at all.
   */
  public static final class Admitted {
    private final Counted counted;
    private final long start = System.nanoTime();
    private boolean settled;

    private Admitted(Counted counted) {
      this.counted = counted;
    }
  }

  /** Stands for a templated message not rendered yet, to check its addresses (and its own headers) as any send's. */
  private static SimpleContent unrendered(TemplateContent t) {
    return new SimpleContent("", null, new TextBody("", java.nio.charset.StandardCharsets.UTF_8), null, t.headers(),
        List.of());
  }

  /**
   * A templated send ({@code request}'s content is {@link TemplateContent}) checked as any send and counted against
   * the account's sending limits, its template not rendered yet: the whole 24-hour quota its recipients would use is
   * taken, as it cannot be known yet whether the rendering will fail (then it is given back: {@link #complete}). Fails
   * with the send's refusal, nothing counted.
   */
  public Future<Admitted> admit(Caller caller, SendRequest request) {
    if (!caller.account().sendingEnabled()) {
      return Future.failedFuture(new SesException(SesError.SENDING_PAUSED, "Sending is paused for this account."));
    }
    if (!(request.content() instanceof TemplateContent t)) {
      throw new IllegalArgumentException("only a templated send is admitted before its content is built");
    }
    Prepared p;
    try {
      p = prepare(request.withContent(unrendered(t)));
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    return counted(caller, request, p).map(Admitted::new);
  }

  /**
   * An admitted send with its rendering: built from what was rendered and committed (its MessageId); or, when its
   * data lacks an attribute the template prints ({@link #publishesAsRenderingFailure}), stored without content and
   * published as a Rendering Failure as SES does: it counts toward the sending rate, as any request does, but it is
   * no sent mail, so its 24-hour quota is given back. Any other failure (the caller's 400, too many renderings
   * waiting) refuses the send and gives its count back.
   *
   * @param templateName the stored template's name, null for an inline one
   */
  public Future<String> complete(Admitted admitted, String templateName,
      io.vertx.core.AsyncResult<TemplateRenderer.Rendered> rendering) {
    return completed(admitted, templateName, rendering).onSuccess(id -> metrics.sendTime().since(admitted.start));
  }

  /** Gives an admitted send's count back: it is not rendered (its bulk send's rendering failed as a whole). */
  public void release(Admitted admitted) {
    if (!admitted.settled) {
      admitted.settled = true;
      limiter.refund(admitted.counted.check());
    }
  }

  private Future<String> completed(Admitted admitted, String templateName,
      io.vertx.core.AsyncResult<TemplateRenderer.Rendered> rendering) {
    if (admitted.settled) {
      return Future.failedFuture(new IllegalStateException("the send was completed or released already"));
    }
    admitted.settled = true;
    Counted c = admitted.counted;
    if (rendering.failed()) {
      return publishesAsRenderingFailure(rendering.cause())
          ? acceptFailure(c, new RenderingFailure(templateName, rendering.cause().getMessage()))
          : accept(c, Future.failedFuture(rendering.cause()));
    }
    return accept(c, built(c.p(), (TemplateContent) c.request().content(), rendering.result(),
        maxMessageBytes(c.request())));
  }

  /** An admitted send's message, built from its rendering (with the same MessageId and headers it was checked with). */
  private Future<Prepared> built(Prepared p, TemplateContent t, TemplateRenderer.Rendered rendered, int limit) {
    SimpleContent simple;
    try {
      simple = TemplateRenderer.content(rendered, t.headers(), t.attachments());
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    return OffLoop.when(contentBytes(simple), () -> {
      checkSize(MimeBuilder.leastSize(simple), limit);
      byte[] content = MimeBuilder.build(p.headers(), simple);
      checkSize(content.length, limit);
      return new Prepared(p.id(), p.from(), p.otherSenders(), p.recipients(), content, p.at(), p.headers(), simple,
          p.delegation(), p.returnPath(), p.headerFrom(), p.replacedFields(), p.trackers());
    });
  }

  /**
   * A send checked as any and counted ({@link Counted}); {@code p} is its message, or (a templated send's) what stands
   * for it until it is rendered, with its MessageId, addresses and headers.
   */
  private Future<Counted> counted(Caller caller, SendRequest request, Prepared p) {
    return checkConfigurationSet(caller, request.configurationSet())
        .compose(named -> (p.delegation() == null
                ? authorization.authorize(caller, p.from(), p.otherSenders(), p.recipients())
                : authorization.authorize(caller, p.from(), p.otherSenders(), p.recipients(), p.delegation()))
            // a Source sent as another account's identity signs with that owner's key; one of the caller's own (ARNs
            // naming its own identities too) with the From header's domain's when it has one
            .compose(profile -> p.headerFrom() == null || profile.identity() != null ? Future.succeededFuture(profile)
                : authorization.headerFromKey(caller, p.headerFrom()).map(profile::signedWith))
            .compose(profile -> withDefaultSet(caller, request, named, profile)
                // a tenant's send: once its identity and set are known, before anything is counted
                .compose(effective -> (request.tenant() == null ? Future.<String>succeededFuture(null)
                        : checkTenant(caller, request.tenant(), profile, effective.set()))
                    .compose(tenantId -> checkListManagement(caller, request, p)
                        .compose(v -> checkLimits(caller, p))
                        .map(check -> new Counted(caller, effective.request(), p, profile, effective.set(), tenantId,
                            check))))));
  }

  /**
   * A counted send's message, once {@code built}: its unsubscribe link, its links tracked, signed, committed. Its
   * count is given back if it is not accepted after all (not built, too large once its links are tracked, not
   * stored).
   */
  private Future<String> accept(Counted c, Future<Prepared> built) {
    int limit = maxMessageBytes(c.request());
    return built
        .compose(p -> listManaged(c.caller(), c.request(), p, limit))
        .compose(listed -> tracked(listed, c.set(), c.caller().account().engagementTracking(), limit))
        .compose(tracked -> smimeSigned(tracked, c, limit))
        .compose(smime -> signed(smime, c.profile(), limit))
        .compose(signed -> commit(c.caller(), c.request(), signed, c.profile(), c.tenantId()))
        .onFailure(e -> {
          if (!(e.getCause() instanceof MessageStore.CommitUnknown)) { // it may go out: it stays counted
            limiter.refund(c.check());
          }
        });
  }

  /**
   * A counted send that could not be rendered, stored with its Rendering Failure event: never delivered. Its 24-hour
   * quota is given back (before it is answered, so the count it then reads is right), and its rate too when it was
   * not stored after all.
   */
  private Future<String> acceptFailure(Counted c, RenderingFailure failure) {
    return commitFailure(c.caller(), c.request(), c.p().withContent(new byte[0]), c.profile(), failure, c.tenantId())
        .transform(stored -> {
          boolean counts = stored.succeeded() || stored.cause().getCause() instanceof MessageStore.CommitUnknown;
          RateCheck check = c.check();
          RateCheck back = new RateCheck(check.accountId(), check.maxSendRate(), counts ? 0 : check.rateCost(),
              check.max24HourSend(), check.quotaCost());
          Future<Void> refunded = back.rateCost() == 0 && back.quotaCost() == 0 ? Future.succeededFuture()
              : limiter.refund(back);
          return refunded.transform(v -> stored.succeeded() ? Future.succeededFuture(stored.result())
              : Future.failedFuture(stored.cause()));
        });
  }

  /** About how many bytes building or reading the message will walk: the size of what the caller gave. */
  private static long contentBytes(Content content) {
    if (content instanceof RawContent raw) {
      return raw.data().length;
    }
    SimpleContent s = (SimpleContent) content;
    long n = s.subject().length();
    n += s.text() == null ? 0 : s.text().data().length();
    n += s.html() == null ? 0 : s.html().data().length();
    for (Attachment a : s.attachments()) {
      n += a.content().length + a.fileName().length() + MimeBuilder.LEAST_ATTACHMENT_HEADERS;
    }
    for (MessageHeader h : s.headers()) {
      n += h.name().length() + h.value().length();
    }
    return n;
  }

  /** The request as sent: its configuration set named or its From identity's default, and that set (or null). */
  private record Effective(SendRequest request, ConfigurationSet set) {}

  /**
   * The message with its HTML tracked, when its configuration set wants opens or clicks, or VDM's engagement tracking
   * is on for it ({@code engagement}: the account's, which the set's VdmOptions may turn off or on; a Simple one built
   * again); a large one on a worker thread, as its parts are walked and rewritten. The message may grow past the size
   * limit here (a 400 then).
   */
  private Future<Prepared> tracked(Prepared p, ConfigurationSet set, boolean engagement, int limit) {
    LinkTracking.Bases bases = tracking.bases(set, engagement);
    if (bases == null || (p.simple() != null && p.simple().html() == null)) {
      return Future.succeededFuture(p);
    }
    java.util.concurrent.Callable<Prepared> rewrite = () -> {
      byte[] content;
      Integer trackers;
      if (p.simple() == null) {
        LinkTracking.RawTracked r = tracking.rawTracked(p.content(), p.id(), bases);
        if (r.content() == p.content()) {
          return p; // no HTML part
        }
        content = r.content();
        trackers = NewMessage.trackers(r.pixelAdded(), r.linksTracked() > 0);
      } else {
        SimpleContent s = p.simple();
        io.mailgate.tracking.HtmlTracking.Result r =
            tracking.htmlTracked(s.html().data(), s.html().charset(), p.id(), bases);
        if (r.html().equals(s.html().data())) {
          return p; // clicks wanted, no link to track
        }
        TextBody html = new TextBody(r.html(), s.html().charset());
        content = MimeBuilder.build(p.headers(),
            new SimpleContent(s.subject(), s.subjectCharset(), s.text(), html, s.headers(), s.attachments()));
        trackers = NewMessage.trackers(r.pixelAdded(), r.linksTracked() > 0);
      }
      checkSize(content.length, limit);
      return p.tracked(content, trackers);
    };
    return rewritten(p, rewrite);
  }

  /**
   * The message DKIM-signed when its From identity signs: once, whatever the number of recipients, who all get these
   * exact bytes; a large one on a worker thread, as its body is hashed. An 8-bit body is converted to 7 bits first
   * (RFC 6376 5.3): delivery would otherwise convert it for a server without 8BITMIME after it was signed, and break
   * the signature. A 7-bit message (nearly every one) costs one scan for that; an unsigned one is left as its sender
   * wrote it, and so is one that carries a DKIM-Signature of its sender's (converting it would break that signature
   * at every server, not only at the rare one without 8BITMIME). One that cannot be converted (8-bit header fields,
   * RFC 6532's, or a structure that hides where its 8-bit bytes belong) is signed as it is. The conversion may grow
   * the message past the size limit (a 400 then).
   */
  private Future<Prepared> signed(Prepared p, SendAuthorization.SenderProfile profile, int limit) {
    if (profile.dkimKey() == null) {
      return Future.succeededFuture(p);
    }
    return rewritten(p, () -> {
      byte[] content = p.content();
      if (SevenBitConversion.hasEightBit(content) && !signedBySender(content)) {
        try {
          content = SevenBitConversion.convert(content);
          checkSize(content.length, limit);
        } catch (SevenBitConversion.NotConvertible e) {
          // signed as it is
        }
      }
      return p.withContent(signer.sign(content, profile.dkimKey()));
    });
  }

  /**
   * The message S/MIME-signed ({@link io.mailgate.send.smime.SmimeSigner}) when its configuration set's
   * MessageSecurityOptions say so and its From address has an unexpired certificate of the identity's owner (the
   * delegating account's for a delegate's send); otherwise as it is, as SES sends it. Signed on a worker thread (a
   * private-key operation, and a walk over the message); before DKIM, which signs the result.
   */
  private Future<Prepared> smimeSigned(Prepared p, Counted c, int limit) {
    if (c.set() == null || !ConfigurationSet.SMIME.equals(c.set().signingScheme())) {
      return Future.succeededFuture(p);
    }
    Mailbox from = p.headerFrom() != null ? p.headerFrom() : p.from();
    String owner = c.profile().identity() != null ? c.profile().identity().account() : c.caller().account().id();
    return smimeKeys.forAddress(owner, from.address()).compose(certificate -> {
      if (certificate.isEmpty() || !certificate.get().notAfter().isAfter(clock.instant())) {
        return Future.succeededFuture(p);
      }
      return vertx.executeBlocking(() -> {
        io.mailgate.send.smime.SmimeSigner.Result r =
            io.mailgate.send.smime.SmimeSigner.sign(p.content(), certificate.get());
        if (r.unsignedBecause() != null) {
          LOG.fine(() -> "message " + p.id() + " not S/MIME-signed: " + r.unsignedBecause());
          return p;
        }
        checkSize(r.message().length, limit);
        return p.withContent(r.message());
      }, false);
    });
  }

  private static boolean signedBySender(byte[] content) {
    try {
      return HeaderBlock.parse(content).first("DKIM-Signature") != null;
    } catch (IllegalArgumentException malformed) {
      return false;
    }
  }

  /** {@code rewrite} of the message: a large one on a worker thread, as it is walked or built again. */
  private Future<Prepared> rewritten(Prepared p, java.util.concurrent.Callable<Prepared> rewrite) {
    return OffLoop.when(p.content().length, rewrite);
  }

  /**
   * A message sent with ListManagementOptions (checked before it was counted: {@link #checkListManagement}) gets the
   * one-click unsubscribe headers and URL ({@link UnsubscribeLinks}), a Simple one built again. The recipient is
   * skipped at delivery if unsubscribed by then.
   */
  private Future<Prepared> listManaged(Caller caller, SendRequest request, Prepared p, int limit) {
    SendRequest.ListManagement options = request.listManagement();
    if (options == null) {
      return Future.succeededFuture(p);
    }
    String url = unsubscribeLinks.url(caller.account().id(), options, p.recipients().get(0).address(), p.id());
    return rewritten(p, () -> {
      SimpleContent simple = p.simple() == null ? null : UnsubscribeLinks.apply(p.simple(), url);
      byte[] content = simple == null ? UnsubscribeLinks.applyRaw(p.content(), url)
          : MimeBuilder.build(p.headers(), simple);
      checkSize(content.length, limit);
      return new Prepared(p.id(), p.from(), p.otherSenders(), p.recipients(), content, p.at(), p.headers(), simple,
          p.delegation(), p.returnPath(), p.headerFrom(), p.replacedFields(), p.trackers());
    });
  }

  /**
   * ListManagementOptions, when given: one recipient, and a list and topic of the account's (NotFound otherwise). A
   * message has one content for all its recipients and its link names one address, so it must have one recipient:
   * with several, every one of them would get a button that unsubscribes the first, and see (in the link) who that is,
   * Bcc recipients included.
   */
  private Future<Void> checkListManagement(Caller caller, SendRequest request, Prepared p) {
    SendRequest.ListManagement options = request.listManagement();
    if (options == null) {
      return Future.succeededFuture();
    }
    if (p.recipients().size() != 1) {
      return Future.failedFuture(new SesException(SesError.BAD_REQUEST, "A message sent with ListManagementOptions "
          + "must have exactly one recipient (its unsubscribe link names that recipient); it has "
          + p.recipients().size() + ". Send one message per recipient."));
    }
    return unsubscribeLinks.check(caller.account().id(), options);
  }

  /**
   * A send that names no configuration set takes its From identity's default set (SES), checked as if named: a paused
   * default set stops the send. One deleted since is no set.
   */
  private Future<Effective> withDefaultSet(Caller caller, SendRequest request, ConfigurationSet named,
      SendAuthorization.SenderProfile profile) {
    String set = profile.defaultConfigurationSet();
    if (request.configurationSet() != null || set == null) {
      return Future.succeededFuture(new Effective(request, named));
    }
    return checkConfigurationSet(caller, set)
        .map(found -> new Effective(request.withConfigurationSet(set), found))
        .recover(e -> e instanceof SesException s && s.error() == SesError.CONFIGURATION_SET_NOT_FOUND
            ? Future.succeededFuture(new Effective(request, null)) : Future.failedFuture(e));
  }

  /** The configuration set a send names must exist and be enabled, as in SES; null when it names none. */
  private Future<ConfigurationSet> checkConfigurationSet(Caller caller, String name) {
    if (name == null) {
      return Future.succeededFuture();
    }
    return configurationSets.find(caller.account().id(), name).compose(found -> {
      if (found.isEmpty()) {
        return Future.failedFuture(new SesException(SesError.CONFIGURATION_SET_NOT_FOUND, "Configuration set <" + name + "> does not exist."));
      }
      if (!found.get().sendingEnabled()) {
        return Future.failedFuture(new SesException(SesError.CONFIGURATION_SET_SENDING_PAUSED,
            "Sending is paused for configuration set <" + name + ">."));
      }
      return Future.succeededFuture(found.get());
    });
  }

  /**
   * The account's sending limits, which count the message: the check that counted it, or a refusal. One Redis round
   * trip: every recipient counts for the rate; for the quota, all but simulator recipients.
   */
  private Future<RateCheck> checkLimits(Caller caller, Prepared p) {
    int n = p.recipients().size();
    int simulated = 0;
    for (Mailbox m : p.recipients()) {
      if (SendAuthorization.isSimulator(m)) {
        simulated++;
      }
    }
    RateCheck check = new RateCheck(caller.account().id(), caller.account().maxSendRate(), n,
        caller.account().max24HourSend(), n - simulated);
    long start = System.nanoTime();
    return limiter.admit(check, "Maximum sending rate exceeded.", "Daily message quota exceeded.",
            "Sending limits cannot be checked right now; the message was not accepted. Retry later.")
        .onComplete(ar -> metrics.limitsWait().since(start))
        .map(check);
  }

  /** The message's row as stored: its content, recipients, envelope, tags and where it came from. */
  private static NewMessage row(Caller caller, SendRequest request, Prepared p,
      SendAuthorization.SenderProfile profile, String tenantId) {
    List<String> addresses = new ArrayList<>(p.recipients().size());
    for (Mailbox m : p.recipients()) {
      addresses.add(m.address());
    }
    JsonArray tags = new JsonArray();
    for (SendRequest.EmailTag t : request.tags()) {
      tags.add(new JsonObject().put("Name", t.name()).put("Value", t.value()));
    }
    // a Return-Path the sender chose is where its feedback is forwarded (and its MAIL FROM without VERP); a
    // notification has none: MAIL FROM:<>, and no VERP address either
    String envelopeFrom = request.nullReversePath() ? ""
        : p.returnPath() != null && !p.returnPath().isEmpty() ? MailboxParser.parse(p.returnPath()).address()
        : profile.envelopeFrom();
    String tagsJson = tags.isEmpty() ? "[]" : tags.encode(); // most sends have none: no Jackson run for "[]"
    SendRequest.ListManagement list = request.listManagement();
    return new NewMessage(p.id(), caller.account().id(), p.from().address(), envelopeFrom,
        request.nullReversePath() ? null : profile.verpDomain(), request.configurationSet(), tagsJson, p.content(),
        addresses, p.at(), caller.sourceIp(), caller.accessKeyId(), list == null ? null : list.contactList(),
        list == null ? null : list.topic(),
        // the identity the message is sent from, for its events' mail.sourceArn (SES: "the identity that was used to
        // send"): another account's (sending authorization), or the sender's own verified address or domain
        profile.identity() != null ? profile.identity().account()
            : profile.sendingIdentity() != null ? caller.account().id() : null,
        profile.identity() != null ? profile.identity().identity() : profile.sendingIdentity(), request.tenant(),
        tenantId, request.operation(), p.replacedFields(), caller.sourceTls(), p.trackers());
  }

  /** What a caller is told when its message could not be stored: nothing was accepted. */
  private static <T> Future<T> notStored(String id, Throwable e) {
    if (e instanceof io.mailgate.store.GroupCommit.Full full) {
      // the database stalls: the batches already in flight tell why, once each; this is one of many refused meanwhile
      LOG.fine(() -> "message " + id + " refused: " + full.getMessage());
    } else if (!(e instanceof MessageStore.CommitUnknown) && io.mailgate.store.OutageLog.unreachable(e)) {
      // the database is away: every send meanwhile fails alike, a line now and then says so (the API's 503 too)
      OUTAGES.warn(() -> "messages not stored: the database cannot be reached (" + e + "); message " + id);
    } else {
      LOG.log(Level.SEVERE, "cannot commit message " + id, e);
    }
    if (e instanceof MessageStore.CommitUnknown) {
      return Future.failedFuture(new SesException(SesError.SERVICE_UNAVAILABLE,
          "Whether the message was stored is not known: the database went out of reach as it committed. Retry later "
              + "(a retry may send a second copy).", e));
    }
    return Future.failedFuture(new SesException(SesError.SERVICE_UNAVAILABLE,
        "The message could not be stored and was not accepted. Retry later."));
  }

  /** A message that could not be rendered, stored with its Rendering Failure event ({@link #acceptFailure}). */
  private Future<String> commitFailure(Caller caller, SendRequest request, Prepared p,
      SendAuthorization.SenderProfile profile, RenderingFailure failure, String tenantId) {
    return store.renderingFailed(row(caller, request, p, profile, tenantId), failure.detailJson())
        .recover(e -> notStored(p.id(), e))
        .map(v -> p.id());
  }

  private Future<String> commit(Caller caller, SendRequest request, Prepared p,
      SendAuthorization.SenderProfile profile, String tenantId) {
    NewMessage row = row(caller, request, p, profile, tenantId);
    List<String> addresses = row.recipients();
    String envelopeFrom = row.envelopeFrom();
    long start = System.nanoTime();
    return store.accept(row)
        .recover(e -> notStored(p.id(), e))
        .map(v -> {
          List<DeliveryJob.Recipient> rcpts = new ArrayList<>(addresses.size());
          java.time.Instant due = io.mailgate.store.Timestamps.stored(row.acceptedAt()); // as MessageStore wrote it
          for (int i = 0; i < addresses.size(); i++) {
            rcpts.add(new DeliveryJob.Recipient(i, addresses.get(i), 0, due));
          }
          metrics.commitWait().since(start);
          metrics.accepted(rcpts.size());
          vertx.eventBus().send(EventBusAddresses.SEND_ACCEPTED,
              new DeliveryJob(p.id(), caller.account().id(), envelopeFrom, row.verpDomain(),
                  request.configurationSet(), rcpts, p.content(), p.at(), row.contactList(), row.contactListTopic(),
                  row.identityAccount(), row.tenantId()));
          return p.id();
        });
  }

  private Prepared prepare(SendRequest request) {
    int limit = maxMessageBytes(request);
    Instant now = clock.instant();
    String id = MessageIds.next(now);
    String headerId = id + "@" + messageIdDomain;
    ZonedDateTime date = ZonedDateTime.ofInstant(now, ZoneOffset.UTC);
    if (request.replyTo().size() > maxRecipients) {
      throw SesException.badRequest("ReplyToAddresses has " + request.replyTo().size() + " addresses; the limit is "
          + maxRecipients + ".");
    }
    List<Mailbox> replyTo = parseAll(request.replyTo(), "ReplyToAddresses");
    if (request.content() instanceof SimpleContent simple) {
      if (request.from() == null) {
        throw SesException.badRequest("Missing required field FromEmailAddress.");
      }
      Mailbox from = MailboxParser.parse(request.from());
      SendRequest.Destination d = request.destination();
      if (d == null || d.size() == 0) {
        throw SesException.badRequest("Missing required field Destination: at least one recipient is required.");
      }
      checkCount(d.size());
      List<Mailbox> to = parseAll(d.to(), "ToAddresses");
      List<Mailbox> cc = parseAll(d.cc(), "CcAddresses");
      List<Mailbox> bcc = parseAll(d.bcc(), "BccAddresses");
      // a Sender header is a sender address like From: it must be verified too
      List<Mailbox> senderHeader = new ArrayList<>(0);
      for (MessageHeader h : simple.headers()) {
        if (h.name().equalsIgnoreCase("Sender")) {
          senderHeader.add(MailboxParser.parse(h.value()));
        }
      }
      OtherSenders senders = new OtherSenders(from);
      for (Mailbox m : senderHeader) {
        senders.add(m);
      }
      // the Return-Path (v1 ReturnPath, v2 FeedbackForwardingEmailAddress) receives forwarded feedback: verified too,
      // or any account could mail bounce notices to anyone
      if (request.envelopeSender() != null && !request.envelopeSender().isEmpty()) {
        senders.add(MailboxParser.parse(request.envelopeSender()));
      }
      MimeBuilder.Headers headers = new MimeBuilder.Headers(from, to, cc, replyTo, headerId, date);
      checkSize(MimeBuilder.leastSize(simple), limit);
      byte[] content = MimeBuilder.build(headers, simple);
      checkSize(content.length, limit);
      return new Prepared(id, from, senders.list(), envelope(to, cc, bcc), content, now, headers, simple,
          delegation(request, from, List.of(), senderHeader, request.envelopeSender()), request.envelopeSender(), null,
          null);
    }
    if (!(request.content() instanceof RawContent raw)) {
      throw new IllegalStateException("template content is rendered before it is prepared");
    }
    checkSize(raw.data().length, limit);
    RawMessage.Prepared prepared = RawMessage.prepare(raw.data(), headerId, date, maxRecipients);
    Mailbox from = request.from() != null ? MailboxParser.parse(request.from()) : prepared.from();
    if (from == null) {
      throw SesException.badRequest("Missing required header 'From'.");
    }
    List<Mailbox> recipients;
    SendRequest.Destination d = request.destination();
    if (d != null && d.size() > 0) {
      checkCount(d.size());
      recipients = envelope(parseAll(d.to(), "ToAddresses"), parseAll(d.cc(), "CcAddresses"),
          parseAll(d.bcc(), "BccAddresses"));
    } else {
      int count = prepared.to().size() + prepared.cc().size() + prepared.bcc().size();
      if (count == 0) {
        throw SesException.badRequest("Missing recipients: give a Destination or To, Cc or Bcc headers.");
      }
      checkCount(count);
      recipients = envelope(prepared.to(), prepared.cc(), prepared.bcc());
    }
    checkSize(prepared.content().length, limit);
    // every sender address the message carries must be verified, not only the one that signs it:
    // the From header when the caller named another source, and the SMTP envelope sender
    List<Mailbox> froms = new ArrayList<>(1 + prepared.moreFroms().size());
    if (prepared.from() != null) {
      froms.add(prepared.from());
    }
    froms.addAll(prepared.moreFroms());
    OtherSenders otherSenders = new OtherSenders(from);
    for (Mailbox m : froms) {
      otherSenders.add(m);
    }
    for (Mailbox m : prepared.sender()) {
      otherSenders.add(m);
    }
    String returnPath = rawReturnPath(request, prepared);
    if (returnPath != null && !returnPath.isEmpty()) {
      otherSenders.add(MailboxParser.parse(returnPath));
    }
    Mailbox headerFrom = prepared.from() != null && !prepared.from().domain().equalsIgnoreCase(from.domain())
        ? prepared.from() : null;
    return new Prepared(id, from, otherSenders.list(), recipients, prepared.content(), now, null, null,
        delegation(request, from, froms, prepared.sender(), returnPath), returnPath, headerFrom,
        prepared.replacedFields());
  }

  /**
   * A raw message's Return-Path, where its feedback is forwarded: as SES takes it, the request's when it names one
   * (v2 FeedbackForwardingEmailAddress; SMTP's MAIL FROM, even {@code <>}); else, for a send without a Source (v1
   * SendRawEmail, v2 Raw content without FromEmailAddress), the address of the message's Return-Path header, which
   * is then verified as any Return-Path. The Source takes precedence over the header (SES: "This takes precedence
   * over any Return-Path header that you might include in the raw text of the message"). The header itself is
   * removed from the message either way ({@link RawMessage}).
   */
  private static String rawReturnPath(SendRequest request, RawMessage.Prepared prepared) {
    if (request.envelopeSender() != null || request.from() != null || prepared.returnPath() == null) {
      return request.envelopeSender();
    }
    Mailbox header = RawMessage.returnPathAddress(prepared.returnPath());
    return header == null ? null : header.address();
  }

  /**
   * Every sender address of a send that names identity ARNs, each with the ARN named for its part: the Source's
   * (SourceArn; for a raw message without a Source, the From header's), the From header's (FromArn; its first
   * mailbox, and any other of the same identity), none for a Sender, the Return-Path's (ReturnPathArn). As in SES, a
   * SourceArn also stands for a From header or Return-Path that has no ARN of its own, where its identity holds them.
   * An ARN that is malformed, of another region, or of an identity its address does not belong to is a BadRequest.
   * Null when the send names none.
   */
  private SendAuthorization.Delegation delegation(SendRequest request, Mailbox from, List<Mailbox> headerFroms,
      List<Mailbox> senderHeader, String returnPathGiven) {
    SendRequest.IdentityArns arns = request.identityArns();
    if (arns == null) {
      return null;
    }
    Mailbox returnPath = returnPathGiven == null || returnPathGiven.isEmpty() ? null
        : MailboxParser.parse(returnPathGiven);
    IdentityArn fromArn = headerFroms.isEmpty() ? null : arn(arns.headerFrom(), headerFroms.get(0));
    IdentityArn sourceArn = arns.from() != null ? arn(arns.from(), from)
        : request.from() == null ? covering(fromArn, from) : null;
    List<SendAuthorization.SenderAddress> senders = new ArrayList<>(2 + headerFroms.size() + senderHeader.size());
    senders.add(new SendAuthorization.SenderAddress(SendAuthorization.Role.SOURCE, from, sourceArn));
    for (Mailbox m : headerFroms) {
      senders.add(new SendAuthorization.SenderAddress(SendAuthorization.Role.FROM_HEADER, m,
          covering(fromArn != null ? fromArn : sourceArn, m)));
    }
    for (Mailbox m : senderHeader) {
      senders.add(new SendAuthorization.SenderAddress(SendAuthorization.Role.SENDER_HEADER, m, null));
    }
    if (returnPath != null) {
      senders.add(new SendAuthorization.SenderAddress(SendAuthorization.Role.RETURN_PATH, returnPath,
          arns.returnPath() != null ? arn(arns.returnPath(), returnPath) : covering(sourceArn, returnPath)));
    }
    return new SendAuthorization.Delegation(arns.action(), List.copyOf(senders),
        returnPath == null ? from.address() : returnPath.address(), arns.policyReads());
  }

  /** The identity ARN given for {@code address}, read and checked to hold it; null when none is given. */
  private IdentityArn arn(String arn, Mailbox address) {
    if (arn == null) {
      return null;
    }
    IdentityArn parsed = IdentityArn.parse(arn, region, "identity ARN");
    if (!parsed.covers(address.address())) {
      throw SesException.badRequest("Address " + address.address() + " does not belong to identity " + parsed.identity()
          + " (" + MailboxParser.abbreviate(arn) + ").");
    }
    return parsed;
  }

  private static IdentityArn covering(IdentityArn arn, Mailbox address) {
    return arn != null && arn.covers(address.address()) ? arn : null;
  }

  /**
   * The sender addresses to verify besides the From address: each address once, whatever its case (the first
   * mailbox given for it kept), in the order given, and never the From address itself. Kept by lower-cased address
   * (ASCII: {@link MailboxParser} takes no other), so that a message naming many senders costs a look-up for each,
   * not a scan of those before it.
   */
  static final class OtherSenders {
    private final String from;
    private final Map<String, Mailbox> byAddress = new LinkedHashMap<>();

    OtherSenders(Mailbox from) {
      this.from = key(from);
    }

    /** {@code m} among the senders to verify, unless it is the From address or already there. */
    void add(Mailbox m) {
      String key = key(m);
      if (!key.equals(from)) {
        byAddress.putIfAbsent(key, m);
      }
    }

    List<Mailbox> list() {
      return List.copyOf(byAddress.values());
    }

    private static String key(Mailbox m) {
      return m.address().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private void checkCount(int n) {
    if (n > maxRecipients) {
      throw new SesException(SesError.BAD_REQUEST,
          "Recipient count exceeds " + maxRecipients + ": the message has " + n + " recipients.");
    }
  }

  /** Refuses a message of {@code bytes} over {@code limit}, as SES does. */
  public static void checkSize(long bytes, long limit) {
    if (bytes > limit) {
      throw new SesException(SesError.BAD_REQUEST, "Message length is more than " + limit + " bytes long: " + bytes
          + ".");
    }
  }

  private static List<Mailbox> parseAll(List<String> addresses, String field) {
    List<Mailbox> out = new ArrayList<>(addresses.size());
    for (String a : addresses) {
      if (a == null) {
        throw SesException.badRequest(field + " contains a null address.");
      }
      out.add(MailboxParser.parse(a));
    }
    return out;
  }

  /** Envelope recipients: To, Cc, Bcc in order, each mailbox once. */
  private static List<Mailbox> envelope(List<Mailbox> to, List<Mailbox> cc, List<Mailbox> bcc) {
    Map<String, Mailbox> unique = new LinkedHashMap<>();
    for (List<Mailbox> list : List.of(to, cc, bcc)) {
      for (Mailbox m : list) {
        unique.putIfAbsent(m.envelopeKey(), m);
      }
    }
    return new ArrayList<>(unique.values());
  }
}
